/* conn_model.h: processes and connections, as the analyzer models them, and their state machine. */
#ifndef RSW_CONN_MODEL_H
#define RSW_CONN_MODEL_H
#include "rsw_schema.h"
#include "verdict.h"
#include <jansson.h>

/* A connection keeps at most this many timeline events; the rest are counted by kind. */
#define RSW_MAX_EVENTS 24
/* ... and at most this many error events (a loop writing after EPIPE makes thousands). */
#define RSW_MAX_ERROR_EVENTS 4

struct rsw_map;
struct rsw_modules;

struct rsw_proc {
    int input; /* the log it came from */
    long long pid, ppid;
    char *host, *exe, *origin;
    char *name;  /* what to call it: the start line's name (v2), else exe's base name */
    int started; /* its start line was read */
    char *mode;  /* v3 start line: "failures", "errors", "conn" or "all"; NULL before v3 */
    long long rate, log_max;     /* v3 start line: RSTWATCH_RATE, RSTWATCH_LOG_MAX; -1 unknown */
    struct rsw_modules *modules; /* module id → path and base (v2 logs) */
    struct rsw_map *stacks;      /* v3 stack id → its frames (a json array, one reference) */
    long long start_ts, last_ts;
    long long fork_ts;     /* the last fork of a child seen to start (RSW_NOTS: none) */
    int ended;             /* its log ended, it exec'd again, or SIGPIPE killed it */
    const char *killed_by; /* "SIGPIPE" or NULL */
    struct rsw_map *open;  /* conn id → struct rsw_conn * */
    struct rsw_proc *next;
};

enum rsw_conn_state { RSW_OPEN, RSW_WAITING, RSW_HELD };

struct rsw_conn {
    struct rsw_proc *proc;
    long long conn, fd;
    char *family, *role, *local, *peer;
    long long start_ts, end_ts;
    long long bytes_in, bytes_out;
    long long close_ts, close_bytes_in;
    int established;
    json_t *events;       /* stored EVENT objects (ts, ev, call, errno, ret, text, bt) */
    long long dropped;    /* events beyond the limits above */
    long long dropped_ts; /* the last one's time */
    int stored_errors;
    int connect_err_pending; /* a failed connect not (yet) followed by its error line */
    long long folded_dur;    /* the dur of the connect line an error line just replaced */
    json_t *dropped_kinds;   /* {"error EPIPE": n, ...} */
    json_t *errnos;          /* every error event's errno: {"EPIPE": n} */
    struct rsw_facts facts;  /* strings below are owned by the conn */
    char *own[6];
    enum rsw_conn_state state;
    struct rsw_conn *partner;
    char *tuple_key; /* set when indexed for both-ends matching */
    /* One socket is one connection, whichever processes hold it: a forked child inherits its
     * parent's fds, an exec'd one adopts them (same cookie). holders: the processes whose
     * `open` maps name this conn now; it ends when the last of them closes it or ends. pids:
     * every process that held it, in order (the first is proc's). */
    struct rsw_holder {
        struct rsw_proc *proc;
        long long id; /* its conn id there (an exec'd image numbers afresh) */
    } * holders;
    int nholders, aholders;
    long long pids[8];
    int npids;
    char *cookie_key; /* "host|cookie" once a line gave the socket's cookie */
    struct rsw_conn *hprev, *hnext;
};

/* A process image from its first line (a start line when is_start); free with rsw_proc_free. */
struct rsw_proc *rsw_proc_new(int input, const json_t *line, int is_start);
void rsw_proc_free(struct rsw_proc *p);

struct rsw_conn *rsw_conn_new(struct rsw_proc *p, long long id, long long ts);
void rsw_conn_free(struct rsw_conn *c);
/* Applies one log line of kind ev, written by process by (a holder), to the connection's state
 * and timeline. */
void rsw_conn_apply(struct rsw_conn *c, json_t *line, enum rsw_ev ev, const struct rsw_proc *by);
/* Process p holds a copy of c, as its conn id, from now on (no-op when it already does). */
void rsw_conn_hold(struct rsw_conn *c, struct rsw_proc *p, long long id);
/* Process p no longer holds c as conn id (id < 0: under any id); returns how many holders are
 * left. The same process can hold one socket twice (a dup'd fd). */
int rsw_conn_release(struct rsw_conn *c, const struct rsw_proc *p, long long id);
/* Another process (by) turned out to hold c after the close that ended it: that close was of
 * one copy only. */
void rsw_conn_revive(struct rsw_conn *c, const struct rsw_proc *by);
/* The close of one copy (by p) while other processes still hold c: a timeline event only, the
 * connection goes on. */
void rsw_conn_copy_closed(struct rsw_conn *c, json_t *line, const struct rsw_proc *p);
/* v3 "stack" line: remembers its frames under its id (a repeated id replaces them). */
void rsw_proc_add_stack(struct rsw_proc *p, const json_t *line);
/* The frames of stack id (borrowed), NULL when the log has no such stack line. */
json_t *rsw_proc_stack(const struct rsw_proc *p, long long id);
/* 1 when the process logged in a mode that writes no close for a connection whose connect
 * failed (v3 "failures" and "errors"): its error line is its last. */
int rsw_proc_connect_failure_ends(const struct rsw_proc *p);
/* A matchable TCP connection: inet/inet6, established, both addresses known. */
int rsw_conn_matchable(const struct rsw_conn *c);

#endif
