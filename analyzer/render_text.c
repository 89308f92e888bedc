/* render_text.c: `--format text`: what went wrong first, readable at 80 columns. The failing
 * connections in full (most severe first), then the clean ones and the processes in brief
 * (render_text_brief.c); --full adds every clean timeline and every process. */
#include "render_text.h"
#include "rsw_schema.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define TEXT_FRAMES 6  /* backtrace frames shown per event */
#define TEXT_GROUPS 10 /* suppressed sites and tally groups listed */
#define TEXT_INDEX 10  /* failures listed one line each in the summary */
#define TEXT_CLEAN 20  /* groups of clean connections listed (all with --full) */
#define TEXT_TREE 20   /* lines of the process tree */
#define TEXT_NAMES 12  /* process names counted in the Processes line */

/* A failing connection, rendered as it arrived, printed at the end in order. */
struct failure {
    int killed, rank;
    long long ts;
    size_t order;
    char *text;  /* its timeline and verdict */
    char *label; /* its verdict (or "other error") */
    char *who;   /* "ID NAME → PEER" */
};

struct text_state {
    FILE *out;
    int color, full;
    struct failure *fail;
    size_t nfail, capfail;
    struct rsw_text_groups *groups;
    struct rsw_text_procs *procs;
    long long nclean, clean_first, clean_last;
    FILE *spool; /* --full: the clean timelines, in report order */
    char *spool_buf;
    size_t spool_len;
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

/* Most important first: a connection that died with data in flight, then one that never
 * carried any, then what the program did to itself, then what it was asked to meet. */
static const char *const severity[] = {
    "reset-by-peer",
    "stale-after-peer-restart",
    "write-after-peer-close",
    "timeout",
    "unreachable",
    "refused",
    "write-after-shutdown",
    "injected",
    "other error",
};
#define NSEVERITY (sizeof severity / sizeof *severity)

static int rank_of(const char *label)
{
    for (size_t i = 0; i < NSEVERITY; i++)
        if (strcmp(severity[i], label) == 0)
            return (int)i;
    return (int)NSEVERITY;
}

const char *rsw_text_label(json_t *conn)
{
    const char *v = S(conn, "verdict");
    return strcmp(v, "clean") == 0 || !*v ? "other error" : v;
}

const char *rsw_text_severity(size_t i)
{
    return i < NSEVERITY ? severity[i] : NULL;
}

/* A connection the default layout shows in full: what --errors-only keeps. */
static int failed(json_t *c)
{
    if (strcmp(S(c, "verdict"), "clean") != 0 || json_object_size(json_object_get(c, "errors")))
        return 1;
    if (rsw_jstr(c, "killed_by", NULL))
        return 1;
    size_t i;
    json_t *ev;
    json_array_foreach(json_object_get(c, "events"), i, ev)
    {
        if (rsw_ev_parse(S(ev, "ev")) == RSW_EV_SIGNAL)
            return 1;
    }
    return 0;
}

static void *text_begin(const struct rsw_render_opts *o)
{
    struct text_state *s = calloc(1, sizeof(*s));
    if (!s)
        abort();
    s->out = o->out;
    s->color = o->color;
    s->full = o->full;
    s->groups = rsw_text_groups_new();
    s->procs = rsw_text_procs_new();
    s->clean_first = s->clean_last = -1;
    return s;
}

/* A space that may end a line: not one inside a grouped number ("9 900"). */
static int breakable(const char *p)
{
    return *p == ' ' && !(isdigit((unsigned char)p[-1]) && isdigit((unsigned char)p[1]));
}

void rsw_text_wrap_from(FILE *out, const char *text, int lead, int indent)
{
    const char *p = text;
    while (*p) {
        int room = RSW_TEXT_WIDTH - indent;
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

void rsw_text_labeled(FILE *out, const char *label, const char *text)
{
    char first[16];
    snprintf(first, sizeof first, "  %-12s", label);
    fputs(first, out);
    rsw_text_wrap_from(out, text, 0, 14);
}

static void frames(struct text_state *s, FILE *out, json_t *bt, int indent)
{
    size_t i, n = json_array_size(bt);
    for (i = 0; i < n && i < TEXT_FRAMES; i++) {
        json_t *fr = json_array_get(bt, i);
        const char *func = rsw_jstr(fr, "func", NULL);
        const char *file = rsw_jstr(fr, "file", NULL);
        const char *obj = rsw_jstr(fr, "obj", "");
        fprintf(out, "%*s%s#%zu %s", indent, "", color(s, DIM), i, func ? func : "??");
        if (file)
            fprintf(out, " (%s:%lld)", rsw_basename(file), rsw_jint(fr, "line", 0));
        else if (*obj)
            fprintf(out, " (%s+%s)", rsw_basename(obj), rsw_jstr(fr, "off", ""));
        else if (!func) /* in no known module: the raw address */
            fprintf(out, " (%s)", rsw_jstr(fr, "ip", "?"));
        fprintf(out, "%s\n", color(s, RESET));
    }
    if (n > TEXT_FRAMES)
        fprintf(out, "%*s%s… %zu more frame%s%s\n", indent, "", color(s, DIM), n - TEXT_FRAMES,
                n - TEXT_FRAMES == 1 ? "" : "s", color(s, RESET));
}

/* "17569", or "17569 → 17653" when the socket passed to other processes (fork, exec). */
static void holders(FILE *out, json_t *c)
{
    json_t *pids = json_object_get(c, "pids"), *p;
    size_t i;
    if (json_array_size(pids) < 2) {
        fprintf(out, "%lld", I(c, "pid"));
        return;
    }
    json_array_foreach(pids, i, p)
        fprintf(out, "%s%lld", i ? " → " : "", (long long)json_integer_value(p));
}

/* One connection's timeline and verdict. */
static void timeline(struct text_state *s, FILE *out, json_t *c)
{
    char buf[64];
    const char *verdict = S(c, "verdict");
    json_t *ps = json_object_get(c, "peer_side");
    int two = json_is_object(ps);
    const char *role = S(c, "role");
    const char *arrow = strcmp(role, "server") == 0 ? "←" : "→";
    fprintf(out, "%s%s %s%s  %s  %s %s %s\n", color(s, BOLD), "──", S(c, "id"), color(s, RESET),
            role, *S(c, "local") ? S(c, "local") : "?", arrow, *S(c, "peer") ? S(c, "peer") : "?");
    fprintf(out, "   %s (pid ", rsw_proc_name(c));
    holders(out, c);
    fprintf(out, ", fd %lld, %s)", I(c, "fd"), S(c, "family"));
    if (two) {
        fprintf(out, " ⇄ %s (pid ", rsw_proc_name(ps));
        holders(out, ps);
        fprintf(out, ", conn %lld)", I(ps, "conn"));
    }
    fputc('\n', out);
    rsw_fmt_abs(buf, sizeof buf, I(c, "start_ts"));
    char dur[32];
    rsw_fmt_rel(dur, sizeof dur, I(c, "end_ts") - I(c, "start_ts"));
    fprintf(out, "   started %s, lasted %s; in %lld B, out %lld B\n", buf, dur + 1,
            I(c, "bytes_in"), I(c, "bytes_out"));
    size_t i;
    json_t *ev;
    json_array_foreach(json_object_get(c, "events"), i, ev)
    {
        char t[32];
        rsw_fmt_rel(t, sizeof t, I(ev, "t"));
        int kind = rsw_ev_parse(S(ev, "ev"));
        int bad = kind == RSW_EV_ERROR || kind == RSW_EV_SIGNAL;
        fprintf(out, "   %12s  ", t);
        if (two)
            fprintf(out, "%-5s ", S(ev, "side"));
        fprintf(out, "%s%s%s\n", bad ? color(s, RED) : "", S(ev, "text"),
                bad ? color(s, RESET) : "");
        json_t *bt = json_object_get(ev, "bt");
        if (json_is_array(bt))
            frames(s, out, bt, two ? 23 : 17);
    }
    fprintf(out, "   verdict: %s%s%s%s\n", color(s, BOLD), color(s, verdict_color(verdict)),
            verdict, color(s, RESET));
    rsw_text_wrap_from(out, S(c, "explanation"), 5, 5);
}

/* A stream in memory (text, len: its buffer, valid after fclose/fflush). */
static FILE *memstream(char **text, size_t *len)
{
    FILE *f = open_memstream(text, len);
    if (!f)
        abort();
    return f;
}

static void add_failure(struct text_state *s, json_t *c)
{
    if (s->nfail == s->capfail) {
        s->capfail = s->capfail ? 2 * s->capfail : 16;
        s->fail = realloc(s->fail, s->capfail * sizeof(*s->fail));
        if (!s->fail)
            abort();
    }
    struct failure *f = &s->fail[s->nfail];
    size_t len;
    f->order = s->nfail++;
    f->killed = rsw_jstr(c, "killed_by", NULL) != NULL;
    f->label = strdup(rsw_text_label(c));
    if (!f->label)
        abort();
    f->rank = rank_of(f->label);
    f->ts = I(c, "start_ts");
    FILE *m = memstream(&f->text, &len);
    timeline(s, m, c);
    fclose(m);
    const char *peer = S(c, "peer");
    m = memstream(&f->who, &len);
    fprintf(m, "%s %s %s %s", S(c, "id"), rsw_proc_name(c),
            strcmp(S(c, "role"), "server") == 0 ? "←" : "→", *peer ? peer : "?");
    fclose(m);
    rsw_text_procs_failure(s->procs, c);
}

static void text_conn(void *state, json_t *c)
{
    struct text_state *s = state;
    if (failed(c)) {
        add_failure(s, c);
        return;
    }
    rsw_text_groups_add(s->groups, c);
    s->nclean++;
    long long first = I(c, "start_ts"), last = I(c, "end_ts");
    if (s->clean_first < 0 || first < s->clean_first)
        s->clean_first = first;
    if (last > s->clean_last)
        s->clean_last = last;
    if (!s->full)
        return;
    if (!s->spool) {
        s->spool = tmpfile(); /* as long as the report: not in memory when a disk will do */
        if (!s->spool)
            s->spool = memstream(&s->spool_buf, &s->spool_len);
    }
    fputc('\n', s->spool);
    timeline(s, s->spool, c);
}

/* Killed first, then by severity, then by start time, then as they came. */
static int cmp_failure(const void *a, const void *b)
{
    const struct failure *x = a, *y = b;
    if (x->killed != y->killed)
        return x->killed ? -1 : 1;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Copies the spooled clean timelines to out; -1 when the spool could not be written or read. */
static int unspool(struct text_state *s)
{
    int rc = 0;
    if (!s->spool)
        return 0;
    if (fflush(s->spool) != 0 || ferror(s->spool)) {
        rc = -1;
    } else if (s->spool_buf) {
        fwrite(s->spool_buf, 1, s->spool_len, s->out);
    } else {
        char buf[65536];
        size_t n;
        rewind(s->spool);
        while ((n = fread(buf, 1, sizeof buf, s->spool)) > 0)
            fwrite(buf, 1, n, s->out);
        rc = ferror(s->spool) ? -1 : 0;
    }
    fclose(s->spool);
    free(s->spool_buf);
    s->spool = NULL;
    return rc;
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
            rsw_text_labeled(out, "", more);
            break;
        }
        char text[1024];
        fmt(text, sizeof text, x);
        rsw_text_labeled(out, i ? "" : label, text);
    }
}

static const char *plural(long long n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

/* The head of the report: counts, one line per failure, what the report left incomplete. */
static void head(struct text_state *s, json_t *sum, size_t tree_procs)
{
    FILE *out = s->out;
    size_t i, nproc = json_array_size(json_object_get(sum, "processes"));
    json_t *x;
    char line[2048] = "";
    rsw_fmt_connections(line, sizeof line, sum, NULL);
    fprintf(out, "%sSummary%s: %s, %zu process%s\n", color(s, BOLD), color(s, RESET), line, nproc,
            plural(nproc, "", "es"));
    line[0] = 0;
    rsw_fmt_tally(line, sizeof line, json_object_get(sum, "verdicts"));
    rsw_text_labeled(out, "verdicts:", line);
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
    rsw_text_labeled(out, "errors:", line);
    int width = 0;
    for (i = 0; i < s->nfail && i < TEXT_INDEX; i++)
        if ((int)strlen(s->fail[i].label) > width)
            width = (int)strlen(s->fail[i].label);
    for (i = 0; i < s->nfail && i < TEXT_INDEX; i++) {
        const struct failure *f = &s->fail[i];
        const char *vc = strcmp(f->label, "other error") ? verdict_color(f->label) : RED;
        fprintf(out, "  %-12s%s%-*s%s  ", i ? "" : "failed:", color(s, vc), width, f->label,
                color(s, RESET));
        /* ", killed by SIGPIPE" after it, or under it where the line would pass the width */
        int cols = 16 + width + rsw_text_columns(f->who) + (int)strlen(", killed by SIGPIPE");
        if (!f->killed)
            fprintf(out, "%s\n", f->who);
        else if (cols <= RSW_TEXT_WIDTH)
            fprintf(out, "%s, killed by SIGPIPE\n", f->who);
        else
            fprintf(out, "%s,\n%*skilled by SIGPIPE\n", f->who, 16 + width, "");
    }
    if (s->nfail > TEXT_INDEX)
        fprintf(out, "              … %zu more, below\n", s->nfail - TEXT_INDEX);
    json_array_foreach(json_object_get(sum, "lost"), i, x)
    {
        char what[1024];
        rsw_fmt_lost(what, sizeof what, x);
        rsw_text_labeled(out, i ? "" : "incomplete:", what);
    }
    json_array_foreach(json_object_get(sum, "not_observed"), i, x)
    {
        char what[600];
        snprintf(what, sizeof what,
                 "%lld %s: no log from it (statically linked, or it cleared LD_PRELOAD?)",
                 I(x, "pid"), S(x, "name"));
        rsw_text_labeled(out, i ? "" : "unobserved:", what);
    }
    json_t *sk = json_object_get(sum, "skipped");
    if (I(sk, "total")) {
        fprintf(out, "  skipped:    %lld line%s (", I(sk, "total"),
                plural(I(sk, "total"), "", "s"));
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
    /* what --full would add: a single process is named in full by the Processes line */
    int procs = tree_procs < nproc && nproc > 1;
    if (s->full || (!s->nclean && !procs))
        return;
    char n[32], what[96] = "", more[256];
    rsw_fmt_count(n, sizeof n, s->nclean);
    if (s->nclean)
        snprintf(what, sizeof what, "the %s%sclean connection%s one by one",
                 s->nclean == 1 ? "" : n, s->nclean == 1 ? "" : " ", plural(s->nclean, "", "s"));
    int at = snprintf(more, sizeof more, "--full shows %s", what);
    rsw_fmt_count(n, sizeof n, (long long)nproc);
    if (procs)
        snprintf(more + at, sizeof more - at, "%sall %s processes", *what ? " and " : "", n);
    rsw_text_labeled(out, "more:", more);
}

/* The failing connections in order, then the sites, peers and call sites of their errors. */
static void failures(struct text_state *s, json_t *sum)
{
    FILE *out = s->out;
    size_t i, nsupp = json_array_size(json_object_get(sum, "suppressed"));
    json_t *x;
    fprintf(out, "\n%sFailures%s: ", color(s, BOLD), color(s, RESET));
    if (s->nfail)
        fprintf(out, "%zu connection%s\n", s->nfail, s->nfail == 1 ? "" : "s, most severe first");
    else
        fputs(nsupp ? "none shown\n" : "none\n", out);
    for (i = 0; i < s->nfail; i++)
        fprintf(out, "\n%s", s->fail[i].text);
    int gap = 1; /* a blank line before the first of the lines below */
    if (nsupp && s->nfail) {
        fputc('\n', out);
        gap = 0;
    }
    groups(out, "suppressed:", json_object_get(sum, "suppressed"), rsw_fmt_suppressed,
           "suppressed sites");
    json_t *peers = json_array(); /* those that met an error (--format json has them all) */
    json_array_foreach(json_object_get(sum, "peers"), i, x)
    {
        if (I(x, "errors"))
            json_array_append(peers, x);
    }
    json_array_foreach(peers, i, x)
    {
        long long nc = I(x, "connections"), ne = I(x, "errors");
        if (i == 5) {
            size_t more = json_array_size(peers) - 5;
            fprintf(out, "              … %zu more peer%s\n", more,
                    plural((long long)more, "", "s"));
            break;
        }
        if (gap && s->nfail)
            fputc('\n', out);
        gap = 0;
        fprintf(out, "  %-12s%s: %lld connection%s, %lld error%s\n",
                i ? "" : "peers:", S(x, "peer"), nc, plural(nc, "", "s"), ne, plural(ne, "", "s"));
    }
    json_decref(peers);
    json_array_foreach(json_object_get(sum, "call_sites"), i, x)
    {
        char site[1024];
        if (gap && s->nfail)
            fputc('\n', out);
        gap = 0;
        snprintf(site, sizeof site, "%s: ", S(x, "site"));
        rsw_fmt_tally(site, sizeof site, json_object_get(x, "errno"));
        rsw_text_labeled(out, i ? "" : "call sites:", site);
    }
}

/* The clean connections by group (each one's timeline too with --full), and the tallies.
 * Returns -1 when the timelines spooled for --full were lost. */
static int clean(struct text_state *s, json_t *sum)
{
    FILE *out = s->out;
    json_t *tallies = json_object_get(sum, "tallies");
    if (!s->nclean && !tallies)
        return 0;
    fprintf(out, "\n%sClean%s: ", color(s, BOLD), color(s, RESET));
    char c[32], span[128];
    if (s->nclean) {
        size_t ng = rsw_text_groups_size(s->groups);
        rsw_fmt_count(c, sizeof c, s->nclean);
        rsw_fmt_span(span, sizeof span, s->clean_first, s->clean_last);
        fprintf(out, "%s connection%s in %zu group%s, %s\n", c, plural(s->nclean, "", "s"), ng,
                plural((long long)ng, "", "s"), span);
        rsw_text_groups_print(out, s->groups, s->full ? 0 : TEXT_CLEAN);
    } else if (I(sum, "tallied")) {
        rsw_fmt_count(c, sizeof c, I(sum, "tallied"));
        fprintf(out, "%s connection%s tallied, none shown one by one\n", c,
                plural(I(sum, "tallied"), "", "s"));
    } else {
        fputs("none\n", out);
    }
    groups(out, "tallied:", tallies, rsw_fmt_tally_group, "tally groups");
    if (tallies && json_array_size(tallies) == 0)
        rsw_text_labeled(out, "tallied:",
                         "none; in failures mode (RSTWATCH_EVENTS) clean connections are only "
                         "counted in tally lines, never shown");
    return unspool(s);
}

/* The processes counted by name, the tree of those with a part in a failure (tree: printed
 * already into a buffer), and with --full every one. */
static void processes(struct text_state *s, json_t *sum, const char *tree)
{
    FILE *out = s->out;
    size_t i, nproc = json_array_size(json_object_get(sum, "processes"));
    json_t *x;
    char names[1024] = "";
    rsw_text_proc_names(names, sizeof names, sum, TEXT_NAMES);
    char head[1200];
    snprintf(head, sizeof head, "%zu — %s", nproc, names);
    fprintf(out, "\n%sProcesses%s: ", color(s, BOLD), color(s, RESET));
    rsw_text_wrap_from(out, nproc ? head : "none", 0, 11);
    fputs(tree, out);
    if (!s->full)
        return;
    json_array_foreach(json_object_get(sum, "processes"), i, x)
    {
        const char *killed = rsw_jstr(x, "killed_by", NULL);
        fprintf(out, "  %-12s%lld %s%s%s\n", i ? "" : "all:", I(x, "pid"), rsw_proc_name(x),
                killed ? ", killed by " : "", killed ? killed : "");
    }
}

static int text_end(void *state, json_t *sum)
{
    struct text_state *s = state;
    if (s->nfail)
        qsort(s->fail, s->nfail, sizeof(*s->fail), cmp_failure);
    char *tree;
    size_t tree_len;
    FILE *m = memstream(&tree, &tree_len);
    size_t tree_procs = rsw_text_procs_tree(m, s->procs, sum, TEXT_TREE);
    fclose(m);
    head(s, sum, tree_procs);
    failures(s, sum);
    int spooled = clean(s, sum);
    processes(s, sum, tree);
    free(tree);
    int rc = spooled == 0 && fflush(s->out) == 0 && !ferror(s->out) ? 0 : -1;
    for (size_t i = 0; i < s->nfail; i++) {
        free(s->fail[i].text);
        free(s->fail[i].label);
        free(s->fail[i].who);
    }
    free(s->fail);
    rsw_text_groups_free(s->groups);
    rsw_text_procs_free(s->procs);
    free(s);
    return rc;
}

const struct rsw_renderer rsw_render_text = {"text", text_begin, text_conn, text_end};
