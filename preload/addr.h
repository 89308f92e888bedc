/* addr.h: socket addresses as the log writes them (127.0.0.1:80, [::1]:80, /path, @abstract). */
#ifndef RSW_ADDR_H
#define RSW_ADDR_H
#include <stddef.h>
#include <sys/socket.h>

/* Formats sa into out (always NUL-terminated, cut to cap). Returns the rsw_family. */
int rsw_addr_format(const struct sockaddr *sa, socklen_t len, char *out, size_t cap);
/* The socket's local address (getsockname), formatted; "" if unknown. */
void rsw_addr_local(int fd, char *out, size_t cap);
/* "pipe:[INODE]" */
void rsw_addr_pipe(unsigned long long ino, char *out, size_t cap);
#endif
