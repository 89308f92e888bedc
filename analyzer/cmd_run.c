/* cmd_run.c: `rstwatch run`: runs a program under the preload, then summarizes what it logged. */
#include "cmd.h"
#include "fmt.h"
#include "inject_rules.h"
#include "jsonutil.h"
#include "report.h"
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* The program ran, but no log came from it: rstwatch could not do its job (as env(1) and
 * timeout(1) use 125 for their own failures). */
#define RSW_EXIT_NOT_OBSERVED 125

#ifndef RSW_INSTALL_LIBDIR
#define RSW_INSTALL_LIBDIR "lib"
#endif

const char rsw_run_usage[] =
    "usage: rstwatch run [OPTIONS] [--] PROG [ARGS...]\n"
    "\n"
    "Runs PROG with librstwatch.so preloaded, logging into a directory (one JSON Lines file\n"
    "per process), then prints one summary line and the report command to run next. Exits\n"
    "with PROG's status (128+N when a signal N killed it).\n"
    "\n"
    "options:\n"
    "  -o, --output DIR    log directory (default: a fresh rstwatch-PROG-PID/ here)\n"
    "      --inject SPEC   fault-injection rules (RSTWATCH_INJECT), checked before PROG runs\n"
    "      --backtrace N   frames per backtrace, 0-256 (RSTWATCH_BACKTRACE; default 32)\n"
    "      --events KIND   errors, failures (default), conn or all (RSTWATCH_EVENTS)\n"
    "      --sigpipe MODE  default, or survive: log SIGPIPE, then ignore it (RSTWATCH_SIGPIPE)\n"
    "  -h, --help          this help\n"
    "\n"
    "The preload is found next to rstwatch (../lib or ../" RSW_INSTALL_LIBDIR
    "); RSTWATCH_PRELOAD=PATH overrides.\n"
    "exit status: PROG's; 2 for a usage error or a bad --inject; 127 if PROG cannot run;\n"
    "125 if PROG ran but was not observed (no log from its pid: statically linked, or it\n"
    "cleared LD_PRELOAD).\n";

static int usage_error(const char *msg, const char *arg)
{
    fprintf(stderr, "rstwatch: run: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
    return 2;
}

/* Finds librstwatch.so: $RSTWATCH_PRELOAD, else relative to this executable: installed, in the
 * private directory RSW_INSTALL_LIBDIR (bin/../lib/rstwatch); in the build tree, bin/../lib. */
static int find_preload(char *out, size_t len)
{
    const char *env = getenv("RSTWATCH_PRELOAD");
    if (env && *env) {
        if (access(env, R_OK) != 0) {
            fprintf(stderr, "rstwatch: RSTWATCH_PRELOAD=%s: %s\n", env, strerror(errno));
            return -1;
        }
        snprintf(out, len, "%s", env);
        return 0;
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        fprintf(stderr, "rstwatch: cannot find my own executable: %s\n", strerror(errno));
        return -1;
    }
    self[n] = 0;
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = 0;
    const char *cands[] = {RSW_INSTALL_LIBDIR, "../lib"};
    char tried[2][PATH_MAX + 64];
    for (int i = 0; i < 2; i++) {
        snprintf(tried[i], sizeof tried[i], "%s/%s/librstwatch.so", self, cands[i]);
        char real[PATH_MAX];
        if (access(tried[i], R_OK) == 0 && realpath(tried[i], real)) {
            snprintf(out, len, "%s", real);
            return 0;
        }
    }
    fprintf(stderr,
            "rstwatch: cannot find librstwatch.so (looked in %s and %s); set "
            "RSTWATCH_PRELOAD\n",
            tried[0], tried[1]);
    return -1;
}

static pid_t child_pid;

static void forward_signal(int sig)
{
    if (child_pid > 0)
        kill(child_pid, sig);
}

/* What went wrong in the child before exec, sent back through a close-on-exec pipe. */
struct child_err {
    int stage; /* 1 mkdir, 2 exec */
    int err;
};

/* Prints the summary line of the run (and, when no log came from pid, says so first).
 * Returns 1 when the program was not observed. */
static int summarize(const char *dir, const char *name, long long pid, int status, int sig)
{
    char *args[] = {(char *)dir};
    struct rsw_report_opts o = {.flt = {.verdict = -1}, .quiet = 1, .watch = {pid, name}};
    json_t *sum = NULL;
    char how[64];
    const char *abbr = sig ? sigabbrev_np(sig) : NULL;
    if (sig)
        snprintf(how, sizeof how, "was killed by SIG%s (status %d)", abbr ? abbr : "?", status);
    else
        snprintf(how, sizeof how, "exited with status %d", status);
    struct stat st;
    int logs = stat(dir, &st) == 0 && rsw_report(args, 1, &o, &sum) == 0 && sum;
    int unobserved = !logs || json_array_size(json_object_get(sum, "not_observed")) > 0;
    if (unobserved)
        fprintf(stderr,
                "rstwatch: %s (pid %lld) was not observed: no log from it (statically linked, or "
                "it cleared LD_PRELOAD?)\n",
                name, pid);
    if (!logs) { /* nothing at all in dir: nothing more to say */
        fprintf(stderr, "rstwatch: %s %s; no rstwatch log was written in %s\n", name, how, dir);
        json_decref(sum);
        return 1;
    }
    /* the same counts as the report's summary: suppressed events and tallied connections too */
    long long nconn = rsw_jint(sum, "connections", 0);
    char verdicts[512] = "", errors[1024] = "";
    rsw_fmt_tally(verdicts, sizeof verdicts, json_object_get(sum, "verdicts"));
    rsw_fmt_tally_plus(errors, sizeof errors, json_object_get(sum, "errors"),
                       json_object_get(sum, "suppressed_errors"));
    long long sigs = rsw_jint(sum, "signals", 0), ssigs = rsw_jint(sum, "suppressed_signals", 0);
    char conns[1024], pipes[128], a[32], b[32];
    rsw_fmt_connections(conns, sizeof conns, sum, nconn ? verdicts : NULL);
    snprintf(pipes, sizeof pipes, "%s",
             sigs || ssigs ? (sig == SIGPIPE ? "yes, it killed the process" : "yes") : "no");
    rsw_fmt_count(a, sizeof a, sigs);
    rsw_fmt_count(b, sizeof b, ssigs);
    if (ssigs)
        snprintf(pipes + strlen(pipes), sizeof pipes - strlen(pipes), " (%s + %s suppressed)", a,
                 b);
    fprintf(stderr, "rstwatch: %s %s: %s%s; errors: %s; SIGPIPE: %s\n", name, how,
            unobserved ? "its other processes logged " : "", conns, errors, pipes);
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(sum, "lost"), i, x)
    {
        char what[1024];
        rsw_fmt_lost(what, sizeof what, x);
        fprintf(stderr, "rstwatch: %s\n", what);
    }
    fprintf(stderr, "rstwatch: next: rstwatch report %s\n", dir);
    json_decref(sum);
    return unobserved;
}

/* Leaves the note that tells a later `rstwatch report DIR` the program was not observed. */
static void note_not_observed(const char *dir, const char *name, long long pid, int status)
{
    struct stat st;
    char *path;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return;
    if (asprintf(&path, "%s/%s", dir, RSW_NOT_OBSERVED_NOTE) < 0)
        abort();
    json_t *note =
        json_pack("{s:I,s:s,s:i}", "pid", (json_int_t)pid, "name", name, "status", status);
    if (!note || json_dump_file(note, path, JSON_COMPACT) != 0)
        fprintf(stderr, "rstwatch: cannot write %s\n", path);
    json_decref(note);
    free(path);
}

int rsw_cmd_run(int argc, char **argv)
{
    enum { O_INJECT = 256, O_BT, O_EVENTS, O_SIGPIPE };
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'},
        {"inject", required_argument, 0, O_INJECT},
        {"backtrace", required_argument, 0, O_BT},
        {"events", required_argument, 0, O_EVENTS},
        {"sigpipe", required_argument, 0, O_SIGPIPE},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *dir = NULL, *inject = NULL, *bt = NULL, *events = NULL, *sigpipe = NULL;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            dir = optarg;
            break;
        case O_INJECT:
            inject = optarg;
            break;
        case O_BT: {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (!*optarg || *end || v < 0 || v > 256)
                return usage_error("--backtrace wants 0-256", optarg);
            bt = optarg;
            break;
        }
        case O_EVENTS:
            if (strcmp(optarg, "errors") && strcmp(optarg, "failures") && strcmp(optarg, "conn") &&
                strcmp(optarg, "all"))
                return usage_error("--events wants errors, failures, conn or all", optarg);
            events = optarg;
            break;
        case O_SIGPIPE:
            if (strcmp(optarg, "default") && strcmp(optarg, "survive"))
                return usage_error("--sigpipe wants default or survive", optarg);
            sigpipe = optarg;
            break;
        case 'h':
            fputs(rsw_run_usage, stdout);
            return 0;
        default:
            if (optopt >= 256 || optopt == 'o')
                return usage_error("option needs a value", argv[optind - 1]);
            return usage_error("unknown option (see rstwatch run --help)", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return usage_error("no program given (rstwatch run [OPTIONS] -- PROG [ARGS...])", NULL);
    char **prog = argv + optind;
    if (inject) {
        char err[512];
        if (rsw_inject_validate(inject, err, sizeof err) != 0) {
            fprintf(stderr, "%s\n", err);
            return 2;
        }
    }
    char preload[PATH_MAX];
    if (find_preload(preload, sizeof preload) != 0)
        return 2;
    const char *name = strrchr(prog[0], '/') ? strrchr(prog[0], '/') + 1 : prog[0];
    char absdir[PATH_MAX], shown[PATH_MAX + 64];
    if (dir) {
        if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
            fprintf(stderr, "rstwatch: cannot create %s: %s\n", dir, strerror(errno));
            return 2;
        }
        struct stat st;
        if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || !realpath(dir, absdir)) {
            fprintf(stderr, "rstwatch: %s is not a directory\n", dir);
            return 2;
        }
        snprintf(shown, sizeof shown, "%s", dir);
    }
    char cwd[PATH_MAX];
    if (!dir && !getcwd(cwd, sizeof cwd)) {
        fprintf(stderr, "rstwatch: cannot get the current directory: %s\n", strerror(errno));
        return 2;
    }
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0) {
        fprintf(stderr, "rstwatch: pipe: %s\n", strerror(errno));
        return 2;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "rstwatch: fork: %s\n", strerror(errno));
        return 2;
    }
    if (pid == 0) {
        struct child_err ce = {0, 0};
        close(pfd[0]);
        if (!dir) {
            int n =
                snprintf(absdir, sizeof absdir, "%s/rstwatch-%.200s-%d", cwd, name, (int)getpid());
            if (n < 0 || (size_t)n >= sizeof absdir)
                errno = ENAMETOOLONG;
            if (n < 0 || (size_t)n >= sizeof absdir ||
                (mkdir(absdir, 0755) != 0 && errno != EEXIST)) {
                ce = (struct child_err){1, errno};
                if (write(pfd[1], &ce, sizeof ce) < 0)
                    _exit(2);
                _exit(2);
            }
        }
        const char *old = getenv("LD_PRELOAD");
        char *ld;
        if (asprintf(&ld, "%s%s%s", preload, old && *old ? ":" : "", old ? old : "") < 0)
            _exit(2);
        setenv("LD_PRELOAD", ld, 1);
        setenv("RSTWATCH_LOG", absdir, 1);
        if (inject)
            setenv("RSTWATCH_INJECT", inject, 1);
        if (bt)
            setenv("RSTWATCH_BACKTRACE", bt, 1);
        if (events)
            setenv("RSTWATCH_EVENTS", events, 1);
        if (sigpipe)
            setenv("RSTWATCH_SIGPIPE", sigpipe, 1);
        execvp(prog[0], prog);
        ce = (struct child_err){2, errno};
        if (write(pfd[1], &ce, sizeof ce) < 0)
            _exit(127);
        _exit(127);
    }
    child_pid = pid;
    close(pfd[1]);
    struct sigaction ign = {.sa_handler = SIG_IGN}, fwd = {.sa_handler = forward_signal};
    sigaction(SIGINT, &ign, NULL);
    sigaction(SIGQUIT, &ign, NULL);
    sigaction(SIGTERM, &fwd, NULL);
    sigaction(SIGHUP, &fwd, NULL);
    struct child_err ce = {0, 0};
    ssize_t got;
    do
        got = read(pfd[0], &ce, sizeof ce);
    while (got < 0 && errno == EINTR);
    close(pfd[0]);
    int ws;
    while (waitpid(pid, &ws, 0) < 0)
        if (errno != EINTR) {
            fprintf(stderr, "rstwatch: waitpid: %s\n", strerror(errno));
            return 2;
        }
    if (!dir)
        snprintf(shown, sizeof shown, "rstwatch-%.200s-%d/", name, (int)pid);
    if (got == (ssize_t)sizeof ce && ce.stage == 1) {
        fprintf(stderr, "rstwatch: cannot create %s: %s\n", shown, strerror(ce.err));
        return 2;
    }
    if (got == (ssize_t)sizeof ce && ce.stage == 2) {
        fprintf(stderr, "rstwatch: cannot run %s: %s\n", prog[0], strerror(ce.err));
        if (!dir)
            rmdir(shown);
        return 127;
    }
    int status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    if (!summarize(shown, name, pid, status, WIFSIGNALED(ws) ? WTERMSIG(ws) : 0))
        return status;
    note_not_observed(dir ? absdir : shown, name, pid, status);
    return RSW_EXIT_NOT_OBSERVED;
}
