/* envparse.h: parsers for the values of RSTWATCH_BACKTRACE, RSTWATCH_EVENTS, RSTWATCH_SIGPIPE,
 * RSTWATCH_RATE and RSTWATCH_LOG_MAX. */
#ifndef RSW_ENVPARSE_H
#define RSW_ENVPARSE_H
#include <stddef.h>

/* RSTWATCH_EVENTS, in increasing order of what is written (README "Environment"). */
enum rsw_events {
    RSW_EVENTS_ERRORS = 0,
    RSW_EVENTS_FAILURES = 1, /* the default: failing connections whole, clean ones tallied */
    RSW_EVENTS_CONN = 2,
    RSW_EVENTS_ALL = 3
};

#define RSW_BACKTRACE_DEFAULT 32
#define RSW_BACKTRACE_MAX 256
#define RSW_RATE_DEFAULT 100               /* events per second per call site */
#define RSW_LOG_MAX_DEFAULT (256ull << 20) /* bytes per process */

/* Each parser stores the value (or the default) and returns 0, or -1 after writing a one-line
 * "rstwatch: ..." message (naming the variable and the default used) into msg. */
int rsw_config_backtrace(const char *v, int *out, char *msg, size_t msgcap);
int rsw_config_events(const char *v, int *out, char *msg, size_t msgcap);
int rsw_config_sigpipe(const char *v, int *out, char *msg, size_t msgcap);
/* RSTWATCH_RATE: a count of events per second, 0 = unlimited. */
int rsw_config_rate(const char *v, unsigned *out, char *msg, size_t msgcap);
/* RSTWATCH_LOG_MAX: bytes, with an optional K, M or G suffix (powers of 1024); 0 = unlimited. */
int rsw_config_log_max(const char *v, unsigned long long *out, char *msg, size_t msgcap);
#endif
