/* counts.c: sums a v3 log's suppressed, tally, lost and log_max lines for the summary. */
#include "counts.h"
#include "jsonutil.h"
#include "map.h"
#include "symbolize.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define K(ID) RSW_KEY(ID)

/* Entries in first-seen order, found by key. */
struct group {
    struct rsw_map *byKey; /* key → json_t * (borrowed from arr) */
    json_t *arr;
};

struct rsw_counts {
    struct group supp, tallies, lost;
};

static void group_init(struct group *g)
{
    g->byKey = rsw_map_new();
    g->arr = json_array();
}

static void group_free(struct group *g)
{
    rsw_map_free(g->byKey);
    json_decref(g->arr);
}

/* The entry of key, made by calling make() when it is new. */
static json_t *group_get(struct group *g, const char *key, json_t *(*make)(void *), void *arg)
{
    json_t *e = rsw_map_get(g->byKey, key);
    if (!e) {
        e = make(arg);
        json_array_append_new(g->arr, e);
        rsw_map_set(g->byKey, key, e);
    }
    return e;
}

struct rsw_counts *rsw_counts_new(void)
{
    struct rsw_counts *c = calloc(1, sizeof(*c));
    if (!c)
        abort();
    group_init(&c->supp);
    group_init(&c->tallies);
    group_init(&c->lost);
    return c;
}

void rsw_counts_free(struct rsw_counts *c)
{
    if (!c)
        return;
    group_free(&c->supp);
    group_free(&c->tallies);
    group_free(&c->lost);
    free(c);
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* Adds a line's count field to the entry's, and widens its time range. */
static void add_span(json_t *e, const json_t *line)
{
    long long first = rsw_jint(line, K(FIRST_TS), -1), last = rsw_jint(line, K(LAST_TS), -1);
    long long ef = rsw_jint(e, "first_ts", -1), el = rsw_jint(e, "last_ts", -1);
    if (first >= 0 && (ef < 0 || first < ef))
        json_object_set_new(e, "first_ts", json_integer(first));
    if (last >= 0 && last > el)
        json_object_set_new(e, "last_ts", json_integer(last));
    rsw_jcount(e, "lines", 1);
}

static void add_pid(json_t *e, long long pid)
{
    json_t *pids = json_object_get(e, "pids");
    size_t i;
    json_t *x;
    json_array_foreach(pids, i, x) if (json_integer_value(x) == pid) return;
    json_array_append_new(pids, json_integer(pid));
}

/* A non-negative count field of a line (a missing or negative one counts 0). */
static long long count_of(const json_t *line, const char *key)
{
    long long n = rsw_jint(line, key, 0);
    return n > 0 ? n : 0;
}

struct supp_arg {
    const json_t *line;
    const char *site;
    json_t *frames;
    long long rate;
};

static json_t *make_supp(void *arg)
{
    struct supp_arg *a = arg;
    int sig = strcmp(rsw_jstr(a->line, K(OF), "error"), "signal") == 0;
    json_t *e = json_object();
    json_object_set_new(e, "of", json_string(sig ? "signal" : "error"));
    json_object_set_new(e, "errno",
                        sig ? json_null() : json_string(rsw_jstr(a->line, K(ERRNO), "?")));
    json_object_set_new(e, "sig",
                        sig ? json_string(rsw_jstr(a->line, K(SIG), "SIGPIPE")) : json_null());
    json_object_set_new(e, "call", str_or_null(rsw_jstr(a->line, K(CALL), NULL)));
    json_object_set_new(e, "op", str_or_null(rsw_jstr(a->line, K(OP), NULL)));
    json_object_set_new(e, "site", str_or_null(a->site));
    json_object_set_new(e, "count", json_integer(0));
    json_object_set_new(e, "conns", json_integer(0));
    json_object_set_new(e, "first_ts", json_null());
    json_object_set_new(e, "last_ts", json_null());
    json_object_set_new(e, "rate", a->rate >= 0 ? json_integer(a->rate) : json_null());
    json_object_set_new(e, "pids", json_array());
    json_object_set_new(e, "lines", json_integer(0));
    if (a->frames)
        json_object_set(e, "bt", a->frames);
    return e;
}

void rsw_counts_suppressed(struct rsw_counts *c, const struct rsw_proc *p, const json_t *line,
                           json_t *frames, long long missing_stack)
{
    char site[600] = "", key[1024];
    json_t *fr = frames ? rsw_sym_site_frame(frames) : NULL;
    if (fr)
        rsw_sym_site(fr, site, sizeof site);
    else if (missing_stack >= 0)
        snprintf(site, sizeof site, "a stack not in the log (pid %lld, id %lld)", p->pid,
                 missing_stack);
    int sig = strcmp(rsw_jstr(line, K(OF), "error"), "signal") == 0;
    snprintf(key, sizeof key, "%s|%s|%s|%s", sig ? "signal" : "error",
             sig ? rsw_jstr(line, K(SIG), "SIGPIPE") : rsw_jstr(line, K(ERRNO), "?"),
             rsw_jstr(line, K(CALL), ""), site);
    struct supp_arg a = {line, *site ? site : NULL, frames, p->rate};
    json_t *e = group_get(&c->supp, key, make_supp, &a);
    rsw_jcount(e, "count", count_of(line, K(COUNT)));
    rsw_jcount(e, "conns", count_of(line, K(CONNS)));
    if (rsw_jint(e, "rate", -1) != p->rate) /* processes of one site ran with other rates */
        json_object_set_new(e, "rate", json_null());
    add_pid(e, p->pid);
    add_span(e, line);
}

struct tally_arg {
    const json_t *line;
    int server;
    const char *addr;
};

static json_t *make_tally(void *arg)
{
    struct tally_arg *a = arg;
    json_t *e = json_object();
    json_object_set_new(e, "role", json_string(rsw_jstr(a->line, K(ROLE), "?")));
    json_object_set_new(e, "family", str_or_null(rsw_jstr(a->line, K(FAMILY), NULL)));
    json_object_set_new(e, "peer", a->server ? json_null() : json_string(a->addr));
    json_object_set_new(e, "local", a->server ? json_string(a->addr) : json_null());
    json_object_set_new(e, "connections", json_integer(0));
    json_object_set_new(e, "bytes_in", json_integer(0));
    json_object_set_new(e, "bytes_out", json_integer(0));
    json_object_set_new(e, "first_ts", json_null());
    json_object_set_new(e, "last_ts", json_null());
    json_object_set_new(e, "pids", json_array());
    json_object_set_new(e, "lines", json_integer(0));
    return e;
}

void rsw_counts_tally(struct rsw_counts *c, const struct rsw_proc *p, const json_t *line)
{
    const char *role = rsw_jstr(line, K(ROLE), "?");
    int server = strcmp(role, "server") == 0;
    /* the key: the peer of a client, the local (listening) address of a server */
    const char *addr = rsw_jstr(line, server ? K(LOCAL) : K(PEER), NULL);
    if (!addr)
        addr = rsw_jstr(line, server ? K(PEER) : K(LOCAL), "?");
    char key[600];
    snprintf(key, sizeof key, "%s|%s", role, addr);
    struct tally_arg a = {line, server, addr};
    json_t *e = group_get(&c->tallies, key, make_tally, &a);
    rsw_jcount(e, "connections", count_of(line, K(CONNS)));
    rsw_jcount(e, "bytes_in", count_of(line, K(BYTES_IN)));
    rsw_jcount(e, "bytes_out", count_of(line, K(BYTES_OUT)));
    add_pid(e, p->pid);
    add_span(e, line);
}

struct lost_arg {
    const struct rsw_proc *p;
    const char *reason, *err, *path;
};

static json_t *make_lost(void *arg)
{
    struct lost_arg *a = arg;
    json_t *e = json_object();
    json_object_set_new(e, "pid", json_integer(a->p->pid));
    json_object_set_new(e, "name", str_or_null(a->p->name));
    json_object_set_new(e, "log", json_string(a->path));
    json_object_set_new(e, "reason", json_string(a->reason));
    if (a->err)
        json_object_set_new(e, "errno", json_string(a->err));
    if (strcmp(a->reason, "log_max") == 0)
        json_object_set_new(e, "log_max",
                            a->p->log_max > 0 ? json_integer(a->p->log_max) : json_null());
    json_object_set_new(e, "events", json_null()); /* null: not counted (no lost line) */
    return e;
}

void rsw_counts_lost(struct rsw_counts *c, const struct rsw_proc *p, const json_t *line,
                     enum rsw_ev ev, const char *path)
{
    const char *reason = ev == RSW_EV_LOG_MAX ? "log_max" : rsw_jstr(line, K(REASON), "?");
    const char *err = strcmp(reason, "log_max") ? rsw_jstr(line, K(ERRNO), NULL) : NULL;
    char key[600];
    /* one entry per process image (several may share a pid: exec) and cause */
    snprintf(key, sizeof key, "%p|%s|%s", (const void *)p, reason, err ? err : "");
    struct lost_arg a = {p, reason, err, path};
    json_t *e = group_get(&c->lost, key, make_lost, &a);
    if (ev == RSW_EV_LOG_MAX) {
        if (rsw_jint(line, K(LOG_MAX), 0) > 0)
            json_object_set_new(e, "log_max", json_integer(rsw_jint(line, K(LOG_MAX), 0)));
        return;
    }
    json_object_set_new(e, "events",
                        json_integer(rsw_jint(e, "events", 0) + count_of(line, K(EVENTS))));
}

static int cmp_supp(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    long long cx = rsw_jint(x, "count", 0), cy = rsw_jint(y, "count", 0);
    if (cx != cy)
        return cx > cy ? -1 : 1;
    int r = strcmp(rsw_jstr(x, "site", ""), rsw_jstr(y, "site", ""));
    return r ? r : strcmp(rsw_jstr(x, "call", ""), rsw_jstr(y, "call", ""));
}

static int cmp_tally(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    long long cx = rsw_jint(x, "connections", 0), cy = rsw_jint(y, "connections", 0);
    if (cx != cy)
        return cx > cy ? -1 : 1;
    int r = strcmp(rsw_jstr(x, "role", ""), rsw_jstr(y, "role", ""));
    if (r)
        return r;
    const char *kx = rsw_jstr(x, "peer", rsw_jstr(x, "local", ""));
    const char *ky = rsw_jstr(y, "peer", rsw_jstr(y, "local", ""));
    return strcmp(kx, ky);
}

static int cmp_int(const void *a, const void *b)
{
    json_int_t x = json_integer_value(*(json_t *const *)a);
    json_int_t y = json_integer_value(*(json_t *const *)b);
    return x < y ? -1 : x > y;
}

/* A copy of arr sorted by cmp (NULL: kept in first-seen order), the pids list of each entry
 * sorted too. */
static json_t *sorted(json_t *arr, int (*cmp)(const void *, const void *))
{
    size_t n = json_array_size(arr);
    json_t **v = calloc(n ? n : 1, sizeof(*v)), *out = json_array();
    if (!v)
        abort();
    for (size_t i = 0; i < n; i++) {
        v[i] = json_deep_copy(json_array_get(arr, i));
        json_t *pids = json_object_get(v[i], "pids");
        size_t np = json_array_size(pids);
        json_t **pv = calloc(np ? np : 1, sizeof(*pv)), *ps = json_array();
        if (!pv)
            abort();
        for (size_t j = 0; j < np; j++)
            pv[j] = json_array_get(pids, j);
        qsort(pv, np, sizeof(*pv), cmp_int);
        for (size_t j = 0; j < np; j++)
            json_array_append(ps, pv[j]);
        free(pv);
        if (pids)
            json_object_set_new(v[i], "pids", ps);
        else
            json_decref(ps);
    }
    if (cmp)
        qsort(v, n, sizeof(*v), cmp);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(out, v[i]);
    free(v);
    return out;
}

/* {name: n} with the keys in name order, from the suppressed entries of one kind. */
static json_t *errnos_by_name(json_t *supp)
{
    json_t *tmp = json_object(), *out = json_object();
    size_t i;
    json_t *e;
    json_array_foreach(supp, i, e)
    {
        if (json_is_string(json_object_get(e, "errno")))
            rsw_jcount(tmp, rsw_jstr(e, "errno", "?"), rsw_jint(e, "count", 0));
    }
    /* insertion into an empty object in sorted order: a few keys, sort by selection */
    while (json_object_size(tmp)) {
        const char *k, *best = NULL;
        json_t *v;
        json_object_foreach(tmp, k, v) if (!best || strcmp(k, best) < 0) best = k;
        json_object_set(out, best, json_object_get(tmp, best));
        json_object_del(tmp, best);
    }
    json_decref(tmp);
    return out;
}

void rsw_counts_summary(const struct rsw_counts *c, json_t *summary, int failures_mode)
{
    size_t i;
    json_t *e;
    if (json_array_size(c->tallies.arr) || failures_mode) {
        long long n = 0;
        json_array_foreach(c->tallies.arr, i, e) n += rsw_jint(e, "connections", 0);
        json_object_set_new(summary, "tallied", json_integer(n));
        json_object_set_new(summary, "tallies", sorted(c->tallies.arr, cmp_tally));
    }
    if (json_array_size(c->supp.arr)) {
        long long conns = 0, sigs = 0;
        json_array_foreach(c->supp.arr, i, e)
        {
            conns += rsw_jint(e, "conns", 0);
            if (json_is_string(json_object_get(e, "sig")))
                sigs += rsw_jint(e, "count", 0);
        }
        json_object_set_new(summary, "suppressed", sorted(c->supp.arr, cmp_supp));
        json_object_set_new(summary, "suppressed_connections", json_integer(conns));
        json_object_set_new(summary, "suppressed_errors", errnos_by_name(c->supp.arr));
        json_object_set_new(summary, "suppressed_signals", json_integer(sigs));
    }
    if (json_array_size(c->lost.arr))
        json_object_set_new(summary, "lost", sorted(c->lost.arr, NULL));
}
