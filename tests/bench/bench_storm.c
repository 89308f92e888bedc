/* bench_storm.c: a reset storm. The server and the clients are separate processes, started apart by
 * the benchmark, so that only the server runs under the preload (or strace).
 *   bench_storm server SECONDS   listens on 127.0.0.1:0, prints "port P", then, from the first
 *                                accepted connection on for SECONDS, accepts and reads every
 *                                connection until its read fails (ECONNRESET) or ends; then prints
 *                                "resets R conns C eofs E others O elapsed_ns T" and exits(0).
 *   bench_storm client PORT      connects, sends 8 bytes, closes with SO_LINGER {1, 0} (an RST),
 *                                again and again, until the server stops listening; then prints
 *                                "connects N timeouts T" (T: connects given up, see client()).
 * One process for the server: non-blocking accept4 and read, epoll for the connections whose RST
 * has not arrived yet. Every connection of a client is reset, so resets = conns - eofs - others
 * unless the server stopped with some still open. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define BATCH 256

static void die(const char *what)
{
    fprintf(stderr, "bench_storm: %s: %s\n", what, strerror(errno));
    exit(2);
}

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long resets, conns, eofs, others, open_fds;

/* Reads fd until it would block (0: keep it), or until its read failed or ended (1: closed). */
static int drain(int fd)
{
    char buf[512];
    for (;;) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r > 0)
            continue;
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (r == 0)
            eofs++;
        else if (errno == ECONNRESET)
            resets++;
        else
            others++;
        close(fd);
        return 1;
    }
}

static int server(double seconds)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    struct epoll_event ev, evs[BATCH];
    int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof sa) || listen(l, 4096) ||
        getsockname(l, (struct sockaddr *)&sa, &sl))
        die("listen");
    int ep = epoll_create1(EPOLL_CLOEXEC);
    ev.events = EPOLLIN;
    ev.data.fd = l;
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev))
        die("epoll");
    printf("port %d\n", ntohs(sa.sin_port));
    fflush(stdout);
    long long t0 = 0, t1 = 0, span = (long long)(seconds * 1e9);
    while (!t0 || t1 - t0 < span) {
        int n = epoll_wait(ep, evs, BATCH, 100);
        if (n < 0 && errno != EINTR)
            die("epoll_wait");
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd != l) {
                if (drain(fd))
                    open_fds--; /* close() took it out of the epoll set */
                continue;
            }
            for (int k = 0; k < BATCH; k++) { /* then look at the clock again */
                int c = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (c < 0) {
                    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                        break;
                    if (errno == ECONNABORTED)
                        continue;
                    die("accept4");
                }
                if (!t0)
                    t0 = now_ns();
                conns++;
                if (drain(c))
                    continue;
                ev.events = EPOLLIN | EPOLLRDHUP;
                ev.data.fd = c;
                if (epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev))
                    die("epoll_ctl");
                open_fds++;
            }
        }
        if (t0)
            t1 = now_ns();
    }
    close(l); /* the clients' next connect is refused: they stop */
    printf("resets %ld conns %ld eofs %ld others %ld open %ld elapsed_ns %lld\n", resets, conns,
           eofs, others, open_fds, t1 - t0);
    return 0;
}

static int client(int port)
{
    struct sockaddr_in sa;
    struct linger lg = {1, 0};
    struct timeval syn_wait = {0, 50000};
    long done = 0, timeouts = 0;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((unsigned short)port);
    signal(SIGPIPE, SIG_IGN);
    /* The server must not fall behind: once its accept queue overflows, the kernel drops SYNs, and
     * a client would wait out the 1 s SYN retransmission while the CPUs idle. So the clients yield
     * to the server, and give up a connect after 50 ms (SO_SNDTIMEO bounds a blocking connect: it
     * then fails EINPROGRESS) to start again on a new socket: the server never saw that one. */
    errno = 0;
    if (nice(10) == -1 && errno)
        die("nice");
    for (;;) {
        int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c < 0 || setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &syn_wait, sizeof syn_wait))
            die("socket");
        if (connect(c, (struct sockaddr *)&sa, sizeof sa)) {
            if (errno == EINPROGRESS || errno == EALREADY) {
                timeouts++;
                close(c);
                continue;
            }
            if (errno != ECONNREFUSED && errno != ECONNRESET)
                die("connect");
            close(c);
            break; /* the server is done: it closed its listener */
        }
        /* A failed send means the server closed its listener with this connection still queued. */
        if (send(c, "storm!\r\n", 8, MSG_NOSIGNAL) != 8) {
            close(c);
            break;
        }
        if (setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg))
            die("SO_LINGER");
        close(c);
        done++;
    }
    printf("connects %ld timeouts %ld\n", done, timeouts);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "server"))
        return server(atof(argv[2]));
    if (argc == 3 && !strcmp(argv[1], "client"))
        return client(atoi(argv[2]));
    fprintf(stderr, "usage: bench_storm server SECONDS | client PORT\n");
    return 2;
}
