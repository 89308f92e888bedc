/* bench_net.c: the hot-path workloads timed by the benchmark: TCP and UNIX ping-pong, TCP bulk. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define MSG 64
#define BULK_CHUNK 65536

static void die(const char *what)
{
    fprintf(stderr, "bench_net: %s: %s\n", what, strerror(errno));
    exit(2);
}

/* Reads exactly n bytes; 0 on success, -1 on EOF or error. */
static int read_full(int fd, char *buf, size_t n)
{
    while (n > 0) {
        ssize_t r = read(fd, buf, n);
        if (r <= 0) {
            if (r < 0 && errno == EINTR)
                continue;
            return -1;
        }
        buf += r;
        n -= (size_t)r;
    }
    return 0;
}

static int write_full(int fd, const char *buf, size_t n)
{
    while (n > 0) {
        ssize_t r = write(fd, buf, n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        buf += r;
        n -= (size_t)r;
    }
    return 0;
}

/* The side that starts each round trip: write 64 bytes, wait for the 64-byte answer. */
static void ping(int fd, long rounds)
{
    char buf[MSG];
    memset(buf, 'p', sizeof buf);
    for (long i = 0; i < rounds; i++)
        if (write_full(fd, buf, MSG) || read_full(fd, buf, MSG))
            die("ping");
}

static void pong(int fd, long rounds)
{
    char buf[MSG];
    for (long i = 0; i < rounds; i++)
        if (read_full(fd, buf, MSG) || write_full(fd, buf, MSG))
            die("pong");
}

static int tcp_listener(struct sockaddr_in *sa)
{
    socklen_t sl = sizeof *sa;
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (l < 0)
        die("socket");
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(l, (struct sockaddr *)sa, sizeof *sa) || listen(l, 4) ||
        getsockname(l, (struct sockaddr *)sa, &sl))
        die("listen");
    return l;
}

static int tcp_connect(const struct sockaddr_in *sa)
{
    int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (const struct sockaddr *)sa, sizeof *sa))
        die("connect");
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static int tcp_accept(int l)
{
    int one = 1, fd = accept(l, NULL, NULL);
    if (fd < 0)
        die("accept");
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    close(l);
    return fd;
}

static int wait_child(pid_t pid)
{
    int st;
    if (waitpid(pid, &st, 0) != pid)
        die("waitpid");
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}

static int tcp_pingpong(long rounds)
{
    struct sockaddr_in sa;
    int l = tcp_listener(&sa);
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        close(l);
        int fd = tcp_connect(&sa);
        ping(fd, rounds);
        close(fd);
        _exit(0);
    }
    int fd = tcp_accept(l);
    pong(fd, rounds);
    close(fd);
    return wait_child(pid);
}

static int unix_pingpong(long rounds)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
        die("socketpair");
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        close(sv[1]);
        ping(sv[0], rounds);
        close(sv[0]);
        _exit(0);
    }
    close(sv[0]);
    pong(sv[1], rounds);
    close(sv[1]);
    return wait_child(pid);
}

static int tcp_bulk(long long bytes)
{
    static char buf[BULK_CHUNK];
    struct sockaddr_in sa;
    int l = tcp_listener(&sa);
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        close(l);
        int fd = tcp_connect(&sa);
        memset(buf, 'b', sizeof buf);
        for (long long left = bytes; left > 0; left -= BULK_CHUNK)
            if (write_full(fd, buf, left < BULK_CHUNK ? (size_t)left : BULK_CHUNK))
                die("bulk write");
        close(fd);
        _exit(0);
    }
    int fd = tcp_accept(l);
    long long got = 0;
    for (;;) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            die("bulk read");
        if (r == 0)
            break;
        got += r;
    }
    close(fd);
    if (got != bytes) {
        fprintf(stderr, "bench_net: bulk: received %lld of %lld bytes\n", got, bytes);
        return 1;
    }
    return wait_child(pid);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: bench_net tcp-pingpong|unix-pingpong ROUNDS | tcp-bulk BYTES\n");
        return 2;
    }
    long long n = atoll(argv[2]);
    if (!strcmp(argv[1], "tcp-pingpong"))
        return tcp_pingpong((long)n);
    if (!strcmp(argv[1], "unix-pingpong"))
        return unix_pingpong((long)n);
    if (!strcmp(argv[1], "tcp-bulk"))
        return tcp_bulk(n);
    fprintf(stderr, "bench_net: unknown workload %s\n", argv[1]);
    return 2;
}
