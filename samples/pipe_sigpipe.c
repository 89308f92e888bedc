/* pipe_sigpipe.c: `app | head -c 5000` in one program: the writer outlives its reader, SIGPIPE. */
/* The writer emits one 5000-byte record every 20 ms, so it never fills the pipe (64 KiB) before the
 * reader is gone: a write blocked on a full pipe when the reader leaves returns the bytes it had
 * copied so far (a short count) and still raises SIGPIPE, which would blur the picture. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sample_common.h"

#define BLOCK_SIZE 5000
#define MAX_BLOCKS 100000
#define PACE_NS 20000000L /* 20 ms between records */

/* The reader, like `head -c 5000`: one block, then exit (which closes the read end). */
SAMPLE_STEP int pipe_reader_take_one(int fd)
{
    char buf[BLOCK_SIZE];
    long n = SAMPLE_CALL(read(fd, buf, sizeof buf), "read(fd %d, %d B)", fd, BLOCK_SIZE);
    SAMPLE_CALL(close(fd), "close(fd %d): the reader is done", fd);
    return n < 0 ? -1 : 0;
}

/* The writer: writes succeed while the pipe has room and a reader; once the reader is gone the
 * next write raises SIGPIPE, whose default action ends this process inside write(). */
SAMPLE_STEP int pipe_writer_loop(int fd)
{
    char buf[BLOCK_SIZE];
    memset(buf, 'x', sizeof buf);
    long total = 0;
    for (int i = 1; i <= MAX_BLOCKS; i++) {
        long n =
            SAMPLE_CALL(write(fd, buf, sizeof buf), "write #%d (fd %d, %d B)", i, fd, BLOCK_SIZE);
        if (n < 0) {
            sample_say("%ld B accepted by write() before it failed", total);
            return -1;
        }
        total += n;
        struct timespec pace = {0, PACE_NS};
        nanosleep(&pace, NULL);
    }
    return 0;
}

int main(void)
{
    sample_begin("writer");
    int fds[2];
    if (SAMPLE_CALL(pipe(fds), "pipe()") < 0)
        return 1;
    sample_say("read end fd %d, write end fd %d", fds[0], fds[1]);
    pid_t child = fork();
    if (child < 0) {
        perror("fork");
        return 1;
    }
    if (child == 0) {
        sample_set_role("reader");
        close(fds[1]);
        _exit(pipe_reader_take_one(fds[0]) < 0 ? 1 : 0);
    }
    close(fds[0]);
    sample_say("forked reader pid %d", (int)child);
    return pipe_writer_loop(fds[1]) < 0 ? 1 : 0;
}
