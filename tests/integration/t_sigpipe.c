/* t_sigpipe.c: the program's own SIGPIPE dispositions (handler, SA_SIGINFO, SA_RESETHAND, SIG_IGN,
 * blocked, inherited) under the preload. */
#define _GNU_SOURCE
#include "t_util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t calls, seen_signo, seen_si_signo, seen_si_code, seen_si_pid_self,
    seen_ctx;

void on_sigpipe(int sig)
{
    calls++;
    seen_signo = sig;
}

void on_sigpipe_info(int sig, siginfo_t *si, void *ctx)
{
    calls++;
    seen_signo = sig;
    seen_si_signo = si ? si->si_signo : -1;
    seen_si_code = si ? si->si_code : -1;
    seen_si_pid_self = si ? si->si_pid == getpid() : -1;
    seen_ctx = ctx != NULL;
}

static const char *handler_name(void (*h)(int))
{
    if (h == SIG_DFL)
        return "DFL";
    if (h == SIG_IGN)
        return "IGN";
    if (h == on_sigpipe)
        return "on_sigpipe";
    return "FOREIGN";
}

static const char *action_name(const struct sigaction *sa)
{
    return sa->sa_sigaction == on_sigpipe_info ? "on_sigpipe_info" : handler_name(sa->sa_handler);
}

/* What sigaction(SIGPIPE, NULL, &old) says: must be what the program set, never the library's. */
static void describe_disposition(const char *label)
{
    struct sigaction old;
    memset(&old, 0xa5, sizeof(old));
    int r = sigaction(SIGPIPE, NULL, &old);
    static const struct {
        int bit;
        const char *name;
    } flags[] = {{SA_SIGINFO, "SIGINFO"}, {SA_RESETHAND, "RESETHAND"}, {SA_RESTART, "RESTART"},
                 {SA_NODEFER, "NODEFER"}, {SA_ONSTACK, "ONSTACK"},     {SA_NOCLDSTOP, "NOCLDSTOP"}};
    char fl[128] = "";
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
        if (old.sa_flags & flags[i].bit) {
            strcat(fl, fl[0] ? "|" : "");
            strcat(fl, flags[i].name);
        }
    sigset_t empty;
    sigemptyset(&empty);
    tu_out("%s: sigaction ret=%d handler=%s flags=%s mask_has_usr1=%d\n", label, r,
           action_name(&old), fl[0] ? fl : "0", sigismember(&old.sa_mask, SIGUSR1));
}

static void report_handler_calls(void)
{
    tu_out("handler calls=%d signo=%d si_signo=%d si_code=%d si_pid_self=%d ctx=%d\n", (int)calls,
           (int)seen_signo, (int)seen_si_signo, (int)seen_si_code, (int)seen_si_pid_self,
           (int)seen_ctx);
}

/* Writes into a connection whose peer has gone until a write fails. */
__attribute__((noinline)) int provoke_epipe(void)
{
    int port, err;
    int fd = tu_conn_to_closed_peer(&port);
    tu_out("conn port=%d\n", port);
    tu_write_until_failure(fd, 5000, 100, &err);
    close(fd);
    return err;
}

static int with_signal_handler(void)
{
    describe_disposition("initial");
    void (*prev)(int) = signal(SIGPIPE, on_sigpipe);
    tu_out("signal prev=%s\n", handler_name(prev));
    describe_disposition("installed");
    provoke_epipe();
    report_handler_calls();
    prev = signal(SIGPIPE, SIG_DFL);
    tu_out("signal prev=%s\n", handler_name(prev));
    describe_disposition("restored");
    return 0;
}

static int with_siginfo_handler(int extra_flags)
{
    describe_disposition("initial");
    struct sigaction sa, old;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_sigpipe_info;
    sa.sa_flags = SA_SIGINFO | extra_flags;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGUSR1);
    memset(&old, 0, sizeof(old));
    int r = sigaction(SIGPIPE, &sa, &old);
    tu_out("sigaction set ret=%d old=%s\n", r, action_name(&old));
    describe_disposition("installed");
    provoke_epipe();
    report_handler_calls();
    describe_disposition("after");
    if (extra_flags & SA_RESETHAND) {
        /* The disposition is back to default: this one kills the process. */
        provoke_epipe();
        tu_out("survived the second EPIPE\n");
    }
    return 0;
}

static int with_ignore(int use_sigaction)
{
    if (use_sigaction) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = SIG_IGN;
        tu_out("sigaction set ret=%d\n", sigaction(SIGPIPE, &sa, NULL));
    } else {
        tu_out("signal prev=%s\n", handler_name(signal(SIGPIPE, SIG_IGN)));
    }
    describe_disposition("ignored");
    int err = provoke_epipe();
    tu_out("final errno=%s\n", tu_errname(err));
    return 0;
}

/* What an exec'd image (or one started with SIGPIPE ignored) sees and does. */
static int report_and_write(void)
{
    describe_disposition("report");
    int err = provoke_epipe();
    tu_out("final errno=%s\n", tu_errname(err));
    return 0;
}

static int ignore_then_exec(const char *self)
{
    signal(SIGPIPE, SIG_IGN);
    describe_disposition("before exec");
    execl(self, self, "report", (char *)NULL);
    tu_die("execl");
}

/* SIGPIPE blocked, the write fails with EPIPE, the signal stays pending and is fetched with
 * sigtimedwait. */
static int with_blocked(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int err = provoke_epipe();
    tu_out("final errno=%s\n", tu_errname(err));
    sigset_t pend;
    sigpending(&pend);
    tu_out("pending=%d\n", sigismember(&pend, SIGPIPE));
    struct timespec zero = {0, 0};
    siginfo_t si;
    int s = sigtimedwait(&set, &si, &zero);
    tu_out("sigtimedwait ret=%d si_code=%d\n", s, s > 0 ? si.si_code : -1);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    describe_disposition("after");
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (!strcmp(mode, "signal"))
        return with_signal_handler();
    if (!strcmp(mode, "siginfo"))
        return with_siginfo_handler(0);
    if (!strcmp(mode, "resethand"))
        return with_siginfo_handler(SA_RESETHAND);
    if (!strcmp(mode, "ignore"))
        return with_ignore(0);
    if (!strcmp(mode, "ignore_sigaction"))
        return with_ignore(1);
    if (!strcmp(mode, "ignore_exec"))
        return ignore_then_exec(argv[0]);
    if (!strcmp(mode, "report"))
        return report_and_write();
    if (!strcmp(mode, "blocked"))
        return with_blocked();
    fprintf(stderr, "t_sigpipe: unknown mode '%s'\n", mode);
    return 2;
}
