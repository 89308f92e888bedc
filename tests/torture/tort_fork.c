/* tort_fork.c: forks N children at once; each writes on a socket whose peer it has closed and meets
 * EPIPE (SIGPIPE ignored), then exits 0. Prints "child PID" per child and "parent PID". */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int child(void)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
        return 99;
    close(sv[1]);
    if (write(sv[0], "x", 1) != -1 || errno != EPIPE)
        return 1;
    close(sv[0]);
    return 0;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 100, bad = 0;
    signal(SIGPIPE, SIG_IGN);
    printf("parent %d\n", (int)getpid());
    fflush(stdout);
    pid_t *pids = calloc((size_t)n, sizeof *pids);
    for (int i = 0; i < n; i++) {
        pids[i] = fork();
        if (pids[i] < 0) {
            perror("tort_fork: fork");
            return 99;
        }
        if (pids[i] == 0)
            _exit(child());
    }
    for (int i = 0; i < n; i++) {
        int st;
        if (waitpid(pids[i], &st, 0) != pids[i] || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "tort_fork: child %d failed (status %#x)\n", (int)pids[i], st);
            bad = 1;
        }
        printf("child %d\n", (int)pids[i]);
    }
    return bad;
}
