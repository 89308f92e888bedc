/* hooks_conn.c: shims that inspect their arguments: connect, accept, shutdown,
 * getsockopt(SO_ERROR), and splice (two fds, so not a generated wrapper). */
#include "addr.h"
#include "event.h"
#include "inject.h"
#include "line.h"
#include "shim.h"
#include "sys.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>

/* The local address: asked now when lines are written as they happen, else when (if ever) the
 * connection's lines are written (event.c). */
static const char *local_of(int fd, struct rsw_fd *e)
{
    if (rsw_ev_eager())
        rsw_addr_local(fd, e->local, sizeof e->local);
    return e->local[0] ? e->local : NULL;
}

static void emit_conn_event(enum rsw_ev ev, const char *call, int fd, struct rsw_fd *e)
{
    struct rsw_evinfo in = RSW_EVINFO_INIT;
    in.ev = ev, in.call = call, in.fd = fd, in.e = e, in.local = local_of(fd, e);
    rsw_ev_emit(&in);
}

/* Is this connect one the library follows (TCP over IPv4/IPv6, UNIX stream/seqpacket)? */
static int followed_connect(int fd, int fam)
{
    int type = 0;
    socklen_t tl = sizeof type;
    if ((fam != AF_INET && fam != AF_INET6 && fam != AF_UNIX) ||
        rsw_sys_getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0)
        return 0;
    return type == SOCK_STREAM || (fam == AF_UNIX && type == SOCK_SEQPACKET);
}

RSW_EXPORT int connect(int fd, const struct sockaddr *sa, socklen_t salen)
{
    struct rsw_guard g;
    int fam = sa && salen >= sizeof(sa_family_t) ? sa->sa_family : AF_UNSPEC;
    struct rsw_fd *e;
    if (!rsw_enter(&g))
        return rsw_real.connect(fd, sa, salen);
    if (!followed_connect(fd, fam) || !(e = rsw_fdt_slot(fd))) {
        rsw_leave(&g);
        return rsw_real.connect(fd, sa, salen);
    }
    /* A retried connect on a pending socket is the same connection; anything else is new. */
    int again = __atomic_load_n(&e->state, __ATOMIC_ACQUIRE) == RSW_FD_WATCHED &&
                (e->flags & RSW_F_PENDING);
    if (!again) {
        __atomic_store_n(&e->state, RSW_FD_BUSY, __ATOMIC_RELEASE);
        rsw_fd_setup_socket(e, fd, fam, sa, salen, 1);
        __atomic_store_n(&e->state, RSW_FD_WATCHED, __ATOMIC_RELEASE);
    }
    int r;
    uint64_t t0 = rsw_line_now(); /* vDSO: how long a blocking connect waits is the story */
    if (RSW_UNLIKELY(rsw_inject_armed) && rsw_inject_connect(fd, sa, salen, e, &r))
        g.err = errno;
    else
        r = RSW_REAL(&g, connect(fd, sa, salen));
    int err = g.err;
    if (r == 0 || (err != EINPROGRESS && err != EALREADY && err != EINTR))
        __atomic_fetch_and(&e->flags, (uint8_t)~RSW_F_PENDING, __ATOMIC_RELAXED);
    else
        __atomic_fetch_or(&e->flags, RSW_F_PENDING, __ATOMIC_RELAXED);
    struct rsw_evinfo in = RSW_EVINFO_INIT;
    in.ev = RSW_EV_CONNECT, in.call = "connect", in.fd = fd, in.e = e;
    in.local = local_of(fd, e);
    in.has_ret = 1, in.ret = r, in.err = r < 0 ? err : 0;
    if (r < 0 && (err == EINPROGRESS || err == EALREADY)) {
        in.nonblock = 1;
    } else if (fam != AF_UNIX &&
               (r == 0 || err == ECONNREFUSED || err == ETIMEDOUT || err == ECONNRESET)) {
        /* TCP: a non-blocking connect returns EINPROGRESS before the handshake can end, so a
         * handshake's outcome returned by connect itself means a blocking one */
        in.nonblock = 0;
    } else if (rsw_ev_eager()) { /* else asked if the line is ever written */
        int fl = fcntl(fd, F_GETFL);
        in.nonblock = fl >= 0 ? !!(fl & O_NONBLOCK) : -1;
    }
    if (in.nonblock != 1 && !(r < 0 && err == EINTR))
        in.dur = (int64_t)(rsw_line_now() - t0);
    rsw_ev_emit(&in);
    if (r < 0)
        rsw_report_error("connect", "connect", fd, e, r, err);
    rsw_leave(&g);
    return r;
}

static int do_accept(const char *call, int lfd, struct sockaddr *sa, socklen_t *sl, int flags,
                     int four)
{
    struct rsw_guard g;
    if (!rsw_enter(&g))
        return four ? rsw_real.accept4(lfd, sa, sl, flags) : rsw_real.accept(lfd, sa, sl);
    /* the peer's address comes back from accept itself: into the program's buffer, or into ours
     * when it passed none (no difference to it), so no getpeername is needed */
    struct sockaddr_storage peer;
    socklen_t plen = sizeof peer, cap = sa && sl ? *sl : 0;
    struct sockaddr *asa = sa ? sa : (struct sockaddr *)&peer;
    socklen_t *asl = sa ? sl : &plen;
    int r =
        four ? RSW_REAL(&g, accept4(lfd, asa, asl, flags)) : RSW_REAL(&g, accept(lfd, asa, asl));
    if (r < 0) {
        rsw_report_error(call, "accept", lfd, NULL, r, g.err);
        rsw_leave(&g);
        return r;
    }
    struct sockaddr_storage ss;
    socklen_t l = sizeof ss;
    struct rsw_fd *e = rsw_fdt_slot(r);
    if (e && getsockname(r, (struct sockaddr *)&ss, &l) == 0 &&
        (ss.ss_family == AF_INET || ss.ss_family == AF_INET6 || ss.ss_family == AF_UNIX)) {
        __atomic_store_n(&e->state, RSW_FD_BUSY, __ATOMIC_RELEASE);
        int whole = !sa || (*sl <= cap && *sl <= (socklen_t)sizeof peer); /* not truncated */
        rsw_fd_setup_socket(e, r, ss.ss_family, whole ? asa : NULL, whole ? *asl : 0, 0);
        rsw_addr_format((struct sockaddr *)&ss, l, e->local, sizeof e->local);
        __atomic_store_n(&e->state, RSW_FD_WATCHED, __ATOMIC_RELEASE);
        struct rsw_evinfo in = RSW_EVINFO_INIT;
        in.ev = RSW_EV_ACCEPT, in.call = call, in.fd = r, in.lfd = lfd, in.e = e;
        in.local = e->local;
        rsw_ev_emit(&in);
        if (RSW_UNLIKELY(rsw_inject_armed))
            rsw_inject_accept(r, e, call);
    } else {
        rsw_fdt_forget(r);
    }
    rsw_leave(&g);
    return r;
}

RSW_EXPORT int accept(int lfd, struct sockaddr *restrict sa, socklen_t *restrict sl)
{
    return do_accept("accept", lfd, sa, sl, 0, 0);
}

RSW_EXPORT int accept4(int lfd, struct sockaddr *restrict sa, socklen_t *restrict sl, int flags)
{
    return do_accept("accept4", lfd, sa, sl, flags, 1);
}

RSW_EXPORT int shutdown(int fd, int how)
{
    static const char *const hows[] = {"SHUT_RD", "SHUT_WR", "SHUT_RDWR"};
    struct rsw_guard g;
    if (!rsw_enter(&g))
        return rsw_real.shutdown(fd, how);
    uint64_t t0 = rsw_line_now(); /* the FIN leaves during the call: stamped at its start */
    int r = RSW_REAL(&g, shutdown(fd, how));
    struct rsw_fd *e = rsw_fdt_watched(fd);
    if (e) {
        struct rsw_evinfo in = RSW_EVINFO_INIT;
        in.ts = t0;
        in.ev = RSW_EV_SHUTDOWN, in.call = "shutdown", in.fd = fd, in.e = e;
        in.how = how >= 0 && how <= 2 ? hows[how] : "?";
        in.has_ret = 1, in.ret = r, in.err = r < 0 ? g.err : 0;
        rsw_ev_emit(&in);
        if (r < 0)
            rsw_report_error("shutdown", "shutdown", fd, e, r, g.err);
    }
    rsw_leave(&g);
    return r;
}

/* SO_ERROR tells how a pending connect ended (or collects an error on a live connection). */
static void saw_so_error(int fd, struct rsw_fd *e, int *val)
{
    if (RSW_UNLIKELY(__atomic_load_n(&e->inj_err, __ATOMIC_RELAXED)) && *val == 0)
        *val = __atomic_exchange_n(&e->inj_err, 0, __ATOMIC_ACQ_REL); /* inject.c */
    int soerr = *val, pending = e->flags & RSW_F_PENDING;
    if (pending && soerr == 0) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) { /* the connect completed */
            __atomic_fetch_and(&e->flags, (uint8_t)~RSW_F_PENDING, __ATOMIC_RELAXED);
            emit_conn_event(RSW_EV_CONNECTED, "getsockopt", fd, e);
        }
    } else if (soerr != 0) {
        if (pending && soerr != EINPROGRESS && soerr != EALREADY)
            __atomic_fetch_and(&e->flags, (uint8_t)~RSW_F_PENDING, __ATOMIC_RELAXED);
        rsw_report_error("getsockopt", pending ? "connect" : "sockopt", fd, e, 0, soerr);
    }
}

RSW_EXPORT int getsockopt(int fd, int level, int name, void *restrict val, socklen_t *restrict len)
{
    struct rsw_guard g;
    if (!rsw_enter(&g))
        return rsw_real.getsockopt(fd, level, name, val, len);
    int r = RSW_REAL(&g, getsockopt(fd, level, name, val, len));
    if (level != SOL_SOCKET || name != SO_ERROR) {
        rsw_leave(&g);
        return r;
    }
    struct rsw_fd *e;
    if (r == 0 && val && len && *len >= sizeof(int) && (e = rsw_fdt_watched(fd)))
        saw_so_error(fd, e, val);
    rsw_leave(&g);
    return r;
}

/* splice moves bytes between two fds, one of them a pipe: a socket on either side is a watched
 * connection like any other (haproxy forwards this way). An error is the input socket's when
 * it is a reset, the output's when it is EPIPE. */
static struct rsw_fd *watched_or_adopted(int fd)
{
    struct rsw_fd *e = rsw_fdt_watched(fd);
    return e ? e : rsw_fd_adopt(fd, "splice");
}

RSW_EXPORT ssize_t splice(int in, loff_t *off_in, int out, loff_t *off_out, size_t len,
                          unsigned flags)
{
    struct rsw_guard g;
    if (!rsw_enter(&g))
        return rsw_real.splice(in, off_in, out, off_out, len, flags);
    struct rsw_fd *ein = watched_or_adopted(in), *eout = watched_or_adopted(out);
    ssize_t r = RSW_REAL(&g, splice(in, off_in, out, off_out, len, flags));
    if (r >= 0 || !rsw_errno_interesting(g.err)) {
        if (ein)
            rsw_io_done(in, ein, "splice", RSW_OP_IN, 0, len, r, g.err);
        if (eout && r > 0)
            rsw_io_done(out, eout, "splice", RSW_OP_OUT, 0, len, r, g.err);
    } else {
        int to_out = g.err == EPIPE ? eout != NULL : ein == NULL;
        struct rsw_fd *e = to_out ? eout : ein;
        if (e)
            rsw_io_done(to_out ? out : in, e, "splice", to_out ? RSW_OP_OUT : RSW_OP_IN, 0, len, r,
                        g.err);
    }
    rsw_leave(&g);
    return r;
}
