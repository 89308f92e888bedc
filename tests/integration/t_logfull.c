/* t_logfull.c: refused connects in rounds, for the tests of a log that fills its disk or reaches
 * RSTWATCH_LOG_MAX. `t_logfull N` makes one refused connect, then two rounds of N, and waits for
 * a byte on stdin before each round (the test fills or frees the disk meanwhile);
 * `t_logfull N burst` makes N at once. Every connect comes from one call site (one stack). */
#define _GNU_SOURCE
#include "t_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* n blocking connects to a refusing loopback port; returns how many were refused. */
__attribute__((noinline)) int refuse_many(int n, int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int refused = 0;
    for (int i = 0; i < n; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0)
            tu_die("socket");
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno == ECONNREFUSED)
            refused++;
        close(fd);
    }
    return refused;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 10;
    int burst = argc > 2 && !strcmp(argv[2], "burst");
    int holder, port = tu_refusing_port(AF_INET, &holder);
    for (int round = 0; round < (burst ? 1 : 3); round++) {
        int count = burst || round ? n : 1;
        if (round) {
            char c;
            tu_out("wait round=%d\n", round);
            if (read(0, &c, 1) != 1)
                tu_die("read stdin");
        }
        tu_out("round=%d connects=%d refused=%d\n", round, count, refuse_many(count, port));
    }
    close(holder);
    return 0;
}
