/* t_reset.c: read after the peer reset the connection (SO_LINGER {1,0} close): -1 ECONNRESET. */
#define _GNU_SOURCE
#include "t_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* The peer: accept, read the client's 100 bytes, answer 50, wait for the client's "go", reset. */
static void resetting_peer(int lfd)
{
    char buf[256];
    int c = accept(lfd, NULL, NULL);
    if (c < 0)
        _exit(TU_SETUP_FAILED);
    if (tu_read_exactly(c, buf, 100) != 0)
        _exit(TU_SETUP_FAILED);
    memset(buf, 'y', 50);
    if (write(c, buf, 50) != 50)
        _exit(TU_SETUP_FAILED);
    if (read(c, buf, 2) != 2)
        _exit(TU_SETUP_FAILED);
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(c);
    _exit(0);
}

/* The read that meets the reset; how_much is not a constant so a fortified build calls __read_chk.
 */
__attribute__((noinline)) ssize_t read_after_reset(int fd, size_t how_much, int use_recv)
{
    char buf[64];
    ssize_t n = use_recv ? recv(fd, buf, how_much, 0) : read(fd, buf, how_much);
    int e = n < 0 ? errno : 0;
    tu_out("%s ret=%zd errno=%s\n", use_recv ? "recv" : "read", n, tu_errname(e));
    return n;
}

int main(int argc, char **argv)
{
    int use_recv = argc > 1 && !strcmp(argv[1], "recv");
    size_t how_much = argc > 2 ? (size_t)atoi(argv[2]) : 64;
    int port;
    int lfd = tu_listener(AF_INET, &port);
    pid_t peer = fork();
    if (peer < 0)
        tu_die("fork");
    if (peer == 0)
        resetting_peer(lfd);
    close(lfd);
    int fd = tu_connect(AF_INET, port);
    tu_out("conn fd=%d port=%d peer_pid=%d\n", fd, port, (int)peer);
    char buf[100];
    memset(buf, 'x', sizeof(buf));
    if (write(fd, buf, 100) != 100)
        tu_die("write 100");
    if (tu_read_exactly(fd, buf, 50) != 0)
        tu_die("read 50");
    if (write(fd, "go", 2) != 2)
        tu_die("write go");
    int status;
    if (waitpid(peer, &status, 0) != peer || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        errno = ECHILD;
        tu_die("resetting peer");
    }
    read_after_reset(fd, how_much, use_recv);
    close(fd);
    return 0;
}
