/* conn_model.c: the connection state machine: folds log lines into facts and a short timeline. */
#include "conn_model.h"
#include "filters.h"
#include "fmt.h"
#include "jsonutil.h"
#include "map.h"
#include "modules.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define K(ID) RSW_KEY(ID)

enum { OWN_ERRNO, OWN_CALL, OWN_OP, OWN_SPEC, OWN_INJ_ERRNO, OWN_SIGACT };

static char *dup_or_empty(const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d)
        abort();
    return d;
}

static char *dup_or_null(const char *s)
{
    return s ? dup_or_empty(s) : NULL;
}

struct rsw_proc *rsw_proc_new(int input, const json_t *line, int is_start)
{
    struct rsw_proc *p = calloc(1, sizeof(*p));
    if (!p)
        abort();
    p->input = input;
    p->pid = rsw_jint(line, K(PID), 0);
    p->ppid = -1;
    p->start_ts = p->last_ts = rsw_jint(line, K(TS), 0);
    p->fork_ts = RSW_NOTS;
    p->open = rsw_map_new();
    p->modules = rsw_modules_new();
    p->stacks = rsw_map_new();
    p->rate = p->log_max = -1;
    if (is_start) {
        p->started = 1;
        p->ppid = rsw_jint(line, K(PPID), -1);
        p->host = dup_or_null(rsw_jstr(line, K(HOST), NULL));
        p->exe = dup_or_null(rsw_jstr(line, K(EXE), NULL));
        p->origin = dup_or_null(rsw_jstr(line, K(ORIGIN), NULL));
        const char *name = rsw_jstr(line, K(NAME), NULL);
        p->name = dup_or_null(name && *name ? name : rsw_basename(p->exe));
        p->mode = dup_or_null(rsw_jstr(line, K(MODE), NULL));
        p->rate = rsw_jint(line, K(RATE), -1);
        p->log_max = rsw_jint(line, K(LOG_MAX), -1);
    }
    return p;
}

static void stack_free(const char *key, void *val, void *arg)
{
    (void)key;
    (void)arg;
    json_decref(val);
}

void rsw_proc_free(struct rsw_proc *p)
{
    if (!p)
        return;
    rsw_map_free(p->open);
    rsw_modules_free(p->modules);
    if (p->stacks)
        rsw_map_each(p->stacks, stack_free, NULL);
    rsw_map_free(p->stacks);
    free(p->mode);
    free(p->host);
    free(p->exe);
    free(p->origin);
    free(p->name);
    free(p);
}

void rsw_proc_add_stack(struct rsw_proc *p, const json_t *line)
{
    long long id = rsw_jint(line, K(ID), -1);
    json_t *bt = json_object_get(line, K(BT));
    if (id < 0 || !json_is_array(bt))
        return;
    char key[32];
    snprintf(key, sizeof key, "%lld", id);
    json_decref(rsw_map_get(p->stacks, key));
    rsw_map_set(p->stacks, key, json_incref(bt));
}

json_t *rsw_proc_stack(const struct rsw_proc *p, long long id)
{
    char key[32];
    snprintf(key, sizeof key, "%lld", id);
    return rsw_map_get(p->stacks, key);
}

int rsw_proc_connect_failure_ends(const struct rsw_proc *p)
{
    return p->mode && (strcmp(p->mode, "failures") == 0 || strcmp(p->mode, "errors") == 0);
}

/* Stores s in the conn-owned slot and returns the copy. */
static const char *own(struct rsw_conn *c, int slot, const char *s)
{
    free(c->own[slot]);
    c->own[slot] = dup_or_null(s);
    return c->own[slot];
}

struct rsw_conn *rsw_conn_new(struct rsw_proc *p, long long id, long long ts)
{
    struct rsw_conn *c = calloc(1, sizeof(*c));
    if (!c)
        abort();
    c->proc = p;
    c->conn = id;
    c->fd = -1;
    c->family = dup_or_empty("?");
    c->role = dup_or_empty("adopted");
    c->local = dup_or_empty("");
    c->peer = dup_or_empty("");
    c->start_ts = c->end_ts = ts;
    rsw_conn_hold(c, p, id);
    c->close_ts = RSW_NOTS;
    c->close_bytes_in = -1;
    c->events = json_array();
    c->dropped_kinds = json_object();
    c->errnos = json_object();
    rsw_facts_init(&c->facts);
    c->facts.start_ts = ts;
    return c;
}

void rsw_conn_free(struct rsw_conn *c)
{
    if (!c)
        return;
    free(c->family);
    free(c->role);
    free(c->local);
    free(c->peer);
    free(c->tuple_key);
    free(c->cookie_key);
    free(c->holders);
    for (size_t i = 0; i < sizeof(c->own) / sizeof(c->own[0]); i++)
        free(c->own[i]);
    json_decref(c->events);
    json_decref(c->dropped_kinds);
    json_decref(c->errnos);
    free(c);
}

int rsw_conn_matchable(const struct rsw_conn *c)
{
    int fam = rsw_family_parse(c->family);
    return c->established && (fam == RSW_FAM_INET || fam == RSW_FAM_INET6) && c->local[0] &&
           c->peer[0];
}

static void set_field(char **field, const char *v)
{
    if (v && *v) {
        free(*field);
        *field = dup_or_empty(v);
    }
}

static void set_addr(char **field, const char *v)
{
    char buf[128];
    set_field(field, rsw_addr_canon(v, buf, sizeof buf));
}

static int same(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/* Keeps the event unless the timeline is full (then it is only counted). */
static void store(struct rsw_conn *c, json_t *line, enum rsw_ev ev, const char *text,
                  const struct rsw_proc *by)
{
    int is_err = ev == RSW_EV_ERROR;
    if (json_array_size(c->events) >= RSW_MAX_EVENTS ||
        (is_err && c->stored_errors >= RSW_MAX_ERROR_EVENTS)) {
        char k[64];
        const char *e = rsw_jstr(line, K(ERRNO), NULL);
        snprintf(k, sizeof k, "%s%s%s", rsw_ev_names[ev], e ? " " : "", e ? e : "");
        c->dropped++;
        c->dropped_ts = rsw_jint(line, K(TS), 0);
        rsw_jcount(c->dropped_kinds, k, 1);
        return;
    }
    c->stored_errors += is_err;
    json_t *o = json_object();
    json_object_set_new(o, "ts", json_integer(rsw_jint(line, K(TS), 0)));
    json_object_set_new(o, "ev", json_string(rsw_ev_names[ev]));
    const char *const copy[] = {K(CALL), K(ERRNO), K(RET)};
    for (size_t i = 0; i < 3; i++) {
        json_t *v = json_object_get(line, copy[i]);
        if (v)
            json_object_set(o, copy[i], v);
    }
    json_t *bt = json_object_get(line, K(BT));
    if (by && by != c->proc) { /* another holder's: its pid, its modules' frames */
        char t[300];
        snprintf(t, sizeof t, "pid %lld: %s", by->pid, text);
        json_object_set_new(o, "text", json_string(t));
        json_object_set_new(o, "pid", json_integer(by->pid));
        if (json_is_array(bt))
            json_object_set_new(o, "frames", rsw_modules_frames(by->modules, bt));
    } else {
        json_object_set_new(o, "text", json_string(text));
        if (json_is_array(bt))
            json_object_set(o, "bt", bt);
    }
    json_array_append_new(c->events, o);
}

static void take_bytes(struct rsw_conn *c, json_t *line)
{
    long long in = rsw_jint(line, K(BYTES_IN), -1), out = rsw_jint(line, K(BYTES_OUT), -1);
    if (in > c->bytes_in)
        c->bytes_in = in;
    if (out > c->bytes_out)
        c->bytes_out = out;
}

static const char *call_or(json_t *line, const char *dflt)
{
    return rsw_jstr(line, K(CALL), dflt);
}

/* "-1 EPIPE" or "0" */
static void result(char *buf, size_t len, json_t *line)
{
    const char *e = rsw_jstr(line, K(ERRNO), NULL);
    long long ret = rsw_jint(line, K(RET), e ? -1 : 0);
    if (e)
        snprintf(buf, len, "%lld %s", ret, e);
    else
        snprintf(buf, len, "%lld", ret);
}

static void apply_error(struct rsw_conn *c, json_t *line, long long ts, char *text, size_t tl)
{
    const char *e = rsw_jstr(line, K(ERRNO), NULL);
    const char *op = rsw_jstr(line, K(OP), NULL);
    struct rsw_facts *f = &c->facts;
    json_t *tcp = json_object_get(line, K(TCP));
    long long unacked = json_is_object(tcp) ? rsw_jint(tcp, K(UNACKED), -1) : -1;
    int injected = json_is_true(json_object_get(line, K(INJECTED)));
    char res[48];
    result(res, sizeof res, line);
    int n = snprintf(text, tl, "%s → %s", call_or(line, "?"), res);
    if (same(rsw_jstr(line, K(CALL), NULL), "getsockopt"))
        n = snprintf(text, tl, "getsockopt(SO_ERROR) → %s", e ? e : "?");
    int show_bytes = rsw_jint(line, K(BYTES_OUT), -1) >= 0 && !same(op, "connect");
    if (show_bytes && n > 0 && (size_t)n < tl)
        n += snprintf(text + n, tl - n, " (out %lld B", rsw_jint(line, K(BYTES_OUT), 0));
    if (show_bytes && unacked > 0 && n > 0 && (size_t)n < tl)
        n += snprintf(text + n, tl - n, ", %lld B unacked", unacked);
    if (show_bytes && n > 0 && (size_t)n < tl)
        n += snprintf(text + n, tl - n, ")");
    if (injected && n > 0 && (size_t)n < tl)
        snprintf(text + n, tl - n, " [injected]");
    f->n_errors++;
    c->connect_err_pending = 0;
    if (e)
        rsw_jcount(c->errnos, e, 1);
    if (injected)
        f->err_injected = 1;
    if (!f->err_errno && e) {
        f->err_errno = own(c, OWN_ERRNO, e);
        f->err_call = own(c, OWN_CALL, rsw_jstr(line, K(CALL), NULL));
        f->err_op = own(c, OWN_OP, op);
        f->err_ts = ts;
        f->err_unacked = unacked;
        f->err_bytes_out = rsw_jint(line, K(BYTES_OUT), -1);
    } else if (same(f->err_errno, e) && f->err_unacked < 0) {
        f->err_unacked = unacked; /* the EPIPE a handled SIGPIPE was followed by */
    }
    if (same(f->err_op, "connect") || same(op, "connect"))
        return;
    c->established = 1;
}

static void apply_signal(struct rsw_conn *c, json_t *line, long long ts, char *text, size_t tl)
{
    struct rsw_facts *f = &c->facts;
    const char *act = rsw_jstr(line, K(ACTION), NULL);
    const char *what = same(act, "kill")      ? "killed the process"
                       : same(act, "handler") ? "the program's handler ran"
                       : same(act, "survive") ? "logged and ignored (survive)"
                                              : "delivered";
    snprintf(text, tl, "%s in %s: %s", rsw_jstr(line, K(SIG), "SIGPIPE"), call_or(line, "?"), what);
    if (f->signal_ts == RSW_NOTS) {
        f->signal_ts = ts;
        f->signal_action = own(c, OWN_SIGACT, act ? act : "?");
    }
    if (!f->err_errno) { /* the write never returned: the SIGPIPE is the error */
        f->err_errno = own(c, OWN_ERRNO, "EPIPE");
        f->err_call = own(c, OWN_CALL, call_or(line, "write"));
        f->err_op = own(c, OWN_OP, "write");
        f->err_ts = ts;
        f->err_bytes_out = rsw_jint(line, K(BYTES_OUT), -1);
    }
}

/* What a read returning 0 means on this kind of channel. */
static const char *eof_words(const char *family)
{
    switch (rsw_family_parse(family)) {
    case RSW_FAM_INET:
    case RSW_FAM_INET6:
        return "the peer's FIN";
    case RSW_FAM_UNIX:
        return "the peer closed its end";
    case RSW_FAM_PIPE:
        return "the writer closed its end";
    default:
        return "end of stream";
    }
}

/* A failed connect is logged twice: the `connect` line (ret -1, errno X), then the `error` line
 * for the same call (with the backtrace). When line is that error and the connect is the last
 * stored event, the connect is dropped so the call shows once. Returns the connect's time (the
 * moment the call returned), or RSW_NOTS when there is nothing to fold. */
static long long fold_connect(struct rsw_conn *c, json_t *line)
{
    size_t n = json_array_size(c->events);
    const char *e = rsw_jstr(line, K(ERRNO), NULL);
    if (!c->connect_err_pending || !n || !e || !same(rsw_jstr(line, K(OP), NULL), "connect"))
        return RSW_NOTS;
    json_t *last = json_array_get(c->events, n - 1);
    if (rsw_ev_parse(rsw_jstr(last, "ev", NULL)) != RSW_EV_CONNECT ||
        !same(rsw_jstr(last, "errno", NULL), e))
        return RSW_NOTS;
    long long ts = rsw_jint(last, "ts", RSW_NOTS);
    c->folded_dur = rsw_jint(last, "dur", -1);
    json_array_remove(c->events, n - 1);
    return ts;
}

/* " (blocked 3.003 s)": how long a blocking call took before it returned (the line's ts). */
static void say_blocked(char *text, size_t tl, long long dur)
{
    size_t n = strlen(text);
    char d[32];
    if (dur < 0 || n >= tl)
        return;
    rsw_fmt_rel_fit(d, sizeof d, dur);
    snprintf(text + n, tl - n, " (blocked %s until it returned)", d + 1);
}

/* The timeline text of a connect line; a failure stands as the error until its error line. */
static void apply_connect(struct rsw_conn *c, json_t *line, long long ts, const char *res,
                          char *text, size_t tl)
{
    struct rsw_facts *f = &c->facts;
    set_field(&c->role, "client");
    const char *e = rsw_jstr(line, K(ERRNO), NULL);
    if (!e)
        c->established = 1;
    snprintf(text, tl, "%s → %s%s", call_or(line, "connect"), res,
             same(e, "EINPROGRESS") ? " (non-blocking, pending)" : "");
    say_blocked(text, tl, rsw_jint(line, K(DUR), -1));
    if (e && !same(e, "EINPROGRESS") && !f->err_errno) {
        f->err_errno = own(c, OWN_ERRNO, e);
        f->err_call = own(c, OWN_CALL, call_or(line, "connect"));
        f->err_op = own(c, OWN_OP, "connect");
        f->err_ts = ts;
        c->connect_err_pending = 1;
    }
}

static void apply_inject(struct rsw_conn *c, json_t *line, long long ts, char *text, size_t tl)
{
    struct rsw_facts *f = &c->facts;
    const char *spec = rsw_jstr(line, K(SPEC), NULL);
    const char *out = rsw_jstr(line, K(OUTCOME), NULL);
    const char *e = rsw_jstr(line, K(ERRNO), NULL);
    snprintf(text, tl, "injected by rule %lld '%s' on %s: %s%s%s", rsw_jint(line, K(RULE), 0),
             spec ? spec : "?", call_or(line, "?"), out ? out : "", out && e ? " → " : "",
             e ? e : "");
    if (!f->inject_spec) {
        f->inject_spec = own(c, OWN_SPEC, spec ? spec : "?");
        f->inject_rule = rsw_jint(line, K(RULE), -1);
        f->inject_errno = own(c, OWN_INJ_ERRNO, e);
        f->inject_ts = ts;
    }
}

void rsw_conn_hold(struct rsw_conn *c, struct rsw_proc *p, long long id)
{
    for (int i = 0; i < c->nholders; i++)
        if (c->holders[i].proc == p && c->holders[i].id == id)
            return;
    if (c->nholders == c->aholders) {
        c->aholders = c->aholders ? 2 * c->aholders : 2;
        c->holders = realloc(c->holders, c->aholders * sizeof(*c->holders));
        if (!c->holders)
            abort();
    }
    c->holders[c->nholders++] = (struct rsw_holder){p, id};
    int seen = 0;
    for (int i = 0; i < c->npids; i++)
        seen |= c->pids[i] == p->pid;
    if (!seen && c->npids < (int)(sizeof c->pids / sizeof c->pids[0]))
        c->pids[c->npids++] = p->pid;
}

int rsw_conn_release(struct rsw_conn *c, const struct rsw_proc *p, long long id)
{
    for (int i = 0; i < c->nholders;)
        if (c->holders[i].proc == p && (id < 0 || c->holders[i].id == id))
            c->holders[i] = c->holders[--c->nholders];
        else
            i++;
    return c->nholders;
}

void rsw_conn_revive(struct rsw_conn *c, const struct rsw_proc *by)
{
    c->close_ts = RSW_NOTS;
    c->close_bytes_in = -1;
    for (size_t i = json_array_size(c->events); i-- > 0;) {
        json_t *ev = json_array_get(c->events, i);
        if (rsw_ev_parse(rsw_jstr(ev, "ev", NULL)) != RSW_EV_CLOSE)
            continue;
        char text[320];
        snprintf(text, sizeof text, "%s: this copy only; the connection stays open in pid %lld",
                 rsw_jstr(ev, "text", "close"), by->pid);
        char *paren = strstr(text, " (in "); /* the copy's byte counts say nothing */
        if (paren) {
            char *rest = strstr(paren, "): ");
            if (rest)
                memmove(paren, rest + 1, strlen(rest + 1) + 1);
        }
        json_object_set_new(ev, "text", json_string(text));
        break;
    }
}

void rsw_conn_copy_closed(struct rsw_conn *c, json_t *line, const struct rsw_proc *p)
{
    char text[256], res[48];
    long long ts = rsw_jint(line, K(TS), 0);
    if (ts > c->end_ts)
        c->end_ts = ts;
    result(res, sizeof res, line);
    const struct rsw_proc *other = c->nholders ? c->holders[c->nholders - 1].proc : NULL;
    snprintf(text, sizeof text, "%s → %s: this copy only; the connection stays open in pid %lld",
             call_or(line, "close"), res, other ? other->pid : -1);
    store(c, line, RSW_EV_CLOSE, text, p == c->proc ? NULL : p);
}

void rsw_conn_apply(struct rsw_conn *c, json_t *line, enum rsw_ev ev, const struct rsw_proc *by)
{
    long long ts = rsw_jint(line, K(TS), 0);
    struct rsw_facts *f = &c->facts;
    char text[256], res[48];
    if (ts > c->end_ts)
        c->end_ts = ts;
    long long dur = rsw_jint(line, K(DUR), -1); /* a blocking call: it began that much earlier */
    long long began = dur > 0 && dur <= ts ? ts - dur : ts;
    if (began < c->start_ts)
        c->start_ts = f->start_ts = began;
    if (ts < c->start_ts) /* a line written late (v3 failures mode holds them) or by a thread */
        c->start_ts = f->start_ts = ts;
    if (rsw_jint(line, K(FD), -1) >= 0)
        c->fd = rsw_jint(line, K(FD), -1);
    set_field(&c->family, rsw_jstr(line, K(FAMILY), NULL));
    set_addr(&c->local, rsw_jstr(line, K(LOCAL), NULL));
    set_addr(&c->peer, rsw_jstr(line, K(PEER), NULL));
    f->peer = c->peer;
    f->family = c->family;
    take_bytes(c, line);
    if (c->bytes_in > 0 || c->bytes_out > 0)
        c->established = 1; /* bytes moved: a pending connect completed unlogged */
    result(res, sizeof res, line);
    text[0] = 0;

    switch (ev) {
    case RSW_EV_IO:
        c->established = 1;
        return; /* aggregated, never stored */
    case RSW_EV_CONNECT:
        apply_connect(c, line, ts, res, text, sizeof text);
        if (began != ts) { /* shown when the call began; the text says how long it blocked */
            size_t n = json_array_size(c->events);
            store(c, line, ev, text, by);
            json_t *o = json_array_get(c->events, n);
            if (json_array_size(c->events) > n) {
                json_object_set_new(o, "ts", json_integer(began));
                json_object_set_new(o, "dur", json_integer(dur));
            }
            return;
        }
        break;
    case RSW_EV_CONNECTED:
        c->established = 1;
        snprintf(text, sizeof text, "connected (SO_ERROR = 0)");
        break;
    case RSW_EV_ACCEPT:
        set_field(&c->role, "server");
        c->established = 1;
        snprintf(text, sizeof text, "%s → fd %lld (listening fd %lld)", call_or(line, "accept"),
                 rsw_jint(line, K(FD), -1), rsw_jint(line, K(LFD), -1));
        break;
    case RSW_EV_ADOPT:
        c->established = 1;
        snprintf(text, sizeof text, "first seen in %s: fd %lld adopted", call_or(line, "?"),
                 rsw_jint(line, K(FD), -1));
        break;
    case RSW_EV_EOF:
        if (f->eof_ts == RSW_NOTS)
            f->eof_ts = ts;
        c->established = 1;
        snprintf(text, sizeof text, "%s → 0: %s (in %lld B, out %lld B)", call_or(line, "read"),
                 eof_words(c->family), rsw_jint(line, K(BYTES_IN), 0),
                 rsw_jint(line, K(BYTES_OUT), 0));
        break;
    case RSW_EV_SHUTDOWN: {
        const char *how = rsw_jstr(line, K(HOW), NULL);
        if ((same(how, "SHUT_WR") || same(how, "SHUT_RDWR")) && !rsw_jstr(line, K(ERRNO), NULL) &&
            f->shut_wr_ts == RSW_NOTS)
            f->shut_wr_ts = ts;
        snprintf(text, sizeof text, "shutdown(%s) → %s", how ? how : "?", res);
        break;
    }
    case RSW_EV_CLOSE:
        c->close_ts = ts;
        c->close_bytes_in = rsw_jint(line, K(BYTES_IN), c->bytes_in);
        snprintf(text, sizeof text, "%s → %s (in %lld B, out %lld B)", call_or(line, "close"), res,
                 rsw_jint(line, K(BYTES_IN), c->bytes_in),
                 rsw_jint(line, K(BYTES_OUT), c->bytes_out));
        break;
    case RSW_EV_ERROR: {
        c->folded_dur = -1;
        long long folded = fold_connect(c, line);
        apply_error(c, line, ts, text, sizeof text);
        if (folded != RSW_NOTS) {
            say_blocked(text, sizeof text, c->folded_dur);
            size_t n = json_array_size(c->events);
            store(c, line, ev, text, by);
            if (json_array_size(c->events) > n) /* one line for the call, at its return */
                json_object_set_new(json_array_get(c->events, n), "ts", json_integer(folded));
            return;
        }
        break;
    }
    case RSW_EV_SIGNAL:
        apply_signal(c, line, ts, text, sizeof text);
        break;
    case RSW_EV_INJECT:
        apply_inject(c, line, ts, text, sizeof text);
        break;
    default: /* start and module lines belong to the process */
        return;
    }
    store(c, line, ev, text, by);
}
