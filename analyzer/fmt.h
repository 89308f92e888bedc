/* fmt.h: how the report writes values for people: times, counts by name, base names. */
#ifndef RSW_FMT_H
#define RSW_FMT_H
#include <jansson.h>
#include <stddef.h>

/* A time relative to a connection's start: "+1.234 ms", "-0.041 ms", "+12.345 s". */
void rsw_fmt_rel(char *buf, size_t len, long long ns);
/* The same in the unit that fits it: "+850 ns", "+12.5 µs", "+1.100 ms", "−2.000 s". */
void rsw_fmt_rel_fit(char *buf, size_t len, long long ns);
/* An absolute time (ns since the epoch): "2026-11-22 04:29:48.696840 UTC". */
void rsw_fmt_abs(char *buf, size_t len, long long ts);
/* Appends "name n, name n" from a {name: n} object to buf; "none" when it adds nothing. */
void rsw_fmt_tally(char *buf, size_t len, json_t *obj);
/* The part of a path after its last '/' (NULL for NULL). */
const char *rsw_basename(const char *path);
/* What to call a process: its "name" field (v2 logs), else the base name of its "exe", else
 * "?". o is a CONN, a peer_side or a processes entry of the report. */
const char *rsw_proc_name(const json_t *o);

#endif
