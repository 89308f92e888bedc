/* refuse.h: the refused connect of tests/analyzer/symbols.py's programs (C and C++), a macro so
 * that the connect call stays in the function under test: frame 0, at the line of REFUSE(). */
#ifndef RSW_REFUSE_H
#define RSW_REFUSE_H
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* connect() to 127.0.0.1:port (nothing listens there): 0, or its errno (ECONNREFUSED). */
#define REFUSE(port)                                                                               \
    __extension__({                                                                                \
        int fd_ = socket(AF_INET, SOCK_STREAM, 0);                                                 \
        struct sockaddr_in sa_;                                                                    \
        memset(&sa_, 0, sizeof sa_);                                                               \
        sa_.sin_family = AF_INET;                                                                  \
        sa_.sin_port = htons(port);                                                                \
        sa_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);                                              \
        int rc_ = connect(fd_, (struct sockaddr *)&sa_, sizeof sa_);                               \
        int err_ = errno;                                                                          \
        close(fd_);                                                                                \
        rc_ == 0 ? 0 : err_;                                                                       \
    })

/* main's end: the error seen, and exit status 0 for the expected ECONNREFUSED. */
#define REFUSE_REPORT(what, err) (printf("%s: %d\n", (what), (err)), (err) == ECONNREFUSED ? 0 : 1)

#endif
