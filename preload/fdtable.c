/* fdtable.c: the fd table: a static pointer array over fixed-size chunks, each chunk mapped
 * on first use; a second, never-written pointer array is the "slow mode" view. */
#include "fdtable.h"
#include "sys.h"
#include <string.h>
#include <sys/mman.h>

static struct rsw_fd *top_real[RSW_FD_TOP];
static struct rsw_fd *top_empty[RSW_FD_TOP]; /* all NULL, forever */
struct rsw_fdtable rsw_fdt = {top_real, top_real, (size_t)1 << 20, 0};
static uint64_t rsw_conn_counter;

int rsw_fdt_init(size_t max_fds)
{
    rsw_fdt.max_fds = max_fds;
    return 0;
}

void rsw_fdt_slow_mode(int on)
{
    __atomic_store_n(&rsw_fdt.hot, on ? top_empty : top_real, __ATOMIC_RELEASE);
}

struct rsw_fd *rsw_fdt_slot(int fd)
{
    unsigned u = (unsigned)fd;
    size_t ci = u >> RSW_FD_CHUNK_BITS;
    if (fd < 0 || (size_t)fd >= rsw_fdt.max_fds)
        return NULL;
    struct rsw_fd *c = __atomic_load_n(&top_real[ci], __ATOMIC_ACQUIRE);
    if (!c) {
        /* a raw mmap: this may run in the SIGPIPE handler (an fd first seen there) */
        long m =
            rsw_syscall(SYS_mmap, NULL, RSW_FD_CHUNK * sizeof(struct rsw_fd),
                        PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (m == -1)
            return NULL;
        void *p = (void *)m;
        struct rsw_fd *expected = NULL;
        if (__atomic_compare_exchange_n(&top_real[ci], &expected, (struct rsw_fd *)p, 0,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            c = p;
            size_t end = __atomic_load_n(&rsw_fdt.chunks_end, __ATOMIC_RELAXED);
            while (end < ci + 1 &&
                   !__atomic_compare_exchange_n(&rsw_fdt.chunks_end, &end, ci + 1, 1,
                                                __ATOMIC_RELAXED, __ATOMIC_RELAXED))
                ;
        } else { /* another thread mapped it first */
            rsw_syscall(SYS_munmap, p, RSW_FD_CHUNK * sizeof(struct rsw_fd));
            c = expected;
        }
    }
    struct rsw_fd *e = &c[u & (RSW_FD_CHUNK - 1)];
    /* Pairs with the release store of whoever last closed this fd (rsw_fdt_forget) after
     * reading the entry: that reading happens before this write. */
    (void)__atomic_load_n(&e->state, __ATOMIC_ACQUIRE);
    e->fd = fd;
    return e;
}

void rsw_fdt_forget(int fd)
{
    unsigned u = (unsigned)fd;
    if (fd < 0)
        return;
    struct rsw_fd *c = __atomic_load_n(&top_real[u >> RSW_FD_CHUNK_BITS], __ATOMIC_ACQUIRE);
    if (c)
        __atomic_store_n(&c[u & (RSW_FD_CHUNK - 1)].state, RSW_FD_UNKNOWN, __ATOMIC_RELEASE);
}

size_t rsw_fdt_mapped_limit(void)
{
    return __atomic_load_n(&rsw_fdt.chunks_end, __ATOMIC_RELAXED) * RSW_FD_CHUNK;
}

uint64_t rsw_fdt_next_conn(void)
{
    return __atomic_add_fetch(&rsw_conn_counter, 1, __ATOMIC_RELAXED);
}
