/* render_text.c: `--format text`: per-connection timelines for people, readable at 80 columns. */
#include "render.h"
#include "rsw_schema.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define TEXT_FRAMES 6  /* backtrace frames shown per event */
#define TEXT_GROUPS 10 /* suppressed sites and tally groups listed in the summary */
#define TEXT_WIDTH 78

struct text_state {
    FILE *out;
    int color;
    int n;
};

static const char *color(const struct text_state *s, const char *code)
{
    return s->color ? code : "";
}
/* the report's own fields: a missing string reads "", a missing number 0 */
#define S(o, k) rsw_jstr(o, k, "")
#define I(o, k) rsw_jint(o, k, 0)

#define BOLD "\033[1m"
#define RED "\033[31m"
#define GREEN "\033[32m"
#define YELLOW "\033[33m"
#define DIM "\033[2m"
#define RESET "\033[0m"

static const char *verdict_color(const char *v)
{
    if (strcmp(v, "clean") == 0)
        return GREEN;
    if (strcmp(v, "injected") == 0 || strcmp(v, "write-after-shutdown") == 0)
        return YELLOW;
    return RED;
}

static void *text_begin(const struct rsw_render_opts *o)
{
    struct text_state *s = calloc(1, sizeof(*s));
    if (!s)
        abort();
    s->out = o->out;
    s->color = o->color;
    return s;
}

/* A space that may end a line: not one inside a grouped number ("9 900"). */
static int breakable(const char *p)
{
    return *p == ' ' && !(isdigit((unsigned char)p[-1]) && isdigit((unsigned char)p[1]));
}

/* Prints text word-wrapped at TEXT_WIDTH in a column starting at indent; the first line
 * is preceded by lead spaces (the caller may already have printed up to the column). */
static void wrap_from(FILE *out, const char *text, int lead, int indent)
{
    const char *p = text;
    while (*p) {
        int room = TEXT_WIDTH - indent;
        size_t len = strlen(p);
        size_t take = len;
        if ((int)len > room) {
            take = room;
            while (take > 0 && !breakable(p + take))
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

/* Prints text word-wrapped at TEXT_WIDTH, every line indented by indent spaces. */
static void wrap(FILE *out, const char *text, int indent)
{
    wrap_from(out, text, indent, indent);
}

static void frames(struct text_state *s, json_t *bt, int indent)
{
    size_t i, n = json_array_size(bt);
    for (i = 0; i < n && i < TEXT_FRAMES; i++) {
        json_t *fr = json_array_get(bt, i);
        const char *func = rsw_jstr(fr, "func", NULL);
        const char *file = rsw_jstr(fr, "file", NULL);
        const char *obj = rsw_jstr(fr, "obj", "");
        fprintf(s->out, "%*s%s#%zu %s", indent, "", color(s, DIM), i, func ? func : "??");
        if (file)
            fprintf(s->out, " (%s:%lld)", rsw_basename(file), rsw_jint(fr, "line", 0));
        else if (*obj)
            fprintf(s->out, " (%s+%s)", rsw_basename(obj), rsw_jstr(fr, "off", ""));
        else if (!func) /* in no known module: the raw address */
            fprintf(s->out, " (%s)", rsw_jstr(fr, "ip", "?"));
        fprintf(s->out, "%s\n", color(s, RESET));
    }
    if (n > TEXT_FRAMES)
        fprintf(s->out, "%*s%s… %zu more frame%s%s\n", indent, "", color(s, DIM), n - TEXT_FRAMES,
                n - TEXT_FRAMES == 1 ? "" : "s", color(s, RESET));
}

static void text_conn(void *state, json_t *c)
{
    struct text_state *s = state;
    char buf[64];
    const char *verdict = S(c, "verdict");
    json_t *ps = json_object_get(c, "peer_side");
    int two = json_is_object(ps);
    const char *role = S(c, "role");
    const char *arrow = strcmp(role, "server") == 0 ? "←" : "→";
    if (s->n++)
        fputc('\n', s->out);
    fprintf(s->out, "%s%s %s%s  %s  %s %s %s\n", color(s, BOLD), "──", S(c, "id"), color(s, RESET),
            role, *S(c, "local") ? S(c, "local") : "?", arrow, *S(c, "peer") ? S(c, "peer") : "?");
    fprintf(s->out, "   %s (pid %lld, fd %lld, %s)", rsw_proc_name(c), I(c, "pid"), I(c, "fd"),
            S(c, "family"));
    if (two)
        fprintf(s->out, " ⇄ %s (pid %lld, conn %lld)", rsw_proc_name(ps), I(ps, "pid"),
                I(ps, "conn"));
    fputc('\n', s->out);
    rsw_fmt_abs(buf, sizeof buf, I(c, "start_ts"));
    char dur[32];
    rsw_fmt_rel(dur, sizeof dur, I(c, "end_ts") - I(c, "start_ts"));
    fprintf(s->out, "   started %s, lasted %s; in %lld B, out %lld B\n", buf, dur + 1,
            I(c, "bytes_in"), I(c, "bytes_out"));
    size_t i;
    json_t *ev;
    json_array_foreach(json_object_get(c, "events"), i, ev)
    {
        char t[32];
        rsw_fmt_rel(t, sizeof t, I(ev, "t"));
        int kind = rsw_ev_parse(S(ev, "ev"));
        int bad = kind == RSW_EV_ERROR || kind == RSW_EV_SIGNAL;
        fprintf(s->out, "   %12s  ", t);
        if (two)
            fprintf(s->out, "%-5s ", S(ev, "side"));
        fprintf(s->out, "%s%s%s\n", bad ? color(s, RED) : "", S(ev, "text"),
                bad ? color(s, RESET) : "");
        json_t *bt = json_object_get(ev, "bt");
        if (json_is_array(bt))
            frames(s, bt, two ? 23 : 17);
    }
    fprintf(s->out, "   verdict: %s%s%s%s\n", color(s, BOLD), color(s, verdict_color(verdict)),
            verdict, color(s, RESET));
    wrap(s->out, S(c, "explanation"), 5);
}

/* "  label:     text" wrapped at TEXT_WIDTH, continuation lines under the text. */
static void labeled(FILE *out, const char *label, const char *text)
{
    char first[16];
    snprintf(first, sizeof first, "  %-12s", label);
    fputs(first, out);
    wrap_from(out, text, 0, 14);
}

/* One labeled line per entry of arr (at most TEXT_GROUPS), made by fmt. */
static void groups(FILE *out, const char *label, json_t *arr, void (*fmt)(char *, size_t, json_t *),
                   const char *what)
{
    size_t i;
    json_t *x;
    json_array_foreach(arr, i, x)
    {
        if (i == TEXT_GROUPS) {
            char more[128];
            snprintf(more, sizeof more, "… %zu more %s (--format json lists them all)",
                     json_array_size(arr) - TEXT_GROUPS, what);
            labeled(out, "", more);
            break;
        }
        char text[1024];
        fmt(text, sizeof text, x);
        labeled(out, i ? "" : label, text);
    }
}

static int text_end(void *state, json_t *sum)
{
    struct text_state *s = state;
    FILE *out = s->out;
    size_t i;
    json_t *x;
    if (s->n)
        fputc('\n', out);
    char line[2048] = "";
    rsw_fmt_connections(line, sizeof line, sum, NULL);
    fprintf(out, "%sSummary%s: %s, %zu process%s\n", color(s, BOLD), color(s, RESET), line,
            json_array_size(json_object_get(sum, "processes")),
            json_array_size(json_object_get(sum, "processes")) == 1 ? "" : "es");
    line[0] = 0;
    rsw_fmt_tally(line, sizeof line, json_object_get(sum, "verdicts"));
    labeled(out, "verdicts:", line);
    line[0] = 0;
    rsw_fmt_tally_plus(line, sizeof line, json_object_get(sum, "errors"),
                       json_object_get(sum, "suppressed_errors"));
    size_t ln = strlen(line);
    long long ssig = I(sum, "suppressed_signals");
    char sa[32], sb[32];
    rsw_fmt_count(sa, sizeof sa, I(sum, "signals"));
    rsw_fmt_count(sb, sizeof sb, ssig);
    if (ssig)
        snprintf(line + ln, sizeof line - ln, "; SIGPIPE %s + %s suppressed", sa, sb);
    else
        snprintf(line + ln, sizeof line - ln, "; SIGPIPE %lld", I(sum, "signals"));
    labeled(out, "errors:", line);
    groups(out, "suppressed:", json_object_get(sum, "suppressed"), rsw_fmt_suppressed,
           "suppressed sites");
    groups(out, "clean:", json_object_get(sum, "tallies"), rsw_fmt_tally_group, "tally groups");
    if (json_object_get(sum, "tallies") && json_array_size(json_object_get(sum, "tallies")) == 0)
        labeled(out, "clean:",
                "none tallied; in failures mode (RSTWATCH_EVENTS) clean connections are only "
                "counted in tally lines, never shown");
    json_array_foreach(json_object_get(sum, "peers"), i, x)
    {
        if (i == 5) {
            size_t more = json_array_size(json_object_get(sum, "peers")) - 5;
            fprintf(out, "              … %zu more peer%s\n", more, more == 1 ? "" : "s");
            break;
        }
        long long nc = I(x, "connections"), ne = I(x, "errors");
        fprintf(out, "  %-12s%s: %lld connection%s, %lld error%s\n",
                i ? "" : "peers:", S(x, "peer"), nc, nc == 1 ? "" : "s", ne, ne == 1 ? "" : "s");
    }
    json_array_foreach(json_object_get(sum, "call_sites"), i, x)
    {
        char site[1024];
        snprintf(site, sizeof site, "%s: ", S(x, "site"));
        rsw_fmt_tally(site, sizeof site, json_object_get(x, "errno"));
        labeled(out, i ? "" : "call sites:", site);
    }
    json_array_foreach(json_object_get(sum, "processes"), i, x)
    {
        const char *killed = rsw_jstr(x, "killed_by", NULL);
        fprintf(out, "  %-12s%lld %s%s%s\n", i ? "" : "processes:", I(x, "pid"), rsw_proc_name(x),
                killed ? ", killed by " : "", killed ? killed : "");
    }
    json_array_foreach(json_object_get(sum, "lost"), i, x)
    {
        char what[1024];
        rsw_fmt_lost(what, sizeof what, x);
        labeled(out, i ? "" : "incomplete:", what);
    }
    json_array_foreach(json_object_get(sum, "not_observed"), i, x)
    {
        char what[600];
        snprintf(what, sizeof what,
                 "%lld %s: no log from it (statically linked, or it cleared LD_PRELOAD?)",
                 I(x, "pid"), S(x, "name"));
        labeled(out, i ? "" : "unobserved:", what);
    }
    json_t *sk = json_object_get(sum, "skipped");
    if (I(sk, "total")) {
        fprintf(out, "  skipped:    %lld line%s (", I(sk, "total"), I(sk, "total") == 1 ? "" : "s");
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

const struct rsw_renderer rsw_render_text = {"text", text_begin, text_conn, text_end};
