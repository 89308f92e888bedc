/* hooks_fd.c: the calls that end a watched connection's fd: close, dup2/dup3 over it,
 * close_range/closefrom, and the same made as raw syscall() (libuv closes that way); the
 * syscall() shim also answers libunwind's raw writes into its pipe (unwind_pipe.c). */
#include "event.h"
#include "line.h"
#include "logwriter.h"
#include "ownfd.h"
#include "shim.h"
#include "sys.h"
#include <errno.h>
#include <linux/close_range.h>
#include <stdarg.h>
#include <unistd.h>

/* fd is about to be closed: take its entry out of the table first (the number may be reused by
 * another thread the moment it is closed). */
static int take(int fd, struct rsw_fd *snap)
{
    struct rsw_fd *e = rsw_fdt_watched(fd);
    if (e)
        *snap = *e;
    rsw_fdt_forget(fd);
    return e != NULL;
}

static void emit_close(const char *call, int fd, struct rsw_fd *snap, int r, int err, uint64_t ts)
{
    struct rsw_evinfo in = RSW_EVINFO_INIT;
    in.ts = ts;
    in.ev = RSW_EV_CLOSE, in.call = call, in.fd = fd, in.e = snap;
    in.has_ret = 1, in.ret = r, in.err = r < 0 ? err : 0;
    rsw_ev_emit(&in);
}

/* close(fd) for the close() shim and for syscall(SYS_close, fd). */
static int do_close(const char *call, int fd, int raw)
{
    struct rsw_guard g;
    struct rsw_fd snap;
    if (RSW_UNLIKELY(rsw_unwind_fd(fd)))
        return 0;
    if (!rsw_enter(&g))
        return raw ? (int)rsw_syscall(SYS_close, fd) : rsw_real.close(fd);
    if (rsw_own_is(fd)) { /* not the program's fd: as if it were not open */
        g.err = EBADF;
        rsw_leave(&g);
        return -1;
    }
    int watched = take(fd, &snap);
    /* the FIN or RST leaves during the call: its line is stamped at the start, so that the
     * peer's error it causes never carries an earlier time than the close */
    uint64_t t0 = watched ? rsw_line_now() : 0;
    int r = raw ? (int)rsw_syscall(SYS_close, fd) : RSW_REAL(&g, close(fd));
    if (raw)
        g.err = errno;
    if (watched)
        emit_close(call, fd, &snap, r, g.err, t0);
    rsw_leave(&g);
    return r;
}

RSW_EXPORT int close(int fd)
{
    return do_close("close", fd, 0);
}

static int do_dup(const char *call, int oldfd, int newfd, int flags, int three)
{
    struct rsw_guard g;
    struct rsw_fd snap;
    if (!rsw_enter(&g))
        return three ? rsw_real.dup3(oldfd, newfd, flags) : rsw_real.dup2(oldfd, newfd);
    if (newfd >= 0 && newfd == rsw_log_fd() && oldfd != newfd)
        rsw_log_relocate(); /* the program wants this number: move the log out of its way */
    int watched = oldfd != newfd && take(newfd, &snap);
    int r = three ? RSW_REAL(&g, dup3(oldfd, newfd, flags)) : RSW_REAL(&g, dup2(oldfd, newfd));
    if (watched)
        emit_close(call, newfd, &snap, r < 0 ? r : 0, g.err, 0);
    rsw_leave(&g);
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
    return (int)rsw_syscall(SYS_close_range, first, last, flags);
}

/* Closes [first, last] except the library's own fds (ownfd.h), reporting the watched
 * connections it closes. The own fds sit above the program's soft limit, so the range is
 * split at most a few times. Entered (guard.h); errno set by the last failing piece. */
static int close_range_sparing_own(const char *call, unsigned first, unsigned last, int flags)
{
    if (flags & CLOSE_RANGE_CLOEXEC)
        return real_close_range(first, last, flags);
    size_t limit = rsw_fdt_mapped_limit();
    for (size_t fd = first; fd <= last && fd < limit; fd++) {
        struct rsw_fd snap;
        if (!rsw_own_is((int)fd) && take((int)fd, &snap))
            emit_close(call, (int)fd, &snap, 0, 0, 0);
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
        if (next > lo && real_close_range(lo, next - 1, flags) < 0)
            r = -1;
        if (next == last)
            return r;
        lo = next + 1;
    }
}

static int do_close_range(const char *call, unsigned first, unsigned last, int flags)
{
    struct rsw_guard g;
    if (!rsw_enter(&g))
        return real_close_range(first, last, flags);
    int r = close_range_sparing_own(call, first, last, flags);
    if (r < 0)
        g.err = errno;
    rsw_leave(&g);
    return r;
}

RSW_EXPORT int close_range(unsigned first, unsigned last, int flags)
{
    return do_close_range("close_range", first, last, flags);
}

RSW_EXPORT void closefrom(int lowfd)
{
    do_close_range("closefrom", lowfd < 0 ? 0u : (unsigned)lowfd, ~0u, 0);
}

/* syscall(): libunwind's raw writes into its pipe while the library unwinds; the program's raw
 * close/close_range/dup3 (libuv) as if made through libc; everything else straight to libc. */
RSW_EXPORT long syscall(long n, ...)
{
    va_list ap;
    va_start(ap, n);
    long a = va_arg(ap, long), b = va_arg(ap, long), c = va_arg(ap, long);
    long d = va_arg(ap, long), e = va_arg(ap, long), f = va_arg(ap, long);
    va_end(ap);
    if (RSW_UNLIKELY(rsw_tls.depth) && (n == SYS_write || n == SYS_read) && rsw_unwind_fd((int)a))
        return rsw_unwind_io(n == SYS_write ? "write" : "read", (int)a, (void *)b, (size_t)c);
    switch (n) {
    case SYS_close:
        return do_close("syscall", (int)a, 1);
    case SYS_close_range:
        return do_close_range("syscall", (unsigned)a, (unsigned)b, (int)c);
    case SYS_dup3:
        return do_dup("syscall", (int)a, (int)b, (int)c, 1);
    default:
        break;
    }
    if (RSW_UNLIKELY(!rsw_real.syscall))
        rsw_init();
    return rsw_real.syscall ? rsw_real.syscall(n, a, b, c, d, e, f)
                            : rsw_syscall6(n, a, b, c, d, e, f);
}
