/* conn_json.h: a finished connection (and its matched other end) as the report's CONN json. */
#ifndef RSW_CONN_JSON_H
#define RSW_CONN_JSON_H
#include "conn_model.h"
#include <jansson.h>

struct rsw_symbolizer;

/* The CONN object of docs/report-json.md for x (y: its other end, or NULL), judged v; its
 * backtraces are resolved (each with its own process's modules) and symbolized. */
json_t *rsw_build_conn(struct rsw_symbolizer *sym, int multi_host, struct rsw_conn *x,
                       struct rsw_conn *y, const struct rsw_verdict *v);

#endif
