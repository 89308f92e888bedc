/* config.c: parses the RSTWATCH_* environment variables; never aborts the host program. */
#include "config.h"
#include "jsonw.h"
#include "sys.h"
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

struct rsw_config rsw_cfg = {RSW_BACKTRACE_DEFAULT, RSW_EVENTS_CONN, 0, 0, NULL, NULL};

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
    *out = RSW_EVENTS_CONN;
    if (!v)
        return 0;
    if (!strcmp(v, "errors"))
        *out = RSW_EVENTS_ERRORS;
    else if (!strcmp(v, "conn"))
        *out = RSW_EVENTS_CONN;
    else if (!strcmp(v, "all"))
        *out = RSW_EVENTS_ALL;
    else {
        msgf(msg, cap, "RSTWATCH_EVENTS: expected errors, conn or all, got '", v,
             "'; using the default conn");
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

void rsw_say(const char *a, const char *b, const char *c)
{
    char line[1024];
    const char *parts[] = {a, b, c};
    size_t n = 0;
    for (size_t i = 0; i < 3; i++) {
        size_t l = parts[i] ? strlen(parts[i]) : 0;
        if (l > sizeof line - 1 - n)
            l = sizeof line - 1 - n;
        memcpy(line + n, parts[i] ? parts[i] : "", l);
        n += l;
    }
    line[n++] = '\n';
    rsw_sys_write(2, line, n);
}

static void report(const char *msg)
{
    rsw_say(msg, NULL, NULL);
}

void rsw_config_load(void)
{
    char msg[512];
    rsw_cfg.secure = getauxval(AT_SECURE) != 0;
    if (rsw_config_backtrace(getenv("RSTWATCH_BACKTRACE"), &rsw_cfg.backtrace, msg, sizeof msg))
        report(msg);
    if (rsw_config_events(getenv("RSTWATCH_EVENTS"), &rsw_cfg.events, msg, sizeof msg))
        report(msg);
    if (rsw_config_sigpipe(getenv("RSTWATCH_SIGPIPE"), &rsw_cfg.sigpipe_survive, msg, sizeof msg))
        report(msg);
    rsw_cfg.log = rsw_cfg.secure ? NULL : getenv("RSTWATCH_LOG");
    rsw_cfg.inject = rsw_cfg.secure ? NULL : getenv("RSTWATCH_INJECT");
    if (rsw_cfg.log && !*rsw_cfg.log) {
        report("rstwatch: RSTWATCH_LOG is empty; using the default ./rstwatch.NAME.PID.jsonl");
        rsw_cfg.log = NULL;
    }
}

int rsw_config_expand(const char *t, int pid, const char *name, char *out, size_t cap)
{
    size_t n = 0;
    char num[24];
    for (; *t; t++) {
        const char *s = t;
        size_t l = 1;
        if (t[0] == '%' && t[1] == 'p') {
            l = rsw_fmt_u64(num, (unsigned)pid), s = num, t++;
        } else if (t[0] == '%' && t[1] == 'n') {
            s = name, l = strlen(name), t++;
        } else if (t[0] == '%' && t[1] == '%') {
            t++;
        }
        if (n + l >= cap)
            return -1;
        memcpy(out + n, s, l);
        n += l;
    }
    out[n] = 0;
    return 0;
}
