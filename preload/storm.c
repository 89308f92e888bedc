/* storm.c: a fixed table of sites, claimed by compare-and-swap of a key hash. Each site counts
 * the events of its current second; past the rate, events go to its pending summary (count,
 * connections, time range), which the first event of a later second, a later flush or exit
 * takes with atomic exchanges and writes. */
#include "storm.h"
#include "config.h"
#include "jsonw.h"
#include "line.h"
#include "logwriter.h"
#include "say.h"
#include "span.h"
#include <string.h>

#define PROBES 16
#define NS 1000000000ull

struct site {
    uint64_t key;   /* 0: free */
    uint32_t ready; /* the fields below the key are set */
    uint32_t n;     /* events in second sec */
    uint64_t sec;
    struct rsw_site_key k;
    uint64_t supp, conns; /* pending summary: events, first errors of their connection */
    struct rsw_span span; /* and their time range */
};

static struct site sites[RSW_SITE_SLOTS];
static uint32_t used;
static uint64_t pending_sec; /* earliest second with a pending summary, 0: none (a hint) */

static uint64_t key_hash(const struct rsw_site_key *k)
{
    uint64_t h = k->stack ? (uint64_t)k->stack << 20 : (uint64_t)(uintptr_t)k->call;
    h ^= (uint64_t)(unsigned)k->err * 0x9e3779b97f4a7c15ull;
    h ^= (uint64_t)k->is_signal << 62;
    h ^= (uint64_t)(uintptr_t)k->op * 0xc2b2ae3d27d4eb4full;
    h *= 0xff51afd7ed558ccdull;
    return (h ^ (h >> 29)) | 1;
}

static struct site *site_for(const struct rsw_site_key *k)
{
    uint64_t h = key_hash(k);
    for (uint32_t p = 0; p < PROBES; p++) {
        struct site *s = &sites[(h + p) & (RSW_SITE_SLOTS - 1)];
        uint64_t cur = __atomic_load_n(&s->key, __ATOMIC_ACQUIRE);
        if (cur == 0) {
            if (__atomic_compare_exchange_n(&s->key, &cur, h, 0, __ATOMIC_ACQ_REL,
                                            __ATOMIC_ACQUIRE)) {
                s->k = *k;
                __atomic_fetch_add(&used, 1, __ATOMIC_RELAXED);
                __atomic_store_n(&s->ready, 1, __ATOMIC_RELEASE);
                return s;
            }
        }
        if (cur == h)
            return __atomic_load_n(&s->ready, __ATOMIC_ACQUIRE) ? s : NULL;
    }
    return NULL; /* full: such sites are never suppressed */
}

/* Takes the site's pending summary (whoever exchanges the count owns those events) and writes it.
 */
static void take_and_write(struct site *s)
{
    uint64_t count = __atomic_exchange_n(&s->supp, 0, __ATOMIC_ACQ_REL);
    if (!count)
        return;
    uint64_t conns = __atomic_exchange_n(&s->conns, 0, __ATOMIC_ACQ_REL);
    char buf[768], en[16];
    struct rsw_json j;
    rsw_line_begin(&j, buf, sizeof buf, RSW_EV_SUPPRESSED);
    rsw_json_str(&j, RSW_KEY(OF), s->k.is_signal ? "signal" : "error");
    if (s->k.call)
        rsw_json_str(&j, RSW_KEY(CALL), s->k.call);
    if (s->k.op)
        rsw_json_str(&j, RSW_KEY(OP), s->k.op);
    if (s->k.is_signal)
        rsw_json_str(&j, RSW_KEY(SIG), "SIGPIPE");
    else
        rsw_json_str(&j, RSW_KEY(ERRNO), rsw_errno_name(s->k.err, en));
    if (s->k.stack)
        rsw_json_u64(&j, RSW_KEY(STACK), s->k.stack);
    rsw_json_u64(&j, RSW_KEY(COUNT), count);
    rsw_json_u64(&j, RSW_KEY(CONNS), conns);
    rsw_span_take_write(&s->span, &j);
    rsw_log_write(buf, rsw_json_end(&j));
}

int rsw_storm_admit(const struct rsw_site_key *k, uint64_t ts, int first_of_conn)
{
    unsigned rate = rsw_cfg.rate;
    if (!rate)
        return 1;
    struct site *s = site_for(k);
    if (!s)
        return 1;
    uint64_t sec = ts / NS, w = __atomic_load_n(&s->sec, __ATOMIC_ACQUIRE);
    if (w < sec &&
        __atomic_compare_exchange_n(&s->sec, &w, sec, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        __atomic_store_n(&s->n, 0, __ATOMIC_RELEASE); /* a new second: a new budget */
        take_and_write(s);                            /* the summary of the last one */
    }
    if (__atomic_fetch_add(&s->n, 1, __ATOMIC_ACQ_REL) < rate)
        return 1;
    __atomic_fetch_add(&s->supp, 1, __ATOMIC_ACQ_REL);
    if (first_of_conn)
        __atomic_fetch_add(&s->conns, 1, __ATOMIC_RELAXED);
    rsw_span_note(&s->span, ts);
    uint64_t p = __atomic_load_n(&pending_sec, __ATOMIC_RELAXED);
    while ((p == 0 || sec < p) && !__atomic_compare_exchange_n(&pending_sec, &p, sec, 1,
                                                               __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
    return 0;
}

void rsw_storm_flush(uint64_t now, int force)
{
    uint64_t p = __atomic_load_n(&pending_sec, __ATOMIC_ACQUIRE), sec = now / NS;
    if (!p || (!force && sec <= p))
        return;
    if (!__atomic_compare_exchange_n(&pending_sec, &p, 0, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return; /* another thread is flushing */
    uint64_t still = 0;
    for (size_t i = 0; i < RSW_SITE_SLOTS; i++) {
        struct site *s = &sites[i];
        if (!__atomic_load_n(&s->ready, __ATOMIC_ACQUIRE) ||
            !__atomic_load_n(&s->supp, __ATOMIC_RELAXED))
            continue;
        uint64_t w = __atomic_load_n(&s->sec, __ATOMIC_ACQUIRE);
        if (force || w < sec)
            take_and_write(s);
        else if (!still || w < still)
            still = w; /* this second is not over: its summary comes later */
    }
    if (still) {
        uint64_t z = 0;
        __atomic_compare_exchange_n(&pending_sec, &z, still, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
    }
}

void rsw_storm_after_fork(void)
{
    if (__atomic_load_n(&used, __ATOMIC_RELAXED)) {
        memset(sites, 0, sizeof sites);
        used = 0;
    }
    pending_sec = 0;
}
