/* render_html.c: `rstwatch report --format html`: one self-contained page, an SVG timeline each. */
#include "render_html.h"
#include "rsw_schema.h"
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Streaming: each connection is written as it arrives (nothing is kept but counters); the
 * summary comes last in the document and CSS (`order`) shows it at the top. No network: the
 * styles and the few lines of script are inline, every string from the logs is escaped. */

#define MAX_CONNS 2000 /* drawn; the rest are counted (filter with --verdict etc.) */
#define MAX_ROWS 500   /* events listed per connection */

static const char css[] =
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
static const char js[] =
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

struct html {
    FILE *out;
    char *title;
    long long drawn, skipped; /* connections drawn / not drawn (over MAX_CONNS) */
};

void rsw_html_esc_n(FILE *f, const char *s, size_t n)
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

void rsw_html_esc(FILE *f, const char *s)
{
    rsw_html_esc_n(f, s, s ? strlen(s) : 0);
}

void rsw_html_put(FILE *f, const char *pre, const char *s, size_t max, const char *post)
{
    size_t i = 0, chars = 0, cut = 0;
    for (; s && s[i]; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80 && chars++ == max - 1)
            cut = i; /* where the max-th character starts */
    fputs(pre, f);
    if (max && chars > max) {
        rsw_html_esc_n(f, s, cut);
        fputs("…", f);
    } else {
        rsw_html_esc(f, s);
    }
    fputs(post, f);
}

/* Only [a-z-] survives into class names; anything else is "other". */
static const char *vclass(const char *verdict)
{
    if (!verdict || !*verdict || strlen(verdict) > 40)
        return "other";
    for (const char *p = verdict; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || *p == '-'))
            return "other";
    return verdict;
}

static void *html_begin(const struct rsw_render_opts *o)
{
    struct html *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->out = o->out;
    s->title = strdup(o->title ? o->title : "");
    rsw_html_put(s->out,
                 "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
                 "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n"
                 "<meta name=\"generator\" content=\"rstwatch report --format html\">\n"
                 "<title>rstwatch: ",
                 *s->title ? s->title : "report", 0, "</title>\n<style>");
    fprintf(s->out, "%s</style>\n</head>\n<body>\n", css);
    return s;
}

/* ---- the event list, with backtraces ----------------------------------------------------- */

static void frames(FILE *f, json_t *bt)
{
    fprintf(f, "<details class=\"bt\"><summary>backtrace (%zu frame%s)</summary><ol start=\"0\">",
            json_array_size(bt), json_array_size(bt) == 1 ? "" : "s");
    size_t i;
    json_t *fr;
    json_array_foreach(bt, i, fr)
    {
        const char *func = rsw_jstr(fr, "func", NULL), *sym = rsw_jstr(fr, "sym", NULL);
        const char *file = rsw_jstr(fr, "file", NULL);
        json_int_t line = rsw_jint(fr, "line", 0);
        rsw_html_put(f, "<li><b>", func ? func : sym ? sym : "??", 0, "</b> ");
        if (file) {
            rsw_html_esc(f, file);
            if (line > 0)
                fprintf(f, ":%" JSON_INTEGER_FORMAT, line);
        }
        const char *obj = rsw_jstr(fr, "obj", NULL);
        if (obj) {
            rsw_html_put(f, " <span class=\"obj\">", obj, 0, "+");
            rsw_html_put(f, "", rsw_jstr(fr, "off", rsw_jstr(fr, "ip", "?")), 0, "</span></li>");
        } else { /* in no known module */
            rsw_html_put(f, " <span class=\"obj\">", rsw_jstr(fr, "ip", "?"), 0, "</span></li>");
        }
    }
    fputs("</ol></details>", f);
}

static void events_list(struct html *s, json_t *conn, long long cid)
{
    FILE *f = s->out;
    json_t *events = json_object_get(conn, "events");
    size_t n = json_array_size(events), i;
    json_t *ev;
    fprintf(f, "<details class=\"events\"%s><summary>%zu event%s</summary><ol class=\"evs\">\n",
            n <= 12 ? " open" : "", n, n == 1 ? "" : "s");
    json_array_foreach(events, i, ev)
    {
        if (i >= MAX_ROWS) {
            fprintf(f, "<li class=\"mute\">… %zu more events</li>\n", n - i);
            break;
        }
        char t[48];
        rsw_fmt_rel_fit(t, sizeof t, rsw_jint(ev, "t", 0));
        const char *kind = rsw_jstr(ev, "ev", "?");
        fprintf(f, "<li id=\"c%lld-e%zu\" class=\"k-%s\"><span class=\"t\">%s</span>", cid, i,
                vclass(kind), t);
        if (strcmp(rsw_jstr(ev, "side", "local"), "peer") == 0)
            fputs("<span class=\"side\">peer</span>", f);
        rsw_html_put(f, "<span class=\"txt\">", rsw_jstr(ev, "text", kind), 0, "</span>");
        json_t *bt = json_object_get(ev, "bt");
        if (json_is_array(bt) && json_array_size(bt) > 0)
            frames(f, bt);
        fputs("</li>\n", f);
    }
    fputs("</ol></details>\n", f);
}

static void html_conn(void *state, json_t *conn)
{
    struct html *s = state;
    if (!s)
        return;
    if (s->drawn >= MAX_CONNS) {
        s->skipped++;
        return;
    }
    FILE *f = s->out;
    long long cid = ++s->drawn;
    const char *verdict = rsw_jstr(conn, "verdict", "?"), *vc = vclass(verdict);
    fprintf(f, "<section class=\"conn\" id=\"c%lld\" data-verdict=\"", cid);
    rsw_html_put(f, "", verdict, 0, "\">\n<div><span class=\"badge v-");
    rsw_html_put(f, vc, "", 0, "\">"); /* vc is [a-z-] only */
    rsw_html_put(f, "", verdict, 0, "</span><h2>");
    rsw_html_put(f, "", rsw_jstr(conn, "local", "?"), 0, " → ");
    rsw_html_put(f, "", rsw_jstr(conn, "peer", "?"), 0, "</h2><span class=\"meta\">");
    static const char *const meta[] = {"role", "family", "exe", "host", "id"};
    for (size_t i = 0; i < sizeof meta / sizeof *meta; i++) {
        const char *v = rsw_jstr(conn, meta[i], NULL);
        if (!v)
            continue;
        rsw_html_put(f, i == 0 ? "" : strcmp(meta[i], "id") == 0 ? " · id " : " · ", v, 0, "");
    }
    rsw_html_put(f, "</span></div>\n<p class=\"expl\">", rsw_jstr(conn, "explanation", ""), 0, "");
    char start[64], lasted[48];
    json_int_t t0 = rsw_jint(conn, "start_ts", 0);
    rsw_fmt_abs(start, sizeof start, t0);
    rsw_fmt_rel_fit(lasted, sizeof lasted, rsw_jint(conn, "end_ts", t0) - t0);
    fprintf(f,
            "</p>\n<p class=\"facts\">started %s · lasted %s · %" JSON_INTEGER_FORMAT
            " B in · %" JSON_INTEGER_FORMAT " B out",
            start, lasted[0] == '+' ? lasted + 1 : lasted, rsw_jint(conn, "bytes_in", 0),
            rsw_jint(conn, "bytes_out", 0));
    json_int_t after = rsw_jint(conn, "bytes_after_peer_close", -1);
    if (after >= 0)
        fprintf(f, " · <b>%" JSON_INTEGER_FORMAT " B written after the peer closed</b>", after);
    if (rsw_jstr(conn, "killed_by", NULL))
        rsw_html_put(f, " · <b>killed by ", rsw_jstr(conn, "killed_by", NULL), 0, "</b>");
    if (rsw_jstr(conn, "rule", NULL))
        rsw_html_put(f, " · injection rule <code>", rsw_jstr(conn, "rule", NULL), 0, "</code>");
    json_t *ps = json_object_get(conn, "peer_side");
    if (json_is_object(ps)) {
        rsw_html_put(f, " · other end: ", rsw_jstr(ps, "exe", "?"), 0, "");
        fprintf(f, " pid %" JSON_INTEGER_FORMAT, rsw_jint(ps, "pid", 0));
    }
    fputs("</p>\n", f);
    rsw_html_svg(s->out, conn, cid);
    events_list(s, conn, cid);
    fputs("</section>\n", f);
}

/* ---- the header (written last, shown first) ---------------------------------------------- */

/* "EPIPE 2, ECONNRESET 1": the non-zero counts of an object, skipping key "total". */
static void counts(FILE *f, json_t *counts)
{
    const char *k, *sep = "";
    json_t *v;
    json_object_foreach(counts, k, v)
    {
        if (strcmp(k, "total") == 0 || !json_is_integer(v) || json_integer_value(v) == 0)
            continue;
        rsw_html_put(f, sep, k, 0, "");
        fprintf(f, " %" JSON_INTEGER_FORMAT, json_integer_value(v));
        sep = ", ";
    }
}

/* A table of the first 20 rows; cols = NULL-terminated pairs of (key, heading). */
static void table(FILE *f, const char *title, json_t *rows, const char *const *cols)
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
                rsw_html_esc(f, json_string_value(v));
            else if (json_is_integer(v))
                fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
            else if (json_is_object(v))
                counts(f, v);
            fputs("</td>", f);
        }
    }
    fputs("</tr></table></div>\n", f);
}

static void legend(FILE *f)
{
    static const char *const what[] = {"open/close/eof", "io", "error", "signal", "injection"};
    fputs("<p class=\"legend\">Marks:", f);
    for (enum rsw_html_mark k = RSW_MK_LIFE; k <= RSW_MK_INJ; k++) {
        fprintf(f, " <svg width=\"16\" height=\"18\" viewBox=\"-8 -9 16 18\"><g class=\"%s\">",
                rsw_html_marks[k].cls);
        fprintf(f, rsw_html_marks[k].shape, 0.0, 0.0);
        fprintf(f, "</g></svg> %s ·", what[k]);
    }
    fputs(" click a mark for its backtrace; click a verdict to show only those.</p>\n", f);
}

static int html_end(void *state, json_t *summary)
{
    struct html *s = state;
    if (!s)
        return -1;
    FILE *f = s->out;
    if (s->skipped)
        fprintf(f,
                "<p class=\"note mute\">%lld more connections are not drawn (a page shows at "
                "most %d); narrow the report with --verdict, --peer, --pid or --errors-only.</p>\n",
                s->skipped, MAX_CONNS);
    if (s->drawn == 0 && json_object_get(summary, "tallied"))
        fprintf(f,
                "<p class=\"note mute\">No connections shown: in failures mode clean connections "
                "are only tallied (%" JSON_INTEGER_FORMAT " here, see the summary).</p>\n",
                rsw_jint(summary, "tallied", 0));
    else if (s->drawn == 0)
        fputs("<p class=\"note mute\">No connections in these logs.</p>\n", f);
    fputs("<header id=\"summary\">\n<h1>rstwatch report</h1>\n<p class=\"mute\">", f);
    json_t *inputs = json_object_get(summary, "inputs");
    if (json_is_array(inputs) && json_array_size(inputs) > 0) {
        size_t i;
        json_t *in;
        json_array_foreach(inputs, i, in)
            rsw_html_put(f, i ? ", <code>" : "Inputs: <code>", json_string_value(in), 0, "</code>");
    } else {
        rsw_html_esc(f, s->title);
    }
    json_int_t total = rsw_jint(summary, "connections", s->drawn + s->skipped);
    json_t *skipped = json_object_get(summary, "skipped");
    fprintf(f, "</p>\n<p><b>%" JSON_INTEGER_FORMAT "</b> connection%s", total,
            total == 1 ? "" : "s");
    if (json_object_get(summary, "tallied")) /* v3 failures mode: the clean ones were counted */
        fprintf(f, " shown · <b>%" JSON_INTEGER_FORMAT "</b> clean ones tallied",
                rsw_jint(summary, "tallied", 0));
    if (rsw_jint(summary, "suppressed_connections", 0) > 0)
        fprintf(f, " · <b>%" JSON_INTEGER_FORMAT "</b> suppressed",
                rsw_jint(summary, "suppressed_connections", 0));
    if (rsw_jint(skipped, "total", 0) > 0) {
        fprintf(f, " · <b>%" JSON_INTEGER_FORMAT "</b> log lines skipped (",
                rsw_jint(skipped, "total", 0));
        counts(f, skipped);
        fputs(")", f);
    }
    fputs("</p>\n<div class=\"verdicts\">", f);
    const char *v;
    json_t *cnt;
    json_object_foreach(json_object_get(summary, "verdicts"), v, cnt)
    {
        fprintf(f, "<a href=\"#\" class=\"badge v-%s\" data-filter=\"", vclass(v));
        rsw_html_put(f, "", v, 0, "\">");
        rsw_html_put(f, "", v, 0, "");
        fprintf(f, "<b>%" JSON_INTEGER_FORMAT "</b></a>", json_integer_value(cnt));
    }
    fputs("</div>\n", f);
    legend(f);
    fputs("<div class=\"cols\">\n", f);
    static const char *const procs[] = {"pid",  "pid",       "exe",       "program", "host",
                                        "host", "killed_by", "killed by", NULL};
    static const char *const peers[] = {"peer",   "peer",   "connections", "connections",
                                        "errors", "errors", NULL};
    static const char *const sites[] = {"site",  "call site", "errors", "errors",
                                        "errno", "errno",     NULL};
    table(f, "Processes", json_object_get(summary, "processes"), procs);
    table(f, "Peers", json_object_get(summary, "peers"), peers);
    table(f, "Where errors surfaced", json_object_get(summary, "call_sites"), sites);
    static const char *const supp[] = {"errno", "errno",       "sig",   "signal",
                                       "call",  "call",        "site",  "site",
                                       "count", "not written", "conns", "connections not shown",
                                       NULL};
    static const char *const tallies[] = {
        "role",     "role",     "peer",        "peer",
        "local",    "local",    "connections", "clean connections",
        "bytes_in", "bytes in", "bytes_out",   "bytes out",
        NULL};
    static const char *const lost[] = {"pid",    "pid",         "name",  "program",
                                       "reason", "reason",      "errno", "errno",
                                       "events", "events lost", NULL};
    table(f, "Suppressed (storm control)", json_object_get(summary, "suppressed"), supp);
    table(f, "Clean connections (tallied)", json_object_get(summary, "tallies"), tallies);
    table(f, "Incomplete logs", json_object_get(summary, "lost"), lost);
    fprintf(f, "</div>\n</header>\n<script>%s</script>\n</body>\n</html>\n", js);
    int rc = (ferror(f) || fflush(f) != 0) ? -1 : 0;
    free(s->title);
    free(s);
    return rc;
}

const struct rsw_renderer rsw_render_html = {
    .name = "html",
    .begin = html_begin,
    .conn = html_conn,
    .end = html_end,
};
