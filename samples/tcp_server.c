/* tcp_server.c: the samples' TCP server: accepts, then closes, aborts or holds the connection. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sample_common.h"

__attribute__((noreturn)) static void usage(void)
{
    fprintf(stderr,
            "usage: sample-server MODE HOST PORT\n"
            "modes (each serves one connection, then exits):\n"
            "  close  accept, then close at once without reading\n"
            "  abort  accept, read the request, then close abortively (SO_LINGER {1, 0}): RST\n"
            "  hold   accept, then read until end of file or an error\n"
            "PORT 0 picks a free port; the 'listening on' line names it.\n");
    exit(2);
}

SAMPLE_STEP int server_listen(struct sockaddr_in *addr)
{
    int one = 1;
    int fd = (int)SAMPLE_CALL(socket(AF_INET, SOCK_STREAM, 0), "socket(AF_INET, SOCK_STREAM)");
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (SAMPLE_CALL(bind(fd, (struct sockaddr *)addr, sizeof *addr), "bind(fd %d, %s)", fd,
                    sample_addr((struct sockaddr *)addr)) < 0 ||
        SAMPLE_CALL(listen(fd, 8), "listen(fd %d, 8)", fd) < 0)
        return -1;
    socklen_t len = sizeof *addr;
    getsockname(fd, (struct sockaddr *)addr, &len);
    sample_say("listening on %s", sample_addr((struct sockaddr *)addr));
    return fd;
}

SAMPLE_STEP int server_accept(int lfd)
{
    struct sockaddr_in peer;
    socklen_t len = sizeof peer;
    int fd = (int)SAMPLE_CALL(accept(lfd, (struct sockaddr *)&peer, &len), "accept(fd %d)", lfd);
    if (fd >= 0)
        sample_say("accepted fd %d from %s", fd, sample_addr((struct sockaddr *)&peer));
    return fd;
}

/* Close without reading: the kernel sends a FIN; data arriving later is answered with an RST. */
SAMPLE_STEP int server_close_at_once(int fd)
{
    return (int)SAMPLE_CALL(close(fd), "close(fd %d) without reading", fd);
}

/* An abortive close: with SO_LINGER {on, 0 s}, close() discards everything and sends an RST. */
SAMPLE_STEP int server_abortive_close(int fd)
{
    char buf[512];
    SAMPLE_CALL(read(fd, buf, sizeof buf), "read(fd %d, %zu B)", fd, sizeof buf);
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    SAMPLE_CALL(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg),
                "setsockopt(fd %d, SO_LINGER, {1, 0})", fd);
    return (int)SAMPLE_CALL(close(fd), "close(fd %d): abortive, the kernel sends an RST", fd);
}

SAMPLE_STEP int server_hold(int fd)
{
    char buf[4096];
    for (;;) {
        long n = SAMPLE_CALL(read(fd, buf, sizeof buf), "read(fd %d, %zu B)", fd, sizeof buf);
        if (n <= 0) {
            SAMPLE_CALL(close(fd), "close(fd %d)", fd);
            return (int)n;
        }
    }
}

int main(int argc, char **argv)
{
    if (argc != 4)
        usage();
    const char *mode = argv[1];
    if (strcmp(mode, "close") && strcmp(mode, "abort") && strcmp(mode, "hold"))
        usage();
    struct sockaddr_in addr = {.sin_family = AF_INET};
    if (inet_pton(AF_INET, argv[2], &addr.sin_addr) != 1) {
        fprintf(stderr, "bad IPv4 address '%s'\n", argv[2]);
        return 2;
    }
    addr.sin_port = htons((uint16_t)sample_port(argv[3]));
    sample_begin("server");

    int lfd = server_listen(&addr);
    if (lfd < 0)
        return 1;
    int fd = server_accept(lfd);
    if (fd < 0)
        return 1;
    int rc;
    if (strcmp(mode, "close") == 0)
        rc = server_close_at_once(fd);
    else if (strcmp(mode, "abort") == 0)
        rc = server_abortive_close(fd);
    else
        rc = server_hold(fd);
    close(lfd);
    return rc < 0 ? 1 : 0;
}
