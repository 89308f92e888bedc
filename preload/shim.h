/* shim.h: what the hooking shims share: real functions, per-thread state, init, slow paths. */
#ifndef RSW_SHIM_H
#define RSW_SHIM_H
#include "fdtable.h"
#include <signal.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#define RSW_EXPORT __attribute__((visibility("default")))
#define RSW_LIKELY(x) __builtin_expect(!!(x), 1)
#define RSW_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* The next definition of every hooked function (libc's), resolved with dlsym(RTLD_NEXT). */
struct rsw_real {
#define RSW_IO(R, name, P, A, fd, dir, flags, len) R(*name) P;
#define RSW_HOOK(R, name, P) R(*name) P;
#include "hooks.def"
};
extern struct rsw_real rsw_real RSW_HIDDEN;

/* Per-thread state (initial-exec TLS: no allocation, usable in a signal handler). */
struct rsw_tls {
    int depth; /* >0 while the library itself is working: hooks pass straight through */
};
extern __thread struct rsw_tls rsw_tls __attribute__((tls_model("initial-exec"))) RSW_HIDDEN;

enum rsw_op { RSW_OP_IN, RSW_OP_OUT };

/* Resolves the real functions and, once, everything else (config, log, start event). */
void rsw_init(void);
extern int rsw_ready RSW_HIDDEN;
/* RSTWATCH_EVENTS=all: an io event per successful call (the slow path writes it). */
extern int rsw_io_all RSW_HIDDEN;

/* Slow path of the I/O wrappers: an fd seen for the first time (classify it, emit adopt).
 * Returns the entry if the fd is to be watched, else NULL. */
struct rsw_fd *rsw_fd_adopt(int fd, const char *call);
/* Slow path of the I/O wrappers: anything but a plain success (eof, error, io event). */
ssize_t rsw_io_slow(int fd, struct rsw_fd *e, const char *call, enum rsw_op op, int flags,
                    size_t len, ssize_t r);
/* The hot wrappers' exit for a call that returned <= 0 (e->fd is the fd; len was nonzero). */
ssize_t rsw_io_after(struct rsw_fd *e, const char *call, enum rsw_op op, ssize_t r);
/* Reports a failed call on a (possibly NULL) connection if errno is interesting. */
void rsw_report_error(const char *call, const char *op, int fd, const struct rsw_fd *e, long ret,
                      int err);
/* Initial values for a newly watched socket; peer/cookie/TCP flag filled from the kernel. */
void rsw_fd_setup_socket(struct rsw_fd *e, int fd, int family, const struct sockaddr *peer,
                         socklen_t peerlen);
/* The socket's local address, formatted ("" if unknown). */
void rsw_format_local(int fd, char *out, size_t cap);
/* SIGPIPE interposition (sigpipe.c). */
void rsw_sigpipe_init(void);
#endif
