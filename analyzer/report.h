/* report.h: `rstwatch report`'s engine: merge logs, follow connections, emit verdicts. */
#ifndef RSW_REPORT_H
#define RSW_REPORT_H
#include "render.h"
#include <jansson.h>

struct rsw_filters {
    const long long *pids; /* show connections of these processes (either end) */
    int npids;
    const char *peer;      /* ADDR or ADDR:PORT ([V6]:PORT) of either end's peer */
    int verdict;           /* enum rsw_verdict_kind, or -1 */
    int errors_only;
};

struct rsw_report_opts {
    struct rsw_filters flt;
    int strict;                         /* a skipped line → exit 2 */
    int quiet;                          /* print nothing on stderr (rstwatch run's summary) */
    const struct rsw_renderer *renderer; /* NULL: only build the summary */
    struct rsw_render_opts ro;
};

/* Reads the inputs (files, directories, "-") and renders the report. Returns the exit status:
 * 0, 1 (output write error) or 2 (an input missing/unreadable, or bad input with --strict).
 * *summary_out (optional) receives the SUMMARY object. */
int rsw_report(char *const *inputs, int ninputs, const struct rsw_report_opts *o,
               json_t **summary_out);

/* --peer: 1 if spec is ADDR, ADDR:PORT, [V6] or [V6]:PORT (or a UNIX path). */
int rsw_peer_spec_ok(const char *spec);
/* 1 if the logged address addr matches spec (a bare ADDR matches any port). */
int rsw_peer_matches(const char *spec, const char *addr);

#endif
