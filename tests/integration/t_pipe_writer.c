/* t_pipe_writer.c: writes to stdout forever (write(2) or stdio), to be run as `t_pipe_writer | head
 * -c1`. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Writes 4096-byte blocks to fd 1 with write(2); dies of SIGPIPE once the reader has gone. */
__attribute__((noinline)) int write_to_pipe_forever(void)
{
    static char block[4096];
    memset(block, 'y', sizeof(block));
    for (int i = 0; i < 100000; i++)
        if (write(1, block, sizeof(block)) < 0)
            return 1;
    return 3;
}

/* The same through stdio: the failing write(2) is made inside libc, which no hook sees. */
__attribute__((noinline)) int print_to_pipe_forever(void)
{
    for (int i = 0; i < 100000; i++)
        if (fputs("yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\n",
                  stdout) < 0 ||
            fflush(stdout) != 0)
            return 1;
    return 3;
}

/* One write far larger than the pipe: it blocks, the reader leaves, and the kernel ends it with
 * a short count (what was copied) and a SIGPIPE, not with EPIPE. */
__attribute__((noinline)) int write_one_huge_block(void)
{
    static char block[1 << 20];
    memset(block, 'y', sizeof(block));
    return write(1, block, sizeof(block)) < 0 ? 1 : 3;
}

static volatile sig_atomic_t handled;
static void on_sigpipe(int sig)
{
    (void)sig;
    handled++;
}

/* SIGPIPE sent with kill(), not by a write: the log must not blame any fd. */
__attribute__((noinline)) int kill_myself_with_sigpipe(void)
{
    signal(SIGPIPE, on_sigpipe);
    kill(getpid(), SIGPIPE);
    printf("handled=%d\n", (int)handled);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "stdio"))
        return print_to_pipe_forever();
    if (argc > 1 && !strcmp(argv[1], "huge"))
        return write_one_huge_block();
    if (argc > 1 && !strcmp(argv[1], "kill"))
        return kill_myself_with_sigpipe();
    return write_to_pipe_forever();
}
