/* summary.h: the report's closing summary (verdicts, peers, call sites, processes, skipped lines).
 */
#ifndef RSW_SUMMARY_H
#define RSW_SUMMARY_H
#include "conn_model.h"
#include "reader.h"
#include <jansson.h>

struct rsw_summary;

/* The program `rstwatch run` started (pid 0: none). Unless a start line came from its pid, the
 * summary lists it under "not_observed". */
struct rsw_watch {
    long long pid;
    const char *name;
};

struct rsw_summary *rsw_summary_new(void);
void rsw_summary_free(struct rsw_summary *s);
/* Counts one reported connection (CONN json, frames already symbolized). */
void rsw_summary_add_conn(struct rsw_summary *s, json_t *conn);
/* Counts an error or signal that belongs to no connection (a listening socket). */
void rsw_summary_add_loose(struct rsw_summary *s, const char *errno_name, json_t *bt);
/* The SUMMARY object of docs/report-json.md (a new reference). */
json_t *rsw_summary_json(struct rsw_summary *s, const struct rsw_proc *procs,
                         const struct rsw_watch *watch, const struct rsw_skips *sk,
                         char *const *inputs, int ninputs);

#endif
