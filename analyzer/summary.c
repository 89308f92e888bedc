/* summary.c: tallies reported connections into the summary: verdicts, peers, call sites, errors. */
#include "summary.h"
#include "jsonutil.h"
#include "symbolize.h"
#include <stdlib.h>
#include <string.h>

#define RSW_TOP_SITES 10

struct rsw_summary {
    long long connections;
    json_t *verdicts; /* {verdict: n} in first-seen order, sorted at the end */
    json_t *peers;    /* {peer: {"connections","errors"}} */
    json_t *sites;    /* {site: {"errors", "errno": {}}} */
    json_t *errors;   /* {errno: n} */
    long long signals;
};

struct rsw_summary *rsw_summary_new(void)
{
    struct rsw_summary *s = calloc(1, sizeof(*s));
    if (!s)
        abort();
    s->verdicts = json_object();
    s->peers = json_object();
    s->sites = json_object();
    s->errors = json_object();
    return s;
}

void rsw_summary_free(struct rsw_summary *s)
{
    if (!s)
        return;
    json_decref(s->verdicts);
    json_decref(s->peers);
    json_decref(s->sites);
    json_decref(s->errors);
    free(s);
}

static void count_site(struct rsw_summary *s, const char *errno_name, json_t *bt)
{
    json_t *fr = json_is_array(bt) ? rsw_sym_site_frame(bt) : NULL;
    if (!fr)
        return;
    char site[512];
    rsw_sym_site(fr, site, sizeof site);
    json_t *e = json_object_get(s->sites, site);
    if (!e) {
        e = json_pack("{s:s,s:i,s:{}}", "site", site, "errors", 0, "errno");
        json_object_set_new(s->sites, site, e);
    }
    rsw_jcount(e, "errors", 1);
    rsw_jcount(json_object_get(e, "errno"), errno_name, 1);
}

void rsw_summary_add_conn(struct rsw_summary *s, json_t *conn)
{
    s->connections++;
    rsw_jcount(s->verdicts, rsw_jstr(conn, "verdict", "?"), 1);
    const char *peer = rsw_jstr(conn, "peer", NULL);
    if (!peer || !*peer)
        peer = "?";
    json_t *p = json_object_get(s->peers, peer);
    if (!p) {
        p = json_pack("{s:s,s:i,s:i}", "peer", peer, "connections", 0, "errors", 0);
        json_object_set_new(s->peers, peer, p);
    }
    rsw_jcount(p, "connections", 1);
    const char *k;
    json_t *v;
    long long nerr = 0;
    json_object_foreach(json_object_get(conn, "errors"), k, v)
    {
        rsw_jcount(s->errors, k, json_integer_value(v));
        nerr += json_integer_value(v);
    }
    size_t i;
    json_t *ev;
    json_array_foreach(json_object_get(conn, "events"), i, ev)
    {
        int kind = rsw_ev_parse(rsw_jstr(ev, "ev", NULL));
        if (kind == RSW_EV_SIGNAL) {
            s->signals++;
            nerr++;
            count_site(s, "SIGPIPE", json_object_get(ev, "bt"));
        } else if (kind == RSW_EV_ERROR) {
            count_site(s, rsw_jstr(ev, "errno", "?"), json_object_get(ev, "bt"));
        }
    }
    rsw_jcount(p, "errors", nerr);
}

void rsw_summary_add_loose(struct rsw_summary *s, const char *errno_name, json_t *bt)
{
    if (strcmp(errno_name, "SIGPIPE") == 0)
        s->signals++;
    else
        rsw_jcount(s->errors, errno_name, 1);
    count_site(s, errno_name, bt);
}

static int cmp_count(const void *a, const void *b, const char *field, const char *name)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    json_int_t cx = json_integer_value(json_object_get(x, field));
    json_int_t cy = json_integer_value(json_object_get(y, field));
    if (cx != cy)
        return cx > cy ? -1 : 1;
    return strcmp(json_string_value(json_object_get(x, name)),
                  json_string_value(json_object_get(y, name)));
}

static int cmp_peer(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    json_int_t ex = json_integer_value(json_object_get(x, "errors"));
    json_int_t ey = json_integer_value(json_object_get(y, "errors"));
    if (ex != ey)
        return ex > ey ? -1 : 1;
    return cmp_count(a, b, "connections", "peer");
}

static int cmp_site(const void *a, const void *b)
{
    return cmp_count(a, b, "errors", "site");
}

/* The values of obj as an array sorted by cmp, at most max of them. */
static json_t *sorted_values(json_t *obj, int (*cmp)(const void *, const void *), size_t max)
{
    size_t n = json_object_size(obj), i = 0;
    json_t **v = calloc(n ? n : 1, sizeof(*v)), *arr = json_array();
    const char *k;
    json_t *x;
    json_object_foreach(obj, k, x) v[i++] = x;
    qsort(v, n, sizeof(*v), cmp);
    for (i = 0; i < n && i < max; i++)
        json_array_append(arr, v[i]);
    free(v);
    return arr;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A copy of obj with its keys in name order (stable output). */
static json_t *by_name(json_t *obj)
{
    size_t n = json_object_size(obj), i = 0;
    const char **keys = calloc(n ? n : 1, sizeof(*keys));
    const char *k;
    json_t *x;
    if (!keys)
        abort();
    json_object_foreach(obj, k, x) keys[i++] = k;
    qsort(keys, n, sizeof(*keys), cmp_str);
    json_t *out = json_object();
    for (i = 0; i < n; i++)
        json_object_set(out, keys[i], json_object_get(obj, keys[i]));
    free(keys);
    return out;
}

/* [{"pid","name"}] for the watched program when no start line came from its pid. */
static json_t *not_observed(const struct rsw_proc *procs, const struct rsw_watch *w)
{
    json_t *arr = json_array();
    for (const struct rsw_proc *p = procs; p; p = p->next)
        if (p->pid == w->pid && p->started)
            return arr;
    json_array_append_new(
        arr, json_pack("{s:I,s:s}", "pid", (json_int_t)w->pid, "name", w->name ? w->name : "?"));
    return arr;
}

json_t *rsw_summary_json(struct rsw_summary *s, const struct rsw_proc *procs,
                         const struct rsw_watch *watch, const struct rsw_skips *sk,
                         char *const *inputs, int ninputs)
{
    json_t *out = json_object();
    json_object_set_new(out, "connections", json_integer(s->connections));
    json_object_set_new(out, "verdicts", by_name(s->verdicts));
    json_object_set_new(out, "peers", sorted_values(s->peers, cmp_peer, (size_t)-1));
    json_object_set_new(out, "call_sites", sorted_values(s->sites, cmp_site, RSW_TOP_SITES));
    json_object_set_new(out, "errors", by_name(s->errors));
    json_object_set_new(out, "signals", json_integer(s->signals));
    json_t *pr = json_array();
    for (const struct rsw_proc *p = procs; p; p = p->next) {
        json_t *o = json_object();
        json_object_set_new(o, "pid", json_integer(p->pid));
        json_object_set_new(o, "ppid", p->ppid >= 0 ? json_integer(p->ppid) : json_null());
        json_object_set_new(o, "name", p->name ? json_string(p->name) : json_null());
        json_object_set_new(o, "exe", p->exe ? json_string(p->exe) : json_null());
        json_object_set_new(o, "host", p->host ? json_string(p->host) : json_null());
        json_object_set_new(o, "killed_by", p->killed_by ? json_string(p->killed_by) : json_null());
        if (p->mode) /* v3 */
            json_object_set_new(o, "mode", json_string(p->mode));
        json_array_append_new(pr, o);
    }
    json_object_set_new(out, "processes", pr);
    if (watch && watch->pid > 0)
        json_object_set_new(out, "not_observed", not_observed(procs, watch));
    json_t *sko = json_object();
    long long total = 0;
    for (int j = 0; j < RSW_SKIP_NKINDS; j++)
        total += sk->count[j];
    json_object_set_new(sko, "total", json_integer(total));
    for (int j = 0; j < RSW_SKIP_NKINDS; j++)
        json_object_set_new(sko, rsw_skip_name(j), json_integer(sk->count[j]));
    json_object_set_new(out, "skipped", sko);
    json_t *in = json_array();
    for (int j = 0; j < ninputs; j++)
        json_array_append_new(in, json_string(strcmp(inputs[j], "-") ? inputs[j] : "<stdin>"));
    json_object_set_new(out, "inputs", in);
    return out;
}
