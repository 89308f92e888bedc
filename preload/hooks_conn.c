/* hooks_conn.c: shims that inspect their arguments: connect, accept, close, shutdown,
 * getsockopt(SO_ERROR), and the calls that close fds implicitly (dup2, dup3, close_range). */
#include "shim.h"
#include "addr.h"
#include "event.h"
#include "inject.h"
#include "logwriter.h"
#include "ownfd.h"
#include "sys.h"
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <string.h>
#include <unistd.h>

static void emit_simple(enum rsw_ev ev, const char *call, int fd, const struct rsw_fd *e,
                        const char *local)
{
    struct rsw_evinfo in = RSW_EVINFO_INIT;
    in.ev = ev, in.call = call, in.fd = fd, in.e = e, in.local = local;
    rsw_ev_emit(&in);
}

RSW_EXPORT int connect(int fd, const struct sockaddr *sa, socklen_t salen)
{
    int fam = sa && salen >= sizeof(sa_family_t) ? sa->sa_family : AF_UNSPEC;
    int type = 0, r, err;
    socklen_t tl = sizeof type;
    rsw_init();
    if (rsw_tls.depth || !rsw_ready || (fam != AF_INET && fam != AF_INET6 && fam != AF_UNIX) ||
        rsw_sys_getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 ||
        !(type == SOCK_STREAM || (fam == AF_UNIX && type == SOCK_SEQPACKET)))
        return rsw_real.connect(fd, sa, salen);
    struct rsw_fd *e = rsw_fdt_slot(fd);
    if (!e)
        return rsw_real.connect(fd, sa, salen);
    /* A retried connect on a pending socket is the same connection; anything else is new. */
    int again = __atomic_load_n(&e->state, __ATOMIC_ACQUIRE) == RSW_FD_WATCHED &&
                (e->flags & RSW_F_PENDING);
    if (!again) {
        __atomic_store_n(&e->state, RSW_FD_BUSY, __ATOMIC_RELEASE);
        rsw_tls.depth++;
        rsw_fd_setup_socket(e, fd, fam, sa, salen);
        rsw_tls.depth--;
        __atomic_store_n(&e->state, RSW_FD_WATCHED, __ATOMIC_RELEASE);
    }
    if (!(RSW_UNLIKELY(rsw_inject_armed) && rsw_inject_connect(fd, sa, salen, e, &r)))
        r = rsw_real.connect(fd, sa, salen);
    err = errno;
    rsw_tls.depth++;
    if (r == 0 || (err != EINPROGRESS && err != EALREADY && err != EINTR))
        __atomic_fetch_and(&e->flags, (uint8_t)~RSW_F_PENDING, __ATOMIC_RELAXED);
    else
        __atomic_fetch_or(&e->flags, RSW_F_PENDING, __ATOMIC_RELAXED);
    char local[RSW_PEER_MAX];
    rsw_format_local(fd, local, sizeof local);
    struct rsw_evinfo in = RSW_EVINFO_INIT;
    in.ev = RSW_EV_CONNECT, in.call = "connect", in.fd = fd, in.e = e;
    in.local = local[0] ? local : NULL;
    in.has_ret = 1, in.ret = r, in.err = r < 0 ? err : 0;
    int fl = fcntl(fd, F_GETFL);
    in.nonblock = fl >= 0 ? !!(fl & O_NONBLOCK) : -1;
    rsw_ev_emit(&in);
    rsw_tls.depth--;
    if (r < 0)
        rsw_report_error("connect", "connect", fd, e, r, err);
    errno = err;
    return r;
}

static int do_accept(const char *call, int lfd, struct sockaddr *sa, socklen_t *sl, int flags,
                     int four)
{
    rsw_init();
    int r = four ? rsw_real.accept4(lfd, sa, sl, flags) : rsw_real.accept(lfd, sa, sl);
    int err = errno;
    if (rsw_tls.depth || !rsw_ready)
        return r;
    if (r < 0) {
        rsw_report_error(call, "accept", lfd, NULL, r, err);
        errno = err;
        return r;
    }
    struct sockaddr_storage ss;
    socklen_t l = sizeof ss;
    struct rsw_fd *e = rsw_fdt_slot(r);
    rsw_tls.depth++;
    if (e && getsockname(r, (struct sockaddr *)&ss, &l) == 0 &&
        (ss.ss_family == AF_INET || ss.ss_family == AF_INET6 || ss.ss_family == AF_UNIX)) {
        char local[RSW_PEER_MAX];
        __atomic_store_n(&e->state, RSW_FD_BUSY, __ATOMIC_RELEASE);
        rsw_fd_setup_socket(e, r, ss.ss_family, NULL, 0);
        __atomic_store_n(&e->state, RSW_FD_WATCHED, __ATOMIC_RELEASE);
        rsw_addr_format((struct sockaddr *)&ss, l, local, sizeof local);
        struct rsw_evinfo in = RSW_EVINFO_INIT;
        in.ev = RSW_EV_ACCEPT, in.call = call, in.fd = r, in.lfd = lfd, in.e = e;
        in.local = local;
        rsw_ev_emit(&in);
        if (RSW_UNLIKELY(rsw_inject_armed))
            rsw_inject_accept(r, e, call);
    } else {
        rsw_fdt_forget(r);
    }
    rsw_tls.depth--;
    errno = err;
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

/* fd is about to be closed (by close, dup2 over it, close_range): take its entry out of the
 * table first (the number may be reused by another thread the moment it is closed). */
static int take(int fd, struct rsw_fd *snap)
{
    struct rsw_fd *e = rsw_fdt_watched(fd);
    if (e)
        *snap = *e;
    rsw_fdt_forget(fd);
    return e != NULL;
}

static void emit_close(const char *call, int fd, const struct rsw_fd *snap, int r, int err)
{
    if (rsw_tls.depth)
        return;
    rsw_tls.depth++;
    struct rsw_evinfo in = RSW_EVINFO_INIT;
    in.ev = RSW_EV_CLOSE, in.call = call, in.fd = fd, in.e = snap;
    in.has_ret = 1, in.ret = r, in.err = r < 0 ? err : 0;
    rsw_ev_emit(&in);
    rsw_tls.depth--;
}

RSW_EXPORT int close(int fd)
{
    struct rsw_fd snap;
    if (RSW_UNLIKELY(rsw_is_fake_fd(fd)))
        return 0;
    rsw_init();
    if (rsw_own_is(fd)) {
        if (rsw_tls.depth) { /* the library (libunwind) closing its own */
            rsw_own_drop(fd);
            return rsw_real.close(fd);
        }
        errno = EBADF; /* not the program's fd: as if it were not open */
        return -1;
    }
    int watched = take(fd, &snap);
    int r = rsw_real.close(fd);
    int err = errno;
    if (watched)
        emit_close("close", fd, &snap, r, err);
    errno = err;
    return r;
}

RSW_EXPORT int shutdown(int fd, int how)
{
    static const char *const hows[] = {"SHUT_RD", "SHUT_WR", "SHUT_RDWR"};
    rsw_init();
    int r = rsw_real.shutdown(fd, how);
    int err = errno;
    struct rsw_fd *e = rsw_fdt_watched(fd);
    if (!e || rsw_tls.depth)
        return r;
    rsw_tls.depth++;
    struct rsw_evinfo in = RSW_EVINFO_INIT;
    in.ev = RSW_EV_SHUTDOWN, in.call = "shutdown", in.fd = fd, in.e = e;
    in.how = how >= 0 && how <= 2 ? hows[how] : "?";
    in.has_ret = 1, in.ret = r, in.err = r < 0 ? err : 0;
    rsw_ev_emit(&in);
    rsw_tls.depth--;
    if (r < 0)
        rsw_report_error("shutdown", "shutdown", fd, e, r, err);
    errno = err;
    return r;
}

RSW_EXPORT int getsockopt(int fd, int level, int name, void *restrict val, socklen_t *restrict len)
{
    rsw_init();
    int r = rsw_real.getsockopt(fd, level, name, val, len);
    if (r != 0 || level != SOL_SOCKET || name != SO_ERROR || !val || !len ||
        *len < sizeof(int) || rsw_tls.depth)
        return r;
    struct rsw_fd *e = rsw_fdt_watched(fd);
    if (!e)
        return r;
    if (RSW_UNLIKELY(__atomic_load_n(&e->inj_err, __ATOMIC_RELAXED)) && *(int *)val == 0)
        *(int *)val = __atomic_exchange_n(&e->inj_err, 0, __ATOMIC_ACQ_REL); /* inject.c */
    int err = errno, soerr = *(int *)val, pending = e->flags & RSW_F_PENDING;
    if (pending && soerr == 0) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) { /* the connect completed */
            char local[RSW_PEER_MAX];
            __atomic_fetch_and(&e->flags, (uint8_t)~RSW_F_PENDING, __ATOMIC_RELAXED);
            rsw_tls.depth++;
            rsw_format_local(fd, local, sizeof local);
            emit_simple(RSW_EV_CONNECTED, "getsockopt", fd, e, local[0] ? local : NULL);
            rsw_tls.depth--;
        }
    } else if (soerr != 0) {
        if (pending && soerr != EINPROGRESS && soerr != EALREADY)
            __atomic_fetch_and(&e->flags, (uint8_t)~RSW_F_PENDING, __ATOMIC_RELAXED);
        rsw_report_error("getsockopt", pending ? "connect" : "sockopt", fd, e, 0, soerr);
    }
    errno = err;
    return r;
}

static int do_dup(const char *call, int oldfd, int newfd, int flags, int three)
{
    struct rsw_fd snap;
    rsw_init();
    if (newfd >= 0 && newfd == rsw_log_fd() && oldfd != newfd)
        rsw_log_relocate(); /* the program wants this number: move the log out of its way */
    int watched = oldfd != newfd && take(newfd, &snap);
    int r = three ? rsw_real.dup3(oldfd, newfd, flags) : rsw_real.dup2(oldfd, newfd);
    int err = errno;
    if (watched)
        emit_close(call, newfd, &snap, r < 0 ? r : 0, err);
    errno = err;
    return r;
}

RSW_EXPORT int dup2(int oldfd, int newfd)
{
    return do_dup("dup2", oldfd, newfd, 0, 0);
}

RSW_EXPORT int dup3(int oldfd, int newfd, int flags)
{
    return do_dup("dup3", oldfd, newfd, flags, 1);
}

static int real_close_range(unsigned first, unsigned last, int flags)
{
    if (rsw_real.close_range)
        return rsw_real.close_range(first, last, flags);
    return (int)rsw_syscall(SYS_close_range, first, last, flags);
}

/* Closes [first, last] except the library's own fds (ownfd.h), reporting the watched
 * connections it closes. The own fds sit above the program's soft limit, so the range is
 * split at most a few times. */
static int close_range_sparing_own(unsigned first, unsigned last, int flags)
{
    if (flags & CLOSE_RANGE_CLOEXEC)
        return real_close_range(first, last, flags);
    size_t limit = rsw_fdt_mapped_limit();
    for (size_t fd = first; fd <= last && fd < limit; fd++) {
        struct rsw_fd snap;
        if (!rsw_own_is((int)fd) && take((int)fd, &snap))
            emit_close("close_range", (int)fd, &snap, 0, 0);
    }
    int r = 0;
    unsigned lo = first;
    for (;;) { /* the lowest own fd in [lo, last], closing what lies below it */
        int own = rsw_own_next(lo, last);
        unsigned next = (unsigned)own;
        if (own < 0) {
            int rr = real_close_range(lo, last, flags);
            return r < 0 ? r : rr;
        }
        if (next > lo) {
            int rr = real_close_range(lo, next - 1, flags);
            if (rr < 0)
                r = rr;
        }
        if (next == last)
            return r;
        lo = next + 1;
    }
}

RSW_EXPORT int close_range(unsigned first, unsigned last, int flags)
{
    rsw_init();
    return close_range_sparing_own(first, last, flags);
}

RSW_EXPORT void closefrom(int lowfd)
{
    rsw_init();
    if (lowfd < 0)
        lowfd = 0;
    close_range_sparing_own((unsigned)lowfd, ~0u, 0);
}

/* libunwind checks that memory is readable by writing it into a pipe it opens once and keeps
 * for good: two fds taken from under the program (3 and 4), which a daemon may later close or
 * dup2() over, after which libunwind would read from and close the program's own fds. When the
 * library is the caller, it gets two numbers no real fd can have instead (validate.c answers
 * its reads and writes on them), and no fd is used at all. */
static int own_pipe(int fds[2], int flags, int two)
{
    rsw_init();
    if (!rsw_tls.depth)
        return two ? rsw_real.pipe2(fds, flags) : rsw_real.pipe(fds);
    fds[0] = RSW_FAKE_PIPE_RD;
    fds[1] = RSW_FAKE_PIPE_WR;
    return 0;
}

/* libunwind writes into its "pipe" with syscall(SYS_write, ...): answer that on the fake fds,
 * and only while the library itself is unwinding; every other call goes straight to libc. */
RSW_EXPORT long syscall(long n, ...)
{
    va_list ap;
    va_start(ap, n);
    long a = va_arg(ap, long), b = va_arg(ap, long), c = va_arg(ap, long);
    long d = va_arg(ap, long), e = va_arg(ap, long), f = va_arg(ap, long);
    va_end(ap);
    if (RSW_UNLIKELY(rsw_tls.depth) && (n == SYS_write || n == SYS_read) &&
        rsw_is_fake_fd((int)a))
        return rsw_fake_io(n == SYS_write ? "write" : "read", (int)a, (void *)b, (size_t)c);
    if (RSW_UNLIKELY(!rsw_real.syscall))
        return rsw_syscall6(n, a, b, c, d, e, f);
    return rsw_real.syscall(n, a, b, c, d, e, f);
}

RSW_EXPORT int pipe(int fds[2])
{
    return own_pipe(fds, 0, 0);
}

RSW_EXPORT int pipe2(int fds[2], int flags)
{
    return own_pipe(fds, flags, 1);
}
