/* test_logwriter.c: the log writer alone: the RSTWATCH_LOG_MAX cap, writes that fail and come
 * back (lost lines with exact counts), torn lines, an fd closed behind its back, threads, fork. */
#include "config.h"
#include "line.h"
#include "logwriter.h"
#include "proc.h"
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char dir[] = "/tmp/rsw-unit-lw-XXXXXX";
static char tmpl[300], fifo[300];

static void setup(void)
{
    cr_assert_not_null(mkdtemp(dir));
    snprintf(tmpl, sizeof tmpl, "%s/log.%%p", dir);
    rsw_cfg.log = tmpl;
    rsw_cfg.log_max = 0;
    rsw_cfg.secure = 0;
    rsw_proc_init("/some/dir/unit");
}

static void setup_quiet(void)
{
    setup();
    cr_redirect_stderr();
}

TestSuite(logwriter, .init = setup_quiet);

static void open_log(unsigned long long log_max)
{
    rsw_cfg.log_max = log_max;
    rsw_log_open();
    cr_assert(rsw_log_enabled());
}

/* A JSON line of exactly size bytes, '\n' included, numbered i. */
static size_t make_line(char *buf, size_t size, int i)
{
    if (size < 40)
        cr_assert_fail("make_line: %zu bytes is too short", size);
    int n = snprintf(buf, size, "{\"i\":%d,\"pad\":\"", i);
    memset(buf + n, 'x', size - (size_t)n - 3);
    memcpy(buf + size - 3, "\"}\n", 3);
    return size;
}

static char *read_all(const char *p, size_t *len)
{
    FILE *f = fopen(p, "r");
    cr_assert_not_null(f, "%s", p);
    static char buf[1 << 20];
    *len = fread(buf, 1, sizeof buf - 1, f);
    buf[*len] = 0;
    fclose(f);
    return buf;
}

/* The lines of a log file, parsed; every line complete and JSON. */
static json_t *lines_of(const char *p)
{
    size_t len;
    char *s = read_all(p, &len);
    cr_assert(len == 0 || s[len - 1] == '\n', "the last line is complete");
    json_t *arr = json_array();
    for (char *l = s; *l;) {
        char *e = strchr(l, '\n');
        json_error_t err;
        json_t *v = json_loadb(l, (size_t)(e - l), 0, &err);
        cr_assert_not_null(v, "not JSON: %.*s", (int)(e - l), l);
        json_array_append_new(arr, v);
        l = e + 1;
    }
    return arr;
}

static const char *log_path(void)
{
    static char p[300];
    snprintf(p, sizeof p, "%s/log.%d", dir, getpid());
    return p;
}

static const char *s(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static json_int_t n(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static off_t size_of(const char *p)
{
    struct stat st;
    cr_assert_eq(stat(p, &st), 0, "%s", p);
    return st.st_size;
}

static void assert_stderr(const char *want)
{
    fflush(stderr);
    cr_assert_stderr_eq_str(want);
}

/* 30 lines of 100 bytes fit in 4096 - 1024; the 31st does not: the log_max line instead, then
 * nothing; rsw_log_finish adds the lost line with the exact count, once. */
Test(logwriter, cap_keeps_the_lines_that_fit_then_log_max_then_lost)
{
    open_log(4096);
    char line[100];
    for (int i = 0; i < 50; i++) {
        errno = EXDEV;
        int r = rsw_log_write(line, make_line(line, sizeof line, i));
        cr_assert_eq(r, i < 30, "line %d: returned %d", i, r);
        cr_assert_eq(errno, EXDEV, "errno preserved");
    }
    json_t *all = lines_of(log_path());
    cr_assert_eq(json_array_size(all), 31, "30 lines and the log_max line");
    for (int i = 0; i < 30; i++)
        cr_assert_eq(n(json_array_get(all, (size_t)i), "i"), i);
    json_t *m = json_array_get(all, 30);
    cr_assert_str_eq(s(m, "ev"), "log_max");
    cr_assert_eq(n(m, "log_max"), 4096);
    cr_assert_eq(n(m, "v"), 3);
    cr_assert_eq(n(m, "pid"), getpid());
    json_decref(all);

    rsw_log_finish();
    all = lines_of(log_path());
    cr_assert_eq(json_array_size(all), 32);
    json_t *lost = json_array_get(all, 31);
    cr_assert_str_eq(s(lost, "ev"), "lost");
    cr_assert_str_eq(s(lost, "reason"), "log_max");
    cr_assert_eq(n(lost, "events"), 20);
    cr_assert_eq(n(lost, "seq"), n(m, "seq") + 1);
    json_decref(all);
    off_t size = size_of(log_path());
    cr_assert_leq(size, 4096);
    rsw_log_finish();
    cr_assert_eq(size_of(log_path()), size, "a second finish writes nothing");

    char want[600];
    snprintf(want, sizeof want,
             "rstwatch: pid %d (unit): the log %s reached RSTWATCH_LOG_MAX (4096 bytes); further "
             "events are counted, not written\n",
             getpid(), log_path());
    assert_stderr(want);
}

/* Up to the last byte: a line that ends exactly at log_max - reserve fits. */
Test(logwriter, a_line_ending_at_the_limit_fits)
{
    open_log(2048);
    char line[1024];
    cr_assert_eq(rsw_log_write(line, make_line(line, 984, 0)), 1);
    cr_assert_eq(rsw_log_write(line, make_line(line, 40, 1)), 1, "984 + 40 = 2048 - 1024");
    cr_assert_eq(rsw_log_write(line, make_line(line, 40, 2)), 0);
    cr_assert_eq(rsw_log_write(line, make_line(line, 40, 3)), 0, "and nothing after the cap");
    rsw_log_finish();
    json_t *all = lines_of(log_path());
    cr_assert_eq(json_array_size(all), 4);
    cr_assert_str_eq(s(json_array_get(all, 2), "ev"), "log_max");
    cr_assert_eq(n(json_array_get(all, 3), "events"), 2);
    json_decref(all);
}

Test(logwriter, finish_without_losses_writes_nothing)
{
    open_log(4096);
    char line[100];
    cr_assert_eq(rsw_log_write(line, make_line(line, sizeof line, 0)), 1);
    rsw_log_finish();
    rsw_log_finish();
    cr_assert_eq(size_of(log_path()), 100);
    assert_stderr("");
}

Test(logwriter, no_cap_when_log_max_is_0)
{
    open_log(0);
    char line[1000];
    for (int i = 0; i < 300; i++)
        cr_assert_eq(rsw_log_write(line, make_line(line, sizeof line, i)), 1);
    rsw_log_finish();
    cr_assert_eq(size_of(log_path()), 300000);
}

Test(logwriter, without_a_log_nothing_is_written_and_finish_is_safe)
{
    rsw_log_finish(); /* never opened */
    rsw_cfg.secure = 1;
    rsw_log_open();
    cr_assert(!rsw_log_enabled());
    char line[100];
    cr_assert_eq(rsw_log_write(line, make_line(line, sizeof line, 0)), 0);
    rsw_log_finish();
    assert_stderr("");
}

/* /dev/full: every write fails with ENOSPC. Said once; the program's errno is untouched. */
Test(logwriter, a_log_that_cannot_be_written_says_so_once)
{
    rsw_cfg.log = "/dev/full";
    open_log(0);
    char line[100];
    for (int i = 0; i < 5; i++) {
        errno = EXDEV;
        cr_assert_eq(rsw_log_write(line, make_line(line, sizeof line, i)), 0);
        cr_assert_eq(errno, EXDEV);
    }
    rsw_log_finish(); /* tries the lost line once more: fails, silently */
    char want[300];
    snprintf(want, sizeof want,
             "rstwatch: pid %d (unit): cannot write the log /dev/full (ENOSPC); events are "
             "counted until it can\n",
             getpid());
    assert_stderr(want);
}

/* A FIFO as the log, its write end non-blocking, the pipe one page: writes fail with EAGAIN
 * until the test reads. Returns the read end. */
static int fifo_log(void)
{
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    cr_assert_eq(mkfifo(fifo, 0600), 0);
    int rd = open(fifo, O_RDONLY | O_NONBLOCK);
    cr_assert_geq(rd, 0);
    rsw_cfg.log = fifo;
    open_log(0);
    int wfd = rsw_log_fd();
    cr_assert_eq(fcntl(wfd, F_SETFL, fcntl(wfd, F_GETFL) | O_NONBLOCK), 0);
    cr_assert_eq(fcntl(rd, F_SETPIPE_SZ, 4096), 4096);
    return rd;
}

static size_t drain(int rd, char *buf, size_t cap)
{
    size_t got = 0;
    ssize_t r;
    while (got < cap && (r = read(rd, buf + got, cap - got)) > 0)
        got += (size_t)r;
    buf[got] = 0;
    return got;
}

/* Writing works again: the line, then {"ev":"lost","reason":"write_failed","errno":...} with the
 * exact number of lines that failed. */
Test(logwriter, lost_line_after_the_log_works_again)
{
    int rd = fifo_log();
    char line[100], buf[16384];
    int ok = 0, failed = 0;
    for (int i = 0; failed < 7; i++)
        if (rsw_log_write(line, make_line(line, sizeof line, i)))
            ok++;
        else
            failed++;
    cr_assert_eq(ok, 40, "4096 / 100 lines fit in the pipe");
    cr_assert_eq(drain(rd, buf, sizeof buf - 1), 4000);
    cr_assert_eq(rsw_log_write(line, make_line(line, sizeof line, 99)), 1);
    size_t got = drain(rd, buf, sizeof buf - 1);
    cr_assert_gt(got, 100);
    cr_assert(!memcmp(buf, line, 100), "the line first");
    json_error_t err;
    json_t *lost = json_loadb(buf + 100, got - 100, 0, &err);
    cr_assert_not_null(lost, "%s", buf + 100);
    cr_assert_str_eq(s(lost, "ev"), "lost");
    cr_assert_str_eq(s(lost, "reason"), "write_failed");
    cr_assert_str_eq(s(lost, "errno"), "EAGAIN");
    cr_assert_eq(n(lost, "events"), 7);
    json_decref(lost);
    cr_assert_eq(rsw_log_write(line, make_line(line, sizeof line, 100)), 1);
    cr_assert_eq(drain(rd, buf, sizeof buf - 1), 100, "reported once");
    char want[600];
    snprintf(want, sizeof want,
             "rstwatch: pid %d (unit): cannot write the log %s (EAGAIN); events are counted "
             "until it can\n",
             getpid(), fifo);
    assert_stderr(want);
}

/* A short write into a log others may write too (not a per-process file): the fragment stays,
 * and the next line begins with "\n", in the same write. */
Test(logwriter, after_a_short_write_the_next_line_starts_fresh)
{
    int rd = fifo_log();
    char small[100], big[6000], buf[16384];
    cr_assert_eq(rsw_log_write(small, make_line(small, sizeof small, 0)), 1);
    cr_assert_eq(rsw_log_write(big, make_line(big, sizeof big, 1)), 0);
    size_t k = drain(rd, buf, sizeof buf - 1) - 100;
    cr_assert(k > 0 && k < sizeof big, "a short write (%zu bytes)", k);
    cr_assert(!memcmp(buf + 100, big, k));
    cr_assert_eq(rsw_log_write(small, make_line(small, sizeof small, 2)), 1);
    size_t got = drain(rd, buf, sizeof buf - 1);
    cr_assert_gt(got, 101);
    cr_assert_eq(buf[0], '\n', "the fragment is ended first");
    cr_assert(!memcmp(buf + 1, small, 100));
    json_error_t err;
    json_t *lost = json_loadb(buf + 101, got - 101, 0, &err);
    cr_assert_not_null(lost, "%s", buf + 101);
    cr_assert_eq(n(lost, "events"), 1);
    cr_assert_null(json_object_get(lost, "errno"), "a short write has no errno");
    json_decref(lost);
    cr_assert_eq(rsw_log_write(small, make_line(small, sizeof small, 3)), 1);
    cr_assert_eq(drain(rd, buf, sizeof buf - 1), 100, "one \"\\n\" only");
    char want[600];
    snprintf(want, sizeof want,
             "rstwatch: pid %d (unit): cannot write the log %s (short write: %zu of 6000 bytes); "
             "events are counted until it can\n",
             getpid(), fifo, k);
    assert_stderr(want);
}

/* RLIMIT_FSIZE: a write past it would raise SIGXFSZ (death by default). The writer never makes
 * one: EFBIG, counted; the lost line once the limit is raised (noticed within a second). */
Test(logwriter, rlimit_fsize_fails_the_line_without_a_signal)
{
    struct rlimit rl;
    cr_assert_eq(getrlimit(RLIMIT_FSIZE, &rl), 0);
    struct rlimit low = {1000, rl.rlim_max};
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &low), 0);
    open_log(0);
    char line[100];
    for (int i = 0; i < 10; i++)
        cr_assert_eq(rsw_log_write(line, make_line(line, sizeof line, i)), 1);
    for (int i = 10; i < 13; i++)
        cr_assert_eq(rsw_log_write(line, make_line(line, sizeof line, i)), 0);
    cr_assert_eq(size_of(log_path()), 1000);
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &t0);
    do { /* the writer reads the limit again at its once-a-second check */
        usleep(10000);
        clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
    } while (t.tv_sec == t0.tv_sec);
    cr_assert_eq(rsw_log_write(line, make_line(line, sizeof line, 13)), 1);
    json_t *all = lines_of(log_path());
    cr_assert_eq(json_array_size(all), 12);
    json_t *lost = json_array_get(all, 11);
    cr_assert_str_eq(s(lost, "errno"), "EFBIG");
    cr_assert_eq(n(lost, "events"), 3);
    json_decref(all);
    char want[600];
    snprintf(want, sizeof want,
             "rstwatch: pid %d (unit): cannot write the log %s (EFBIG); events are counted until "
             "it can\n",
             getpid(), log_path());
    assert_stderr(want);
}

/* The program closed the log's fd with a raw syscall: the write meets EBADF, the writer reopens
 * the file by path and the line is still written, without a word. */
Test(logwriter, an_fd_closed_behind_our_back_is_reopened_at_once)
{
    open_log(0);
    char line[100];
    cr_assert_eq(rsw_log_write(line, make_line(line, sizeof line, 0)), 1);
    syscall(SYS_close, rsw_log_fd());
    cr_assert_eq(rsw_log_write(line, make_line(line, sizeof line, 1)), 1);
    cr_assert(rsw_log_enabled());
    json_t *all = lines_of(log_path());
    cr_assert_eq(json_array_size(all), 2);
    json_decref(all);
    assert_stderr("");
}

struct burst {
    int lines, written;
};

static void *writer(void *arg)
{
    struct burst *b = arg;
    char line[100];
    for (int i = 0; i < b->lines; i++)
        b->written += rsw_log_write(line, make_line(line, sizeof line, i));
    return NULL;
}

/* 8 threads at once against the cap: lines written + lost = lines offered, exactly; the file
 * within log_max, every line whole. */
Test(logwriter, threads_at_the_cap_count_exactly)
{
    open_log(65536);
    pthread_t t[8];
    struct burst b[8];
    for (int i = 0; i < 8; i++) {
        b[i] = (struct burst){.lines = 500};
        pthread_create(&t[i], NULL, writer, &b[i]);
    }
    int written = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        written += b[i].written;
    }
    cr_assert_eq(written, (65536 - 1024) / 100);
    rsw_log_finish();
    json_t *all = lines_of(log_path());
    size_t nl = json_array_size(all);
    cr_assert_eq(nl, (size_t)written + 2);
    /* exactly one log_max line; where it lands among the last events depends on the threads (one
     * may have taken its bytes before the cap was hit and write after the log_max line) */
    size_t maxes = 0;
    for (size_t i = 0; i < nl; i++)
        maxes +=
            s(json_array_get(all, i), "ev") && !strcmp(s(json_array_get(all, i), "ev"), "log_max");
    cr_assert_eq(maxes, 1);
    cr_assert_str_eq(s(json_array_get(all, nl - 1), "ev"), "lost");
    cr_assert_eq(n(json_array_get(all, nl - 1), "events"), 4000 - written);
    json_decref(all);
    cr_assert_leq(size_of(log_path()), 65536);
}

/* A forked child with its own log counts from 0: the parent's bytes are not its. */
Test(logwriter, a_forked_child_counts_its_own_bytes)
{
    open_log(4096);
    char line[100];
    for (int i = 0; i < 30; i++)
        cr_assert_eq(rsw_log_write(line, make_line(line, sizeof line, i)), 1);
    pid_t c = fork();
    if (c == 0) { /* what the atfork handler does */
        rsw_proc_after_fork();
        rsw_line_after_fork();
        rsw_log_after_fork();
        int ok = 1;
        for (int i = 0; i < 30; i++)
            ok &= rsw_log_write(line, make_line(line, sizeof line, i));
        ok &= !rsw_log_write(line, make_line(line, sizeof line, 30));
        _exit(ok ? 0 : 1);
    }
    int st;
    cr_assert_eq(waitpid(c, &st, 0), c);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child wrote 30 lines, then met its cap");
    char cp[300];
    snprintf(cp, sizeof cp, "%s/log.%d", dir, c);
    json_t *all = lines_of(cp);
    cr_assert_eq(json_array_size(all), 31, "30 lines and its own log_max line");
    json_decref(all);
    cr_assert_eq(size_of(log_path()), 3000, "the parent's file untouched by the child");
    cr_assert_eq(rsw_log_write(line, make_line(line, sizeof line, 30)), 0);
}
