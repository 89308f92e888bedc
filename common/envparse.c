/* envparse.c: the values of the RSTWATCH_* variables, parsed without side effects: shared by the
 * preload (at start) and the CLI (to check options before it runs anything). */
#include "envparse.h"
#include <stdlib.h>
#include <string.h>

static void msgf(char *msg, size_t cap, const char *a, const char *b, const char *c)
{
    size_t n = 0;
    const char *parts[] = {"rstwatch: ", a, b, c};
    for (size_t i = 0; i < 4 && parts[i]; i++) {
        size_t l = strlen(parts[i]);
        if (n + l >= cap)
            l = cap - 1 - n;
        memcpy(msg + n, parts[i], l);
        n += l;
    }
    msg[n] = 0;
}

int rsw_config_backtrace(const char *v, int *out, char *msg, size_t cap)
{
    *out = RSW_BACKTRACE_DEFAULT;
    if (!v)
        return 0;
    char *end;
    long n = (*v >= '0' && *v <= '9') ? strtol(v, &end, 10) : -1;
    if (n < 0 || *end || n > RSW_BACKTRACE_MAX) {
        msgf(msg, cap, "RSTWATCH_BACKTRACE: expected a number of frames from 0 to 256, got '", v,
             "'; using the default 32");
        return -1;
    }
    *out = (int)n;
    return 0;
}

int rsw_config_events(const char *v, int *out, char *msg, size_t cap)
{
    *out = RSW_EVENTS_FAILURES;
    if (!v)
        return 0;
    if (!strcmp(v, "errors"))
        *out = RSW_EVENTS_ERRORS;
    else if (!strcmp(v, "failures"))
        *out = RSW_EVENTS_FAILURES;
    else if (!strcmp(v, "conn"))
        *out = RSW_EVENTS_CONN;
    else if (!strcmp(v, "all"))
        *out = RSW_EVENTS_ALL;
    else {
        msgf(msg, cap, "RSTWATCH_EVENTS: expected errors, failures, conn or all, got '", v,
             "'; using the default failures");
        return -1;
    }
    return 0;
}

int rsw_config_sigpipe(const char *v, int *out, char *msg, size_t cap)
{
    *out = 0;
    if (!v || !strcmp(v, "default"))
        return 0;
    if (!strcmp(v, "survive")) {
        *out = 1;
        return 0;
    }
    msgf(msg, cap, "RSTWATCH_SIGPIPE: expected default or survive, got '", v,
         "'; using the default (the program's own disposition)");
    return -1;
}

int rsw_config_rate(const char *v, unsigned *out, char *msg, size_t cap)
{
    *out = RSW_RATE_DEFAULT;
    if (!v)
        return 0;
    char *end;
    unsigned long n = (*v >= '0' && *v <= '9') ? strtoul(v, &end, 10) : (unsigned long)-1;
    if (n == (unsigned long)-1 || *end || n > 1000000000ul) {
        msgf(msg, cap,
             "RSTWATCH_RATE: expected events per second per call site (0: no limit), got '", v,
             "'; using the default 100");
        return -1;
    }
    *out = (unsigned)n;
    return 0;
}

int rsw_config_log_max(const char *v, unsigned long long *out, char *msg, size_t cap)
{
    *out = RSW_LOG_MAX_DEFAULT;
    if (!v)
        return 0;
    char *end;
    unsigned long long n =
        (*v >= '0' && *v <= '9') ? strtoull(v, &end, 10) : (unsigned long long)-1;
    int shift = 0;
    if (n != (unsigned long long)-1 && *end && !end[1])
        shift = *end == 'K' || *end == 'k'   ? 10
                : *end == 'M' || *end == 'm' ? 20
                : *end == 'G' || *end == 'g' ? 30
                                             : -1;
    else if (n != (unsigned long long)-1 && *end)
        shift = -1;
    if (n == (unsigned long long)-1 || shift < 0 || n > (1ull << 50) >> shift) {
        msgf(msg, cap,
             "RSTWATCH_LOG_MAX: expected bytes with an optional K, M or G (0: no limit), got '", v,
             "'; using the default 256M");
        return -1;
    }
    *out = n << shift;
    return 0;
}
