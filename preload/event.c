/* event.c: turns what a hook saw into one JSON line; no stdio, no locks, no allocation. */
#include "event.h"
#include "backtrace.h"
#include "config.h"
#include "jsonw.h"
#include "line.h"
#include "logwriter.h"
#include "modmap.h"
#include "proc.h"
#include "say.h"
#include "sys.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#define RSW_LINE_MAX 12288

/* Module lines are written when first needed: before the first line with a backtrace, and
 * then for each object loaded since (modules_written: how many of the map's are on disk). */
static size_t modules_written;

void rsw_ev_after_fork(void)
{
    modules_written = 0; /* the child's own log (or its lines in a shared one) needs them too */
}

static void write_modules_since(size_t from, size_t to);

static void need_modules(void)
{
    size_t from = __atomic_load_n(&modules_written, __ATOMIC_ACQUIRE), to = rsw_mod_count();
    if (from < to && __atomic_compare_exchange_n(&modules_written, &from, to, 0, __ATOMIC_ACQ_REL,
                                                 __ATOMIC_ACQUIRE))
        write_modules_since(from, to);
}

int rsw_errno_interesting(int err)
{
    return rsw_errclass_of(err) != RSW_EC_NONE;
}

int rsw_ev_wanted(enum rsw_ev ev)
{
    return rsw_log_enabled() && rsw_cfg.events >= rsw_ev_levels[ev];
}

static const char *family_name(int f)
{
    return f > 0 && f < RSW_FAM_NKINDS ? rsw_family_names[f] : NULL;
}

static void tcp_fields(struct rsw_json *j, int fd, const struct rsw_fd *e)
{
    static const char *const states[] = {"?",          "ESTABLISHED", "SYN_SENT",  "SYN_RECV",
                                         "FIN_WAIT1",  "FIN_WAIT2",   "TIME_WAIT", "CLOSE",
                                         "CLOSE_WAIT", "LAST_ACK",    "LISTEN",    "CLOSING"};
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    memset(&ti, 0, sizeof ti);
    if (rsw_sys_getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
        return;
    rsw_json_open_obj(j, RSW_KEY(TCP));
    rsw_json_str(j, RSW_KEY(STATE), ti.tcpi_state < 12 ? states[ti.tcpi_state] : "?");
    /* an injected reset disconnects the socket, which zeroes the kernel's counters */
    if (!(e->flags & RSW_F_INJ_DEAD) &&
        len >= offsetof(struct tcp_info, tcpi_bytes_received) + sizeof ti.tcpi_bytes_received) {
        /* the kernel's bytes_acked counts the connecting side's SYN as one byte (the
         * accepting side's SYN-ACK is acknowledged without being counted) */
        uint64_t out = __atomic_load_n(&e->bytes_out, __ATOMIC_RELAXED);
        uint64_t syn = (e->flags & RSW_F_ACTIVE) ? 1 : 0;
        uint64_t acked = ti.tcpi_bytes_acked > syn ? ti.tcpi_bytes_acked - syn : 0;
        rsw_json_u64(j, RSW_KEY(BYTES_ACKED), ti.tcpi_bytes_acked);
        rsw_json_u64(j, RSW_KEY(BYTES_RECEIVED), ti.tcpi_bytes_received);
        rsw_json_u64(j, RSW_KEY(UNACKED), out > acked ? out - acked : 0);
    }
    rsw_json_close(j);
}

void rsw_ev_emit(const struct rsw_evinfo *in)
{
    char buf[RSW_LINE_MAX], en[16];
    struct rsw_json j;
    uintptr_t ips[RSW_BT_CAPTURE_MAX];
    int nips = 0, saved = errno;
    if (!rsw_ev_wanted(in->ev))
        return;
    if (in->backtrace) {
        nips = rsw_bt_capture(ips, rsw_cfg.backtrace);
        /* a frame in an object loaded behind the hooks' back (libc's own dlopen of NSS
         * modules, dlmopen): scan, and write its module line before this line */
        if (!in->in_signal && !rsw_bt_all_known(ips, nips))
            rsw_mod_scan(rsw_self.program);
        need_modules();
    }
    rsw_line_begin(&j, buf, sizeof buf, in->ev);
    if (in->call)
        rsw_json_str(&j, RSW_KEY(CALL), in->call);
    if (in->op)
        rsw_json_str(&j, RSW_KEY(OP), in->op);
    if (in->fd >= 0)
        rsw_json_i64(&j, RSW_KEY(FD), in->fd);
    if (in->lfd >= 0)
        rsw_json_i64(&j, RSW_KEY(LFD), in->lfd);
    if (in->e) {
        rsw_json_u64(&j, RSW_KEY(CONN), in->e->conn);
        if (family_name(in->e->family))
            rsw_json_str(&j, RSW_KEY(FAMILY), family_name(in->e->family));
    }
    if (in->local)
        rsw_json_str(&j, RSW_KEY(LOCAL), in->local);
    if (in->e && in->e->peer[0])
        rsw_json_str(&j, RSW_KEY(PEER), in->e->peer);
    if (in->has_ret)
        rsw_json_i64(&j, RSW_KEY(RET), in->ret);
    if (in->err)
        rsw_json_str(&j, RSW_KEY(ERRNO), rsw_errno_name(in->err, en));
    if (in->how)
        rsw_json_str(&j, RSW_KEY(HOW), in->how);
    if (in->nonblock >= 0)
        rsw_json_bool(&j, RSW_KEY(NONBLOCK), in->nonblock);
    if (in->e && in->e->cookie)
        rsw_json_u64(&j, RSW_KEY(COOKIE), in->e->cookie);
    if (in->e && (in->ev == RSW_EV_ERROR || in->ev == RSW_EV_CLOSE || in->ev == RSW_EV_EOF ||
                  in->ev == RSW_EV_SIGNAL)) {
        rsw_json_u64(&j, RSW_KEY(BYTES_IN), __atomic_load_n(&in->e->bytes_in, __ATOMIC_RELAXED));
        rsw_json_u64(&j, RSW_KEY(BYTES_OUT), __atomic_load_n(&in->e->bytes_out, __ATOMIC_RELAXED));
    }
    if (in->injected)
        rsw_json_bool(&j, RSW_KEY(INJECTED), 1);
    if (in->disposition) {
        rsw_json_str(&j, RSW_KEY(SIG), "SIGPIPE");
        rsw_json_str(&j, RSW_KEY(DISPOSITION), in->disposition);
        rsw_json_str(&j, RSW_KEY(ACTION), in->action);
    }
    if (in->spec) {
        rsw_json_i64(&j, RSW_KEY(RULE), in->rule);
        rsw_json_str(&j, RSW_KEY(SPEC), in->spec);
        rsw_json_str(&j, RSW_KEY(OUTCOME), in->outcome);
    }
    if (in->e && (in->e->flags & RSW_F_TCP) && in->ev == RSW_EV_ERROR && in->fd >= 0)
        tcp_fields(&j, in->fd, in->e);
    if (in->backtrace)
        rsw_bt_write(&j, ips, nips);
    rsw_log_write(buf, rsw_json_end(&j));
    errno = saved;
}

/* Reads a small /proc file with raw syscalls; returns its length (0 on failure). */
static size_t read_small(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t n = 0;
    if (fd < 0)
        return 0;
    while (n < cap) {
        ssize_t r = rsw_sys_read(fd, buf + n, cap - n);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    rsw_sys_close(fd);
    return n;
}

void rsw_ev_start(const char *origin)
{
    char buf[RSW_LINE_MAX], args[4096];
    struct rsw_json j;
    struct utsname un;
    int saved = errno;
    if (!rsw_ev_wanted(RSW_EV_START))
        return;
    rsw_line_begin(&j, buf, sizeof buf, RSW_EV_START);
    rsw_json_str(&j, RSW_KEY(ORIGIN), origin);
    rsw_json_str(&j, RSW_KEY(NAME), rsw_self.name);
    rsw_json_str(&j, RSW_KEY(EXE), rsw_self.exe);
    size_t al = read_small("/proc/self/cmdline", args, sizeof args);
    rsw_json_open_arr(&j, RSW_KEY(ARGV));
    for (size_t i = 0; i < al;) {
        size_t l = strnlen(args + i, al - i);
        rsw_json_strn(&j, NULL, args + i, l);
        i += l + 1;
    }
    rsw_json_close(&j);
    rsw_json_i64(&j, RSW_KEY(PPID), getppid());
    if (uname(&un) == 0)
        rsw_json_str(&j, RSW_KEY(HOST), un.nodename);
    rsw_json_str(&j, RSW_KEY(LIB), RSW_VERSION_STRING);
    rsw_log_write(buf, rsw_json_end(&j));
    errno = saved;
}

static void write_modules_since(size_t from, size_t to)
{
    char buf[RSW_MOD_PATH_MAX + 256];
    struct rsw_json j;
    for (size_t i = from; i < to; i++) {
        const struct rsw_module *m = rsw_mod_at(i);
        if (!m->hi)
            continue;
        rsw_line_begin(&j, buf, sizeof buf, RSW_EV_MODULE);
        rsw_json_u64(&j, RSW_KEY(ID), m->id);
        rsw_json_str(&j, RSW_KEY(PATH), m->path);
        rsw_json_hex(&j, RSW_KEY(BASE), m->base);
        rsw_log_write(buf, rsw_json_end(&j));
    }
}
