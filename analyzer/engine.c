/* engine.c: the streaming core of `rstwatch report`: routes merged log lines to processes and
 * connections, finishes connections, pairs both ends and hands each one to the renderer. */
#include "map.h"
#include "match.h"
#include "merge.h"
#include "report.h"
#include "summary.h"
#include "symbolize.h"
#include <stdlib.h>
#include <string.h>

struct rsw_engine {
    const struct rsw_report_opts *o;
    struct rsw_map *cur;      /* "input:pid" → the process image now writing there */
    struct rsw_proc *phead, *ptail;
    struct rsw_matcher mt;
    struct rsw_map *servers;  /* local address → the process that last accepted there */
    struct rsw_conn *hhead, *htail; /* finished, unmatched, waiting the match window out */
    int multi_host;
    void *rstate;
    struct rsw_summary *sum;
    struct rsw_symbolizer *sym;
    long long nprocs;
    int ninputs;
};

json_t *rsw_build_conn(struct rsw_symbolizer *sym, int multi_host, struct rsw_conn *x,
                       struct rsw_conn *y, const struct rsw_verdict *v);
int rsw_conn_passes(const struct rsw_filters *f, json_t *conn, const struct rsw_conn *x,
                    const struct rsw_conn *y);

static char *rsw_xstrdup(const char *s)
{
    char *d = s ? strdup(s) : NULL;
    if (s && !d)
        abort();
    return d;
}

static void rsw_unhold(struct rsw_engine *e, struct rsw_conn *c)
{
    if (c->state != RSW_HELD)
        return;
    if (c->hprev)
        c->hprev->hnext = c->hnext;
    else
        e->hhead = c->hnext;
    if (c->hnext)
        c->hnext->hprev = c->hprev;
    else
        e->htail = c->hprev;
    c->hprev = c->hnext = NULL;
    c->state = RSW_WAITING;
}

static enum rsw_verdict_kind rsw_judge(struct rsw_engine *e, struct rsw_conn *x,
                                       struct rsw_conn *y, struct rsw_verdict *v)
{
    rsw_match_peer_facts(x, y);
    const struct rsw_proc *server = y ? y->proc : rsw_map_get(e->servers, x->peer);
    const struct rsw_proc *r = rsw_match_restart(x, server, e->phead);
    x->facts.peer_restart_ts = r ? r->start_ts : RSW_NOTS;
    x->facts.peer_restart_pid = r ? r->pid : -1;
    rsw_verdict_decide(&x->facts, v);
    return v->kind;
}

/* Reports a finished connection (with its other end when matched) and frees both. */
static void rsw_emit(struct rsw_engine *e, struct rsw_conn *a, struct rsw_conn *b)
{
    struct rsw_verdict va, vb;
    rsw_unhold(e, a);
    rsw_judge(e, a, b, &va);
    struct rsw_conn *x = a, *y = b;
    struct rsw_verdict *v = &va;
    if (b) {
        rsw_unhold(e, b);
        rsw_judge(e, b, a, &vb);
        int a_bad = va.kind != RSW_V_CLEAN, b_bad = vb.kind != RSW_V_CLEAN;
        if ((b_bad && !a_bad) ||
            (a_bad == b_bad && strcmp(b->role, "client") == 0 && strcmp(a->role, "client") != 0)) {
            x = b;
            y = a;
            v = &vb;
        }
    }
    json_t *conn = rsw_build_conn(e->sym, e->multi_host, x, y, v);
    if (rsw_conn_passes(&e->o->flt, conn, x, y)) {
        rsw_summary_add_conn(e->sum, conn);
        if (e->o->renderer)
            e->o->renderer->conn(e->rstate, conn);
    }
    json_decref(conn);
    rsw_match_remove(&e->mt, a);
    rsw_conn_free(a);
    if (b) {
        rsw_match_remove(&e->mt, b);
        rsw_conn_free(b);
    }
}

static void rsw_finish(struct rsw_engine *e, struct rsw_conn *c)
{
    char key[32];
    snprintf(key, sizeof key, "%lld", c->conn);
    if (rsw_map_get(c->proc->open, key) == c)
        rsw_map_set(c->proc->open, key, NULL);
    if (c->partner) {
        if (c->partner->state != RSW_OPEN) {
            rsw_emit(e, c->partner, c);
        } else {
            c->state = RSW_WAITING;
        }
    } else if (c->tuple_key && (e->nprocs > 1 || e->ninputs > 1)) {
        /* the other end's log may still bring its side (its accept or connect can be logged
         * after our close): stay in the tuple map for the match window of log time. Only that
         * long, so memory stays bounded by the connections finished within one window. */
        c->state = RSW_HELD;
        c->hprev = e->htail;
        if (e->htail)
            e->htail->hnext = c;
        else
            e->hhead = c;
        e->htail = c;
    } else {
        c->state = RSW_WAITING;
        rsw_emit(e, c, NULL);
    }
}

static void rsw_flush_holds(struct rsw_engine *e, long long now, int all)
{
    while (e->hhead && (all || e->hhead->end_ts + e->mt.window < now))
        rsw_emit(e, e->hhead, NULL);
}

struct rsw_collect {
    struct rsw_conn **v;
    size_t n;
};

static void rsw_collect(const char *k, void *val, void *arg)
{
    (void)k;
    struct rsw_collect *c = arg;
    c->v[c->n++] = val;
}

static int rsw_cmp_conn(const void *a, const void *b)
{
    const struct rsw_conn *x = *(struct rsw_conn *const *)a, *y = *(struct rsw_conn *const *)b;
    return x->conn < y->conn ? -1 : x->conn > y->conn;
}

/* The process ended (its log ended, it exec'd, or it was killed): finish its connections. */
static void rsw_proc_end(struct rsw_engine *e, struct rsw_proc *p)
{
    if (p->ended)
        return;
    p->ended = 1;
    size_t n = rsw_map_count(p->open);
    struct rsw_collect col = {calloc(n ? n : 1, sizeof(struct rsw_conn *)), 0};
    if (!col.v)
        abort();
    rsw_map_each(p->open, rsw_collect, &col);
    struct rsw_conn **v = col.v;
    qsort(v, n, sizeof(*v), rsw_cmp_conn);
    for (size_t i = 0; i < n; i++)
        rsw_finish(e, v[i]);
    free(v);
    char key[48];
    snprintf(key, sizeof key, "%d:%lld", p->input, p->pid);
    if (rsw_map_get(e->cur, key) == p)
        rsw_map_set(e->cur, key, NULL);
}

static struct rsw_proc *rsw_proc_for(struct rsw_engine *e, int input, json_t *line, int is_start)
{
    long long pid = json_integer_value(json_object_get(line, "pid"));
    long long ts = json_integer_value(json_object_get(line, "ts"));
    char key[48];
    snprintf(key, sizeof key, "%d:%lld", input, pid);
    struct rsw_proc *p = rsw_map_get(e->cur, key);
    if (p && !is_start)
        return p;
    if (p) /* a new image (exec) in the same process: the old one's connections end */
        rsw_proc_end(e, p);
    p = calloc(1, sizeof(*p));
    if (!p)
        abort();
    p->input = input;
    p->pid = pid;
    p->ppid = -1;
    p->start_ts = p->last_ts = ts;
    p->open = rsw_map_new();
    if (is_start) {
        p->ppid = rsw_jint(line, "ppid", -1);
        p->host = rsw_xstrdup(rsw_jstr(line, "host"));
        p->exe = rsw_xstrdup(rsw_jstr(line, "exe"));
        p->origin = rsw_xstrdup(rsw_jstr(line, "origin"));
    }
    e->nprocs++;
    if (e->ptail)
        e->ptail->next = p;
    else
        e->phead = p;
    e->ptail = p;
    rsw_map_set(e->cur, key, p);
    return p;
}

static void rsw_loose(struct rsw_engine *e, json_t *line, const char *what)
{
    json_t *bt = json_object_get(line, "bt");
    if (json_is_array(bt))
        rsw_sym_frames(e->sym, bt, strcmp(what, "SIGPIPE") == 0);
    rsw_summary_add_loose(e->sum, what, bt);
}

static void rsw_handle(struct rsw_engine *e, json_t *line, int input)
{
    const char *ev = json_string_value(json_object_get(line, "ev"));
    long long ts = json_integer_value(json_object_get(line, "ts"));
    rsw_flush_holds(e, ts, 0);
    int is_start = strcmp(ev, "start") == 0;
    struct rsw_proc *p = rsw_proc_for(e, input, line, is_start);
    if (ts > p->last_ts)
        p->last_ts = ts;
    if (is_start)
        return;
    int killed = strcmp(ev, "signal") == 0 && rsw_jstr(line, "action") &&
                 strcmp(rsw_jstr(line, "action"), "kill") == 0;
    long long id = rsw_jint(line, "conn", -1);
    if (id < 0) {
        if (strcmp(ev, "error") == 0 && rsw_jstr(line, "errno"))
            rsw_loose(e, line, rsw_jstr(line, "errno"));
        else if (strcmp(ev, "signal") == 0)
            rsw_loose(e, line, "SIGPIPE");
    } else {
        char key[32];
        snprintf(key, sizeof key, "%lld", id);
        struct rsw_conn *c = rsw_map_get(p->open, key);
        if (!c) {
            c = rsw_conn_new(p, id, ts);
            rsw_map_set(p->open, key, c);
        }
        rsw_conn_apply(c, line, ev);
        struct rsw_conn *other = rsw_match_add(&e->mt, c);
        if (other)
            rsw_unhold(e, other);
        if (strcmp(ev, "accept") == 0 && c->local[0])
            rsw_map_set(e->servers, c->local, p);
        if (strcmp(ev, "close") == 0)
            rsw_finish(e, c);
    }
    if (killed) {
        p->killed_by = "SIGPIPE";
        rsw_proc_end(e, p);
    }
}

static void rsw_input_end(struct rsw_engine *e, int input)
{
    for (struct rsw_proc *p = e->phead; p; p = p->next)
        if (p->input == input && !p->ended)
            rsw_proc_end(e, p);
}

/* Several hosts among the logs' first lines → ids carry the host. */
static int rsw_multi_host(struct rsw_merge *m, int n)
{
    const char *first = NULL;
    for (int i = 0; i < n; i++) {
        const char *h = rsw_jstr(rsw_merge_first(m, i), "host");
        if (!h)
            continue;
        if (first && strcmp(first, h) != 0)
            return 1;
        first = h;
    }
    return 0;
}

static void rsw_free_procs(struct rsw_engine *e)
{
    struct rsw_proc *p = e->phead, *n;
    for (; p; p = n) {
        n = p->next;
        rsw_map_free(p->open);
        free(p->host);
        free(p->exe);
        free(p->origin);
        free(p);
    }
}

int rsw_report(char *const *args, int nargs, const struct rsw_report_opts *o, json_t **summary_out)
{
    char **inputs = NULL;
    int n = rsw_expand_inputs(args, nargs, &inputs);
    if (n < 0)
        return 2;
    struct rsw_skips sk = {.strict = o->strict, .quiet = o->quiet};
    struct rsw_merge *m = rsw_merge_open(inputs, n, &sk);
    int status = 0;
    if (!m) {
        status = 2;
        goto out;
    }
    struct rsw_engine e = {.o = o};
    e.cur = rsw_map_new();
    e.servers = rsw_map_new();
    e.sum = rsw_summary_new();
    e.sym = rsw_sym_new();
    rsw_match_init(&e.mt);
    e.multi_host = rsw_multi_host(m, n);
    e.ninputs = n;
    if (o->renderer) {
        e.rstate = o->renderer->begin(&o->ro);
        if (!e.rstate) {
            status = 2;
            goto done;
        }
    }
    for (;;) {
        json_t *line;
        int input;
        long lineno;
        int rc = rsw_merge_next(m, &line, &input, &lineno);
        if (rc == 0)
            break;
        if (rc < 0) {
            status = 2;
            break;
        }
        if (rc == 2) {
            rsw_input_end(&e, input);
            continue;
        }
        rsw_handle(&e, line, input);
        json_decref(line);
    }
    for (struct rsw_proc *p = e.phead; p; p = p->next)
        rsw_proc_end(&e, p);
    rsw_flush_holds(&e, 0, 1);
    json_t *summary = rsw_summary_json(e.sum, e.phead, e.multi_host, &sk, inputs, n);
    if (o->renderer && o->renderer->end(e.rstate, summary) < 0) {
        if (!o->quiet)
            fprintf(stderr, "rstwatch: cannot write the report\n");
        if (status == 0)
            status = 1;
    }
    if (summary_out)
        *summary_out = summary;
    else
        json_decref(summary);
    if (sk.failed)
        status = 2;
done:
    rsw_match_free(&e.mt);
    rsw_map_free(e.cur);
    rsw_map_free(e.servers);
    rsw_summary_free(e.sum);
    rsw_sym_free(e.sym);
    rsw_free_procs(&e);
    rsw_merge_close(m);
out:
    for (int i = 0; i < n; i++)
        free(inputs[i]);
    free(inputs);
    return status;
}
