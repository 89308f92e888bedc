/* hooks_proc.c: process-level shims: dlopen/dlclose (the module map follows what is loaded, so
 * backtraces stay symbolizable) and vfork (its child shares our memory: every hook in it must
 * pass straight through, or it would rewrite the parent's fd table and log under its pid). */
#include "event.h"
#include "modmap.h"
#include "proc.h"
#include "shim.h"
#include "sys.h"
#include <stddef.h>
#include <unistd.h>

static void *loader_call(int open, const char *file, int mode, void *handle, int *rc)
{
    struct rsw_guard g;
    void *h = NULL;
    if (!rsw_enter(&g)) {
        if (open)
            return rsw_real.dlopen(file, mode);
        *rc = rsw_real.dlclose(handle);
        return NULL;
    }
    rsw_tls.in_loader++;
    if (open)
        h = RSW_REAL(&g, dlopen(file, mode));
    else
        *rc = RSW_REAL(&g, dlclose(handle));
    rsw_tls.in_loader--;
    if (open ? h != NULL : *rc == 0) {
        rsw_mod_scan(rsw_self.program); /* module lines follow when a backtrace needs them */
        if (!open)
            rsw_ev_modules_changed();
    }
    rsw_leave(&g);
    return h;
}

RSW_EXPORT void *dlopen(const char *file, int mode)
{
    return loader_call(1, file, mode, NULL, NULL);
}

RSW_EXPORT int dlclose(void *handle)
{
    int rc = -1;
    loader_call(0, NULL, 0, handle, &rc);
    return rc;
}

/* _exit skips the destructors, where the pending storm summaries and tallies are written
 * (forked servers end their children this way): write them first. In a vfork child the guard
 * refuses (the parent's memory), so it passes straight through. */
static __attribute__((noreturn)) void exit_now(int raw_e, int status)
{
    struct rsw_guard g;
    if (rsw_enter(&g)) {
        rsw_ev_finish();
        rsw_leave(&g);
    }
    if (raw_e && rsw_real._Exit)
        rsw_real._Exit(status);
    else if (rsw_real._exit)
        rsw_real._exit(status);
    rsw_syscall(SYS_exit_group, status);
    __builtin_unreachable();
}

RSW_EXPORT void _exit(int status)
{
    exit_now(0, status);
}

RSW_EXPORT void _Exit(int status)
{
    exit_now(1, status);
}

#if defined(__x86_64__)
/* vfork cannot be wrapped by a C function (the child would return through, and so overwrite,
 * the frame the parent returns through): mark this thread "vforking from pid P" in its TLS,
 * which the child shares, and jump to libc's vfork. Hooks in the child see the mark and a pid
 * that is not P, and pass straight through; the parent clears it at its next hook. */
void *const *const rsw_vfork_slot RSW_HIDDEN __attribute__((used)) = (void *const *)&rsw_real.vfork;
_Static_assert(offsetof(struct rsw_tls, vfork_of) == 8, "the offset the trampoline uses");
_Static_assert(offsetof(struct rsw_proc, pid) == 0, "the offset the trampoline uses");
__asm__(".text\n"
        ".globl vfork\n"
        ".type vfork, @function\n"
        "vfork:\n"
        "    movq rsw_tls@gottpoff(%rip), %rax\n"
        "    movl rsw_self(%rip), %ecx\n"
        "    movl %ecx, %fs:8(%rax)\n"
        "    movq rsw_vfork_slot(%rip), %rax\n"
        "    movq (%rax), %rax\n"
        "    testq %rax, %rax\n"
        "    jz 1f\n"
        "    jmp *%rax\n"
        "1:  jmp fork@PLT\n" /* not resolved yet (cannot happen after start): fork is a vfork */
        ".size vfork, .-vfork\n");
#endif
