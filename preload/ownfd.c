/* ownfd.c: the library's own fds (the log, injection helpers), parked where the program never
 * looks. */
#include "ownfd.h"
#include "sys.h"
#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>

#define RSW_OWN_MAX 8
static int own[RSW_OWN_MAX] = {-1, -1, -1, -1, -1, -1, -1, -1};

static int dup_at_or_above(int fd, long min)
{
    return min > 0 && min < (1L << 30) ? fcntl(fd, F_DUPFD_CLOEXEC, (int)min) : -1;
}

int rsw_own_can_hide_above(void)
{
    struct rlimit rl;
    return getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
           (rl.rlim_max == RLIM_INFINITY || (long)rl.rlim_max > (long)rl.rlim_cur + 64);
}

static int move(int fd)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return -1;
    long soft = (long)rl.rlim_cur;
    /* Above the soft limit: open(), socket(), dup2() and close-every-fd loops of the program
     * all stop below it. Raise the soft limit just long enough to dup there. */
    if (rsw_own_can_hide_above()) {
        struct rlimit raised = {(rlim_t)(soft + 64), rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0) {
            int hi = dup_at_or_above(fd, soft + 16);
            setrlimit(RLIMIT_NOFILE, &rl);
            if (hi >= 0)
                return hi;
        }
    }
    /* Else the highest free numbers below it, far from the program's low ones. */
    for (long t = soft - 1; t > soft - 64 && t > fd; t--) {
        int hi = dup_at_or_above(fd, t);
        if (hi == t)
            return hi;
        if (hi >= 0)
            rsw_sys_close(hi);
    }
    return -1;
}

int rsw_own_hide(int fd)
{
    if (fd < 0)
        return fd;
    int hi = move(fd);
    if (hi >= 0) {
        rsw_sys_close(fd);
        fd = hi;
    }
    for (int i = 0; i < RSW_OWN_MAX; i++) {
        int expected = -1;
        if (__atomic_compare_exchange_n(&own[i], &expected, fd, 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE))
            break;
    }
    return fd;
}

int rsw_own_is(int fd)
{
    if (fd < 0)
        return 0;
    for (int i = 0; i < RSW_OWN_MAX; i++)
        if (__atomic_load_n(&own[i], __ATOMIC_ACQUIRE) == fd)
            return 1;
    return 0;
}

int rsw_own_next(unsigned lo, unsigned hi)
{
    int best = -1;
    for (int i = 0; i < RSW_OWN_MAX; i++) {
        int f = __atomic_load_n(&own[i], __ATOMIC_ACQUIRE);
        if (f >= 0 && (unsigned)f >= lo && (unsigned)f <= hi && (best < 0 || f < best))
            best = f;
    }
    return best;
}

void rsw_own_drop(int fd)
{
    for (int i = 0; i < RSW_OWN_MAX; i++) {
        int expected = fd;
        __atomic_compare_exchange_n(&own[i], &expected, -1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
    }
}
