/* test_fmt.c: Criterion unit tests for the summary's v3 words (fmt.c): counts, bytes, time
 * ranges, tallies with suppressed counts, and the suppressed, tally and lost lines. */
#include "fmt.h"
#include <criterion/criterion.h>
#include <string.h>

#define T 1714564921000000000LL /* 2024-05-01 12:02:01 UTC */
#define MS 1000000LL

static const char *count(long long n)
{
    static char buf[64];
    rsw_fmt_count(buf, sizeof buf, n);
    return buf;
}

static const char *bytes(long long n)
{
    static char buf[64];
    rsw_fmt_bytes(buf, sizeof buf, n);
    return buf;
}

static const char *with(void (*fmt)(char *, size_t, json_t *), const char *entry)
{
    static char buf[1024];
    json_error_t err;
    json_t *e = json_loads(entry, 0, &err);
    cr_assert(e, "bad test entry: %s", err.text);
    fmt(buf, sizeof buf, e);
    json_decref(e);
    return buf;
}

Test(fmt, counts_in_groups_of_three)
{
    cr_assert_str_eq(count(0), "0");
    cr_assert_str_eq(count(999), "999");
    cr_assert_str_eq(count(1000), "1 000");
    cr_assert_str_eq(count(9900), "9 900");
    cr_assert_str_eq(count(1234567), "1 234 567");
    cr_assert_str_eq(count(-12000), "-12 000");
}

Test(fmt, bytes_in_powers_of_1000)
{
    cr_assert_str_eq(bytes(0), "0 B");
    cr_assert_str_eq(bytes(999), "999 B");
    cr_assert_str_eq(bytes(1000), "1.0 kB");
    cr_assert_str_eq(bytes(1240000), "1.2 MB");
    cr_assert_str_eq(bytes(999949), "999.9 kB");
    cr_assert_str_eq(bytes(999950), "1.0 MB"); /* never "1000.0 kB" */
    cr_assert_str_eq(bytes(3400000000LL), "3.4 GB");
}

Test(fmt, spans)
{
    char buf[128];
    rsw_fmt_span(buf, sizeof buf, T + 201 * MS, T + 1999 * MS);
    cr_assert_str_eq(buf, "between 12:02:01.201 and 12:02:02.999 UTC");
    rsw_fmt_span(buf, sizeof buf, T, T);
    cr_assert_str_eq(buf, "at 12:02:01.000 UTC");
    rsw_fmt_span(buf, sizeof buf, T, T + 86400LL * 1000 * MS);
    cr_assert_str_eq(buf, "between 2024-05-01 12:02:01.000 and 2024-05-02 12:02:01.000 UTC");
    rsw_fmt_span(buf, sizeof buf, -1, -1);
    cr_assert_str_eq(buf, "");
}

Test(fmt, tally_plus_suppressed)
{
    char buf[256] = "";
    json_t *w = json_pack("{s:i,s:i}", "ECONNRESET", 100, "EPIPE", 3);
    json_t *s = json_pack("{s:i,s:i}", "ECONNRESET", 9900, "ETIMEDOUT", 40);
    rsw_fmt_tally_plus(buf, sizeof buf, w, s);
    cr_assert_str_eq(buf,
                     "ECONNRESET 100 + 9 900 suppressed, EPIPE 3, ETIMEDOUT 0 + 40 suppressed");
    buf[0] = 0;
    rsw_fmt_tally_plus(buf, sizeof buf, w, NULL); /* as rsw_fmt_tally */
    cr_assert_str_eq(buf, "ECONNRESET 100, EPIPE 3");
    buf[0] = 0;
    rsw_fmt_tally_plus(buf, sizeof buf, NULL, NULL);
    cr_assert_str_eq(buf, "none");
    json_decref(w);
    json_decref(s);
}

Test(fmt, connections)
{
    char buf[256];
    json_t *old = json_pack("{s:i}", "connections", 2);
    rsw_fmt_connections(buf, sizeof buf, old, "refused 2");
    cr_assert_str_eq(buf, "2 connections (refused 2)");
    json_t *v3 = json_pack("{s:i,s:i,s:i}", "connections", 1, "tallied", 12000,
                           "suppressed_connections", 9900);
    rsw_fmt_connections(buf, sizeof buf, v3, NULL);
    cr_assert_str_eq(buf, "1 connection shown, 12 000 clean ones tallied, 9 900 suppressed");
    json_decref(old);
    json_decref(v3);
}

Test(fmt, suppressed_lines)
{
    cr_assert_str_eq(
        with(rsw_fmt_suppressed,
             "{\"of\":\"error\",\"errno\":\"ECONNRESET\",\"sig\":null,\"call\":\"read\","
             "\"op\":\"read\",\"site\":\"serve (srv.c:42)\",\"count\":9900,\"conns\":9900,"
             "\"first_ts\":1714564921201000000,\"last_ts\":1714564922999000000,\"rate\":100}"),
        "ECONNRESET on read at serve (srv.c:42): 9 900 events (9 900 connections not shown) "
        "between 12:02:01.201 and 12:02:02.999 UTC, not written (RSTWATCH_RATE 100/s)");
    cr_assert_str_eq(
        with(rsw_fmt_suppressed,
             "{\"of\":\"signal\",\"errno\":null,\"sig\":\"SIGPIPE\",\"call\":\"write\","
             "\"site\":null,\"count\":1,\"conns\":0,\"first_ts\":1714564921000000000,"
             "\"last_ts\":1714564921000000000,\"rate\":null}"),
        "SIGPIPE in write: 1 event at 12:02:01.000 UTC, not written");
}

Test(fmt, tally_lines)
{
    cr_assert_str_eq(with(rsw_fmt_tally_group,
                          "{\"role\":\"client\",\"peer\":\"127.0.0.1:8080\",\"local\":null,"
                          "\"connections\":12000,\"bytes_in\":1200000,\"bytes_out\":3400000,"
                          "\"first_ts\":1714564921000000000,\"last_ts\":1714564922000000000}"),
                     "12 000 connections to 127.0.0.1:8080 (client), in 1.2 MB, out 3.4 MB, "
                     "closed between 12:02:01.000 and 12:02:02.000 UTC");
    cr_assert_str_eq(with(rsw_fmt_tally_group,
                          "{\"role\":\"server\",\"peer\":null,\"local\":\"*\",\"connections\":1,"
                          "\"bytes_in\":5,\"bytes_out\":0,\"first_ts\":null,\"last_ts\":null}"),
                     "1 connection accepted on other addresses (server; \"*\": the tally table "
                     "was full), in 5 B, out 0 B");
}

Test(fmt, lost_lines)
{
    cr_assert_str_eq(with(rsw_fmt_lost, "{\"pid\":42,\"name\":\"nginx\",\"reason\":\"log_max\","
                                        "\"log_max\":268435456,\"events\":1234}"),
                     "pid 42 (nginx): the log stopped at RSTWATCH_LOG_MAX (268435456 bytes); "
                     "1 234 events after that were not written");
    cr_assert_str_eq(with(rsw_fmt_lost, "{\"pid\":42,\"name\":\"nginx\",\"reason\":\"log_max\","
                                        "\"log_max\":null,\"events\":1}"),
                     "pid 42 (nginx): the log stopped at RSTWATCH_LOG_MAX; 1 event after that "
                     "was not written");
    cr_assert_str_eq(with(rsw_fmt_lost, "{\"pid\":42,\"name\":\"nginx\",\"reason\":"
                                        "\"write_failed\",\"errno\":\"ENOSPC\",\"events\":42}"),
                     "pid 42 (nginx): could not write 42 events (ENOSPC)");
}
