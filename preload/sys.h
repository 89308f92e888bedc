/* sys.h: raw system calls for the library's own I/O, so it never re-enters its own hooks. */
#ifndef RSW_SYS_H
#define RSW_SYS_H
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

static inline ssize_t rsw_sys_write(int fd, const void *buf, size_t n)
{
    return syscall(SYS_write, fd, buf, n);
}
static inline ssize_t rsw_sys_read(int fd, void *buf, size_t n)
{
    return syscall(SYS_read, fd, buf, n);
}
static inline int rsw_sys_close(int fd)
{
    return (int)syscall(SYS_close, fd);
}
static inline int rsw_sys_getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
    return (int)syscall(SYS_getsockopt, fd, level, name, val, len);
}
static inline pid_t rsw_sys_gettid(void)
{
    return (pid_t)syscall(SYS_gettid);
}
#endif
