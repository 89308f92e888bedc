/* track.h: connection bookkeeping (core): classify fds seen for the first time, set up watched
 * sockets, and everything an I/O call does besides moving bytes (eof, errors, io events).
 * Callers have entered the library (guard.h): nothing here runs a hooked function. */
#ifndef RSW_TRACK_H
#define RSW_TRACK_H
#include "fdtable.h"
#include <sys/socket.h>
#include <sys/types.h>

enum rsw_op { RSW_OP_IN, RSW_OP_OUT };

/* RSTWATCH_EVENTS=all: an io event per successful call (the slow path writes it). */
extern int rsw_io_all RSW_HIDDEN;

/* An fd seen for the first time: classify it (connected or dead stream socket, pipe), write
 * the adopt event. Returns the entry if the fd is to be watched, else NULL. */
struct rsw_fd *rsw_fd_adopt(int fd, const char *call);
/* Initial values for a newly watched socket; peer/cookie/TCP flag filled from the kernel.
 * active: the program connected it (1), accepted it (0). */
void rsw_fd_setup_socket(struct rsw_fd *e, int fd, int family, const struct sockaddr *peer,
                         socklen_t peerlen, int active);
/* After an I/O call on a watched fd that did not simply succeed (or any call in slow mode):
 * byte counters, eof, error and io events. r: the call's result; err: its errno. */
void rsw_io_done(int fd, struct rsw_fd *e, const char *call, enum rsw_op op, int flags, size_t len,
                 ssize_t r, int err);
/* Reports a failed call on a (possibly NULL) connection if err is one the library reports. */
void rsw_report_error(const char *call, const char *op, int fd, struct rsw_fd *e, long ret,
                      int err);
#endif
