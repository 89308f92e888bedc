/* proc.c: the process's identity, copied once at start. */
#include "proc.h"
#include "sys.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct rsw_proc rsw_self;

void rsw_proc_file_name(const char *name, char *out, size_t cap)
{
    size_t n = 0;
    for (; name[n] && n + 1 < cap; n++) {
        char c = name[n];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '+' || c == '-';
        out[n] = ok ? c : '_';
    }
    if (n && out[0] == '.') /* never a hidden file, "." or ".." */
        out[0] = '_';
    out[n] = 0;
    if (!n && cap > 7)
        memcpy(out, "unknown", 8);
}

static int same_file(const char *a, const struct stat *b)
{
    struct stat st;
    return stat(a, &st) == 0 && st.st_dev == b->st_dev && st.st_ino == b->st_ino;
}

/* The path the program was started by, made absolute (argv[0] as given, relative to the
 * current directory, or found on PATH), if it names the running executable. */
static void invoked_path(const char *argv0)
{
    struct stat exe;
    char cwd[4096], cand[4096];
    memcpy(rsw_self.program, rsw_self.exe, sizeof rsw_self.program);
    if (!argv0 || !argv0[0] || stat(rsw_self.exe, &exe) != 0)
        return;
    if (strchr(argv0, '/')) {
        int l;
        if (argv0[0] == '/')
            l = snprintf(cand, sizeof cand, "%s", argv0);
        else if (getcwd(cwd, sizeof cwd))
            l = snprintf(cand, sizeof cand, "%s/%s", cwd, argv0);
        else
            return;
        if (l < 0 || l >= (int)sizeof cand)
            return;
        if (same_file(cand, &exe))
            memcpy(rsw_self.program, cand, sizeof cand);
        return;
    }
    const char *path = getenv("PATH");
    for (const char *p = path; p && *p;) {
        const char *end = strchrnul(p, ':');
        if (end > p && p[0] == '/' &&
            snprintf(cand, sizeof cand, "%.*s/%s", (int)(end - p), p, argv0) < (int)sizeof cand &&
            same_file(cand, &exe)) {
            memcpy(rsw_self.program, cand, sizeof cand);
            return;
        }
        p = *end ? end + 1 : end;
    }
}

void rsw_proc_init(const char *argv0)
{
    const char *base = argv0 && argv0[0] ? argv0 : "unknown";
    const char *slash = strrchr(base, '/');
    if (slash && slash[1])
        base = slash + 1;
    strncpy(rsw_self.name, base, sizeof rsw_self.name - 1);
    rsw_self.name[sizeof rsw_self.name - 1] = 0;
    rsw_proc_file_name(rsw_self.name, rsw_self.fname, sizeof rsw_self.fname);
    long n = rsw_syscall(SYS_readlinkat, AT_FDCWD, "/proc/self/exe", rsw_self.exe,
                         sizeof rsw_self.exe - 1);
    rsw_self.exe[n > 0 ? n : 0] = 0;
    invoked_path(argv0);
    rsw_self.pid = rsw_sys_getpid();
}

void rsw_proc_after_fork(void)
{
    rsw_self.pid = rsw_sys_getpid();
}
