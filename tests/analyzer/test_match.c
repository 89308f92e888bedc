/* test_match.c: Criterion unit tests for both-ends matching and peer-restart detection (match.c),
 * fed with real log lines through the connection state machine (conn_model.c). */
#include "map.h"
#include "match.h"
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#define S "1714564803000"

/* every proc() and conn of the running test, freed after it (tests chain procs via ->next) */
static struct rsw_proc *made[16];
static int nmade;
static struct rsw_conn *conns[16];
static int nconns;

static struct rsw_conn *track(struct rsw_conn *c)
{
    cr_assert(nconns < 16, "too many connections in one test");
    conns[nconns++] = c;
    return c;
}

static void free_made(void)
{
    for (int i = 0; i < nconns; i++)
        rsw_conn_free(conns[i]);
    nconns = 0;
    for (int i = 0; i < nmade; i++)
        rsw_proc_free(made[i]);
    nmade = 0;
}

TestSuite(match, .fini = free_made);

static struct rsw_proc *proc(long long pid, const char *exe, const char *host, const char *origin,
                             long long start)
{
    struct rsw_proc *p = calloc(1, sizeof(*p));
    cr_assert(nmade < 16, "too many procs in one test");
    made[nmade++] = p;
    p->pid = pid;
    p->exe = strdup(exe);
    p->host = strdup(host);
    p->origin = strdup(origin);
    p->start_ts = start;
    p->open = rsw_map_new();
    return p;
}

static void feed(struct rsw_conn *c, const char *line)
{
    json_error_t err;
    json_t *j = json_loads(line, 0, &err);
    cr_assert(j, "bad test line: %s", err.text);
    rsw_conn_apply(c, j, rsw_ev_parse(json_string_value(json_object_get(j, "ev"))), NULL);
    json_decref(j);
}

static struct rsw_conn *client(struct rsw_proc *p, const char *local, const char *peer,
                               long long ts)
{
    struct rsw_conn *c = track(rsw_conn_new(p, 1, ts));
    char line[512];
    snprintf(line, sizeof line,
             "{\"v\":1,\"ts\":%lld,\"pid\":%lld,\"ev\":\"connect\",\"call\":\"connect\",\"fd\":3,"
             "\"conn\":1,\"family\":\"inet\",\"local\":\"%s\",\"peer\":\"%s\",\"ret\":0}",
             ts, p->pid, local, peer);
    feed(c, line);
    return c;
}

static struct rsw_conn *server(struct rsw_proc *p, const char *local, const char *peer,
                               long long ts)
{
    struct rsw_conn *c = track(rsw_conn_new(p, 7, ts));
    char line[512];
    snprintf(line, sizeof line,
             "{\"v\":1,\"ts\":%lld,\"pid\":%lld,\"ev\":\"accept\",\"call\":\"accept\",\"fd\":4,"
             "\"lfd\":3,\"conn\":7,\"family\":\"inet\",\"local\":\"%s\",\"peer\":\"%s\"}",
             ts, p->pid, local, peer);
    feed(c, line);
    return c;
}

Test(match, reversed_tuple_links_both_ends)
{
    struct rsw_matcher m;
    rsw_match_init(&m);
    struct rsw_proc *pc = proc(10, "/c", "h", "exec", 0), *ps = proc(20, "/s", "h", "exec", 0);
    struct rsw_conn *c = client(pc, "127.0.0.1:40000", "127.0.0.1:8080", 1000);
    struct rsw_conn *s = server(ps, "127.0.0.1:8080", "127.0.0.1:40000", 1500);
    cr_assert_null(rsw_match_add(&m, c));
    cr_assert_eq(rsw_match_add(&m, s), c);
    cr_assert_eq(c->partner, s);
    cr_assert_eq(s->partner, c);
    rsw_match_remove(&m, c);
    cr_assert_null(s->partner);
    rsw_match_free(&m);
}

Test(match, same_direction_or_other_port_does_not_match)
{
    struct rsw_proc *pc = proc(10, "/c", "h", "exec", 0), *ps = proc(20, "/s", "h", "exec", 0);
    struct rsw_conn *a = client(pc, "127.0.0.1:40000", "127.0.0.1:8080", 1000);
    struct rsw_conn *b = client(ps, "127.0.0.1:40000", "127.0.0.1:8080", 1000);
    struct rsw_conn *d = server(ps, "127.0.0.1:8081", "127.0.0.1:40000", 1000);
    cr_assert_not(rsw_match_compatible(a, b, RSW_MATCH_WINDOW));
    cr_assert_not(rsw_match_compatible(a, d, RSW_MATCH_WINDOW));
    cr_assert_not(rsw_match_compatible(a, a, RSW_MATCH_WINDOW));
}

Test(match, lifetimes_must_overlap)
{
    struct rsw_proc *pc = proc(10, "/c", "h", "exec", 0), *ps = proc(20, "/s", "h", "exec", 0);
    struct rsw_conn *c = client(pc, "127.0.0.1:40000", "127.0.0.1:8080", 1000);
    struct rsw_conn *s =
        server(ps, "127.0.0.1:8080", "127.0.0.1:40000", 1000 + 10 * RSW_MATCH_WINDOW);
    cr_assert(rsw_match_compatible(c, s, RSW_MATCH_WINDOW), "an open end has no end yet");
    c->state = RSW_HELD; /* finished at ts 1000: the server's accept is far later */
    cr_assert_not(rsw_match_compatible(c, s, RSW_MATCH_WINDOW));
    s->start_ts = 1000 + RSW_MATCH_WINDOW / 2; /* accept shortly after the client closed */
    cr_assert(rsw_match_compatible(c, s, RSW_MATCH_WINDOW));
}

Test(match, refused_connect_is_not_matchable)
{
    struct rsw_proc *pc = proc(10, "/c", "h", "exec", 0);
    struct rsw_conn *c = track(rsw_conn_new(pc, 1, 1000));
    feed(c, "{\"v\":1,\"ts\":1000,\"pid\":10,\"ev\":\"connect\",\"call\":\"connect\",\"fd\":3,"
            "\"conn\":1,\"family\":\"inet\",\"local\":\"127.0.0.1:1\",\"peer\":\"127.0.0.1:2\","
            "\"ret\":-1,\"errno\":\"ECONNREFUSED\"}");
    cr_assert_not(rsw_conn_matchable(c));
    cr_assert_str_eq(c->facts.err_errno, "ECONNREFUSED");
}

Test(match, peer_facts_from_the_other_end)
{
    struct rsw_proc *pc = proc(10, "/c", "h", "exec", 0), *ps = proc(20, "/s", "h", "exec", 0);
    struct rsw_conn *c = client(pc, "127.0.0.1:40000", "127.0.0.1:8080", 1000);
    struct rsw_conn *s = server(ps, "127.0.0.1:8080", "127.0.0.1:40000", 1500);
    feed(s,
         "{\"v\":1,\"ts\":2000,\"pid\":20,\"ev\":\"close\",\"call\":\"close\",\"fd\":4,\"conn\":7,"
         "\"bytes_in\":5000,\"bytes_out\":0,\"ret\":0}");
    feed(c, "{\"v\":1,\"ts\":9000,\"pid\":10,\"ev\":\"signal\",\"sig\":\"SIGPIPE\",\"action\":"
            "\"kill\",\"call\":\"write\",\"fd\":3,\"conn\":1,\"bytes_out\":135000}");
    rsw_match_peer_facts(c, s);
    cr_assert(c->facts.have_peer);
    cr_assert_eq(c->facts.peer_close_ts, 2000);
    cr_assert_eq(c->facts.peer_bytes_in, 5000);
    cr_assert_str_eq(c->facts.err_errno, "EPIPE", "a killing SIGPIPE stands for the EPIPE");
    cr_assert_eq(c->facts.err_bytes_out, 135000);
    struct rsw_verdict v;
    rsw_verdict_decide(&c->facts, &v);
    cr_assert_eq(v.kind, RSW_V_WRITE_AFTER_PEER_CLOSE);
    cr_assert_eq(v.bytes_after_peer_close, 130000);
}

Test(match, peer_killed_without_close_counts_as_closed)
{
    struct rsw_proc *ps = proc(20, "/s", "h", "exec", 0);
    struct rsw_conn *s = server(ps, "127.0.0.1:8080", "127.0.0.1:40000", 1500);
    ps->killed_by = "SIGPIPE";
    struct rsw_proc *pc = proc(10, "/c", "h", "exec", 0);
    struct rsw_conn *c = client(pc, "127.0.0.1:40000", "127.0.0.1:8080", 1000);
    rsw_match_peer_facts(c, s);
    cr_assert_eq(c->facts.peer_close_ts, 1500);
}

Test(match, restart_of_the_same_server_is_found)
{
    struct rsw_proc *s1 = proc(5101, "/opt/server", "beta", "exec", 500);
    struct rsw_proc *pc = proc(5102, "/opt/client", "alpha", "exec", 900);
    struct rsw_proc *fork = proc(5105, "/opt/server", "beta", "fork", 1500);
    struct rsw_proc *other = proc(5106, "/opt/server", "gamma", "exec", 1600);
    struct rsw_proc *s2 = proc(733, "/opt/server", "beta", "exec", 2000);
    s1->next = pc;
    pc->next = fork;
    fork->next = other;
    other->next = s2;
    struct rsw_conn *c = client(pc, "10.77.0.1:40110", "10.77.0.2:8080", 1000);
    feed(c, "{\"v\":1,\"ts\":3000,\"pid\":5102,\"ev\":\"error\",\"call\":\"read\",\"op\":\"read\","
            "\"fd\":3,\"conn\":1,\"ret\":-1,\"errno\":\"ECONNRESET\"}");
    cr_assert_eq(rsw_match_restart(c, s1, s1), s2);
    s2->start_ts = 3500; /* after our error: not a restart under us */
    cr_assert_null(rsw_match_restart(c, s1, s1));
    cr_assert_null(rsw_match_restart(c, NULL, s1));
}

/* A failed connect is logged as a `connect` line and an `error` line for the same call: the
 * timeline keeps one event, the error (it has the backtrace), at the connect's time. */
Test(match, failed_connect_shows_once)
{
    struct rsw_proc *pc = proc(10, "/c", "h", "exec", 0);
    struct rsw_conn *c = rsw_conn_new(pc, 1, 1000);
    feed(c, "{\"v\":1,\"ts\":1000,\"pid\":10,\"ev\":\"connect\",\"call\":\"connect\",\"fd\":3,"
            "\"conn\":1,\"family\":\"inet\",\"local\":\"127.0.0.1:1\",\"peer\":\"127.0.0.1:2\","
            "\"ret\":-1,\"errno\":\"ECONNREFUSED\"}");
    feed(c,
         "{\"v\":1,\"ts\":1007,\"pid\":10,\"ev\":\"error\",\"call\":\"connect\",\"op\":\"connect\","
         "\"fd\":3,\"conn\":1,\"family\":\"inet\",\"peer\":\"127.0.0.1:2\",\"ret\":-1,"
         "\"errno\":\"ECONNREFUSED\",\"bt\":[{\"ip\":\"0x1\",\"obj\":\"/c\",\"off\":\"0x1\"}]}");
    feed(c, "{\"v\":1,\"ts\":1200,\"pid\":10,\"ev\":\"close\",\"call\":\"close\",\"fd\":3,"
            "\"conn\":1,\"ret\":0,\"bytes_in\":0,\"bytes_out\":0}");
    cr_assert_eq(json_array_size(c->events), 2);
    json_t *e = json_array_get(c->events, 0);
    cr_assert_str_eq(json_string_value(json_object_get(e, "ev")), "error");
    cr_assert_str_eq(json_string_value(json_object_get(e, "errno")), "ECONNREFUSED");
    cr_assert_str_eq(json_string_value(json_object_get(e, "text")), "connect → -1 ECONNREFUSED");
    cr_assert_eq(json_integer_value(json_object_get(e, "ts")), 1000);
    cr_assert(json_is_array(json_object_get(e, "bt")));
    cr_assert_eq(json_integer_value(json_object_get(c->errnos, "ECONNREFUSED")), 1);
    cr_assert_eq(c->facts.err_ts, 1000);
    rsw_conn_free(c);
}

/* A pending connect (EINPROGRESS) and its later failure are two calls: both stay. A connect
 * whose errno is not followed by an error line keeps its own line. */
Test(match, pending_connect_and_its_failure_both_stay)
{
    struct rsw_proc *pc = proc(10, "/c", "h", "exec", 0);
    struct rsw_conn *c = rsw_conn_new(pc, 1, 1000);
    feed(c, "{\"v\":1,\"ts\":1000,\"pid\":10,\"ev\":\"connect\",\"call\":\"connect\",\"fd\":3,"
            "\"conn\":1,\"family\":\"inet\",\"local\":\"10.0.0.1:5\",\"peer\":\"10.0.0.9:80\","
            "\"ret\":-1,\"errno\":\"EINPROGRESS\",\"nonblock\":true}");
    feed(c, "{\"v\":1,\"ts\":9000,\"pid\":10,\"ev\":\"error\",\"call\":\"getsockopt\",\"op\":"
            "\"connect\",\"fd\":3,\"conn\":1,\"ret\":0,\"errno\":\"ETIMEDOUT\"}");
    cr_assert_eq(json_array_size(c->events), 2);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(c->events, 0), "ev")),
                     "connect");
    rsw_conn_free(c);
    struct rsw_conn *d = rsw_conn_new(pc, 2, 1000);
    feed(d, "{\"v\":1,\"ts\":1000,\"pid\":10,\"ev\":\"connect\",\"call\":\"connect\",\"fd\":3,"
            "\"conn\":2,\"family\":\"inet\",\"local\":\"10.0.0.1:6\",\"peer\":\"10.0.0.9:80\","
            "\"ret\":-1,\"errno\":\"EADDRNOTAVAIL\"}");
    feed(d, "{\"v\":1,\"ts\":1100,\"pid\":10,\"ev\":\"close\",\"call\":\"close\",\"fd\":3,"
            "\"conn\":2,\"ret\":0}");
    cr_assert_eq(json_array_size(d->events), 2);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(d->events, 0), "ev")),
                     "connect");
    rsw_conn_free(d);
}

/* What a read returning 0 is called depends on the channel. */
Test(match, eof_words_per_family)
{
    static const char *const fam[][2] = {
        {"inet", "read → 0: the peer's FIN (in 7 B, out 0 B)"},
        {"unix", "read → 0: the peer closed its end (in 7 B, out 0 B)"},
        {"pipe", "read → 0: the writer closed its end (in 7 B, out 0 B)"}};
    struct rsw_proc *pc = proc(10, "/c", "h", "exec", 0);
    for (size_t i = 0; i < 3; i++) {
        struct rsw_conn *c = rsw_conn_new(pc, 1, 1000);
        char line[300];
        snprintf(line, sizeof line,
                 "{\"v\":1,\"ts\":1000,\"pid\":10,\"ev\":\"eof\",\"call\":\"read\",\"fd\":3,"
                 "\"conn\":1,\"family\":\"%s\",\"bytes_in\":7,\"bytes_out\":0}",
                 fam[i][0]);
        feed(c, line);
        cr_assert_str_eq(json_string_value(json_object_get(json_array_get(c->events, 0), "text")),
                         fam[i][1]);
        cr_assert_str_eq(c->facts.family, fam[i][0]);
        rsw_conn_free(c);
    }
}
