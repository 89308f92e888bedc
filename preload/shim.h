/* shim.h: what the hooking shims share (the shim layer; see docs/HACKING.md "Layers"). */
#ifndef RSW_SHIM_H
#define RSW_SHIM_H
#include "guard.h"
#include "track.h"

#define RSW_EXPORT __attribute__((visibility("default")))

/* The hot I/O wrappers' exit for a call on watched e that returned r <= 0 (errno: its error). */
ssize_t rsw_io_after(struct rsw_fd *e, const char *call, enum rsw_op op, ssize_t r);

/* libunwind's memory-check pipe (unwind_pipe.c): while the library itself is working, the two
 * fds it was given are answered here. 1 if fd is one of them and the library is working. */
int rsw_unwind_fd(int fd);
long rsw_unwind_io(const char *call, int fd, ...);
/* SIGPIPE interposition (sigpipe.c): takes over the disposition the program has at start. */
void rsw_sigpipe_init(void);
#endif
