/* jsonw.h: builds one JSON object into a caller's buffer; async-signal-safe, never overflows,
 * always yields valid JSON (strings that do not fit are cut, containers always closed). */
#ifndef RSW_JSONW_H
#define RSW_JSONW_H
#include <stddef.h>
#include <stdint.h>

#define RSW_JSON_MAX_DEPTH 8
#define RSW_JSON_RESERVE (RSW_JSON_MAX_DEPTH + 2) /* room kept for closers and the newline */

struct rsw_json {
    char *buf;
    size_t cap; /* usable bytes, RSW_JSON_RESERVE already taken off */
    size_t len;
    int depth;
    int full;       /* something did not fit */
    int dead_opens; /* containers that could not be opened, still to be "closed" */
    char closers[RSW_JSON_MAX_DEPTH];
    int first[RSW_JSON_MAX_DEPTH]; /* no member written yet at this depth */
};

void rsw_json_begin(struct rsw_json *j, char *buf, size_t bufsize);
void rsw_json_str(struct rsw_json *j, const char *key, const char *s);
void rsw_json_strn(struct rsw_json *j, const char *key, const char *s, size_t n);
void rsw_json_i64(struct rsw_json *j, const char *key, int64_t v);
void rsw_json_u64(struct rsw_json *j, const char *key, uint64_t v);
void rsw_json_hex(struct rsw_json *j, const char *key, uint64_t v); /* "0x1f" as a string */
void rsw_json_bool(struct rsw_json *j, const char *key, int v);
void rsw_json_null(struct rsw_json *j, const char *key);
/* Containers: key is NULL inside arrays. */
void rsw_json_open_obj(struct rsw_json *j, const char *key);
void rsw_json_open_arr(struct rsw_json *j, const char *key);
void rsw_json_close(struct rsw_json *j);
/* Checkpoints, to drop a partly written array element that did not fit. */
struct rsw_json_mark {
    size_t len;
    int depth, first;
};
struct rsw_json_mark rsw_json_mark(const struct rsw_json *j);
void rsw_json_rollback(struct rsw_json *j, struct rsw_json_mark m);
/* Close everything, append '\n', return the line's length. */
size_t rsw_json_end(struct rsw_json *j);

/* Decimal/hex formatting without stdio; return the length written (no NUL). */
size_t rsw_fmt_u64(char *out, uint64_t v);
size_t rsw_fmt_hex(char *out, uint64_t v);
#endif
