/* bench_calls.c: N write+read pairs of 64 bytes on a socketpair, for callgrind's instruction count.
 * Only rsw_bench_measured() is counted (--toggle-collect): the first calls on each fd, where the
 * preload classifies it, happen before, in the warm-up. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static int pairs(int wfd, int rfd, long n)
{
    char buf[64] = {0};
    int bad = 0;
    for (long i = 0; i < n; i++) {
        bad |= write(wfd, buf, sizeof buf) != (ssize_t)sizeof buf;
        bad |= read(rfd, buf, sizeof buf) != (ssize_t)sizeof buf;
    }
    return bad;
}

/* Two copies of the loop, so that only the second one is counted. */
__attribute__((noinline)) int rsw_bench_warmup(int wfd, int rfd, long n)
{
    return pairs(wfd, rfd, n);
}

__attribute__((noinline)) int rsw_bench_measured(int wfd, int rfd, long n)
{
    return pairs(wfd, rfd, n);
}

int main(int argc, char **argv)
{
    int sv[2];
    long n = argc > 1 ? atol(argv[1]) : 10000;
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) {
        perror("bench_calls: socketpair");
        return 2;
    }
    if (rsw_bench_warmup(sv[0], sv[1], 16) || rsw_bench_measured(sv[0], sv[1], n)) {
        fprintf(stderr, "bench_calls: a write or read moved fewer than 64 bytes\n");
        return 1;
    }
    return 0;
}
