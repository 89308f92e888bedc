/* sys.h: raw system calls for the library's own I/O, so it never re-enters its own hooks
 * (the library interposes syscall() too, see hooks_conn.c). */
#ifndef RSW_SYS_H
#define RSW_SYS_H
#include <errno.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#if defined(__x86_64__)
static inline long rsw_syscall6(long n, long a, long b, long c, long d, long e, long f)
{
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    if (ret < 0 && ret > -4096) {
        errno = (int)-ret;
        return -1;
    }
    return ret;
}
#else
static inline long rsw_syscall6(long n, long a, long b, long c, long d, long e, long f)
{
    return syscall(n, a, b, c, d, e, f);
}
#endif
#define RSW_SYSCALL_(n, a, b, c, d, e, f, ...)                                                    \
    rsw_syscall6((long)(n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))
/* rsw_syscall(SYS_x, args...): up to 6 arguments, errno set on failure like syscall(2). */
#define rsw_syscall(...) RSW_SYSCALL_(__VA_ARGS__, 0, 0, 0, 0, 0, 0, 0)

static inline ssize_t rsw_sys_write(int fd, const void *buf, size_t n)
{
    return rsw_syscall(SYS_write, fd, buf, n);
}
static inline ssize_t rsw_sys_read(int fd, void *buf, size_t n)
{
    return rsw_syscall(SYS_read, fd, buf, n);
}
static inline int rsw_sys_close(int fd)
{
    return (int)rsw_syscall(SYS_close, fd);
}
static inline int rsw_sys_getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
    return (int)rsw_syscall(SYS_getsockopt, fd, level, name, val, len);
}
static inline pid_t rsw_sys_gettid(void)
{
    return (pid_t)rsw_syscall(SYS_gettid);
}
#endif
