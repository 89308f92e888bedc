/* filters.h: which connections the report shows (--pid, --peer, --verdict, --errors-only). */
#ifndef RSW_FILTERS_H
#define RSW_FILTERS_H
#include "conn_model.h"
#include <jansson.h>

struct rsw_filters {
    const long long *pids; /* show connections of these processes (either end) */
    int npids;
    const char *peer; /* ADDR or ADDR:PORT ([V6]:PORT) of either end's peer */
    int verdict;      /* enum rsw_verdict_kind, or -1 */
    int errors_only;
};

/* --peer: 1 if spec is ADDR, ADDR:PORT, [V6] or [V6]:PORT (or a UNIX path). */
int rsw_peer_spec_ok(const char *spec);
/* An IPv4-mapped IPv6 address ("[::ffff:127.0.0.1]:80", what a dual-stack socket such as every
 * Java program's reports) as the IPv4 address it is ("127.0.0.1:80"), written into buf; any
 * other address (or NULL) is returned unchanged. */
const char *rsw_addr_canon(const char *addr, char *buf, size_t len);
/* 1 if the logged address addr matches spec (a bare ADDR matches any port). */
int rsw_peer_matches(const char *spec, const char *addr);
/* 1 if --pid selects the process pid (or no --pid was given). */
int rsw_pid_passes(const struct rsw_filters *f, long long pid);
/* 1 if the connection x (its CONN json built, y its other end or NULL) passes the filters. */
int rsw_conn_passes(const struct rsw_filters *f, json_t *conn, const struct rsw_conn *x,
                    const struct rsw_conn *y);

#endif
