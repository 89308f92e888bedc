/* t_fork.c: a refused connect before fork, in the forked child, and after fork in the parent. */
#define _GNU_SOURCE
#include "t_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

__attribute__((noinline)) void refused_connect(const char *who, int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    int e = r < 0 ? errno : 0;
    tu_out("%s pid=%d fd=%d ret=%d errno=%s\n", who, (int)getpid(), fd, r, tu_errname(e));
    close(fd);
}

int main(void)
{
    int holder;
    int port = tu_refusing_port(AF_INET, &holder);
    tu_out("port=%d\n", port);
    refused_connect("parent-before", port);
    pid_t child = fork();
    if (child < 0)
        tu_die("fork");
    if (child == 0) {
        refused_connect("child", port);
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    tu_out("child=%d status=%d\n", (int)child, status);
    refused_connect("parent-after", port);
    close(holder);
    return 0;
}
