/* render_html_svg.c: the html report's SVG timeline of one connection, and its marks. */
#include "render_html.h"
#include "rsw_schema.h"
#include <inttypes.h>
#include <stdint.h>
#include <string.h>

#define MAX_MARKS 400 /* per timeline; errors/signals/injections always come first */

/* SVG geometry (viewBox units; the SVG scales to the page width). */
#define SVG_W 1100.0
#define SVG_X0 170.0 /* plot area: lane labels on the left */
#define SVG_X1 1010.0
#define SVG_AXIS 26.0
#define SVG_LANE 58.0

const struct rsw_html_mark_style rsw_html_marks[] = {
    [RSW_MK_LIFE] = {"life", "<path d=\"M%.1f %.1fm0-9v18\"/>"},
    [RSW_MK_IO] = {"io", "<path d=\"M%.1f %.1fm0-5v10\"/>"},
    [RSW_MK_ERR] = {"err", "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"6.5\"/>"},
    [RSW_MK_SIG] = {"sig", "<path d=\"M%.1f %.1fm0-7l7 7-7 7-7-7z\"/>"},
    [RSW_MK_INJ] = {"inj", "<path d=\"M%.1f %.1fm0-7l7 12h-14z\"/>"},
};

enum rsw_html_mark rsw_html_mark_of(json_t *ev)
{
    switch (rsw_ev_parse(rsw_jstr(ev, "ev", NULL))) {
    case RSW_EV_IO:
        return RSW_MK_IO;
    case RSW_EV_ERROR:
        return RSW_MK_ERR;
    case RSW_EV_SIGNAL:
        return RSW_MK_SIG;
    case RSW_EV_INJECT:
        return RSW_MK_INJ;
    default:
        return RSW_MK_LIFE;
    }
}

struct axis {
    double t0, t1; /* ns, relative to start */
};

static double x_of(const struct axis *a, double t)
{
    return SVG_X0 + (t - a->t0) / (a->t1 - a->t0) * (SVG_X1 - SVG_X0);
}

/* A 1-2-5 step giving about six ticks, and the unit its labels use. */
static void ticks(FILE *f, const struct axis *a, double y0, double y1)
{
    double span = a->t1 - a->t0, step = 1;
    for (int i = 0; span / step > 7; i++) /* 1, 2, 5, 10, 20, 50 ... */
        step *= i % 3 == 1 ? 2.5 : 2;
    double m = a->t1 > -a->t0 ? a->t1 : -a->t0; /* the unit follows the axis' largest value */
    const char *unit = m >= 1.5e9 ? "s" : m >= 1.5e6 ? "ms" : m >= 1.5e3 ? "µs" : "ns";
    double div = m >= 1.5e9 ? 1e9 : m >= 1.5e6 ? 1e6 : m >= 1.5e3 ? 1e3 : 1;
    fprintf(f, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", SVG_X0,
            y0, SVG_X1, y0);
    for (double t = (double)(long long)(a->t0 / step) * step; t <= a->t1; t += step) {
        if (t < a->t0)
            continue;
        double x = x_of(a, t);
        fprintf(
            f,
            "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
            "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s%g %s</text>\n",
            x, y0 + 1, x, y1, x, y0 - 6, t < 0 ? "" : "+", t / div, unit);
    }
}

/* Label rows above and below a lane: the spans already taken, so that labels never overlap. */
#define SPANS 48
struct rows {
    double lo[2][SPANS], hi[2][SPANS];
    int n[2];
};

static int label_row(struct rows *r, double x, size_t len)
{
    double a = x - (6.2 * (double)len + 6) / 2, b = 2 * x - a;
    for (int row = 0; row < 2; row++) {
        int ok = r->n[row] < SPANS;
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

static void mark(FILE *f, json_t *ev, const char *evid, double x, double y, struct rows *rows,
                 int few_labels)
{
    enum rsw_html_mark k = rsw_html_mark_of(ev);
    const char *cls = rsw_html_marks[k].cls;
    char t[48];
    rsw_fmt_rel_fit(t, sizeof t, rsw_jint(ev, "t", 0));
    const char *err = rsw_jstr(ev, "errno", NULL);
    const char *kind = rsw_jstr(ev, "ev", "?");
    fprintf(f, "<g class=\"mk %s\" data-ev=\"%s\" tabindex=\"0\" role=\"button\"><title>%s", cls,
            evid, t);
    rsw_html_put(f, " ", rsw_jstr(ev, "text", kind), 0, " (click: details)</title>");
    fprintf(f, rsw_html_marks[k].shape, x, y);
    /* The label: errno for failures, the signal's name, bytes for io, else the event kind. */
    char label[64];
    json_int_t ret = rsw_jint(ev, "ret", 0);
    const char *call = rsw_jstr(ev, "call", "");
    if (k == RSW_MK_IO)
        snprintf(label, sizeof label, "%s%" JSON_INTEGER_FORMAT " B",
                 strstr(call, "write") || strstr(call, "send") ? "↑" : "↓", ret);
    else
        snprintf(label, sizeof label, "%s",
                 k == RSW_MK_SIG                          ? rsw_jstr(ev, "sig", "SIGPIPE")
                 : k == RSW_MK_INJ                        ? "injected"
                 : err && strcmp(err, "EINPROGRESS") != 0 ? err
                                                          : kind);
    if ((k != RSW_MK_IO || ret > 0) && (!few_labels || k != RSW_MK_LIFE)) {
        int row = label_row(rows, x, strlen(label));
        if (row >= 0) {
            fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", x,
                    row == 0 ? y - 12 : y + 21);
            rsw_html_put(f, "", label, 0, "</text>");
        }
    }
    fputs("</g>\n", f);
}

/* The time of the first event on that side whose kind is one of evs (NULL-terminated). */
static int first_time(json_t *events, const char *side, const char *const *evs, json_int_t *t)
{
    size_t i;
    json_t *ev;
    json_array_foreach(events, i, ev)
    {
        if (strcmp(rsw_jstr(ev, "side", "local"), side) != 0)
            continue;
        for (const char *const *k = evs; *k; k++)
            if (strcmp(rsw_jstr(ev, "ev", ""), *k) == 0) {
                *t = rsw_jint(ev, "t", 0);
                return 1;
            }
    }
    return 0;
}

static void lane_label(FILE *f, double y, const char *who, json_t *proc, const char *role)
{
    fprintf(f, "<text x=\"8\" y=\"%.1f\" font-weight=\"600\">%s", y - 2, who);
    if (role)
        rsw_html_put(f, " · ", role, 0, "");
    json_int_t pid = rsw_jint(proc, "pid", -1);
    if (pid >= 0)
        fprintf(f, " · pid %" JSON_INTEGER_FORMAT, pid);
    fprintf(f, "</text><text class=\"sub\" x=\"8\" y=\"%.1f\">", y + 12);
    rsw_html_put(f, "", rsw_proc_name(proc), 26, "</text>\n");
}

void rsw_html_svg(FILE *f, json_t *conn, long long cid)
{
    json_t *events = json_object_get(conn, "events");
    json_t *peer_side = json_object_get(conn, "peer_side");
    json_int_t dur = rsw_jint(conn, "end_ts", 0) - rsw_jint(conn, "start_ts", 0);
    struct axis ax = {0, dur > 0 ? (double)dur : 0};
    int two = json_is_object(peer_side);
    size_t i;
    json_t *ev;
    json_int_t lo[2] = {0, 0}, hi[2] = {dur > 0 ? dur : 0, 0}; /* per lane extent */
    int seen_peer = 0;
    json_array_foreach(events, i, ev)
    {
        json_int_t t = rsw_jint(ev, "t", 0);
        int p = strcmp(rsw_jstr(ev, "side", "local"), "peer") == 0;
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
    double h = SVG_AXIS + SVG_LANE * lanes + 6;
    fprintf(f,
            "<svg class=\"timeline\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" "
            "aria-label=\"timeline of connection %lld\">\n",
            SVG_W, h, cid);
    ticks(f, &ax, SVG_AXIS, h - 4);
    double ly[2] = {SVG_AXIS + SVG_LANE * 0.55, SVG_AXIS + SVG_LANE * 1.55};
    lane_label(f, ly[0], "this side", conn, rsw_jstr(conn, "role", NULL));
    if (two)
        lane_label(f, ly[1], "peer", json_is_object(peer_side) ? peer_side : NULL, NULL);
    for (int l = 0; l < lanes; l++)
        if (l == 0 || seen_peer)
            fprintf(f, "<line class=\"lane\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
                    x_of(&ax, lo[l]), ly[l], x_of(&ax, hi[l]) + 0.5, ly[l]);
    fprintf(f,
            "<text class=\"sub\" x=\"%.1f\" y=\"%.1f\">↑%" JSON_INTEGER_FORMAT
            " B out</text><text class=\"sub\" x=\"%.1f\" y=\"%.1f\">↓%" JSON_INTEGER_FORMAT
            " B in</text>\n",
            SVG_X1 + 14, ly[0] - 2, rsw_jint(conn, "bytes_out", 0), SVG_X1 + 14, ly[0] + 12,
            rsw_jint(conn, "bytes_in", 0));

    /* Bytes written after the peer had closed: from its close (or our EOF) to our failure. */
    json_int_t after = rsw_jint(conn, "bytes_after_peer_close", 0), tc, tf;
    static const char *const closes[] = {"close", "shutdown", NULL}, *const eofs[] = {"eof", NULL};
    static const char *const fails[] = {"error", "signal", NULL};
    if (after > 0 &&
        (first_time(events, "peer", closes, &tc) || first_time(events, "local", eofs, &tc)) &&
        first_time(events, "local", fails, &tf) && tf > tc) {
        double x1 = x_of(&ax, tc), x2 = x_of(&ax, tf);
        fprintf(
            f,
            "<rect class=\"lost\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"16\" rx=\"3\">"
            "<title>%" JSON_INTEGER_FORMAT " B written after the peer closed: never read"
            "</title></rect><text class=\"lost-t\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">"
            "%" JSON_INTEGER_FORMAT " B never read</text>\n",
            x1, ly[0] - 8, x2 - x1, after, (x1 + x2) / 2, ly[0] + 22, after);
    }

    /* Marks: failures first so they always get drawn and labelled, then the rest. */
    struct rows rows[2] = {{.n = {0, 0}}, {.n = {0, 0}}};
    size_t drawn = 0, n = json_array_size(events);
    for (int pass = 0; pass < 2; pass++)
        json_array_foreach(events, i, ev)
        {
            enum rsw_html_mark k = rsw_html_mark_of(ev);
            int failure = k == RSW_MK_ERR || k == RSW_MK_SIG || k == RSW_MK_INJ;
            if (failure != (pass == 0) || drawn >= MAX_MARKS)
                continue;
            int p = two && strcmp(rsw_jstr(ev, "side", "local"), "peer") == 0;
            char evid[64];
            snprintf(evid, sizeof evid, "c%lld-e%zu", cid, i);
            mark(f, ev, evid, x_of(&ax, rsw_jint(ev, "t", 0)), ly[p], &rows[p], n > 60);
            drawn++;
        }
    fputs("</svg>\n", f);
}
