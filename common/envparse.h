/* envparse.h: parsers for the values of RSTWATCH_BACKTRACE, RSTWATCH_EVENTS, RSTWATCH_SIGPIPE. */
#ifndef RSW_ENVPARSE_H
#define RSW_ENVPARSE_H
#include <stddef.h>

enum rsw_events { RSW_EVENTS_ERRORS = 0, RSW_EVENTS_CONN = 1, RSW_EVENTS_ALL = 2 };

#define RSW_BACKTRACE_DEFAULT 32
#define RSW_BACKTRACE_MAX 256

/* Each parser stores the value (or the default) and returns 0, or -1 after writing a one-line
 * "rstwatch: ..." message (naming the variable and the default used) into msg. */
int rsw_config_backtrace(const char *v, int *out, char *msg, size_t msgcap);
int rsw_config_events(const char *v, int *out, char *msg, size_t msgcap);
int rsw_config_sigpipe(const char *v, int *out, char *msg, size_t msgcap);
#endif
