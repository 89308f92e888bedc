/* dial.c: a refused connect in dial_backend, for the separate-debug-file cases of
 * tests/analyzer/symbols.py (built there with -g and a build-id, its debug info split off). */
#include "refuse.h"

#ifndef GREETING /* another value makes another build (another build-id) */
#define GREETING "connect"
#endif

__attribute__((noinline)) static int dial_backend(int port)
{
    return REFUSE(port); /* CONNECT */
}

int main(int argc, char **argv)
{
    int err = dial_backend(argc > 1 ? atoi(argv[1]) : 1); /* CALL */
    return REFUSE_REPORT(GREETING, err);
}
