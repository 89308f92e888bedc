/* render_chrome.c: `rstwatch report --format chrome`: Trace Event Format JSON for Perfetto. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"
#include "rsw_schema.h"

/* One track (tid) per connection, inside its process (pid). Every event carries ph/ts/pid/tid;
 * ts is in microseconds, written exactly from the report's nanoseconds (no float rounding). */

struct chrome {
    FILE *out;
    char *title;
    int first;          /* no event written yet (no comma needed) */
    long long next_tid; /* per-connection track ids, unique across the whole trace */
    long long *pids;    /* processes already named with a process_name event */
    size_t npids, cap;
    int oom;
};

/* Microseconds from nanoseconds, as an exact decimal (a JSON number); negatives kept. */
static void put_us(FILE *f, const char *key, json_int_t ns)
{
    const char *sign = ns < 0 ? "-" : "";
    uint64_t a = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
    fprintf(f, ",\"%s\":%s%" PRIu64 ".%03" PRIu64, key, sign, a / 1000, a % 1000);
}

/* Writes one event: the fixed fields by hand (exact µs), the rest from a jansson object. */
static void put_event(struct chrome *s, const char *ph, json_int_t pid, long long tid,
                      json_int_t ts_ns, json_int_t dur_ns, const json_t *rest)
{
    FILE *f = s->out;
    fputs(s->first ? "\n" : ",\n", f);
    s->first = 0;
    fprintf(f, "{\"ph\":\"%s\",\"pid\":%" JSON_INTEGER_FORMAT ",\"tid\":%lld", ph, pid, tid);
    put_us(f, "ts", ts_ns);
    if (dur_ns >= 0)
        put_us(f, "dur", dur_ns);
    if (rest && json_object_size(rest) > 0) {
        char *body = json_dumps(rest, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
        if (body) {
            size_t n = strlen(body); /* "{...}": splice its members after ours */
            if (n > 2)
                fprintf(f, ",%.*s", (int)(n - 2), body + 1);
            free(body);
        } else {
            s->oom = 1;
        }
    }
    fputc('}', f);
}

/* "func (file:line)" when symbolized, else "sym (obj+off)", else "obj+off", else the raw ip. */
static char *frame_text(json_t *fr)
{
    const char *func = rsw_jstr(fr, "func", NULL), *file = rsw_jstr(fr, "file", NULL);
    const char *sym = rsw_jstr(fr, "sym", NULL), *obj = rsw_jstr(fr, "obj", NULL);
    const char *off = rsw_jstr(fr, "off", rsw_jstr(fr, "ip", "?"));
    json_int_t line = rsw_jint(fr, "line", 0);
    char *s = NULL;
    int n;
    if (func && file && line > 0)
        n = asprintf(&s, "%s (%s:%" JSON_INTEGER_FORMAT ")", func, file, line);
    else if (func && file)
        n = asprintf(&s, "%s (%s)", func, file);
    else if ((func || sym) && obj)
        n = asprintf(&s, "%s (%s+%s)", func ? func : sym, obj, off);
    else if (func || sym) /* in no known module */
        n = asprintf(&s, "%s (%s)", func ? func : sym, rsw_jstr(fr, "ip", "?"));
    else if (obj)
        n = asprintf(&s, "%s+%s", obj, off);
    else
        n = asprintf(&s, "%s", rsw_jstr(fr, "ip", "?"));
    return n < 0 ? NULL : s;
}

static void name_process(struct chrome *s, json_t *conn, json_int_t pid)
{
    for (size_t i = 0; i < s->npids; i++)
        if (s->pids[i] == (long long)pid)
            return;
    if (s->npids == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        long long *p = realloc(s->pids, cap * sizeof *p);
        if (!p) {
            s->oom = 1;
            return;
        }
        s->pids = p;
        s->cap = cap;
    }
    s->pids[s->npids++] = pid;
    const char *exe = rsw_jstr(conn, "exe", "?"), *host = rsw_jstr(conn, "host", NULL);
    char *name = NULL;
    if (asprintf(&name, "%s (pid %" JSON_INTEGER_FORMAT "%s%s)", exe, pid, host ? " on " : "",
                 host ? host : "") < 0) {
        s->oom = 1;
        return;
    }
    json_t *m = json_pack("{s:s,s:{s:s}}", "name", "process_name", "args", "name", name);
    put_event(s, "M", pid, 0, 0, -1, m);
    json_decref(m);
    free(name);
}

static void *chrome_begin(const struct rsw_render_opts *o)
{
    struct chrome *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->out = o->out;
    s->title = strdup(o->title ? o->title : "");
    s->first = 1;
    s->next_tid = 1;
    fputs("{\"traceEvents\":[", s->out);
    return s;
}

/* Category of an event: what a viewer may want to filter on. */
static const char *category(const char *ev)
{
    switch (rsw_ev_parse(ev)) {
    case RSW_EV_ERROR:
    case RSW_EV_SIGNAL:
    case RSW_EV_INJECT:
        return ev;
    case RSW_EV_IO:
        return "io";
    default:
        return "lifecycle";
    }
}

static void chrome_event(struct chrome *s, json_t *ev, json_int_t pid, long long tid,
                         json_int_t start_ts)
{
    const char *kind = rsw_jstr(ev, "ev", "?"), *side = rsw_jstr(ev, "side", "local");
    const char *call = rsw_jstr(ev, "call", NULL), *err = rsw_jstr(ev, "errno", NULL);
    const char *text = rsw_jstr(ev, "text", NULL);
    json_int_t t = rsw_jint(ev, "t", 0);
    json_int_t ts = json_is_integer(json_object_get(ev, "ts"))
                        ? rsw_jint(ev, "ts", 0)
                        : (json_int_t)((uint64_t)start_ts + (uint64_t)t);
    int peer = strcmp(side, "peer") == 0;

    const char *pfx = peer ? "peer: " : "", *c = call ? call : "?";
    char *name = NULL;
    int n;
    int k = rsw_ev_parse(kind);
    if (k == RSW_EV_ERROR)
        n = asprintf(&name, "%s%s %s", pfx, c, err ? err : "error");
    else if (k == RSW_EV_SIGNAL)
        n = asprintf(&name, "%s%s in %s", pfx, rsw_jstr(ev, "sig", "SIGPIPE"), c);
    else if (k == RSW_EV_INJECT)
        n = asprintf(&name, "%sinjected %s into %s", pfx, err ? err : "fault", c);
    else if (call && strcmp(call, kind) != 0)
        n = asprintf(&name, "%s%s (%s)", pfx, kind, call);
    else
        n = asprintf(&name, "%s%s", pfx, kind);
    if (n < 0) {
        s->oom = 1;
        return;
    }
    json_t *args = json_object();
    json_object_set_new(args, "side", json_string(side));
    json_object_set_new(args, "ev", json_string(kind));
    if (call)
        json_object_set_new(args, "call", json_string(call));
    if (err)
        json_object_set_new(args, "errno", json_string(err));
    json_t *ret = json_object_get(ev, "ret");
    if (ret)
        json_object_set(args, "ret", ret);
    if (text)
        json_object_set_new(args, "text", json_string(text));
    json_object_set_new(args, "t_ms", json_real((double)t / 1e6));
    json_t *bt = json_object_get(ev, "bt");
    if (json_is_array(bt) && json_array_size(bt) > 0) {
        json_t *frames = json_array();
        size_t i;
        json_t *fr;
        json_array_foreach(bt, i, fr)
        {
            char *ft = frame_text(fr);
            json_array_append_new(frames, ft ? json_string(ft) : json_string("?"));
            free(ft);
        }
        json_object_set_new(args, "backtrace", frames);
    }
    const char *cat = category(kind);
    json_t *e = json_pack("{s:s,s:s,s:s,s:o}", "name", name, "cat", cat, "s", "t", "args", args);
    if (strcmp(cat, "lifecycle") != 0 && strcmp(cat, "io") != 0) /* chrome://tracing colors */
        json_object_set_new(e, "cname",
                            json_string(strcmp(cat, "inject") == 0 ? "bad" : "terrible"));
    put_event(s, "i", pid, tid, ts, -1, e);
    json_decref(e);
    free(name);
}

static void chrome_conn(void *state, json_t *conn)
{
    struct chrome *s = state;
    if (!s)
        return;
    json_int_t pid = rsw_jint(conn, "pid", 0);
    long long tid = s->next_tid++;
    json_int_t start = rsw_jint(conn, "start_ts", 0), end = rsw_jint(conn, "end_ts", start);
    const char *verdict = rsw_jstr(conn, "verdict", "?");
    const char *local = rsw_jstr(conn, "local", "?"), *peer = rsw_jstr(conn, "peer", "?");
    if (end < start)
        end = start;

    name_process(s, conn, pid);
    char *track = NULL;
    if (asprintf(&track, "%s → %s (%s)", local, peer, verdict) < 0) {
        s->oom = 1;
        return;
    }
    json_t *m = json_pack("{s:s,s:{s:s}}", "name", "thread_name", "args", "name", track);
    put_event(s, "M", pid, tid, 0, -1, m);
    json_decref(m);
    m = json_pack("{s:s,s:{s:I}}", "name", "thread_sort_index", "args", "sort_index",
                  (json_int_t)tid);
    put_event(s, "M", pid, tid, 0, -1, m);
    json_decref(m);

    /* The connection's lifetime, with everything the report says about it as args. */
    json_t *args = json_object();
    static const char *const keys[] = {"id",          "exe",
                                       "host",        "conn",
                                       "fd",          "family",
                                       "role",        "local",
                                       "peer",        "verdict",
                                       "explanation", "bytes_in",
                                       "bytes_out",   "bytes_after_peer_close",
                                       "rule",        "killed_by",
                                       "peer_side",   "start_ts",
                                       "end_ts"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        json_t *v = json_object_get(conn, keys[i]);
        if (v && !json_is_null(v))
            json_object_set(args, keys[i], v);
    }
    json_t *x = json_pack("{s:s,s:s,s:s,s:o}", "name", track, "cat", "connection", "cname",
                          strcmp(verdict, "clean") == 0 ? "good" : "bad", "args", args);
    put_event(s, "X", pid, tid, start, end - start, x);
    json_decref(x);
    free(track);

    json_t *events = json_object_get(conn, "events");
    size_t i;
    json_t *ev;
    json_array_foreach(events, i, ev) chrome_event(s, ev, pid, tid, start);
}

static int chrome_end(void *state, json_t *summary)
{
    struct chrome *s = state;
    if (!s)
        return -1;
    json_t *other = json_object();
    json_object_set_new(other, "generator", json_string("rstwatch report --format chrome"));
    json_object_set_new(other, "title", json_string(s->title));
    if (summary) {
        static const char *const keys[] = {
            "connections",       "verdicts",           "skipped", "inputs", "tallied",
            "suppressed_errors", "suppressed_signals", "lost"};
        for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
            json_t *v = json_object_get(summary, keys[i]);
            if (v)
                json_object_set(other, keys[i], v);
        }
    }
    char *body = json_dumps(other, JSON_COMPACT | JSON_PRESERVE_ORDER);
    fprintf(s->out, "\n],\"displayTimeUnit\":\"ms\",\"otherData\":%s}\n", body ? body : "{}");
    free(body);
    json_decref(other);
    int rc = (s->oom || ferror(s->out) || fflush(s->out) != 0) ? -1 : 0;
    free(s->pids);
    free(s->title);
    free(s);
    return rc;
}

const struct rsw_renderer rsw_render_chrome = {
    .name = "chrome",
    .begin = chrome_begin,
    .conn = chrome_conn,
    .end = chrome_end,
};
