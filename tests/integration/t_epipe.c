/* t_epipe.c: write after the peer closed: the first write succeeds, a later one meets EPIPE and
 * SIGPIPE. */
#define _GNU_SOURCE
#include "t_util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Writes 5000-byte blocks until one fails (with the default SIGPIPE disposition the process dies
 * inside the failing write). Prints every write's outcome, then the byte total. */
__attribute__((noinline)) size_t write_blocks_until_failure(int fd)
{
    static char block[5000];
    size_t total = 0;
    memset(block, 'x', sizeof(block));
    for (int i = 0; i < 100; i++) {
        ssize_t n = write(fd, block, sizeof(block));
        int e = n < 0 ? errno : 0;
        tu_out("write ret=%zd errno=%s total=%zu\n", n, tu_errname(e),
               total + (n > 0 ? (size_t)n : 0));
        if (n < 0)
            break;
        total += (size_t)n;
    }
    return total;
}

int main(void)
{
    int port;
    int fd = tu_conn_to_closed_peer(&port);
    tu_out("conn fd=%d port=%d\n", fd, port);
    size_t total = write_blocks_until_failure(fd);
    tu_out("survived total=%zu\n", total);
    close(fd);
    return 0;
}
