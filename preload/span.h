/* span.h: the time range of events that are counted rather than written (storm summaries,
 * tallies), kept with atomics only: lock-free and async-signal-safe. */
#ifndef RSW_SPAN_H
#define RSW_SPAN_H
#include "jsonw.h"
#include "rsw_schema.h"
#include <stdint.h>

struct rsw_span {
    uint64_t first, last; /* ns; 0: nothing noted since the last take */
};

/* An event at ts: the first one noted since the last take sets first, the latest sets last. */
static inline void rsw_span_note(struct rsw_span *s, uint64_t ts)
{
    uint64_t f = 0;
    __atomic_compare_exchange_n(&s->first, &f, ts, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
    uint64_t l = __atomic_load_n(&s->last, __ATOMIC_RELAXED);
    while (l < ts &&
           !__atomic_compare_exchange_n(&s->last, &l, ts, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
}

/* Takes the range (a new one starts) and writes it as "first_ts" and "last_ts" (a writer that
 * raced with the take may have set only one of them: the other is taken from it). */
static inline void rsw_span_take_write(struct rsw_span *s, struct rsw_json *j)
{
    uint64_t first = __atomic_exchange_n(&s->first, 0, __ATOMIC_ACQ_REL);
    uint64_t last = __atomic_exchange_n(&s->last, 0, __ATOMIC_ACQ_REL);
    rsw_json_u64(j, RSW_KEY(FIRST_TS), first ? first : last);
    rsw_json_u64(j, RSW_KEY(LAST_TS), last ? last : first);
}
#endif
