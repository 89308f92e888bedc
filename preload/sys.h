/* sys.h: raw system calls for the library's own I/O, so it never enters its own hooks (the
 * library interposes syscall() too). x86_64 and aarch64 issue the instruction inline; any other
 * architecture (or RSW_PORTABLE_SYSCALL) calls libc's syscall() through the resolved pointer,
 * never the exported hook. */
#ifndef RSW_SYS_H
#define RSW_SYS_H
#include "real.h"
#include <errno.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

static inline long rsw_sys_result(long ret)
{
    if (ret < 0 && ret > -4096) {
        errno = (int)-ret;
        return -1;
    }
    return ret;
}

#if defined(__x86_64__) && !defined(RSW_PORTABLE_SYSCALL)
#define RSW_SYSCALL_INLINE 1
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
    return rsw_sys_result(ret);
}
#elif defined(__aarch64__) && !defined(RSW_PORTABLE_SYSCALL)
#define RSW_SYSCALL_INLINE 1
static inline long rsw_syscall6(long n, long a, long b, long c, long d, long e, long f)
{
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    register long x5 __asm__("x5") = f;
    __asm__ volatile("svc 0"
                     : "+r"(x0)
                     : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                     : "memory");
    return rsw_sys_result(x0);
}
#else
#define RSW_SYSCALL_INLINE 0
/* libc's syscall(), resolved before first use; never the library's own exported syscall(). */
long rsw_syscall6_portable(long n, long a, long b, long c, long d, long e, long f);
#define rsw_syscall6 rsw_syscall6_portable
#endif

#define RSW_SYSCALL_(n, a, b, c, d, e, f, ...)                                                     \
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
static inline pid_t rsw_sys_getpid(void)
{
    return (pid_t)rsw_syscall(SYS_getpid);
}
#endif
