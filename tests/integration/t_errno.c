/* t_errno.c: prints the return value and errno of every hooked call in many situations; run with
 * and without the preload, the output must match. */
#define _GNU_SOURCE
#include "t_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/* One output line per call: "<what> call=<function> ret=<return> errno=<name>". */
#define CALL(what, fn, expr)                                                                       \
    do {                                                                                           \
        errno = 0;                                                                                 \
        long r_ = (long)(expr);                                                                    \
        int e_ = r_ < 0 ? errno : 0;                                                               \
        tu_out("%s call=%s ret=%ld errno=%s\n", what, fn, r_, tu_errname(e_));                     \
    } while (0)

static volatile sig_atomic_t sigpipes;

static void count_sigpipe(int sig)
{
    (void)sig;
    sigpipes++;
}

static void so_error(const char *what, int fd)
{
    int err = -1;
    socklen_t len = sizeof(err);
    errno = 0;
    int r = getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    tu_out("%s call=getsockopt ret=%d errno=%s so_error=%s\n", what, r,
           tu_errname(r < 0 ? errno : 0), tu_errname(err));
}

static void tcp_refusals(void)
{
    int holder;
    int port = tu_refusing_port(AF_INET, &holder);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CALL("refused blocking", "connect", connect(fd, (struct sockaddr *)&sa, sizeof(sa)));
    so_error("after refused blocking", fd);
    CALL("close refused", "close", close(fd));

    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    CALL("refused non-blocking", "connect", connect(fd, (struct sockaddr *)&sa, sizeof(sa)));
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    tu_out("poll ret=%d\n", poll(&p, 1, 5000));
    so_error("pending outcome", fd);
    so_error("second query", fd);
    CALL("close non-blocking", "close", close(fd));
    close(holder);

    int h6;
    int p6 = tu_refusing_port(AF_INET6, &h6);
    if (p6 < 0) {
        tu_out("ipv6 unavailable\n");
        return;
    }
    struct sockaddr_in6 s6 = {
        .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)p6), .sin6_addr = in6addr_loopback};
    fd = socket(AF_INET6, SOCK_STREAM, 0);
    CALL("refused ipv6", "connect", connect(fd, (struct sockaddr *)&s6, sizeof(s6)));
    close(fd);
    close(h6);
}

/* Peer: read 10, answer 5, wait for 2 more, then reset (SO_LINGER {1,0}). */
static void resetting_peer(int lfd)
{
    char buf[16];
    int c = accept(lfd, NULL, NULL);
    size_t got = 0;
    while (c >= 0 && got < 10) {
        ssize_t n = read(c, buf, 10 - got);
        if (n <= 0)
            _exit(TU_SETUP_FAILED);
        got += (size_t)n;
    }
    if (c < 0 || write(c, "hello", 5) != 5 || read(c, buf, 2) != 2)
        _exit(TU_SETUP_FAILED);
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(c);
    _exit(0);
}

static void tcp_after_reset(void)
{
    int port;
    int lfd = tu_listener(AF_INET, &port);
    pid_t peer = fork();
    if (peer == 0)
        resetting_peer(lfd);
    close(lfd);
    int fd = tu_connect(AF_INET, port);
    char buf[64], b1[2], b2[8];
    memset(buf, 'x', sizeof(buf));
    CALL("before reset", "write", write(fd, buf, 10));
    struct iovec iv[2] = {{b1, sizeof(b1)}, {b2, 3}};
    size_t got = 0;
    while (got < 5) { /* the 5 bytes may come in pieces */
        ssize_t n = readv(fd, iv, 2);
        if (n <= 0)
            break;
        got += (size_t)n;
        iv[0].iov_len = 0;
        iv[1].iov_base = b2 + (got > 2 ? got - 2 : 0);
        iv[1].iov_len = 5 - got;
    }
    tu_out("readv total=%zu\n", got);
    CALL("before reset", "send", send(fd, "go", 2, 0));
    int status;
    waitpid(peer, &status, 0);
    tu_out("peer exited=%d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);

    CALL("after reset", "read", read(fd, buf, sizeof(buf)));
    CALL("after reset, again", "read", read(fd, buf, sizeof(buf)));
    CALL("after reset", "recv", recv(fd, buf, sizeof(buf), 0));
    CALL("after reset", "recvfrom", recvfrom(fd, buf, sizeof(buf), 0, NULL, NULL));
    struct iovec one = {buf, sizeof(buf)};
    struct msghdr mh = {.msg_iov = &one, .msg_iovlen = 1};
    CALL("after reset", "recvmsg", recvmsg(fd, &mh, 0));
    CALL("after reset", "write", write(fd, buf, 10));
    tu_out("sigpipes=%d\n", (int)sigpipes);
    CALL("after reset, MSG_NOSIGNAL", "send", send(fd, buf, 10, MSG_NOSIGNAL));
    CALL("after reset, MSG_NOSIGNAL", "sendto", sendto(fd, buf, 10, MSG_NOSIGNAL, NULL, 0));
    CALL("after reset, MSG_NOSIGNAL", "sendmsg", sendmsg(fd, &mh, MSG_NOSIGNAL));
    tu_out("sigpipes=%d\n", (int)sigpipes);
    struct iovec two[2] = {{buf, 4}, {buf + 4, 4}};
    CALL("after reset", "writev", writev(fd, two, 2));
    tu_out("sigpipes=%d\n", (int)sigpipes);
    int src = open("t_errno.data", O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (src < 0 || write(src, "abcdefgh", 8) != 8 || lseek(src, 0, SEEK_SET) != 0)
        tu_die("t_errno.data");
    CALL("after reset", "sendfile", sendfile(fd, src, NULL, 8));
    tu_out("sigpipes=%d\n", (int)sigpipes);
    close(src);
    int pp[2];
    if (pipe(pp) != 0 || write(pp[1], "splice!!", 8) != 8)
        tu_die("pipe");
    CALL("after reset, from a pipe", "splice", splice(pp[0], NULL, fd, NULL, 8, 0));
    tu_out("sigpipes=%d\n", (int)sigpipes);
    close(pp[0]);
    close(pp[1]);
    CALL("after reset", "shutdown", shutdown(fd, SHUT_RDWR));
    so_error("after reset", fd);
    CALL("after reset", "close", close(fd));
    CALL("closed fd", "close", close(fd));
    CALL("closed fd", "read", read(fd, buf, 1));
}

static void unix_and_pipes(void)
{
    int sp[2];
    char buf[16];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) < 0)
        tu_die("socketpair");
    CALL("socketpair", "write", write(sp[0], "abc", 3));
    CALL("socketpair", "close",
         close(sp[1])); /* closed with unread data: the other end sees a reset */
    CALL("socketpair peer closed unread", "read", read(sp[0], buf, sizeof(buf)));
    CALL("socketpair peer gone", "read", read(sp[0], buf, sizeof(buf)));
    CALL("socketpair peer gone", "write", write(sp[0], "abc", 3));
    tu_out("sigpipes=%d\n", (int)sigpipes);
    CALL("socketpair peer gone, MSG_NOSIGNAL", "send", send(sp[0], "abc", 3, MSG_NOSIGNAL));
    CALL("socketpair", "close", close(sp[0]));

    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof(sun.sun_path), "t_errno.sock");
    unlink(sun.sun_path);
    int holder = socket(AF_UNIX, SOCK_STREAM, 0);
    if (bind(holder, (struct sockaddr *)&sun, sizeof(sun)) < 0)
        tu_die("bind unix");
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    CALL("unix not listening", "connect", connect(fd, (struct sockaddr *)&sun, sizeof(sun)));
    close(fd);
    close(holder);
    unlink(sun.sun_path);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    CALL("unix no such path", "connect", connect(fd, (struct sockaddr *)&sun, sizeof(sun)));
    close(fd);

    int pp[2];
    if (pipe(pp) < 0)
        tu_die("pipe");
    CALL("pipe", "write", write(pp[1], "abc", 3));
    CALL("pipe", "read", read(pp[0], buf, sizeof(buf)));
    CALL("pipe reader", "close", close(pp[0]));
    CALL("pipe no reader", "write", write(pp[1], "abc", 3));
    tu_out("sigpipes=%d\n", (int)sigpipes);
    CALL("pipe writer", "close", close(pp[1]));
}

static void other_fds(void)
{
    char buf[16];
    int port;
    int lfd = tu_listener(AF_INET, &port);
    fcntl(lfd, F_SETFL, O_NONBLOCK);
    CALL("nothing pending", "accept", accept(lfd, NULL, NULL));
    CALL("nothing pending", "accept4", accept4(lfd, NULL, NULL, SOCK_CLOEXEC));
    int c = tu_connect(AF_INET, port);
    CALL("connected twice", "connect",
         connect(c, (struct sockaddr *)&(struct sockaddr_in){.sin_family = AF_INET},
                 sizeof(struct sockaddr_in)));
    CALL("nothing to read", "recv", recv(c, buf, sizeof(buf), MSG_DONTWAIT));
    close(c);
    close(lfd);

    int f = open("t_errno.data", O_RDWR | O_CREAT | O_TRUNC, 0600);
    CALL("regular file", "write", write(f, "xyz", 3));
    lseek(f, 0, SEEK_SET);
    CALL("regular file", "read", read(f, buf, sizeof(buf)));
    CALL("regular file at end", "read", read(f, buf, sizeof(buf)));
    CALL("regular file", "getsockopt",
         getsockopt(f, SOL_SOCKET, SO_ERROR, &(int){0}, &(socklen_t){sizeof(int)}));
    CALL("regular file", "shutdown", shutdown(f, SHUT_RD));
    CALL("regular file", "close", close(f));
    CALL("bad fd", "close", close(9999));
    CALL("bad fd", "read", read(9999, buf, 1));
    CALL("bad fd", "write", write(9999, buf, 1));
    CALL("bad fd", "send", send(9999, buf, 1, 0));
    CALL("bad fd", "connect",
         connect(9999, (struct sockaddr *)&(struct sockaddr_in){.sin_family = AF_INET},
                 sizeof(struct sockaddr_in)));
    CALL("bad fd", "splice", splice(9999, NULL, 9998, NULL, 1, 0));
    CALL("bad fd", "syscall", syscall(SYS_close, 9999));
    CALL("bad fd", "dup2", dup2(9999, 20));
    /* the highest fd numbers, which the library uses for libunwind's pipe only while it works */
    for (int hi = INT_MAX - 1; hi > 0; hi = hi == INT_MAX - 1 ? INT_MAX : -1) {
        tu_out("fd INT_MAX-%d:\n", INT_MAX - hi);
        CALL("top fd", "write", write(hi, "hello", 5));
        CALL("top fd", "read", read(hi, buf, sizeof(buf)));
        CALL("top fd", "readv", readv(hi, &(struct iovec){buf, 1}, 1));
        CALL("top fd", "send", send(hi, buf, 1, 0));
        CALL("top fd", "syscall write", syscall(SYS_write, hi, "hello", 5));
        CALL("top fd", "syscall read", syscall(SYS_read, hi, buf, 1));
        CALL("top fd", "close", close(hi));
        CALL("top fd", "syscall close", syscall(SYS_close, hi));
        CALL("top fd", "dup2", dup2(hi, 21));
    }
    unlink("t_errno.data");
}

int main(void)
{
    signal(SIGPIPE, count_sigpipe);
    tcp_refusals();
    tcp_after_reset();
    unix_and_pipes();
    other_fds();
    tu_out("done sigpipes=%d\n", (int)sigpipes);
    return 0;
}
