/* t_daemon.c: a daemon-like program closes every fd 3..1023 and dup2()s a file over all of them,
 * then meets an error. */
#define _GNU_SOURCE
#include "t_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define LAST_FD 1023

static int close_everything(int use_close_range)
{
    if (use_close_range)
        return close_range(3, ~0U, 0) == 0 ? -1 : -2;
    int ok = 0;
    for (int fd = 3; fd <= LAST_FD; fd++)
        if (close(fd) == 0)
            ok++;
    return ok;
}

/* Connects from the highest fd to a closed port while every lower fd is the program's own file. */
__attribute__((noinline)) void refused_from_high_fd(void)
{
    int holder;
    int port = tu_refusing_port(AF_INET, &holder);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    int e = r < 0 ? errno : 0;
    tu_out("holder fd=%d socket fd=%d connect ret=%d errno=%s\n", holder, fd, r, tu_errname(e));
    tu_out("port=%d\n", port);
    close(fd);
    close(holder);
}

/* An fd far above 65536: the library's fd table must reach the process limit. */
static int high_fd(void)
{
    struct rlimit rl = {.rlim_cur = 1 << 20, .rlim_max = 1 << 20};
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0 &&
        (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_max < 70000 ||
         (rl.rlim_cur = rl.rlim_max, setrlimit(RLIMIT_NOFILE, &rl) < 0))) {
        fprintf(stderr,
                "t_daemon: RLIMIT_NOFILE cannot be raised above 70000 here (hard limit %lu)\n",
                (unsigned long)rl.rlim_max);
        return TU_SKIP;
    }
    int holder;
    int port = tu_refusing_port(AF_INET, &holder);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int high = (int)rl.rlim_cur - 1;
    if (dup2(fd, high) != high)
        tu_die("dup2 high");
    close(fd);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int r = connect(high, (struct sockaddr *)&sa, sizeof(sa));
    int e = r < 0 ? errno : 0;
    tu_out("high fd=%d port=%d connect ret=%d errno=%s\n", high, port, r, tu_errname(e));
    tu_out("close ret=%d\n", close(high));
    close(holder);
    return 0;
}

/* A socket dup2()ed onto fd 3 and 4 (as socket activation or a daemon's fd shuffling does), then an
 * error. */
__attribute__((noinline)) int socket_on_fd3(void)
{
    int holder;
    int port = tu_refusing_port(AF_INET, &holder);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int moved = holder == 3 ? -1 : dup2(s, 3);
    if (moved == 3) {
        dup2(s, 4);
        close(s);
        s = 3;
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int r = connect(s, (struct sockaddr *)&sa, sizeof(sa));
    int e = r < 0 ? errno : 0;
    tu_out("socket fd=%d port=%d connect ret=%d errno=%s\n", s, port, r, tu_errname(e));
    for (int fd = 3; fd <= 4; fd++) {
        struct stat st;
        tu_out("fd %d is a socket: %d\n", fd, fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode));
    }
    tu_out("close ret=%d\n", close(s));
    close(holder);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "high_fd"))
        return high_fd();
    if (argc > 1 && !strcmp(argv[1], "fd3"))
        return socket_on_fd3();
    int use_close_range = argc > 1 && !strcmp(argv[1], "close_range");
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < LAST_FD + 1) {
        fprintf(stderr, "t_daemon: RLIMIT_NOFILE %lu < %d\n", (unsigned long)rl.rlim_cur,
                LAST_FD + 1);
        return TU_SKIP;
    }
    tu_out("closed_ok=%d\n", close_everything(use_close_range));
    int file = open("app.out", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    tu_out("file fd=%d\n", file);
    int dups = 0;
    for (int fd = file + 1; fd <= LAST_FD - 2; fd++)
        if (dup2(file, fd) == fd)
            dups++;
    tu_out("dup2 ok=%d\n", dups);
    refused_from_high_fd();
    /* The program's own data through its own fds, then a check of what the file holds. */
    for (int fd = file; fd <= LAST_FD - 2; fd += 101)
        if (write(fd, "app\n", 4) != 4)
            tu_out("write fd=%d failed errno=%s\n", fd, tu_errname(errno));
    struct stat st;
    fstat(file, &st);
    tu_out("app.out size=%lld\n", (long long)st.st_size);
    return 0;
}
