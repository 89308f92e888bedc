/* logwriter.c: opens the per-process log and appends lines to it, one write(2) each. */
#include "logwriter.h"
#include "config.h"
#include "ownfd.h"
#include "sys.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static struct {
    int fd;           /* -1: logging disabled */
    int per_process;  /* the path depends on the pid: a forked child reopens */
    int is_stderr;
    dev_t dev;        /* identity of the open file, to notice the fd being replaced */
    ino_t ino;
    uint64_t seq;
    char tmpl[PATH_MAX]; /* path template (%p, %n) */
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

static int open_expanded(int pid, const char *name)
{
    if (rsw_config_expand(lw.tmpl, pid, name, lw.path, sizeof lw.path) < 0) {
        rsw_say("rstwatch: RSTWATCH_LOG: path too long: ", lw.tmpl, "; logging disabled");
        return -1;
    }
    return open_path(lw.path);
}

void rsw_log_open(int pid, const char *name)
{
    const char *v = rsw_cfg.log;
    struct stat st;
    lw.fd = -1;
    if (rsw_cfg.secure)
        return;
    if (v && !strcmp(v, "stderr")) {
        lw.is_stderr = 1;
        lw.fd = rsw_own_hide(fcntl(2, F_DUPFD_CLOEXEC, 3));
        remember_identity();
        return;
    }
    if (v && stat(v, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(lw.tmpl, sizeof lw.tmpl, "%s/%%n.%%p.jsonl", v);
        lw.per_process = 1;
    } else if (v) {
        snprintf(lw.tmpl, sizeof lw.tmpl, "%s", v);
        lw.per_process = strstr(v, "%p") != NULL;
    } else {
        snprintf(lw.tmpl, sizeof lw.tmpl, "rstwatch.%%n.%%p.jsonl");
        lw.per_process = 1;
    }
    lw.fd = open_expanded(pid, name);
    if (lw.fd < 0 && !v && (errno == EACCES || errno == EROFS || errno == EPERM)) {
        const char *tmp = getenv("TMPDIR");
        snprintf(lw.tmpl, sizeof lw.tmpl, "%s/rstwatch.%%n.%%p.jsonl", tmp && *tmp ? tmp : "/tmp");
        lw.fd = open_expanded(pid, name);
    }
    if (lw.fd < 0)
        rsw_say("rstwatch: cannot open the log ", lw.path, "; logging disabled");
    remember_identity();
}

void rsw_log_after_fork(int pid, const char *name)
{
    lw.seq = 0;
    if (lw.fd >= 0 && lw.per_process) {
        rsw_own_drop(lw.fd);
        rsw_sys_close(lw.fd);
        lw.fd = open_expanded(pid, name);
        remember_identity();
    }
}

uint64_t rsw_log_next_seq(void)
{
    return __atomic_fetch_add(&lw.seq, 1, __ATOMIC_RELAXED);
}

int rsw_log_fd(void)
{
    return lw.fd;
}

int rsw_log_enabled(void)
{
    return lw.fd >= 0;
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
        lw.fd = -1;
        return -1;
    }
    rsw_own_drop(lw.fd);
    int fd = open_path(lw.path);
    if (fd < 0) {
        lw.fd = -1;
        return -1;
    }
    lw.fd = fd;
    remember_identity();
    return 0;
}

void rsw_log_write(const char *line, size_t len)
{
    if (lw.fd < 0 || len == 0)
        return;
    int saved = errno;
    if (check_identity() == 0)
        (void)rsw_sys_write(lw.fd, line, len);
    errno = saved;
}
