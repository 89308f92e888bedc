/* fmt.c: how the report writes values for people: times, counts by name, base names. */
#include "fmt.h"
#include "jsonutil.h"
#include <stdio.h>
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
