/* ti_prog.c: the program the fault-injection tests run under librstwatch.so: connects, reads,
 * writes or serves as told and prints one "key=value" line per call it makes.
 *
 *   ti_prog connect TARGET [N] [nonblock]   N connects (closing each); nonblock: poll + SO_ERROR
 *   ti_prog read TARGET CHUNK               read CHUNK-byte pieces until one fails or sees EOF,
 *                                           then once more, then a write (MSG_NOSIGNAL)
 *   ti_prog write TARGET N [nosignal]       N writes of 100 bytes (send(MSG_NOSIGNAL) if asked)
 *   ti_prog serve                           accept one connection on 127.0.0.1:0, then as read
 *
 * TARGET: 127.0.0.1:PORT, [::1]:PORT or a UNIX path. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static void out(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fflush(stdout);
}

static const char *ename(int e)
{
    return e ? strerrorname_np(e) : "0";
}

static void die(const char *what)
{
    fprintf(stderr, "ti_prog: %s: %s\n", what, strerror(errno));
    exit(99);
}

static long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

static socklen_t parse_target(const char *t, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (t[0] == '/') {
        struct sockaddr_un *un = (struct sockaddr_un *)ss;
        un->sun_family = AF_UNIX;
        snprintf(un->sun_path, sizeof un->sun_path, "%s", t);
        return sizeof *un;
    }
    char host[64];
    const char *colon = strrchr(t, ':');
    if (!colon || (size_t)(colon - t) >= sizeof host)
        exit(99);
    memcpy(host, t, (size_t)(colon - t));
    host[colon - t] = 0;
    int port = atoi(colon + 1);
    if (host[0] == '[') {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        host[strlen(host) - 1] = 0;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host + 1, &a->sin6_addr) != 1)
            exit(99);
        return sizeof *a;
    }
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
        exit(99);
    return sizeof *a;
}

/* One connect, reported; returns the fd if it connected, else -1. */
__attribute__((noinline)) static int connect_one(const char *target, int i, int nonblock)
{
    struct sockaddr_storage ss;
    socklen_t len = parse_target(target, &ss);
    int fd = socket(ss.ss_family, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0)
        die("socket");
    long t0 = now_ms();
    int r = connect(fd, (struct sockaddr *)&ss, len);
    int err = r < 0 ? errno : 0;
    if (!nonblock || err != EINPROGRESS) {
        out("connect i=%d fd=%d ret=%d errno=%s ms=%ld\n", i, fd, r, ename(err), now_ms() - t0);
    } else {
        struct pollfd p = {fd, POLLOUT, 0};
        int early = poll(&p, 1, 200); /* still in progress 200 ms later? */
        int n = early ? early : poll(&p, 1, 10000);
        int soerr = -1;
        socklen_t sl = sizeof soerr;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
        out("connect i=%d fd=%d ret=%d errno=%s early=%d poll=%d revents=0x%x so_error=%s ms=%ld\n",
            i, fd, r, ename(err), early, n, (unsigned)p.revents, ename(soerr), now_ms() - t0);
        r = soerr == 0 ? 0 : -1;
    }
    if (r != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Reads until a read fails or sees EOF; then one more read and a write, as a program would. */
__attribute__((noinline)) static void read_until_failure(int fd, size_t chunk)
{
    char buf[65536];
    size_t total = 0;
    if (chunk > sizeof buf)
        chunk = sizeof buf;
    for (;;) {
        long t0 = now_ms();
        ssize_t n = read(fd, buf, chunk);
        int err = n < 0 ? errno : 0;
        if (n > 0)
            total += (size_t)n;
        out("read ret=%zd errno=%s total=%zu ms=%ld\n", n, ename(err), total, now_ms() - t0);
        if (n <= 0)
            break;
    }
    ssize_t n = read(fd, buf, chunk);
    out("again ret=%zd errno=%s\n", n, ename(n < 0 ? errno : 0));
    n = send(fd, "x", 1, MSG_NOSIGNAL);
    out("write ret=%zd errno=%s\n", n, ename(n < 0 ? errno : 0));
}

__attribute__((noinline)) static void write_n(int fd, int n, int nosignal)
{
    char buf[100];
    memset(buf, 'w', sizeof buf);
    for (int i = 1; i <= n; i++) {
        ssize_t r = nosignal ? send(fd, buf, sizeof buf, MSG_NOSIGNAL) : write(fd, buf, sizeof buf);
        out("write i=%d ret=%zd errno=%s\n", i, r, ename(r < 0 ? errno : 0));
    }
}

static int serve(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof a;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) || listen(lfd, 4) ||
        getsockname(lfd, (struct sockaddr *)&a, &l))
        die("listen");
    out("listen port=%d\n", ntohs(a.sin_port));
    int fd = accept(lfd, NULL, NULL);
    out("accept fd=%d errno=%s\n", fd, ename(fd < 0 ? errno : 0));
    if (fd < 0)
        return 1;
    read_until_failure(fd, 1000);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "serve"))
        return serve();
    if (argc < 3)
        return 99;
    const char *mode = argv[1], *target = argv[2];
    if (!strcmp(mode, "connect")) {
        int n = argc > 3 ? atoi(argv[3]) : 1;
        int nonblock = argc > 4 && !strcmp(argv[4], "nonblock");
        for (int i = 1; i <= n; i++) {
            int fd = connect_one(target, i, nonblock);
            if (fd >= 0)
                close(fd);
        }
        return 0;
    }
    int fd = connect_one(target, 1, 0);
    if (fd < 0)
        return 98;
    if (!strcmp(mode, "read"))
        read_until_failure(fd, argc > 3 ? (size_t)atol(argv[3]) : 1000);
    else if (!strcmp(mode, "write"))
        write_n(fd, argc > 3 ? atoi(argv[3]) : 3, argc > 4 && !strcmp(argv[4], "nosignal"));
    else
        return 99;
    close(fd);
    return 0;
}
