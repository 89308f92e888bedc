/* backtrace.c: libunwind stack capture into a fixed array; frames written as raw ip + module
 * id + offset, from the module map (modmap.c): no dladdr, no symbol lookup, no lock. */
#define UNW_LOCAL_ONLY
#include "backtrace.h"
#include "modmap.h"
#include "rsw_schema.h"
#include "sys.h"
#include <libunwind.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

static uintptr_t own_lo, own_hi; /* librstwatch.so's range: its frames are left out */

void rsw_bt_init(int skip_own_module)
{
    /* per-thread caches: no lock is taken while unwinding, also inside a signal handler */
    unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
    const struct rsw_module *m = skip_own_module ? rsw_mod_find((uintptr_t)&rsw_bt_init) : NULL;
    if (m)
        own_lo = m->lo, own_hi = m->hi;
}

int rsw_bt_capture(uintptr_t *ips, int max)
{
    void *raw[RSW_BT_CAPTURE_MAX];
    if (max <= 0)
        return 0;
    int n = unw_backtrace(raw, max + 16 < RSW_BT_CAPTURE_MAX ? max + 16 : RSW_BT_CAPTURE_MAX);
    int kept = 0;
    for (int i = 0; i < n && kept < max; i++) {
        uintptr_t ip = (uintptr_t)raw[i];
        if (ip >= own_lo && ip < own_hi)
            continue;
        ips[kept++] = ip;
    }
    return kept;
}

int rsw_bt_all_known(const uintptr_t *ips, int n)
{
    for (int i = 0; i < n; i++)
        if (!rsw_mod_find(ips[i]))
            return 0;
    return 1;
}

void rsw_bt_write(struct rsw_json *j, const uintptr_t *ips, int n)
{
    rsw_json_open_arr(j, RSW_KEY(BT));
    for (int i = 0; i < n; i++) {
        const struct rsw_module *m = rsw_mod_find(ips[i]);
        struct rsw_json_mark mk = rsw_json_mark(j);
        rsw_json_open_obj(j, NULL);
        rsw_json_hex(j, RSW_KEY(IP), ips[i]);
        if (m) {
            rsw_json_u64(j, RSW_KEY(MOD), m->id);
            rsw_json_hex(j, RSW_KEY(OFF), ips[i] - m->base);
        }
        rsw_json_close(j);
        if (j->full) { /* this frame did not fit: drop it and stop */
            rsw_json_rollback(j, mk);
            break;
        }
    }
    rsw_json_close(j);
}

int rsw_mem_readable(const void *addr, size_t n)
{
    char buf[64];
    if (n > sizeof buf)
        n = sizeof buf;
    struct iovec local = {buf, n}, remote = {(void *)addr, n};
    long r = rsw_syscall(SYS_process_vm_readv, rsw_sys_getpid(), &local, 1, &remote, 1, 0);
    if (r == (long)n)
        return 1;
    if (r < 0 && (errno == ENOSYS || errno == EPERM)) { /* forbidden here: is it mapped? */
        unsigned char vec;
        uintptr_t page = (uintptr_t)addr & ~(uintptr_t)4095;
        return rsw_syscall(SYS_mincore, page, 4096, &vec) == 0;
    }
    return 0;
}
