/* test_ownfd.c: the library's own fds (parked out of the program's way) and the memory check
 * that stands in for libunwind's pipe. */
#include "ownfd.h"
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

Test(ownfd, fake_pipe_answers_like_an_empty_pipe)
{
    char c;
    errno = 0;
    cr_assert_eq(rsw_fake_io("read", RSW_FAKE_PIPE_RD, &c, (size_t)1), -1);
    cr_assert_eq(errno, EAGAIN);
    static const char readable[] = "x";
    cr_assert_eq(rsw_fake_io("write", RSW_FAKE_PIPE_WR, readable, (size_t)1), 1);
    cr_assert(rsw_is_fake_fd(RSW_FAKE_PIPE_RD) && rsw_is_fake_fd(RSW_FAKE_PIPE_WR));
    cr_assert(!rsw_is_fake_fd(1 << 30), "no real fd can be mistaken for the fake pipe");
}

Test(ownfd, unreadable_memory_is_reported_as_efault)
{
    void *guard = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(guard, MAP_FAILED);
    errno = 0;
    cr_assert_eq(rsw_fake_io("write", RSW_FAKE_PIPE_WR, guard, (size_t)1), -1);
    cr_assert_eq(errno, EFAULT);
    munmap(guard, 4096);
    errno = 0;
    cr_assert_eq(rsw_fake_io("write", RSW_FAKE_PIPE_WR, (void *)8, (size_t)1), -1);
    cr_assert_eq(errno, EFAULT);
    cr_assert_eq(rsw_fake_io("writev", RSW_FAKE_PIPE_WR, "x", (size_t)1), -1);
    cr_assert_eq(errno, EBADF);
}

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
