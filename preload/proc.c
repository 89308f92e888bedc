/* proc.c: the process's identity, copied once at start. */
#include "proc.h"
#include "sys.h"
#include <string.h>

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
    rsw_self.pid = rsw_sys_getpid();
}

void rsw_proc_after_fork(void)
{
    rsw_self.pid = rsw_sys_getpid();
}
