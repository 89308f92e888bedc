/* t_util.h: helpers shared by the integration test programs (loopback peers, errno names, output).
 */
#ifndef T_UTIL_H
#define T_UTIL_H

#include <stddef.h>
#include <sys/types.h>

/* Exit code of a test program whose own setup failed (not what the test is about). */
#define TU_SETUP_FAILED 99
/* Exit code meaning "skipped" (CTest SKIP_RETURN_CODE). */
#define TU_SKIP 77

/* Print "what: strerror" on stderr and exit TU_SETUP_FAILED. */
void tu_die(const char *what) __attribute__((noreturn));
/* Symbolic errno name ("ECONNRESET"), "0" for 0. */
const char *tu_errname(int err);
/* printf to stdout, flushed at once (stdout is a regular file the driver reads). */
void tu_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A TCP socket bound to a loopback port but not listening: connecting to it is refused.
 * family is AF_INET or AF_INET6; returns the port, *holder the socket keeping it reserved.
 * For AF_INET6 without ::1, returns -1. */
int tu_refusing_port(int family, int *holder);
/* A blocking connect to a refusing loopback port; prints "LABEL fd=F port=P ret=R errno=E". */
void tu_connect_refused(const char *label);
/* A listening TCP socket on loopback port 0; returns the fd, *port the port chosen. */
int tu_listener(int family, int *port);
/* Blocking connect to loopback:port; returns the connected fd (dies on failure). */
int tu_connect(int family, int port);

/* A connection whose peer (a forked child) accepted and closed it; the child has exited, so its
 * FIN has arrived: the next writes meet the peer's RST (first one succeeds, later EPIPE). */
int tu_conn_to_closed_peer(int *port);

/* write() until it fails or max writes were made, chunk bytes each; prints one line per write
 * ("write ret=N errno=E"); returns the number of bytes written successfully, *err the final errno.
 */
size_t tu_write_until_failure(int fd, size_t chunk, int max, int *err);

/* read() exactly n bytes, in as many pieces as they come: 0, or -1 on an error or an early EOF. */
int tu_read_exactly(int fd, void *buf, size_t n);

#endif
