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
/* The same over the names of both objects (in name order): "name n" for a name only written,
 * "name n + m suppressed" for one suppressed too (numbers then grouped as rsw_fmt_count). */
void rsw_fmt_tally_plus(char *buf, size_t len, json_t *written, json_t *suppressed);
/* A count in groups of three digits: "9 900", "1 234 567". */
void rsw_fmt_count(char *buf, size_t len, long long n);
/* Bytes for people: "850 B", "12.3 kB", "1.2 MB", "4.0 GB" (powers of 1000). */
void rsw_fmt_bytes(char *buf, size_t len, long long n);
/* A time range: "between 12:00:01.000 and 12:00:59.000 UTC", "at 12:00:01.000 UTC" (the date
 * too when the two days differ); "" when unknown (negative). */
void rsw_fmt_span(char *buf, size_t len, long long first, long long last);
/* How many connections a SUMMARY stands for: "2 connections" when nothing was tallied or
 * suppressed and no process logged in failures mode, else "2 connections shown, 12 000 clean
 * ones tallied[, 9 900 suppressed]". verdicts (or NULL) follows the shown count in parentheses. */
void rsw_fmt_connections(char *buf, size_t len, json_t *summary, const char *verdicts);
/* One line of the summary for an entry of its "suppressed", "tallies" or "lost" array. */
void rsw_fmt_suppressed(char *buf, size_t len, json_t *entry);
void rsw_fmt_tally_group(char *buf, size_t len, json_t *entry);
void rsw_fmt_lost(char *buf, size_t len, json_t *entry);
/* The part of a path after its last '/' (NULL for NULL). */
const char *rsw_basename(const char *path);
/* What to call a process: its "name" field (v2 logs), else the base name of its "exe", else
 * "?". o is a CONN, a peer_side or a processes entry of the report. */
const char *rsw_proc_name(const json_t *o);

#endif
