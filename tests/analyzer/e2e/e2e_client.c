/* e2e_client.c: meets a refused connect, then writes into a connection the server closed until
 * SIGPIPE kills it (seed 000, cases 1 and 2). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct sockaddr_in loopback(int port)
{
    struct sockaddr_in a = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    return a;
}

/* A port that was free a moment ago: nothing listens there, the SYN gets an RST. */
__attribute__((noinline)) static void try_refused(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = loopback(0);
    socklen_t len = sizeof a;
    if (bind(s, (struct sockaddr *)&a, sizeof a) || getsockname(s, (struct sockaddr *)&a, &len))
        exit(1);
    close(s);
    s = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(s, (struct sockaddr *)&a, sizeof a) == 0)
        exit(1);
    close(s);
}

__attribute__((noinline)) static void pump_blocks(int s)
{
    static char block[5000];
    memset(block, 'x', sizeof block);
    for (;;)
        if (write(s, block, sizeof block) < 0)
            return;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: e2e_client PORT\n");
        return 2;
    }
    try_refused();
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = loopback(atoi(argv[1]));
    if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
        perror("connect");
        return 1;
    }
    usleep(100000); /* let the server's FIN arrive */
    pump_blocks(s);
    return 3; /* only reached if SIGPIPE did not kill us */
}
