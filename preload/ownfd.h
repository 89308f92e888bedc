/* ownfd.h: fds the library itself holds (the log, libunwind's memory-check pipe), kept out of
 * the program's way: moved above its soft RLIMIT_NOFILE and invisible to its close calls. */
#ifndef RSW_OWNFD_H
#define RSW_OWNFD_H

/* Moves fd to a number the program cannot open or dup2 onto (above the soft fd limit when the
 * hard limit allows, else the highest free number below it), closes the old number, records
 * the new one as the library's, and returns it (fd itself if it could not be moved). */
int rsw_own_hide(int fd);
/* Is fd one of the library's own? */
int rsw_own_is(int fd);
/* The lowest own fd in [lo, hi], or -1. */
int rsw_own_next(unsigned lo, unsigned hi);
/* fd is no longer the library's (closed by the library). */
void rsw_own_drop(int fd);
#endif
