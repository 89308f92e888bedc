/* match.h: both-ends matching (the two sides of one TCP connection) and peer-restart detection. */
#ifndef RSW_MATCH_H
#define RSW_MATCH_H
#include "conn_model.h"

/* Clock skew and accept delay tolerated between the two ends' lifetimes: 2 s. A finished,
 * unmatched connection also stays in the tuple map this long (log time) waiting for its other
 * end: on loopback a server can accept and close before the client's connect() returns and is
 * logged, and a busy machine can delay either side's log line. */
#define RSW_MATCH_WINDOW 2000000000LL

struct rsw_matcher {
    struct rsw_map *tuples; /* "local|peer" → the newest conn with that 4-tuple */
    long long window;
};

void rsw_match_init(struct rsw_matcher *m);
void rsw_match_free(struct rsw_matcher *m);
/* 1 if a and b can be the two ends of one connection: a's local is b's peer and vice versa, and
 * their lifetimes overlap or lie within the window of each other (an open end has no end yet;
 * either end may have finished already, e.g. a server that accepted and closed before the
 * client's connect was logged). */
int rsw_match_compatible(const struct rsw_conn *a, const struct rsw_conn *b, long long window);
/* Indexes a matchable conn and links it to its other end when that is known and unlinked.
 * Returns the partner it was linked to, or NULL. Safe to call again (no-op once indexed). */
struct rsw_conn *rsw_match_add(struct rsw_matcher *m, struct rsw_conn *c);
/* Forgets c (before freeing it). */
void rsw_match_remove(struct rsw_matcher *m, struct rsw_conn *c);
/* Fills x's peer facts from its other end y. */
void rsw_match_peer_facts(struct rsw_conn *x, const struct rsw_conn *y);
/* The first new process image with server's host and exe that started while x was open and
 * no later than x's first error: the peer restarted under x. procs: every process seen. */
const struct rsw_proc *rsw_match_restart(const struct rsw_conn *x, const struct rsw_proc *server,
                                         const struct rsw_proc *procs);

#endif
