/* unwind_pipe.c: libunwind's memory-check pipe, answered without any fd.
 *
 * libunwind checks that memory is readable by writing it into a pipe it opens once and keeps
 * for good: two fds taken from under the program (3 and 4), which a daemon may later close or
 * dup2() over, after which libunwind would read from and close the program's own fds. When the
 * library itself is working (guard.h: depth > 0) pipe() hands out two numbers no real fd can
 * have, and reads/writes on them, only while the library is working, are answered here. The
 * program's own calls on those numbers reach the kernel (EBADF) like any other. */
#include "backtrace.h"
#include "shim.h"
#include <limits.h>
#include <stdarg.h>
#include <string.h>

/* Above any possible fd: fs.nr_open tops out at INT_MAX & -64. */
#define FAKE_RD (INT_MAX - 1)
#define FAKE_WR INT_MAX

int rsw_unwind_fd(int fd)
{
    return fd >= FAKE_RD && rsw_tls.depth > 0;
}

/* reads find it empty (EAGAIN); a write of n bytes from addr succeeds exactly when that memory
 * is readable (else EFAULT), which is all libunwind asks. */
long rsw_unwind_io(const char *call, int fd, ...)
{
    va_list ap;
    va_start(ap, fd);
    const void *addr = va_arg(ap, const void *);
    size_t n = va_arg(ap, size_t);
    va_end(ap);
    if (fd == FAKE_RD && !strcmp(call, "read")) {
        errno = EAGAIN;
        return -1;
    }
    if (fd != FAKE_WR || strcmp(call, "write") != 0) {
        errno = EBADF;
        return -1;
    }
    if (n > 64)
        n = 64;
    if (rsw_mem_readable(addr, n))
        return (long)n;
    errno = EFAULT;
    return -1;
}

static int own_pipe(int fds[2], int flags, int two)
{
    if (RSW_UNLIKELY(!rsw_real.pipe))
        rsw_init();
    if (!rsw_tls.depth)
        return two ? rsw_real.pipe2(fds, flags) : rsw_real.pipe(fds);
    fds[0] = FAKE_RD;
    fds[1] = FAKE_WR;
    return 0;
}

RSW_EXPORT int pipe(int fds[2])
{
    return own_pipe(fds, 0, 0);
}

RSW_EXPORT int pipe2(int fds[2], int flags)
{
    return own_pipe(fds, flags, 1);
}
