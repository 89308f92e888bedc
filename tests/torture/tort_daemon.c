/* tort_daemon.c: behaves like a daemon that trusts nothing it inherited: closes every fd from 0 to
 * its limit (MODE: loop of close(), close_range(), closefrom()), reopens stdio on /dev/null,
 * dup2()s a TCP connection onto fd 1 and /dev/null onto fd LIMIT*3/4, then meets an ECONNRESET on
 * fd 1. With "top", it also dup2()s /dev/null onto LIMIT-1, the highest fd it may use, before the
 * error. Prints to OUT every result and the state of the fds it used, so runs with and without
 * librstwatch.so can be compared line by line. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *en(int r, int err)
{
    return r < 0 ? strerrorname_np(err) : "0";
}

static void describe(FILE *out, int fd)
{
    struct stat st;
    int fl = fcntl(fd, F_GETFD);
    if (fl < 0) {
        fprintf(out, "fd %d: closed (%s)\n", fd, strerrorname_np(errno));
        return;
    }
    fstat(fd, &st);
    const char *kind = S_ISSOCK(st.st_mode)   ? "socket"
                       : S_ISCHR(st.st_mode)  ? "chr"
                       : S_ISREG(st.st_mode)  ? "file"
                       : S_ISFIFO(st.st_mode) ? "fifo"
                                              : "other";
    int type = 0;
    socklen_t tl = sizeof type;
    if (S_ISSOCK(st.st_mode))
        getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl);
    fprintf(out, "fd %d: %s cloexec=%d rdev=%#lx socktype=%d flags=%#x\n", fd, kind,
            !!(fl & FD_CLOEXEC), S_ISCHR(st.st_mode) ? (unsigned long)st.st_rdev : 0UL, type,
            (unsigned)fcntl(fd, F_GETFL));
}

int main(int argc, char **argv)
{
    struct rlimit rl;
    char buf[16];
    if (argc < 3) {
        fprintf(stderr, "usage: tort_daemon loop|range|closefrom OUT [top]\n");
        return 2;
    }
    getrlimit(RLIMIT_NOFILE, &rl);
    int limit = rl.rlim_cur > 65536 ? 65536 : (int)rl.rlim_cur, closed = 0, err = 0, r = 0;
    /* 1. close everything inherited, stdio included */
    if (!strcmp(argv[1], "loop")) {
        for (int fd = 0; fd < limit; fd++)
            closed += close(fd) == 0;
    } else if (!strcmp(argv[1], "range")) {
        r = close_range(0, ~0u, 0);
        err = errno;
    } else {
        closefrom(0);
    }
    /* 2. stdio on /dev/null, the report on the next free fd */
    int null = open("/dev/null", O_RDWR);
    int d1 = dup2(null, 1), d2 = dup2(null, 2);
    int ofd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    FILE *out = fdopen(ofd, "w");
    if (!out)
        return 99;
    setvbuf(out, NULL, _IOLBF, 0);
    fprintf(out, "close mode=%s closed=%d ret=%d errno=%s\n", argv[1], closed, r, en(r, err));
    fprintf(out, "open /dev/null=%d dup2 1=%d dup2 2=%d out=%d\n", null, d1, d2, ofd);
    /* 3. a connection, moved onto fd 1 */
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    int l = socket(AF_INET, SOCK_STREAM, 0);
    if (bind(l, (struct sockaddr *)&sa, sizeof sa) || listen(l, 1) ||
        getsockname(l, (struct sockaddr *)&sa, &sl))
        return 99;
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(c, (struct sockaddr *)&sa, sizeof sa))
        return 99;
    int s = accept(l, NULL, NULL);
    int onto1 = dup2(c, 1);
    int c_closed = close(c);
    int high = limit * 3 / 4;
    int top = argc > 3 && !strcmp(argv[3], "top");
    int onto_high = dup2(null, high), onto_top = top ? dup2(null, limit - 1) : -1;
    fprintf(out, "listen=%d connect=%d accept=%d dup2 conn->1=%d close=%d dup2 null->%d=%d\n", l, c,
            s, onto1, c_closed, high, onto_high);
    if (top)
        fprintf(out, "dup2 null->%d=%d\n", limit - 1, onto_top);
    /* 4. the peer resets; the program reads on fd 1 */
    ssize_t w = write(1, "hello", 5);
    fprintf(out, "write fd 1=%zd\n", w);
    struct linger lg = {1, 0};
    setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    fprintf(out, "peer close=%d\n", close(s));
    errno = 0;
    ssize_t rd = read(1, buf, sizeof buf);
    fprintf(out, "read fd 1=%zd errno=%s\n", rd, en((int)rd, errno));
    errno = 0;
    rd = read(1, buf, sizeof buf);
    fprintf(out, "read again fd 1=%zd errno=%s\n", rd, en((int)rd, errno));
    /* 5. the fds the program used, and the next free one */
    for (int fd = 0; fd <= 8; fd++)
        describe(out, fd);
    for (int fd = high - 2; fd <= high + 2; fd++)
        describe(out, fd);
    if (top)
        describe(out, limit - 1);
    fprintf(out, "w to fd %d=%zd\n", high, write(high, "x", 1));
    int next = dup(0);
    fprintf(out, "next free fd=%d\n", next);
    int c1 = close(1);
    r = close(1);
    fprintf(out, "close fd 1=%d close again=%d errno=%s\n", c1, r, en(r, errno));
    return 0;
}
