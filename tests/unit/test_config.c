/* test_config.c: RSTWATCH_* parsing: values, defaults, and the exact one-line messages. */
#include "config.h"
#include <criterion/criterion.h>

Test(config, backtrace)
{
    int v;
    char msg[256];
    cr_assert_eq(rsw_config_backtrace(NULL, &v, msg, sizeof msg), 0);
    cr_assert_eq(v, 32);
    cr_assert_eq(rsw_config_backtrace("0", &v, msg, sizeof msg), 0);
    cr_assert_eq(v, 0);
    cr_assert_eq(rsw_config_backtrace("256", &v, msg, sizeof msg), 0);
    cr_assert_eq(v, 256);
    const char *bad[] = {"257", "-1", "ten", "", "12x", " 5"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cr_assert_eq(rsw_config_backtrace(bad[i], &v, msg, sizeof msg), -1, "%s", bad[i]);
        cr_assert_eq(v, 32);
    }
    rsw_config_backtrace("ten", &v, msg, sizeof msg);
    cr_assert_str_eq(msg, "rstwatch: RSTWATCH_BACKTRACE: expected a number of frames from 0 to "
                          "256, got 'ten'; using the default 32");
}

Test(config, events)
{
    int v;
    char msg[256];
    cr_assert_eq(rsw_config_events(NULL, &v, msg, sizeof msg), 0);
    cr_assert_eq(v, RSW_EVENTS_FAILURES);
    rsw_config_events("failures", &v, msg, sizeof msg);
    cr_assert_eq(v, RSW_EVENTS_FAILURES);
    rsw_config_events("conn", &v, msg, sizeof msg);
    cr_assert_eq(v, RSW_EVENTS_CONN);
    rsw_config_events("errors", &v, msg, sizeof msg);
    cr_assert_eq(v, RSW_EVENTS_ERRORS);
    rsw_config_events("all", &v, msg, sizeof msg);
    cr_assert_eq(v, RSW_EVENTS_ALL);
    cr_assert_eq(rsw_config_events("ALL", &v, msg, sizeof msg), -1);
    cr_assert_eq(v, RSW_EVENTS_FAILURES);
    cr_assert_str_eq(msg, "rstwatch: RSTWATCH_EVENTS: expected errors, failures, conn or all, got "
                          "'ALL'; using the default failures");
}

Test(config, sigpipe)
{
    int v;
    char msg[256];
    cr_assert_eq(rsw_config_sigpipe("survive", &v, msg, sizeof msg), 0);
    cr_assert_eq(v, 1);
    cr_assert_eq(rsw_config_sigpipe("default", &v, msg, sizeof msg), 0);
    cr_assert_eq(v, 0);
    cr_assert_eq(rsw_config_sigpipe("ignore", &v, msg, sizeof msg), -1);
    cr_assert_eq(v, 0);
    cr_assert_str_eq(msg, "rstwatch: RSTWATCH_SIGPIPE: expected default or survive, got "
                          "'ignore'; using the default (the program's own disposition)");
}

Test(config, message_is_cut_to_the_buffer)
{
    int v;
    char msg[16];
    cr_assert_eq(rsw_config_events("bogus", &v, msg, sizeof msg), -1);
    cr_assert_str_eq(msg, "rstwatch: RSTWA");
}

Test(config, expand)
{
    char out[64];
    cr_assert_eq(rsw_config_expand("/tmp/%n.%p.log", 42, "curl", out, sizeof out), 0);
    cr_assert_str_eq(out, "/tmp/curl.42.log");
    cr_assert_eq(rsw_config_expand("100%%-%x", 1, "a", out, sizeof out), 0);
    cr_assert_str_eq(out, "100%-%x");
    cr_assert_eq(rsw_config_expand("%n%n%n%n%n", 1, "0123456789abcdef", out, sizeof out), -1);
}

Test(config, rate)
{
    unsigned v;
    char msg[256];
    cr_assert_eq(rsw_config_rate(NULL, &v, msg, sizeof msg), 0);
    cr_assert_eq(v, 100);
    cr_assert_eq(rsw_config_rate("0", &v, msg, sizeof msg), 0);
    cr_assert_eq(v, 0);
    cr_assert_eq(rsw_config_rate("2500", &v, msg, sizeof msg), 0);
    cr_assert_eq(v, 2500);
    cr_assert_eq(rsw_config_rate("-1", &v, msg, sizeof msg), -1);
    cr_assert_eq(v, 100);
    cr_assert_str_eq(msg, "rstwatch: RSTWATCH_RATE: expected events per second per call site (0: "
                          "no limit), got '-1'; using the default 100");
    cr_assert_eq(rsw_config_rate("10/s", &v, msg, sizeof msg), -1);
}

Test(config, log_max)
{
    unsigned long long v;
    char msg[256];
    cr_assert_eq(rsw_config_log_max(NULL, &v, msg, sizeof msg), 0);
    cr_assert_eq(v, 256ull << 20);
    cr_assert_eq(rsw_config_log_max("0", &v, msg, sizeof msg), 0);
    cr_assert_eq(v, 0);
    cr_assert_eq(rsw_config_log_max("4096", &v, msg, sizeof msg), 0);
    cr_assert_eq(v, 4096);
    cr_assert_eq(rsw_config_log_max("64K", &v, msg, sizeof msg), 0);
    cr_assert_eq(v, 65536);
    cr_assert_eq(rsw_config_log_max("1g", &v, msg, sizeof msg), 0);
    cr_assert_eq(v, 1ull << 30);
    cr_assert_eq(rsw_config_log_max("12MB", &v, msg, sizeof msg), -1);
    cr_assert_eq(v, 256ull << 20);
    cr_assert_str_eq(msg, "rstwatch: RSTWATCH_LOG_MAX: expected bytes with an optional K, M or G "
                          "(0: no limit), got '12MB'; using the default 256M");
    cr_assert_eq(rsw_config_log_max("M", &v, msg, sizeof msg), -1);
    cr_assert_eq(rsw_config_log_max("99999999999G", &v, msg, sizeof msg), -1);
}
