/* t_exec.c: exec another image (/bin/true, or this program again) from a watched process. */
#define _GNU_SOURCE
#include "t_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The new image's own error: a refused connect. */
__attribute__((noinline)) int exec_child_refused(void)
{
    tu_connect_refused("child");
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "true";
    if (!strcmp(mode, "child"))
        return exec_child_refused();
    tu_out("parent pid=%d\n", (int)getpid());
    if (!strcmp(mode, "true"))
        execl("/bin/true", "true", "arg-one", (char *)NULL);
    else
        execl(argv[0], argv[0], "child", (char *)NULL);
    tu_die("execl");
}
