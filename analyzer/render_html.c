/* render_html.c: `rstwatch report --format html`: one self-contained page, an SVG timeline each. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strndup, gmtime_r */
#endif
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "render.h"

/* Streaming: each connection is written as it arrives (nothing is kept but counters); the
 * summary comes last in the document and CSS (`order`) shows it at the top. No network: the
 * styles and the few lines of script are inline, every string from the logs is escaped. */

#define RSW_HTML_MAX_CONNS 2000 /* drawn; the rest are counted (filter with --verdict etc.) */
#define RSW_HTML_MAX_MARKS 400  /* per timeline; errors/signals/injections always come first */
#define RSW_HTML_MAX_ROWS 500   /* events listed per connection */

/* SVG geometry (viewBox units; the SVG scales to the page width). */
#define RSW_W 1100.0
#define RSW_X0 170.0 /* plot area: lane labels on the left */
#define RSW_X1 1010.0
#define RSW_AXIS 26.0
#define RSW_LANE 58.0

static const char rsw_css[] =
    ":root{--ink:#1f2933;--mute:#66788a;--line:#d5dde5;--err:#d62828;--sig:#9d0208;--inj:#f77f00;"
    "--life:#3d5a80;--bg:#f6f8fa}body{margin:0;background:var(--bg);color:var(--ink);"
    "font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;display:flex;"
    "flex-direction:column;align-items:center}header,section,.note{box-sizing:border-box;"
    "width:min(1180px,96vw)}header{order:-1;padding:18px 4px 6px}h1{margin:0 0 4px;font-size:22px}"
    "h2{display:inline;font-size:16px;margin:0 8px 0 6px;font-family:ui-monospace,monospace}"
    ".mute,.meta{color:var(--mute)}.meta{font-size:12px}section{background:#fff;"
    "border:1px solid var(--line);border-radius:8px;margin:8px 0;padding:12px 14px;"
    "box-shadow:0 1px 2px rgba(0,0,0,.04)}.badge{display:inline-block;border-radius:10px;"
    "padding:1px 9px;color:#fff;font-size:12px;font-weight:600;background:var(--c,#718096);"
    "text-decoration:none;margin:2px 4px 2px 0}.badge b{margin-left:4px}"
    ".verdicts .badge{cursor:pointer}.verdicts .badge.off{opacity:.35}.v-clean{--c:#2b8a3e}"
    ".v-refused{--c:#b35c00}.v-reset-by-peer{--c:#c92a2a}.v-write-after-peer-close{--c:#862e2e}"
    ".v-timeout{--c:#6741d9}.v-unreachable{--c:#1c7ed6}.v-injected{--c:#e8590c}"
    ".v-stale-after-peer-restart{--c:#a61e4d}.expl{margin:6px 0 2px;font-size:15px}"
    ".facts{margin:0 0 6px;font-size:12px;color:var(--mute)}svg.timeline{width:100%;height:auto;"
    "display:block;font-family:system-ui,sans-serif}svg .axis{stroke:#aab6c2}"
    "svg .grid{stroke:#edf0f3}svg text{fill:var(--ink);font-size:11px}"
    "svg text.tick,svg text.sub{fill:var(--mute);font-size:10px}svg .lane{stroke:#9fb3c8;"
    "stroke-width:4;stroke-linecap:round}svg .mk{cursor:pointer}"
    "svg .mk:hover>*:not(title),svg .mk:focus>*:not(title){stroke:#000;stroke-width:1.5}"
    "svg .life path{stroke:var(--life);stroke-width:2}svg .life text{fill:var(--life)}"
    "svg .io path{stroke:#7b8ea3;stroke-width:1.5}svg .io text{fill:var(--mute);font-size:10px}"
    "svg .err circle{fill:var(--err)}svg .err text{fill:var(--err);font-weight:600}"
    "svg .sig path{fill:var(--sig)}svg .sig text{fill:var(--sig);font-weight:600}"
    "svg .inj path{fill:var(--inj)}svg .inj text{fill:#b34700;font-weight:600}"
    "svg .lost{fill:rgba(247,127,0,.18);stroke:var(--inj);stroke-dasharray:3 2}"
    "svg text.lost-t{fill:#b34700;font-size:10px}details.events>summary{cursor:pointer;"
    "color:var(--mute);font-size:12px}ol.evs{list-style:none;margin:4px 0 0;padding:0;"
    "font-size:13px}ol.evs>li{padding:1px 6px;border-radius:4px}ol.evs>li.hit{background:#fff3bf}"
    ".t{display:inline-block;min-width:92px;text-align:right;margin-right:8px;color:var(--mute);"
    "font-family:ui-monospace,monospace;font-size:12px}.side{font-size:11px;color:#fff;"
    "background:#8796a5;border-radius:3px;padding:0 4px;margin-right:6px}"
    ".k-error .txt,.k-signal .txt{color:var(--err);font-weight:600}.k-inject .txt{color:#b34700;"
    "font-weight:600}details.bt{margin:2px 0 4px 108px}details.bt>summary{cursor:pointer;"
    "font-size:12px;color:var(--mute)}details.bt ol{margin:2px 0;padding-left:26px;"
    "font-family:ui-monospace,monospace;font-size:12px}.obj{color:var(--mute)}"
    "table{border-collapse:collapse;font-size:12px;margin:4px 0}td,th{text-align:left;"
    "padding:2px 10px 2px 0;vertical-align:top}th{color:var(--mute);font-weight:600}"
    ".cols{display:flex;flex-wrap:wrap;gap:8px 36px}.cols h3{margin:8px 0 0;font-size:13px}"
    ".legend svg{vertical-align:middle}.legend{font-size:12px;color:var(--mute)}"
    "code{font-family:ui-monospace,monospace}";

/* Clicking a mark (or following a #cN-eK link) opens that event's backtrace and shows it;
 * clicking a verdict in the header shows only the connections with that verdict. */
static const char rsw_js[] =
    "function show(id){var e=id&&document.getElementById(id);if(!e)return;"
    "for(var p=e;p;p=p.parentElement)if(p.tagName==='DETAILS')p.open=true;"
    "e.querySelectorAll('details').forEach(function(d){d.open=true});"
    "document.querySelectorAll('.hit').forEach(function(h){h.classList.remove('hit')});"
    "e.classList.add('hit');e.scrollIntoView({block:'nearest'})}"
    "function act(ev){var m=ev.target.closest('[data-ev]'),f=ev.target.closest('[data-filter]');"
    "if(m){location.hash=m.getAttribute('data-ev');show(m.getAttribute('data-ev'))}if(!f)return;"
    "ev.preventDefault();var v=f.getAttribute('data-filter'),all=f.classList.contains('only');"
    "document.querySelectorAll('[data-filter]').forEach(function(b){b.classList.remove('only');"
    "b.classList.toggle('off',!all&&b!==f)});f.classList.toggle('only',!all);"
    "document.querySelectorAll('section.conn').forEach(function(s){"
    "s.hidden=!all&&s.getAttribute('data-verdict')!==v})}"
    "document.addEventListener('click',act);document.addEventListener('keydown',function(ev){"
    "if((ev.key==='Enter'||ev.key===' ')&&ev.target.closest('[data-ev]'))act(ev)});"
    "addEventListener('hashchange',function(){show(location.hash.slice(1))});"
    "show(location.hash.slice(1));";

struct rsw_html {
    FILE *out;
    char *title;
    long long drawn, skipped; /* connections drawn / not drawn (over RSW_HTML_MAX_CONNS) */
};

enum rsw_kind { RSW_K_LIFE, RSW_K_IO, RSW_K_ERR, RSW_K_SIG, RSW_K_INJ };

/* HTML-escapes n bytes of s for element content and quoted attributes alike; control
 * characters become spaces. Everything that came from a log goes through here. */
static void rsw_esc_n(FILE *f, const char *s, size_t n)
{
    static const char *const ent[] = {
        ['&'] = "&amp;", ['<'] = "&lt;", ['>'] = "&gt;", ['"'] = "&quot;", ['\''] = "&#39;"};
    for (size_t i = 0; s && i < n && s[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < sizeof ent / sizeof *ent && ent[c])
            fputs(ent[c], f);
        else
            fputc(c < 0x20 || c == 0x7f ? ' ' : c, f);
    }
}

static void rsw_esc(FILE *f, const char *s)
{
    rsw_esc_n(f, s, s ? strlen(s) : 0);
}

/* pre, then s escaped (cut to max characters with an ellipsis, 0 = no limit), then post. */
static void rsw_put(FILE *f, const char *pre, const char *s, size_t max, const char *post)
{
    size_t i = 0, chars = 0, cut = 0;
    for (; s && s[i]; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80 && chars++ == max - 1)
            cut = i; /* where the max-th character starts */
    fputs(pre, f);
    if (max && chars > max) {
        rsw_esc_n(f, s, cut);
        fputs("…", f);
    } else {
        rsw_esc(f, s);
    }
    fputs(post, f);
}

/* Only [a-z-] survives into class names; anything else is "other". */
static const char *rsw_vclass(const char *verdict)
{
    if (!verdict || !*verdict || strlen(verdict) > 40)
        return "other";
    for (const char *p = verdict; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || *p == '-'))
            return "other";
    return verdict;
}

/* How an event is drawn: its CSS class and its shape, centred on (x, y). */
static const struct {
    const char *ev, *cls, *shape;
} rsw_kinds[] = {
    [RSW_K_LIFE] = {"", "life", "<path d=\"M%.1f %.1fm0-9v18\"/>"},
    [RSW_K_IO] = {"io", "io", "<path d=\"M%.1f %.1fm0-5v10\"/>"},
    [RSW_K_ERR] = {"error", "err", "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"6.5\"/>"},
    [RSW_K_SIG] = {"signal", "sig", "<path d=\"M%.1f %.1fm0-7l7 7-7 7-7-7z\"/>"},
    [RSW_K_INJ] = {"inject", "inj", "<path d=\"M%.1f %.1fm0-7l7 12h-14z\"/>"},
};

static enum rsw_kind rsw_kind_of(json_t *ev)
{
    const char *k = rsw_str(ev, "ev", "");
    for (enum rsw_kind i = RSW_K_IO; i <= RSW_K_INJ; i++)
        if (strcmp(k, rsw_kinds[i].ev) == 0)
            return i;
    return RSW_K_LIFE;
}

/* "+1.100 ms": a time relative to the connection's start, in a unit that fits it. */
static void rsw_rel(char *buf, size_t n, json_int_t ns)
{
    const char *sign = ns < 0 ? "−" : "+";
    double a = ns < 0 ? -(double)ns : (double)ns;
    if (a < 1e3)
        snprintf(buf, n, "%s%.0f ns", sign, a);
    else if (a < 1e6)
        snprintf(buf, n, "%s%.1f µs", sign, a / 1e3);
    else if (a < 1e9)
        snprintf(buf, n, "%s%.*f ms", sign, a < 1e7 ? 3 : 1, a / 1e6);
    else
        snprintf(buf, n, "%s%.3f s", sign, a / 1e9);
}

static void rsw_abs(char *buf, size_t n, json_int_t ts)
{
    time_t sec = (time_t)(ts / 1000000000);
    struct tm tm;
    char day[40] = "?";
    if (gmtime_r(&sec, &tm))
        strftime(day, sizeof day, "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(buf, n, "%s.%06lld UTC", day, (long long)(ts % 1000000000 / 1000));
}

static const char *rsw_base(const char *path)
{
    const char *b = path ? strrchr(path, '/') : NULL;
    return b && b[1] ? b + 1 : (path ? path : "?");
}

static void *rsw_html_begin(const struct rsw_render_opts *o)
{
    struct rsw_html *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->out = o->out;
    s->title = strdup(o->title ? o->title : "");
    rsw_put(s->out,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n"
            "<meta name=\"generator\" content=\"rstwatch report --format html\">\n"
            "<title>rstwatch: ",
            *s->title ? s->title : "report", 0, "</title>\n<style>");
    fprintf(s->out, "%s</style>\n</head>\n<body>\n", rsw_css);
    return s;
}

/* ---- the SVG timeline ------------------------------------------------------------------ */

struct rsw_axis {
    double t0, t1; /* ns, relative to start */
};

static double rsw_x(const struct rsw_axis *a, double t)
{
    return RSW_X0 + (t - a->t0) / (a->t1 - a->t0) * (RSW_X1 - RSW_X0);
}

/* A 1-2-5 step giving about six ticks, and the unit its labels use. */
static void rsw_ticks(FILE *f, const struct rsw_axis *a, double y0, double y1)
{
    double span = a->t1 - a->t0, step = 1;
    for (int i = 0; span / step > 7; i++) /* 1, 2, 5, 10, 20, 50 ... */
        step *= i % 3 == 1 ? 2.5 : 2;
    double m = a->t1 > -a->t0 ? a->t1 : -a->t0; /* the unit follows the axis' largest value */
    const char *unit = m >= 1.5e9 ? "s" : m >= 1.5e6 ? "ms" : m >= 1.5e3 ? "µs" : "ns";
    double div = m >= 1.5e9 ? 1e9 : m >= 1.5e6 ? 1e6 : m >= 1.5e3 ? 1e3 : 1;
    fprintf(f, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", RSW_X0,
            y0, RSW_X1, y0);
    for (double t = (double)(long long)(a->t0 / step) * step; t <= a->t1; t += step) {
        if (t < a->t0)
            continue;
        double x = rsw_x(a, t);
        fprintf(
            f,
            "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
            "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s%g %s</text>\n",
            x, y0 + 1, x, y1, x, y0 - 6, t < 0 ? "" : "+", t / div, unit);
    }
}

/* Label rows above and below a lane: the spans already taken, so that labels never overlap. */
#define RSW_SPANS 48
struct rsw_rows {
    double lo[2][RSW_SPANS], hi[2][RSW_SPANS];
    int n[2];
};

static int rsw_row(struct rsw_rows *r, double x, size_t len)
{
    double a = x - (6.2 * (double)len + 6) / 2, b = 2 * x - a;
    for (int row = 0; row < 2; row++) {
        int ok = r->n[row] < RSW_SPANS;
        for (int i = 0; ok && i < r->n[row]; i++)
            ok = b < r->lo[row][i] || a > r->hi[row][i];
        if (ok) {
            r->lo[row][r->n[row]] = a;
            r->hi[row][r->n[row]++] = b;
            return row;
        }
    }
    return -1; /* no room: the tooltip still says it */
}

static void rsw_mark(FILE *f, json_t *ev, const char *evid, double x, double y,
                     struct rsw_rows *rows, int few_labels)
{
    enum rsw_kind k = rsw_kind_of(ev);
    const char *cls = rsw_kinds[k].cls;
    char t[48];
    rsw_rel(t, sizeof t, rsw_int(ev, "t", 0));
    const char *err = rsw_str(ev, "errno", NULL);
    const char *kind = rsw_str(ev, "ev", "?");
    fprintf(f, "<g class=\"mk %s\" data-ev=\"%s\" tabindex=\"0\" role=\"button\"><title>%s", cls,
            evid, t);
    rsw_put(f, " ", rsw_str(ev, "text", kind), 0, " (click: details)</title>");
    fprintf(f, rsw_kinds[k].shape, x, y);
    /* The label: errno for failures, the signal's name, bytes for io, else the event kind. */
    char label[64];
    json_int_t ret = rsw_int(ev, "ret", 0);
    const char *call = rsw_str(ev, "call", "");
    if (k == RSW_K_IO)
        snprintf(label, sizeof label, "%s%" JSON_INTEGER_FORMAT " B",
                 strstr(call, "write") || strstr(call, "send") ? "↑" : "↓", ret);
    else
        snprintf(label, sizeof label, "%s",
                 k == RSW_K_SIG                           ? rsw_str(ev, "sig", "SIGPIPE")
                 : k == RSW_K_INJ                         ? "injected"
                 : err && strcmp(err, "EINPROGRESS") != 0 ? err
                                                          : kind);
    if ((k != RSW_K_IO || ret > 0) && (!few_labels || k != RSW_K_LIFE)) {
        int row = rsw_row(rows, x, strlen(label));
        if (row >= 0) {
            fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", x,
                    row == 0 ? y - 12 : y + 21);
            rsw_put(f, "", label, 0, "</text>");
        }
    }
    fputs("</g>\n", f);
}

/* The time of the first event on that side whose kind is one of evs (NULL-terminated). */
static int rsw_first(json_t *events, const char *side, const char *const *evs, json_int_t *t)
{
    size_t i;
    json_t *ev;
    json_array_foreach(events, i, ev)
    {
        if (strcmp(rsw_str(ev, "side", "local"), side) != 0)
            continue;
        for (const char *const *k = evs; *k; k++)
            if (strcmp(rsw_str(ev, "ev", ""), *k) == 0) {
                *t = rsw_int(ev, "t", 0);
                return 1;
            }
    }
    return 0;
}

static void rsw_lane_label(FILE *f, double y, const char *who, json_t *proc, const char *role)
{
    fprintf(f, "<text x=\"8\" y=\"%.1f\" font-weight=\"600\">%s", y - 2, who);
    if (role)
        rsw_put(f, " · ", role, 0, "");
    json_int_t pid = rsw_int(proc, "pid", -1);
    if (pid >= 0)
        fprintf(f, " · pid %" JSON_INTEGER_FORMAT, pid);
    fprintf(f, "</text><text class=\"sub\" x=\"8\" y=\"%.1f\">", y + 12);
    rsw_put(f, "", rsw_base(rsw_str(proc, "exe", "")), 26, "</text>\n");
}

static void rsw_svg(struct rsw_html *s, json_t *conn, long long cid)
{
    FILE *f = s->out;
    json_t *events = json_object_get(conn, "events");
    json_t *peer_side = json_object_get(conn, "peer_side");
    json_int_t dur = rsw_int(conn, "end_ts", 0) - rsw_int(conn, "start_ts", 0);
    struct rsw_axis ax = {0, dur > 0 ? (double)dur : 0};
    int two = json_is_object(peer_side);
    size_t i;
    json_t *ev;
    json_int_t lo[2] = {0, 0}, hi[2] = {dur > 0 ? dur : 0, 0}; /* per lane extent */
    int seen_peer = 0;
    json_array_foreach(events, i, ev)
    {
        json_int_t t = rsw_int(ev, "t", 0);
        int p = strcmp(rsw_str(ev, "side", "local"), "peer") == 0;
        if (p && !seen_peer) {
            lo[1] = hi[1] = t;
            seen_peer = two = 1;
        }
        if (t < lo[p])
            lo[p] = t;
        if (t > hi[p])
            hi[p] = t;
        if (t < ax.t0)
            ax.t0 = (double)t;
        if (t > ax.t1)
            ax.t1 = (double)t;
    }
    double span = ax.t1 - ax.t0;
    if (span <= 0)
        span = 1000;
    ax.t0 -= span * 0.03;
    ax.t1 = ax.t0 + span * 1.06;
    int lanes = two ? 2 : 1;
    double h = RSW_AXIS + RSW_LANE * lanes + 6;
    fprintf(f,
            "<svg class=\"timeline\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" "
            "aria-label=\"timeline of connection %lld\">\n",
            RSW_W, h, cid);
    rsw_ticks(f, &ax, RSW_AXIS, h - 4);
    double ly[2] = {RSW_AXIS + RSW_LANE * 0.55, RSW_AXIS + RSW_LANE * 1.55};
    rsw_lane_label(f, ly[0], "this side", conn, rsw_str(conn, "role", NULL));
    if (two)
        rsw_lane_label(f, ly[1], "peer", json_is_object(peer_side) ? peer_side : NULL, NULL);
    for (int l = 0; l < lanes; l++)
        if (l == 0 || seen_peer)
            fprintf(f, "<line class=\"lane\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
                    rsw_x(&ax, lo[l]), ly[l], rsw_x(&ax, hi[l]) + 0.5, ly[l]);
    fprintf(f,
            "<text class=\"sub\" x=\"%.1f\" y=\"%.1f\">↑%" JSON_INTEGER_FORMAT
            " B out</text><text class=\"sub\" x=\"%.1f\" y=\"%.1f\">↓%" JSON_INTEGER_FORMAT
            " B in</text>\n",
            RSW_X1 + 14, ly[0] - 2, rsw_int(conn, "bytes_out", 0), RSW_X1 + 14, ly[0] + 12,
            rsw_int(conn, "bytes_in", 0));

    /* Bytes written after the peer had closed: from its close (or our EOF) to our failure. */
    json_int_t after = rsw_int(conn, "bytes_after_peer_close", 0), tc, tf;
    static const char *const closes[] = {"close", "shutdown", NULL}, *const eofs[] = {"eof", NULL};
    static const char *const fails[] = {"error", "signal", NULL};
    if (after > 0 &&
        (rsw_first(events, "peer", closes, &tc) || rsw_first(events, "local", eofs, &tc)) &&
        rsw_first(events, "local", fails, &tf) && tf > tc) {
        double x1 = rsw_x(&ax, tc), x2 = rsw_x(&ax, tf);
        fprintf(
            f,
            "<rect class=\"lost\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"16\" rx=\"3\">"
            "<title>%" JSON_INTEGER_FORMAT " B written after the peer closed: never read"
            "</title></rect><text class=\"lost-t\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">"
            "%" JSON_INTEGER_FORMAT " B never read</text>\n",
            x1, ly[0] - 8, x2 - x1, after, (x1 + x2) / 2, ly[0] + 22, after);
    }

    /* Marks: failures first so they always get drawn and labelled, then the rest. */
    struct rsw_rows rows[2] = {{.n = {0, 0}}, {.n = {0, 0}}};
    size_t drawn = 0, n = json_array_size(events);
    for (int pass = 0; pass < 2; pass++)
        json_array_foreach(events, i, ev)
        {
            enum rsw_kind k = rsw_kind_of(ev);
            int failure = k == RSW_K_ERR || k == RSW_K_SIG || k == RSW_K_INJ;
            if (failure != (pass == 0) || drawn >= RSW_HTML_MAX_MARKS)
                continue;
            int p = two && strcmp(rsw_str(ev, "side", "local"), "peer") == 0;
            char evid[64];
            snprintf(evid, sizeof evid, "c%lld-e%zu", cid, i);
            rsw_mark(f, ev, evid, rsw_x(&ax, rsw_int(ev, "t", 0)), ly[p], &rows[p], n > 60);
            drawn++;
        }
    fputs("</svg>\n", f);
}

/* ---- the event list, with backtraces ----------------------------------------------------- */

static void rsw_frames(FILE *f, json_t *bt)
{
    fprintf(f, "<details class=\"bt\"><summary>backtrace (%zu frame%s)</summary><ol start=\"0\">",
            json_array_size(bt), json_array_size(bt) == 1 ? "" : "s");
    size_t i;
    json_t *fr;
    json_array_foreach(bt, i, fr)
    {
        const char *func = rsw_str(fr, "func", NULL), *sym = rsw_str(fr, "sym", NULL);
        const char *file = rsw_str(fr, "file", NULL);
        json_int_t line = rsw_int(fr, "line", 0);
        rsw_put(f, "<li><b>", func ? func : sym ? sym : "??", 0, "</b> ");
        if (file) {
            rsw_esc(f, file);
            if (line > 0)
                fprintf(f, ":%" JSON_INTEGER_FORMAT, line);
        }
        rsw_put(f, " <span class=\"obj\">", rsw_str(fr, "obj", "?"), 0, "+");
        rsw_put(f, "", rsw_str(fr, "off", rsw_str(fr, "ip", "?")), 0, "</span></li>");
    }
    fputs("</ol></details>", f);
}

static void rsw_events(struct rsw_html *s, json_t *conn, long long cid)
{
    FILE *f = s->out;
    json_t *events = json_object_get(conn, "events");
    size_t n = json_array_size(events), i;
    json_t *ev;
    fprintf(f, "<details class=\"events\"%s><summary>%zu event%s</summary><ol class=\"evs\">\n",
            n <= 12 ? " open" : "", n, n == 1 ? "" : "s");
    json_array_foreach(events, i, ev)
    {
        if (i >= RSW_HTML_MAX_ROWS) {
            fprintf(f, "<li class=\"mute\">… %zu more events</li>\n", n - i);
            break;
        }
        char t[48];
        rsw_rel(t, sizeof t, rsw_int(ev, "t", 0));
        const char *kind = rsw_str(ev, "ev", "?");
        fprintf(f, "<li id=\"c%lld-e%zu\" class=\"k-%s\"><span class=\"t\">%s</span>", cid, i,
                rsw_vclass(kind), t);
        if (strcmp(rsw_str(ev, "side", "local"), "peer") == 0)
            fputs("<span class=\"side\">peer</span>", f);
        rsw_put(f, "<span class=\"txt\">", rsw_str(ev, "text", kind), 0, "</span>");
        json_t *bt = json_object_get(ev, "bt");
        if (json_is_array(bt) && json_array_size(bt) > 0)
            rsw_frames(f, bt);
        fputs("</li>\n", f);
    }
    fputs("</ol></details>\n", f);
}

static void rsw_html_conn(void *state, json_t *conn)
{
    struct rsw_html *s = state;
    if (!s)
        return;
    if (s->drawn >= RSW_HTML_MAX_CONNS) {
        s->skipped++;
        return;
    }
    FILE *f = s->out;
    long long cid = ++s->drawn;
    const char *verdict = rsw_str(conn, "verdict", "?"), *vc = rsw_vclass(verdict);
    fprintf(f, "<section class=\"conn\" id=\"c%lld\" data-verdict=\"", cid);
    rsw_put(f, "", verdict, 0, "\">\n<div><span class=\"badge v-");
    rsw_put(f, vc, "", 0, "\">"); /* vc is [a-z-] only */
    rsw_put(f, "", verdict, 0, "</span><h2>");
    rsw_put(f, "", rsw_str(conn, "local", "?"), 0, " → ");
    rsw_put(f, "", rsw_str(conn, "peer", "?"), 0, "</h2><span class=\"meta\">");
    static const char *const meta[] = {"role", "family", "exe", "host", "id"};
    for (size_t i = 0; i < sizeof meta / sizeof *meta; i++) {
        const char *v = rsw_str(conn, meta[i], NULL);
        if (!v)
            continue;
        rsw_put(f, i == 0 ? "" : strcmp(meta[i], "id") == 0 ? " · id " : " · ", v, 0, "");
    }
    rsw_put(f, "</span></div>\n<p class=\"expl\">", rsw_str(conn, "explanation", ""), 0, "");
    char start[64], lasted[48];
    json_int_t t0 = rsw_int(conn, "start_ts", 0);
    rsw_abs(start, sizeof start, t0);
    rsw_rel(lasted, sizeof lasted, rsw_int(conn, "end_ts", t0) - t0);
    fprintf(f,
            "</p>\n<p class=\"facts\">started %s · lasted %s · %" JSON_INTEGER_FORMAT
            " B in · %" JSON_INTEGER_FORMAT " B out",
            start, lasted[0] == '+' ? lasted + 1 : lasted, rsw_int(conn, "bytes_in", 0),
            rsw_int(conn, "bytes_out", 0));
    json_int_t after = rsw_int(conn, "bytes_after_peer_close", -1);
    if (after >= 0)
        fprintf(f, " · <b>%" JSON_INTEGER_FORMAT " B written after the peer closed</b>", after);
    if (rsw_str(conn, "killed_by", NULL))
        rsw_put(f, " · <b>killed by ", rsw_str(conn, "killed_by", NULL), 0, "</b>");
    if (rsw_str(conn, "rule", NULL))
        rsw_put(f, " · injection rule <code>", rsw_str(conn, "rule", NULL), 0, "</code>");
    json_t *ps = json_object_get(conn, "peer_side");
    if (json_is_object(ps)) {
        rsw_put(f, " · other end: ", rsw_str(ps, "exe", "?"), 0, "");
        fprintf(f, " pid %" JSON_INTEGER_FORMAT, rsw_int(ps, "pid", 0));
    }
    fputs("</p>\n", f);
    rsw_svg(s, conn, cid);
    rsw_events(s, conn, cid);
    fputs("</section>\n", f);
}

/* ---- the header (written last, shown first) ---------------------------------------------- */

/* "EPIPE 2, ECONNRESET 1": the non-zero counts of an object, skipping key "total". */
static void rsw_counts(FILE *f, json_t *counts)
{
    const char *k, *sep = "";
    json_t *v;
    json_object_foreach(counts, k, v)
    {
        if (strcmp(k, "total") == 0 || !json_is_integer(v) || json_integer_value(v) == 0)
            continue;
        rsw_put(f, sep, k, 0, "");
        fprintf(f, " %" JSON_INTEGER_FORMAT, json_integer_value(v));
        sep = ", ";
    }
}

/* A table of the first 20 rows; cols = NULL-terminated pairs of (key, heading). */
static void rsw_table(FILE *f, const char *title, json_t *rows, const char *const *cols)
{
    if (!json_is_array(rows) || json_array_size(rows) == 0)
        return;
    fprintf(f, "<div><h3>%s</h3><table><tr>", title);
    for (const char *const *c = cols; *c; c += 2)
        fprintf(f, "<th>%s</th>", c[1]);
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        if (i >= 20)
            break;
        fputs("</tr>\n<tr>", f);
        for (const char *const *c = cols; *c; c += 2) {
            json_t *v = json_object_get(row, c[0]);
            fputs("<td>", f);
            if (json_is_string(v))
                rsw_esc(f, json_string_value(v));
            else if (json_is_integer(v))
                fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
            else if (json_is_object(v))
                rsw_counts(f, v);
            fputs("</td>", f);
        }
    }
    fputs("</tr></table></div>\n", f);
}

static void rsw_legend(FILE *f)
{
    static const char *const what[] = {"open/close/eof", "io", "error", "signal", "injection"};
    fputs("<p class=\"legend\">Marks:", f);
    for (enum rsw_kind k = RSW_K_LIFE; k <= RSW_K_INJ; k++) {
        fprintf(f, " <svg width=\"16\" height=\"18\" viewBox=\"-8 -9 16 18\"><g class=\"%s\">",
                rsw_kinds[k].cls);
        fprintf(f, rsw_kinds[k].shape, 0.0, 0.0);
        fprintf(f, "</g></svg> %s ·", what[k]);
    }
    fputs(" click a mark for its backtrace; click a verdict to show only those.</p>\n", f);
}

static int rsw_html_end(void *state, json_t *summary)
{
    struct rsw_html *s = state;
    if (!s)
        return -1;
    FILE *f = s->out;
    if (s->skipped)
        fprintf(f,
                "<p class=\"note mute\">%lld more connections are not drawn (a page shows at "
                "most %d); narrow the report with --verdict, --peer, --pid or --errors-only.</p>\n",
                s->skipped, RSW_HTML_MAX_CONNS);
    if (s->drawn == 0)
        fputs("<p class=\"note mute\">No connections in these logs.</p>\n", f);
    fputs("<header id=\"summary\">\n<h1>rstwatch report</h1>\n<p class=\"mute\">", f);
    json_t *inputs = json_object_get(summary, "inputs");
    if (json_is_array(inputs) && json_array_size(inputs) > 0) {
        size_t i;
        json_t *in;
        json_array_foreach(inputs, i, in)
            rsw_put(f, i ? ", <code>" : "Inputs: <code>", json_string_value(in), 0, "</code>");
    } else {
        rsw_esc(f, s->title);
    }
    json_int_t total = rsw_int(summary, "connections", s->drawn + s->skipped);
    json_t *skipped = json_object_get(summary, "skipped");
    fprintf(f, "</p>\n<p><b>%" JSON_INTEGER_FORMAT "</b> connection%s", total,
            total == 1 ? "" : "s");
    if (rsw_int(skipped, "total", 0) > 0) {
        fprintf(f, " · <b>%" JSON_INTEGER_FORMAT "</b> log lines skipped (",
                rsw_int(skipped, "total", 0));
        rsw_counts(f, skipped);
        fputs(")", f);
    }
    fputs("</p>\n<div class=\"verdicts\">", f);
    const char *v;
    json_t *cnt;
    json_object_foreach(json_object_get(summary, "verdicts"), v, cnt)
    {
        fprintf(f, "<a href=\"#\" class=\"badge v-%s\" data-filter=\"", rsw_vclass(v));
        rsw_put(f, "", v, 0, "\">");
        rsw_put(f, "", v, 0, "");
        fprintf(f, "<b>%" JSON_INTEGER_FORMAT "</b></a>", json_integer_value(cnt));
    }
    fputs("</div>\n", f);
    rsw_legend(f);
    fputs("<div class=\"cols\">\n", f);
    static const char *const procs[] = {"pid",  "pid",       "exe",       "program", "host",
                                        "host", "killed_by", "killed by", NULL};
    static const char *const peers[] = {"peer",   "peer",   "connections", "connections",
                                        "errors", "errors", NULL};
    static const char *const sites[] = {"site",  "call site", "errors", "errors",
                                        "errno", "errno",     NULL};
    rsw_table(f, "Processes", json_object_get(summary, "processes"), procs);
    rsw_table(f, "Peers", json_object_get(summary, "peers"), peers);
    rsw_table(f, "Where errors surfaced", json_object_get(summary, "call_sites"), sites);
    fprintf(f, "</div>\n</header>\n<script>%s</script>\n</body>\n</html>\n", rsw_js);
    int rc = (ferror(f) || fflush(f) != 0) ? -1 : 0;
    free(s->title);
    free(s);
    return rc;
}

const struct rsw_renderer rsw_render_html = {
    .name = "html",
    .begin = rsw_html_begin,
    .conn = rsw_html_conn,
    .end = rsw_html_end,
};
