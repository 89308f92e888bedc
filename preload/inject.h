/* inject.h: RSTWATCH_INJECT fault injection: parse the rules, decide per call. */
#ifndef RSW_INJECT_H
#define RSW_INJECT_H
#include <stddef.h>

/* 0 if spec is a valid RSTWATCH_INJECT text, else -1 with a one-line "rstwatch: ..." message
 * naming the bad token and its position. Used by `rstwatch run --inject` too. */
int rsw_inject_validate(const char *spec, char *err, size_t errlen);
/* Loads the rules (NULL: none); a bad spec is reported on stderr and nothing is injected. */
void rsw_inject_load(const char *spec);
/* Nonzero when rules are loaded: the shims consult the injector. */
extern int rsw_inject_armed;

struct rsw_fd;
struct sockaddr;
/* Called by the I/O wrappers when armed, before the real call. op: RSW_OP_IN/RSW_OP_OUT.
 * Returns 1 if the call was answered by the injector (*ret set, errno set), else 0. */
int rsw_inject_io(int fd, struct rsw_fd *e, const char *call, int op, int flags, size_t len,
                  long *ret);
/* Called by the connect shim when armed, before the real connect: 1 if answered. */
int rsw_inject_connect(int fd, const struct sockaddr *sa, unsigned salen, struct rsw_fd *e,
                       int *ret);
#endif
