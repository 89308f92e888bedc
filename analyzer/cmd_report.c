/* cmd_report.c: `rstwatch report`: option parsing and output setup around the report engine. */
#include "cmd.h"
#include "report.h"
#include "symbolize.h"
#include "verdict.h"
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char rsw_report_usage[] =
    "usage: rstwatch report [OPTIONS] LOG|DIR|- ...\n"
    "\n"
    "Reads rstwatch logs (files, directories of *.jsonl, - for stdin) from any number of\n"
    "processes and hosts, merges them by time, and explains each connection with a timeline\n"
    "and a verdict: refused, reset-by-peer, write-after-peer-close, write-after-shutdown,\n"
    "timeout, unreachable, injected, stale-after-peer-restart or clean. When both ends' logs\n"
    "are given the two sides of a TCP connection are shown as one timeline. The text report\n"
    "leads with what went wrong: a short summary, every failing connection in full (killed by\n"
    "SIGPIPE first, then by verdict, then by time), then the clean connections one line per\n"
    "group and the processes counted by name, with the tree of those that had a failure.\n"
    "\n"
    "options:\n"
    "  -f, --format FMT    text (default), json, chrome (trace-event JSON) or html\n"
    "  -o, --output FILE   write the report to FILE instead of stdout\n"
    "      --pid PID       only connections of this process (either end; repeatable)\n"
    "      --peer ADDR[:PORT]  only connections with this peer ([V6]:PORT for IPv6)\n"
    "      --verdict V     only connections with this verdict\n"
    "      --full          text: every connection's timeline and every process, too\n"
    "      --errors-only   only connections that met an error or SIGPIPE\n"
    "      --strict        a truncated, garbage, oversized, unknown or newer-version line\n"
    "                      is an error (exit 2) instead of being skipped and counted; a log\n"
    "                      that lost events is incomplete (the whole report, then exit 2)\n"
    "      --color WHEN    auto (default: on a terminal), always, never\n"
    "      --debug-dir DIRS  look for separate debug files (.build-id/xx/yyyy.debug, by\n"
    "                      path) in these directories (colon-separated, repeatable) instead\n"
    "                      of /usr/lib/debug; with DEBUGINFOD_URLS set, debuginfod too\n"
    "  -h, --help          this help\n"
    "\n"
    "exit status: 0 ok, 1 the report could not be written, 2 usage error, missing or\n"
    "unreadable input, or bad or incomplete input with --strict.\n";

static const struct rsw_renderer *renderer_named(const char *name)
{
    const struct rsw_renderer *all[] = {&rsw_render_text, &rsw_render_json, &rsw_render_chrome,
                                        &rsw_render_html};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (strcmp(all[i]->name, name) == 0)
            return all[i];
    return NULL;
}

static int bad_usage(const char *msg, const char *arg)
{
    fprintf(stderr, "rstwatch: report: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
    return 2;
}

int rsw_cmd_report(int argc, char **argv)
{
    enum { O_PID = 256, O_PEER, O_VERDICT, O_ERRORS, O_STRICT, O_COLOR, O_FULL, O_DEBUG_DIR };
    static const struct option opts[] = {
        {"format", required_argument, 0, 'f'},
        {"output", required_argument, 0, 'o'},
        {"pid", required_argument, 0, O_PID},
        {"peer", required_argument, 0, O_PEER},
        {"verdict", required_argument, 0, O_VERDICT},
        {"errors-only", no_argument, 0, O_ERRORS},
        {"full", no_argument, 0, O_FULL},
        {"strict", no_argument, 0, O_STRICT},
        {"color", required_argument, 0, O_COLOR},
        {"debug-dir", required_argument, 0, O_DEBUG_DIR},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    struct rsw_report_opts o = {.flt = {.verdict = -1}};
    const char *format = "text", *output = NULL, *color = "auto";
    long long pids[64];
    int npids = 0, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+f:o:h", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'f':
            format = optarg;
            break;
        case 'o':
            output = optarg;
            break;
        case O_PID: {
            errno = 0;
            long long v = strtoll(optarg, &end, 10);
            if (errno || *end || v <= 0 || end == optarg)
                return bad_usage("--pid wants a process id", optarg);
            if (npids == 64)
                return bad_usage("at most 64 --pid", NULL);
            pids[npids++] = v;
            break;
        }
        case O_PEER:
            if (!rsw_peer_spec_ok(optarg))
                return bad_usage("--peer wants ADDR, ADDR:PORT or [V6]:PORT", optarg);
            o.flt.peer = optarg;
            break;
        case O_VERDICT:
            o.flt.verdict = rsw_verdict_parse(optarg);
            if (o.flt.verdict < 0)
                return bad_usage("unknown verdict (see rstwatch report --help)", optarg);
            break;
        case O_ERRORS:
            o.flt.errors_only = 1;
            break;
        case O_FULL:
            o.ro.full = 1;
            break;
        case O_STRICT:
            o.strict = 1;
            break;
        case O_COLOR:
            if (strcmp(optarg, "auto") && strcmp(optarg, "always") && strcmp(optarg, "never"))
                return bad_usage("--color wants auto, always or never", optarg);
            color = optarg;
            break;
        case O_DEBUG_DIR:
            rsw_sym_add_debug_dirs(optarg);
            break;
        case 'h':
            fputs(rsw_report_usage, stdout);
            return 0;
        default:
            if (optopt >= 256 || (optopt && strchr("fo", optopt)))
                return bad_usage("option needs a value", argv[optind - 1]);
            return bad_usage("unknown option (see rstwatch report --help)", argv[optind - 1]);
        }
    }
    o.flt.pids = pids;
    o.flt.npids = npids;
    o.renderer = renderer_named(format);
    if (!o.renderer)
        return bad_usage("unknown format (text, json, chrome, html)", format);
    if (optind >= argc)
        return bad_usage("no logs given (LOG, DIR, or - for stdin)", NULL);
    FILE *out = stdout;
    if (output && strcmp(output, "-") != 0) {
        out = fopen(output, "w");
        if (!out) {
            fprintf(stderr, "rstwatch: cannot write %s: %s\n", output, strerror(errno));
            return 2;
        }
    }
    int tty = isatty(fileno(out)) && getenv("NO_COLOR") == NULL &&
              !(getenv("TERM") && strcmp(getenv("TERM"), "dumb") == 0);
    o.ro.out = out;
    o.ro.color = strcmp(format, "text") == 0 &&
                 (strcmp(color, "always") == 0 || (strcmp(color, "auto") == 0 && tty));
    o.ro.title = argv[optind];
    int status = rsw_report(argv + optind, argc - optind, &o, NULL);
    if (out != stdout && fclose(out) != 0 && status == 0) {
        fprintf(stderr, "rstwatch: cannot write %s: %s\n", output, strerror(errno));
        status = 1;
    }
    return status;
}
