/* fmt.c: how the report writes values for people: times, counts by name, base names. */
#include "fmt.h"
#include "jsonutil.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void rsw_fmt_rel(char *buf, size_t len, long long ns)
{
    char sign = ns < 0 ? '-' : '+';
    unsigned long long a = ns < 0 ? -(unsigned long long)ns : (unsigned long long)ns;
    if (a < 1000000000ULL)
        snprintf(buf, len, "%c%llu.%03llu ms", sign, a / 1000000, a / 1000 % 1000);
    else
        snprintf(buf, len, "%c%llu.%03llu s", sign, a / 1000000000ULL, a / 1000000 % 1000);
}

void rsw_fmt_rel_fit(char *buf, size_t len, long long ns)
{
    const char *sign = ns < 0 ? "−" : "+";
    double a = ns < 0 ? -(double)ns : (double)ns;
    if (a < 1e3)
        snprintf(buf, len, "%s%.0f ns", sign, a);
    else if (a < 1e6)
        snprintf(buf, len, "%s%.1f µs", sign, a / 1e3);
    else if (a < 1e9)
        snprintf(buf, len, "%s%.*f ms", sign, a < 1e7 ? 3 : 1, a / 1e6);
    else
        snprintf(buf, len, "%s%.3f s", sign, a / 1e9);
}

void rsw_fmt_abs(char *buf, size_t len, long long ts)
{
    time_t sec = (time_t)(ts / 1000000000LL);
    struct tm tm;
    char day[40] = "?";
    if (gmtime_r(&sec, &tm))
        strftime(day, sizeof day, "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(buf, len, "%s.%06lld UTC", day, ts % 1000000000LL / 1000);
}

void rsw_fmt_tally(char *buf, size_t len, json_t *obj)
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

const char *rsw_basename(const char *path)
{
    const char *s = path ? strrchr(path, '/') : NULL;
    return s ? s + 1 : path;
}

const char *rsw_proc_name(const json_t *o)
{
    const char *name = rsw_jstr(o, "name", NULL);
    if (name && *name)
        return name;
    const char *exe = rsw_jstr(o, "exe", NULL);
    return exe && *exe ? rsw_basename(exe) : "?";
}

void rsw_fmt_count(char *buf, size_t len, long long n)
{
    char digits[32], out[48];
    int neg = n < 0;
    unsigned long long a = neg ? -(unsigned long long)n : (unsigned long long)n;
    int nd = snprintf(digits, sizeof digits, "%llu", a), o = 0;
    if (neg)
        out[o++] = '-';
    for (int i = 0; i < nd; i++) {
        if (i && (nd - i) % 3 == 0)
            out[o++] = ' ';
        out[o++] = digits[i];
    }
    out[o] = 0;
    snprintf(buf, len, "%s", out);
}

void rsw_fmt_bytes(char *buf, size_t len, long long n)
{
    static const char *const units[] = {"kB", "MB", "GB", "TB", "PB"};
    if (n < 1000) {
        snprintf(buf, len, "%lld B", n);
        return;
    }
    double v = (double)n;
    size_t u = 0;
    for (v /= 1000; v >= 999.95 && u + 1 < sizeof units / sizeof *units; u++)
        v /= 1000;
    snprintf(buf, len, "%.1f %s", v, units[u]);
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void rsw_fmt_tally_plus(char *buf, size_t len, json_t *written, json_t *suppressed)
{
    size_t nk = json_object_size(written) + json_object_size(suppressed), n = 0;
    const char **keys = calloc(nk ? nk : 1, sizeof(*keys));
    const char *k;
    json_t *v;
    if (!keys)
        abort();
    json_object_foreach(written, k, v) keys[n++] = k;
    json_object_foreach(suppressed, k, v) if (!json_object_get(written, k)) keys[n++] = k;
    qsort(keys, n, sizeof(*keys), cmp_key);
    size_t at = strlen(buf), start = at;
    for (size_t i = 0; i < n && at < len; i++) {
        long long w = rsw_jint(written, keys[i], 0), s = rsw_jint(suppressed, keys[i], 0);
        const char *sep = at > start ? ", " : "";
        if (json_object_get(suppressed, keys[i])) {
            char a[32], b[32];
            rsw_fmt_count(a, sizeof a, w);
            rsw_fmt_count(b, sizeof b, s);
            at += snprintf(buf + at, len - at, "%s%s %s + %s suppressed", sep, keys[i], a, b);
        } else {
            at += snprintf(buf + at, len - at, "%s%s %lld", sep, keys[i], w);
        }
    }
    if (at == start && at < len)
        snprintf(buf + at, len - at, "none");
    free(keys);
}

/* "12:00:01.000", with the date before it when with_date */
static void clock_of(char *buf, size_t len, long long ts, int with_date)
{
    time_t sec = (time_t)(ts / 1000000000LL);
    struct tm tm;
    char t[40] = "?";
    if (gmtime_r(&sec, &tm))
        strftime(t, sizeof t, with_date ? "%Y-%m-%d %H:%M:%S" : "%H:%M:%S", &tm);
    snprintf(buf, len, "%s.%03lld", t, ts % 1000000000LL / 1000000);
}

void rsw_fmt_span(char *buf, size_t len, long long first, long long last)
{
    char a[48], b[48];
    if (first < 0 && last < 0) {
        snprintf(buf, len, "%s", "");
        return;
    }
    if (first < 0 || last < 0 || first == last) {
        clock_of(a, sizeof a, first < 0 ? last : first, 0);
        snprintf(buf, len, "at %s UTC", a);
        return;
    }
    int date = first / 86400000000000LL != last / 86400000000000LL;
    clock_of(a, sizeof a, first, date);
    clock_of(b, sizeof b, last, date);
    snprintf(buf, len, "between %s and %s UTC", a, b);
}

void rsw_fmt_connections(char *buf, size_t len, json_t *summary, const char *verdicts)
{
    long long shown = rsw_jint(summary, "connections", 0);
    const char *s = shown == 1 ? "" : "s";
    char v[600] = "";
    if (verdicts && *verdicts)
        snprintf(v, sizeof v, " (%s)", verdicts);
    json_t *tallied = json_object_get(summary, "tallied");
    long long supp = rsw_jint(summary, "suppressed_connections", 0);
    if (!tallied && !supp) {
        snprintf(buf, len, "%lld connection%s%s", shown, s, v);
        return;
    }
    char t[32], sp[32];
    rsw_fmt_count(t, sizeof t, json_integer_value(tallied));
    rsw_fmt_count(sp, sizeof sp, supp);
    int n = snprintf(buf, len, "%lld connection%s shown%s, %s clean one%s tallied", shown, s, v, t,
                     json_integer_value(tallied) == 1 ? "" : "s");
    if (supp && n > 0 && (size_t)n < len)
        snprintf(buf + n, len - n, ", %s suppressed", sp);
}

/* one or many, by n */
static const char *plural(long long n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

void rsw_fmt_suppressed(char *buf, size_t len, json_t *e)
{
    int sig = json_is_string(json_object_get(e, "sig"));
    const char *call = rsw_jstr(e, "call", rsw_jstr(e, "op", NULL));
    const char *site = rsw_jstr(e, "site", NULL);
    long long count = rsw_jint(e, "count", 0), conns = rsw_jint(e, "conns", 0);
    long long rate = rsw_jint(e, "rate", -1);
    char n[32], c[32], span[128], conn_part[96] = "", rate_part[64] = "";
    rsw_fmt_count(n, sizeof n, count);
    rsw_fmt_count(c, sizeof c, conns);
    rsw_fmt_span(span, sizeof span, rsw_jint(e, "first_ts", -1), rsw_jint(e, "last_ts", -1));
    if (conns > 0)
        snprintf(conn_part, sizeof conn_part, " (%s connection%s not shown)", c,
                 plural(conns, "", "s"));
    if (rate > 0)
        snprintf(rate_part, sizeof rate_part, " (RSTWATCH_RATE %lld/s)", rate);
    snprintf(buf, len, "%s%s%s%s%s: %s event%s%s%s%s, not written%s",
             sig ? rsw_jstr(e, "sig", "SIGPIPE") : rsw_jstr(e, "errno", "?"),
             call ? (sig ? " in " : " on ") : "", call ? call : "", site ? " at " : "",
             site ? site : "", n, plural(count, "", "s"), conn_part, *span ? " " : "", span,
             rate_part);
}

void rsw_fmt_tally_group(char *buf, size_t len, json_t *e)
{
    const char *role = rsw_jstr(e, "role", "?");
    int server = strcmp(role, "server") == 0, client = strcmp(role, "client") == 0;
    const char *addr = server ? rsw_jstr(e, "local", "?") : rsw_jstr(e, "peer", "?");
    long long conns = rsw_jint(e, "connections", 0);
    char n[32], in[32], out[32], span[128], where[300];
    rsw_fmt_count(n, sizeof n, conns);
    rsw_fmt_bytes(in, sizeof in, rsw_jint(e, "bytes_in", 0));
    rsw_fmt_bytes(out, sizeof out, rsw_jint(e, "bytes_out", 0));
    rsw_fmt_span(span, sizeof span, rsw_jint(e, "first_ts", -1), rsw_jint(e, "last_ts", -1));
    if (strcmp(addr, "*") == 0) /* the logging process's key table was full */
        snprintf(where, sizeof where, "%s other %s (%s; \"*\": the tally table was full)",
                 server ? "accepted on" : "to", server ? "addresses" : "peers", role);
    else
        snprintf(where, sizeof where, "%s %s (%s)",
                 server   ? "accepted on"
                 : client ? "to"
                          : "at",
                 addr, role);
    snprintf(buf, len, "%s connection%s %s, in %s, out %s%s%s", n, plural(conns, "", "s"), where,
             in, out, *span ? ", closed " : "", span);
}

void rsw_fmt_lost(char *buf, size_t len, json_t *e)
{
    const char *reason = rsw_jstr(e, "reason", "?");
    json_t *ev = json_object_get(e, "events");
    long long events = json_integer_value(ev);
    char who[160], n[32];
    snprintf(who, sizeof who, "pid %lld (%s)", rsw_jint(e, "pid", 0), rsw_proc_name(e));
    rsw_fmt_count(n, sizeof n, events);
    if (strcmp(reason, "log_max") == 0) {
        char cap[64] = "";
        if (rsw_jint(e, "log_max", 0) > 0)
            snprintf(cap, sizeof cap, " (%lld bytes)", rsw_jint(e, "log_max", 0));
        if (json_is_integer(ev))
            snprintf(
                buf, len,
                "%s: the log stopped at RSTWATCH_LOG_MAX%s; %s event%s after that %s not written",
                who, cap, n, plural(events, "", "s"), plural(events, "was", "were"));
        else
            snprintf(buf, len,
                     "%s: the log stopped at RSTWATCH_LOG_MAX%s; the events after that were not "
                     "written (their count never reached the log)",
                     who, cap);
    } else if (strcmp(reason, "write_failed") == 0) {
        snprintf(buf, len, "%s: could not write %s event%s (%s)", who, n, plural(events, "", "s"),
                 rsw_jstr(e, "errno", "the write failed"));
    } else {
        snprintf(buf, len, "%s: %s event%s %s not written (%s)", who, n, plural(events, "", "s"),
                 plural(events, "was", "were"), reason);
    }
}
