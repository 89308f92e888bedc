/* test_verdict.c: Criterion unit tests for the verdict logic (verdict.c). */
#include "fmt.h"
#include "verdict.h"
#include <criterion/criterion.h>
#include <string.h>

#define T0 1000000000000LL

static struct rsw_facts error_at(const char *e, const char *call, long long dt)
{
    struct rsw_facts f;
    rsw_facts_init(&f);
    f.start_ts = T0;
    f.peer = "127.0.0.1:8080";
    f.err_errno = e;
    f.err_call = call;
    f.err_op = strcmp(call, "connect") == 0 ? "connect" : call;
    f.err_ts = T0 + dt;
    f.n_errors = 1;
    return f;
}

static enum rsw_verdict_kind decide(const struct rsw_facts *f, struct rsw_verdict *v)
{
    rsw_verdict_decide(f, v);
    return v->kind;
}

Test(verdict, refused_on_connect)
{
    struct rsw_verdict v;
    struct rsw_facts f = error_at("ECONNREFUSED", "connect", 150000);
    cr_assert_eq(decide(&f, &v), RSW_V_REFUSED);
    cr_assert_str_eq(rsw_verdict_name(v.kind), "refused");
    cr_assert(strstr(v.explanation, "127.0.0.1:8080"));
    cr_assert(strstr(v.explanation, "ECONNREFUSED on connect at +0.150 ms"), "%s", v.explanation);
}

Test(verdict, refused_on_first_read_of_pending_connect)
{
    struct rsw_verdict v;
    struct rsw_facts f = error_at("ECONNREFUSED", "read", 10);
    cr_assert_eq(decide(&f, &v), RSW_V_REFUSED);
}

Test(verdict, epipe_single_sided_uses_unacked)
{
    struct rsw_verdict v;
    struct rsw_facts f = error_at("EPIPE", "write", 1100000);
    f.err_unacked = 125000;
    f.signal_action = "kill";
    cr_assert_eq(decide(&f, &v), RSW_V_WRITE_AFTER_PEER_CLOSE);
    cr_assert_eq(v.bytes_after_peer_close, 125000);
    cr_assert(strstr(v.explanation, "125000 B written after that were never acknowledged"));
    cr_assert(strstr(v.explanation, "SIGPIPE killed the process"), "%s", v.explanation);
}

Test(verdict, epipe_both_sides_uses_peer_bytes_in)
{
    struct rsw_verdict v;
    struct rsw_facts f = error_at("EPIPE", "write", 1100000);
    f.err_unacked = 999;
    f.err_bytes_out = 135000;
    f.have_peer = 1;
    f.peer_close_ts = T0 + 100000;
    f.peer_bytes_in = 5000;
    cr_assert_eq(decide(&f, &v), RSW_V_WRITE_AFTER_PEER_CLOSE);
    cr_assert_eq(v.bytes_after_peer_close, 130000);
    cr_assert(strstr(v.explanation, "the peer closed at +0.100 ms; 130000 B written after that "
                                    "were never read"),
              "%s", v.explanation);
}

Test(verdict, epipe_after_own_shutdown_is_ours)
{
    struct rsw_verdict v;
    struct rsw_facts f = error_at("EPIPE", "write", 500);
    f.shut_wr_ts = T0 + 100;
    cr_assert_eq(decide(&f, &v), RSW_V_WRITE_AFTER_SHUTDOWN);
    cr_assert_eq(v.bytes_after_peer_close, -1);
    f.shut_wr_ts = T0 + 900; /* shutdown after the error: not the cause */
    cr_assert_eq(decide(&f, &v), RSW_V_WRITE_AFTER_PEER_CLOSE);
}

Test(verdict, fatal_sigpipe_without_error_line_is_epipe)
{
    /* conn_model.c turns a killing SIGPIPE into the EPIPE the write never returned */
    struct rsw_verdict v;
    struct rsw_facts f = error_at("EPIPE", "write", 2000000);
    f.signal_action = "kill";
    cr_assert_eq(decide(&f, &v), RSW_V_WRITE_AFTER_PEER_CLOSE);
    cr_assert_eq(v.bytes_after_peer_close, -1);
}

Test(verdict, reset_by_peer)
{
    struct rsw_verdict v;
    struct rsw_facts f = error_at("ECONNRESET", "read", 1000000000LL);
    cr_assert_eq(decide(&f, &v), RSW_V_RESET_BY_PEER);
    cr_assert(strstr(v.explanation, "ECONNRESET on read at +1.000 s"), "%s", v.explanation);
    f = error_at("ECONNABORTED", "write", 10);
    cr_assert_eq(decide(&f, &v), RSW_V_RESET_BY_PEER);
}

Test(verdict, reset_after_unread_writes_to_closed_peer)
{
    /* seed 000 case 2 variant: write, the peer had closed, then read → ECONNRESET */
    struct rsw_verdict v;
    struct rsw_facts f = error_at("ECONNRESET", "read", 1000000000LL);
    f.have_peer = 1;
    f.peer_close_ts = T0 + 10;
    f.peer_bytes_in = 0;
    f.err_bytes_out = 5000;
    cr_assert_eq(decide(&f, &v), RSW_V_WRITE_AFTER_PEER_CLOSE);
    cr_assert_eq(v.bytes_after_peer_close, 5000);
    f.err_bytes_out = 0; /* nothing written after the close: a plain reset */
    cr_assert_eq(decide(&f, &v), RSW_V_RESET_BY_PEER);
}

Test(verdict, timeout_and_unreachable)
{
    struct rsw_verdict v;
    struct rsw_facts f = error_at("ETIMEDOUT", "connect", 1);
    cr_assert_eq(decide(&f, &v), RSW_V_TIMEOUT);
    cr_assert(strstr(v.explanation, "SYN"));
    f = error_at("ETIMEDOUT", "write", 1);
    cr_assert_eq(decide(&f, &v), RSW_V_TIMEOUT);
    const char *unreach[] = {"EHOSTUNREACH", "ENETUNREACH", "EHOSTDOWN", "ENETDOWN"};
    for (int i = 0; i < 4; i++) {
        f = error_at(unreach[i], "connect", 1);
        cr_assert_eq(decide(&f, &v), RSW_V_UNREACHABLE, "%s", unreach[i]);
    }
}

Test(verdict, injected_names_the_rule)
{
    struct rsw_verdict v;
    struct rsw_facts f = error_at("ECONNREFUSED", "connect", 1);
    f.err_injected = 1;
    f.inject_spec = "connect:refuse";
    f.inject_rule = 2;
    cr_assert_eq(decide(&f, &v), RSW_V_INJECTED);
    cr_assert(strstr(v.explanation, "rule 2 'connect:refuse'"), "%s", v.explanation);
    f.inject_spec = NULL; /* "injected":true alone */
    cr_assert_eq(decide(&f, &v), RSW_V_INJECTED);
}

Test(verdict, stale_after_peer_restart)
{
    struct rsw_verdict v;
    struct rsw_facts f = error_at("ECONNRESET", "read", 2000000000LL);
    f.peer_restart_ts = T0 + 1000000000LL;
    f.peer_restart_pid = 733;
    cr_assert_eq(decide(&f, &v), RSW_V_STALE_AFTER_PEER_RESTART);
    cr_assert(strstr(v.explanation, "new pid 733"));
    f = error_at("EPIPE", "write", 2000000000LL);
    f.peer_restart_ts = T0 + 1000000000LL;
    cr_assert_eq(decide(&f, &v), RSW_V_STALE_AFTER_PEER_RESTART);
    f.peer_restart_ts = T0 + 3000000000LL; /* restarted after our error: not the cause */
    cr_assert_eq(decide(&f, &v), RSW_V_WRITE_AFTER_PEER_CLOSE);
}

Test(verdict, clean)
{
    struct rsw_verdict v;
    struct rsw_facts f;
    rsw_facts_init(&f);
    f.start_ts = T0;
    cr_assert_eq(decide(&f, &v), RSW_V_CLEAN);
    cr_assert_str_eq(v.explanation, "no errors");
    f.eof_ts = T0 + 800000;
    decide(&f, &v);
    cr_assert_str_eq(v.explanation, "no errors; the peer closed first (FIN read at +0.800 ms)");
}

Test(verdict, names_round_trip)
{
    for (int k = 0; k < RSW_V_NKINDS; k++)
        cr_assert_eq(rsw_verdict_parse(rsw_verdict_name(k)), k);
    cr_assert_eq(rsw_verdict_parse("stale-after-peer-restart"), RSW_V_STALE_AFTER_PEER_RESTART);
    cr_assert_eq(rsw_verdict_parse("nonsense"), -1);
}

Test(verdict, relative_times)
{
    char b[32];
    rsw_fmt_rel(b, sizeof b, 0);
    cr_assert_str_eq(b, "+0.000 ms");
    rsw_fmt_rel(b, sizeof b, 1234567);
    cr_assert_str_eq(b, "+1.234 ms");
    rsw_fmt_rel(b, sizeof b, -300000);
    cr_assert_str_eq(b, "-0.300 ms");
    rsw_fmt_rel(b, sizeof b, 27099900000LL);
    cr_assert_str_eq(b, "+27.099 s");
}

/* Only TCP has SYNs, FINs and RSTs: the words for UNIX sockets and pipes say what happened. */
Test(verdict, words_per_family)
{
    struct rsw_verdict v;
    struct rsw_facts f = error_at("EPIPE", "write", 2000000);
    f.family = "pipe";
    f.signal_action = "kill";
    cr_assert_eq(decide(&f, &v), RSW_V_WRITE_AFTER_PEER_CLOSE);
    cr_assert_str_eq(v.explanation,
                     "the reader had gone (no process held the pipe's read end "
                     "open); EPIPE on write at +2.000 ms; SIGPIPE killed the process");

    f = error_at("EPIPE", "write", 310000);
    f.family = "unix";
    f.eof_ts = T0 + 300000;
    cr_assert_eq(decide(&f, &v), RSW_V_WRITE_AFTER_PEER_CLOSE);
    cr_assert_str_eq(v.explanation, "the peer had closed its end (a read returned 0 at +0.300 "
                                    "ms); EPIPE on write at +0.310 ms");
    f.eof_ts = RSW_NOTS;
    decide(&f, &v);
    cr_assert_str_eq(v.explanation, "the peer had closed its end; EPIPE on write at +0.310 ms");

    f = error_at("ECONNRESET", "read", 1000000);
    f.family = "unix";
    cr_assert_eq(decide(&f, &v), RSW_V_RESET_BY_PEER);
    cr_assert(strstr(v.explanation, "the peer closed its end before reading all that was sent"),
              "%s", v.explanation);

    f = error_at("ECONNREFUSED", "connect", 1000);
    f.family = "unix";
    f.peer = "/run/x.sock";
    cr_assert_eq(decide(&f, &v), RSW_V_REFUSED);
    cr_assert(strstr(v.explanation, "nothing was listening at /run/x.sock: the socket exists"),
              "%s", v.explanation);

    f = error_at("EPIPE", "write", 1000);
    f.family = "unix";
    f.peer_restart_ts = T0 + 500;
    f.peer_restart_pid = 9;
    cr_assert_eq(decide(&f, &v), RSW_V_STALE_AFTER_PEER_RESTART);
    cr_assert(strstr(v.explanation, "the connection had ended with the old process"), "%s",
              v.explanation);

    rsw_facts_init(&f);
    f.start_ts = T0;
    f.eof_ts = T0 + 800000;
    f.family = "pipe";
    decide(&f, &v);
    cr_assert_str_eq(v.explanation,
                     "no errors; the writer closed its end first (a read returned 0 at +0.800 ms)");
    f.family = "unix";
    decide(&f, &v);
    cr_assert_str_eq(v.explanation,
                     "no errors; the peer closed its end first (a read returned 0 at +0.800 ms)");

    /* no "RST" anywhere outside TCP; TCP keeps it */
    const char *errs[] = {"EPIPE", "ECONNRESET", "ECONNREFUSED", "ETIMEDOUT"};
    const char *fams[] = {"unix", "pipe"};
    for (int i = 0; i < 4; i++) {
        for (int j = 0; j < 2; j++) {
            f = error_at(errs[i], i == 2 ? "connect" : "write", 1000);
            f.family = fams[j];
            decide(&f, &v);
            cr_assert_null(strstr(v.explanation, "RST"), "%s %s: %s", fams[j], errs[i],
                           v.explanation);
            cr_assert_null(strstr(v.explanation, "SYN"), "%s", v.explanation);
            cr_assert_null(strstr(v.explanation, "FIN"), "%s", v.explanation);
        }
    }
    f = error_at("EPIPE", "write", 1000);
    f.family = "inet6";
    decide(&f, &v);
    cr_assert(strstr(v.explanation, "our data drew an RST"), "%s", v.explanation);
}
