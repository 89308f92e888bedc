/* hooks_io.c: the generated wrappers of every byte-moving call in hooks.def.
 * Success path on a watched fd: a table lookup, a call, a counter add; nothing else. */
#include "shim.h"
#include "inject.h"

#define DIR_IN RSW_OP_IN
#define DIR_OUT RSW_OP_OUT
/* Only writes record themselves for the SIGPIPE handler ("which write"). */
#define ENTER_IN(fd, name)
#define LEAVE_IN()
#define ENTER_OUT(fd, name) (rsw_tls.wfd = (fd), rsw_tls.wcall = (name))
#define LEAVE_OUT() (rsw_tls.wfd = -1)
#define COUNTER_IN(e) (&(e)->bytes_in)
#define COUNTER_OUT(e) (&(e)->bytes_out)

#define RSW_IO(R, name, P, A, FD, dir, FLAGS, LEN)                                                 \
    RSW_EXPORT R name P                                                                          \
    {                                                                                            \
        struct rsw_fd *e = rsw_fdt_watched(FD);                                                  \
        if (RSW_UNLIKELY(e == NULL)) {                                                           \
            e = rsw_fd_adopt(FD, #name);                                                         \
            if (!e)                                                                              \
                return rsw_real.name A;                                                          \
        }                                                                                        \
        if (RSW_UNLIKELY(rsw_inject_armed)) {                                                    \
            long ir;                                                                             \
            if (rsw_inject_io(FD, e, #name, DIR_##dir, (FLAGS), (size_t)(LEN), &ir))             \
                return (R)ir;                                                                    \
        }                                                                                        \
        ENTER_##dir(FD, #name);                                                                  \
        R r = rsw_real.name A;                                                                   \
        LEAVE_##dir();                                                                           \
        if (RSW_LIKELY(r > 0 && !((FLAGS) & MSG_PEEK) && !rsw_io_all)) {                         \
            __atomic_fetch_add(COUNTER_##dir(e), (uint64_t)r, __ATOMIC_RELAXED);                 \
            return r;                                                                            \
        }                                                                                        \
        return (R)rsw_io_slow(FD, e, #name, DIR_##dir, (FLAGS), (size_t)(LEN), (ssize_t)r);      \
    }
#include "hooks.def"
