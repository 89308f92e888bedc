/* guard.h: the rules every shim follows, in one place (docs/HACKING.md "Enter and leave").
 *
 *   struct rsw_guard g;
 *   if (!rsw_enter(&g))                     // not started, re-entered, or in a vfork child
 *       return rsw_real.close(fd);          //   -> straight through, nothing touched
 *   ...                                     // library work (depth raised: nested hooks pass)
 *   int r = RSW_REAL(&g, close(fd));        // the real call: depth lowered, errno as the
 *                                           //   program left it; its errno kept in g.err
 *   ...                                     // more library work (errno may be clobbered)
 *   return rsw_leave(&g), r;                // depth back, errno = the real call's
 *
 * The library's own work never runs a hooked function (it uses sys.h), so "depth > 0" means
 * "the library is working in this thread": then, and only then, libunwind's fake pipe is
 * answered (unwind_pipe.c) and nested hooks pass straight through. */
#ifndef RSW_GUARD_H
#define RSW_GUARD_H
#include "real.h"
#include <errno.h>
#include <sys/types.h>

/* Per-thread state (initial-exec TLS: no allocation, usable in a signal handler). */
struct rsw_tls {
    int depth;      /* >0 while the library itself is working */
    int in_loader;  /* >0 inside dlopen/dlclose: the loader's lock may be held (no unwinding) */
    pid_t vfork_of; /* set by vfork(): the pid that called it; see rsw_vfork_child() */
};
extern __thread struct rsw_tls rsw_tls __attribute__((tls_model("initial-exec"))) RSW_HIDDEN;

/* Set (release) once the start sequence has finished. */
extern int rsw_ready RSW_HIDDEN;
/* The start sequence (init.c): resolves the real functions and, once, starts the library.
 * Every hook reaches it through rsw_enter; callable before the constructor ran. */
void rsw_init(void) RSW_HIDDEN;
/* Is this thread running as a vfork child (sharing its parent's memory)? Clears the mark once
 * the parent runs again. Costs a syscall only between a vfork and the parent's next hook. */
int rsw_vfork_child(void) RSW_HIDDEN;

struct rsw_guard {
    int err; /* errno to leave with */
    int on;  /* 1: this shim raised depth and may act */
};

static inline int rsw_enter(struct rsw_guard *g)
{
    g->err = errno;
    if (RSW_UNLIKELY(!__atomic_load_n(&rsw_ready, __ATOMIC_ACQUIRE)))
        rsw_init();
    g->on = !rsw_tls.depth && __atomic_load_n(&rsw_ready, __ATOMIC_ACQUIRE) &&
            !(RSW_UNLIKELY(rsw_tls.vfork_of) && rsw_vfork_child());
    rsw_tls.depth += g->on;
    errno = g->err;
    return g->on;
}

/* The real call inside an entered shim: RSW_REAL(&g, close(fd)). */
#define RSW_REAL(g, ...)                                                                           \
    __extension__({                                                                                \
        rsw_tls.depth -= (g)->on;                                                                  \
        errno = (g)->err;                                                                          \
        __auto_type r_ = rsw_real.__VA_ARGS__;                                                     \
        (g)->err = errno;                                                                          \
        rsw_tls.depth += (g)->on;                                                                  \
        r_;                                                                                        \
    })

static inline void rsw_leave(struct rsw_guard *g)
{
    rsw_tls.depth -= g->on;
    errno = g->err;
}

/* For library work outside a shim (the SIGPIPE handler, the start sequence): depth only. */
static inline void rsw_busy(void)
{
    rsw_tls.depth++;
}
static inline void rsw_idle(void)
{
    rsw_tls.depth--;
}
#endif
