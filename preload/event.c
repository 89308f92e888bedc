/* event.c: turns what a hook saw into one JSON line; no stdio, no locks, no allocation. */
#include "event.h"
#include "addr.h"
#include "backtrace.h"
#include "config.h"
#include "jsonw.h"
#include "line.h"
#include "logwriter.h"
#include "modmap.h"
#include "proc.h"
#include "say.h"
#include "stackid.h"
#include "storm.h"
#include "sys.h"
#include "tally.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#define RSW_LINE_MAX 12288

/* Module lines are written when first needed: before the first line with a backtrace, and
 * then for each object loaded since (modules_written: how many of the map's are on disk). */
static size_t modules_written;

void rsw_ev_after_fork(void)
{
    rsw_stack_after_fork();
    rsw_storm_after_fork();
    rsw_tally_after_fork();
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
    int lvl = rsw_ev_levels[ev];
    /* failures mode records the lifecycle (CONN) too: held, written if the connection fails */
    return rsw_log_enabled() && (rsw_cfg.events >= lvl ||
                                 (lvl == RSW_LEVEL_CONN && rsw_cfg.events == RSW_EVENTS_FAILURES));
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

/* The fields of one line after the common prefix. */
static void body(struct rsw_json *j, const struct rsw_evinfo *in, const uintptr_t *ips, int nips,
                 uint32_t stack)
{
    char en[16];
    struct rsw_fd *e = in->e;
    enum rsw_ev ev = in->ev;
    if (in->call)
        rsw_json_str(j, RSW_KEY(CALL), in->call);
    if (in->op)
        rsw_json_str(j, RSW_KEY(OP), in->op);
    if (in->fd >= 0)
        rsw_json_i64(j, RSW_KEY(FD), in->fd);
    if (in->lfd >= 0)
        rsw_json_i64(j, RSW_KEY(LFD), in->lfd);
    if (e) {
        rsw_json_u64(j, RSW_KEY(CONN), e->conn);
        if (rsw_family_name(e->family))
            rsw_json_str(j, RSW_KEY(FAMILY), rsw_family_name(e->family));
    }
    if (in->local)
        rsw_json_str(j, RSW_KEY(LOCAL), in->local);
    if (e && e->peer[0])
        rsw_json_str(j, RSW_KEY(PEER), e->peer);
    if (in->has_ret)
        rsw_json_i64(j, RSW_KEY(RET), in->ret);
    if (in->err)
        rsw_json_str(j, RSW_KEY(ERRNO), rsw_errno_name(in->err, en));
    if (in->how)
        rsw_json_str(j, RSW_KEY(HOW), in->how);
    if (in->nonblock >= 0)
        rsw_json_bool(j, RSW_KEY(NONBLOCK), in->nonblock);
    if (in->dur >= 0)
        rsw_json_u64(j, RSW_KEY(DUR), (uint64_t)in->dur);
    if (e && e->cookie)
        rsw_json_u64(j, RSW_KEY(COOKIE), e->cookie);
    if (e &&
        (ev == RSW_EV_ERROR || ev == RSW_EV_CLOSE || ev == RSW_EV_EOF || ev == RSW_EV_SIGNAL)) {
        rsw_json_u64(j, RSW_KEY(BYTES_IN),
                     in->bytes_then ? in->bytes_in
                                    : __atomic_load_n(&e->bytes_in, __ATOMIC_RELAXED));
        rsw_json_u64(j, RSW_KEY(BYTES_OUT),
                     in->bytes_then ? in->bytes_out
                                    : __atomic_load_n(&e->bytes_out, __ATOMIC_RELAXED));
    }
    if (in->injected)
        rsw_json_bool(j, RSW_KEY(INJECTED), 1);
    if (in->by)
        rsw_json_i64(j, RSW_KEY(BY), in->by);
    if (in->disposition) {
        rsw_json_str(j, RSW_KEY(SIG), "SIGPIPE");
        rsw_json_str(j, RSW_KEY(DISPOSITION), in->disposition);
        rsw_json_str(j, RSW_KEY(ACTION), in->action);
    }
    if (in->spec) {
        rsw_json_i64(j, RSW_KEY(RULE), in->rule);
        rsw_json_str(j, RSW_KEY(SPEC), in->spec);
        rsw_json_str(j, RSW_KEY(OUTCOME), in->outcome);
    }
    if (e && (e->flags & RSW_F_TCP) && ev == RSW_EV_ERROR && in->fd >= 0)
        tcp_fields(j, in->fd, e);
    if (stack)
        rsw_json_u64(j, RSW_KEY(STACK), stack);
    else if (in->backtrace)
        rsw_bt_write(j, ips, nips);
}

int rsw_ev_eager(void)
{
    return rsw_cfg.events >= RSW_EVENTS_CONN;
}

/* ---- failures mode: lifecycle held until the connection fails ---------------------------- */

static const char *const hows[] = {NULL, "SHUT_RD", "SHUT_WR", "SHUT_RDWR", "?"};

static uint8_t how_code(const char *how)
{
    for (uint8_t i = 1; i < 4; i++)
        if (how && !strcmp(how, hows[i]))
            return i;
    return 4;
}

/* A connection closed without an error or SIGPIPE: counted, not written. */
static void tally_close(const struct rsw_fd *e)
{
    uint8_t fl = __atomic_load_n(&e->flags, __ATOMIC_RELAXED);
    if (e->family == RSW_FAM_PIPE || (fl & (RSW_F_CONNFAIL | RSW_F_ERRED)))
        return; /* pipes are not tallied; failed ones are in their error or suppressed lines */
    int client = !!(fl & RSW_F_ACTIVE);
    rsw_tally_add(client, e->family, client ? e->peer : e->local,
                  __atomic_load_n(&e->bytes_in, __ATOMIC_RELAXED),
                  __atomic_load_n(&e->bytes_out, __ATOMIC_RELAXED), rsw_line_now());
}

static void hold(const struct rsw_evinfo *in, struct rsw_fd *e)
{
    enum rsw_hold_slot slot;
    switch (in->ev) {
    case RSW_EV_CONNECT:
        if (in->err && in->err != EINPROGRESS && in->err != EALREADY && in->err != EINTR)
            __atomic_fetch_or(&e->flags, RSW_F_CONNFAIL, __ATOMIC_RELAXED);
        /* fall through */
    case RSW_EV_ACCEPT:
    case RSW_EV_ADOPT:
    case RSW_EV_CONNECTED:
        /* the first opening event, then the last completion (a retried connect, SO_ERROR) */
        slot = e->held[RSW_HOLD_OPEN].call ? RSW_HOLD_CONNECTED : RSW_HOLD_OPEN;
        break;
    case RSW_EV_SHUTDOWN:
        if (e->held[RSW_HOLD_SHUTDOWN].call)
            return; /* the first shutdown is the one that explains a later EPIPE */
        slot = RSW_HOLD_SHUTDOWN;
        break;
    case RSW_EV_EOF:
        slot = RSW_HOLD_EOF;
        break;
    case RSW_EV_CLOSE:
        tally_close(e);
        return;
    default:
        return;
    }
    struct rsw_held *h = &e->held[slot];
    h->ts = in->ts ? in->ts : rsw_line_now();
    h->seq = rsw_line_next_seq();
    h->dur = in->dur;
    h->tid = rsw_line_tid();
    h->pid = rsw_self.pid;
    h->ev = (uint8_t)in->ev;
    h->ret = in->has_ret ? (int32_t)in->ret : INT32_MIN;
    h->err = in->err;
    h->lfd = in->lfd;
    h->nonblock = (int8_t)in->nonblock;
    h->how = in->how ? how_code(in->how) : 0;
    h->in = __atomic_load_n(&e->bytes_in, __ATOMIC_RELAXED);
    h->out = __atomic_load_n(&e->bytes_out, __ATOMIC_RELAXED);
    __atomic_store_n(&h->call, in->call, __ATOMIC_RELEASE);
}

/* What held lines need from the kernel, asked only now that they are written: the socket's
 * cookie, local address and blocking mode (the fd is open: a call on it just failed). */
static void complete_ids(int fd, struct rsw_fd *e)
{
    if (fd < 0 || e->family == RSW_FAM_PIPE)
        return;
    if (!e->cookie) {
        uint64_t cookie = 0;
        socklen_t cl = sizeof cookie;
        if (rsw_sys_getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &cl) == 0)
            e->cookie = cookie;
    }
    if (!e->local[0])
        rsw_addr_local(fd, e->local, sizeof e->local);
}

/* Writes e's held lines, oldest first, into j's buffer (each a complete line). */
static size_t held_lines(char *buf, size_t cap, int fd, struct rsw_fd *e)
{
    struct rsw_held *order[RSW_HOLD_N];
    int n = 0;
    for (int i = 0; i < RSW_HOLD_N; i++)
        if (__atomic_load_n(&e->held[i].call, __ATOMIC_ACQUIRE))
            order[n++] = &e->held[i];
    for (int i = 1; i < n; i++) /* by seq: at most 4 */
        for (int k = i; k > 0 && order[k]->seq < order[k - 1]->seq; k--) {
            struct rsw_held *t = order[k];
            order[k] = order[k - 1], order[k - 1] = t;
        }
    if (n)
        complete_ids(fd, e);
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        const struct rsw_held *h = order[i];
        struct rsw_evinfo in = RSW_EVINFO_INIT;
        struct rsw_json j;
        in.ev = (enum rsw_ev)h->ev, in.call = h->call, in.fd = fd, in.e = e, in.lfd = h->lfd;
        in.has_ret = h->ret != INT32_MIN, in.ret = h->ret, in.err = h->err;
        in.how = h->how ? hows[h->how] : NULL;
        in.nonblock = h->nonblock;
        in.dur = h->dur;
        if (in.ev == RSW_EV_CONNECT && in.nonblock < 0) {
            int fl = fcntl(fd, F_GETFL);
            in.nonblock = fl >= 0 ? !!(fl & O_NONBLOCK) : -1;
        }
        if (in.ev != RSW_EV_EOF && in.ev != RSW_EV_SHUTDOWN && e->local[0])
            in.local = e->local;
        in.bytes_then = 1, in.bytes_in = h->in, in.bytes_out = h->out;
        /* held by the parent before the fork that gave us the connection: the call was the
         * parent's ("by"); its seq and tid are the parent's numbers, so this line takes ours */
        int inherited = h->pid != rsw_self.pid;
        in.by = inherited ? h->pid : 0;
        rsw_line_begin_at(&j, buf + len, cap - len, in.ev, h->ts,
                          inherited ? rsw_line_next_seq() : h->seq, inherited ? 0 : h->tid);
        body(&j, &in, NULL, 0, 0);
        if (j.full)
            break; /* cannot happen within RSW_HELD_MAX; never write half a line */
        len += rsw_json_end(&j);
    }
    return len;
}

/* ---- writing an event ---------------------------------------------------------------------- */

#define RSW_HELD_MAX 2048 /* 4 held lines of at most ~450 B each */

static void write_stack_line(uint32_t id, const uintptr_t *ips, int nips, int *inline_bt)
{
    char buf[RSW_LINE_MAX];
    struct rsw_json j;
    rsw_line_begin(&j, buf, sizeof buf, RSW_EV_STACK);
    rsw_json_u64(&j, RSW_KEY(ID), id);
    rsw_bt_write(&j, ips, nips);
    if (rsw_log_write(buf, rsw_json_end(&j)))
        rsw_stack_written(id);
    else
        *inline_bt = 1; /* no stack line on disk: this event carries its frames itself */
}

/* Not subject to storm control: what explains a death, an injected fault, and the outcome of a
 * connection whose lifecycle is already in the log. */
static int exempt(const struct rsw_evinfo *in, int first_of_conn)
{
    return rsw_cfg.events == RSW_EVENTS_ALL || in->injected ||
           (in->action && !strcmp(in->action, "kill")) || (first_of_conn && rsw_ev_eager());
}

void rsw_ev_emit(const struct rsw_evinfo *in)
{
    char buf[RSW_HELD_MAX + RSW_LINE_MAX];
    uintptr_t ips[RSW_BT_CAPTURE_MAX];
    struct rsw_json j;
    struct rsw_fd *e = in->e;
    enum rsw_ev ev = in->ev;
    int nips = 0, saved = errno;
    uint32_t stack = 0;
    if (!rsw_ev_wanted(ev))
        return;
    if (rsw_ev_levels[ev] == RSW_LEVEL_CONN && !rsw_ev_eager() && e &&
        !(__atomic_load_n(&e->flags, __ATOMIC_ACQUIRE) & RSW_F_SHOWN)) {
        hold(in, e);
        errno = saved;
        return;
    }
    if (ev == RSW_EV_CLOSE && e && !rsw_ev_eager() && (e->flags & RSW_F_CONNFAIL))
        return; /* failures mode: after a failed connect, the close adds nothing */
    uint64_t ts = in->ts ? in->ts : rsw_line_now();
    if (!in->in_signal)
        rsw_storm_flush(ts, 0); /* summaries of seconds that are over come first */
    enum rsw_stack_result sr = RSW_STACK_INLINE;
    if (in->backtrace) {
        nips = rsw_bt_capture(ips, rsw_cfg.backtrace);
        sr = rsw_stack_intern(ips, nips, &stack);
        if (sr == RSW_STACK_INLINE)
            stack = 0;
    }
    if (ev == RSW_EV_ERROR || ev == RSW_EV_SIGNAL) {
        int first =
            e && !(__atomic_fetch_or(&e->flags, RSW_F_ERRED, __ATOMIC_ACQ_REL) & RSW_F_ERRED);
        struct rsw_site_key k = {ev == RSW_EV_SIGNAL, ev == RSW_EV_SIGNAL ? SIGPIPE : in->err,
                                 stack, in->call, in->op};
        /* (a new stack is a new site, always admitted; were it not, its slot would just stay
         * unpublished and later uses carry their frames inline) */
        if (!exempt(in, first) && !rsw_storm_admit(&k, ts, first)) {
            errno = saved;
            return;
        }
    }
    if (in->backtrace) {
        /* a frame in an object loaded behind the hooks' back (libc's own dlopen of NSS
         * modules, dlmopen): scan, and write its module line before this line */
        if (!in->in_signal && !rsw_bt_all_known(ips, nips))
            rsw_mod_scan(rsw_self.program);
        need_modules();
        int inline_bt = 0;
        if (sr == RSW_STACK_NEW)
            write_stack_line(stack, ips, nips, &inline_bt);
        if (inline_bt)
            stack = 0;
    }
    size_t len = 0;
    if (e && !rsw_ev_eager() &&
        !(__atomic_fetch_or(&e->flags, RSW_F_SHOWN, __ATOMIC_ACQ_REL) & RSW_F_SHOWN))
        len = held_lines(buf, RSW_HELD_MAX, in->fd >= 0 ? in->fd : e->fd, e);
    rsw_line_begin_at(&j, buf + len, RSW_LINE_MAX, ev, ts, rsw_line_next_seq(), 0);
    body(&j, in, ips, nips, stack);
    len += rsw_json_end(&j);
    rsw_log_write(buf, len);
    errno = saved;
}

void rsw_ev_finish(void)
{
    uint64_t now = rsw_line_now();
    rsw_storm_flush(now, 1);
    if (rsw_cfg.events == RSW_EVENTS_FAILURES)
        rsw_tally_flush(now, 1);
    rsw_log_finish(); /* then what the log could not take */
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
    rsw_ev_start_at(origin, 0);
}

void rsw_ev_start_at(const char *origin, uint64_t ts)
{
    char buf[RSW_LINE_MAX], args[4096];
    struct rsw_json j;
    struct utsname un;
    int saved = errno;
    if (!rsw_ev_wanted(RSW_EV_START))
        return;
    rsw_line_begin_at(&j, buf, sizeof buf, RSW_EV_START, ts ? ts : rsw_line_now(),
                      rsw_line_next_seq(), 0);
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
    static const char *const modes[] = {"errors", "failures", "conn", "all"};
    rsw_json_str(&j, RSW_KEY(MODE), modes[rsw_cfg.events & 3]);
    rsw_json_u64(&j, RSW_KEY(RATE), rsw_cfg.events == RSW_EVENTS_ALL ? 0 : rsw_cfg.rate);
    rsw_json_u64(&j, RSW_KEY(LOG_MAX), rsw_cfg.log_max);
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
        rsw_json_u64(&j, RSW_KEY(SIZE), m->size);
        if (m->build_id_len) {
            char hex[2 * RSW_MOD_BUILD_ID_MAX + 1];
            for (unsigned k = 0; k < m->build_id_len; k++) {
                hex[2 * k] = "0123456789abcdef"[m->build_id[k] >> 4];
                hex[2 * k + 1] = "0123456789abcdef"[m->build_id[k] & 15];
            }
            hex[2 * m->build_id_len] = 0;
            rsw_json_str(&j, RSW_KEY(BUILD_ID), hex);
        }
        rsw_log_write(buf, rsw_json_end(&j));
    }
}

void rsw_ev_modules_changed(void)
{
    char buf[256];
    struct rsw_json j;
    size_t written = __atomic_load_n(&modules_written, __ATOMIC_ACQUIRE);
    if (!rsw_log_enabled())
        return;
    for (size_t i = 0; i < written; i++)
        if (rsw_mod_note_unload(i)) {
            rsw_line_begin(&j, buf, sizeof buf, RSW_EV_UNLOAD);
            rsw_json_u64(&j, RSW_KEY(ID), rsw_mod_at(i)->id);
            rsw_log_write(buf, rsw_json_end(&j));
        }
}
