/* early_calls.c: a library whose constructor calls hooked functions that take the pass-through path
 * (sigaction of another signal, getsockopt of another option) before the preload's constructor ran
 * (preloaded after librstwatch.so, it is initialized first): as ASan's runtime does. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static void on_usr1(int sig)
{
    (void)sig;
}

__attribute__((constructor)) static void early_calls(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    int r = sigaction(SIGUSR1, &sa, NULL);
    int type = 0;
    socklen_t len = sizeof type;
    int g = getsockopt(0, SOL_SOCKET, SO_TYPE, &type, &len);
    fprintf(stderr, "early sigaction=%d getsockopt=%d\n", r, g);
}
