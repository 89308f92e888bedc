/* sigpipe.c: logs every SIGPIPE from inside a handler of the library's own, while the program
 * keeps seeing exactly the disposition it set (signal/sigaction/sysv_signal/bsd_signal/sigset
 * are interposed for SIGPIPE only): its handler runs with the same arguments, SIG_IGN is a real
 * SIG_IGN, and SIG_DFL still kills the process with SIGPIPE — after the event is on disk. */
#include "config.h"
#include "event.h"
#include "logwriter.h"
#include "shim.h"
#include "sys.h"
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <string.h>
#include <ucontext.h>

/* The program's disposition, double-buffered so the handler never reads a half-written one. */
static struct sigaction app_act[2];
static int app_idx;
static int active; /* 0: the library does not interpose (secure mode, no log) */

static void handler(int sig, siginfo_t *si, void *uc);
static void find_write_ranges(void);

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
    find_write_ranges();
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

/* The calls that raise SIGPIPE when they fail (hooks.def: every OUT row, and splice), as the
 * address ranges of libc's functions, found once at start: the handler then names the call by
 * comparing addresses only (no dladdr: it takes the loader's lock). */
static const char *const write_names[] = {
#define RSW_IO(R, name, P, A, fd, dir, flags, len) RSW_WRITE_NAME_##dir(name)
#define RSW_WRITE_NAME_IN(name)
#define RSW_WRITE_NAME_OUT(name) #name,
#include "hooks.def"
#undef RSW_WRITE_NAME_IN
#undef RSW_WRITE_NAME_OUT
    "splice",
};
#define NWRITES (sizeof write_names / sizeof write_names[0])
static struct {
    uintptr_t lo, hi;
} write_ranges[NWRITES];

static void find_write_ranges(void)
{
    for (size_t i = 0; i < NWRITES; i++) {
        void *p = dlsym(RTLD_NEXT, write_names[i]);
        Dl_info info;
        const ElfW(Sym) *sym = NULL;
        if (p && dladdr1(p, &info, (void **)&sym, RTLD_DL_SYMENT) && sym && sym->st_size) {
            write_ranges[i].lo = (uintptr_t)p;
            write_ranges[i].hi = (uintptr_t)p + sym->st_size;
        }
    }
}

/* The hooked write call whose code holds ip, or NULL. Async-signal-safe. */
static const char *write_call_at(uintptr_t ip)
{
    for (size_t i = 0; i < NWRITES; i++)
        if (ip > write_ranges[i].lo && ip <= write_ranges[i].hi) /* ip: after the syscall */
            return write_names[i];
    return NULL;
}

/* Which write raised it? The kernel sends SIGPIPE for a failed write to the writer itself
 * (si_code SI_USER, si_pid our own pid) while the system call returns, so the interrupted
 * context sits just after a syscall instruction, with RAX the result (-EPIPE, or a short count
 * when a blocked write was cut off) and RDI still the first argument, the fd (the kernel keeps
 * it). This also names writes libc makes itself (stdio's fflush goes through write), which no
 * hook sees. Returns the fd, or -1 if the signal did not come from a write (e.g. kill -PIPE);
 * *call: the call, or NULL when the code is not one of libc's write functions. */
static int interrupted_write(const siginfo_t *si, void *ucv, const char **call)
{
    *call = NULL;
#if defined(__x86_64__)
    ucontext_t *uc = ucv;
    if (!uc || !si || si->si_code != SI_USER || si->si_pid != getpid())
        return -1;
    greg_t rax = uc->uc_mcontext.gregs[REG_RAX];
    const unsigned char *ip = (const unsigned char *)uc->uc_mcontext.gregs[REG_RIP];
    if ((rax != -EPIPE && rax < 0) || !ip || ip[-2] != 0x0f || ip[-1] != 0x05) /* syscall */
        return -1;
    *call = write_call_at((uintptr_t)ip);
    if (rax != -EPIPE && !*call) /* e.g. kill(getpid(), SIGPIPE) returning 0 */
        return -1;
    return (int)uc->uc_mcontext.gregs[REG_RDI];
#else
    (void)si, (void)ucv;
    return -1;
#endif
}

static void handler(int sig, siginfo_t *si, void *uc)
{
    int saved = errno;
    struct sigaction a = app_act[__atomic_load_n(&app_idx, __ATOMIC_ACQUIRE)];
    int dfl = a.sa_handler == SIG_DFL, ign = a.sa_handler == SIG_IGN;
    const char *call;
    int fd = interrupted_write(si, uc, &call);
    if (fd >= 0 && !call && rsw_tls.depth) {
        /* the library's own raw write (its log on a pipe whose reader left, RSTWATCH_LOG=stderr
         * into a closed pipe): not the program's signal; the write returns EPIPE to the library */
        errno = saved;
        return;
    }
    if (!(RSW_UNLIKELY(rsw_tls.vfork_of) && rsw_vfork_child())) { /* a vfork child: no log */
        struct rsw_evinfo in = RSW_EVINFO_INIT;
        in.ev = RSW_EV_SIGNAL, in.in_signal = 1, in.call = call;
        in.disposition = dfl ? "default" : ign ? "ignore" : "handler";
        in.action = dfl   ? (rsw_cfg.sigpipe_survive ? "survive" : "kill")
                    : ign ? "ignore"
                          : "handler";
        rsw_busy();
        if (fd >= 0) {
            in.fd = fd;
            in.e = rsw_fdt_watched(fd);
            if (!in.e) /* written only by libc itself so far (stdio): classify it now */
                in.e = rsw_fd_adopt(fd, in.call);
        }
        /* inside dlopen the loader's lock may be held: libunwind would need it */
        in.backtrace = rsw_cfg.backtrace > 0 && !rsw_tls.in_loader;
        rsw_ev_emit(&in);
        rsw_idle();
    }
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

/* Does this call concern SIGPIPE while the library interposes it? Enters the library (guard.h)
 * when it does; otherwise the caller passes the call straight through. */
static int pipe_call(int sig, struct rsw_guard *g)
{
    /* entered first for every signal: it also resolves the real functions when another
     * library's constructor (ASan's, say) sets up its handlers before ours ran */
    if (!rsw_enter(g))
        return 0;
    if (sig == SIGPIPE && active)
        return 1;
    rsw_leave(g);
    return 0;
}

/* Leaves with errno set to err when the call failed. */
static void leave_failed(struct rsw_guard *g, int failed)
{
    if (failed)
        g->err = errno;
    rsw_leave(g);
}

RSW_EXPORT int sigaction(int sig, const struct sigaction *restrict act,
                         struct sigaction *restrict old)
{
    struct rsw_guard g;
    if (!pipe_call(sig, &g))
        return rsw_real.sigaction(sig, act, old);
    int r = app_sigaction(act, old);
    leave_failed(&g, r != 0);
    return r;
}

/* The program's signal()-style call, entered. */
static sighandler_t set_handler(int sig, sighandler_t h, int flags, int mask_self)
{
    struct sigaction a, old;
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

#define SIGNAL_SHIM(name, flags, mask_self)                                                        \
    RSW_EXPORT sighandler_t name(int sig, sighandler_t h)                                          \
    {                                                                                              \
        struct rsw_guard g;                                                                        \
        if (!pipe_call(sig, &g))                                                                   \
            return rsw_real.name(sig, h);                                                          \
        sighandler_t r = set_handler(sig, h, flags, mask_self);                                    \
        leave_failed(&g, r == SIG_ERR);                                                            \
        return r;                                                                                  \
    }
/* glibc's signal() and bsd_signal(): BSD semantics (restart, handler blocks its signal). */
SIGNAL_SHIM(signal, SA_RESTART, 1)
SIGNAL_SHIM(bsd_signal, SA_RESTART, 1)
/* System V semantics: one-shot, the signal not blocked in its handler. */
SIGNAL_SHIM(sysv_signal, SA_RESETHAND | SA_NODEFER, 0)

/* sigset(): System V, with SIG_HOLD; entered. */
static sighandler_t set_or_hold(int sig, sighandler_t h)
{
    sigset_t s, olds;
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
        prev = set_handler(sig, h, 0, 0);
        if (prev == SIG_ERR || sigprocmask(SIG_UNBLOCK, &s, NULL) != 0)
            return SIG_ERR;
    }
    return was_held ? SIG_HOLD : prev;
}

RSW_EXPORT sighandler_t sigset(int sig, sighandler_t h)
{
    struct rsw_guard g;
    if (!pipe_call(sig, &g))
        return rsw_real.sigset(sig, h);
    sighandler_t r = set_or_hold(sig, h);
    leave_failed(&g, r == SIG_ERR);
    return r;
}
