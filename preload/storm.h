/* storm.h: storm control. Per call site (stack id, or the call when there is no backtrace) and
 * errno (or signal), at most RSTWATCH_RATE events per second of "ts" are written; the others are
 * counted and summarized in one "suppressed" line per site and second. The counts are exact:
 * every suppressed event is in exactly one summary line, the last ones written at exit.
 * Lock-free and async-signal-safe. */
#ifndef RSW_STORM_H
#define RSW_STORM_H
#include <stdint.h>

#define RSW_SITE_SLOTS 1024

struct rsw_site_key {
    uint8_t is_signal; /* 0: an error event (err is an errno), 1: a signal (err is its number) */
    int err;
    uint32_t stack;   /* interned stack id, 0: none */
    const char *call; /* static strings: the call and what it was doing */
    const char *op;
};

/* Is an event of this site at ts (ns) to be written (1), or counted (0)? first_of_conn: it is
 * the first error of its connection (summaries count those as "conns"). */
int rsw_storm_admit(const struct rsw_site_key *k, uint64_t ts, int first_of_conn);
/* Writes the summaries of past seconds (all of them when force: at exit). Cheap when none is
 * pending. */
void rsw_storm_flush(uint64_t now, int force);
/* In a forked child: the parent's counts are the parent's to write. */
void rsw_storm_after_fork(void);
#endif
