/* inject.c: placeholder until fault injection lands: accepts no rules. */
#include "inject.h"
#include <string.h>

int rsw_inject_armed;

int rsw_inject_validate(const char *spec, char *err, size_t errlen)
{
    (void)spec;
    if (errlen)
        err[0] = 0;
    return 0;
}

void rsw_inject_load(const char *spec)
{
    (void)spec;
}

int rsw_inject_io(int fd, struct rsw_fd *e, const char *call, int op, int flags, size_t len,
                  long *ret)
{
    (void)fd, (void)e, (void)call, (void)op, (void)flags, (void)len, (void)ret;
    return 0;
}

int rsw_inject_connect(int fd, const struct sockaddr *sa, unsigned salen, struct rsw_fd *e,
                       int *ret)
{
    (void)fd, (void)sa, (void)salen, (void)e, (void)ret;
    return 0;
}
