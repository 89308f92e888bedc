/* reader.h: reads one rstwatch log (JSON Lines), validating and counting the lines it skips. */
#ifndef RSW_READER_H
#define RSW_READER_H
#include <jansson.h>
#include <stdio.h>

/* A line longer than this is skipped without being held in memory. */
#define RSW_MAX_LINE (1024 * 1024)

enum rsw_skip_kind {
    RSW_SKIP_TRUNCATED,
    RSW_SKIP_GARBAGE,
    RSW_SKIP_TOO_LONG,
    RSW_SKIP_UNKNOWN_EVENT,
    RSW_SKIP_FUTURE_VERSION,
    RSW_SKIP_NKINDS
};

/* Shared by all readers of one report: counts, and how to report each skipped line. */
struct rsw_skips {
    long long count[RSW_SKIP_NKINDS];
    int strict; /* 1: the first skipped line stops the report */
    int quiet;  /* 1: count only, print nothing */
    int failed; /* set when strict mode met a bad line */
    long long printed;
};

const char *rsw_skip_name(enum rsw_skip_kind k); /* "truncated", "garbage", ... */

struct rsw_reader;

/* path "-" is stdin. On failure returns NULL and a one-line message in err. */
struct rsw_reader *rsw_reader_open(const char *path, struct rsw_skips *sk, char *err,
                                   size_t errlen);
/* Next valid line: 1 with *out (a new reference) and its line number, 0 at the end, -1 on a read
 * error (message printed) or when strict mode met a bad line. */
int rsw_reader_next(struct rsw_reader *r, json_t **out, long *lineno);
const char *rsw_reader_path(const struct rsw_reader *r);
void rsw_reader_close(struct rsw_reader *r);

/* Expands the command line's inputs: files as given, directories into their *.jsonl files
 * (sorted), "-" as stdin. Returns the count, or -1 with a message printed (unless quiet).
 * *out is malloc'd. */
int rsw_expand_inputs(char *const *args, int nargs, int quiet, char ***out);

#endif
