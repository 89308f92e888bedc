/* emit.c: turns a finished connection (and its matched other end) into the report's CONN json,
 * and applies the command line's filters to it. */
#include "model.h"
#include "report.h"
#include "symbolize.h"
#include <stdlib.h>
#include <string.h>

struct rsw_item {
    json_t *ev;
    long long ts;
    int order;
};

static int rsw_cmp_item(const void *a, const void *b)
{
    const struct rsw_item *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return x->order - y->order;
}

static json_t *rsw_jstr_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

static void rsw_id(char *buf, size_t len, int multi_host, const struct rsw_conn *c)
{
    if (multi_host)
        snprintf(buf, len, "%s/%lld:%lld", c->proc->host ? c->proc->host : "?", c->proc->pid,
                 c->conn);
    else
        snprintf(buf, len, "%lld:%lld", c->proc->pid, c->conn);
}

/* One output EVENT from a stored one. */
static json_t *rsw_event(struct rsw_symbolizer *sym, json_t *stored, long long base,
                         const char *side, long long pid)
{
    json_t *o = json_object();
    long long ts = json_integer_value(json_object_get(stored, "ts"));
    const char *ev = json_string_value(json_object_get(stored, "ev"));
    json_object_set_new(o, "t", json_integer(ts - base));
    json_object_set_new(o, "ts", json_integer(ts));
    json_object_set_new(o, "side", json_string(side));
    json_object_set_new(o, "pid", json_integer(pid));
    json_object_set(o, "ev", json_object_get(stored, "ev"));
    static const char *const copy[] = {"call", "errno", "ret", "text"};
    for (size_t i = 0; i < 4; i++) {
        json_t *v = json_object_get(stored, copy[i]);
        if (v)
            json_object_set(o, copy[i], v);
    }
    json_t *bt = json_object_get(stored, "bt");
    if (json_is_array(bt)) {
        json_t *copy_bt = json_deep_copy(bt);
        rsw_sym_frames(sym, copy_bt, ev && strcmp(ev, "signal") == 0);
        json_object_set_new(o, "bt", copy_bt);
    }
    return o;
}

/* "… 57 more events not shown: error EPIPE ×57" */
static json_t *rsw_more(const struct rsw_conn *c)
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

static void rsw_add_side(struct rsw_item **items, size_t *n, size_t *cap, json_t *ev, int order)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 32;
        *items = realloc(*items, *cap * sizeof(**items));
        if (!*items)
            abort();
    }
    (*items)[*n] = (struct rsw_item){ev, json_integer_value(json_object_get(ev, "ts")), order};
    (*n)++;
}

static json_t *rsw_events(struct rsw_symbolizer *sym, const struct rsw_conn *x,
                          const struct rsw_conn *y, const struct rsw_verdict *v)
{
    struct rsw_item *items = NULL;
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
            json_t *o = rsw_event(sym, ev, x->start_ts, s ? "peer" : "local", c->proc->pid);
            json_array_append_new(extra, o);
            rsw_add_side(&items, &n, &cap, o, order++);
        }
        if (c->dropped) {
            json_t *m = rsw_more(c);
            json_t *o = rsw_event(sym, m, x->start_ts, s ? "peer" : "local", c->proc->pid);
            json_decref(m);
            json_array_append_new(extra, o);
            rsw_add_side(&items, &n, &cap, o, order++);
        }
    }
    if (v->kind == RSW_V_STALE_AFTER_PEER_RESTART) {
        char text[200];
        snprintf(text, sizeof text, "the peer's process restarted: pid %lld started",
                 x->facts.peer_restart_pid);
        json_t *m = json_pack("{s:I,s:s,s:s}", "ts", (json_int_t)x->facts.peer_restart_ts, "ev",
                              "peer-restart", "text", text);
        json_t *o = rsw_event(sym, m, x->start_ts, "peer", x->facts.peer_restart_pid);
        json_decref(m);
        json_array_append_new(extra, o);
        rsw_add_side(&items, &n, &cap, o, order++);
    }
    qsort(items, n, sizeof(*items), rsw_cmp_item);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append(arr, items[i].ev);
    free(items);
    json_decref(extra);
    return arr;
}

json_t *rsw_build_conn(struct rsw_symbolizer *sym, int multi_host, struct rsw_conn *x,
                       struct rsw_conn *y, const struct rsw_verdict *v)
{
    char id[160];
    json_t *o = json_object();
    rsw_id(id, sizeof id, multi_host, x);
    json_object_set_new(o, "id", json_string(id));
    json_object_set_new(o, "pid", json_integer(x->proc->pid));
    json_object_set_new(o, "exe", rsw_jstr_or_null(x->proc->exe));
    json_object_set_new(o, "host", rsw_jstr_or_null(x->proc->host));
    json_object_set_new(o, "conn", json_integer(x->conn));
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
    json_object_set_new(o, "bytes_after_peer_close", v->bytes_after_peer_close >= 0
                                                         ? json_integer(v->bytes_after_peer_close)
                                                         : json_null());
    json_object_set_new(o, "rule",
                        v->kind == RSW_V_INJECTED ? rsw_jstr_or_null(x->facts.inject_spec)
                                                  : json_null());
    int killed = x->facts.signal_action && strcmp(x->facts.signal_action, "kill") == 0;
    json_object_set_new(o, "killed_by", killed ? json_string("SIGPIPE") : json_null());
    json_t *errs = json_object();
    const char *k;
    json_t *val;
    for (int s = 0; s < 2; s++) {
        const struct rsw_conn *c = s ? y : x;
        if (!c)
            continue;
        json_object_foreach(c->errnos, k, val)
        {
            json_int_t have = json_integer_value(json_object_get(errs, k));
            json_object_set_new(errs, k, json_integer(have + json_integer_value(val)));
        }
    }
    if (x->connect_err_pending && x->facts.err_errno) /* the connect's errno, no error line */
        json_object_set_new(errs, x->facts.err_errno,
                            json_integer(json_integer_value(json_object_get(errs, x->facts.err_errno)) + 1));
    json_object_set_new(o, "errors", errs);
    json_object_set_new(o, "events", rsw_events(sym, x, y, v));
    if (y) {
        rsw_id(id, sizeof id, multi_host, y);
        json_object_set_new(o, "peer_side",
                            json_pack("{s:s,s:I,s:o,s:o,s:I,s:s}", "id", id, "pid",
                                      (json_int_t)y->proc->pid, "exe",
                                      rsw_jstr_or_null(y->proc->exe), "host",
                                      rsw_jstr_or_null(y->proc->host), "conn", (json_int_t)y->conn,
                                      "role", y->role));
    } else {
        json_object_set_new(o, "peer_side", json_null());
    }
    return o;
}

/* Splits "1.2.3.4:80" / "[::1]:80" / "::1" / "1.2.3.4" into host and port (-1: none). */
static void rsw_split(const char *s, char *host, size_t hl, long *port)
{
    *port = -1;
    const char *colon = strrchr(s, ':');
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        size_t n = close ? (size_t)(close - s - 1) : strlen(s + 1);
        snprintf(host, hl, "%.*s", (int)n, s + 1);
        if (close && close[1] == ':')
            *port = strtol(close + 2, NULL, 10);
        return;
    }
    if (colon && strchr(s, ':') == colon && s[0] != '/' && s[0] != '@') {
        snprintf(host, hl, "%.*s", (int)(colon - s), s);
        *port = strtol(colon + 1, NULL, 10);
        return;
    }
    snprintf(host, hl, "%s", s);
}

int rsw_peer_spec_ok(const char *spec)
{
    if (!spec || !*spec)
        return 0;
    if (spec[0] == '/' || spec[0] == '@')
        return 1;
    char host[256];
    long port;
    rsw_split(spec, host, sizeof host, &port);
    if (!host[0])
        return 0;
    const char *colon = strrchr(spec, ':');
    if (port >= 0 || (colon && (spec[0] == '[' || strchr(spec, ':') == colon))) {
        char *end;
        const char *p = spec[0] == '[' ? strchr(spec, ']') : colon;
        if (!p)
            return 0;
        if (p[0] == ']' && p[1] == 0)
            return 1;
        p += p[0] == ']' ? 2 : 1;
        long v = strtol(p, &end, 10);
        return *p && *end == 0 && v >= 0 && v <= 65535;
    }
    return 1;
}

int rsw_peer_matches(const char *spec, const char *addr)
{
    if (!addr || !*addr)
        return 0;
    if (spec[0] == '/' || spec[0] == '@')
        return strcmp(spec, addr) == 0;
    char sh[256], ah[256];
    long sp, ap;
    rsw_split(spec, sh, sizeof sh, &sp);
    rsw_split(addr, ah, sizeof ah, &ap);
    return strcmp(sh, ah) == 0 && (sp < 0 || sp == ap);
}

int rsw_conn_passes(const struct rsw_filters *f, json_t *conn, const struct rsw_conn *x,
                    const struct rsw_conn *y)
{
    if (f->npids) {
        int hit = 0;
        for (int i = 0; i < f->npids; i++)
            if (f->pids[i] == x->proc->pid || (y && f->pids[i] == y->proc->pid))
                hit = 1;
        if (!hit)
            return 0;
    }
    if (f->peer && !rsw_peer_matches(f->peer, x->peer) && !(y && rsw_peer_matches(f->peer, y->peer)))
        return 0;
    const char *verdict = json_string_value(json_object_get(conn, "verdict"));
    if (f->verdict >= 0 && strcmp(verdict, rsw_verdict_name(f->verdict)) != 0)
        return 0;
    if (f->errors_only && strcmp(verdict, "clean") == 0 &&
        json_object_size(json_object_get(conn, "errors")) == 0 && !x->facts.signal_action &&
        !(y && y->facts.signal_action))
        return 0;
    return 1;
}
