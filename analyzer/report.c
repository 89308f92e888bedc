/* report.c: `rstwatch report`'s streaming engine: log lines → processes → connections → verdicts.
 */
#include "report.h"
#include "conn_json.h"
#include "counts.h"
#include "jsonutil.h"
#include "map.h"
#include "match.h"
#include "merge.h"
#include "modules.h"
#include "summary.h"
#include "symbolize.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define K(ID) RSW_KEY(ID)

struct rsw_engine {
    const struct rsw_report_opts *o;
    struct rsw_map *cur; /* "input:pid" → the process image now writing there */
    struct rsw_proc *phead, *ptail;
    struct rsw_matcher mt;
    struct rsw_map *servers;        /* local address → the process that last accepted there */
    struct rsw_map *cookies;        /* "host|cookie" → the live conn of that socket */
    struct rsw_map *bypid;          /* "host|pid" → that process's newest image */
    struct rsw_conn *hhead, *htail; /* finished, unmatched, waiting the match window out */
    int multi_host;
    void *rstate;
    struct rsw_summary *sum;
    struct rsw_symbolizer *sym;
    struct rsw_counts *counts; /* v3 suppressed, tally, lost and log_max lines */
    struct rsw_map *warned;    /* "input:pid:id" of a stack not in the log: said once */
    char *const *paths;
    long long nprocs;
    int ninputs;
};

static void unhold(struct rsw_engine *e, struct rsw_conn *c)
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

static enum rsw_verdict_kind judge(struct rsw_engine *e, struct rsw_conn *x, struct rsw_conn *y,
                                   struct rsw_verdict *v)
{
    rsw_match_peer_facts(x, y);
    const struct rsw_proc *server = y ? y->proc : rsw_map_get(e->servers, x->peer);
    const struct rsw_proc *r = rsw_match_restart(x, server, e->phead);
    x->facts.peer_restart_ts = r ? r->start_ts : RSW_NOTS;
    x->facts.peer_restart_pid = r ? r->pid : -1;
    rsw_verdict_decide(&x->facts, v);
    return v->kind;
}

static void forget_cookie(struct rsw_engine *e, const struct rsw_conn *c)
{
    if (c && c->cookie_key && rsw_map_get(e->cookies, c->cookie_key) == c)
        rsw_map_set(e->cookies, c->cookie_key, NULL);
}

/* Reports a finished connection (with its other end when matched) and frees both. */
static void emit_pair(struct rsw_engine *e, struct rsw_conn *a, struct rsw_conn *b)
{
    struct rsw_verdict va, vb;
    unhold(e, a);
    judge(e, a, b, &va);
    struct rsw_conn *x = a, *y = b;
    struct rsw_verdict *v = &va;
    if (b) {
        unhold(e, b);
        judge(e, b, a, &vb);
        /* shown from the end that met the cause: an injected fault, else an error, else the
         * client */
        int a_bad = (va.kind != RSW_V_CLEAN) + (va.kind == RSW_V_INJECTED);
        int b_bad = (vb.kind != RSW_V_CLEAN) + (vb.kind == RSW_V_INJECTED);
        if (b_bad > a_bad ||
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
    forget_cookie(e, a);
    forget_cookie(e, b);
    rsw_match_remove(&e->mt, a);
    rsw_conn_free(a);
    if (b) {
        rsw_match_remove(&e->mt, b);
        rsw_conn_free(b);
    }
}

/* c leaves holder i's open map. */
static void unmap(struct rsw_conn *c, const struct rsw_holder *h)
{
    char key[32];
    snprintf(key, sizeof key, "%lld", h->id);
    if (rsw_map_get(h->proc->open, key) == c)
        rsw_map_set(h->proc->open, key, NULL);
}

static void hold(struct rsw_engine *e, struct rsw_conn *c)
{
    c->state = RSW_HELD;
    c->hprev = e->htail;
    if (e->htail)
        e->htail->hnext = c;
    else
        e->hhead = c;
    e->htail = c;
}

/* A process that held c forked after c began: the child may hold it too, and its log (its
 * first line comes when it has something to say) can arrive after every known copy closed. */
static int maybe_shared(const struct rsw_conn *c)
{
    if (c->proc->fork_ts >= c->start_ts)
        return 1;
    for (int i = 0; i < c->nholders; i++)
        if (c->holders[i].proc->fork_ts >= c->start_ts)
            return 1;
    return 0;
}

/* The connection ended: its last holder closed it or ended (or its connect failed). */
static void finish(struct rsw_engine *e, struct rsw_conn *c)
{
    int shared = maybe_shared(c);
    for (int i = 0; i < c->nholders; i++)
        unmap(c, &c->holders[i]);
    c->nholders = 0;
    if (c->partner) {
        if (c->partner->state == RSW_OPEN)
            c->state = RSW_WAITING;
        else if (shared || maybe_shared(c->partner))
            hold(e, c); /* the pair waits the match window out: a child may revive it */
        else
            emit_pair(e, c->partner, c);
    } else if (c->tuple_key && (e->nprocs > 1 || e->ninputs > 1)) {
        /* the other end's log may still bring its side (its accept or connect can be logged
         * after our close): stay in the tuple map for the match window of log time. Only that
         * long, so memory stays bounded by the connections finished within one window. */
        hold(e, c);
    } else {
        c->state = RSW_WAITING;
        emit_pair(e, c, NULL);
    }
}

static void flush_holds(struct rsw_engine *e, long long now, int all)
{
    while (e->hhead && (all || e->hhead->end_ts + e->mt.window < now)) {
        struct rsw_conn *c = e->hhead;
        if (c->partner && c->partner->state == RSW_OPEN) {
            unhold(e, c); /* its other end was revived: it is emitted when that ends */
            continue;
        }
        emit_pair(e, c->partner ? c->partner : c, c->partner ? c : NULL);
    }
}

struct collect {
    struct rsw_conn **v;
    size_t n;
};

static void collect_one(const char *k, void *val, void *arg)
{
    (void)k;
    struct collect *c = arg;
    c->v[c->n++] = val;
}

static int cmp_conn(const void *a, const void *b)
{
    const struct rsw_conn *x = *(struct rsw_conn *const *)a, *y = *(struct rsw_conn *const *)b;
    return x->conn < y->conn ? -1 : x->conn > y->conn;
}

/* Process p lets go of c held as conn id (id < 0: every copy it holds) — it closed the fd,
 * ended or exec'd: the connection ends with its last holder. */
static void drop_copy(struct rsw_engine *e, struct rsw_proc *p, long long id, struct rsw_conn *c)
{
    for (int i = 0; i < c->nholders; i++)
        if (c->holders[i].proc == p && (id < 0 || c->holders[i].id == id))
            unmap(c, &c->holders[i]);
    if (rsw_conn_release(c, p, id) == 0)
        finish(e, c);
}

/* A forked child holds every connection its parent held at the fork (the fd table is copied). */
static void inherit(struct rsw_engine *e, struct rsw_proc *child)
{
    char key[300];
    snprintf(key, sizeof key, "%s|%lld", child->host ? child->host : "", child->ppid);
    struct rsw_proc *parent = rsw_map_get(e->bypid, key);
    if (!parent)
        return;
    if (child->start_ts > parent->fork_ts)
        parent->fork_ts = child->start_ts;
    if (parent->ended) /* its log had no more lines: it holds nothing we know of */
        return;
    size_t n = rsw_map_count(parent->open);
    struct collect col = {calloc(n ? n : 1, sizeof(struct rsw_conn *)), 0};
    if (!col.v)
        abort();
    rsw_map_each(parent->open, collect_one, &col);
    for (size_t i = 0; i < col.n; i++) {
        struct rsw_conn *c = col.v[i];
        for (int h = 0; h < c->nholders; h++)
            if (c->holders[h].proc == parent) {
                snprintf(key, sizeof key, "%lld", c->holders[h].id);
                rsw_map_set(child->open, key, c);
                rsw_conn_hold(c, child, c->holders[h].id);
                break;
            }
    }
    free(col.v);
}

/* The process ended (its log ended, it exec'd, or it was killed): finish its connections. */
static void proc_end(struct rsw_engine *e, struct rsw_proc *p)
{
    if (p->ended)
        return;
    p->ended = 1;
    size_t n = rsw_map_count(p->open);
    struct collect col = {calloc(n ? n : 1, sizeof(struct rsw_conn *)), 0};
    if (!col.v)
        abort();
    rsw_map_each(p->open, collect_one, &col);
    struct rsw_conn **v = col.v;
    qsort(v, n, sizeof(*v), cmp_conn);
    for (size_t i = 0; i < n; i++)
        if (i == 0 || v[i] != v[i - 1]) /* one socket under two fds (dup) comes twice */
            drop_copy(e, p, -1, v[i]);
    free(v);
    char key[48];
    snprintf(key, sizeof key, "%d:%lld", p->input, p->pid);
    if (rsw_map_get(e->cur, key) == p)
        rsw_map_set(e->cur, key, NULL);
}

static struct rsw_proc *proc_for(struct rsw_engine *e, int input, json_t *line, int is_start)
{
    long long pid = rsw_jint(line, K(PID), 0);
    char key[48];
    snprintf(key, sizeof key, "%d:%lld", input, pid);
    struct rsw_proc *p = rsw_map_get(e->cur, key);
    if (p && !is_start)
        return p;
    if (p) /* a new image (exec) in the same process: the old one's connections end */
        proc_end(e, p);
    p = rsw_proc_new(input, line, is_start);
    e->nprocs++;
    if (e->ptail)
        e->ptail->next = p;
    else
        e->phead = p;
    e->ptail = p;
    rsw_map_set(e->cur, key, p);
    if (is_start) {
        char pk[300];
        snprintf(pk, sizeof pk, "%s|%lld", p->host ? p->host : "", p->pid);
        rsw_map_set(e->bypid, pk, p);
        if (p->origin && strcmp(p->origin, "fork") == 0)
            inherit(e, p);
    }
    return p;
}

static const char *path_of(const struct rsw_engine *e, int input)
{
    return strcmp(e->paths[input], "-") == 0 ? "<stdin>" : e->paths[input];
}

/* v3: a line naming an interned stack ("stack":N, no inline "bt") gets that stack's frames as
 * its "bt", so that everything after treats it as if they had been written inline. Returns N
 * when the log has no such stack line (said once per file, pid and id), else -1. */
static long long attach_stack(struct rsw_engine *e, const struct rsw_proc *p, json_t *line,
                              int input)
{
    json_t *id = json_object_get(line, K(STACK));
    if (!json_is_integer(id) || json_object_get(line, K(BT)))
        return -1;
    long long n = json_integer_value(id);
    json_t *bt = rsw_proc_stack(p, n);
    if (bt) {
        json_object_set(line, K(BT), bt);
        return -1;
    }
    char key[96];
    snprintf(key, sizeof key, "%d:%lld:%lld", input, p->pid, n);
    if (!rsw_map_get(e->warned, key)) {
        rsw_map_set(e->warned, key, (void *)1);
        if (!e->o->quiet)
            fprintf(stderr, "rstwatch: %s: pid %lld: stack %lld is not in the log\n",
                    path_of(e, input), p->pid, n);
    }
    return n;
}

/* v3 lines that count what was not written line by line. They belong to a process, not to a
 * connection: --pid selects them; --peer keeps the tallies of clients of that peer and no
 * suppressed events (which name no peer); tallies are clean connections (--verdict clean keeps
 * them, another --verdict or --errors-only does not), suppressed events have no verdict (any
 * --verdict drops them). A lost or log_max line stays whatever the filters (but --pid): it says
 * what the report cannot show. */
static void counted(struct rsw_engine *e, const struct rsw_proc *p, json_t *line, enum rsw_ev ev,
                    int input)
{
    const struct rsw_filters *f = &e->o->flt;
    long long missing = ev == RSW_EV_SUPPRESSED ? attach_stack(e, p, line, input) : -1;
    if (!rsw_pid_passes(f, p->pid))
        return;
    if (ev == RSW_EV_LOST || ev == RSW_EV_LOG_MAX) {
        rsw_counts_lost(e->counts, p, line, ev, path_of(e, input));
        return;
    }
    if (ev == RSW_EV_TALLY) {
        int server = strcmp(rsw_jstr(line, K(ROLE), ""), "server") == 0;
        const char *const keys[] = {K(PEER), K(LOCAL)};
        for (int i = 0; i < 2; i++) { /* an IPv4-mapped key is the IPv4 address */
            char buf[128];
            const char *a = rsw_jstr(line, keys[i], NULL),
                       *canon = rsw_addr_canon(a, buf, sizeof buf);
            if (canon != a)
                json_object_set_new(line, keys[i], json_string(canon));
        }
        if (f->errors_only || (f->verdict >= 0 && f->verdict != RSW_V_CLEAN))
            return;
        if (f->peer && (server || !rsw_peer_matches(f->peer, rsw_jstr(line, K(PEER), ""))))
            return;
        rsw_counts_tally(e->counts, p, line);
        return;
    }
    if (f->peer || f->verdict >= 0)
        return;
    int signal = strcmp(rsw_jstr(line, K(OF), ""), "signal") == 0;
    json_t *bt = json_object_get(line, K(BT));
    json_t *frames = json_is_array(bt) ? rsw_modules_frames(p->modules, bt) : NULL;
    if (frames)
        rsw_sym_frames(e->sym, frames, signal);
    rsw_counts_suppressed(e->counts, p, line, frames, missing);
    json_decref(frames);
}

/* An error or signal on no connection (a listening socket): counted in the summary only. */
static void loose(struct rsw_engine *e, const struct rsw_proc *p, json_t *line, const char *what,
                  int signal)
{
    json_t *bt = json_object_get(line, K(BT));
    json_t *frames = json_is_array(bt) ? rsw_modules_frames(p->modules, bt) : NULL;
    if (frames)
        rsw_sym_frames(e->sym, frames, signal);
    rsw_summary_add_loose(e->sum, what, frames);
    json_decref(frames);
}

static void cookie_key(char *key, size_t n, const struct rsw_proc *p, const json_t *line)
{
    json_t *ck = json_object_get(line, K(COOKIE));
    if (json_is_integer(ck))
        snprintf(key, n, "%s|%lld", p->host ? p->host : "", (long long)json_integer_value(ck));
    else
        key[0] = 0;
}

/* A conn id p has not seen on a socket another process (or p's previous image) holds: an fd
 * inherited across exec, or passed over a UNIX socket. The socket's cookie says which. A conn
 * already finished but still waiting the match window out opens again. */
static struct rsw_conn *same_socket(struct rsw_engine *e, struct rsw_proc *p, const json_t *line)
{
    char key[300];
    cookie_key(key, sizeof key, p, line);
    struct rsw_conn *c = key[0] ? rsw_map_get(e->cookies, key) : NULL;
    if (!c)
        return NULL;
    unhold(e, c);
    if (c->nholders == 0)
        rsw_conn_revive(c, p);
    c->state = RSW_OPEN;
    return c;
}

static void note_cookie(struct rsw_engine *e, const struct rsw_proc *p, struct rsw_conn *c,
                        const json_t *line)
{
    char key[300];
    if (c->cookie_key)
        return;
    cookie_key(key, sizeof key, p, line);
    if (!key[0] || rsw_map_get(e->cookies, key))
        return;
    c->cookie_key = strdup(key);
    if (!c->cookie_key)
        abort();
    rsw_map_set(e->cookies, key, c);
}

static void handle(struct rsw_engine *e, json_t *line, int input)
{
    enum rsw_ev ev = rsw_ev_parse(rsw_jstr(line, K(EV), NULL)); /* the reader checked it */
    long long ts = rsw_jint(line, K(TS), 0);
    flush_holds(e, ts, 0);
    struct rsw_proc *p = proc_for(e, input, line, ev == RSW_EV_START);
    if (ts > p->last_ts)
        p->last_ts = ts;
    if (ev == RSW_EV_START)
        return;
    if (ev == RSW_EV_MODULE) {
        rsw_modules_add(p->modules, line);
        return;
    }
    if (ev == RSW_EV_STACK) {
        rsw_proc_add_stack(p, line);
        return;
    }
    if (ev == RSW_EV_UNLOAD) /* module ids are never reused: older frames still resolve */
        return;
    if (ev == RSW_EV_SUPPRESSED || ev == RSW_EV_TALLY || ev == RSW_EV_LOST ||
        ev == RSW_EV_LOG_MAX) {
        counted(e, p, line, ev, input);
        return;
    }
    attach_stack(e, p, line, input);
    const char *action = rsw_jstr(line, K(ACTION), NULL);
    int killed = ev == RSW_EV_SIGNAL && action && strcmp(action, "kill") == 0;
    long long id = rsw_jint(line, K(CONN), -1);
    if (id < 0) {
        const char *err = rsw_jstr(line, K(ERRNO), NULL);
        if (ev == RSW_EV_ERROR && err)
            loose(e, p, line, err, 0);
        else if (ev == RSW_EV_SIGNAL)
            loose(e, p, line, "SIGPIPE", 1);
    } else {
        char key[32];
        snprintf(key, sizeof key, "%lld", id);
        struct rsw_conn *c = rsw_map_get(p->open, key);
        if (!c)
            c = same_socket(e, p, line);
        if (c) {
            rsw_conn_hold(c, p, id);
        } else {
            c = rsw_conn_new(p, id, ts);
        }
        rsw_map_set(p->open, key, c);
        note_cookie(e, p, c, line);
        if (ev == RSW_EV_CLOSE && c->nholders > 1) { /* one copy closed; others hold it */
            drop_copy(e, p, id, c);
            rsw_conn_copy_closed(c, line, p);
        } else {
            rsw_conn_apply(c, line, ev, p);
            struct rsw_conn *other = rsw_match_add(&e->mt, c);
            if (other)
                unhold(e, other);
            if (ev == RSW_EV_ACCEPT && c->local[0])
                rsw_map_set(e->servers, c->local, p);
            /* v3 failures and errors modes write no close after a failed connect */
            if (ev == RSW_EV_CLOSE || (ev == RSW_EV_ERROR && rsw_proc_connect_failure_ends(p) &&
                                       strcmp(rsw_jstr(line, K(OP), ""), "connect") == 0))
                drop_copy(e, p, id, c);
        }
    }
    if (killed) {
        p->killed_by = "SIGPIPE";
        proc_end(e, p);
    }
}

static void input_end(struct rsw_engine *e, int input)
{
    for (struct rsw_proc *p = e->phead; p; p = p->next)
        if (p->input == input && !p->ended)
            proc_end(e, p);
}

/* Several hosts among the logs' first lines → ids carry the host. */
static int multi_host(struct rsw_merge *m, int n)
{
    const char *first = NULL;
    for (int i = 0; i < n; i++) {
        const char *h = rsw_jstr(rsw_merge_first(m, i), K(HOST), NULL);
        if (!h)
            continue;
        if (first && strcmp(first, h) != 0)
            return 1;
        first = h;
    }
    return 0;
}

static void free_procs(struct rsw_engine *e)
{
    struct rsw_proc *p = e->phead, *n;
    for (; p; p = n) {
        n = p->next;
        rsw_proc_free(p);
    }
}

/* The program `rstwatch run` left unobserved in one of the directories given, from the note it
 * wrote there (RSW_NOT_OBSERVED_NOTE). name is a copy for the caller to free. */
static struct rsw_watch watch_from_notes(char *const *args, int nargs)
{
    struct rsw_watch w = {0, NULL};
    for (int i = 0; i < nargs && w.pid <= 0; i++) {
        char *path;
        struct stat st;
        if (strcmp(args[i], "-") == 0 || stat(args[i], &st) != 0 || !S_ISDIR(st.st_mode))
            continue;
        if (asprintf(&path, "%s/%s", args[i], RSW_NOT_OBSERVED_NOTE) < 0)
            abort();
        json_t *note = json_load_file(path, 0, NULL);
        free(path);
        if (rsw_jint(note, "pid", 0) > 0) {
            w.pid = rsw_jint(note, "pid", 0);
            w.name = strdup(rsw_jstr(note, "name", "?"));
            if (!w.name)
                abort();
        }
        json_decref(note);
    }
    return w;
}

/* --strict: a log that lost events is incomplete; says so for each (unless quiet). */
static int incomplete(json_t *summary, int quiet)
{
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(summary, "lost"), i, x)
    {
        char what[1024];
        rsw_fmt_lost(what, sizeof what, x);
        if (!quiet)
            fprintf(stderr, "rstwatch: %s: %s; the log is incomplete (--strict)\n",
                    rsw_jstr(x, "log", "?"), what);
    }
    return json_array_size(json_object_get(summary, "lost")) > 0;
}

int rsw_report(char *const *args, int nargs, const struct rsw_report_opts *o, json_t **summary_out)
{
    char **inputs = NULL;
    int n = rsw_expand_inputs(args, nargs, o->quiet, &inputs);
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
    e.cookies = rsw_map_new();
    e.bypid = rsw_map_new();
    e.sum = rsw_summary_new();
    e.sym = rsw_sym_new();
    rsw_sym_set_quiet(e.sym, o->quiet);
    e.counts = rsw_counts_new();
    e.warned = rsw_map_new();
    e.paths = inputs;
    rsw_match_init(&e.mt);
    e.multi_host = multi_host(m, n);
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
            input_end(&e, input);
            continue;
        }
        handle(&e, line, input);
        json_decref(line);
    }
    for (struct rsw_proc *p = e.phead; p; p = p->next)
        proc_end(&e, p);
    flush_holds(&e, 0, 1);
    struct rsw_watch noted =
        o->watch.pid > 0 ? (struct rsw_watch){0, NULL} : watch_from_notes(args, nargs);
    json_t *summary =
        rsw_summary_json(e.sum, e.phead, noted.pid > 0 ? &noted : &o->watch, &sk, inputs, n);
    free((char *)noted.name);
    int failures_mode = 0;
    for (struct rsw_proc *p = e.phead; p; p = p->next)
        if (p->mode && strcmp(p->mode, "failures") == 0 && rsw_pid_passes(&o->flt, p->pid))
            failures_mode = 1;
    rsw_counts_summary(e.counts, summary, failures_mode);
    if (o->strict && incomplete(summary, o->quiet))
        sk.failed = 1;
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
    rsw_map_free(e.cookies);
    rsw_map_free(e.bypid);
    rsw_summary_free(e.sum);
    rsw_sym_free(e.sym);
    rsw_counts_free(e.counts);
    rsw_map_free(e.warned);
    free_procs(&e);
    rsw_merge_close(m);
out:
    for (int i = 0; i < n; i++)
        free(inputs[i]);
    free(inputs);
    return status;
}
