/* logwriter.c: opens the per-process log and appends lines to it, one write(2) each; keeps it
 * within RSTWATCH_LOG_MAX and counts what it could not write (README "Where the logs go"). */
#include "logwriter.h"
#include "config.h"
#include "jsonw.h"
#include "line.h"
#include "ownfd.h"
#include "proc.h"
#include "say.h"
#include "sys.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>

#define SMALL_LINE 256 /* a log_max or lost line */

static struct {
    int fd;          /* -1: logging disabled. Atomic: threads and the SIGPIPE handler read it */
    int per_process; /* the path depends on the pid: a forked child reopens */
    int new_file;    /* RSTWATCH_LOG names nothing yet and no directory: one shared file */
    int is_stderr;
    int regular; /* a regular file (RLIMIT_FSIZE applies) */
    /* Only this process writes the file (a per-process log it opened itself): a short write is
     * completed or cut off again. Not for a fixed RSTWATCH_LOG, stderr, or a parent's log a child
     * fell back to. (The parent of such a child still thinks it is alone; before cutting it checks
     * that the file ends with its own fragment, see untear.) */
    int sole;
    dev_t dev; /* identity of the open file, to notice the fd being replaced */
    ino_t ino;
    char tmpl[PATH_MAX]; /* absolute path template (%p, %n) */
    char path[PATH_MAX];
} lw = {.fd = -1};

/* The counts, all atomics: no lock anywhere on the write path. Per process: a forked child
 * starts from 0, also when it writes into its parent's file (a fixed RSTWATCH_LOG, or the
 * fallback of rsw_log_after_fork): each process then counts only its own bytes, so together
 * they may take that file past RSTWATCH_LOG_MAX. */
static struct {
    uint64_t bytes;     /* appended by this process; counted only with a cap */
    uint64_t lost_cap;  /* lines the cap kept out */
    uint64_t told_cap;  /* of those, reported in a lost line */
    uint64_t lost_fail; /* lines whose write failed, not yet reported */
    int fail_errno;     /* the first errno among those (0: short writes only) */
    int capped;         /* the log_max line is claimed: every later line is counted, not written */
    int said_fail;      /* the "cannot write" line was said (once per process) */
    int torn;           /* the file ends in a fragment of ours: the next line starts with "\n" */
    int inflight;       /* writes under way */
    int repairing;      /* a short write is being mended: others count their lines as lost */
    long checked;       /* CLOCK_MONOTONIC_COARSE second of the last identity check */
    uint64_t fsize;     /* RLIMIT_FSIZE (UINT64_MAX: none), read at the identity check */
} ct;

enum { PUT_FAILED = 0, PUT_OK = 1, PUT_CAPPED = -1 };

#define LOAD(p) __atomic_load_n(p, __ATOMIC_ACQUIRE)
#define STORE(p, v) __atomic_store_n(p, v, __ATOMIC_RELEASE)
#define ADD(p, v) __atomic_fetch_add(p, v, __ATOMIC_ACQ_REL)
#define SUB(p, v) __atomic_fetch_sub(p, v, __ATOMIC_ACQ_REL)
#define XCHG(p, v) __atomic_exchange_n(p, v, __ATOMIC_ACQ_REL)
#define CAS(p, old, v) __atomic_compare_exchange_n(p, old, v, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)

static long coarse_now(void)
{
    struct timespec t; /* the vDSO: no system call */
    return clock_gettime(CLOCK_MONOTONIC_COARSE, &t) == 0 ? (long)t.tv_sec : 0;
}

static void read_fsize(void)
{
    struct rlimit rl;
    uint64_t v = UINT64_MAX;
    if (rsw_syscall(SYS_prlimit64, 0, RLIMIT_FSIZE, NULL, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        v = rl.rlim_cur;
    STORE(&ct.fsize, v);
}

static void reset_counts(void)
{
    memset(&ct, 0, sizeof ct);
    ct.checked = coarse_now();
    read_fsize();
}

static void remember_identity(int fd)
{
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0) {
        lw.dev = st.st_dev;
        lw.ino = st.st_ino;
        lw.regular = S_ISREG(st.st_mode);
    }
}

static void say_log(const char *what, const char *after, const char *cause, const char *tail);

static int open_path(const char *path)
{
    int flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW;
    int fd = lw.new_file ? open(path, flags | O_EXCL, 0600) : -1;
    if (fd >= 0)
        say_log("RSTWATCH_LOG named nothing that exists: created the file", NULL,
                "one file for "
                "every process",
                "end the value with / for a directory of per-process logs");
    else
        fd = open(path, flags, 0600);
    return fd < 0 ? -1 : rsw_own_hide(fd); /* out of the program's reach (ownfd.h) */
}

/* Opens the template for this process; -1 with errno set (ENAMETOOLONG when it does not fit). */
static int open_expanded(void)
{
    if (rsw_config_expand(lw.tmpl, rsw_self.pid, rsw_self.fname, lw.path, sizeof lw.path) < 0) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return open_path(lw.path);
}

static void append(char *buf, size_t *n, size_t cap, const char *s)
{
    size_t l = strlen(s);
    if (l > cap - 1 - *n)
        l = cap - 1 - *n;
    memcpy(buf + *n, s, l);
    *n += l;
    buf[*n] = 0;
}

/* "rstwatch: pid 123 (nginx): <what> /x/y.jsonl[ <after>] (<cause>); <tail>", cause NULL: the
 * name of errno. One write; async-signal-safe (a write that fails may be the SIGPIPE handler's). */
static void say_log(const char *what, const char *after, const char *cause, const char *tail)
{
    char line[768], num[24], en[16];
    size_t n = 0;
    int err = errno;
    num[rsw_fmt_u64(num, (unsigned)rsw_self.pid)] = 0;
    const char *parts[] = {"rstwatch: pid ",
                           num,
                           " (",
                           rsw_self.name,
                           "): ",
                           what,
                           " ",
                           lw.is_stderr ? "stderr"
                           : lw.path[0] ? lw.path
                                        : lw.tmpl,
                           after ? " " : "",
                           after ? after : "",
                           " (",
                           cause ? cause : rsw_errno_name(err, en),
                           "); ",
                           tail};
    line[0] = 0;
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        append(line, &n, sizeof line, parts[i]);
    rsw_say(line, NULL, NULL);
}

/* Makes p absolute against the current directory (once, at start: a daemon's chdir later
 * must not move its children's logs). */
static int absolute(const char *p, char *out, size_t cap)
{
    char cwd[PATH_MAX];
    if (p[0] == '/')
        return snprintf(out, cap, "%s", p) < (int)cap ? 0 : -1;
    if (!getcwd(cwd, sizeof cwd))
        return -1;
    return snprintf(out, cap, "%s/%s", strcmp(cwd, "/") ? cwd : "", p) < (int)cap ? 0 : -1;
}

/* mkdir -p for a directory named with a trailing '/' (mode 0777 less the umask, as mkdir(1)). */
static void make_dirs(char *path)
{
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p)
            continue;
        char c = *p;
        *p = 0;
        (void)mkdir(path, 0777); /* a failure: the open below says why, naming the path */
        *p = c;
        if (!c)
            return;
    }
}

static int set_template(const char *v)
{
    struct stat st;
    char abs[PATH_MAX];
    if (absolute(v ? v : ".", abs, sizeof abs) != 0)
        return -1;
    lw.new_file = 0;
    size_t vl = v ? strlen(v) : 0;
    if (vl && v[vl - 1] == '/' && stat(abs, &st) != 0) /* RSTWATCH_LOG=/tmp/logs/: a directory */
        make_dirs(abs);
    else if (vl && !strstr(v, "%p") && !strchr(strrchr(abs, '/'), '.') && stat(abs, &st) != 0)
        lw.new_file = 1; /* "/tmp/logs", no extension: meant as a directory? its creator says */
    if (!v || (stat(abs, &st) == 0 && S_ISDIR(st.st_mode))) {
        lw.per_process = 1;
        return snprintf(lw.tmpl, sizeof lw.tmpl,
                        v ? "%s/%%n.%%p.jsonl" : "%s/rstwatch.%%n.%%p.jsonl",
                        abs) < (int)sizeof lw.tmpl
                   ? 0
                   : -1;
    }
    lw.per_process = strstr(v, "%p") != NULL;
    return snprintf(lw.tmpl, sizeof lw.tmpl, "%s", abs) < (int)sizeof lw.tmpl ? 0 : -1;
}

void rsw_log_open(void)
{
    const char *v = rsw_cfg.log;
    int fd = -1;
    STORE(&lw.fd, -1);
    lw.path[0] = 0;
    lw.sole = lw.is_stderr = 0;
    reset_counts();
    if (rsw_cfg.secure)
        return;
    if (v && !strcmp(v, "stderr")) {
        lw.is_stderr = 1;
        fd = rsw_own_hide(fcntl(2, F_DUPFD_CLOEXEC, 3));
        remember_identity(fd);
        STORE(&lw.fd, fd);
        return;
    }
    if (set_template(v) == 0)
        fd = open_expanded();
    else
        errno = ENAMETOOLONG;
    if (fd < 0 && !v && (errno == EACCES || errno == EROFS || errno == EPERM)) {
        const char *tmp = getenv("TMPDIR");
        lw.path[0] = 0;
        if (snprintf(lw.tmpl, sizeof lw.tmpl, "%s/rstwatch.%%n.%%p.jsonl",
                     tmp && tmp[0] == '/' ? tmp : "/tmp") < (int)sizeof lw.tmpl)
            fd = open_expanded();
    }
    if (fd < 0)
        say_log("cannot open the log", NULL, NULL, "this process is not recorded");
    remember_identity(fd);
    lw.sole = lw.per_process;
    STORE(&lw.fd, fd);
}

void rsw_log_after_fork(void)
{
    int torn = ct.torn;
    reset_counts(); /* the child's own: it counts from 0, also in its parent's file */
    if (lw.fd < 0 || !lw.per_process) {
        ct.torn = torn; /* the same file as the parent's, which may end in a fragment */
        return;
    }
    char parent[PATH_MAX];
    memcpy(parent, lw.path, sizeof parent);
    int fd = open_expanded();
    if (fd < 0) {
        /* the parent's log stays open in the child: write there (lines carry the pid) */
        struct stat st;
        if (fstat(lw.fd, &st) == 0 && st.st_dev == lw.dev && st.st_ino == lw.ino) {
            memcpy(lw.path, parent, sizeof parent);
            lw.sole = 0;
            ct.torn = torn;
            return;
        }
        say_log("cannot open the log", NULL, NULL, "this process is not recorded");
        STORE(&lw.fd, -1);
        return;
    }
    rsw_own_drop(lw.fd);
    rsw_sys_close(lw.fd);
    remember_identity(fd);
    lw.sole = 1;
    STORE(&lw.fd, fd);
}

int rsw_log_fd(void)
{
    return LOAD(&lw.fd);
}

int rsw_log_enabled(void)
{
    return LOAD(&lw.fd) >= 0;
}

const char *rsw_log_path(void)
{
    return lw.is_stderr ? "" : lw.path;
}

void rsw_log_relocate(void)
{
    int fd = LOAD(&lw.fd);
    if (fd < 0)
        return;
    int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (copy >= 0) { /* the old number is about to be replaced by the program's dup2 */
        rsw_own_drop(fd);
        STORE(&lw.fd, rsw_own_hide(copy)); /* the highest free number other than the old one */
    }
}

/* Logging stops: said once, by whichever thread takes fd away first. drop: the number is no
 * longer ours (the program closed or reused it). */
static int stop(int fd, int drop, const char *what)
{
    int e = errno, cur = fd;
    if (CAS(&lw.fd, &cur, -1)) {
        if (drop)
            rsw_own_drop(fd);
        errno = e;
        say_log(what, NULL, NULL, "logging stopped");
    }
    return -1;
}

/* The program closed our fd behind our back (raw syscall), or closed it and reused the number:
 * never write into its file. Reopen by path instead (stderr cannot be: give up). Returns the fd
 * to write to, -1 if logging stopped. The old number is never closed: it may be the program's. */
static int reopen(int old)
{
    if (lw.is_stderr || !lw.path[0]) {
        errno = EBADF;
        return stop(old, 1, "the program closed the log");
    }
    rsw_own_drop(old);
    int fd = open_path(lw.path);
    if (fd < 0)
        return stop(old, 1, "cannot reopen the log");
    int cur = old;
    if (!CAS(&lw.fd, &cur, fd)) { /* another thread reopened first: use its fd */
        rsw_own_drop(fd);
        rsw_sys_close(fd);
        return cur;
    }
    remember_identity(fd);
    return fd;
}

/* At most once a second (the first write of each second): is our fd still our file? One fstat
 * a second instead of one a line; a reused number is noticed within a second. */
static int check_identity(int fd)
{
    long now = coarse_now(), last = __atomic_load_n(&ct.checked, __ATOMIC_RELAXED);
    if (now == last || !CAS(&ct.checked, &last, now))
        return fd;
    read_fsize(); /* the program may have changed RLIMIT_FSIZE */
    struct stat st;
    if (fstat(fd, &st) == 0 && st.st_dev == lw.dev && st.st_ino == lw.ino)
        return fd;
    return reopen(fd);
}

/* A write that would reach RLIMIT_FSIZE raises SIGXFSZ, which kills by default: never make
 * one. Only when that limit is set (an fstat per line then). */
static int beyond_fsize(int fd, size_t n)
{
    uint64_t lim = LOAD(&ct.fsize);
    struct stat st;
    if (lim == UINT64_MAX || !lw.regular || fstat(fd, &st) != 0)
        return 0;
    return (uint64_t)st.st_size + n > lim;
}

static ssize_t sys_put(int fd, int nl, const char *line, size_t len)
{
    if (!nl)
        return rsw_sys_write(fd, line, len);
    /* after a fragment left in a shared file: the line starts on a fresh line, in one syscall */
    struct iovec iov[2] = {{(void *)"\n", 1}, {(void *)line, len}};
    return rsw_syscall(SYS_writev, fd, iov, 2);
}

/* Does the file end with what was written ("\n" if nl, then the line's first k - nl bytes)? Read
 * through a read-only fd of its own (the log is opened write-only), /proc/self/fd/N so that it is
 * the same file even if renamed. */
static int same_tail(int fd, off_t at, int nl, const char *line, size_t k)
{
    char buf[256];
    memcpy(buf, "/proc/self/fd/", 14);
    buf[14 + rsw_fmt_u64(buf + 14, (unsigned)fd)] = 0;
    int rd = open(buf, O_RDONLY | O_CLOEXEC), same = rd >= 0;
    for (size_t done = 0; same && done < k;) {
        size_t want = k - done < sizeof buf ? k - done : sizeof buf;
        ssize_t r = pread(rd, buf, want, at + (off_t)done);
        same = r > 0;
        for (ssize_t i = 0; same && i < r; i++, done++)
            same = buf[i] == (nl && done == 0 ? '\n' : line[done - (size_t)nl]);
    }
    if (rd >= 0)
        rsw_sys_close(rd);
    return same;
}

enum { UNTEAR_KEPT, UNTEAR_CUT, UNTEAR_DONE };

/* A short write of k of n bytes by the only writer of the file: no torn line may stay. Nothing
 * of ours can come between (others count their line as lost meanwhile), so write the rest: the
 * line is whole (UNTEAR_DONE), or the failure names its errno (*err) and the file is cut back to
 * its length before the write (fstat + ftruncate: UNTEAR_CUT). Only when no other write of ours
 * is under way and the file still ends with exactly those k bytes; else UNTEAR_KEPT. */
static int untear(int fd, int nl, const char *line, size_t k, size_t n, int *err)
{
    int idle = 0, res = UNTEAR_KEPT;
    if (k == 0)
        return UNTEAR_CUT; /* nothing written: nothing to cut */
    if (!lw.sole || !lw.regular ||
        !__atomic_compare_exchange_n(&ct.repairing, &idle, 1, 0, __ATOMIC_SEQ_CST,
                                     __ATOMIC_SEQ_CST))
        return UNTEAR_KEPT;
    struct stat st;
    if (__atomic_load_n(&ct.inflight, __ATOMIC_SEQ_CST) == 1 && fstat(fd, &st) == 0 &&
        (uint64_t)st.st_size >= k && same_tail(fd, st.st_size - (off_t)k, nl, line, k)) {
        const char *rest = line + k - (size_t)nl; /* byte k of "\n"? + line */
        ssize_t w = -1;
        if (beyond_fsize(fd, n - k))
            errno = EFBIG;
        else
            w = rsw_sys_write(fd, rest, n - k);
        if (w == (ssize_t)(n - k)) {
            res = UNTEAR_DONE;
        } else {
            *err = w < 0 ? errno : 0;
            if (ftruncate(fd, st.st_size - (off_t)k) == 0)
                res = UNTEAR_CUT;
        }
    }
    __atomic_store_n(&ct.repairing, 0, __ATOMIC_SEQ_CST);
    return res;
}

/* Takes n bytes of the budget; 0 if the line would take the log past limit. */
static int take_bytes(size_t n, uint64_t limit)
{
    if (!rsw_cfg.log_max)
        return 1;
    uint64_t cur = __atomic_load_n(&ct.bytes, __ATOMIC_RELAXED);
    do
        if (n > limit || cur > limit - n)
            return 0;
    while (!__atomic_compare_exchange_n(&ct.bytes, &cur, cur + n, 1, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED));
    return 1;
}

static void give_bytes(size_t n)
{
    if (rsw_cfg.log_max && n)
        __atomic_fetch_sub(&ct.bytes, n, __ATOMIC_RELAXED);
}

/* A write failed (err 0: a short write of k of n bytes). count: the line is an event (lost
 * lines and the log_max line are not). */
static void failed(int count, int err, size_t k, size_t n)
{
    int none = 0;
    if (count)
        ADD(&ct.lost_fail, 1);
    if (err)
        CAS(&ct.fail_errno, &none, err);
    if (XCHG(&ct.said_fail, 1))
        return;
    char cause[80], *p = cause;
    if (!err) {
        memcpy(p, "short write: ", 13), p += 13;
        p += rsw_fmt_u64(p, k);
        memcpy(p, " of ", 4), p += 4;
        p += rsw_fmt_u64(p, n);
        memcpy(p, " bytes", 7);
    }
    errno = err;
    say_log("cannot write the log", NULL, err ? NULL : cause, "events are counted until it can");
}

static void tell_failed(uint64_t limit);

static uint64_t line_limit(void)
{
    uint64_t max = rsw_cfg.log_max;
    return !max ? UINT64_MAX : max > RSW_LOG_RESERVE ? max - RSW_LOG_RESERVE : 0;
}

static uint64_t hard_limit(void)
{
    return rsw_cfg.log_max ? rsw_cfg.log_max : UINT64_MAX;
}

/* One line, one syscall (a second one only to mend a short write, see untear). PUT_CAPPED: it
 * does not fit under limit (not counted here). */
static int put(const char *line, size_t len, uint64_t limit, int count)
{
    int fd = LOAD(&lw.fd);
    if (fd < 0 || (fd = check_identity(fd)) < 0)
        return PUT_FAILED;
    /* a fragment to end first? Rare: read before taking it, no store on every line */
    int nl = __atomic_load_n(&ct.torn, __ATOMIC_RELAXED) && XCHG(&ct.torn, 0);
    size_t n = len + (size_t)nl;
    if (!take_bytes(n, limit)) {
        if (nl)
            STORE(&ct.torn, 1);
        return PUT_CAPPED;
    }
    ssize_t r = -1;
    int busy = 0;
    __atomic_fetch_add(&ct.inflight, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&ct.repairing, __ATOMIC_SEQ_CST))
        busy = 1;
    else if (beyond_fsize(fd, n))
        errno = EFBIG;
    else
        for (int tries = 0; tries < 4; tries++) {
            r = sys_put(fd, nl, line, len);
            if (r >= 0 || (errno != EINTR && errno != EBADF))
                break;
            if (errno == EBADF && (tries > 0 || (fd = reopen(fd)) < 0))
                break; /* closed behind our back: reopened once by path, then written there */
        }
    int err = errno, fix = UNTEAR_KEPT;
    if (r >= 0 && r < (ssize_t)n) /* short: completed or cut off, or the next line starts fresh */
        fix = untear(fd, nl, line, (size_t)r, n, &err);
    if (r == (ssize_t)n || fix == UNTEAR_DONE) {
        __atomic_fetch_sub(&ct.inflight, 1, __ATOMIC_SEQ_CST);
        if (count && LOAD(&ct.lost_fail))
            tell_failed(limit);
        return PUT_OK;
    }
    if (r >= 0) {
        size_t kept = fix == UNTEAR_CUT ? 0 : (size_t)r;
        if (kept ? kept > (size_t)nl : nl)
            STORE(&ct.torn, 1);
        give_bytes(n - kept);
        __atomic_fetch_sub(&ct.inflight, 1, __ATOMIC_SEQ_CST);
        failed(count, fix == UNTEAR_CUT ? err : 0, (size_t)r, n);
        return PUT_FAILED;
    }
    __atomic_fetch_sub(&ct.inflight, 1, __ATOMIC_SEQ_CST);
    give_bytes(n);
    if (nl)
        STORE(&ct.torn, 1);
    if (busy) { /* another thread is cutting off its fragment right now */
        if (count)
            ADD(&ct.lost_fail, 1);
    } else if (fd < 0) {
        /* EBADF and the log could not be reopened: logging stopped, said so */
    } else if (err == EPIPE) {
        /* a log on a pipe nobody reads any more: stop. Said on stderr, which may be that very
         * pipe: the SIGPIPE of the library's own write is not the program's (sigpipe.c) */
        errno = EPIPE;
        stop(fd, 0, "nobody reads the log");
    } else {
        failed(count, err, 0, n);
    }
    return PUT_FAILED;
}

/* The log works again after failed writes: {"ev":"lost","reason":"write_failed",...} with the
 * exact count (handed back when it cannot be written either). */
static void tell_failed(uint64_t limit)
{
    uint64_t k = XCHG(&ct.lost_fail, 0);
    if (!k)
        return;
    int e = XCHG(&ct.fail_errno, 0), none = 0;
    char buf[SMALL_LINE], en[16];
    struct rsw_json j;
    rsw_line_begin(&j, buf, sizeof buf, RSW_EV_LOST);
    rsw_json_str(&j, RSW_KEY(REASON), "write_failed");
    if (e)
        rsw_json_str(&j, RSW_KEY(ERRNO), rsw_errno_name(e, en));
    rsw_json_u64(&j, RSW_KEY(EVENTS), k);
    if (put(buf, rsw_json_end(&j), limit, 0) != PUT_OK) {
        ADD(&ct.lost_fail, k);
        if (e)
            CAS(&ct.fail_errno, &none, e);
    }
}

/* The first line that does not fit: the log_max line (in the reserve) and one line on stderr. */
static void reached_max(void)
{
    char buf[SMALL_LINE], cause[32];
    struct rsw_json j;
    rsw_line_begin(&j, buf, sizeof buf, RSW_EV_LOG_MAX);
    rsw_json_u64(&j, RSW_KEY(LOG_MAX), rsw_cfg.log_max);
    put(buf, rsw_json_end(&j), hard_limit(), 0);
    memcpy(cause + rsw_fmt_u64(cause, rsw_cfg.log_max), " bytes", 7);
    say_log("the log", "reached RSTWATCH_LOG_MAX", cause,
            "further events are counted, not written");
}

int rsw_log_write(const char *line, size_t len)
{
    if (len == 0 || LOAD(&lw.fd) < 0)
        return 0;
    int saved = errno, r = 0;
    if (LOAD(&ct.capped)) {
        ADD(&ct.lost_cap, 1);
    } else if ((r = put(line, len, line_limit(), 1)) == PUT_CAPPED) {
        r = 0;
        ADD(&ct.lost_cap, 1);
        if (!XCHG(&ct.capped, 1))
            reached_max();
    }
    errno = saved;
    return r;
}

void rsw_log_finish(void)
{
    if (LOAD(&lw.fd) < 0)
        return;
    int saved = errno;
    tell_failed(hard_limit()); /* one more try for failures not reported yet */
    uint64_t told = LOAD(&ct.told_cap), k;
    while ((k = LOAD(&ct.lost_cap) - told) > 0) {
        if (!CAS(&ct.told_cap, &told, told + k))
            continue; /* another thread reported some: told is fresh */
        char buf[SMALL_LINE];
        struct rsw_json j;
        rsw_line_begin(&j, buf, sizeof buf, RSW_EV_LOST);
        rsw_json_str(&j, RSW_KEY(REASON), "log_max");
        rsw_json_u64(&j, RSW_KEY(EVENTS), k);
        if (put(buf, rsw_json_end(&j), hard_limit(), 0) != PUT_OK)
            SUB(&ct.told_cap, k); /* a later call may still tell them */
        break;
    }
    errno = saved;
}

/* A backstop at exit, after every atexit handler and every other destructor of the library
 * (101: the lowest priority runs last): what the layer above's own exit path has not told. */
__attribute__((destructor(101))) static void finish_at_exit(void)
{
    rsw_log_finish();
}
