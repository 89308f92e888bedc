/* ownfd.h: fds the library itself holds (the log, injection helpers), kept out of the program's
 * way: moved above its soft RLIMIT_NOFILE and invisible to its close calls. */
#ifndef RSW_OWNFD_H
#define RSW_OWNFD_H
#include <limits.h>

/* Moves fd to a number the program cannot open or dup2 onto (above the soft fd limit when the
 * hard limit allows, else the highest free number below it), closes the old number, records
 * the new one as the library's, and returns it (fd itself if it could not be moved). */
int rsw_own_hide(int fd);
/* Can fds be parked above the soft limit (the hard limit leaves room)? Below it, a program
 * may still dup2() onto a parked number on purpose. */
int rsw_own_can_hide_above(void);
/* Is fd one of the library's own? */
int rsw_own_is(int fd);
/* The lowest own fd in [lo, hi], or -1. */
int rsw_own_next(unsigned lo, unsigned hi);
/* fd is no longer the library's (closed by the library). */
void rsw_own_drop(int fd);
#endif
