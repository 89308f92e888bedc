/* inject.h: RSTWATCH_INJECT fault injection: parse the rules, decide per call, and make the
 * kernel deliver the outcome (grammar and decisions: inject_rules.h). */
#ifndef RSW_INJECT_H
#define RSW_INJECT_H
#include "inject_rules.h"
#include <stddef.h>

/* Loads the rules (NULL: none); a bad spec is reported on stderr and nothing is injected. */
void rsw_inject_load(const char *spec);
/* Nonzero when rules are loaded: the shims consult the injector. */
extern int rsw_inject_armed;

struct rsw_fd;
struct sockaddr;
/* Called by the I/O wrappers when armed, before the real call. op: RSW_OP_IN/RSW_OP_OUT.
 * Returns 1 if the call was answered by the injector (*ret set, errno set), else 0: the real
 * call goes ahead (after a reset or epipe, the kernel itself then returns the error). */
int rsw_inject_io(int fd, struct rsw_fd *e, const char *call, int op, int flags, size_t len,
                  long *ret);
/* Called by the connect shim when armed, before the real connect: 1 if answered (*ret and
 * errno set; a refusal or a non-blocking timeout is a real connect elsewhere). */
int rsw_inject_connect(int fd, const struct sockaddr *sa, unsigned salen, struct rsw_fd *e,
                       int *ret);
/* Called by the accept shim when armed, once the accepted connection e (fd) is set up and its
 * accept event written: numbers it for conn= and applies `reset,on=accept`. Keeps errno. */
void rsw_inject_accept(int fd, struct rsw_fd *e, const char *call);
#endif
