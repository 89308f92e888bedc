/* event.h: composes the log's events (README "Log format") from what a hook saw. */
#ifndef RSW_EVENT_H
#define RSW_EVENT_H
#include "fdtable.h"
#include "rsw_schema.h"
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Everything an event line may carry; unset fields are left out of the line. */
struct rsw_evinfo {
    enum rsw_ev ev;
    const char *call; /* function as the program called it */
    const char *op;   /* connect, accept, read, write, shutdown, close, sockopt */
    int fd;           /* -1: none */
    int lfd;          /* listening fd (accept), -1: none */
    struct rsw_fd *e; /* the connection, NULL: none (a close passes a copy) */
    int has_ret;
    long ret;
    int err;           /* errno, 0: none */
    const char *local; /* formatted local address, NULL: none */
    const char *how;   /* shutdown */
    int nonblock;      /* connect: -1 unknown, 0, 1 */
    int injected;      /* error caused by RSTWATCH_INJECT */
    int backtrace;     /* capture "bt" */
    int in_signal;     /* written from a signal handler: nothing that may take a lock */
    /* signal */
    const char *disposition, *action;
    /* inject */
    int rule;
    const char *spec, *outcome;
    /* a held line: its byte counters then, not now; by: made by that (parent) process */
    int bytes_then, by;
    uint64_t bytes_in, bytes_out;
    uint64_t ts; /* when it happened, if not now: a close is stamped before the call (0: now) */
    int64_t dur; /* how long a blocking call (connect) took, ns; -1: not measured */
};

#define RSW_EVINFO_INIT                                                                            \
    {                                                                                              \
        .fd = -1, .lfd = -1, .nonblock = -1, .dur = -1                                             \
    }

/* Is this event kind recorded (written, or held for a connection that may fail) at the
 * configured RSTWATCH_EVENTS level? */
int rsw_ev_wanted(enum rsw_ev ev);
/* Records one event: formats and writes its line (one write(2)), or, in failures mode, holds a
 * lifecycle event of a connection that has not failed (a clean close goes to the tallies) and
 * writes the held lines with the connection's first error. Storm control may count an error
 * or signal instead of writing it (storm.h). Async-signal-safe. */
void rsw_ev_emit(const struct rsw_evinfo *in);
/* Are lifecycle events written as they happen (conn, all), or held (failures)? */
int rsw_ev_eager(void);
/* After a dlclose: an "unload" line for each module whose line was written and is gone now. */
void rsw_ev_modules_changed(void);
/* At exit: the pending storm summaries and tallies, then the log's own last words. */
void rsw_ev_finish(void);
/* The start event: name, exe, argv, ppid, host. */
void rsw_ev_start(const char *origin);
/* The same, stamped at ts: a forked child's start is the moment its parent called fork, so
 * that it comes before anything the parent does after fork returns (its close of the copy). */
void rsw_ev_start_at(const char *origin, uint64_t ts);

/* Is err one of the connection-killing errnos the library reports (rsw_schema.def)? */
int rsw_errno_interesting(int err);

/* In a forked child: module and stack lines are written again; the parent's pending counts
 * are forgotten (they are the parent's to write). */
void rsw_ev_after_fork(void);
#endif
