/* sigpipe.c: logs every SIGPIPE from inside a handler of the library's own, while the program
 * keeps seeing exactly the disposition it set (signal/sigaction/sysv_signal/bsd_signal/sigset
 * are interposed for SIGPIPE only): its handler runs with the same arguments, SIG_IGN is a real
 * SIG_IGN, and SIG_DFL still kills the process with SIGPIPE — after the event is on disk. */
#include "shim.h"
#include "config.h"
#include "event.h"
#include "logwriter.h"
#include "sys.h"
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <ucontext.h>
#include <pthread.h>
#include <string.h>

/* The program's disposition, double-buffered so the handler never reads a half-written one. */
static struct sigaction app_act[2];
static int app_idx;
static int active; /* 0: the library does not interpose (secure mode, no log) */

static void handler(int sig, siginfo_t *si, void *uc);

static int install(const struct sigaction *app)
{
    struct sigaction ours;
    memset(&ours, 0, sizeof ours);
    if (app->sa_handler == SIG_IGN)
        return rsw_real.sigaction(SIGPIPE, app, NULL); /* exactly as the program asked */
    ours.sa_sigaction = handler;
    ours.sa_mask = app->sa_mask;
    /* SA_RESETHAND is emulated (the kernel would drop our handler too); with the default
     * disposition SA_RESTART keeps "survive" from turning blocked calls into EINTR. */
    ours.sa_flags = (app->sa_flags | SA_SIGINFO) & ~SA_RESETHAND;
    if (app->sa_handler == SIG_DFL)
        ours.sa_flags |= SA_RESTART;
    return rsw_real.sigaction(SIGPIPE, &ours, NULL);
}

static void set_app(const struct sigaction *a)
{
    int n = !__atomic_load_n(&app_idx, __ATOMIC_ACQUIRE);
    app_act[n] = *a;
    __atomic_store_n(&app_idx, n, __ATOMIC_RELEASE);
}

void rsw_sigpipe_init(void)
{
    struct sigaction cur;
    active = rsw_log_enabled() || rsw_cfg.sigpipe_survive;
    if (!active || rsw_real.sigaction(SIGPIPE, NULL, &cur) != 0) {
        active = 0;
        return;
    }
    set_app(&cur);
    install(&cur);
}

static void die_of_sigpipe(void)
{
    struct sigaction dfl;
    sigset_t s;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    rsw_real.sigaction(SIGPIPE, &dfl, NULL);
    sigemptyset(&s);
    sigaddset(&s, SIGPIPE);
    rsw_syscall(SYS_tgkill, getpid(), rsw_sys_gettid(), SIGPIPE);
    pthread_sigmask(SIG_UNBLOCK, &s, NULL); /* delivered here: the process ends */
}

/* Which write raised it? The kernel sends SIGPIPE for a failed write to the writer itself
 * (si_code SI_USER, si_pid our own pid) while the system call returns, so the interrupted
 * context sits just after a syscall instruction, with RAX the result (-EPIPE, or a short count
 * when a blocked write was cut off) and RDI still the first argument, the fd (the kernel keeps
 * it). This also names writes libc makes itself (stdio's fflush), which no hook sees. The
 * function executing is named from the dynamic symbol table ("__send" -> "send").
 * Returns the fd, or -1 if the signal did not come from a write (e.g. kill -PIPE). */
/* A short count raises SIGPIPE only from calls that write to a pipe or socket. */
static int is_write_call(const char *n)
{
    static const char *const names[] = {"write",  "writev",     "send",   "sendto",
                                        "sendmsg", "sendmmsg",  "sendfile", "sendfile64",
                                        "splice", "vmsplice", "write_nocancel"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(n, names[i]))
            return 1;
    return 0;
}

static int interrupted_write(const siginfo_t *si, void *ucv, char *call, size_t cap)
{
    call[0] = 0;
#if defined(__x86_64__)
    ucontext_t *uc = ucv;
    if (!uc || !si || si->si_code != SI_USER || si->si_pid != getpid())
        return -1;
    greg_t rax = uc->uc_mcontext.gregs[REG_RAX];
    const unsigned char *ip = (const unsigned char *)uc->uc_mcontext.gregs[REG_RIP];
    if ((rax != -EPIPE && rax < 0) || !ip || ip[-2] != 0x0f || ip[-1] != 0x05) /* syscall */
        return -1;
    Dl_info info;
    if (dladdr((void *)ip, &info) && info.dli_sname) {
        const char *n = info.dli_sname;
        while (*n == '_')
            n++;
        if (!strncmp(n, "libc_", 5))
            n += 5;
        snprintf(call, cap, "%s", n);
    }
    if (rax != -EPIPE && !is_write_call(call)) /* e.g. kill(getpid(), SIGPIPE) returning 0 */
        return -1;
    return (int)uc->uc_mcontext.gregs[REG_RDI];
#else
    (void)si, (void)ucv, (void)cap;
    return -1;
#endif
}

static void handler(int sig, siginfo_t *si, void *uc)
{
    int saved = errno;
    struct sigaction a = app_act[__atomic_load_n(&app_idx, __ATOMIC_ACQUIRE)];
    int dfl = a.sa_handler == SIG_DFL, ign = a.sa_handler == SIG_IGN;
    struct rsw_evinfo in = RSW_EVINFO_INIT;
    in.ev = RSW_EV_SIGNAL;
    in.disposition = dfl ? "default" : ign ? "ignore" : "handler";
    in.action = dfl ? (rsw_cfg.sigpipe_survive ? "survive" : "kill") : ign ? "ignore" : "handler";
    char call[64];
    int fd = interrupted_write(si, uc, call, sizeof call);
    if (fd >= 0) {
        in.fd = fd;
        in.call = call[0] ? call : NULL;
        in.e = rsw_fdt_watched(fd);
        if (!in.e) /* written only by libc itself so far (stdio): classify it now */
            in.e = rsw_fd_adopt(fd, in.call);
    }
    in.backtrace = rsw_cfg.backtrace > 0;
    rsw_tls.depth++;
    rsw_ev_emit(&in);
    rsw_tls.depth--;
    if (dfl) {
        if (!rsw_cfg.sigpipe_survive) {
            die_of_sigpipe();
            install(&a); /* still alive (cannot happen): keep watching */
        }
        errno = saved;
        return;
    }
    if (ign) {
        errno = saved;
        return;
    }
    if (a.sa_flags & SA_RESETHAND) { /* one-shot: the kernel resets the handler only */
        struct sigaction d = a;
        d.sa_handler = SIG_DFL;
        set_app(&d);
        install(&d);
    }
    errno = saved;
    if (a.sa_flags & SA_SIGINFO)
        a.sa_sigaction(sig, si, uc);
    else
        a.sa_handler(sig);
}

/* The program's view of sigaction(SIGPIPE, ...). */
static int app_sigaction(const struct sigaction *act, struct sigaction *old)
{
    struct sigaction prev = app_act[__atomic_load_n(&app_idx, __ATOMIC_ACQUIRE)];
    if (act) {
        if (install(act) != 0)
            return -1;
        set_app(act);
    }
    if (old)
        *old = prev;
    return 0;
}

RSW_EXPORT int sigaction(int sig, const struct sigaction *restrict act,
                         struct sigaction *restrict old)
{
    rsw_init();
    if (sig != SIGPIPE || !active || rsw_tls.depth)
        return rsw_real.sigaction(sig, act, old);
    return app_sigaction(act, old);
}

static sighandler_t set_handler(int sig, sighandler_t h, int flags, int mask_self,
                                sighandler_t (*real)(int, sighandler_t))
{
    struct sigaction a, old;
    rsw_init();
    if (sig != SIGPIPE || !active || rsw_tls.depth)
        return real ? real(sig, h) : SIG_ERR;
    if (h == SIG_ERR) {
        errno = EINVAL;
        return SIG_ERR;
    }
    memset(&a, 0, sizeof a);
    a.sa_handler = h;
    a.sa_flags = flags;
    sigemptyset(&a.sa_mask);
    if (mask_self)
        sigaddset(&a.sa_mask, sig);
    if (app_sigaction(&a, &old) != 0)
        return SIG_ERR;
    return old.sa_handler;
}

/* glibc's signal() and bsd_signal(): BSD semantics (restart, handler blocks its signal). */
RSW_EXPORT sighandler_t signal(int sig, sighandler_t h)
{
    return set_handler(sig, h, SA_RESTART, 1, rsw_real.signal);
}

RSW_EXPORT sighandler_t bsd_signal(int sig, sighandler_t h)
{
    return set_handler(sig, h, SA_RESTART, 1, rsw_real.bsd_signal);
}

/* System V semantics: one-shot, the signal not blocked in its handler. */
RSW_EXPORT sighandler_t sysv_signal(int sig, sighandler_t h)
{
    return set_handler(sig, h, SA_RESETHAND | SA_NODEFER, 0, rsw_real.sysv_signal);
}

RSW_EXPORT sighandler_t sigset(int sig, sighandler_t h)
{
    sigset_t s, olds;
    rsw_init();
    if (sig != SIGPIPE || !active || rsw_tls.depth)
        return rsw_real.sigset(sig, h);
    sigemptyset(&s);
    sigaddset(&s, sig);
    if (sigprocmask(SIG_BLOCK, NULL, &olds) != 0)
        return SIG_ERR;
    int was_held = sigismember(&olds, sig);
    sighandler_t prev;
    if (h == SIG_HOLD) {
        struct sigaction cur;
        app_sigaction(NULL, &cur);
        prev = cur.sa_handler;
        if (sigprocmask(SIG_BLOCK, &s, NULL) != 0)
            return SIG_ERR;
    } else {
        prev = set_handler(sig, h, 0, 0, NULL);
        if (prev == SIG_ERR || sigprocmask(SIG_UNBLOCK, &s, NULL) != 0)
            return SIG_ERR;
    }
    return was_held ? SIG_HOLD : prev;
}
