/* conn_json.c: a finished connection (and its matched other end) as the report's CONN json. */
#include "conn_json.h"
#include "jsonutil.h"
#include "modules.h"
#include "symbolize.h"
#include <stdlib.h>
#include <string.h>

struct item {
    json_t *ev;
    long long ts;
    int order;
};

static int cmp_item(const void *a, const void *b)
{
    const struct item *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return x->order - y->order;
}

static json_t *str_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

static void conn_id(char *buf, size_t len, int multi_host, const struct rsw_conn *c)
{
    if (multi_host)
        snprintf(buf, len, "%s/%lld:%lld", c->proc->host ? c->proc->host : "?", c->proc->pid,
                 c->conn);
    else
        snprintf(buf, len, "%lld:%lld", c->proc->pid, c->conn);
}

/* One output EVENT from a stored one; its backtrace resolved with the modules of its process. */
static json_t *out_event(struct rsw_symbolizer *sym, json_t *stored, long long base,
                         const char *side, const struct rsw_proc *proc, long long pid)
{
    json_t *o = json_object();
    long long ts = json_integer_value(json_object_get(stored, "ts"));
    json_t *shift = json_object_get(stored, "shift"); /* the peer's clock, made causal */
    if (json_is_integer(shift))
        ts -= json_integer_value(shift);
    int signal = rsw_ev_parse(rsw_jstr(stored, "ev", NULL)) == RSW_EV_SIGNAL;
    json_object_set_new(o, "t", json_integer(ts - base));
    json_object_set_new(o, "ts", json_integer(ts));
    json_object_set_new(o, "side", json_string(side));
    json_t *by = json_object_get(stored, "pid"); /* another holder's event */
    json_object_set_new(o, "pid", json_is_integer(by) ? json_incref(by) : json_integer(pid));
    json_object_set(o, "ev", json_object_get(stored, "ev"));
    static const char *const copy[] = {"call", "errno", "ret", "text"};
    for (size_t i = 0; i < 4; i++) {
        json_t *v = json_object_get(stored, copy[i]);
        if (v)
            json_object_set(o, copy[i], v);
    }
    json_t *bt = json_object_get(stored, "bt"), *resolved = json_object_get(stored, "frames");
    if (json_is_array(resolved)) { /* resolved with its own process's modules when stored */
        json_t *frames = json_deep_copy(resolved);
        rsw_sym_frames(sym, frames, signal);
        json_object_set_new(o, "bt", frames);
    } else if (json_is_array(bt)) {
        json_t *frames = rsw_modules_frames(proc ? proc->modules : NULL, bt);
        rsw_sym_frames(sym, frames, signal);
        json_object_set_new(o, "bt", frames);
    }
    return o;
}

/* "… 57 more events not shown: error EPIPE ×57" */
static json_t *more_event(const struct rsw_conn *c)
{
    char text[256];
    int n = snprintf(text, sizeof text, "… %lld more not shown:", c->dropped);
    const char *k;
    json_t *v;
    json_object_foreach(c->dropped_kinds, k, v)
    {
        if (n > 0 && (size_t)n < sizeof text)
            n += snprintf(text + n, sizeof text - n, " %s ×%lld", k,
                          (long long)json_integer_value(v));
    }
    return json_pack("{s:I,s:s,s:s}", "ts", (json_int_t)c->dropped_ts, "ev", "more", "text", text);
}

static void add_item(struct item **items, size_t *n, size_t *cap, json_t *ev, int order)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 32;
        *items = realloc(*items, *cap * sizeof(**items));
        if (!*items)
            abort();
    }
    long long t = json_integer_value(json_object_get(ev, "t")); /* shifted, when it is */
    (*items)[*n] = (struct item){ev, t, order};
    (*n)++;
}

static json_t *out_events(struct rsw_symbolizer *sym, const struct rsw_conn *x,
                          const struct rsw_conn *y, const struct rsw_verdict *v)
{
    struct item *items = NULL;
    size_t n = 0, cap = 0;
    int order = 0;
    const struct rsw_conn *sides[2] = {x, y};
    json_t *extra = json_array(); /* synthetic events, owned here */
    for (int s = 0; s < 2; s++) {
        const struct rsw_conn *c = sides[s];
        if (!c)
            continue;
        size_t i;
        json_t *ev;
        json_array_foreach(c->events, i, ev)
        {
            if (s && x->facts.peer_skew > 0)
                json_object_set_new(ev, "shift", json_integer(x->facts.peer_skew));
            json_t *o =
                out_event(sym, ev, x->start_ts, s ? "peer" : "local", c->proc, c->proc->pid);
            json_object_del(ev, "shift");
            json_array_append_new(extra, o);
            add_item(&items, &n, &cap, o, order++);
        }
        if (c->dropped) {
            json_t *m = more_event(c);
            json_t *o = out_event(sym, m, x->start_ts, s ? "peer" : "local", c->proc, c->proc->pid);
            json_decref(m);
            json_array_append_new(extra, o);
            add_item(&items, &n, &cap, o, order++);
        }
    }
    if (v->kind == RSW_V_STALE_AFTER_PEER_RESTART) {
        char text[200];
        snprintf(text, sizeof text, "the peer's process restarted: pid %lld started",
                 x->facts.peer_restart_pid);
        json_t *m = json_pack("{s:I,s:s,s:s}", "ts", (json_int_t)x->facts.peer_restart_ts, "ev",
                              "peer-restart", "text", text);
        json_t *o = out_event(sym, m, x->start_ts, "peer", NULL, x->facts.peer_restart_pid);
        json_decref(m);
        json_array_append_new(extra, o);
        add_item(&items, &n, &cap, o, order++);
    }
    qsort(items, n, sizeof(*items), cmp_item);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append(arr, items[i].ev);
    free(items);
    json_decref(extra);
    return arr;
}

static json_t *pids_of(const struct rsw_conn *c)
{
    json_t *pids = json_array();
    for (int i = 0; i < c->npids; i++)
        json_array_append_new(pids, json_integer(c->pids[i]));
    return pids;
}

json_t *rsw_build_conn(struct rsw_symbolizer *sym, int multi_host, struct rsw_conn *x,
                       struct rsw_conn *y, const struct rsw_verdict *v)
{
    char id[160];
    json_t *o = json_object();
    conn_id(id, sizeof id, multi_host, x);
    json_object_set_new(o, "id", json_string(id));
    json_object_set_new(o, "pid", json_integer(x->proc->pid));
    json_object_set_new(o, "name", str_or_null(x->proc->name));
    json_object_set_new(o, "exe", str_or_null(x->proc->exe));
    json_object_set_new(o, "host", str_or_null(x->proc->host));
    json_object_set_new(o, "conn", json_integer(x->conn));
    json_object_set_new(o, "pids", pids_of(x));
    json_object_set_new(o, "fd", json_integer(x->fd));
    json_object_set_new(o, "family", json_string(x->family));
    json_object_set_new(o, "role", json_string(x->role));
    json_object_set_new(o, "local", json_string(x->local));
    json_object_set_new(o, "peer", json_string(x->peer));
    long long end = x->end_ts;
    if (y && y->end_ts > end)
        end = y->end_ts;
    json_object_set_new(o, "start_ts", json_integer(x->start_ts));
    json_object_set_new(o, "end_ts", json_integer(end));
    json_object_set_new(o, "bytes_in", json_integer(x->bytes_in));
    json_object_set_new(o, "bytes_out", json_integer(x->bytes_out));
    json_object_set_new(o, "verdict", json_string(rsw_verdict_name(v->kind)));
    json_object_set_new(o, "explanation", json_string(v->explanation));
    json_object_set_new(o, "bytes_after_peer_close",
                        v->bytes_after_peer_close >= 0 ? json_integer(v->bytes_after_peer_close)
                                                       : json_null());
    json_object_set_new(
        o, "rule", v->kind == RSW_V_INJECTED ? str_or_null(x->facts.inject_spec) : json_null());
    int killed = x->facts.signal_action && strcmp(x->facts.signal_action, "kill") == 0;
    json_object_set_new(o, "killed_by", killed ? json_string("SIGPIPE") : json_null());
    json_t *errs = json_object();
    const char *k;
    json_t *val;
    for (int s = 0; s < 2; s++) {
        const struct rsw_conn *c = s ? y : x;
        if (!c)
            continue;
        json_object_foreach(c->errnos, k, val) rsw_jcount(errs, k, json_integer_value(val));
    }
    if (x->connect_err_pending && x->facts.err_errno) /* the connect's errno, no error line */
        rsw_jcount(errs, x->facts.err_errno, 1);
    json_object_set_new(o, "errors", errs);
    json_object_set_new(o, "events", out_events(sym, x, y, v));
    if (y)
        json_object_set_new(o, "peer_skew_ns", json_integer(x->facts.peer_skew));
    if (y) {
        conn_id(id, sizeof id, multi_host, y);
        json_object_set_new(o, "peer_side",
                            json_pack("{s:s,s:I,s:o,s:o,s:o,s:o,s:I,s:s}", "id", id, "pid",
                                      (json_int_t)y->proc->pid, "pids", pids_of(y), "name",
                                      str_or_null(y->proc->name), "exe", str_or_null(y->proc->exe),
                                      "host", str_or_null(y->proc->host), "conn",
                                      (json_int_t)y->conn, "role", y->role));
    } else {
        json_object_set_new(o, "peer_side", json_null());
    }
    return o;
}
