/* line.h: what starts every log line ("v", "ts", "seq", "pid", "tid", "ev") and the per-process
 * line numbering. Async-signal-safe. */
#ifndef RSW_LINE_H
#define RSW_LINE_H
#include "jsonw.h"
#include "rsw_schema.h"
#include <stddef.h>
#include <stdint.h>

/* Now, as the log's "ts" (CLOCK_REALTIME, ns). */
uint64_t rsw_line_now(void);
/* Next per-process sequence number. A line held back (failures mode) takes its number when it
 * happens, so seq follows time even for lines written later. */
uint64_t rsw_line_next_seq(void);
/* The calling thread's id (cached). */
int rsw_line_tid(void);
/* Starts a line into buf: the common fields, with the given time, sequence number and thread
 * (0: the calling one). */
void rsw_line_begin_at(struct rsw_json *j, char *buf, size_t cap, enum rsw_ev ev, uint64_t ts,
                       uint64_t seq, int tid);
/* Starts a line happening now. */
void rsw_line_begin(struct rsw_json *j, char *buf, size_t cap, enum rsw_ev ev);
/* In a forked child: numbering restarts, the thread id is read again. */
void rsw_line_after_fork(void);
#endif
