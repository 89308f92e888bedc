/* summary.c: tallies reported connections into the summary: verdicts, peers, call sites, errors. */
#include "summary.h"
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

static void rsw_add(json_t *obj, const char *key, long long n)
{
    json_t *v = json_object_get(obj, key);
    json_object_set_new(obj, key, json_integer((v ? json_integer_value(v) : 0) + n));
}

static void rsw_site(struct rsw_summary *s, const char *errno_name, json_t *bt)
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
    rsw_add(e, "errors", 1);
    rsw_add(json_object_get(e, "errno"), errno_name, 1);
}

void rsw_summary_add_conn(struct rsw_summary *s, json_t *conn)
{
    s->connections++;
    rsw_add(s->verdicts, json_string_value(json_object_get(conn, "verdict")), 1);
    const char *peer = json_string_value(json_object_get(conn, "peer"));
    if (!peer || !*peer)
        peer = "?";
    json_t *p = json_object_get(s->peers, peer);
    if (!p) {
        p = json_pack("{s:s,s:i,s:i}", "peer", peer, "connections", 0, "errors", 0);
        json_object_set_new(s->peers, peer, p);
    }
    rsw_add(p, "connections", 1);
    const char *k;
    json_t *v;
    long long nerr = 0;
    json_object_foreach(json_object_get(conn, "errors"), k, v)
    {
        rsw_add(s->errors, k, json_integer_value(v));
        nerr += json_integer_value(v);
    }
    size_t i;
    json_t *ev;
    json_array_foreach(json_object_get(conn, "events"), i, ev)
    {
        const char *kind = json_string_value(json_object_get(ev, "ev"));
        if (!kind)
            continue;
        if (strcmp(kind, "signal") == 0) {
            s->signals++;
            nerr++;
            rsw_site(s, "SIGPIPE", json_object_get(ev, "bt"));
        } else if (strcmp(kind, "error") == 0) {
            const char *e = json_string_value(json_object_get(ev, "errno"));
            rsw_site(s, e ? e : "?", json_object_get(ev, "bt"));
        }
    }
    rsw_add(p, "errors", nerr);
}

void rsw_summary_add_loose(struct rsw_summary *s, const char *errno_name, json_t *bt)
{
    if (strcmp(errno_name, "SIGPIPE") == 0)
        s->signals++;
    else
        rsw_add(s->errors, errno_name, 1);
    rsw_site(s, errno_name, bt);
}

static int rsw_cmp_count(const void *a, const void *b, const char *field, const char *name)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    json_int_t cx = json_integer_value(json_object_get(x, field));
    json_int_t cy = json_integer_value(json_object_get(y, field));
    if (cx != cy)
        return cx > cy ? -1 : 1;
    return strcmp(json_string_value(json_object_get(x, name)),
                  json_string_value(json_object_get(y, name)));
}

static int rsw_cmp_peer(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    json_int_t ex = json_integer_value(json_object_get(x, "errors"));
    json_int_t ey = json_integer_value(json_object_get(y, "errors"));
    if (ex != ey)
        return ex > ey ? -1 : 1;
    return rsw_cmp_count(a, b, "connections", "peer");
}

static int rsw_cmp_site(const void *a, const void *b)
{
    return rsw_cmp_count(a, b, "errors", "site");
}

/* The values of obj as an array sorted by cmp, at most max of them. */
static json_t *rsw_sorted(json_t *obj, int (*cmp)(const void *, const void *), size_t max)
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

static int rsw_strcmpp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

json_t *rsw_summary_json(struct rsw_summary *s, const struct rsw_proc *procs, int multi_host,
                         const struct rsw_skips *sk, char *const *inputs, int ninputs)
{
    json_t *out = json_object();
    json_object_set_new(out, "connections", json_integer(s->connections));
    /* verdicts: sorted by name for stable output */
    size_t n = json_object_size(s->verdicts), i = 0;
    const char **keys = calloc(n ? n : 1, sizeof(*keys));
    const char *k;
    json_t *x;
    json_object_foreach(s->verdicts, k, x) keys[i++] = k;
    qsort(keys, n, sizeof(*keys), rsw_strcmpp);
    json_t *verd = json_object();
    for (i = 0; i < n; i++)
        json_object_set(verd, keys[i], json_object_get(s->verdicts, keys[i]));
    free(keys);
    json_object_set_new(out, "verdicts", verd);
    json_object_set_new(out, "peers", rsw_sorted(s->peers, rsw_cmp_peer, (size_t)-1));
    json_object_set_new(out, "call_sites", rsw_sorted(s->sites, rsw_cmp_site, RSW_TOP_SITES));
    /* errors by errno, sorted by name */
    n = json_object_size(s->errors);
    i = 0;
    keys = calloc(n ? n : 1, sizeof(*keys));
    json_object_foreach(s->errors, k, x) keys[i++] = k;
    qsort(keys, n, sizeof(*keys), rsw_strcmpp);
    json_t *errs = json_object();
    for (i = 0; i < n; i++)
        json_object_set(errs, keys[i], json_object_get(s->errors, keys[i]));
    free(keys);
    json_object_set_new(out, "errors", errs);
    json_object_set_new(out, "signals", json_integer(s->signals));
    json_t *pr = json_array();
    for (const struct rsw_proc *p = procs; p; p = p->next) {
        json_t *o = json_object();
        json_object_set_new(o, "pid", json_integer(p->pid));
        json_object_set_new(o, "exe", p->exe ? json_string(p->exe) : json_null());
        json_object_set_new(o, "host", p->host ? json_string(p->host) : json_null());
        json_object_set_new(o, "killed_by", p->killed_by ? json_string(p->killed_by) : json_null());
        (void)multi_host;
        json_array_append_new(pr, o);
    }
    json_object_set_new(out, "processes", pr);
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
