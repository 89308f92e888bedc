/* render_text_brief.c: the text report's brief forms: clean connections as one line per group,
 * processes as counts by name plus the tree of those that had a part in a failure. */
#include "jsonutil.h"
#include "map.h"
#include "render_text.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define S(o, k) rsw_jstr(o, k, "")
#define I(o, k) rsw_jint(o, k, 0)

struct group {
    char *name, *what;
    long long n, in, out, dmin, dmax;
};

struct rsw_text_groups {
    struct rsw_map *index; /* key → position + 1 */
    struct group *v;
    size_t n, cap;
};

static char *dup(const char *s)
{
    char *d = strdup(s);
    if (!d)
        abort();
    return d;
}

struct rsw_text_groups *rsw_text_groups_new(void)
{
    struct rsw_text_groups *g = calloc(1, sizeof(*g));
    if (!g)
        abort();
    g->index = rsw_map_new();
    return g;
}

void rsw_text_groups_free(struct rsw_text_groups *g)
{
    for (size_t i = 0; i < g->n; i++) {
        free(g->v[i].name);
        free(g->v[i].what);
    }
    free(g->v);
    rsw_map_free(g->index);
    free(g);
}

/* What a group of connections is: "to 127.0.0.1:80", "accepted on 0.0.0.0:9000", "pipe",
 * "adopted on unix /run/x.sock"; " ⇄ NAME" when matched with the other end's log. */
static void what_of(char *buf, size_t len, json_t *c)
{
    const char *family = S(c, "family"), *role = S(c, "role");
    int client = strcmp(role, "client") == 0, server = strcmp(role, "server") == 0;
    const char *addr = client ? S(c, "peer") : S(c, "local");
    if (!*addr)
        addr = "?";
    json_t *ps = json_object_get(c, "peer_side");
    char other[128] = "";
    if (json_is_object(ps))
        snprintf(other, sizeof other, " ⇄ %s", rsw_proc_name(ps));
    if (strcmp(family, "pipe") == 0)
        snprintf(buf, len, "pipe%s", other);
    else
        snprintf(buf, len, "%s %s%s%s",
                 client   ? "to"
                 : server ? "accepted on"
                          : "adopted on",
                 strcmp(family, "unix") == 0 ? "unix " : "", addr, other);
}

void rsw_text_groups_add(struct rsw_text_groups *g, json_t *c)
{
    char what[512], key[1024];
    what_of(what, sizeof what, c);
    snprintf(key, sizeof key, "%s\037%s\037%s", rsw_proc_name(c), S(c, "family"), what);
    uintptr_t at = (uintptr_t)rsw_map_get(g->index, key);
    long long d = I(c, "end_ts") - I(c, "start_ts");
    struct group *e;
    if (at) {
        e = &g->v[at - 1];
    } else {
        if (g->n == g->cap) {
            g->cap = g->cap ? 2 * g->cap : 16;
            g->v = realloc(g->v, g->cap * sizeof(*g->v));
            if (!g->v)
                abort();
        }
        e = &g->v[g->n++];
        *e = (struct group){dup(rsw_proc_name(c)), dup(what), 0, 0, 0, d, d};
        rsw_map_set(g->index, key, (void *)(uintptr_t)g->n);
    }
    e->n++;
    e->in += I(c, "bytes_in");
    e->out += I(c, "bytes_out");
    if (d < e->dmin)
        e->dmin = d;
    if (d > e->dmax)
        e->dmax = d;
}

size_t rsw_text_groups_size(const struct rsw_text_groups *g)
{
    return g->n;
}

static int cmp_group(const void *a, const void *b)
{
    const struct group *x = *(const struct group *const *)a, *y = *(const struct group *const *)b;
    if (x->n != y->n)
        return x->n > y->n ? -1 : 1;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->what, y->what);
}

/* A duration without its sign: "850 ns", "12.5 µs", "1.100 ms", "2.000 s". */
static void duration(char *buf, size_t len, long long ns)
{
    char t[32];
    rsw_fmt_rel_fit(t, sizeof t, ns < 0 ? 0 : ns);
    snprintf(buf, len, "%s", t + 1);
}

int rsw_text_columns(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

/* s left-aligned in width columns. */
static void pad(FILE *out, const char *s, int width)
{
    int n = rsw_text_columns(s);
    fprintf(out, "%s%*s", s, width > n ? width - n : 0, "");
}

void rsw_text_groups_print(FILE *out, const struct rsw_text_groups *g, size_t max)
{
    size_t n = g->n, show = max && n > max ? max : n;
    const struct group **v = calloc(n ? n : 1, sizeof(*v));
    if (!v)
        abort();
    for (size_t i = 0; i < n; i++)
        v[i] = &g->v[i];
    qsort(v, n, sizeof(*v), cmp_group);
    int wn = 0, wname = 0, wwhat = 0, win = 0, wout = 0;
    char num[32], in[32], out_b[32];
    for (size_t i = 0; i < show; i++) {
        rsw_fmt_count(num, sizeof num, v[i]->n);
        rsw_fmt_bytes(in, sizeof in, v[i]->in);
        rsw_fmt_bytes(out_b, sizeof out_b, v[i]->out);
        wn = rsw_text_columns(num) > wn ? rsw_text_columns(num) : wn;
        wname = rsw_text_columns(v[i]->name) > wname ? rsw_text_columns(v[i]->name) : wname;
        wwhat = rsw_text_columns(v[i]->what) > wwhat ? rsw_text_columns(v[i]->what) : wwhat;
        win = rsw_text_columns(in) > win ? rsw_text_columns(in) : win;
        wout = rsw_text_columns(out_b) > wout ? rsw_text_columns(out_b) : wout;
    }
    for (size_t i = 0; i < show; i++) {
        char lo[32], hi[32];
        rsw_fmt_count(num, sizeof num, v[i]->n);
        rsw_fmt_bytes(in, sizeof in, v[i]->in);
        rsw_fmt_bytes(out_b, sizeof out_b, v[i]->out);
        duration(lo, sizeof lo, v[i]->dmin);
        duration(hi, sizeof hi, v[i]->dmax);
        fprintf(out, "  %*s  ", wn, num);
        pad(out, v[i]->name, wname);
        fputs("  ", out);
        pad(out, v[i]->what, wwhat);
        fprintf(out, "  in %*s  out %*s  lasted ", win, in, wout, out_b);
        const char *ulo = strrchr(lo, ' '), *uhi = strrchr(hi, ' ');
        if (strcmp(lo, hi) == 0)
            fprintf(out, "%s\n", lo);
        else if (ulo && uhi && strcmp(ulo, uhi) == 0) /* one unit: "1.2–3.4 ms" */
            fprintf(out, "%.*s–%s\n", (int)(ulo - lo), lo, hi);
        else
            fprintf(out, "%s–%s\n", lo, hi);
    }
    if (show < n) {
        long long rest = 0;
        for (size_t i = show; i < n; i++)
            rest += v[i]->n;
        rsw_fmt_count(num, sizeof num, rest);
        fprintf(out, "  … %zu more groups, %s connection%s (--full lists them all)\n", n - show,
                num, rest == 1 ? "" : "s");
    }
    free(v);
}

/* ---- processes ---- */

struct rsw_text_procs {
    json_t *own;  /* "host|pid" → {label: n} of its failing connections */
    json_t *peer; /* "host|pid" → {label: n} of failing connections it was the other end of */
};

struct rsw_text_procs *rsw_text_procs_new(void)
{
    struct rsw_text_procs *t = calloc(1, sizeof(*t));
    if (!t)
        abort();
    t->own = json_object();
    t->peer = json_object();
    return t;
}

void rsw_text_procs_free(struct rsw_text_procs *t)
{
    json_decref(t->own);
    json_decref(t->peer);
    free(t);
}

static void proc_key(char *buf, size_t len, const char *host, long long pid)
{
    snprintf(buf, len, "%s|%lld", host ? host : "", pid);
}

static void count_in(json_t *by, const char *key, const char *label)
{
    json_t *o = json_object_get(by, key);
    if (!o) {
        o = json_object();
        json_object_set_new(by, key, o);
    }
    rsw_jcount(o, label, 1);
}

void rsw_text_procs_failure(struct rsw_text_procs *t, json_t *conn)
{
    char key[300];
    const char *label = rsw_text_label(conn);
    proc_key(key, sizeof key, rsw_jstr(conn, "host", NULL), I(conn, "pid"));
    count_in(t->own, key, label);
    json_t *ps = json_object_get(conn, "peer_side");
    if (json_is_object(ps)) {
        proc_key(key, sizeof key, rsw_jstr(ps, "host", NULL), I(ps, "pid"));
        count_in(t->peer, key, label);
    }
}

static int cmp_name_count(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    long long cx = I(x, "n"), cy = I(y, "n");
    if (cx != cy)
        return cx > cy ? -1 : 1;
    return strcmp(S(x, "name"), S(y, "name"));
}

void rsw_text_proc_names(char *buf, size_t len, json_t *summary, size_t max)
{
    json_t *counts = json_object(), *x;
    size_t i, n = 0, at = 0;
    json_array_foreach(json_object_get(summary, "processes"), i, x)
    {
        const char *name = rsw_proc_name(x);
        json_t *e = json_object_get(counts, name);
        if (!e) {
            e = json_pack("{s:s,s:i}", "name", name, "n", 0);
            json_object_set_new(counts, name, e);
        }
        rsw_jcount(e, "n", 1);
    }
    json_t **v = calloc(json_object_size(counts) + 1, sizeof(*v));
    const char *k;
    if (!v)
        abort();
    json_object_foreach(counts, k, x) v[n++] = x;
    qsort(v, n, sizeof(*v), cmp_name_count);
    buf[0] = 0;
    for (i = 0; i < n && i < max && at < len; i++)
        at +=
            snprintf(buf + at, len - at, "%s%s %lld", i ? ", " : "", S(v[i], "name"), I(v[i], "n"));
    if (n > max && at < len)
        snprintf(buf + at, len - at, ", … %zu more names", n - max);
    free(v);
    json_decref(counts);
}

/* A process (every image of one pid) in the tree. */
struct node {
    long long pid, ppid;
    const char *host, *killed;
    const char *names[5]; /* its images' names: the first one and the last four */
    size_t nimages;
    long long suppressed; /* events of the suppressed sites that were its alone */
    int shared;           /* it had a part in a site several processes shared */
    int in;               /* shown: it had a part in a failure, or is an ancestor of one */
    int printed;
    struct node *parent; /* shown too, else NULL */
};

static void add_image(struct node *n, const char *name)
{
    if (n->nimages < 5)
        n->names[n->nimages] = name;
    else {
        memmove(n->names + 1, n->names + 2, 3 * sizeof(*n->names));
        n->names[4] = name;
    }
    n->nimages++;
}

/* "PID NAME → NAME → … → NAME": its images in exec order, the middle ones left out. */
static void node_label(char *buf, size_t len, const struct node *n)
{
    size_t at = (size_t)snprintf(buf, len, "%lld %s", n->pid, n->names[0]);
    size_t shown = n->nimages < 5 ? n->nimages : 5;
    for (size_t i = 1; i < shown && at < len; i++) {
        if (n->nimages > 5 && i == 1) {
            at += snprintf(buf + at, len - at, " → …");
            continue;
        }
        at += snprintf(buf + at, len - at, " → %s", n->names[i]);
    }
}

/* "refused 1, reset-by-peer 2" in severity order, appended at buf. */
static void labels(char *buf, size_t len, json_t *counts)
{
    size_t at = strlen(buf), start = at;
    const char *l;
    for (size_t i = 0; (l = rsw_text_severity(i)) != NULL && at < len; i++)
        if (I(counts, l))
            at +=
                snprintf(buf + at, len - at, "%s%s %lld", at > start ? ", " : "", l, I(counts, l));
}

static void annotation(char *buf, size_t len, const struct rsw_text_procs *t, const struct node *n)
{
    char key[300];
    size_t at;
    buf[0] = 0;
    proc_key(key, sizeof key, n->host, n->pid);
    json_t *own = json_object_get(t->own, key), *peer = json_object_get(t->peer, key);
    if (own)
        labels(buf, len, own);
    if (peer) {
        at = strlen(buf);
        snprintf(buf + at, len - at, "%sother end of ", at ? "; " : "");
        labels(buf, len, peer);
    }
    if (n->suppressed || n->shared) {
        char c[32];
        rsw_fmt_count(c, sizeof c, n->suppressed);
        at = strlen(buf);
        snprintf(buf + at, len - at, "%s%s%s suppressed", at ? "; " : "",
                 n->suppressed ? c : "events", n->shared ? (n->suppressed ? " and more" : "") : "");
    }
    if (n->killed) {
        at = strlen(buf);
        snprintf(buf + at, len - at, "%skilled by %s", at ? "; " : "", n->killed);
    }
}

struct tree {
    FILE *out;
    const struct rsw_text_procs *t;
    struct node **shown; /* in order of their first image */
    size_t nshown, lines, max;
};

static void print_node(struct tree *tr, struct node *n, const char *prefix, int last, int root)
{
    char label[512], note[1024], sub[256];
    if (n->printed) /* a circle of parents (a reused pid) */
        return;
    n->printed = 1;
    if (tr->lines++ < tr->max) {
        node_label(label, sizeof label, n);
        annotation(note, sizeof note, tr->t, n);
        fprintf(tr->out, "  %s%s%s%s%s\n", prefix,
                root   ? ""
                : last ? "└─ "
                       : "├─ ",
                label, *note ? ": " : "", note);
    }
    snprintf(sub, sizeof sub, "%s%s", prefix, root ? "" : last ? "   " : "│  ");
    const struct node *lastchild = NULL;
    for (size_t i = 0; i < tr->nshown; i++)
        if (tr->shown[i]->parent == n)
            lastchild = tr->shown[i];
    for (size_t i = 0; i < tr->nshown; i++)
        if (tr->shown[i]->parent == n)
            print_node(tr, tr->shown[i], sub, tr->shown[i] == lastchild, 0);
}

size_t rsw_text_procs_tree(FILE *out, struct rsw_text_procs *t, json_t *summary, size_t max)
{
    json_t *procs = json_object_get(summary, "processes"), *x;
    size_t i, n = 0, images = 0;
    struct node *nodes = calloc(json_array_size(procs) + 1, sizeof(*nodes));
    struct rsw_map *byKey = rsw_map_new(), *byPid = rsw_map_new();
    char key[300];
    if (!nodes)
        abort();
    json_array_foreach(procs, i, x)
    {
        proc_key(key, sizeof key, rsw_jstr(x, "host", NULL), I(x, "pid"));
        struct node *nd = rsw_map_get(byKey, key);
        if (!nd) {
            nd = &nodes[n++];
            nd->pid = I(x, "pid");
            nd->ppid = rsw_jint(x, "ppid", -1);
            nd->host = rsw_jstr(x, "host", NULL);
            rsw_map_set(byKey, key, nd);
            snprintf(key, sizeof key, "%lld", nd->pid);
            rsw_map_set(byPid, key, nd);
        }
        add_image(nd, rsw_proc_name(x));
        if (rsw_jstr(x, "killed_by", NULL))
            nd->killed = rsw_jstr(x, "killed_by", NULL);
    }
    json_array_foreach(json_object_get(summary, "suppressed"), i, x)
    {
        size_t j;
        json_t *pid, *pids = json_object_get(x, "pids");
        json_array_foreach(pids, j, pid)
        {
            snprintf(key, sizeof key, "%lld", (long long)json_integer_value(pid));
            struct node *nd = rsw_map_get(byPid, key);
            if (nd && json_array_size(pids) == 1)
                nd->suppressed += I(x, "count");
            else if (nd) /* the site's count is not split by process */
                nd->shared = 1;
        }
    }
    struct tree tr = {out, t, calloc(n + 1, sizeof(struct node *)), 0, 0, max};
    if (!tr.shown)
        abort();
    for (i = 0; i < n; i++) {
        struct node *nd = &nodes[i];
        proc_key(key, sizeof key, nd->host, nd->pid);
        if (!json_object_get(t->own, key) && !json_object_get(t->peer, key) && !nd->suppressed &&
            !nd->shared && !nd->killed)
            continue;
        for (int depth = 0; nd && !nd->in && depth < 64; depth++) {
            nd->in = 1;
            proc_key(key, sizeof key, nd->host, nd->ppid);
            struct node *up = rsw_map_get(byKey, key);
            nd->parent = up != nd ? up : NULL;
            nd = nd->parent;
        }
    }
    for (i = 0; i < n; i++)
        if (nodes[i].in && nodes[i].parent && !nodes[i].parent->in)
            nodes[i].parent = NULL; /* the walk up stopped there */
    for (i = 0; i < n; i++)
        if (nodes[i].in) {
            tr.shown[tr.nshown++] = &nodes[i];
            images += nodes[i].nimages;
        }
    for (i = 0; i < tr.nshown; i++)
        if (!tr.shown[i]->parent)
            print_node(&tr, tr.shown[i], "", 1, 1);
    for (i = 0; i < tr.nshown; i++) /* in a circle of parents: no root led there */
        print_node(&tr, tr.shown[i], "", 1, 1);
    if (tr.lines > max)
        fprintf(out, "  … %zu more processes in the tree (--full lists every process)\n",
                tr.lines - max);
    free(tr.shown);
    free(nodes);
    rsw_map_free(byKey);
    rsw_map_free(byPid);
    return images;
}
