/* test_fdtable.c: the fd table: lookups, fds up to the process limit, reuse, concurrency. */
#include "fdtable.h"
#include <criterion/criterion.h>
#include <pthread.h>

static void setup(void)
{
    cr_assert_eq(rsw_fdt_init(1u << 20), 0);
}

TestSuite(fdtable, .init = setup);

Test(fdtable, unknown_until_watched)
{
    cr_assert_null(rsw_fdt_watched(5));
    struct rsw_fd *e = rsw_fdt_slot(5);
    cr_assert_not_null(e);
    cr_assert_eq(e->state, RSW_FD_UNKNOWN);
    e->state = RSW_FD_IGNORED;
    cr_assert_null(rsw_fdt_watched(5));
    e->state = RSW_FD_WATCHED;
    cr_assert_eq(rsw_fdt_watched(5), e);
    rsw_fdt_forget(5);
    cr_assert_null(rsw_fdt_watched(5));
    cr_assert_eq(rsw_fdt_slot(5), e, "the same slot is reused for the same fd");
}

Test(fdtable, up_to_the_limit)
{
    int hi = (1 << 20) - 1;
    struct rsw_fd *e = rsw_fdt_slot(hi);
    cr_assert_not_null(e);
    e->state = RSW_FD_WATCHED;
    cr_assert_eq(rsw_fdt_watched(hi), e);
    cr_assert_geq(rsw_fdt_mapped_limit(), (size_t)hi + 1);
    cr_assert_null(rsw_fdt_slot(1 << 20), "beyond nr_open");
    cr_assert_null(rsw_fdt_watched(1 << 20));
    cr_assert_null(rsw_fdt_slot(-1));
    cr_assert_null(rsw_fdt_watched(-1));
    rsw_fdt_forget(-1);
    rsw_fdt_forget(1 << 21);
}

Test(fdtable, conn_ids_are_unique)
{
    uint64_t a = rsw_fdt_next_conn(), b = rsw_fdt_next_conn();
    cr_assert_gt(b, a);
}

static void *grab(void *arg)
{
    int fd = (int)(long)arg;
    struct rsw_fd *e = rsw_fdt_slot(fd);
    for (int i = 0; i < 10000; i++)
        __atomic_fetch_add(&e->bytes_out, 1, __ATOMIC_RELAXED);
    return e;
}

Test(fdtable, threads_share_one_chunk)
{
    pthread_t t[8];
    void *res[8];
    for (long i = 0; i < 8; i++)
        pthread_create(&t[i], NULL, grab, (void *)(40960 + i % 2));
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], &res[i]);
    for (int i = 0; i < 8; i++)
        cr_assert_eq(res[i], rsw_fdt_slot(40960 + i % 2), "one chunk, whoever mapped it");
    cr_assert_eq(rsw_fdt_slot(40960)->bytes_out, 40000);
    cr_assert_eq(rsw_fdt_slot(40961)->bytes_out, 40000);
}
