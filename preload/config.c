/* config.c: parses the RSTWATCH_* environment variables; never aborts the host program. */
#include "config.h"
#include "jsonw.h"
#include "say.h"
#include "sys.h"
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

struct rsw_config rsw_cfg = {.backtrace = RSW_BACKTRACE_DEFAULT,
                             .events = RSW_EVENTS_FAILURES,
                             .rate = RSW_RATE_DEFAULT,
                             .log_max = RSW_LOG_MAX_DEFAULT};

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
    if (rsw_config_rate(getenv("RSTWATCH_RATE"), &rsw_cfg.rate, msg, sizeof msg))
        report(msg);
    if (rsw_config_log_max(getenv("RSTWATCH_LOG_MAX"), &rsw_cfg.log_max, msg, sizeof msg))
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
