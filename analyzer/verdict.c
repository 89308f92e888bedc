/* verdict.c: decides a connection's verdict (refused, reset-by-peer, ...) and explains it. */
#include "verdict.h"
#include "fmt.h"
#include "rsw_schema.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const verdict_names[RSW_V_NKINDS] = {
    "clean",   "refused",     "reset-by-peer", "write-after-peer-close",   "write-after-shutdown",
    "timeout", "unreachable", "injected",      "stale-after-peer-restart",
};

const char *rsw_verdict_name(enum rsw_verdict_kind k)
{
    return (unsigned)k < RSW_V_NKINDS ? verdict_names[k] : "?";
}

int rsw_verdict_parse(const char *name)
{
    for (int i = 0; i < RSW_V_NKINDS; i++)
        if (strcmp(name, verdict_names[i]) == 0)
            return i;
    return -1;
}

void rsw_facts_init(struct rsw_facts *f)
{
    memset(f, 0, sizeof(*f));
    f->err_ts = f->inject_ts = f->shut_wr_ts = f->eof_ts = f->signal_ts = RSW_NOTS;
    f->peer_close_ts = f->peer_restart_ts = RSW_NOTS;
    f->err_unacked = f->err_bytes_out = f->peer_bytes_in = -1;
    f->inject_rule = f->peer_restart_pid = -1;
}

static int is(const char *a, const char *b)
{
    return a && strcmp(a, b) == 0;
}

/* The words depend on the kind of channel: only TCP has SYNs, FINs and RSTs. */
enum chan { CH_TCP, CH_UNIX, CH_PIPE };

static enum chan chan_of(const struct rsw_facts *f)
{
    int fam = rsw_family_parse(f->family);
    return fam == RSW_FAM_UNIX ? CH_UNIX : fam == RSW_FAM_PIPE ? CH_PIPE : CH_TCP;
}

/* Appends printf-style text to the explanation. */
__attribute__((format(printf, 2, 3))) static void say(struct rsw_verdict *v, const char *fmt, ...)
{
    size_t n = strlen(v->explanation);
    if (n + 1 >= sizeof(v->explanation))
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->explanation + n, sizeof(v->explanation) - n, fmt, ap);
    va_end(ap);
}

static const char *rel(const struct rsw_facts *f, long long ts, char *buf, size_t len)
{
    rsw_fmt_rel(buf, len, ts - f->start_ts);
    return buf;
}

/* "; SIGPIPE killed the process" and friends. */
static void say_signal(const struct rsw_verdict *cv, const struct rsw_facts *f)
{
    struct rsw_verdict *v = (struct rsw_verdict *)cv;
    if (is(f->signal_action, "kill"))
        say(v, "; SIGPIPE killed the process");
    else if (is(f->signal_action, "handler"))
        say(v, "; SIGPIPE went to the program's handler");
    else if (is(f->signal_action, "survive"))
        say(v, "; SIGPIPE was logged and ignored (RSTWATCH_SIGPIPE=survive)");
}

static void say_error(struct rsw_verdict *v, const struct rsw_facts *f)
{
    char t[32];
    if (f->err_errno)
        say(v, "%s on %s at %s", f->err_errno, f->err_call ? f->err_call : "?",
            rel(f, f->err_ts, t, sizeof t));
}

static void explain_wapc(struct rsw_verdict *v, const struct rsw_facts *f)
{
    char t[32];
    enum chan ch = chan_of(f);
    if (f->have_peer && f->peer_close_ts != RSW_NOTS)
        say(v, "the peer closed at %s; ", rel(f, f->peer_close_ts, t, sizeof t));
    else if (f->eof_ts != RSW_NOTS && ch == CH_TCP)
        say(v, "the peer closed (its FIN was read at %s); ", rel(f, f->eof_ts, t, sizeof t));
    else if (f->eof_ts != RSW_NOTS)
        say(v, "the peer had closed its end (a read returned 0 at %s); ",
            rel(f, f->eof_ts, t, sizeof t));
    else if (ch == CH_PIPE)
        say(v, "the reader had gone (no process held the pipe's read end open); ");
    else if (ch == CH_UNIX)
        say(v, "the peer had closed its end; ");
    else
        say(v, "the peer had closed the connection; ");
    if (v->bytes_after_peer_close >= 0)
        say(v, "%lld B written after that were never %s; ", v->bytes_after_peer_close,
            f->have_peer && f->peer_bytes_in >= 0 ? "read" : "acknowledged");
    else if (ch == CH_TCP)
        say(v, "our data drew an RST; ");
    say_error(v, f);
    say_signal(v, f);
}

static void decide(const struct rsw_facts *f, struct rsw_verdict *v);

static long long bytes_after(const struct rsw_facts *f)
{
    if (f->have_peer && f->peer_bytes_in >= 0 && f->err_bytes_out >= 0)
        return f->err_bytes_out > f->peer_bytes_in ? f->err_bytes_out - f->peer_bytes_in : 0;
    return f->err_unacked;
}

/* The effect came before its cause in the logs' times: say so, once, at the end. */
static void say_skew(struct rsw_verdict *v, const struct rsw_facts *f)
{
    char t[32];
    if (f->peer_skew <= 0)
        return;
    rsw_fmt_rel_fit(t, sizeof t, f->peer_skew); /* "+12.0 µs" */
    say(v,
        " (the peer's log puts its close %s after this end saw it: the two logs' clocks disagree "
        "by "
        "at least that much; the peer's times are shown that much earlier)",
        t + 1);
}

void rsw_verdict_decide(const struct rsw_facts *f, struct rsw_verdict *v)
{
    decide(f, v);
    say_skew(v, f);
}

static void decide(const struct rsw_facts *f, struct rsw_verdict *v)
{
    char t[32], t2[32];
    memset(v, 0, sizeof(*v));
    v->bytes_after_peer_close = -1;
    const char *e = f->err_errno;
    enum rsw_errclass cls = rsw_errclass_of_name(e);

    if (f->inject_spec || f->err_injected) {
        v->kind = RSW_V_INJECTED;
        if (f->inject_spec)
            say(v, "fault injected by rule %lld '%s'", f->inject_rule, f->inject_spec);
        else
            say(v, "fault injected by RSTWATCH_INJECT (rule not logged)");
        if (e)
            say(v, ": %s on %s at %s", e, f->err_call ? f->err_call : "?",
                rel(f, f->err_ts, t, sizeof t));
        else if (f->inject_errno)
            say(v, ": the program saw %s at %s", f->inject_errno,
                rel(f, f->inject_ts, t, sizeof t));
        say_signal(v, f);
        return;
    }
    if (cls == RSW_EC_REFUSED) {
        v->kind = RSW_V_REFUSED;
        if (chan_of(f) == CH_TCP)
            say(v, "nothing was listening at %s: the SYN was answered by an RST; ",
                f->peer ? f->peer : "the peer");
        else
            say(v,
                "nothing was listening at %s: the socket exists, but no process "
                "listens on it; ",
                f->peer ? f->peer : "the peer");
        say_error(v, f);
        return;
    }
    int epipe = cls == RSW_EC_PIPE, reset = cls == RSW_EC_RESET;
    if ((epipe || reset) && f->peer_restart_ts != RSW_NOTS && f->peer_restart_ts <= f->err_ts) {
        v->kind = RSW_V_STALE_AFTER_PEER_RESTART;
        v->bytes_after_peer_close = bytes_after(f);
        say(v,
            "the peer's process restarted at %s (new pid %lld) while this connection was "
            "open; %s: ",
            rel(f, f->peer_restart_ts, t, sizeof t), f->peer_restart_pid,
            chan_of(f) == CH_TCP ? "the new process knew nothing of it and answered with an RST"
                                 : "the connection had ended with the old process");
        say_error(v, f);
        say_signal(v, f);
        return;
    }
    if (epipe && f->shut_wr_ts != RSW_NOTS && f->shut_wr_ts <= f->err_ts) {
        v->kind = RSW_V_WRITE_AFTER_SHUTDOWN;
        say(v, "the program shut down its own sending side at %s, then wrote: ",
            rel(f, f->shut_wr_ts, t, sizeof t));
        say_error(v, f);
        say_signal(v, f);
        return;
    }
    if (epipe) {
        v->kind = RSW_V_WRITE_AFTER_PEER_CLOSE;
        v->bytes_after_peer_close = bytes_after(f);
        explain_wapc(v, f);
        return;
    }
    if (reset) {
        long long after = bytes_after(f);
        if (f->have_peer && f->peer_close_ts != RSW_NOTS && f->peer_close_ts <= f->err_ts &&
            f->peer_bytes_in >= 0 && after > 0) {
            v->kind = RSW_V_WRITE_AFTER_PEER_CLOSE;
            v->bytes_after_peer_close = after;
            explain_wapc(v, f);
            return;
        }
        v->kind = RSW_V_RESET_BY_PEER;
        if (chan_of(f) != CH_TCP)
            say(v,
                "the peer closed its end before reading all that was sent to it (a %s "
                "reports that as %s); ",
                chan_of(f) == CH_PIPE ? "pipe" : "UNIX socket", e);
        else if (f->have_peer && f->peer_close_ts != RSW_NOTS)
            say(v, "the peer closed at %s and its kernel sent an RST; ",
                rel(f, f->peer_close_ts, t2, sizeof t2));
        else
            say(v, "the peer reset the established connection (RST); ");
        say_error(v, f);
        return;
    }
    if (cls == RSW_EC_TIMEOUT) {
        v->kind = RSW_V_TIMEOUT;
        say(v, "%s: ",
            chan_of(f) != CH_TCP ? "the call timed out"
            : is(f->err_op, "connect")
                ? "no answer to the SYN before the retries ran out"
                : "the peer stopped acknowledging (retransmissions ran out)");
        say_error(v, f);
        return;
    }
    if (cls == RSW_EC_UNREACH) {
        v->kind = RSW_V_UNREACHABLE;
        say(v, "no route to %s (an ICMP error or a local routing failure): ",
            f->peer ? f->peer : "the peer");
        say_error(v, f);
        return;
    }
    v->kind = RSW_V_CLEAN;
    if (e) {
        say(v, "an error the verdicts do not cover: ");
        say_error(v, f);
    } else if (f->eof_ts != RSW_NOTS) {
        enum chan ch = chan_of(f);
        say(v, "no errors; %s (%s at %s)",
            ch == CH_PIPE   ? "the writer closed its end first"
            : ch == CH_UNIX ? "the peer closed its end first"
                            : "the peer closed first",
            ch == CH_TCP ? "FIN read" : "a read returned 0", rel(f, f->eof_ts, t, sizeof t));
    } else {
        say(v, "no errors");
    }
}
