/* verdict.c: decides a connection's verdict (refused, reset-by-peer, ...) and explains it. */
#include "verdict.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const rsw_verdict_names[RSW_V_NKINDS] = {
    "clean",       "refused",     "reset-by-peer", "write-after-peer-close", "write-after-shutdown",
    "timeout",     "unreachable", "injected",      "stale-after-peer-restart",
};

const char *rsw_verdict_name(enum rsw_verdict_kind k)
{
    return (unsigned)k < RSW_V_NKINDS ? rsw_verdict_names[k] : "?";
}

int rsw_verdict_parse(const char *name)
{
    for (int i = 0; i < RSW_V_NKINDS; i++)
        if (strcmp(name, rsw_verdict_names[i]) == 0)
            return i;
    return -1;
}

int rsw_errno_is_unreachable(const char *e)
{
    return e && (strcmp(e, "EHOSTUNREACH") == 0 || strcmp(e, "ENETUNREACH") == 0 ||
                 strcmp(e, "EHOSTDOWN") == 0 || strcmp(e, "ENETDOWN") == 0);
}

void rsw_facts_init(struct rsw_facts *f)
{
    memset(f, 0, sizeof(*f));
    f->err_ts = f->inject_ts = f->shut_wr_ts = f->eof_ts = f->signal_ts = RSW_NOTS;
    f->peer_close_ts = f->peer_restart_ts = RSW_NOTS;
    f->err_unacked = f->err_bytes_out = f->peer_bytes_in = -1;
    f->inject_rule = f->peer_restart_pid = -1;
}

void rsw_fmt_rel(char *buf, size_t len, long long ns)
{
    char sign = ns < 0 ? '-' : '+';
    unsigned long long a = ns < 0 ? -(unsigned long long)ns : (unsigned long long)ns;
    if (a < 1000000000ULL)
        snprintf(buf, len, "%c%llu.%03llu ms", sign, a / 1000000, a / 1000 % 1000);
    else
        snprintf(buf, len, "%c%llu.%03llu s", sign, a / 1000000000ULL, a / 1000000 % 1000);
}

static int rsw_is(const char *a, const char *b)
{
    return a && strcmp(a, b) == 0;
}

/* The words depend on the kind of channel: only TCP has SYNs, FINs and RSTs. */
enum rsw_chan { RSW_TCP, RSW_UNIX, RSW_PIPE };

static enum rsw_chan rsw_chan(const struct rsw_facts *f)
{
    return rsw_is(f->family, "unix") ? RSW_UNIX : rsw_is(f->family, "pipe") ? RSW_PIPE : RSW_TCP;
}

/* Appends printf-style text to the explanation. */
__attribute__((format(printf, 2, 3))) static void rsw_say(struct rsw_verdict *v, const char *fmt,
                                                          ...)
{
    size_t n = strlen(v->explanation);
    if (n + 1 >= sizeof(v->explanation))
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->explanation + n, sizeof(v->explanation) - n, fmt, ap);
    va_end(ap);
}

static const char *rsw_rel(const struct rsw_facts *f, long long ts, char *buf, size_t len)
{
    rsw_fmt_rel(buf, len, ts - f->start_ts);
    return buf;
}

/* "; SIGPIPE killed the process" and friends. */
static void rsw_say_signal(const struct rsw_verdict *cv, const struct rsw_facts *f)
{
    struct rsw_verdict *v = (struct rsw_verdict *)cv;
    if (rsw_is(f->signal_action, "kill"))
        rsw_say(v, "; SIGPIPE killed the process");
    else if (rsw_is(f->signal_action, "handler"))
        rsw_say(v, "; SIGPIPE went to the program's handler");
    else if (rsw_is(f->signal_action, "survive"))
        rsw_say(v, "; SIGPIPE was logged and ignored (RSTWATCH_SIGPIPE=survive)");
}

static void rsw_say_error(struct rsw_verdict *v, const struct rsw_facts *f)
{
    char t[32];
    if (f->err_errno)
        rsw_say(v, "%s on %s at %s", f->err_errno, f->err_call ? f->err_call : "?",
                rsw_rel(f, f->err_ts, t, sizeof t));
}

static void rsw_explain_wapc(struct rsw_verdict *v, const struct rsw_facts *f)
{
    char t[32];
    enum rsw_chan ch = rsw_chan(f);
    if (f->have_peer && f->peer_close_ts != RSW_NOTS)
        rsw_say(v, "the peer closed at %s; ", rsw_rel(f, f->peer_close_ts, t, sizeof t));
    else if (f->eof_ts != RSW_NOTS && ch == RSW_TCP)
        rsw_say(v, "the peer closed (its FIN was read at %s); ",
                rsw_rel(f, f->eof_ts, t, sizeof t));
    else if (f->eof_ts != RSW_NOTS)
        rsw_say(v, "the peer had closed its end (a read returned 0 at %s); ",
                rsw_rel(f, f->eof_ts, t, sizeof t));
    else if (ch == RSW_PIPE)
        rsw_say(v, "the reader had gone (no process held the pipe's read end open); ");
    else if (ch == RSW_UNIX)
        rsw_say(v, "the peer had closed its end; ");
    else
        rsw_say(v, "the peer had closed the connection; ");
    if (v->bytes_after_peer_close >= 0)
        rsw_say(v, "%lld B written after that were never %s; ", v->bytes_after_peer_close,
                f->have_peer && f->peer_bytes_in >= 0 ? "read" : "acknowledged");
    else if (ch == RSW_TCP)
        rsw_say(v, "our data drew an RST; ");
    rsw_say_error(v, f);
    rsw_say_signal(v, f);
}

static long long rsw_bytes_after(const struct rsw_facts *f)
{
    if (f->have_peer && f->peer_bytes_in >= 0 && f->err_bytes_out >= 0)
        return f->err_bytes_out > f->peer_bytes_in ? f->err_bytes_out - f->peer_bytes_in : 0;
    return f->err_unacked;
}

void rsw_verdict_decide(const struct rsw_facts *f, struct rsw_verdict *v)
{
    char t[32], t2[32];
    memset(v, 0, sizeof(*v));
    v->bytes_after_peer_close = -1;
    const char *e = f->err_errno;

    if (f->inject_spec || f->err_injected) {
        v->kind = RSW_V_INJECTED;
        if (f->inject_spec)
            rsw_say(v, "fault injected by rule %lld '%s'", f->inject_rule, f->inject_spec);
        else
            rsw_say(v, "fault injected by RSTWATCH_INJECT (rule not logged)");
        if (e)
            rsw_say(v, ": %s on %s at %s", e, f->err_call ? f->err_call : "?",
                    rsw_rel(f, f->err_ts, t, sizeof t));
        else if (f->inject_errno)
            rsw_say(v, ": the program saw %s at %s", f->inject_errno,
                    rsw_rel(f, f->inject_ts, t, sizeof t));
        rsw_say_signal(v, f);
        return;
    }
    if (rsw_is(e, "ECONNREFUSED")) {
        v->kind = RSW_V_REFUSED;
        if (rsw_chan(f) == RSW_TCP)
            rsw_say(v, "nothing was listening at %s: the SYN was answered by an RST; ",
                    f->peer ? f->peer : "the peer");
        else
            rsw_say(v,
                    "nothing was listening at %s: the socket exists, but no process "
                    "listens on it; ",
                    f->peer ? f->peer : "the peer");
        rsw_say_error(v, f);
        return;
    }
    int epipe = rsw_is(e, "EPIPE"), reset = rsw_is(e, "ECONNRESET") || rsw_is(e, "ECONNABORTED");
    if ((epipe || reset) && f->peer_restart_ts != RSW_NOTS && f->peer_restart_ts <= f->err_ts) {
        v->kind = RSW_V_STALE_AFTER_PEER_RESTART;
        v->bytes_after_peer_close = rsw_bytes_after(f);
        rsw_say(v,
                "the peer's process restarted at %s (new pid %lld) while this connection was "
                "open; %s: ",
                rsw_rel(f, f->peer_restart_ts, t, sizeof t), f->peer_restart_pid,
                rsw_chan(f) == RSW_TCP
                    ? "the new process knew nothing of it and answered with an RST"
                    : "the connection had ended with the old process");
        rsw_say_error(v, f);
        rsw_say_signal(v, f);
        return;
    }
    if (epipe && f->shut_wr_ts != RSW_NOTS && f->shut_wr_ts <= f->err_ts) {
        v->kind = RSW_V_WRITE_AFTER_SHUTDOWN;
        rsw_say(v, "the program shut down its own sending side at %s, then wrote: ",
                rsw_rel(f, f->shut_wr_ts, t, sizeof t));
        rsw_say_error(v, f);
        rsw_say_signal(v, f);
        return;
    }
    if (epipe) {
        v->kind = RSW_V_WRITE_AFTER_PEER_CLOSE;
        v->bytes_after_peer_close = rsw_bytes_after(f);
        rsw_explain_wapc(v, f);
        return;
    }
    if (reset) {
        long long after = rsw_bytes_after(f);
        if (f->have_peer && f->peer_close_ts != RSW_NOTS && f->peer_close_ts <= f->err_ts &&
            f->peer_bytes_in >= 0 && after > 0) {
            v->kind = RSW_V_WRITE_AFTER_PEER_CLOSE;
            v->bytes_after_peer_close = after;
            rsw_explain_wapc(v, f);
            return;
        }
        v->kind = RSW_V_RESET_BY_PEER;
        if (rsw_chan(f) != RSW_TCP)
            rsw_say(v,
                    "the peer closed its end before reading all that was sent to it (a %s "
                    "reports that as %s); ",
                    rsw_chan(f) == RSW_PIPE ? "pipe" : "UNIX socket", e);
        else if (f->have_peer && f->peer_close_ts != RSW_NOTS)
            rsw_say(v, "the peer closed at %s and its kernel sent an RST; ",
                    rsw_rel(f, f->peer_close_ts, t2, sizeof t2));
        else
            rsw_say(v, "the peer reset the established connection (RST); ");
        rsw_say_error(v, f);
        return;
    }
    if (rsw_is(e, "ETIMEDOUT")) {
        v->kind = RSW_V_TIMEOUT;
        rsw_say(v, "%s: ",
                rsw_chan(f) != RSW_TCP ? "the call timed out"
                : rsw_is(f->err_op, "connect")
                    ? "no answer to the SYN before the retries ran out"
                    : "the peer stopped acknowledging (retransmissions ran out)");
        rsw_say_error(v, f);
        return;
    }
    if (rsw_errno_is_unreachable(e)) {
        v->kind = RSW_V_UNREACHABLE;
        rsw_say(v, "no route to %s (an ICMP error or a local routing failure): ",
                f->peer ? f->peer : "the peer");
        rsw_say_error(v, f);
        return;
    }
    v->kind = RSW_V_CLEAN;
    if (e) {
        rsw_say(v, "an error the verdicts do not cover: ");
        rsw_say_error(v, f);
    } else if (f->eof_ts != RSW_NOTS) {
        enum rsw_chan ch = rsw_chan(f);
        rsw_say(v, "no errors; %s (%s at %s)",
                ch == RSW_PIPE   ? "the writer closed its end first"
                : ch == RSW_UNIX ? "the peer closed its end first"
                                 : "the peer closed first",
                ch == RSW_TCP ? "FIN read" : "a read returned 0",
                rsw_rel(f, f->eof_ts, t, sizeof t));
    } else {
        rsw_say(v, "no errors");
    }
}
