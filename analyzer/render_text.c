/* render_text.c: `--format text`: per-connection timelines for people, readable at 80 columns. */
#include "render.h"
#include "verdict.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RSW_TEXT_FRAMES 6 /* backtrace frames shown per event */
#define RSW_TEXT_WIDTH 78

struct rsw_text_state {
    FILE *out;
    int color;
    int n;
};

static const char *rsw_c(const struct rsw_text_state *s, const char *code)
{
    return s->color ? code : "";
}
#define BOLD "\033[1m"
#define RED "\033[31m"
#define GREEN "\033[32m"
#define YELLOW "\033[33m"
#define DIM "\033[2m"
#define RESET "\033[0m"

static const char *rsw_s(json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

static long long rsw_i(json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

static const char *rsw_base(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static const char *rsw_verdict_color(const char *v)
{
    if (strcmp(v, "clean") == 0)
        return GREEN;
    if (strcmp(v, "injected") == 0 || strcmp(v, "write-after-shutdown") == 0)
        return YELLOW;
    return RED;
}

static void *rsw_text_begin(const struct rsw_render_opts *o)
{
    struct rsw_text_state *s = calloc(1, sizeof(*s));
    if (!s)
        abort();
    s->out = o->out;
    s->color = o->color;
    return s;
}

/* Prints text word-wrapped at RSW_TEXT_WIDTH in a column starting at indent; the first line
 * is preceded by lead spaces (the caller may already have printed up to the column). */
static void rsw_wrap_from(FILE *out, const char *text, int lead, int indent)
{
    const char *p = text;
    while (*p) {
        int room = RSW_TEXT_WIDTH - indent;
        size_t len = strlen(p);
        size_t take = len;
        if ((int)len > room) {
            take = room;
            while (take > 0 && p[take] != ' ')
                take--;
            if (take == 0)
                take = strcspn(p, " ");
        }
        fprintf(out, "%*s%.*s\n", lead, "", (int)take, p);
        lead = indent;
        p += take;
        while (*p == ' ')
            p++;
    }
}

/* Prints text word-wrapped at RSW_TEXT_WIDTH, every line indented by indent spaces. */
static void rsw_wrap(FILE *out, const char *text, int indent)
{
    rsw_wrap_from(out, text, indent, indent);
}

static void rsw_abs_time(char *buf, size_t len, long long ts)
{
    time_t sec = (time_t)(ts / 1000000000LL);
    struct tm tm;
    char d[32];
    gmtime_r(&sec, &tm);
    strftime(d, sizeof d, "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(buf, len, "%s.%06lld UTC", d, ts % 1000000000LL / 1000);
}

static void rsw_frames(struct rsw_text_state *s, json_t *bt, int indent)
{
    size_t i, n = json_array_size(bt);
    for (i = 0; i < n && i < RSW_TEXT_FRAMES; i++) {
        json_t *fr = json_array_get(bt, i);
        const char *func = json_string_value(json_object_get(fr, "func"));
        const char *file = json_string_value(json_object_get(fr, "file"));
        const char *obj = rsw_s(fr, "obj");
        fprintf(s->out, "%*s%s#%zu %s", indent, "", rsw_c(s, DIM), i, func ? func : "??");
        if (file)
            fprintf(s->out, " (%s:%lld)", rsw_base(file), rsw_i(fr, "line"));
        else if (!func || *obj)
            fprintf(s->out, " (%s+%s)", *obj ? rsw_base(obj) : "?", rsw_s(fr, "off"));
        fprintf(s->out, "%s\n", rsw_c(s, RESET));
    }
    if (n > RSW_TEXT_FRAMES)
        fprintf(s->out, "%*s%s… %zu more frame%s%s\n", indent, "", rsw_c(s, DIM),
                n - RSW_TEXT_FRAMES, n - RSW_TEXT_FRAMES == 1 ? "" : "s", rsw_c(s, RESET));
}

static void rsw_text_conn(void *state, json_t *c)
{
    struct rsw_text_state *s = state;
    char buf[64];
    const char *verdict = rsw_s(c, "verdict");
    json_t *ps = json_object_get(c, "peer_side");
    int two = json_is_object(ps);
    const char *role = rsw_s(c, "role");
    const char *arrow = strcmp(role, "server") == 0 ? "←" : "→";
    if (s->n++)
        fputc('\n', s->out);
    fprintf(s->out, "%s%s %s%s  %s  %s %s %s\n", rsw_c(s, BOLD), "──", rsw_s(c, "id"),
            rsw_c(s, RESET), role, *rsw_s(c, "local") ? rsw_s(c, "local") : "?", arrow,
            *rsw_s(c, "peer") ? rsw_s(c, "peer") : "?");
    const char *exe = json_string_value(json_object_get(c, "exe"));
    fprintf(s->out, "   %s (pid %lld, fd %lld, %s)", exe ? rsw_base(exe) : "?", rsw_i(c, "pid"),
            rsw_i(c, "fd"), rsw_s(c, "family"));
    if (two) {
        const char *pexe = json_string_value(json_object_get(ps, "exe"));
        fprintf(s->out, " ⇄ %s (pid %lld, conn %lld)", pexe ? rsw_base(pexe) : "?",
                rsw_i(ps, "pid"), rsw_i(ps, "conn"));
    }
    fputc('\n', s->out);
    rsw_abs_time(buf, sizeof buf, rsw_i(c, "start_ts"));
    char dur[32];
    rsw_fmt_rel(dur, sizeof dur, rsw_i(c, "end_ts") - rsw_i(c, "start_ts"));
    fprintf(s->out, "   started %s, lasted %s; in %lld B, out %lld B\n", buf, dur + 1,
            rsw_i(c, "bytes_in"), rsw_i(c, "bytes_out"));
    size_t i;
    json_t *ev;
    json_array_foreach(json_object_get(c, "events"), i, ev)
    {
        char t[32];
        rsw_fmt_rel(t, sizeof t, rsw_i(ev, "t"));
        const char *kind = rsw_s(ev, "ev");
        int bad = strcmp(kind, "error") == 0 || strcmp(kind, "signal") == 0;
        fprintf(s->out, "   %12s  ", t);
        if (two)
            fprintf(s->out, "%-5s ", rsw_s(ev, "side"));
        fprintf(s->out, "%s%s%s\n", bad ? rsw_c(s, RED) : "", rsw_s(ev, "text"),
                bad ? rsw_c(s, RESET) : "");
        json_t *bt = json_object_get(ev, "bt");
        if (json_is_array(bt))
            rsw_frames(s, bt, two ? 23 : 17);
    }
    fprintf(s->out, "   verdict: %s%s%s%s\n", rsw_c(s, BOLD), rsw_c(s, rsw_verdict_color(verdict)),
            verdict, rsw_c(s, RESET));
    rsw_wrap(s->out, rsw_s(c, "explanation"), 5);
}

/* "name n, name n" from a {name: n} object, appended to buf. */
static void rsw_tally(char *buf, size_t len, json_t *obj)
{
    const char *k;
    json_t *v;
    size_t n = strlen(buf), start = n;
    json_object_foreach(obj, k, v)
    {
        if (n < len)
            n += snprintf(buf + n, len - n, "%s%s %lld", n > start ? ", " : "", k,
                          (long long)json_integer_value(v));
    }
    if (n == start && n < len)
        snprintf(buf + n, len - n, "none");
}

/* "  label:     text" wrapped at RSW_TEXT_WIDTH, continuation lines under the text. */
static void rsw_labeled(FILE *out, const char *label, const char *text)
{
    char first[16];
    snprintf(first, sizeof first, "  %-12s", label);
    fputs(first, out);
    rsw_wrap_from(out, text, 0, 14);
}

static int rsw_text_end(void *state, json_t *sum)
{
    struct rsw_text_state *s = state;
    FILE *out = s->out;
    size_t i;
    json_t *x;
    if (s->n)
        fputc('\n', out);
    long long nconn = rsw_i(sum, "connections");
    fprintf(out, "%sSummary%s: %lld connection%s, %zu process%s\n", rsw_c(s, BOLD), rsw_c(s, RESET),
            nconn, nconn == 1 ? "" : "s", json_array_size(json_object_get(sum, "processes")),
            json_array_size(json_object_get(sum, "processes")) == 1 ? "" : "es");
    char line[2048] = "";
    rsw_tally(line, sizeof line, json_object_get(sum, "verdicts"));
    rsw_labeled(out, "verdicts:", line);
    line[0] = 0;
    rsw_tally(line, sizeof line, json_object_get(sum, "errors"));
    size_t ln = strlen(line);
    snprintf(line + ln, sizeof line - ln, "; SIGPIPE %lld", rsw_i(sum, "signals"));
    rsw_labeled(out, "errors:", line);
    json_array_foreach(json_object_get(sum, "peers"), i, x)
    {
        if (i == 5) {
            size_t more = json_array_size(json_object_get(sum, "peers")) - 5;
            fprintf(out, "              … %zu more peer%s\n", more, more == 1 ? "" : "s");
            break;
        }
        long long nc = rsw_i(x, "connections"), ne = rsw_i(x, "errors");
        fprintf(out, "  %-12s%s: %lld connection%s, %lld error%s\n", i ? "" : "peers:",
                rsw_s(x, "peer"), nc, nc == 1 ? "" : "s", ne, ne == 1 ? "" : "s");
    }
    json_array_foreach(json_object_get(sum, "call_sites"), i, x)
    {
        char site[1024];
        snprintf(site, sizeof site, "%s: ", rsw_s(x, "site"));
        rsw_tally(site, sizeof site, json_object_get(x, "errno"));
        rsw_labeled(out, i ? "" : "call sites:", site);
    }
    json_array_foreach(json_object_get(sum, "processes"), i, x)
    {
        const char *exe = json_string_value(json_object_get(x, "exe"));
        const char *killed = json_string_value(json_object_get(x, "killed_by"));
        fprintf(out, "  %-12s%lld %s%s%s\n", i ? "" : "processes:", rsw_i(x, "pid"),
                exe ? rsw_base(exe) : "?", killed ? ", killed by " : "", killed ? killed : "");
    }
    json_t *sk = json_object_get(sum, "skipped");
    if (rsw_i(sk, "total")) {
        fprintf(out, "  skipped:    %lld line%s (", rsw_i(sk, "total"),
                rsw_i(sk, "total") == 1 ? "" : "s");
        const char *k;
        int first = 1;
        json_object_foreach(sk, k, x)
        {
            if (strcmp(k, "total") == 0 || json_integer_value(x) == 0)
                continue;
            fprintf(out, "%s%s %lld", first ? "" : ", ", k, (long long)json_integer_value(x));
            first = 0;
        }
        fputs(")\n", out);
    }
    int rc = fflush(out) == 0 && !ferror(out) ? 0 : -1;
    free(s);
    return rc;
}

const struct rsw_renderer rsw_render_text = {"text", rsw_text_begin, rsw_text_conn, rsw_text_end};
