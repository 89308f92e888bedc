/* bench_errcost.c: times calls that fail on reset TCP connections, each made 40 frames deep so a
 * logged error carries a full 32-frame backtrace. Prints the median nanoseconds per failing call.
 *   bench_errcost reset K   read once on each of K connections the peer reset: ECONNRESET each
 *   bench_errcost epipe N   write N times on one reset connection: EPIPE each (SIGPIPE ignored) */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DEPTH 40
#define ROUNDS 5

static void die(const char *what)
{
    fprintf(stderr, "bench_errcost: %s: %s\n", what, strerror(errno));
    exit(2);
}

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The failing call, DEPTH frames below the measuring loop. */
__attribute__((noinline)) static int fail_deep(int depth, int fd, int do_write)
{
    if (depth > 0) {
        int r = fail_deep(depth - 1, fd, do_write);
        __asm__ volatile("" ::: "memory"); /* no tail call: every frame stays on the stack */
        return r;
    }
    char c = 'x';
    ssize_t r = do_write ? write(fd, &c, 1) : read(fd, &c, 1);
    return r < 0 ? errno : 0;
}

/* A client connection whose peer has answered with an RST (SO_LINGER 0 close). */
static int reset_conn(int l, const struct sockaddr_in *sa)
{
    struct linger lg = {1, 0};
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (c < 0 || connect(c, (const struct sockaddr *)sa, sizeof *sa))
        die("connect");
    int s = accept(l, NULL, NULL);
    if (s < 0)
        die("accept");
    if (setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) || close(s))
        die("linger close");
    return c;
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    struct rlimit rl;
    long long per[ROUNDS];
    if (argc != 3 || (strcmp(argv[1], "reset") && strcmp(argv[1], "epipe"))) {
        fprintf(stderr, "usage: bench_errcost reset|epipe COUNT\n");
        return 2;
    }
    int do_write = !strcmp(argv[1], "epipe");
    long n = atol(argv[2]);
    signal(SIGPIPE, SIG_IGN);
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    int l = socket(AF_INET, SOCK_STREAM, 0);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof sa) || listen(l, 128) ||
        getsockname(l, (struct sockaddr *)&sa, &sl))
        die("listen");
    int *fds = calloc((size_t)n, sizeof *fds);
    if (!fds)
        die("calloc");
    int want = do_write ? EPIPE : ECONNRESET;
    for (int round = 0; round < ROUNDS; round++) {
        long conns = do_write ? 1 : n;
        for (long i = 0; i < conns; i++)
            fds[i] = reset_conn(l, &sa);
        if (do_write && fail_deep(0, fds[0], 1) != ECONNRESET) /* the RST is reported once */
            die("first write after the reset did not fail with ECONNRESET");
        long long t0 = now_ns();
        for (long i = 0; i < n; i++) {
            int err = fail_deep(DEPTH, fds[do_write ? 0 : i], do_write);
            if (err != want) {
                fprintf(stderr, "bench_errcost: call %ld: errno %s, expected %s\n", i,
                        strerrorname_np(err) ? strerrorname_np(err) : "0", strerrorname_np(want));
                return 1;
            }
        }
        per[round] = (now_ns() - t0) / n;
        for (long i = 0; i < conns; i++)
            close(fds[i]);
    }
    qsort(per, ROUNDS, sizeof per[0], cmp_ll);
    printf("%lld\n", per[ROUNDS / 2]);
    return 0;
}
