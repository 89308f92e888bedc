/* t_early_lib.c: a shared library whose constructor makes a refused connect, possibly before the preload's constructor ran. */
#define _GNU_SOURCE
#include "t_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

__attribute__((constructor)) void early_constructor_connect(void)
{
	int holder;
	int port = tu_refusing_port(AF_INET, &holder);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	int e = r < 0 ? errno : 0;
	tu_out("constructor fd=%d port=%d ret=%d errno=%s\n", fd, port, r, tu_errname(e));
	close(fd);
	close(holder);
}
