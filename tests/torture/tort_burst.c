/* tort_burst.c: an endless burst of EPIPE errors from one thread (SIGPIPE ignored), to be killed
 * with SIGKILL in the middle. Prints "ready" once ARGV[1] errors have been met. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    int sv[2];
    long ready_after = argc > 1 ? atol(argv[1]) : 100;
    signal(SIGPIPE, SIG_IGN);
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
        return 99;
    close(sv[1]);
    for (long n = 1;; n++) {
        if (write(sv[0], "x", 1) != -1 || errno != EPIPE) {
            fprintf(stderr, "tort_burst: write did not fail with EPIPE\n");
            return 1;
        }
        if (n == ready_after) {
            printf("ready\n");
            fflush(stdout);
        }
    }
}
