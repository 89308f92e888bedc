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
    const char *call;       /* function as the program called it */
    const char *op;         /* connect, accept, read, write, shutdown, close, sockopt */
    int fd;                 /* -1: none */
    int lfd;                /* listening fd (accept), -1: none */
    const struct rsw_fd *e; /* the connection, NULL: none */
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
};

#define RSW_EVINFO_INIT                                                                            \
    {                                                                                              \
        .fd = -1, .lfd = -1, .nonblock = -1                                                        \
    }

/* Is this event kind written at the configured RSTWATCH_EVENTS level? */
int rsw_ev_wanted(enum rsw_ev ev);
/* Formats and writes one line (one write(2)); async-signal-safe. */
void rsw_ev_emit(const struct rsw_evinfo *in);
/* The start event: name, exe, argv, ppid, host. */
void rsw_ev_start(const char *origin);

/* Is err one of the connection-killing errnos the library reports (rsw_schema.def)? */
int rsw_errno_interesting(int err);

/* In a forked child: forgets the cached thread id; module lines are written again. */
void rsw_ev_after_fork(void);
#endif
