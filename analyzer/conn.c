/* conn.c: one connection's state machine: folds its log lines into facts and a short timeline. */
#include "map.h"
#include "model.h"
#include <stdlib.h>
#include <string.h>

enum { OWN_ERRNO, OWN_CALL, OWN_OP, OWN_SPEC, OWN_INJ_ERRNO, OWN_SIGACT };

const char *rsw_jstr(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

long long rsw_jint(json_t *o, const char *k, long long dflt)
{
    json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? (long long)json_integer_value(v) : dflt;
}

static char *rsw_dup(const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d)
        abort();
    return d;
}

/* Stores s in the conn-owned slot and returns the copy. */
static const char *rsw_own(struct rsw_conn *c, int slot, const char *s)
{
    free(c->own[slot]);
    c->own[slot] = s ? rsw_dup(s) : NULL;
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
    c->family = rsw_dup("?");
    c->role = rsw_dup("adopted");
    c->local = rsw_dup("");
    c->peer = rsw_dup("");
    c->start_ts = c->end_ts = ts;
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
    for (size_t i = 0; i < sizeof(c->own) / sizeof(c->own[0]); i++)
        free(c->own[i]);
    json_decref(c->events);
    json_decref(c->dropped_kinds);
    json_decref(c->errnos);
    free(c);
}

int rsw_conn_matchable(const struct rsw_conn *c)
{
    return c->established && (strcmp(c->family, "inet") == 0 || strcmp(c->family, "inet6") == 0) &&
           c->local[0] && c->peer[0];
}

static void rsw_set(char **field, const char *v)
{
    if (v && *v) {
        free(*field);
        *field = rsw_dup(v);
    }
}

static void rsw_count(json_t *obj, const char *key, long long n)
{
    json_object_set_new(obj, key, json_integer(rsw_jint(obj, key, 0) + n));
}

static int rsw_is(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/* Keeps the event unless the timeline is full (then it is only counted). */
static void rsw_store(struct rsw_conn *c, json_t *line, const char *ev, const char *text)
{
    int is_err = strcmp(ev, "error") == 0;
    if (json_array_size(c->events) >= RSW_MAX_EVENTS ||
        (is_err && c->stored_errors >= RSW_MAX_ERROR_EVENTS)) {
        char k[64];
        const char *e = rsw_jstr(line, "errno");
        snprintf(k, sizeof k, "%s%s%s", ev, e ? " " : "", e ? e : "");
        c->dropped++;
        c->dropped_ts = rsw_jint(line, "ts", 0);
        rsw_count(c->dropped_kinds, k, 1);
        return;
    }
    c->stored_errors += is_err;
    json_t *o = json_object();
    json_object_set_new(o, "ts", json_integer(rsw_jint(line, "ts", 0)));
    json_object_set_new(o, "ev", json_string(ev));
    static const char *const copy[] = {"call", "errno", "ret"};
    for (size_t i = 0; i < 3; i++) {
        json_t *v = json_object_get(line, copy[i]);
        if (v)
            json_object_set(o, copy[i], v);
    }
    json_object_set_new(o, "text", json_string(text));
    json_t *bt = json_object_get(line, "bt");
    if (json_is_array(bt))
        json_object_set(o, "bt", bt);
    json_array_append_new(c->events, o);
}

static void rsw_bytes(struct rsw_conn *c, json_t *line)
{
    long long in = rsw_jint(line, "bytes_in", -1), out = rsw_jint(line, "bytes_out", -1);
    if (in > c->bytes_in)
        c->bytes_in = in;
    if (out > c->bytes_out)
        c->bytes_out = out;
}

static const char *rsw_call(json_t *line, const char *dflt)
{
    const char *call = rsw_jstr(line, "call");
    return call ? call : dflt;
}

/* "-1 EPIPE" or "0" */
static void rsw_result(char *buf, size_t len, json_t *line)
{
    const char *e = rsw_jstr(line, "errno");
    long long ret = rsw_jint(line, "ret", e ? -1 : 0);
    if (e)
        snprintf(buf, len, "%lld %s", ret, e);
    else
        snprintf(buf, len, "%lld", ret);
}

static void rsw_apply_error(struct rsw_conn *c, json_t *line, long long ts, char *text, size_t tl)
{
    const char *e = rsw_jstr(line, "errno");
    struct rsw_facts *f = &c->facts;
    json_t *tcp = json_object_get(line, "tcp");
    long long unacked = json_is_object(tcp) ? rsw_jint(tcp, "unacked", -1) : -1;
    int injected = json_is_true(json_object_get(line, "injected"));
    char res[48];
    rsw_result(res, sizeof res, line);
    int n = snprintf(text, tl, "%s → %s", rsw_call(line, "?"), res);
    if (rsw_is(rsw_jstr(line, "call"), "getsockopt"))
        n = snprintf(text, tl, "getsockopt(SO_ERROR) → %s", e ? e : "?");
    int show_bytes = rsw_jint(line, "bytes_out", -1) >= 0 && !rsw_is(rsw_jstr(line, "op"), "connect");
    if (show_bytes && n > 0 && (size_t)n < tl)
        n += snprintf(text + n, tl - n, " (out %lld B", rsw_jint(line, "bytes_out", 0));
    if (show_bytes && unacked > 0 && n > 0 && (size_t)n < tl)
        n += snprintf(text + n, tl - n, ", %lld B unacked", unacked);
    if (show_bytes && n > 0 && (size_t)n < tl)
        n += snprintf(text + n, tl - n, ")");
    if (injected && n > 0 && (size_t)n < tl)
        snprintf(text + n, tl - n, " [injected]");
    f->n_errors++;
    c->connect_err_pending = 0;
    if (e)
        rsw_count(c->errnos, e, 1);
    if (injected)
        f->err_injected = 1;
    if (!f->err_errno && e) {
        f->err_errno = rsw_own(c, OWN_ERRNO, e);
        f->err_call = rsw_own(c, OWN_CALL, rsw_jstr(line, "call"));
        f->err_op = rsw_own(c, OWN_OP, rsw_jstr(line, "op"));
        f->err_ts = ts;
        f->err_unacked = unacked;
        f->err_bytes_out = rsw_jint(line, "bytes_out", -1);
    } else if (rsw_is(f->err_errno, e) && f->err_unacked < 0) {
        f->err_unacked = unacked; /* the EPIPE a handled SIGPIPE was followed by */
    }
    if (rsw_is(f->err_op, "connect") || rsw_is(rsw_jstr(line, "op"), "connect"))
        return;
    c->established = 1;
}

static void rsw_apply_signal(struct rsw_conn *c, json_t *line, long long ts, char *text,
                             size_t tl)
{
    struct rsw_facts *f = &c->facts;
    const char *act = rsw_jstr(line, "action");
    const char *what = rsw_is(act, "kill")      ? "killed the process"
                       : rsw_is(act, "handler") ? "the program's handler ran"
                       : rsw_is(act, "survive") ? "logged and ignored (survive)"
                                                : "delivered";
    snprintf(text, tl, "%s in %s: %s", rsw_jstr(line, "sig") ? rsw_jstr(line, "sig") : "SIGPIPE",
             rsw_call(line, "?"), what);
    if (f->signal_ts == RSW_NOTS) {
        f->signal_ts = ts;
        f->signal_action = rsw_own(c, OWN_SIGACT, act ? act : "?");
    }
    if (!f->err_errno) { /* the write never returned: the SIGPIPE is the error */
        f->err_errno = rsw_own(c, OWN_ERRNO, "EPIPE");
        f->err_call = rsw_own(c, OWN_CALL, rsw_call(line, "write"));
        f->err_op = rsw_own(c, OWN_OP, "write");
        f->err_ts = ts;
        f->err_bytes_out = rsw_jint(line, "bytes_out", -1);
    }
}

/* What a read returning 0 means on this kind of channel. */
static const char *rsw_eof_words(const char *family)
{
    if (rsw_is(family, "inet") || rsw_is(family, "inet6"))
        return "the peer's FIN";
    if (rsw_is(family, "unix"))
        return "the peer closed its end";
    if (rsw_is(family, "pipe"))
        return "the writer closed its end";
    return "end of stream";
}

/* A failed connect is logged twice: the `connect` line (ret -1, errno X), then the `error` line
 * for the same call (with the backtrace). When line is that error and the connect is the last
 * stored event, the connect is dropped so the call shows once. Returns the connect's time (the
 * moment the call returned), or RSW_NOTS when there is nothing to fold. */
static long long rsw_fold_connect(struct rsw_conn *c, json_t *line)
{
    size_t n = json_array_size(c->events);
    const char *e = rsw_jstr(line, "errno");
    if (!c->connect_err_pending || !n || !e || !rsw_is(rsw_jstr(line, "op"), "connect"))
        return RSW_NOTS;
    json_t *last = json_array_get(c->events, n - 1);
    if (!rsw_is(rsw_jstr(last, "ev"), "connect") || !rsw_is(rsw_jstr(last, "errno"), e))
        return RSW_NOTS;
    long long ts = rsw_jint(last, "ts", RSW_NOTS);
    json_array_remove(c->events, n - 1);
    return ts;
}

void rsw_conn_apply(struct rsw_conn *c, json_t *line, const char *ev)
{
    long long ts = rsw_jint(line, "ts", 0);
    struct rsw_facts *f = &c->facts;
    char text[256], res[48];
    if (ts > c->end_ts)
        c->end_ts = ts;
    if (rsw_jint(line, "fd", -1) >= 0)
        c->fd = rsw_jint(line, "fd", -1);
    rsw_set(&c->family, rsw_jstr(line, "family"));
    rsw_set(&c->local, rsw_jstr(line, "local"));
    rsw_set(&c->peer, rsw_jstr(line, "peer"));
    f->peer = c->peer;
    f->family = c->family;
    rsw_bytes(c, line);
    if (c->bytes_in > 0 || c->bytes_out > 0)
        c->established = 1; /* bytes moved: a pending connect completed unlogged */
    rsw_result(res, sizeof res, line);
    text[0] = 0;

    if (strcmp(ev, "io") == 0) {
        c->established = 1;
        return; /* aggregated, never stored */
    } else if (strcmp(ev, "connect") == 0) {
        rsw_set(&c->role, "client");
        const char *e = rsw_jstr(line, "errno");
        if (!e)
            c->established = 1;
        snprintf(text, sizeof text, "%s → %s%s", rsw_call(line, "connect"), res,
                 rsw_is(e, "EINPROGRESS") ? " (non-blocking, pending)" : "");
        if (e && !rsw_is(e, "EINPROGRESS") && !f->err_errno) {
            /* an error line normally follows; until then the connect's errno stands */
            f->err_errno = rsw_own(c, OWN_ERRNO, e);
            f->err_call = rsw_own(c, OWN_CALL, rsw_call(line, "connect"));
            f->err_op = rsw_own(c, OWN_OP, "connect");
            f->err_ts = ts;
            c->connect_err_pending = 1;
        }
    } else if (strcmp(ev, "connected") == 0) {
        c->established = 1;
        snprintf(text, sizeof text, "connected (SO_ERROR = 0)");
    } else if (strcmp(ev, "accept") == 0) {
        rsw_set(&c->role, "server");
        c->established = 1;
        snprintf(text, sizeof text, "%s → fd %lld (listening fd %lld)", rsw_call(line, "accept"),
                 rsw_jint(line, "fd", -1), rsw_jint(line, "lfd", -1));
    } else if (strcmp(ev, "adopt") == 0) {
        c->established = 1;
        snprintf(text, sizeof text, "first seen in %s: fd %lld adopted", rsw_call(line, "?"),
                 rsw_jint(line, "fd", -1));
    } else if (strcmp(ev, "eof") == 0) {
        if (f->eof_ts == RSW_NOTS)
            f->eof_ts = ts;
        c->established = 1;
        snprintf(text, sizeof text, "%s → 0: %s (in %lld B, out %lld B)", rsw_call(line, "read"),
                 rsw_eof_words(c->family), rsw_jint(line, "bytes_in", 0),
                 rsw_jint(line, "bytes_out", 0));
    } else if (strcmp(ev, "shutdown") == 0) {
        const char *how = rsw_jstr(line, "how");
        if ((rsw_is(how, "SHUT_WR") || rsw_is(how, "SHUT_RDWR")) && !rsw_jstr(line, "errno") &&
            f->shut_wr_ts == RSW_NOTS)
            f->shut_wr_ts = ts;
        snprintf(text, sizeof text, "shutdown(%s) → %s", how ? how : "?", res);
    } else if (strcmp(ev, "close") == 0) {
        c->close_ts = ts;
        c->close_bytes_in = rsw_jint(line, "bytes_in", c->bytes_in);
        snprintf(text, sizeof text, "%s → %s (in %lld B, out %lld B)", rsw_call(line, "close"), res,
                 rsw_jint(line, "bytes_in", c->bytes_in), rsw_jint(line, "bytes_out", c->bytes_out));
    } else if (strcmp(ev, "error") == 0) {
        long long folded = rsw_fold_connect(c, line);
        rsw_apply_error(c, line, ts, text, sizeof text);
        if (folded != RSW_NOTS) {
            size_t n = json_array_size(c->events);
            rsw_store(c, line, ev, text);
            if (json_array_size(c->events) > n) /* one line for the call, at its return */
                json_object_set_new(json_array_get(c->events, n), "ts", json_integer(folded));
            return;
        }
    } else if (strcmp(ev, "signal") == 0) {
        rsw_apply_signal(c, line, ts, text, sizeof text);
    } else if (strcmp(ev, "inject") == 0) {
        const char *spec = rsw_jstr(line, "spec");
        const char *out = rsw_jstr(line, "outcome");
        snprintf(text, sizeof text, "injected by rule %lld '%s' on %s: %s%s%s",
                 rsw_jint(line, "rule", 0), spec ? spec : "?", rsw_call(line, "?"),
                 out ? out : "", out && rsw_jstr(line, "errno") ? " → " : "",
                 rsw_jstr(line, "errno") ? rsw_jstr(line, "errno") : "");
        if (!f->inject_spec) {
            f->inject_spec = rsw_own(c, OWN_SPEC, spec ? spec : "?");
            f->inject_rule = rsw_jint(line, "rule", -1);
            f->inject_errno = rsw_own(c, OWN_INJ_ERRNO, rsw_jstr(line, "errno"));
            f->inject_ts = ts;
        }
    } else {
        return;
    }
    rsw_store(c, line, ev, text);
}
