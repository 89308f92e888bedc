/* test_ownfd.c: the library's own fds, parked out of the program's way. */
#include "ownfd.h"
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

Test(ownfd, hidden_fds_sit_at_the_top_and_are_known)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int low = fd;
    int hi = rsw_own_hide(fd);
    cr_assert_gt(hi, low);
    cr_assert_eq(fcntl(low, F_GETFD), -1, "the old number is closed");
    cr_assert(rsw_own_is(hi));
    cr_assert(!rsw_own_is(low));
    if (rsw_own_can_hide_above())
        cr_assert_geq((rlim_t)hi, rl.rlim_cur, "above the soft limit");
    else
        cr_assert_geq((rlim_t)hi, rl.rlim_cur - 64, "among the highest numbers below the limit");
    cr_assert_eq(rsw_own_next(0, ~0u), hi);
    cr_assert_eq(rsw_own_next(0, (unsigned)hi - 1), -1);
    rsw_own_drop(hi);
    cr_assert(!rsw_own_is(hi));
    close(hi);
}
