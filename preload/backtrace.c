/* backtrace.c: libunwind stack capture; each frame as raw ip + module + offset (+ dynamic
 * symbol when the loader knows it), so the analyzer can symbolize offline. */
#define UNW_LOCAL_ONLY
#include "backtrace.h"
#include "config.h"
#include <dlfcn.h>
#include <errno.h>
#include <libunwind.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

static void *own_base; /* load base of librstwatch.so: its frames are left out */
static char exe_path[4096]; /* the loader names the main program by argv[0]; log its path */

void rsw_bt_init(int skip_own_module)
{
    Dl_info info;
    /* per-thread caches: no lock is taken while unwinding, also inside a signal handler */
    unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
    if (skip_own_module && dladdr((void *)&rsw_bt_init, &info))
        own_base = info.dli_fbase;
    ssize_t n = readlink("/proc/self/exe", exe_path, sizeof exe_path - 1);
    exe_path[n > 0 ? n : 0] = 0;
}

/* glibc names the main program by argv[0] (program_invocation_name): use its real path. */
static const char *module_path(const char *fname)
{
    int main_prog = !fname[0] || fname == program_invocation_name ||
                    !strcmp(fname, program_invocation_name);
    return main_prog && exe_path[0] ? exe_path : fname;
}

void rsw_bt_write(struct rsw_json *j, int max)
{
    void *ips[RSW_BACKTRACE_MAX + 16];
    if (max <= 0)
        return;
    int n = unw_backtrace(ips, max + 16);
    int written = 0;
    rsw_json_open_arr(j, "bt");
    for (int i = 0; i < n && written < max; i++) {
        Dl_info info;
        int known = dladdr(ips[i], &info) != 0;
        if (known && own_base && info.dli_fbase == own_base)
            continue;
        struct rsw_json_mark m = rsw_json_mark(j);
        rsw_json_open_obj(j, NULL);
        rsw_json_hex(j, "ip", (uintptr_t)ips[i]);
        if (known && info.dli_fname) {
            rsw_json_str(j, "obj", module_path(info.dli_fname));
            rsw_json_hex(j, "off", (uintptr_t)ips[i] - (uintptr_t)info.dli_fbase);
            if (info.dli_sname)
                rsw_json_str(j, "sym", info.dli_sname);
        }
        rsw_json_close(j);
        if (j->full) { /* this frame did not fit: drop it and stop */
            rsw_json_rollback(j, m);
            break;
        }
        written++;
    }
    rsw_json_close(j);
}
