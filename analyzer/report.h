/* report.h: `rstwatch report`'s engine: merge logs, follow connections, emit verdicts. */
#ifndef RSW_REPORT_H
#define RSW_REPORT_H
#include "filters.h"
#include "render.h"
#include "summary.h"
#include <jansson.h>

struct rsw_report_opts {
    struct rsw_filters flt;
    int strict;                          /* a skipped line → exit 2 */
    int quiet;                           /* print nothing on stderr (rstwatch run's summary) */
    const struct rsw_renderer *renderer; /* NULL: only build the summary */
    struct rsw_render_opts ro;
    struct rsw_watch watch; /* rstwatch run's program: was it observed? */
};

/* `rstwatch run` leaves this note ({"pid":N,"name":"PROG","status":S}) in its log directory when
 * no log came from the program it started; a report on that directory lists it, unobserved. */
#define RSW_NOT_OBSERVED_NOTE "rstwatch-not-observed.json"

/* Reads the inputs (files, directories, "-") and renders the report. Returns the exit status:
 * 0, 1 (output write error) or 2 (an input missing/unreadable, or bad input with --strict).
 * *summary_out (optional) receives the SUMMARY object. */
int rsw_report(char *const *inputs, int ninputs, const struct rsw_report_opts *o,
               json_t **summary_out);

#endif
