/* hooks_io.c: the generated wrappers of every byte-moving call in hooks.def.
 *
 * The success path on a watched fd is a table lookup, the real call and one counter add:
 * everything else (first sight of an fd, 0-byte reads, MSG_PEEK, fault injection,
 * RSTWATCH_EVENTS=all, errors, EOF) branches to a cold variant or to rsw_io_after, so the hot
 * function keeps a single value (the entry) across the real call. Injection and "all" mode
 * switch the table the hot path looks in (rsw_fdt_slow_mode) instead of testing a flag. */
#include "inject.h"
#include "shim.h"

#define EXPAND(...) __VA_ARGS__
#define DIR_IN RSW_OP_IN
#define DIR_OUT RSW_OP_OUT
#define COUNTER_IN(e) (&(e)->bytes_in)
#define COUNTER_OUT(e) (&(e)->bytes_out)
/* A 0-byte read returning 0 is not EOF: such reads take the slow variant, which knows len. */
#define ZERO_LEN_IN(len) ((len) == 0)
#define ZERO_LEN_OUT(len) 0

#define RSW_IO(R, name, P, A, FD, dir, FLAGS, LEN)                                                 \
    __attribute__((noinline, cold)) static R name##_slow P                                         \
    {                                                                                              \
        struct rsw_guard g;                                                                        \
        if (!rsw_enter(&g)) {                                                                      \
            if (RSW_UNLIKELY(rsw_unwind_fd(FD)))                                                   \
                return (R)rsw_unwind_io(#name, EXPAND A);                                          \
            return rsw_real.name A;                                                                \
        }                                                                                          \
        struct rsw_fd *e = rsw_fdt_watched(FD);                                                    \
        if (!e && !(e = rsw_fd_adopt(FD, #name))) {                                                \
            rsw_leave(&g);                                                                         \
            return rsw_real.name A;                                                                \
        }                                                                                          \
        long ir;                                                                                   \
        R r;                                                                                       \
        if (rsw_inject_armed &&                                                                    \
            rsw_inject_io(FD, e, #name, DIR_##dir, (FLAGS), (size_t)(LEN), &ir))                   \
            r = (R)ir, g.err = errno;                                                              \
        else                                                                                       \
            r = RSW_REAL(&g, name A);                                                              \
        rsw_io_done(FD, e, #name, DIR_##dir, (FLAGS), (size_t)(LEN), (ssize_t)r, g.err);           \
        rsw_leave(&g);                                                                             \
        return r;                                                                                  \
    }                                                                                              \
    RSW_EXPORT R name P                                                                            \
    {                                                                                              \
        struct rsw_fd *e = rsw_fdt_hot(FD);                                                        \
        if (RSW_UNLIKELY(!e || ZERO_LEN_##dir(LEN) || ((FLAGS)&MSG_PEEK)))                         \
            return name##_slow A;                                                                  \
        R r = rsw_real.name A;                                                                     \
        if (RSW_LIKELY(r > 0)) {                                                                   \
            __atomic_fetch_add(COUNTER_##dir(e), (uint64_t)r, __ATOMIC_RELAXED);                   \
            return r;                                                                              \
        }                                                                                          \
        return (R)rsw_io_after(e, #name, DIR_##dir, (ssize_t)r);                                   \
    }
#include "hooks.def"

ssize_t rsw_io_after(struct rsw_fd *e, const char *call, enum rsw_op op, ssize_t r)
{
    struct rsw_guard g;
    if (rsw_enter(&g)) {
        rsw_io_done(e->fd, e, call, op, 0, 1, r, g.err);
        rsw_leave(&g);
    }
    return r;
}
