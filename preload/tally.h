/* tally.h: clean connections, counted instead of logged (RSTWATCH_EVENTS=failures). One key per
 * peer the program connected to ("client") or local address it accepted on ("server"); a
 * "tally" line per key with the connections closed since the key's last line, at most every
 * RSW_TALLY_PERIOD_S seconds and at exit. Lock-free, fixed size. */
#ifndef RSW_TALLY_H
#define RSW_TALLY_H
#include <stdint.h>

#define RSW_TALLY_SLOTS 256
#define RSW_TALLY_PERIOD_S 10

/* A clean connection closed at ts. addr: the key ("" or NULL: unknown). */
void rsw_tally_add(int client, int family, const char *addr, uint64_t in, uint64_t out,
                   uint64_t ts);
/* Writes the tally lines when the period is over (every pending one when force: at exit). */
void rsw_tally_flush(uint64_t now, int force);
/* In a forked child: the parent's counts are the parent's to write. */
void rsw_tally_after_fork(void);
#endif
