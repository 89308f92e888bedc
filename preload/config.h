/* config.h: RSTWATCH_* environment variables, parsed once at start. */
#ifndef RSW_CONFIG_H
#define RSW_CONFIG_H
#include "envparse.h"
#include <limits.h>
#include <stddef.h>

struct rsw_config {
    int backtrace;              /* max frames, 0 = none */
    int events;                 /* enum rsw_events */
    int sigpipe_survive;        /* RSTWATCH_SIGPIPE=survive */
    unsigned rate;              /* RSTWATCH_RATE: events per second per call site, 0 = no limit */
    unsigned long long log_max; /* RSTWATCH_LOG_MAX: bytes, 0 = no limit */
    int secure;                 /* AT_SECURE: log nothing, inject nothing */
    const char *log;            /* RSTWATCH_LOG as given, NULL if unset */
    const char *inject;         /* RSTWATCH_INJECT as given, NULL if unset */
};
extern struct rsw_config rsw_cfg;

/* Reads the environment into rsw_cfg; bad values are reported on stderr (fd 2). */
void rsw_config_load(void);

/* Expands a RSTWATCH_LOG template: %p → pid, %n → name, %% → %. -1 if it does not fit. */
int rsw_config_expand(const char *tmpl, int pid, const char *name, char *out, size_t cap);
#endif
