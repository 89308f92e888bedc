/* t_lifecycle.c: one clean TCP conversation (connect, write, read, shutdown, EOF, close) against a
 * forked server. */
#define _GNU_SOURCE
#include "t_util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* The server child: accept, read 10, answer 5, read until EOF, close. */
__attribute__((noinline)) void serve_one(int lfd)
{
    char buf[64];
    int c = accept(lfd, NULL, NULL);
    if (c < 0)
        _exit(TU_SETUP_FAILED);
    if (tu_read_exactly(c, buf, 10) != 0)
        _exit(TU_SETUP_FAILED);
    if (write(c, "hello", 5) != 5)
        _exit(TU_SETUP_FAILED);
    while (read(c, buf, sizeof(buf)) > 0)
        ;
    close(c);
    close(lfd);
    _exit(0);
}

__attribute__((noinline)) void client_conversation(int fd)
{
    char buf[64];
    if (write(fd, "0123456789", 10) != 10)
        tu_die("write");
    size_t got = 0;
    while (got < 5) {
        ssize_t n = recv(fd, buf, 5 - got, 0);
        if (n <= 0)
            tu_die("recv");
        got += (size_t)n;
    }
    tu_out("shutdown ret=%d\n", shutdown(fd, SHUT_WR));
    ssize_t n = read(fd, buf, sizeof(buf));
    tu_out("read at eof ret=%zd\n", n);
    tu_out("close ret=%d\n", close(fd));
}

int main(void)
{
    int port;
    int lfd = tu_listener(AF_INET, &port);
    pid_t server = fork();
    if (server < 0)
        tu_die("fork");
    if (server == 0)
        serve_one(lfd);
    close(lfd);
    int fd = tu_connect(AF_INET, port);
    tu_out("conn fd=%d port=%d server=%d\n", fd, port, (int)server);
    client_conversation(fd);
    int status;
    waitpid(server, &status, 0);
    tu_out("server status=%d\n", status);
    return 0;
}
