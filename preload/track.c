/* track.c: connection bookkeeping: classify fds seen for the first time, set up watched
 * sockets, and the slow path of every I/O call (eof, errors, io events). */
#include "track.h"
#include "addr.h"
#include "config.h"
#include "event.h"
#include "sys.h"
#include <errno.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/stat.h>

int rsw_io_all;

static const char *op_name(enum rsw_op op)
{
    return op == RSW_OP_IN ? "read" : "write";
}

static void reset_entry(struct rsw_fd *e, uint8_t flags)
{
    e->conn = rsw_fdt_next_conn();
    e->bytes_in = e->bytes_out = 0;
    e->inj_err = 0;
    e->inj_rules = 0;
    e->flags = flags;
    e->cookie = 0;
    e->peer[0] = 0;
    e->local[0] = 0;
    memset(e->held, 0, sizeof e->held);
}

void rsw_fd_setup_socket(struct rsw_fd *e, int fd, int family, const struct sockaddr *peer,
                         socklen_t peerlen, int active)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    uint64_t cookie = 0;
    socklen_t cl = sizeof cookie;
    uint8_t fl = (family == AF_INET || family == AF_INET6) ? RSW_F_TCP : 0;
    reset_entry(e, (uint8_t)(fl | (active ? RSW_F_ACTIVE : 0)));
    if (!peer && getpeername(fd, (struct sockaddr *)&ss, &sl) == 0)
        peer = (struct sockaddr *)&ss, peerlen = sl;
    e->family = (uint8_t)rsw_addr_format(peer, peer ? peerlen : 0, e->peer, sizeof e->peer);
    if (e->family == RSW_FAM_NONE) /* no peer address (yet): family from the socket */
        e->family = family == AF_INET    ? RSW_FAM_INET
                    : family == AF_INET6 ? RSW_FAM_INET6
                                         : RSW_FAM_UNIX;
    /* held lines (failures mode) ask for it only if they are ever written */
    if (rsw_ev_eager())
        e->cookie = rsw_sys_getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &cl) == 0 ? cookie : 0;
}

/* Is this a socket the library watches: TCP over IPv4/IPv6, UNIX stream/seqpacket? */
static int watchable_socket(int fd, int *family)
{
    int dom = 0, type = 0;
    socklen_t l1 = sizeof dom, l2 = sizeof type;
    if (rsw_sys_getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &l1) ||
        rsw_sys_getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l2))
        return 0;
    *family = dom;
    if (dom == AF_INET || dom == AF_INET6)
        return type == SOCK_STREAM;
    if (dom == AF_UNIX)
        return type == SOCK_STREAM || type == SOCK_SEQPACKET;
    return 0;
}

/* A TCP socket with no peer that is not listening: a connection that already died (its RST
 * arrived before the program first used it, e.g. an inherited socket) or one never connected.
 * Either way its next call fails, and a reset's ECONNRESET is exactly what must be logged. */
static int dead_tcp(int fd)
{
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    if (rsw_sys_getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
        return 0;
    return ti.tcpi_state == 7; /* TCP_CLOSE (netinet/tcp.h and linux/tcp.h clash) */
}

struct rsw_fd *rsw_fd_adopt(int fd, const char *call)
{
    struct stat st;
    int family = 0, saved = errno;
    struct rsw_fd *e = rsw_fdt_slot(fd);
    if (!e)
        return NULL;
    uint32_t expect = RSW_FD_UNKNOWN;
    if (!__atomic_compare_exchange_n(&e->state, &expect, RSW_FD_BUSY, 0, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
        return expect == RSW_FD_WATCHED ? e : NULL;
    uint32_t state = RSW_FD_IGNORED;
    if (fstat(fd, &st) != 0) {
        state = RSW_FD_UNKNOWN; /* not open (EBADF): nothing to remember */
    } else if (S_ISSOCK(st.st_mode) && watchable_socket(fd, &family)) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) { /* connected */
            rsw_fd_setup_socket(e, fd, family, (struct sockaddr *)&ss, sl, 0);
            rsw_addr_local(fd, e->local, sizeof e->local);
            state = RSW_FD_WATCHED;
        } else if (errno == ENOTCONN && family != AF_UNIX && dead_tcp(fd)) {
            rsw_fd_setup_socket(e, fd, family, NULL, 0, 0); /* peer unknown: gone */
            rsw_addr_local(fd, e->local, sizeof e->local);
            state = RSW_FD_WATCHED;
        }
    } else if (S_ISFIFO(st.st_mode)) {
        reset_entry(e, 0);
        e->family = RSW_FAM_PIPE;
        rsw_addr_pipe((unsigned long long)st.st_ino, e->peer, sizeof e->peer);
        state = RSW_FD_WATCHED;
    }
    __atomic_store_n(&e->state, state, __ATOMIC_RELEASE);
    if (state == RSW_FD_WATCHED) {
        struct rsw_evinfo ev = RSW_EVINFO_INIT;
        ev.ev = RSW_EV_ADOPT, ev.call = call, ev.fd = fd, ev.e = e;
        ev.local = e->local[0] ? e->local : NULL;
        rsw_ev_emit(&ev);
    }
    errno = saved;
    return state == RSW_FD_WATCHED ? e : NULL;
}

void rsw_report_error(const char *call, const char *op, int fd, struct rsw_fd *e, long ret, int err)
{
    if (!rsw_errno_interesting(err))
        return;
    struct rsw_evinfo ev = RSW_EVINFO_INIT;
    ev.ev = RSW_EV_ERROR, ev.call = call, ev.op = op, ev.fd = fd, ev.e = e;
    ev.has_ret = 1, ev.ret = ret, ev.err = err;
    ev.injected = e && (__atomic_load_n(&e->flags, __ATOMIC_RELAXED) & RSW_F_INJ_DEAD);
    ev.backtrace = rsw_cfg.backtrace > 0;
    rsw_ev_emit(&ev);
}

/* What a failing call on e was doing. A connect still pending (never confirmed with
 * getsockopt(SO_ERROR)) fails on the first read/write as well, but only with the errnos a
 * handshake can end in; a reset or EPIPE means the connection had been established. */
static const char *failed_op(struct rsw_fd *e, enum rsw_op op, int err)
{
    if (!(__atomic_load_n(&e->flags, __ATOMIC_RELAXED) & RSW_F_PENDING))
        return op_name(op);
    enum rsw_errclass c = rsw_errclass_of(err);
    int handshake = (c == RSW_EC_REFUSED || c == RSW_EC_TIMEOUT || c == RSW_EC_UNREACH) &&
                    !__atomic_load_n(&e->bytes_in, __ATOMIC_RELAXED) &&
                    !__atomic_load_n(&e->bytes_out, __ATOMIC_RELAXED);
    if (handshake || err == EINPROGRESS || err == EALREADY)
        return "connect";
    __atomic_fetch_and(&e->flags, (uint8_t)~RSW_F_PENDING, __ATOMIC_RELAXED);
    return op_name(op);
}

void rsw_io_done(int fd, struct rsw_fd *e, const char *call, enum rsw_op op, int flags, size_t len,
                 ssize_t r, int err)
{
    if (r > 0) {
        if (!(flags & MSG_PEEK))
            __atomic_fetch_add(op == RSW_OP_IN ? &e->bytes_in : &e->bytes_out, (uint64_t)r,
                               __ATOMIC_RELAXED);
    } else if (r == 0 && op == RSW_OP_IN && len != 0 && !(e->flags & RSW_F_EOF)) {
        __atomic_fetch_or(&e->flags, RSW_F_EOF, __ATOMIC_RELAXED);
        struct rsw_evinfo ev = RSW_EVINFO_INIT;
        ev.ev = RSW_EV_EOF, ev.call = call, ev.fd = fd, ev.e = e;
        rsw_ev_emit(&ev);
    } else if (r < 0) {
        rsw_report_error(call, failed_op(e, op, err), fd, e, (long)r, err);
    }
    if (r >= 0 && rsw_io_all) {
        struct rsw_evinfo ev = RSW_EVINFO_INIT;
        ev.ev = RSW_EV_IO, ev.call = call, ev.op = op_name(op), ev.fd = fd, ev.e = e;
        ev.has_ret = 1, ev.ret = (long)r;
        rsw_ev_emit(&ev);
    }
}
