/* counts.h: what a v3 log counted instead of writing it line by line: suppressed events (storm
 * control), clean connections (tally lines) and events the log could not take (lost, log_max);
 * summed over all lines into the report's summary. */
#ifndef RSW_COUNTS_H
#define RSW_COUNTS_H
#include "conn_model.h"
#include <jansson.h>

struct rsw_counts;

struct rsw_counts *rsw_counts_new(void);
void rsw_counts_free(struct rsw_counts *c);
/* A "suppressed" line of process p. frames: its site's backtrace, resolved and symbolized
 * (borrowed; NULL when the line names none); missing_stack: the id it named when that stack is
 * not in the log, else -1. Lines of one site (what, call, site frame), any process, add up. */
void rsw_counts_suppressed(struct rsw_counts *c, const struct rsw_proc *p, const json_t *line,
                           json_t *frames, long long missing_stack);
/* A "tally" line of p: lines of one (role, address) add up. */
void rsw_counts_tally(struct rsw_counts *c, const struct rsw_proc *p, const json_t *line);
/* A "lost" or "log_max" line of p, read from the log at path. */
void rsw_counts_lost(struct rsw_counts *c, const struct rsw_proc *p, const json_t *line,
                     enum rsw_ev ev, const char *path);
/* Adds to SUMMARY (docs/report-json.md) "tallied" and "tallies" (when there are tallies, or
 * failures_mode: a process logged in failures mode), "suppressed", "suppressed_connections",
 * "suppressed_errors" and "suppressed_signals" (when anything was suppressed), "lost" (when a
 * log lost events). */
void rsw_counts_summary(const struct rsw_counts *c, json_t *summary, int failures_mode);

#endif
