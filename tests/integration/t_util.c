/* t_util.c: helpers shared by the integration test programs (loopback peers, errno names, output).
 */
#define _GNU_SOURCE
#include "t_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

void tu_die(const char *what)
{
    fprintf(stderr, "t_util: %s: %s\n", what, strerror(errno));
    exit(TU_SETUP_FAILED);
}

const char *tu_errname(int err)
{
    if (err == 0)
        return "0";
    const char *name = strerrorname_np(err);
    return name ? name : "E?";
}

void tu_out(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fflush(stdout);
}

static socklen_t loopback(int family, int port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_addr = in6addr_loopback;
        s6->sin6_port = htons((uint16_t)port);
        return sizeof(*s6);
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    s4->sin_family = AF_INET;
    s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s4->sin_port = htons((uint16_t)port);
    return sizeof(*s4);
}

static int bound_socket(int family, int *port)
{
    struct sockaddr_storage ss;
    socklen_t len = loopback(family, 0, &ss);
    int fd = socket(family, SOCK_STREAM, 0);
    if (fd < 0)
        tu_die("socket");
    if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
        if (family == AF_INET6) {
            close(fd);
            return -1;
        }
        tu_die("bind");
    }
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        tu_die("getsockname");
    *port = family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                               : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}

int tu_refusing_port(int family, int *holder)
{
    int port;
    *holder = bound_socket(family, &port);
    return *holder < 0 ? -1 : port;
}

int tu_listener(int family, int *port)
{
    int fd = bound_socket(family, port);
    if (fd < 0)
        tu_die("bind loopback");
    if (listen(fd, 16) < 0)
        tu_die("listen");
    return fd;
}

int tu_connect(int family, int port)
{
    struct sockaddr_storage ss;
    socklen_t len = loopback(family, port, &ss);
    int fd = socket(family, SOCK_STREAM, 0);
    if (fd < 0)
        tu_die("socket");
    if (connect(fd, (struct sockaddr *)&ss, len) < 0)
        tu_die("connect");
    return fd;
}

int tu_conn_to_closed_peer(int *port)
{
    int lfd = tu_listener(AF_INET, port);
    int fd = tu_connect(AF_INET, *port);
    pid_t child = fork();
    if (child < 0)
        tu_die("fork");
    if (child == 0) {
        int c = accept(lfd, NULL, NULL);
        if (c < 0)
            _exit(TU_SETUP_FAILED);
        close(c);
        _exit(0);
    }
    close(lfd);
    int status;
    if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        errno = ECHILD;
        tu_die("closing peer");
    }
    return fd;
}

size_t tu_write_until_failure(int fd, size_t chunk, int max, int *err)
{
    static char block[65536];
    size_t total = 0;
    if (chunk > sizeof(block))
        chunk = sizeof(block);
    memset(block, 'x', chunk);
    *err = 0;
    for (int i = 0; i < max; i++) {
        ssize_t n = write(fd, block, chunk);
        int e = n < 0 ? errno : 0;
        tu_out("write ret=%zd errno=%s\n", n, tu_errname(e));
        if (n < 0) {
            *err = e;
            break;
        }
        total += (size_t)n;
    }
    return total;
}

void tu_connect_refused(const char *label)
{
    int holder;
    int port = tu_refusing_port(AF_INET, &holder);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    int e = r < 0 ? errno : 0;
    tu_out("%s fd=%d port=%d ret=%d errno=%s\n", label, fd, port, r, tu_errname(e));
    close(fd);
    close(holder);
}

int tu_read_exactly(int fd, void *buf, size_t n)
{
    for (size_t got = 0; got < n;) {
        ssize_t r = read(fd, (char *)buf + got, n - got);
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}
