/* t_secure.c: reports whether it runs in secure-execution mode with the preload loaded, then
 * meets a refused connection (which the library must not log in secure mode). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
    char line[512];
    int preloaded = 0;
    FILE *m = fopen("/proc/self/maps", "r");
    while (m && fgets(line, sizeof line, m))
        preloaded |= strstr(line, "librstwatch") != NULL;
    if (m)
        fclose(m);
    printf("preloaded=%d secure=%lu\n", preloaded, getauxval(AT_SECURE));
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(1)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int r = connect(fd, (struct sockaddr *)&a, sizeof a);
    printf("connect ret=%d errno=%s\n", r, r < 0 ? strerrorname_np(errno) : "0");
    return 0;
}
