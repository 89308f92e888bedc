/* merge.h: k-way merge of many logs by timestamp (each log's own line order is kept). */
#ifndef RSW_MERGE_H
#define RSW_MERGE_H
#include "reader.h"

struct rsw_merge;

/* Opens every input and reads its first line. NULL on failure (one-line message printed). */
struct rsw_merge *rsw_merge_open(char *const *paths, int n, struct rsw_skips *sk);
/* The first valid line of input i (borrowed; NULL if none), before any rsw_merge_next. */
json_t *rsw_merge_first(struct rsw_merge *m, int i);
/* 1: *line (new reference) from *input; 2: *input has ended; 0: all ended; -1: error/strict. */
int rsw_merge_next(struct rsw_merge *m, json_t **line, int *input, long *lineno);
void rsw_merge_close(struct rsw_merge *m);

#endif
