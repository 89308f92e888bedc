/* test_inject.c: Criterion tests of the RSTWATCH_INJECT grammar (every key, every message) and of
 * the decisions taken on the parsed rules (on/peer/port/after/nth/conn/count, the prob= draws). */
#include "inject.h"
#include "inject_rules.h"
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/un.h>

static struct rsw_inj_rules rs;
static char err[512];

static void ok(const char *spec)
{
    int r = rsw_inj_parse(spec, strlen(spec), &rs, err, sizeof err);
    cr_assert_eq(r, 0, "'%s' rejected: %s", spec, err);
    cr_assert_str_empty(err);
}

static const struct rsw_inj_rule *one(const char *spec)
{
    ok(spec);
    cr_assert_eq(rs.n, 1, "'%s': %d rules", spec, rs.n);
    return &rs.rule[0];
}

/* ---- valid rules: every outcome and key ------------------------------------------------- */

Test(grammar, outcomes_and_default_on)
{
    static const struct {
        const char *spec;
        int outcome;
        unsigned on;
    } t[] = {
        {"refuse", RSW_INJ_REFUSE, RSW_INJ_CONNECT},
        {"reset", RSW_INJ_RESET, RSW_INJ_ACCEPT | RSW_INJ_READ | RSW_INJ_WRITE},
        {"epipe", RSW_INJ_EPIPE, RSW_INJ_WRITE},
        {"timeout", RSW_INJ_TIMEOUT, RSW_INJ_CONNECT},
        {"unreachable", RSW_INJ_UNREACHABLE, RSW_INJ_CONNECT},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        const struct rsw_inj_rule *r = one(t[i].spec);
        cr_assert_eq(r->outcome, t[i].outcome);
        cr_assert_eq(r->on, t[i].on, "%s: on %#x", t[i].spec, r->on);
        cr_assert_eq(r->keys, 0u);
        cr_assert_eq(r->prob, RSW_INJ_PROB_ONE);
        cr_assert_str_eq(r->text, t[i].spec);
        cr_assert_str_eq(rsw_inj_outcome_name(r->outcome), t[i].spec);
    }
}

Test(grammar, on_values)
{
    cr_assert_eq(one("reset,on=read")->on, (unsigned)RSW_INJ_READ);
    cr_assert_eq(one("reset,on=write")->on, (unsigned)RSW_INJ_WRITE);
    cr_assert_eq(one("reset,on=accept")->on, (unsigned)RSW_INJ_ACCEPT);
    cr_assert_eq(one("reset,on=any")->on,
                 (unsigned)(RSW_INJ_ACCEPT | RSW_INJ_READ | RSW_INJ_WRITE));
    cr_assert_eq(one("timeout,on=any")->on,
                 (unsigned)(RSW_INJ_CONNECT | RSW_INJ_READ | RSW_INJ_WRITE));
    cr_assert_eq(one("timeout,on=read")->on, (unsigned)RSW_INJ_READ);
    cr_assert_eq(one("refuse,on=connect")->on, (unsigned)RSW_INJ_CONNECT);
    cr_assert_eq(one("refuse,on=any")->on, (unsigned)RSW_INJ_CONNECT);
    cr_assert_eq(one("epipe,on=write")->on, (unsigned)RSW_INJ_WRITE);
    cr_assert(RSW_INJ_HAS(one("epipe,on=any"), RSW_INJ_K_ON));
}

Test(grammar, peer_addresses)
{
    const struct rsw_inj_rule *r = one("refuse,peer=127.0.0.1");
    cr_assert_eq(r->peer.family, AF_INET);
    cr_assert_eq(r->peer.port, 0);
    cr_assert(!memcmp(r->peer.ip, "\x7f\0\0\x01", 4));
    r = one("refuse,peer=10.77.0.2:5432");
    cr_assert(r->peer.family == AF_INET && r->peer.port == 5432);
    cr_assert(!memcmp(r->peer.ip, "\x0a\x4d\0\x02", 4));
    r = one("refuse,peer=[::1]");
    cr_assert(r->peer.family == AF_INET6 && r->peer.port == 0 && r->peer.ip[15] == 1);
    r = one("refuse,peer=[::1]:443");
    cr_assert(r->peer.family == AF_INET6 && r->peer.port == 443);
    r = one("refuse,peer=[::ffff:10.0.0.1]:80"); /* IPv4-mapped: matched as IPv4 */
    cr_assert(r->peer.family == AF_INET && r->peer.port == 80);
    cr_assert(!memcmp(r->peer.ip, "\x0a\0\0\x01", 4));
    r = one("reset,peer=/run/app.sock");
    cr_assert_eq(r->peer.family, AF_UNIX);
    cr_assert_str_eq(r->peer.path, "/run/app.sock");
    r = one("reset,peer=@abstract:name");
    cr_assert_eq(r->peer.family, AF_UNIX);
    cr_assert_str_eq(r->peer.path, "@abstract:name");
    cr_assert(RSW_INJ_HAS(r, RSW_INJ_K_PEER));
}

Test(grammar, numbers_sizes_durations)
{
    const struct rsw_inj_rule *r =
        one("reset,on=read,port=8080,after=1024,nth=3,conn=2,count=5,delay=200ms");
    cr_assert_eq(r->port, 8080);
    cr_assert_eq(r->after, 1024u);
    cr_assert_eq(r->nth, 3u);
    cr_assert_eq(r->conn, 2u);
    cr_assert_eq(r->count, 5u);
    cr_assert_eq(r->delay_ns, 200000000u);
    cr_assert_eq(r->keys, (1u << RSW_INJ_K_ON) | (1u << RSW_INJ_K_PORT) | (1u << RSW_INJ_K_AFTER) |
                              (1u << RSW_INJ_K_NTH) | (1u << RSW_INJ_K_CONN) |
                              (1u << RSW_INJ_K_COUNT) | (1u << RSW_INJ_K_DELAY));
    cr_assert_eq(one("reset,after=4KiB")->after, 4096u);
    cr_assert_eq(one("reset,after=3MiB")->after, 3u << 20);
    cr_assert_eq(one("reset,after=2GiB")->after, 2ull << 30);
    cr_assert_eq(one("reset,after=7B")->after, 7u);
    cr_assert_eq(one("reset,after=0")->after, 0u);
    cr_assert_eq(one("timeout,delay=3s")->delay_ns, 3000000000u);
    cr_assert_eq(one("timeout,delay=150us")->delay_ns, 150000u);
    cr_assert_eq(one("timeout,delay=86400s")->delay_ns, 86400000000000u);
    cr_assert_eq(one("refuse,port=65535")->port, 65535);
    cr_assert_eq(one("refuse,nth=9223372036854775807")->nth, 9223372036854775807u);
}

Test(grammar, prob_and_seed)
{
    const struct rsw_inj_rule *r = one("refuse,prob=0.25,seed=18446744073709551615");
    cr_assert_eq(r->prob, RSW_INJ_PROB_ONE / 4);
    cr_assert_eq(r->seed, UINT64_MAX);
    cr_assert_eq(one("refuse,prob=25%")->prob, RSW_INJ_PROB_ONE / 4);
    cr_assert_eq(one("refuse,prob=.5")->prob, RSW_INJ_PROB_ONE / 2);
    cr_assert_eq(one("refuse,prob=1")->prob, RSW_INJ_PROB_ONE);
    cr_assert_eq(one("refuse,prob=1.000")->prob, RSW_INJ_PROB_ONE);
    cr_assert_eq(one("refuse,prob=100%")->prob, RSW_INJ_PROB_ONE);
    cr_assert_eq(one("refuse,prob=0")->prob, 0u);
    cr_assert_eq(one("refuse,prob=0.1")->prob, (uint64_t)((unsigned __int128)1 << 53) / 10);
    cr_assert_eq(one("refuse,prob=0.5")->seed, 0u, "seed defaults to 0");
}

Test(grammar, several_rules_and_blanks)
{
    ok("reset,on=read,port=8080,after=1024;refuse,peer=127.0.0.1:5432,conn=3");
    cr_assert_eq(rs.n, 2);
    cr_assert_str_eq(rs.rule[0].text, "reset,on=read,port=8080,after=1024");
    cr_assert_str_eq(rs.rule[1].text, "refuse,peer=127.0.0.1:5432,conn=3");
    ok("  reset , on=read ;\n refuse  ");
    cr_assert_eq(rs.n, 2);
    cr_assert_str_eq(rs.rule[0].text, "reset , on=read");
    cr_assert_eq(rs.rule[0].on, (unsigned)RSW_INJ_READ);
    cr_assert_str_eq(rs.rule[1].text, "refuse");
    ok("");
    cr_assert_eq(rs.n, 0);
    ok(" \t\n");
    cr_assert_eq(rs.n, 0);
    char many[256] = "refuse";
    for (int i = 1; i < RSW_INJ_MAX_RULES; i++)
        strcat(many, ";refuse");
    ok(many);
    cr_assert_eq(rs.n, RSW_INJ_MAX_RULES);
}

/* ---- every error, word for word ----------------------------------------------------------- */

#define P "rstwatch: RSTWATCH_INJECT: "

Test(grammar, error_messages)
{
    static const struct {
        const char *spec, *msg;
    } t[] = {
        {"refuze", P "unknown outcome 'refuze' at position 1 (a rule starts with refuse, reset, "
                     "epipe, timeout or unreachable)"},
        {"reset;refus,on=read", P "unknown outcome 'refus' at position 7 (a rule starts with "
                                  "refuse, reset, epipe, timeout or unreachable)"},
        {"reset,foo=1", P "unknown key 'foo' at position 7 (expected on, peer, port, after, nth, "
                          "conn, prob, seed, count or delay)"},
        {"reset,ON=read", P "unknown key 'ON' at position 7 (expected on, peer, port, after, nth, "
                            "conn, prob, seed, count or delay)"},
        {"reset,=3", P "missing key before '=' at position 7"},
        {"reset,port", P "missing value for 'port' at position 7 (write port=VALUE)"},
        {"reset,port=", P "missing value for 'port' at position 7 (write port=VALUE)"},
        {"reset;", P "trailing ';' at position 6"},
        {"reset; ", P "trailing ';' at position 6"},
        {"reset,", P "trailing ','"
                     " at position 6"},
        {"reset,on=read,", P "trailing ',' at position 14"},
        {";reset", P "empty rule at position 1"},
        {"reset;;refuse", P "empty rule at position 7"},
        {"reset,,on=read", P "missing key=value before ',' at position 7"},
        {",on=read", P "missing outcome before ',' at position 1"},
        {"reset,port=0", P "bad number '0' for port at position 12 (expected 1 to 65535)"},
        {"reset,port=65536", P "bad number '65536' for port at position 12 (expected 1 to 65535)"},
        {"reset,port=80x", P "bad number '80x' for port at position 12 (expected 1 to 65535)"},
        {"reset,port=-1", P "bad number '-1' for port at position 12 (expected 1 to 65535)"},
        {"reset,nth=0", P "bad number '0' for nth at position 11 (expected 1 to "
                          "9223372036854775807)"},
        {"reset,conn=x", P "bad number 'x' for conn at position 12 (expected 1 to "
                           "9223372036854775807)"},
        {"reset,count=9223372036854775808", P "bad number '9223372036854775808' for count at "
                                              "position 13 (expected 1 to 9223372036854775807)"},
        {"reset,prob=0.5,seed=18446744073709551616",
         P "bad number '18446744073709551616' for seed at position 21 (expected 0 to "
           "18446744073709551615)"},
        {"reset,after=1x", P "bad size '1x' for after at position 13 (expected a byte count such "
                             "as 1024 or 4KiB)"},
        {"reset,after=1kb", P "bad size '1kb' for after at position 13 (expected a byte count such "
                              "as 1024 or 4KiB)"},
        {"reset,prob=1.5", P "bad probability '1.5' for prob at position 12 (expected 0 to 1 such "
                             "as 0.25, or a percentage such as 25%)"},
        {"reset,prob=101%", P "bad probability '101%' for prob at position 12 (expected 0 to 1 "
                              "such as 0.25, or a percentage such as 25%)"},
        {"reset,prob=1e-3", P "bad probability '1e-3' for prob at position 12 (expected 0 to 1 "
                              "such as 0.25, or a percentage such as 25%)"},
        {"timeout,delay=5", P "bad duration '5' for delay at position 15 (expected a whole number "
                              "with a unit, us, ms or s, such as 200ms; at most 86400s)"},
        {"timeout,delay=1.5s", P "bad duration '1.5s' for delay at position 15 (expected a whole "
                                 "number with a unit, us, ms or s, such as 200ms; at most 86400s)"},
        {"timeout,delay=86401s", P "bad duration '86401s' for delay at position 15 (expected a "
                                   "whole number with a unit, us, ms or s, such as 200ms; at most "
                                   "86400s)"},
        {"reset,on=conect", P "bad value 'conect' for on at position 10 (expected connect, accept, "
                              "read, write or any)"},
        {"reset,peer=::1", P "bad address '::1' for peer at position 12 (expected IPv4[:PORT], "
                             "[IPv6][:PORT] or a UNIX path starting with / or @)"},
        {"reset,peer=256.0.0.1", P "bad address '256.0.0.1' for peer at position 12 (expected "
                                   "IPv4[:PORT], [IPv6][:PORT] or a UNIX path starting with / or "
                                   "@)"},
        {"reset,peer=[::1", P "bad address '[::1' for peer at position 12 (expected IPv4[:PORT], "
                              "[IPv6][:PORT] or a UNIX path starting with / or @)"},
        {"reset,peer=[::1]80", P "bad address '[::1]80' for peer at position 12 (expected "
                                 "IPv4[:PORT], [IPv6][:PORT] or a UNIX path starting with / or "
                                 "@)"},
        {"reset,peer=host.example", P "bad address 'host.example' for peer at position 12 "
                                      "(expected IPv4[:PORT], [IPv6][:PORT] or a UNIX path "
                                      "starting with / or @)"},
        {"reset,peer=[::1]:0", P "bad number '0' for the port in peer at position 18 (expected 1 "
                                 "to 65535)"},
        {"reset,peer=1.2.3.4:", P "bad number '' for the port in peer at position 20 (expected 1 "
                                  "to 65535)"},
        {"reset,port=1,port=2", P "duplicate key 'port' at position 14 (already given at "
                                  "position 7)"},
        {"reset,on=read,on=read", P "duplicate key 'on' at position 15 (already given at "
                                    "position 7)"},
        {"reset,on=connect", P "'on=connect' does not apply to reset at position 7 (reset takes "
                               "on=accept, read, write or any)"},
        {"refuse,on=read", P "'on=read' does not apply to refuse at position 8 (refuse takes "
                             "on=connect)"},
        {"epipe,on=read", P "'on=read' does not apply to epipe at position 7 (epipe takes "
                            "on=write)"},
        {"timeout,on=accept", P "'on=accept' does not apply to timeout at position 9 (timeout "
                                "takes on=connect, read, write or any)"},
        {"unreachable,on=write", P "'on=write' does not apply to unreachable at position 13 "
                                   "(unreachable takes on=connect)"},
        {"refuse,after=10", P "key 'after' does not apply to refuse at position 8 (it counts bytes "
                              "read or written)"},
        {"timeout,after=10", P "key 'after' does not apply to timeout at position 9 (it counts "
                               "bytes read or written)"},
        {"reset,on=accept,after=3", P "key 'after' does not apply to on=accept at position 17 (it "
                                      "counts bytes read or written)"},
        {"reset,seed=3", P "key 'seed' without prob at position 7 (seed= seeds the draws of "
                           "prob=)"},
        {"reset,peer=1.2.3.4:80,port=3", P "key 'port' conflicts with the port in peer at "
                                           "position 23"},
        {"reset,port=3,peer=/x.sock", P "key 'port' does not apply to a UNIX peer at position 7"},
        {"unreachable,peer=/tmp/x", P "UNIX peer '/tmp/x' does not apply to unreachable at "
                                      "position 18 (it is for IPv4 and IPv6)"},
        {"reset\x01", P "bad character '\\x01' at position 6 (control characters are not "
                        "allowed)"},
        {"reset,peer=/a\\b\x7f", P "bad character '\\x7f' at position 16 (control characters are "
                                   "not allowed)"},
        {"refuse;refuse;refuse;refuse;refuse;refuse;refuse;refuse;refuse;refuse;refuse;refuse;"
         "refuse;refuse;refuse;refuse;reset",
         P "too many rules at position 113 (at most 16)"},
        {"reset,peer=/0123456789012345678901234567890123456789012345678901234567890123456789012345"
         "6789012345678901234567890123456789012345678901234567890",
         P "UNIX path '/012345678901234567890123456789012345678...' too long for peer at position "
           "12 (at most 107 bytes)"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        int r = rsw_inj_parse(t[i].spec, strlen(t[i].spec), &rs, err, sizeof err);
        cr_expect_eq(r, -1, "'%s' accepted", t[i].spec);
        cr_expect_str_eq(err, t[i].msg, "for '%s'", t[i].spec);
    }
}

Test(grammar, long_spec_nul_and_small_buffers)
{
    static char spec[RSW_INJ_SPEC_MAX + 8];
    memset(spec, ' ', sizeof spec - 1);
    memcpy(spec, "reset", 5);
    cr_assert_eq(rsw_inj_parse(spec, RSW_INJ_SPEC_MAX, &rs, err, sizeof err), -1);
    cr_assert_str_eq(err, P "spec too long at position 4096 (at most 4095 characters)");
    cr_assert_eq(rsw_inj_parse(spec, RSW_INJ_SPEC_MAX - 1, &rs, err, sizeof err), 0);
    cr_assert_eq(rsw_inject_validate(spec, err, sizeof err), -1, "the C-string entry counts too");
    /* a NUL inside counted bytes is a bad byte */
    cr_assert_eq(rsw_inject_validate_n("reset\0x", 7, err, sizeof err), -1);
    cr_assert_str_eq(err, P "bad character '\\x00' at position 6 (control characters are not "
                            "allowed)");
    cr_assert_eq(rsw_inject_validate(NULL, err, sizeof err), 0);
    cr_assert_eq(rsw_inject_validate("refuse,port=80;reset,on=read", err, sizeof err), 0);
    char small[12];
    cr_assert_eq(rsw_inject_validate("bogus", small, sizeof small), -1);
    cr_assert_str_eq(small, "rstwatch: R");
    cr_assert_eq(rsw_inject_validate("bogus", small, 0), -1);
}

/* ---- decisions ---------------------------------------------------------------------------- */

static struct rsw_inj_conn tcp_conn(unsigned side, const char *peer_ip, int peer_port,
                                    int local_port)
{
    struct sockaddr_in p = {.sin_family = AF_INET, .sin_port = htons((uint16_t)peer_port)};
    struct sockaddr_in l = {.sin_family = AF_INET, .sin_port = htons((uint16_t)local_port)};
    struct rsw_inj_conn c;
    inet_pton(AF_INET, peer_ip, &p.sin_addr);
    inet_pton(AF_INET, "127.0.0.1", &l.sin_addr);
    rsw_inj_conn_from(&c, side, (struct sockaddr *)&p, sizeof p, (struct sockaddr *)&l, sizeof l);
    return c;
}

static struct rsw_inj_conn unix_conn(unsigned side, const char *peer, const char *local)
{
    struct sockaddr_un p = {.sun_family = AF_UNIX}, l = {.sun_family = AF_UNIX};
    struct rsw_inj_conn c;
    strcpy(p.sun_path, peer);
    strcpy(l.sun_path, local);
    rsw_inj_conn_from(&c, side, (struct sockaddr *)&p,
                      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(peer)),
                      (struct sockaddr *)&l,
                      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(local)));
    return c;
}

/* Which of n calls of one kind fire, as a string: "..R.." */
static void schedule(unsigned call, int n, char *out)
{
    for (int k = 0; k < n; k++)
        out[k] = rsw_inj_select(&rs, 1, call, 0, 0) == 0 ? 'R' : '.';
    out[n] = 0;
}

Test(decide, nth_count_and_on)
{
    char s[16];
    ok("refuse,nth=3");
    schedule(RSW_INJ_CONNECT, 6, s);
    cr_assert_str_eq(s, "..R...");
    ok("refuse,count=2");
    schedule(RSW_INJ_CONNECT, 5, s);
    cr_assert_str_eq(s, "RR...");
    ok("refuse");
    schedule(RSW_INJ_CONNECT, 3, s);
    cr_assert_str_eq(s, "RRR");
    ok("reset,on=read");
    schedule(RSW_INJ_WRITE, 2, s);
    cr_assert_str_eq(s, "..", "on=read fired on a write");
    ok("reset,on=read,nth=2"); /* calls of other kinds are not counted */
    cr_assert_eq(rsw_inj_select(&rs, 1, RSW_INJ_WRITE, 0, 0), -1);
    cr_assert_eq(rsw_inj_select(&rs, 1, RSW_INJ_READ, 0, 0), -1);
    cr_assert_eq(rsw_inj_select(&rs, 1, RSW_INJ_READ, 0, 0), 0);
    ok("refuse,nth=2,count=1");
    cr_assert_eq(rsw_inj_select(&rs, 0, RSW_INJ_CONNECT, 0, 0), -1, "mask 0: not its connection");
    cr_assert_eq(rs.rule[0].calls, 0u, "a call on another connection was counted");
}

Test(decide, after_bytes)
{
    ok("reset,on=read,after=100");
    cr_assert_eq(rsw_inj_select(&rs, 1, RSW_INJ_READ, 99, 1000), -1);
    cr_assert_eq(rsw_inj_select(&rs, 1, RSW_INJ_READ, 100, 0), 0);
    ok("reset,on=write,after=1KiB");
    cr_assert_eq(rsw_inj_select(&rs, 1, RSW_INJ_WRITE, 5000, 1023), -1);
    cr_assert_eq(rsw_inj_select(&rs, 1, RSW_INJ_WRITE, 0, 1024), 0);
    ok("reset,after=10,nth=2"); /* on=any: both directions; accept moves no bytes */
    cr_assert_eq(rsw_inj_select(&rs, 1, RSW_INJ_ACCEPT, 50, 50), -1);
    cr_assert_eq(rsw_inj_select(&rs, 1, RSW_INJ_READ, 4, 5), -1);
    cr_assert_eq(rs.rule[0].calls, 0u, "calls before 'after' was reached were counted");
    cr_assert_eq(rsw_inj_select(&rs, 1, RSW_INJ_WRITE, 5, 5), -1);
    cr_assert_eq(rsw_inj_select(&rs, 1, RSW_INJ_READ, 5, 5), 0);
}

Test(decide, first_rule_that_fires_wins)
{
    ok("reset,on=read,nth=2;timeout,on=read");
    cr_assert_eq(rsw_inj_select(&rs, 3, RSW_INJ_READ, 0, 0), 1);
    cr_assert_eq(rsw_inj_select(&rs, 3, RSW_INJ_READ, 0, 0), 0);
    cr_assert_eq(rs.rule[1].calls, 1u, "the call rule 1 fired on was also counted by rule 2");
    cr_assert_eq(rsw_inj_select(&rs, 2, RSW_INJ_READ, 0, 0), 1, "mask selects rule 2 only");
}

Test(decide, peer_and_port)
{
    ok("refuse,peer=127.0.0.1:5432;refuse,peer=10.0.0.9;refuse,port=8080;refuse,peer=[::1]");
    struct rsw_inj_conn c = tcp_conn(RSW_INJ_CONNECT, "127.0.0.1", 5432, 40000);
    cr_assert_eq(rsw_inj_conn_rules(&rs, &c), 1u);
    c = tcp_conn(RSW_INJ_CONNECT, "127.0.0.1", 5433, 40000);
    cr_assert_eq(rsw_inj_conn_rules(&rs, &c), 0u);
    c = tcp_conn(RSW_INJ_CONNECT, "10.0.0.9", 1, 40000);
    cr_assert_eq(rsw_inj_conn_rules(&rs, &c), 2u);
    c = tcp_conn(RSW_INJ_CONNECT, "10.0.0.9", 8080, 40000);
    cr_assert_eq(rsw_inj_conn_rules(&rs, &c), 2u | 4u);
    c = tcp_conn(RSW_INJ_CONNECT, "10.0.0.8", 1, 8080); /* local port of a connect: no */
    cr_assert_eq(rsw_inj_conn_rules(&rs, &c), 0u);
    /* the same address through an IPv4-mapped AF_INET6 connect */
    struct sockaddr_in6 m = {.sin6_family = AF_INET6, .sin6_port = htons(5432)};
    inet_pton(AF_INET6, "::ffff:127.0.0.1", &m.sin6_addr);
    rsw_inj_conn_from(&c, RSW_INJ_CONNECT, (struct sockaddr *)&m, sizeof m, NULL, 0);
    cr_assert_eq(rsw_inj_conn_rules(&rs, &c), 1u);
    inet_pton(AF_INET6, "::1", &m.sin6_addr);
    rsw_inj_conn_from(&c, RSW_INJ_CONNECT, (struct sockaddr *)&m, sizeof m, NULL, 0);
    cr_assert_eq(c.family, AF_INET6);
    cr_assert_eq(rsw_inj_conn_rules(&rs, &c), 8u);

    ok("reset,port=8080;reset,peer=/run/app.sock;unreachable");
    c = tcp_conn(RSW_INJ_ACCEPT, "127.0.0.1", 8080, 9999); /* accepted: the local port counts */
    cr_assert_eq(rsw_inj_conn_rules(&rs, &c), 0u);
    c = tcp_conn(RSW_INJ_ACCEPT, "127.0.0.1", 50000, 8080);
    cr_assert_eq(rsw_inj_conn_rules(&rs, &c), 1u);
    c = tcp_conn(0, "127.0.0.1", 50000, 8080); /* inherited: either port */
    cr_assert_eq(rsw_inj_conn_rules(&rs, &c), 1u);
    c = unix_conn(RSW_INJ_CONNECT, "/run/app.sock", "");
    cr_assert_eq(rsw_inj_conn_rules(&rs, &c), 2u, "unreachable applied to a UNIX connection");
    c = unix_conn(RSW_INJ_ACCEPT, "", "/run/app.sock"); /* accepted: the listening path */
    cr_assert_eq(rsw_inj_conn_rules(&rs, &c), 2u);
    c = unix_conn(RSW_INJ_CONNECT, "/run/other.sock", "/run/app.sock");
    cr_assert_eq(rsw_inj_conn_rules(&rs, &c), 0u, "a client's own bound path matched peer=");
}

Test(decide, conn_numbers_connections_per_rule)
{
    ok("refuse,port=5432,conn=2;reset,on=read,conn=3");
    uint32_t m[4];
    for (int i = 0; i < 4; i++) {
        struct rsw_inj_conn c = tcp_conn(RSW_INJ_CONNECT, "127.0.0.1", i == 1 ? 80 : 5432, 1);
        m[i] = rsw_inj_conn_rules(&rs, &c);
    }
    /* rule 1 counts connections to 5432 only (#1, #3, #4): its 2nd is the 3rd overall */
    cr_assert_eq(m[0], 0u);
    cr_assert_eq(m[1], 0u);
    cr_assert_eq(m[2], 1u | 2u);
    cr_assert_eq(m[3], 0u);
    /* a connect-only rule does not number accepted connections */
    ok("refuse,conn=1");
    struct rsw_inj_conn acc = tcp_conn(RSW_INJ_ACCEPT, "127.0.0.1", 5, 6);
    cr_assert_eq(rsw_inj_conn_rules(&rs, &acc), 0u);
    struct rsw_inj_conn out = tcp_conn(RSW_INJ_CONNECT, "127.0.0.1", 5, 6);
    cr_assert_eq(rsw_inj_conn_rules(&rs, &out), 1u);
}

/* ---- prob= and seed= ---------------------------------------------------------------------- */

Test(prob, same_seed_same_schedule)
{
    char a[1001], b[1001], c[1001];
    ok("refuse,prob=0.3,seed=42");
    schedule(RSW_INJ_CONNECT, 1000, a);
    ok("refuse,prob=0.3,seed=42");
    schedule(RSW_INJ_CONNECT, 1000, b);
    ok("refuse,prob=0.3,seed=43");
    schedule(RSW_INJ_CONNECT, 1000, c);
    cr_assert_str_eq(a, b, "seed 42 gave two schedules");
    cr_assert_str_neq(a, c, "seeds 42 and 43 gave the same schedule");
    int fired = 0;
    for (int i = 0; i < 1000; i++)
        fired += a[i] == 'R';
    cr_assert(fired > 250 && fired < 350, "prob=0.3 fired %d times in 1000", fired);
    /* the documented draw (splitmix64 of seed + k * golden ratio), pinned */
    a[40] = 0;
    cr_assert_str_eq(a, ".RR.R.R...R....RR.R..R..RR..........RR.R");
    ok("refuse,prob=0.5,seed=7");
    schedule(RSW_INJ_CONNECT, 24, a);
    cr_assert_str_eq(a, "RR..RRRRRRR......R...RRR");
}

Test(prob, bounds_and_interplay)
{
    char s[101];
    ok("refuse,prob=0");
    schedule(RSW_INJ_CONNECT, 100, s);
    cr_assert(!strchr(s, 'R'), "prob=0 fired");
    ok("refuse,prob=100%");
    schedule(RSW_INJ_CONNECT, 100, s);
    cr_assert(!strchr(s, '.'), "prob=1 did not fire");
    /* count= caps the firings of a draw; the draw still depends on the call number only */
    ok("refuse,prob=0.5,seed=7,count=3");
    schedule(RSW_INJ_CONNECT, 24, s);
    cr_assert_str_eq(s, "RR..R...................");
    for (uint64_t k = 1; k < 64; k++)
        cr_assert_eq(rsw_inj_chance(7, k, RSW_INJ_PROB_ONE / 2),
                     rsw_inj_chance(7, k, RSW_INJ_PROB_ONE / 2));
}
