/* test_storm.c: the default mode's recording core, no preload: interned stacks, storm control
 * (the counts add up exactly), held lifecycles of failing connections, tallies of clean ones. */
#include "backtrace.h"
#include "config.h"
#include "event.h"
#include "fdtable.h"
#include "logwriter.h"
#include "modmap.h"
#include "proc.h"
#include "rsw_schema.h"
#include "stackid.h"
#include "unit_log.h"
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void setup(void)
{
    unit_log_start(RSW_EVENTS_FAILURES);
    rsw_cfg.rate = 10;
}

TestSuite(storm, .init = setup);

static int count(json_t *all, const char *ev)
{
    int c = 0;
    for (size_t i = 0; i < json_array_size(all); i++)
        c += !strcmp(s(json_array_get(all, i), "ev"), ev);
    return c;
}

static json_int_t sum(json_t *all, const char *ev, const char *field)
{
    json_int_t t = 0;
    for (size_t i = 0; i < json_array_size(all); i++)
        if (!strcmp(s(json_array_get(all, i), "ev"), ev))
            t += n(json_array_get(all, i), field);
    return t;
}

static void conn_init(struct rsw_fd *e, uint64_t conn, const char *peer, int active)
{
    memset(e, 0, sizeof *e);
    e->state = RSW_FD_WATCHED, e->family = RSW_FAM_INET, e->conn = conn, e->fd = -1;
    e->flags = RSW_F_TCP | (active ? RSW_F_ACTIVE : 0);
    strcpy(e->peer, peer);
    strcpy(e->local, "127.0.0.1:9000");
}

static void lifecycle(struct rsw_fd *e, enum rsw_ev ev, int err)
{
    struct rsw_evinfo in = RSW_EVINFO_INIT;
    in.ev = ev, in.call = ev == RSW_EV_CONNECT ? "connect" : ev == RSW_EV_CLOSE ? "close" : "read";
    in.e = e;
    if (ev == RSW_EV_CONNECT || ev == RSW_EV_CLOSE)
        in.has_ret = 1, in.ret = err ? -1 : 0, in.err = err, in.nonblock = 0;
    rsw_ev_emit(&in);
}

/* One call site: every call has the same backtrace. */
__attribute__((noinline)) static void fail_here(struct rsw_fd *e, int err, int injected)
{
    struct rsw_evinfo in = RSW_EVINFO_INIT;
    in.ev = RSW_EV_ERROR, in.call = "read", in.op = "read", in.e = e;
    in.has_ret = 1, in.ret = -1, in.err = err, in.backtrace = 1, in.injected = injected;
    rsw_ev_emit(&in);
    __asm__ volatile("" ::: "memory");
}

Test(storm, stack_table_interns_and_fills)
{
    uintptr_t ips[4] = {0x1000, 0x2000, 0x3000, 0};
    uint32_t id, id2;
    cr_assert_eq(rsw_stack_intern(ips, 3, &id), RSW_STACK_NEW);
    cr_assert_eq(rsw_stack_intern(ips, 3, &id2), RSW_STACK_INLINE, "its line is not written yet");
    rsw_stack_written(id);
    cr_assert_eq(rsw_stack_intern(ips, 3, &id2), RSW_STACK_HIT);
    cr_assert_eq(id2, id);
    cr_assert_eq(rsw_stack_intern(ips, 2, &id2), RSW_STACK_NEW, "a shorter stack is another");
    cr_assert_neq(id2, id);
    int fresh = 2, inl = 0;
    for (uintptr_t k = 1; k <= 2 * RSW_STACK_SLOTS; k++) {
        ips[3] = k;
        enum rsw_stack_result r = rsw_stack_intern(ips, 4, &id2);
        fresh += r == RSW_STACK_NEW;
        inl += r == RSW_STACK_INLINE;
        if (r == RSW_STACK_NEW)
            rsw_stack_written(id2);
    }
    cr_assert_leq(fresh, RSW_STACK_SLOTS);
    cr_assert_gt(fresh, RSW_STACK_SLOTS * 9 / 10, "the table fills to at least 90%%: %d", fresh);
    cr_assert_eq(fresh - 2 + inl, 2 * RSW_STACK_SLOTS, "a full table falls back to inline frames");
    rsw_stack_after_fork();
    cr_assert_eq(rsw_stack_intern(ips, 3, &id2), RSW_STACK_NEW, "a child writes its stacks again");
}

Test(storm, suppressed_counts_add_up_exactly)
{
    rsw_cfg.events = RSW_EVENTS_CONN; /* with no connection: nothing is exempt */
    for (int i = 0; i < 5000; i++)
        fail_here(NULL, ECONNRESET, 0);
    rsw_ev_finish();
    json_t *all = lines();
    int written = count(all, "error");
    json_int_t supp = sum(all, "suppressed", "count");
    cr_assert_eq(written + supp, 5000, "%d written + %lld suppressed", written, (long long)supp);
    cr_assert_geq(written, 10);
    cr_assert_lt(written, 5000);
    for (size_t i = 0; i < json_array_size(all); i++) {
        json_t *l = json_array_get(all, i);
        if (strcmp(s(l, "ev"), "suppressed"))
            continue;
        cr_assert_str_eq(s(l, "of"), "error");
        cr_assert_str_eq(s(l, "errno"), "ECONNRESET");
        cr_assert_str_eq(s(l, "call"), "read");
        cr_assert_gt(n(l, "stack"), 0, "the site is the interned stack");
        cr_assert_eq(n(l, "conns"), 0, "no connection");
        cr_assert_leq(n(l, "first_ts"), n(l, "last_ts"));
    }
    /* per second of ts, at most the rate was written */
    json_int_t sec0 = 0, in_sec = 0;
    for (size_t i = 0; i < json_array_size(all); i++) {
        json_t *l = json_array_get(all, i);
        if (strcmp(s(l, "ev"), "error"))
            continue;
        json_int_t sec = n(l, "ts") / 1000000000;
        in_sec = sec == sec0 ? in_sec + 1 : 1;
        sec0 = sec;
        cr_assert_leq(in_sec, 10);
    }
    json_decref(all);
}

Test(storm, injected_and_first_errors_of_logged_connections_are_never_suppressed)
{
    rsw_cfg.events = RSW_EVENTS_CONN;
    struct rsw_fd e[300];
    for (int i = 0; i < 300; i++) {
        conn_init(&e[i], (uint64_t)i + 1, "127.0.0.1:80", 1);
        fail_here(&e[i], ECONNRESET, 0); /* each the first error of a logged connection */
        fail_here(&e[i], EPIPE, 1);      /* injected */
    }
    rsw_ev_finish();
    json_t *all = lines();
    cr_assert_eq(count(all, "error"), 600);
    cr_assert_eq(count(all, "suppressed"), 0);
    json_decref(all);
}

Test(storm, failures_mode_counts_connections_whose_first_error_was_suppressed)
{
    struct rsw_fd e[200];
    for (int i = 0; i < 200; i++) {
        conn_init(&e[i], (uint64_t)i + 1, "127.0.0.1:80", 0);
        lifecycle(&e[i], RSW_EV_ACCEPT, 0);
        fail_here(&e[i], ECONNRESET, 0);
        lifecycle(&e[i], RSW_EV_CLOSE, 0);
    }
    rsw_ev_finish();
    json_t *all = lines();
    int written = count(all, "error");
    cr_assert_eq(written + sum(all, "suppressed", "count"), 200);
    cr_assert_eq(sum(all, "suppressed", "conns"), 200 - written, "each was its connection's first");
    cr_assert_eq(count(all, "accept"), written, "only the shown connections' lifecycles");
    cr_assert_eq(count(all, "close"), written);
    cr_assert_eq(count(all, "tally"), 0, "a connection that failed is not a clean one");
    json_decref(all);
}

Test(storm, failing_connection_keeps_its_timeline_clean_ones_are_tallied)
{
    struct rsw_fd bad, good[30];
    conn_init(&bad, 1, "127.0.0.1:5432", 1);
    lifecycle(&bad, RSW_EV_CONNECT, 0);
    lifecycle(&bad, RSW_EV_EOF, 0);
    for (int i = 0; i < 30; i++) {
        conn_init(&good[i], (uint64_t)i + 2, i < 20 ? "127.0.0.1:80" : "127.0.0.1:443", 1);
        lifecycle(&good[i], RSW_EV_CONNECT, 0);
        __atomic_store_n(&good[i].bytes_in, 100, __ATOMIC_RELAXED);
        __atomic_store_n(&good[i].bytes_out, 7, __ATOMIC_RELAXED);
        lifecycle(&good[i], RSW_EV_CLOSE, 0);
    }
    json_t *all = lines();
    cr_assert_eq(json_array_size(all), 0, "nothing failed yet: nothing written");
    json_decref(all);
    fail_here(&bad, EPIPE, 0);
    lifecycle(&bad, RSW_EV_CLOSE, 0);
    rsw_ev_finish();
    all = lines();
    /* the failing connection: connect and eof (held, with their own ts and seq), then the
     * stack, the error and the close; the 30 clean ones: two tally lines */
    const char *want[] = {"stack", "connect", "eof", "error", "close"};
    size_t k = 0, nl = json_array_size(all);
    json_int_t conn_seq = -1, eof_seq = -1, err_seq = -1, conn_ts = 0, err_ts = 0;
    for (size_t i = 0; i < nl; i++) {
        json_t *l = json_array_get(all, i);
        const char *ev = s(l, "ev");
        if (!strcmp(ev, "module") || !strcmp(ev, "tally"))
            continue;
        cr_assert(k < 5 && !strcmp(ev, want[k]), "line %zu: %s, expected %s", i, ev,
                  k < 5 ? want[k] : "nothing");
        if (!strcmp(ev, "connect"))
            conn_seq = n(l, "seq"), conn_ts = n(l, "ts");
        if (!strcmp(ev, "eof"))
            eof_seq = n(l, "seq");
        if (!strcmp(ev, "error"))
            err_seq = n(l, "seq"), err_ts = n(l, "ts");
        if (strcmp(ev, "stack"))
            cr_assert_eq(n(l, "conn"), 1);
        k++;
    }
    cr_assert_eq(k, 5);
    cr_assert(conn_seq < eof_seq && eof_seq < err_seq, "held lines keep their seq");
    cr_assert_lt(conn_ts, err_ts, "held lines keep their time");
    cr_assert_eq(count(all, "tally"), 2);
    for (size_t i = 0; i < nl; i++) {
        json_t *l = json_array_get(all, i);
        if (strcmp(s(l, "ev"), "tally"))
            continue;
        int https = !strcmp(s(l, "peer"), "127.0.0.1:443");
        cr_assert(https || !strcmp(s(l, "peer"), "127.0.0.1:80"));
        cr_assert_str_eq(s(l, "role"), "client");
        cr_assert_str_eq(s(l, "family"), "inet");
        cr_assert_eq(n(l, "conns"), https ? 10 : 20);
        cr_assert_eq(n(l, "bytes_in"), https ? 1000 : 2000);
        cr_assert_eq(n(l, "bytes_out"), https ? 70 : 140);
        cr_assert_leq(n(l, "first_ts"), n(l, "last_ts"));
    }
    json_decref(all);
}

Test(storm, close_after_a_failed_connect_is_not_written)
{
    struct rsw_fd e;
    conn_init(&e, 1, "127.0.0.1:1", 1);
    lifecycle(&e, RSW_EV_CONNECT, ECONNREFUSED);
    fail_here(&e, ECONNREFUSED, 0);
    lifecycle(&e, RSW_EV_CLOSE, 0);
    rsw_ev_finish();
    json_t *all = lines();
    cr_assert_eq(count(all, "connect"), 1);
    cr_assert_eq(count(all, "error"), 1);
    cr_assert_eq(count(all, "close"), 0);
    cr_assert_eq(count(all, "tally"), 0);
    json_decref(all);
}

Test(storm, rate_zero_writes_everything)
{
    rsw_cfg.rate = 0;
    for (int i = 0; i < 500; i++)
        fail_here(NULL, ECONNRESET, 0);
    rsw_ev_finish();
    json_t *all = lines();
    cr_assert_eq(count(all, "error"), 500);
    cr_assert_eq(count(all, "suppressed"), 0);
    json_decref(all);
}
