/* unix_epipe.c: a UNIX-socket client writes after its server closed: EPIPE at once, no RST. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sample_common.h"

#define BLOCK_SIZE 5000

SAMPLE_STEP int unix_server_listen(const struct sockaddr_un *addr)
{
    int fd = (int)SAMPLE_CALL(socket(AF_UNIX, SOCK_STREAM, 0), "socket(AF_UNIX, SOCK_STREAM)");
    if (fd < 0)
        return -1;
    if (SAMPLE_CALL(bind(fd, (const struct sockaddr *)addr, sizeof *addr), "bind(fd %d, %s)", fd,
                    addr->sun_path) < 0 ||
        SAMPLE_CALL(listen(fd, 8), "listen(fd %d, 8)", fd) < 0)
        return -1;
    return fd;
}

SAMPLE_STEP int unix_server_accept_and_close(int lfd)
{
    int fd = (int)SAMPLE_CALL(accept(lfd, NULL, NULL), "accept(fd %d)", lfd);
    if (fd < 0)
        return -1;
    return (int)SAMPLE_CALL(close(fd), "close(fd %d) without reading", fd);
}

SAMPLE_STEP int unix_client_connect(const struct sockaddr_un *addr)
{
    int fd = (int)SAMPLE_CALL(socket(AF_UNIX, SOCK_STREAM, 0), "socket(AF_UNIX, SOCK_STREAM)");
    if (fd < 0)
        return -1;
    if (SAMPLE_CALL(connect(fd, (const struct sockaddr *)addr, sizeof *addr), "connect(fd %d, %s)",
                    fd, addr->sun_path) < 0)
        return -1;
    return fd;
}

/* read() returns 0 once the server has closed; the write after that fails at once with EPIPE:
 * a UNIX socket knows its peer is gone, there is no send buffer that "accepts" the data first. */
SAMPLE_STEP int unix_client_write_after_eof(int fd)
{
    char buf[BLOCK_SIZE];
    SAMPLE_CALL(read(fd, buf, sizeof buf), "read(fd %d, %d B)", fd, BLOCK_SIZE);
    memset(buf, 'x', sizeof buf);
    return (int)SAMPLE_CALL(write(fd, buf, sizeof buf), "write(fd %d, %d B)", fd, BLOCK_SIZE);
}

int main(void)
{
    sample_begin("client");
    const char *tmp = getenv("TMPDIR");
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    char dir[sizeof addr.sun_path - sizeof "/sock"];
    int len = snprintf(dir, sizeof dir, "%s/rstwatch-unix.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (len < 0 || (size_t)len >= sizeof dir) {
        fprintf(stderr, "TMPDIR is too long for a UNIX socket path\n");
        return 1;
    }
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    memcpy(addr.sun_path, dir, (size_t)len);
    memcpy(addr.sun_path + len, "/sock", sizeof "/sock");

    int lfd = unix_server_listen(&addr);
    if (lfd < 0)
        return 1;
    pid_t child = fork();
    if (child < 0) {
        perror("fork");
        return 1;
    }
    if (child == 0) {
        sample_set_role("server");
        _exit(unix_server_accept_and_close(lfd) < 0 ? 1 : 0);
    }
    close(lfd);
    sample_say("forked server pid %d", (int)child);
    SAMPLE_CALL(signal(SIGPIPE, SIG_IGN) == SIG_ERR ? -1 : 0, "signal(SIGPIPE, SIG_IGN)");

    int rc = 1;
    int fd = unix_client_connect(&addr);
    if (fd >= 0) {
        rc = unix_client_write_after_eof(fd) < 0 ? 1 : 0;
        SAMPLE_CALL(close(fd), "close(fd %d)", fd);
    }
    waitpid(child, NULL, 0);
    unlink(addr.sun_path);
    rmdir(dir);
    return rc;
}
