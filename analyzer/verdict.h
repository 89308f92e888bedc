/* verdict.h: what happened to a connection, decided from facts gathered off its timeline. */
#ifndef RSW_VERDICT_H
#define RSW_VERDICT_H
#include <limits.h>
#include <stddef.h>

#define RSW_NOTS LLONG_MIN /* "no such event" for a timestamp */

enum rsw_verdict_kind {
    RSW_V_CLEAN,
    RSW_V_REFUSED,
    RSW_V_RESET_BY_PEER,
    RSW_V_WRITE_AFTER_PEER_CLOSE,
    RSW_V_WRITE_AFTER_SHUTDOWN,
    RSW_V_TIMEOUT,
    RSW_V_UNREACHABLE,
    RSW_V_INJECTED,
    RSW_V_STALE_AFTER_PEER_RESTART,
    RSW_V_NKINDS
};

/* Everything the verdict depends on. Timestamps are absolute ns (RSW_NOTS: did not happen);
 * byte counts are -1 when unknown. Strings point into the caller's data. */
struct rsw_facts {
    long long start_ts; /* the connection's start: times in explanations are relative */
    const char *peer;   /* the peer's address, for the words */
    const char *family; /* "inet", "inet6", "unix", "pipe"; NULL: TCP (words differ:
                         * only TCP has SYNs, FINs and RSTs) */
    /* the first connection-killing error (error event), or a fatal SIGPIPE without one */
    const char *err_errno; /* "EPIPE", ... or NULL */
    const char *err_call;  /* "write", ... */
    const char *err_op;    /* "connect", "read", "write", ... */
    long long err_ts;
    int err_injected;
    long long err_unacked;   /* tcp.unacked on the error event */
    long long err_bytes_out; /* our bytes_out when the error came */
    long long n_errors;
    /* the first fault injection on the connection */
    const char *inject_spec;
    long long inject_rule; /* -1 unknown */
    const char *inject_errno;
    long long inject_ts;
    /* our own side */
    long long shut_wr_ts;      /* shutdown(SHUT_WR or SHUT_RDWR) */
    long long eof_ts;          /* read returned 0: the peer's FIN (or its close) */
    const char *signal_action; /* SIGPIPE on this connection: "kill", "handler", "survive" */
    long long signal_ts;
    /* from the matched other end, when its log was given */
    int have_peer;
    long long peer_close_ts; /* the peer's close (or shutdown SHUT_WR) */
    long long peer_bytes_in; /* bytes the peer had read when it closed */
    /* > 0: the peer's log put the close that caused our error (or the FIN we read) this many ns
     * after that effect; its events are taken as that much early (peer_close_ts is adjusted) */
    long long peer_skew;
    /* the peer's process restarted while we held the connection */
    long long peer_restart_ts;
    long long peer_restart_pid;
};

struct rsw_verdict {
    enum rsw_verdict_kind kind;
    long long bytes_after_peer_close; /* -1 unknown / not applicable */
    char explanation[512];
};

void rsw_facts_init(struct rsw_facts *f);
void rsw_verdict_decide(const struct rsw_facts *f, struct rsw_verdict *out);
const char *rsw_verdict_name(enum rsw_verdict_kind k);
/* Returns the kind, or -1 for an unknown name. */
int rsw_verdict_parse(const char *name);

#endif
