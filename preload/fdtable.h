/* fdtable.h: per-fd state, sized to the process fd limit, looked up without locks or syscalls. */
#ifndef RSW_FDTABLE_H
#define RSW_FDTABLE_H
#include <stddef.h>
#include <stdint.h>

enum rsw_fd_state { RSW_FD_UNKNOWN = 0, RSW_FD_IGNORED = 1, RSW_FD_WATCHED = 2, RSW_FD_BUSY = 3 };
enum rsw_family { RSW_FAM_NONE = 0, RSW_FAM_INET, RSW_FAM_INET6, RSW_FAM_UNIX, RSW_FAM_PIPE };
enum rsw_fd_flag {
    RSW_F_PENDING = 1 << 0,   /* non-blocking connect in progress */
    RSW_F_EOF = 1 << 1,       /* a read returned 0 (eof event written) */
    RSW_F_SHUT_WR = 1 << 2,   /* the program shut down its sending side */
    RSW_F_INJ_DEAD = 1 << 3,  /* an injected fault killed this connection (emulation) */
    RSW_F_TCP = 1 << 4,       /* TCP (TCP_INFO available) */
};

#define RSW_PEER_MAX 112

struct rsw_fd {
    uint32_t state;     /* enum rsw_fd_state; written with release, read with acquire */
    uint8_t family;     /* enum rsw_family */
    uint8_t flags;      /* enum rsw_fd_flag */
    uint16_t inj_err;   /* errno to keep returning after an emulated fault, else 0 */
    uint64_t conn;      /* connection id, unique within the process */
    uint64_t bytes_in;  /* updated with relaxed atomics */
    uint64_t bytes_out;
    uint64_t cookie;    /* SO_COOKIE, 0 when unknown */
    uint64_t inj_calls; /* per-connection call counter for injection rules */
    char peer[RSW_PEER_MAX];
};

#define RSW_FD_CHUNK_BITS 10
#define RSW_FD_CHUNK (1u << RSW_FD_CHUNK_BITS)

struct rsw_fdtable {
    struct rsw_fd **chunks; /* capacity / RSW_FD_CHUNK pointers, chunks mapped on first use */
    size_t nchunks;
};
extern struct rsw_fdtable rsw_fdt;

/* Size the table for fds below max_fds (normally /proc/sys/fs/nr_open). 0 on success. */
int rsw_fdt_init(size_t max_fds);
/* Entry for fd, creating its chunk if needed; NULL if fd is out of range or memory ran out. */
struct rsw_fd *rsw_fdt_slot(int fd);
/* Forget everything about fd (closed): back to UNKNOWN. */
void rsw_fdt_forget(int fd);
/* Highest fd + 1 the table can currently hold an entry for (chunks mapped). */
size_t rsw_fdt_mapped_limit(void);
uint64_t rsw_fdt_next_conn(void);

/* Hot path: the entry if fd is watched, else NULL. No syscall, lock or allocation. */
static inline struct rsw_fd *rsw_fdt_watched(int fd)
{
    unsigned u = (unsigned)fd;
    size_t ci = u >> RSW_FD_CHUNK_BITS;
    if (__builtin_expect(ci >= rsw_fdt.nchunks, 0))
        return NULL;
    struct rsw_fd *c = __atomic_load_n(&rsw_fdt.chunks[ci], __ATOMIC_ACQUIRE);
    if (__builtin_expect(c == NULL, 0))
        return NULL;
    struct rsw_fd *e = &c[u & (RSW_FD_CHUNK - 1)];
    return __atomic_load_n(&e->state, __ATOMIC_ACQUIRE) == RSW_FD_WATCHED ? e : NULL;
}
#endif
