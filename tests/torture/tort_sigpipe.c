/* tort_sigpipe.c: sets SIGPIPE handling one way (argv[1]), then writes three times on a socket
 * whose peer is gone, printing everything the program can observe: return values, errnos, handler
 * calls with their siginfo, and what sigaction() reports as the disposition after each step. Run
 * with and without librstwatch.so, the output and the exit status must be identical. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

extern sighandler_t sysv_signal(int, sighandler_t);
extern sighandler_t bsd_signal(int, sighandler_t);

static volatile sig_atomic_t calls, last_signo, last_code, from_self;

static void on_pipe(int sig)
{
    calls++;
    last_signo = sig;
}

static void on_pipe_info(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    calls++;
    last_signo = sig;
    last_code = si->si_code;
    from_self = si->si_pid == getpid();
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fflush(stdout);
}

static const char *handler_name(const struct sigaction *a)
{
    void (*h)(int) = a->sa_handler;
    if ((a->sa_flags & SA_SIGINFO) && a->sa_sigaction == on_pipe_info)
        return "on_pipe_info";
    if (h == SIG_DFL)
        return "SIG_DFL";
    if (h == SIG_IGN)
        return "SIG_IGN";
    if (h == on_pipe)
        return "on_pipe";
    return "OTHER";
}

/* What the program sees when it asks: handler, the flags it can set, the mask, pending, blocked. */
static void disposition(const char *when)
{
    struct sigaction a;
    sigset_t pending, blocked;
    const int flags = SA_SIGINFO | SA_RESETHAND | SA_NODEFER | SA_RESTART | SA_ONSTACK;
    sigaction(SIGPIPE, NULL, &a);
    sigpending(&pending);
    sigprocmask(SIG_BLOCK, NULL, &blocked);
    say("%s: handler=%s flags=%#x mask_has_pipe=%d pending=%d blocked=%d\n", when, handler_name(&a),
        (unsigned)(a.sa_flags & flags), sigismember(&a.sa_mask, SIGPIPE),
        sigismember(&pending, SIGPIPE), sigismember(&blocked, SIGPIPE));
}

static int setup(const char *mode)
{
    struct sigaction a;
    memset(&a, 0, sizeof a);
    sigemptyset(&a.sa_mask);
    if (!strcmp(mode, "default"))
        return 0;
    if (!strcmp(mode, "signal"))
        return signal(SIGPIPE, on_pipe) == SIG_ERR;
    if (!strcmp(mode, "signal_ign"))
        return signal(SIGPIPE, SIG_IGN) == SIG_ERR;
    if (!strcmp(mode, "sysv_signal"))
        return sysv_signal(SIGPIPE, on_pipe) == SIG_ERR;
    if (!strcmp(mode, "bsd_signal"))
        return bsd_signal(SIGPIPE, on_pipe) == SIG_ERR;
    if (!strcmp(mode, "sigaction")) {
        a.sa_handler = on_pipe;
        return sigaction(SIGPIPE, &a, NULL);
    }
    if (!strcmp(mode, "sigaction_siginfo")) {
        a.sa_sigaction = on_pipe_info;
        a.sa_flags = SA_SIGINFO | SA_RESTART;
        return sigaction(SIGPIPE, &a, NULL);
    }
    if (!strcmp(mode, "sigaction_ign")) {
        a.sa_handler = SIG_IGN;
        return sigaction(SIGPIPE, &a, NULL);
    }
    if (!strcmp(mode, "sigaction_resethand")) {
        a.sa_handler = on_pipe;
        a.sa_flags = SA_RESETHAND;
        return sigaction(SIGPIPE, &a, NULL);
    }
    if (!strcmp(mode, "sigaction_resethand_siginfo")) {
        a.sa_sigaction = on_pipe_info;
        a.sa_flags = SA_RESETHAND | SA_SIGINFO | SA_NODEFER;
        return sigaction(SIGPIPE, &a, NULL);
    }
    if (!strcmp(mode, "blocked_sigtimedwait") || !strcmp(mode, "blocked_handler")) {
        sigset_t s;
        if (!strcmp(mode, "blocked_handler") && signal(SIGPIPE, on_pipe) == SIG_ERR)
            return -1;
        sigemptyset(&s);
        sigaddset(&s, SIGPIPE);
        return sigprocmask(SIG_BLOCK, &s, NULL);
    }
    say("unknown mode %s\n", mode);
    exit(2);
}

/* blocked modes: fetch (sigtimedwait) or release (unblock, the handler runs) the pending SIGPIPE.
 */
static void after_write(const char *mode)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGPIPE);
    if (!strcmp(mode, "blocked_sigtimedwait")) {
        siginfo_t si;
        struct timespec zero = {0, 0};
        int sig = sigtimedwait(&s, &si, &zero);
        say("sigtimedwait=%d errno=%s code=%d self=%d\n", sig,
            sig < 0 ? strerrorname_np(errno) : "0", sig > 0 ? si.si_code : 0,
            sig > 0 && si.si_pid == getpid());
    } else if (!strcmp(mode, "blocked_handler")) {
        sigprocmask(SIG_UNBLOCK, &s, NULL);
        sigprocmask(SIG_BLOCK, &s, NULL);
    }
}

int main(int argc, char **argv)
{
    int sv[2];
    if (argc != 2) {
        fprintf(stderr, "usage: tort_sigpipe MODE\n");
        return 2;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) {
        perror("socketpair");
        return 99;
    }
    close(sv[1]);
    if (setup(argv[1])) {
        perror("setup");
        return 99;
    }
    disposition("after setup");
    for (int i = 1; i <= 3; i++) {
        say("write %d\n", i);
        errno = 0;
        ssize_t r = write(sv[0], "x", 1);
        int err = errno;
        say("write %d: ret=%zd errno=%s handler_calls=%d signo=%d code=%d self=%d\n", i, r,
            r < 0 ? strerrorname_np(err) : "0", (int)calls, (int)last_signo, (int)last_code,
            (int)from_self);
        after_write(argv[1]);
        char label[32];
        snprintf(label, sizeof label, "after write %d", i);
        disposition(label);
    }
    say("survived: handler_calls=%d\n", (int)calls);
    return 7;
}
