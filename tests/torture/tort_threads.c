/* tort_threads.c: many threads, many short TCP connections, to be run with resets injected.
 *   tort_threads serve                            echo server on 127.0.0.1:0; prints the port,
 *                                                 serves until stdin closes
 *   tort_threads client PORT THREADS CONNS SEED   each thread makes CONNS connections, each
 *                                                 echoing 1-4 random-sized messages; prints one
 *                                                 line per connection: "conn TID I FD IN OUT ERRNO
 * OP" IN/OUT are the bytes the program actually moved (sums of successful read/write returns); a
 * call that fails ends the connection (ERRNO is its errno name, 0 when none failed; OP the failed
 * call: read or write, - when none). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_MSG 2000

static int port, conns_per_thread;
static unsigned seed;

struct result {
    int fd;
    unsigned long long in, out;
    int err;
    const char *op; /* the call that failed */
};

struct worker {
    pthread_t th;
    int idx, tid;
    struct result *res;
};

static unsigned next_rand(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

/* Moves exactly n bytes (write or read); counts what moved; -1 with errno on failure or EOF. */
static int xfer(int fd, char *buf, size_t n, int out, unsigned long long *count)
{
    while (n > 0) {
        ssize_t r = out ? write(fd, buf, n) : read(fd, buf, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r == 0)
                errno = 0; /* EOF */
            return -1;
        }
        *count += (unsigned long long)r;
        buf += r;
        n -= (size_t)r;
    }
    return 0;
}

static void *client_thread(void *arg)
{
    struct worker *w = arg;
    unsigned s = seed * 7919u + (unsigned)w->idx;
    char buf[MAX_MSG];
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    w->tid = gettid();
    for (int i = 0; i < conns_per_thread; i++) {
        struct result *r = &w->res[i];
        memset(r, 0, sizeof *r);
        r->fd = socket(AF_INET, SOCK_STREAM, 0);
        if (r->fd < 0 || connect(r->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
            perror("tort_threads: connect");
            exit(99);
        }
        int rounds = 1 + (int)(next_rand(&s) % 4);
        for (int k = 0; k < rounds; k++) {
            size_t n = 1 + next_rand(&s) % MAX_MSG;
            memset(buf, 'a' + k, n);
            r->op = "write";
            if (xfer(r->fd, buf, n, 1, &r->out) ||
                (r->op = "read", xfer(r->fd, buf, n, 0, &r->in))) {
                r->err = errno ? errno : -1;
                break;
            }
            r->op = "-";
        }
        close(r->fd);
    }
    return NULL;
}

static int client(int nthreads)
{
    struct worker *w = calloc((size_t)nthreads, sizeof *w);
    for (int t = 0; t < nthreads; t++) {
        w[t].idx = t;
        w[t].res = calloc((size_t)conns_per_thread, sizeof *w[t].res);
        if (pthread_create(&w[t].th, NULL, client_thread, &w[t]))
            return 99;
    }
    for (int t = 0; t < nthreads; t++)
        pthread_join(w[t].th, NULL);
    for (int t = 0; t < nthreads; t++)
        for (int i = 0; i < conns_per_thread; i++) {
            struct result *r = &w[t].res[i];
            printf("conn %d %d %d %llu %llu %s %s\n", w[t].tid, i, r->fd, r->in, r->out,
                   r->err == 0  ? "0"
                   : r->err < 0 ? "EOF"
                                : strerrorname_np(r->err),
                   r->op);
        }
    return 0;
}

static int serve(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    struct epoll_event ev, evs[64];
    char buf[65536];
    int l = socket(AF_INET, SOCK_STREAM, 0), ep = epoll_create1(0);
    if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof sa) || listen(l, 512) ||
        getsockname(l, (struct sockaddr *)&sa, &sl) || ep < 0)
        return 99;
    printf("%d\n", ntohs(sa.sin_port));
    fflush(stdout);
    ev.events = EPOLLIN;
    ev.data.fd = l;
    epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
    ev.data.fd = 0;
    epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev);
    for (;;) {
        int n = epoll_wait(ep, evs, 64, -1);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == 0)
                return 0; /* the driver closed our stdin */
            if (fd == l) {
                int c = accept(l, NULL, NULL);
                if (c >= 0) {
                    ev.data.fd = c;
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
                }
                continue;
            }
            ssize_t r = read(fd, buf, sizeof buf);
            unsigned long long ignored = 0;
            if (r <= 0 || xfer(fd, buf, (size_t)r, 1, &ignored)) {
                epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
                close(fd);
            }
        }
    }
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "serve"))
        return serve();
    if (argc == 6 && !strcmp(argv[1], "client")) {
        port = atoi(argv[2]);
        conns_per_thread = atoi(argv[4]);
        seed = (unsigned)atoi(argv[5]);
        return client(atoi(argv[3]));
    }
    fprintf(stderr, "usage: tort_threads serve | client PORT THREADS CONNS SEED\n");
    return 2;
}
