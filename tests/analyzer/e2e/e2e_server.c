/* e2e_server.c: accepts one connection on 127.0.0.1 and hangs up at once (seed 000, case 2). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

__attribute__((noinline)) static void hang_up(int fd)
{
    close(fd);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: e2e_server PORTFILE\n");
        return 2;
    }
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 4) ||
        getsockname(ls, (struct sockaddr *)&a, &len)) {
        perror("e2e_server");
        return 1;
    }
    FILE *f = fopen(argv[1], "w");
    if (!f)
        return 1;
    fprintf(f, "%d\n", ntohs(a.sin_port));
    fclose(f);
    int c = accept(ls, NULL, NULL);
    if (c < 0) {
        perror("accept");
        return 1;
    }
    hang_up(c);
    usleep(300000); /* stay up while the client writes into the closed connection */
    close(ls);
    return 0;
}
