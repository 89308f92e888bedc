/* test_engine.c: Criterion tests for the streaming engine (report.c): both ends are paired
 * whatever order their lines arrive in, and unmatched finished connections are held only for the
 * match window. Logs are written to temporary files and fed through rsw_report(). */
#include "match.h"
#include "report.h"
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define B 1714564820000000000LL
#define MS 1000000LL

/* A renderer that keeps every reported CONN, in report order. */
static json_t *got;

static void *cap_begin(const struct rsw_render_opts *o)
{
    (void)o;
    got = json_array();
    return got;
}

static void cap_conn(void *state, json_t *conn)
{
    json_array_append(state, conn);
}

static int cap_end(void *state, json_t *summary)
{
    (void)state;
    (void)summary;
    return 0;
}

static const struct rsw_renderer capture = {"capture", cap_begin, cap_conn, cap_end};

struct logfile {
    char path[64];
    FILE *f;
    int seq;
    long long pid;
};

static void log_open(struct logfile *l, long long pid, const char *exe, long long ts)
{
    snprintf(l->path, sizeof l->path, "/tmp/rsw-test-engine-XXXXXX");
    int fd = mkstemp(l->path);
    cr_assert(fd >= 0);
    l->f = fdopen(fd, "w");
    l->seq = 0;
    l->pid = pid;
    fprintf(l->f,
            "{\"v\":1,\"ts\":%lld,\"seq\":%d,\"pid\":%lld,\"tid\":%lld,\"ev\":\"start\","
            "\"origin\":\"exec\",\"exe\":\"%s\",\"argv\":[\"%s\"],\"ppid\":1,\"host\":\"h\","
            "\"lib\":\"0.1.0\"}\n",
            ts, l->seq++, pid, pid, exe, exe);
}

/* One line: the common fields, then the event's own (a JSON object body without braces). */
static void log_line(struct logfile *l, long long ts, const char *ev, const char *fields)
{
    fprintf(l->f, "{\"v\":1,\"ts\":%lld,\"seq\":%d,\"pid\":%lld,\"tid\":%lld,\"ev\":\"%s\",%s}\n",
            ts, l->seq++, l->pid, l->pid, ev, fields);
}

static void log_close(struct logfile *l)
{
    fclose(l->f);
}

static void run_report(struct logfile *logs, int n)
{
    char *paths[4];
    for (int i = 0; i < n; i++)
        paths[i] = logs[i].path;
    struct rsw_report_opts o = {.flt = {.verdict = -1}, .quiet = 1, .renderer = &capture};
    cr_assert_eq(rsw_report(paths, n, &o, NULL), 0);
    for (int i = 0; i < n; i++)
        unlink(paths[i]);
}

static json_t *conn_of(long long pid, long long conn)
{
    size_t i;
    json_t *c;
    json_array_foreach(got, i, c)
    {
        if (json_integer_value(json_object_get(c, "pid")) == pid &&
            json_integer_value(json_object_get(c, "conn")) == conn)
            return c;
    }
    return NULL;
}

static const char *str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void server_accept_close(struct logfile *s, long long conn, const char *client_addr,
                                long long accept_ts, long long close_ts)
{
    char f[256];
    snprintf(f, sizeof f,
             "\"call\":\"accept\",\"fd\":4,\"lfd\":3,\"conn\":%lld,\"family\":\"inet\","
             "\"local\":\"127.0.0.1:8080\",\"peer\":\"%s\"",
             conn, client_addr);
    log_line(s, accept_ts, "accept", f);
    if (close_ts) {
        snprintf(f, sizeof f,
                 "\"call\":\"close\",\"fd\":4,\"conn\":%lld,\"family\":\"inet\",\"peer\":\"%s\","
                 "\"ret\":0,\"bytes_in\":0,\"bytes_out\":0",
                 conn, client_addr);
        log_line(s, close_ts, "close", f);
    }
}

/* connect at connect_ts, EPIPE on a send 20 ms later (5000 B unacked), close. */
static void client_write_after_close(struct logfile *c, long long conn, const char *local,
                                     long long connect_ts)
{
    char f[400];
    snprintf(f, sizeof f,
             "\"call\":\"connect\",\"fd\":3,\"conn\":%lld,\"family\":\"inet\",\"local\":\"%s\","
             "\"peer\":\"127.0.0.1:8080\",\"ret\":0,\"nonblock\":false",
             conn, local);
    log_line(c, connect_ts, "connect", f);
    snprintf(f, sizeof f,
             "\"call\":\"send\",\"op\":\"write\",\"fd\":3,\"conn\":%lld,\"family\":\"inet\","
             "\"peer\":\"127.0.0.1:8080\",\"ret\":-1,\"errno\":\"EPIPE\",\"bytes_in\":0,"
             "\"bytes_out\":5000,\"tcp\":{\"state\":\"CLOSE\",\"bytes_acked\":1,"
             "\"bytes_received\":1,\"unacked\":5000}",
             conn);
    log_line(c, connect_ts + 20 * MS, "error", f);
    snprintf(f, sizeof f,
             "\"call\":\"close\",\"fd\":3,\"conn\":%lld,\"family\":\"inet\",\"peer\":"
             "\"127.0.0.1:8080\",\"ret\":0,\"bytes_in\":0,\"bytes_out\":5000",
             conn);
    log_line(c, connect_ts + 21 * MS, "close", f);
}

static void assert_paired_wapc(long long cpid, long long cconn, long long spid, long long sconn)
{
    json_t *c = conn_of(cpid, cconn);
    cr_assert(c, "client conn %lld:%lld not reported", cpid, cconn);
    json_t *ps = json_object_get(c, "peer_side");
    cr_assert(json_is_object(ps), "client conn %lld:%lld: the server's side was not matched", cpid,
              cconn);
    cr_assert_eq(json_integer_value(json_object_get(ps, "pid")), spid);
    cr_assert_eq(json_integer_value(json_object_get(ps, "conn")), sconn);
    cr_assert_str_eq(str(ps, "role"), "server");
    cr_assert_str_eq(str(c, "verdict"), "write-after-peer-close");
    cr_assert_eq(json_integer_value(json_object_get(c, "bytes_after_peer_close")), 5000);
    cr_assert_null(conn_of(spid, sconn), "the server's end was also reported on its own");
}

/* Loopback: the server's accept and close are both logged before the client's connect()
 * returns and is logged (each side logs after its call returns). */
Test(engine, server_accept_and_close_before_client_connect_pair)
{
    struct logfile l[2];
    log_open(&l[0], 100, "/srv", B);
    log_open(&l[1], 200, "/cli", B + 1);
    server_accept_close(&l[0], 1, "127.0.0.1:40000", B + 1 * MS, B + 1 * MS + 50000);
    log_close(&l[0]);
    client_write_after_close(&l[1], 1, "127.0.0.1:40000", B + 1 * MS + 300000);
    log_close(&l[1]);
    run_report(l, 2);
    cr_assert_eq(json_array_size(got), 1);
    assert_paired_wapc(200, 1, 100, 1);
    json_t *ev = json_object_get(conn_of(200, 1), "events");
    cr_assert_str_eq(str(json_array_get(ev, 0), "ev"), "accept");
    cr_assert_str_eq(str(json_array_get(ev, 1), "ev"), "close");
    cr_assert_str_eq(str(json_array_get(ev, 1), "side"), "peer");
    cr_assert_lt(json_integer_value(json_object_get(json_array_get(ev, 1), "t")), 0);
    json_decref(got);
}

/* The same ordering on a busy machine: the client's connect line comes 700 ms after the
 * server's close (more than the 200 ms an earlier version waited). */
Test(engine, late_client_connect_within_the_window_pairs)
{
    struct logfile l[2];
    log_open(&l[0], 100, "/srv", B);
    log_open(&l[1], 200, "/cli", B + 1);
    server_accept_close(&l[0], 1, "127.0.0.1:40000", B + 1 * MS, B + 1 * MS + 50000);
    log_close(&l[0]);
    client_write_after_close(&l[1], 1, "127.0.0.1:40000", B + 701 * MS);
    log_close(&l[1]);
    run_report(l, 2);
    cr_assert_eq(json_array_size(got), 1);
    assert_paired_wapc(200, 1, 100, 1);
    json_decref(got);
}

/* A killed server: its log ends at the accept, before the client's connect line. */
Test(engine, killed_server_whose_log_ended_before_connect_pairs)
{
    struct logfile l[2];
    log_open(&l[0], 100, "/srv", B);
    log_open(&l[1], 200, "/cli", B + 1);
    server_accept_close(&l[0], 1, "127.0.0.1:40000", B + 1 * MS, 0);
    log_close(&l[0]);
    client_write_after_close(&l[1], 1, "127.0.0.1:40000", B + 1 * MS + 300000);
    log_close(&l[1]);
    run_report(l, 2);
    cr_assert_eq(json_array_size(got), 1);
    json_t *ps = json_object_get(conn_of(200, 1), "peer_side");
    cr_assert(json_is_object(ps), "the killed server's side was not matched");
    cr_assert_eq(json_integer_value(json_object_get(ps, "pid")), 100);
    json_decref(got);
}

/* Finished connections are held only for the window: a server end finished at 1 ms is not
 * paired with a connect logged 3 s later, and it is reported as soon as the log time passes
 * the window, before a pair that finishes later (not kept until the end of the input). */
Test(engine, held_connections_leave_after_the_window)
{
    struct logfile l[2];
    log_open(&l[0], 100, "/srv", B);
    log_open(&l[1], 200, "/cli", B + 1);
    server_accept_close(&l[0], 1, "127.0.0.1:40000", B + 1 * MS, B + 1 * MS + 50000);
    server_accept_close(&l[0], 2, "127.0.0.1:40002", B + 3500 * MS, B + 3500 * MS + 50000);
    log_close(&l[0]);
    client_write_after_close(&l[1], 1, "127.0.0.1:40000", B + 3001 * MS);
    client_write_after_close(&l[1], 2, "127.0.0.1:40002", B + 3500 * MS + 300000);
    log_close(&l[1]);
    run_report(l, 2);
    cr_assert_eq(json_array_size(got), 3);
    json_t *first = json_array_get(got, 0);
    cr_assert_eq(json_integer_value(json_object_get(first, "pid")), 100,
                 "the stale server end "
                 "was not reported first");
    cr_assert_eq(json_integer_value(json_object_get(first, "conn")), 1);
    cr_assert(json_is_null(json_object_get(first, "peer_side")));
    cr_assert(json_is_null(json_object_get(conn_of(200, 1), "peer_side")),
              "paired with an end that finished 3 s before it started");
    assert_paired_wapc(200, 2, 100, 2);
    json_decref(got);
}

/* The client finished first and the server's accept is logged later (a slow accept loop). */
Test(engine, client_finished_before_server_accept_pairs)
{
    struct logfile l[2];
    log_open(&l[0], 100, "/srv", B);
    log_open(&l[1], 200, "/cli", B + 1);
    client_write_after_close(&l[1], 1, "127.0.0.1:40000", B + 1 * MS);
    log_close(&l[1]);
    server_accept_close(&l[0], 1, "127.0.0.1:40000", B + 900 * MS, B + 900 * MS + 50000);
    log_close(&l[0]);
    run_report(l, 2);
    cr_assert_eq(json_array_size(got), 1);
    cr_assert(json_is_object(json_object_get(conn_of(200, 1), "peer_side")));
    json_decref(got);
}
