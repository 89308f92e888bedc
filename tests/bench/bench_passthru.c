/* bench_passthru.c: the reference point for the instruction count: a minimal LD_PRELOAD interposer
 * of read and write that only adds the bytes moved to a counter. */
#include <dlfcn.h>
#include <unistd.h>

static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_write)(int, const void *, size_t);
static unsigned long long bytes_in, bytes_out;

__attribute__((constructor)) static void resolve(void)
{
    real_read = (ssize_t(*)(int, void *, size_t))dlsym(RTLD_NEXT, "read");
    real_write = (ssize_t(*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
}

__attribute__((visibility("default"))) ssize_t read(int fd, void *buf, size_t n)
{
    ssize_t r = real_read(fd, buf, n);
    if (r > 0)
        __atomic_fetch_add(&bytes_in, (unsigned long long)r, __ATOMIC_RELAXED);
    return r;
}

__attribute__((visibility("default"))) ssize_t write(int fd, const void *buf, size_t n)
{
    ssize_t r = real_write(fd, buf, n);
    if (r > 0)
        __atomic_fetch_add(&bytes_out, (unsigned long long)r, __ATOMIC_RELAXED);
    return r;
}
