/* match.c: pairs the client's and the server's view of one TCP connection; spots peer restarts. */
#include "match.h"
#include "map.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rsw_match_init(struct rsw_matcher *m)
{
    m->tuples = rsw_map_new();
    m->window = RSW_MATCH_WINDOW;
}

void rsw_match_free(struct rsw_matcher *m)
{
    rsw_map_free(m->tuples);
    m->tuples = NULL;
}

static char *make_key(const char *a, const char *b)
{
    char *k;
    if (asprintf(&k, "%s|%s", a, b) < 0)
        abort();
    return k;
}

static long long end_or_open(const struct rsw_conn *c)
{
    return c->state == RSW_OPEN ? LLONG_MAX : c->end_ts;
}

int rsw_match_compatible(const struct rsw_conn *a, const struct rsw_conn *b, long long window)
{
    if (a == b || a->partner || b->partner)
        return 0;
    if (!rsw_conn_matchable(a) || !rsw_conn_matchable(b))
        return 0;
    if (strcmp(a->local, b->peer) != 0 || strcmp(a->peer, b->local) != 0)
        return 0;
    long long ae = end_or_open(a), be = end_or_open(b);
    if (ae != LLONG_MAX && b->start_ts > ae + window)
        return 0;
    if (be != LLONG_MAX && a->start_ts > be + window)
        return 0;
    return 1;
}

struct rsw_conn *rsw_match_add(struct rsw_matcher *m, struct rsw_conn *c)
{
    if (c->tuple_key || !rsw_conn_matchable(c))
        return NULL;
    char *rev = make_key(c->peer, c->local);
    struct rsw_conn *other = rsw_map_get(m->tuples, rev);
    free(rev);
    c->tuple_key = make_key(c->local, c->peer);
    rsw_map_set(m->tuples, c->tuple_key, c);
    if (other && rsw_match_compatible(c, other, m->window)) {
        c->partner = other;
        other->partner = c;
        return other;
    }
    return NULL;
}

void rsw_match_remove(struct rsw_matcher *m, struct rsw_conn *c)
{
    if (c->tuple_key && rsw_map_get(m->tuples, c->tuple_key) == c)
        rsw_map_set(m->tuples, c->tuple_key, NULL);
    if (c->partner && c->partner->partner == c)
        c->partner->partner = NULL;
    c->partner = NULL;
}

void rsw_match_peer_facts(struct rsw_conn *x, const struct rsw_conn *y)
{
    struct rsw_facts *f = &x->facts;
    if (!y) {
        f->have_peer = 0;
        return;
    }
    f->have_peer = 1;
    long long closed = y->close_ts;
    if (y->facts.shut_wr_ts != RSW_NOTS && (closed == RSW_NOTS || y->facts.shut_wr_ts < closed))
        closed = y->facts.shut_wr_ts;
    if (closed == RSW_NOTS && y->proc && y->proc->killed_by)
        closed = y->end_ts; /* the kernel closed it when the process died */
    f->peer_bytes_in = y->close_bytes_in >= 0 ? y->close_bytes_in : y->bytes_in;
    /* Causality: the FIN we read, or the RST or EPIPE our write met, came from the peer's close
     * (when the peer's own log has no error: a reset both ends met is not the close's doing). A
     * close logged after its effect means the two logs' times disagree (another host's clock,
     * or a time taken when the call returned): the close is taken as that much earlier. */
    long long effect = f->eof_ts;
    enum rsw_errclass cls = rsw_errclass_of_name(f->err_errno);
    if ((cls == RSW_EC_RESET || cls == RSW_EC_PIPE) && f->err_ts != RSW_NOTS &&
        (effect == RSW_NOTS || f->err_ts < effect))
        effect = f->err_ts;
    f->peer_skew = 0;
    if (closed != RSW_NOTS && effect != RSW_NOTS && closed > effect && y->facts.n_errors == 0 &&
        closed - effect < RSW_MATCH_WINDOW)
        f->peer_skew = closed - effect + 1;
    f->peer_close_ts = closed == RSW_NOTS ? RSW_NOTS : closed - f->peer_skew;
}

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

const struct rsw_proc *rsw_match_restart(const struct rsw_conn *x, const struct rsw_proc *server,
                                         const struct rsw_proc *procs)
{
    if (!server || !server->exe)
        return NULL;
    long long until = x->facts.err_ts != RSW_NOTS ? x->facts.err_ts : x->end_ts;
    for (const struct rsw_proc *p = procs; p; p = p->next) {
        if (p == x->proc || (p->origin && strcmp(p->origin, "fork") == 0))
            continue;
        if (!same_str(p->exe, server->exe) || !same_str(p->host, server->host))
            continue;
        if (p->start_ts > x->start_ts && p->start_ts <= until)
            return p;
    }
    return NULL;
}
