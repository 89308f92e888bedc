/* fdtable.c: the fd table: a pointer array over fixed-size chunks, each mapped on first use. */
#include "fdtable.h"
#include <string.h>
#include <sys/mman.h>

struct rsw_fdtable rsw_fdt;
static uint64_t rsw_conn_counter;

int rsw_fdt_init(size_t max_fds)
{
    if (rsw_fdt.chunks)
        return 0;
    size_t n = (max_fds + RSW_FD_CHUNK - 1) / RSW_FD_CHUNK;
    if (n == 0)
        n = 1;
    void *p = mmap(NULL, n * sizeof(struct rsw_fd *), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return -1;
    rsw_fdt.chunks = p;
    __atomic_store_n(&rsw_fdt.nchunks, n, __ATOMIC_RELEASE);
    return 0;
}

struct rsw_fd *rsw_fdt_slot(int fd)
{
    unsigned u = (unsigned)fd;
    size_t ci = u >> RSW_FD_CHUNK_BITS;
    if (fd < 0 || ci >= rsw_fdt.nchunks)
        return NULL;
    struct rsw_fd *c = __atomic_load_n(&rsw_fdt.chunks[ci], __ATOMIC_ACQUIRE);
    if (!c) {
        void *p = mmap(NULL, RSW_FD_CHUNK * sizeof(struct rsw_fd), PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return NULL;
        struct rsw_fd *expected = NULL;
        if (__atomic_compare_exchange_n(&rsw_fdt.chunks[ci], &expected, (struct rsw_fd *)p, 0,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            c = p;
        } else { /* another thread mapped it first */
            munmap(p, RSW_FD_CHUNK * sizeof(struct rsw_fd));
            c = expected;
        }
    }
    return &c[u & (RSW_FD_CHUNK - 1)];
}

void rsw_fdt_forget(int fd)
{
    unsigned u = (unsigned)fd;
    size_t ci = u >> RSW_FD_CHUNK_BITS;
    if (fd < 0 || ci >= rsw_fdt.nchunks)
        return;
    struct rsw_fd *c = __atomic_load_n(&rsw_fdt.chunks[ci], __ATOMIC_ACQUIRE);
    if (c)
        __atomic_store_n(&c[u & (RSW_FD_CHUNK - 1)].state, RSW_FD_UNKNOWN, __ATOMIC_RELEASE);
}

size_t rsw_fdt_mapped_limit(void)
{
    size_t n = rsw_fdt.nchunks;
    while (n > 0 && !__atomic_load_n(&rsw_fdt.chunks[n - 1], __ATOMIC_ACQUIRE))
        n--;
    return n * RSW_FD_CHUNK;
}

uint64_t rsw_fdt_next_conn(void)
{
    return __atomic_add_fetch(&rsw_conn_counter, 1, __ATOMIC_RELAXED);
}
