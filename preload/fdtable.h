/* fdtable.h: per-fd state for every possible fd number, looked up without locks or syscalls. */
#ifndef RSW_FDTABLE_H
#define RSW_FDTABLE_H
#include "rsw_schema.h"
#include <stddef.h>
#include <stdint.h>

#ifndef RSW_HIDDEN
#define RSW_HIDDEN __attribute__((visibility("hidden")))
#endif

enum rsw_fd_state { RSW_FD_UNKNOWN = 0, RSW_FD_IGNORED = 1, RSW_FD_WATCHED = 2, RSW_FD_BUSY = 3 };

enum rsw_fd_flag {
    RSW_F_PENDING = 1 << 0,  /* non-blocking connect in progress */
    RSW_F_EOF = 1 << 1,      /* a read returned 0 (eof event written or held) */
    RSW_F_CONNFAIL = 1 << 2, /* its connect failed: nothing more happens on it */
    RSW_F_INJ_DEAD = 1 << 3, /* an injected fault killed this connection (emulation) */
    RSW_F_TCP = 1 << 4,      /* TCP (TCP_INFO available) */
    RSW_F_ACTIVE = 1 << 5,   /* the program connected it (its SYN counts in bytes_acked) */
    RSW_F_SHOWN = 1 << 6,    /* failures mode: its lifecycle is in the log, later events too */
    RSW_F_ERRED = 1 << 7,    /* an error or SIGPIPE met it (written or suppressed) */
};

/* A lifecycle event not written yet (RSTWATCH_EVENTS=failures): what its line needs. */
struct rsw_held {
    uint64_t ts, seq; /* when it happened, and its line number then */
    const char *call; /* NULL: none held */
    uint64_t in, out; /* byte counters at that moment */
    int64_t dur;      /* connect: how long it blocked, ns; -1: not measured */
    int32_t ret, err; /* has_ret: ret != INT32_MIN */
    int32_t lfd;      /* accept */
    int32_t tid;      /* the thread it happened on */
    int32_t pid;      /* the process: a forked child inherits the parent's held lines */
    int8_t nonblock;  /* connect: -1 unknown */
    uint8_t ev;       /* enum rsw_ev */
    uint8_t how;      /* shutdown: SHUT_RD/WR/RDWR + 1 */
};

enum rsw_hold_slot {
    RSW_HOLD_OPEN,
    RSW_HOLD_CONNECTED,
    RSW_HOLD_SHUTDOWN,
    RSW_HOLD_EOF,
    RSW_HOLD_N
};

#define RSW_PEER_MAX 112

struct rsw_fd {
    uint32_t state;   /* enum rsw_fd_state; written with release, read with acquire */
    uint8_t family;   /* enum rsw_family */
    uint8_t flags;    /* enum rsw_fd_flag */
    uint16_t inj_err; /* emulated pending error (UNIX reset), taken by the next read, else 0 */
    int32_t fd;       /* the fd number this entry describes */
    uint32_t pad;
    uint64_t conn;     /* connection id, unique within the process */
    uint64_t bytes_in; /* updated with relaxed atomics */
    uint64_t bytes_out;
    uint64_t cookie;    /* SO_COOKIE, 0 when unknown */
    uint64_t inj_rules; /* injection rules applying to the connection (inject.c), 0: unknown */
    char peer[RSW_PEER_MAX];
    char local[RSW_PEER_MAX]; /* formatted local address, "" until known */
    struct rsw_held held[RSW_HOLD_N];
};

/* 65536 fds a chunk (mapped on first use; only the pages of fds in use get memory). The top
 * level covers every unsigned 32-bit value, negative fds included, so lookups need no bound
 * check: 65536 pointers, static. */
#define RSW_FD_CHUNK_BITS 16
#define RSW_FD_CHUNK (1u << RSW_FD_CHUNK_BITS)
#define RSW_FD_TOP ((size_t)1 << (32 - RSW_FD_CHUNK_BITS))

struct rsw_fdtable {
    struct rsw_fd **top; /* RSW_FD_TOP chunk pointers */
    struct rsw_fd **hot; /* what the I/O wrappers look in: top, or an empty top (slow mode) */
    size_t max_fds;      /* fds at or above this are never watched */
    size_t chunks_end;   /* 1 + highest chunk index mapped */
};
extern struct rsw_fdtable rsw_fdt RSW_HIDDEN;

/* Size the table for fds below max_fds (normally /proc/sys/fs/nr_open). 0 on success. */
int rsw_fdt_init(size_t max_fds);
/* Slow mode: every I/O call takes the slow path (fault injection, RSTWATCH_EVENTS=all). */
void rsw_fdt_slow_mode(int on);
/* Entry for fd, creating its chunk if needed; NULL if fd is out of range or memory ran out. */
struct rsw_fd *rsw_fdt_slot(int fd);
/* Forget everything about fd (closed): back to UNKNOWN. */
void rsw_fdt_forget(int fd);
/* 1 + the highest fd the table can currently hold an entry for (chunks mapped). */
size_t rsw_fdt_mapped_limit(void);
uint64_t rsw_fdt_next_conn(void);

static inline struct rsw_fd *rsw_fdt_in(struct rsw_fd **top, int fd)
{
    unsigned u = (unsigned)fd;
    struct rsw_fd *c = __atomic_load_n(&top[u >> RSW_FD_CHUNK_BITS], __ATOMIC_ACQUIRE);
    if (__builtin_expect(c == NULL, 0))
        return NULL;
    struct rsw_fd *e = &c[u & (RSW_FD_CHUNK - 1)];
    return __atomic_load_n(&e->state, __ATOMIC_ACQUIRE) == RSW_FD_WATCHED ? e : NULL;
}

/* The entry if fd is watched, else NULL. No syscall, lock or allocation. */
static inline struct rsw_fd *rsw_fdt_watched(int fd)
{
    return rsw_fdt_in(rsw_fdt.top, fd);
}

/* The I/O wrappers' lookup: as rsw_fdt_watched, but always NULL in slow mode. */
static inline struct rsw_fd *rsw_fdt_hot(int fd)
{
    return rsw_fdt_in(rsw_fdt.hot, fd);
}
#endif
