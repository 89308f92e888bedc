/* t_connect.c: connect outcomes for the integration tests: refused (blocking, non-blocking, IPv6,
 * UNIX) and a non-blocking success. */
#define _GNU_SOURCE
#include "t_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Blocking connect to a port nobody listens on: -1 ECONNREFUSED. */
__attribute__((noinline)) int connect_refused_blocking(int family)
{
    int holder;
    int port = tu_refusing_port(family, &holder);
    if (port < 0) {
        fprintf(stderr, "t_connect: no IPv6 loopback (::1) here\n");
        return TU_SKIP;
    }
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    socklen_t len;
    if (family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_addr = in6addr_loopback;
        s6->sin6_port = htons((uint16_t)port);
        len = sizeof(*s6);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        s4->sin_port = htons((uint16_t)port);
        len = sizeof(*s4);
    }
    int fd = socket(family, SOCK_STREAM, 0);
    if (fd < 0)
        tu_die("socket");
    int r = connect(fd, (struct sockaddr *)&ss, len);
    int e = r < 0 ? errno : 0;
    tu_out("connect fd=%d port=%d ret=%d errno=%s\n", fd, port, r, tu_errname(e));
    close(fd);
    close(holder);
    return 0;
}

/* Non-blocking connect; the outcome arrives through poll() and getsockopt(SO_ERROR). */
__attribute__((noinline)) int connect_nonblocking_then_poll(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0)
        tu_die("socket");
    int r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    int e = r < 0 ? errno : 0;
    tu_out("connect fd=%d port=%d ret=%d errno=%s\n", fd, port, r, tu_errname(e));
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    int pr = poll(&p, 1, 5000);
    tu_out("poll ret=%d revents_out=%d\n", pr, (p.revents & POLLOUT) != 0);
    int soerr = -1;
    socklen_t sl = sizeof(soerr);
    r = getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
    tu_out("getsockopt ret=%d so_error=%s\n", r, tu_errname(soerr));
    return fd;
}

static int refused_nonblocking(void)
{
    int holder;
    int port = tu_refusing_port(AF_INET, &holder);
    int fd = connect_nonblocking_then_poll(port);
    close(fd);
    close(holder);
    return 0;
}

static int accepted_nonblocking(void)
{
    int port;
    int lfd = tu_listener(AF_INET, &port);
    int fd = connect_nonblocking_then_poll(port);
    int c = accept(lfd, NULL, NULL);
    if (c < 0)
        tu_die("accept");
    close(c);
    close(fd);
    close(lfd);
    return 0;
}

/* UNIX stream socket bound to a path but not listening: -1 ECONNREFUSED. */
__attribute__((noinline)) int connect_unix_refused(void)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/t_connect.sock", getcwd(NULL, 0));
    unlink(sun.sun_path);
    int holder = socket(AF_UNIX, SOCK_STREAM, 0);
    if (holder < 0 || bind(holder, (struct sockaddr *)&sun, sizeof(sun)) < 0)
        tu_die("bind unix");
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    int r = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
    int e = r < 0 ? errno : 0;
    tu_out("connect fd=%d path=%s ret=%d errno=%s\n", fd, sun.sun_path, r, tu_errname(e));
    close(fd);
    close(holder);
    unlink(sun.sun_path);
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "block";
    if (!strcmp(mode, "block"))
        return connect_refused_blocking(AF_INET);
    if (!strcmp(mode, "v6"))
        return connect_refused_blocking(AF_INET6);
    if (!strcmp(mode, "nonblock"))
        return refused_nonblocking();
    if (!strcmp(mode, "nonblock_ok"))
        return accepted_nonblocking();
    if (!strcmp(mode, "unix"))
        return connect_unix_refused();
    fprintf(stderr, "t_connect: unknown mode %s\n", mode);
    return 2;
}
