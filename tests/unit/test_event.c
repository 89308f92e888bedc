/* test_event.c: events end to end through the core (writer, log file, backtrace), no preload. */
#include "backtrace.h"
#include "config.h"
#include "event.h"
#include "fdtable.h"
#include "logwriter.h"
#include "modmap.h"
#include "proc.h"
#include "rsw_schema.h"
#include "say.h"
#include "unit_log.h"
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static void setup(void)
{
    unit_log_start(RSW_EVENTS_CONN);
}

TestSuite(event, .init = setup);

__attribute__((noinline)) void report_from_a_named_function(struct rsw_fd *e)
{
    struct rsw_evinfo in = RSW_EVINFO_INIT;
    in.ev = RSW_EV_ERROR, in.call = "write", in.op = "write", in.fd = 7, in.e = e;
    in.has_ret = 1, in.ret = -1, in.err = ECONNRESET, in.backtrace = 1;
    rsw_ev_emit(&in);
}

Test(event, start_and_error_lines)
{
    struct rsw_fd e = {.state = RSW_FD_WATCHED,
                       .family = RSW_FAM_INET6,
                       .conn = 9,
                       .bytes_in = 10,
                       .bytes_out = 20,
                       .cookie = 77};
    strcpy(e.peer, "[::1]:8080");
    rsw_ev_start("exec");
    report_from_a_named_function(&e);
    json_t *all = lines();
    size_t nl = json_array_size(all);
    cr_assert_eq(nl, 3 + rsw_mod_count(),
                 "start, the module lines the backtrace needs, its stack line, error");
    json_t *st = json_array_get(all, 0), *er = json_array_get(all, nl - 1);
    json_t *sl = json_array_get(all, nl - 2);
    for (size_t i = 1; i + 2 < nl; i++)
        cr_assert_str_eq(s(json_array_get(all, i), "ev"), "module");
    cr_assert_str_eq(s(sl, "ev"), "stack");
    cr_assert_gt(n(sl, "id"), 0);
    cr_assert_eq(n(er, "stack"), n(sl, "id"), "the error refers to the stack line");
    cr_assert_null(json_object_get(er, "bt"), "its frames are in the stack line only");
    cr_assert_eq(n(st, "v"), RSW_SCHEMA_VERSION);
    cr_assert_str_eq(s(st, "ev"), "start");
    cr_assert_str_eq(s(st, "origin"), "exec");
    cr_assert_eq(n(st, "pid"), getpid());
    cr_assert_eq(n(st, "seq"), 0);
    cr_assert_eq(n(er, "seq"), (json_int_t)nl - 1, "after the lines written for it");
    cr_assert(json_is_array(json_object_get(st, "argv")));
    cr_assert_str_eq(s(er, "ev"), "error");
    cr_assert_str_eq(s(er, "errno"), "ECONNRESET");
    cr_assert_str_eq(s(er, "peer"), "[::1]:8080");
    cr_assert_str_eq(s(er, "family"), "inet6");
    cr_assert_eq(n(er, "conn"), 9);
    cr_assert_eq(n(er, "bytes_in"), 10);
    cr_assert_eq(n(er, "bytes_out"), 20);
    cr_assert_eq(n(er, "ret"), -1);
    cr_assert_eq(n(er, "tid"), syscall(SYS_gettid));
    cr_assert_gt(n(er, "ts"), 1700000000000000000ll);
    json_t *bt = json_object_get(sl, "bt");
    cr_assert(json_array_size(bt) >= 2, "a backtrace");
    int named = 0;
    Dl_info info;
    const ElfW(Sym) *sym = NULL; /* the caller's extent, whatever instrumentation made of it */
    cr_assert(dladdr1((void *)&report_from_a_named_function, &info, (void **)&sym, RTLD_DL_SYMENT));
    cr_assert_not_null(sym);
    uintptr_t lo = (uintptr_t)&report_from_a_named_function, hi = lo + sym->st_size;
    for (size_t i = 0; i < json_array_size(bt); i++) {
        json_t *f = json_array_get(bt, i);
        cr_assert(!strncmp(s(f, "ip"), "0x", 2));
        cr_assert_null(s(f, "obj"), "raw frames: no paths, no symbols");
        cr_assert_null(s(f, "sym"));
        uintptr_t ip = strtoull(s(f, "ip"), NULL, 16);
        const struct rsw_module *m = rsw_mod_find(ip);
        if (!m)
            continue;
        cr_assert_eq(n(f, "m"), m->id);
        cr_assert_eq(strtoull(s(f, "off"), NULL, 16), ip - m->base);
        if (ip > lo && ip <= hi) {
            cr_assert_str_eq(m->path, rsw_self.exe, "the test program, by its real path");
            named = 1;
        }
    }
    cr_assert(named, "the caller's frame is there, in the program's module");
    json_decref(all);
}

Test(event, start_names_the_program_as_invoked)
{
    rsw_ev_start("exec");
    json_t *all = lines();
    json_t *st = json_array_get(all, 0);
    cr_assert_str_eq(s(st, "name"), "unit");
    char exe[4096];
    ssize_t l = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[l > 0 ? l : 0] = 0;
    cr_assert_str_eq(s(st, "exe"), exe);
    json_decref(all);
}

Test(event, module_lines_map_ids_to_paths_once)
{
    struct rsw_fd e = {.state = RSW_FD_WATCHED, .family = RSW_FAM_INET, .conn = 3};
    strcpy(e.peer, "127.0.0.1:80");
    for (volatile int i = 0; i < 2;
         i++) /* one call site; the modules are on disk after the first */
        report_from_a_named_function(&e);
    json_t *all = lines();
    size_t nm = rsw_mod_count();
    cr_assert_eq(json_array_size(all), nm + 3,
                 "one line a module, the stack line once, then the two errors");
    int with_build_id = 0;
    for (size_t i = 0; i < nm; i++) {
        json_t *ml = json_array_get(all, i);
        const struct rsw_module *m = rsw_mod_at(i);
        cr_assert_str_eq(s(ml, "ev"), "module");
        cr_assert_eq(n(ml, "id"), m->id);
        cr_assert_str_eq(s(ml, "path"), m->path);
        cr_assert_eq(strtoull(s(ml, "base"), NULL, 16), m->base);
        cr_assert_eq((uintptr_t)n(ml, "size"), m->hi - m->base);
        const char *bid = s(ml, "build_id");
        if (bid) {
            cr_assert_eq(strlen(bid), 2u * m->build_id_len);
            cr_assert_eq(strspn(bid, "0123456789abcdef"), strlen(bid));
            with_build_id++;
        }
    }
    cr_assert_gt(with_build_id, 0, "Debian's libraries and gcc's binaries carry a build-id");
    json_t *sl = json_array_get(all, nm), *e1 = json_array_get(all, nm + 1),
           *e2 = json_array_get(all, nm + 2);
    cr_assert_str_eq(s(sl, "ev"), "stack");
    cr_assert_str_eq(s(e1, "ev"), "error");
    cr_assert_str_eq(s(e2, "ev"), "error");
    cr_assert_eq(n(e1, "stack"), n(sl, "id"));
    cr_assert_eq(n(e2, "stack"), n(sl, "id"), "the same call site: the same stack id");
    json_decref(all);
}

Test(event, levels_filter_kinds)
{
    rsw_cfg.events = RSW_EVENTS_ERRORS;
    cr_assert(rsw_ev_wanted(RSW_EV_ERROR));
    cr_assert(rsw_ev_wanted(RSW_EV_SIGNAL));
    cr_assert(rsw_ev_wanted(RSW_EV_START));
    cr_assert(!rsw_ev_wanted(RSW_EV_CONNECT));
    cr_assert(!rsw_ev_wanted(RSW_EV_IO));
    rsw_cfg.events = RSW_EVENTS_CONN;
    cr_assert(rsw_ev_wanted(RSW_EV_CLOSE));
    cr_assert(!rsw_ev_wanted(RSW_EV_IO));
    rsw_cfg.events = RSW_EVENTS_ALL;
    cr_assert(rsw_ev_wanted(RSW_EV_IO));
}

Test(event, errno_names)
{
    char b[16];
    cr_assert_str_eq(rsw_errno_name(EPIPE, b), "EPIPE");
    cr_assert_str_eq(rsw_errno_name(ECONNREFUSED, b), "ECONNREFUSED");
    cr_assert_str_eq(rsw_errno_name(9999, b), "E9999");
    cr_assert(rsw_errno_interesting(EHOSTUNREACH));
    cr_assert(!rsw_errno_interesting(EAGAIN));
    cr_assert(!rsw_errno_interesting(EINPROGRESS));
}

/* The writer checks the identity of its fd at most once a second (the first line of each
 * CLOCK_MONOTONIC_COARSE second): wait until the next one begins. */
static void next_second(void)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &t0);
    do {
        usleep(10000);
        clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
    } while (t.tv_sec == t0.tv_sec);
}

/* The program closes the log's fd behind the library's back and reuses the number for a file
 * of its own: from the next second on, the library notices and never writes into the
 * program's file (within the second it may: logwriter.c checks once a second, not per line). */
Test(event, never_writes_into_a_reused_fd)
{
    int lf = rsw_log_fd();
    char other[300];
    snprintf(other, sizeof other, "%s/programs-own-file", unit_dir);
    syscall(SYS_close, lf);
    int fd = open(other, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    cr_assert_eq(dup2(fd, lf), lf);
    close(fd);
    next_second();
    rsw_ev_start("exec");
    struct stat st;
    cr_assert_eq(stat(other, &st), 0);
    cr_assert_eq(st.st_size, 0, "nothing written into the program's file");
    json_t *all = lines();
    cr_assert_eq(json_array_size(all), 1, "the line went to the reopened log");
    json_decref(all);
}

/* The same when the log cannot be reopened (its directory is gone): logging stops, and says so in
 * one rstwatch: line naming the file and the errno; the program's file is still untouched. */
/* the suite's setup runs first, then this test's own init */
Test(event, a_log_that_cannot_be_reopened_says_so, .init = cr_redirect_stderr)
{
    char logpath[300], other[300];
    snprintf(logpath, sizeof logpath, "%s/log.%d", unit_dir, getpid());
    snprintf(other, sizeof other, "/tmp/rsw-unit-other-%d", getpid());
    int lf = rsw_log_fd();
    unlink(logpath);
    cr_assert_eq(rmdir(unit_dir), 0);
    syscall(SYS_close, lf);
    int fd = open(other, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    cr_assert_eq(dup2(fd, lf), lf);
    close(fd);
    next_second();
    rsw_ev_start("exec");
    cr_assert(!rsw_log_enabled(), "logging stopped");
    struct stat st;
    cr_assert_eq(stat(other, &st), 0);
    cr_assert_eq(st.st_size, 0, "nothing written into the program's file");
    unlink(other);
    char want[600];
    snprintf(want, sizeof want,
             "rstwatch: pid %d (unit): cannot reopen the log %s (ENOENT); logging stopped\n",
             getpid(), logpath);
    fflush(stderr);
    cr_assert_stderr_eq_str(want);
}
