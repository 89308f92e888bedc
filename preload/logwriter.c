/* logwriter.c: opens the per-process log and appends lines to it, one write(2) each. */
#include "logwriter.h"
#include "config.h"
#include "jsonw.h"
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
#include <sys/stat.h>

static struct {
    int fd;          /* -1: logging disabled */
    int per_process; /* the path depends on the pid: a forked child reopens */
    int is_stderr;
    dev_t dev; /* identity of the open file, to notice the fd being replaced */
    ino_t ino;
    char tmpl[PATH_MAX]; /* absolute path template (%p, %n) */
    char path[PATH_MAX];
} lw = {.fd = -1};

static void remember_identity(void)
{
    struct stat st;
    if (lw.fd >= 0 && fstat(lw.fd, &st) == 0) {
        lw.dev = st.st_dev;
        lw.ino = st.st_ino;
    }
}

static int open_path(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
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

/* "rstwatch: pid 123 (nginx): <what> /x/y.jsonl (EACCES); <tail>", errno naming the cause, in one
 * write. Async-signal-safe: a write that fails may be made from the SIGPIPE handler. */
static void say_log(const char *what, const char *tail)
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
                           " (",
                           rsw_errno_name(err, en),
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

static int set_template(const char *v)
{
    struct stat st;
    char abs[PATH_MAX];
    if (absolute(v ? v : ".", abs, sizeof abs) != 0)
        return -1;
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
    lw.fd = -1;
    lw.path[0] = 0;
    if (rsw_cfg.secure)
        return;
    if (v && !strcmp(v, "stderr")) {
        lw.is_stderr = 1;
        lw.fd = rsw_own_hide(fcntl(2, F_DUPFD_CLOEXEC, 3));
        remember_identity();
        return;
    }
    if (set_template(v) == 0)
        lw.fd = open_expanded();
    else
        errno = ENAMETOOLONG;
    if (lw.fd < 0 && !v && (errno == EACCES || errno == EROFS || errno == EPERM)) {
        const char *tmp = getenv("TMPDIR");
        lw.path[0] = 0;
        if (snprintf(lw.tmpl, sizeof lw.tmpl, "%s/rstwatch.%%n.%%p.jsonl",
                     tmp && tmp[0] == '/' ? tmp : "/tmp") < (int)sizeof lw.tmpl)
            lw.fd = open_expanded();
    }
    if (lw.fd < 0)
        say_log("cannot open the log", "this process is not recorded");
    remember_identity();
}

void rsw_log_after_fork(void)
{
    if (lw.fd < 0 || !lw.per_process)
        return;
    char parent[PATH_MAX];
    memcpy(parent, lw.path, sizeof parent);
    int fd = open_expanded();
    if (fd < 0) {
        /* the parent's log stays open in the child: write there (lines carry the pid) */
        struct stat st;
        if (fstat(lw.fd, &st) == 0 && st.st_dev == lw.dev && st.st_ino == lw.ino) {
            memcpy(lw.path, parent, sizeof parent);
            return;
        }
        say_log("cannot open the log", "this process is not recorded");
        lw.fd = -1;
        return;
    }
    rsw_own_drop(lw.fd);
    rsw_sys_close(lw.fd);
    lw.fd = fd;
    remember_identity();
}

int rsw_log_fd(void)
{
    return lw.fd;
}

int rsw_log_enabled(void)
{
    return lw.fd >= 0;
}

const char *rsw_log_path(void)
{
    return lw.is_stderr ? "" : lw.path;
}

void rsw_log_relocate(void)
{
    if (lw.fd < 0)
        return;
    int copy = fcntl(lw.fd, F_DUPFD_CLOEXEC, 0);
    if (copy >= 0) { /* the old number is about to be replaced by the program's dup2 */
        rsw_own_drop(lw.fd);
        lw.fd = rsw_own_hide(copy); /* the highest free number other than the old one */
    }
}

/* The program may have closed our fd behind our back (raw syscall) and reused the number:
 * never write into its file. Reopen by path instead (stderr mode cannot: give up). */
static int check_identity(void)
{
    struct stat st;
    if (fstat(lw.fd, &st) == 0 && st.st_dev == lw.dev && st.st_ino == lw.ino)
        return 0;
    if (lw.is_stderr || !lw.path[0]) {
        errno = EBADF;
        say_log("the program closed the log", "logging stopped");
        lw.fd = -1;
        return -1;
    }
    rsw_own_drop(lw.fd);
    int fd = open_path(lw.path);
    if (fd < 0) {
        say_log("cannot reopen the log", "logging stopped");
        lw.fd = -1;
        return -1;
    }
    lw.fd = fd;
    remember_identity();
    return 0;
}

int rsw_log_write(const char *line, size_t len)
{
    if (lw.fd < 0 || len == 0)
        return 0;
    int saved = errno;
    ssize_t r = -1;
    if (check_identity() == 0 && (r = rsw_sys_write(lw.fd, line, len)) < 0 && errno == EPIPE) {
        /* a log on a pipe nobody reads any more: stop. Said on stderr, which may be that very
         * pipe: the SIGPIPE of the library's own write is not the program's (sigpipe.c) */
        say_log("nobody reads the log", "logging stopped");
        lw.fd = -1;
    }
    errno = saved;
    return r == (ssize_t)len;
}
