/* tally.c: open addressing over a fixed table of keys (hash of role, family and address); a
 * full table sends further connections to one overflow key per role ("*"). Counters are taken
 * with atomic exchanges, so every connection is in exactly one tally line. */
#include "tally.h"
#include "fdtable.h"
#include "jsonw.h"
#include "line.h"
#include "logwriter.h"
#include "span.h"
#include <string.h>

#define PROBES 16
#define NS 1000000000ull

struct key {
    uint64_t hash;  /* 0: free */
    uint32_t ready; /* role, family, addr set */
    uint8_t client, family;
    char addr[RSW_PEER_MAX];
    uint64_t conns, in, out;
    struct rsw_span span; /* their close times */
};

static struct key keys[RSW_TALLY_SLOTS + 2]; /* + the two overflow keys */
static uint32_t used;
static uint64_t last_flush; /* ns */

static uint64_t hash_of(int client, int family, const char *a)
{
    uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)(client * 7 + family);
    for (; *a; a++)
        h = (h ^ (unsigned char)*a) * 0x100000001b3ull;
    return h | 1;
}

static void fill(struct key *k, int client, int family, const char *addr)
{
    k->client = (uint8_t)client;
    k->family = (uint8_t)family;
    strncpy(k->addr, addr, sizeof k->addr - 1);
    __atomic_store_n(&k->ready, 1, __ATOMIC_RELEASE);
}

static struct key *key_for(int client, int family, const char *addr)
{
    uint64_t h = hash_of(client, family, addr);
    for (uint32_t p = 0; p < PROBES; p++) {
        struct key *k = &keys[(h + p) & (RSW_TALLY_SLOTS - 1)];
        uint64_t cur = __atomic_load_n(&k->hash, __ATOMIC_ACQUIRE);
        if (cur == 0 &&
            __atomic_compare_exchange_n(&k->hash, &cur, h, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            fill(k, client, family, addr);
            __atomic_fetch_add(&used, 1, __ATOMIC_RELAXED);
            return k;
        }
        if (cur == h && __atomic_load_n(&k->ready, __ATOMIC_ACQUIRE))
            return k;
    }
    struct key *o = &keys[RSW_TALLY_SLOTS + !!client];
    uint64_t z = 0;
    if (__atomic_compare_exchange_n(&o->hash, &z, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        fill(o, client, 0, "*");
        __atomic_fetch_add(&used, 1, __ATOMIC_RELAXED);
    }
    return o; /* counted even before its fields are set: they are only read when flushing */
}

void rsw_tally_add(int client, int family, const char *addr, uint64_t in, uint64_t out, uint64_t ts)
{
    struct key *k = key_for(!!client, family, addr ? addr : "");
    __atomic_fetch_add(&k->in, in, __ATOMIC_RELAXED);
    __atomic_fetch_add(&k->out, out, __ATOMIC_RELAXED);
    rsw_span_note(&k->span, ts);
    __atomic_fetch_add(&k->conns, 1, __ATOMIC_RELEASE); /* last: a flush taking it sees the rest */
    uint64_t lf = __atomic_load_n(&last_flush, __ATOMIC_RELAXED);
    if (!lf)
        __atomic_compare_exchange_n(&last_flush, &lf, ts, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
    else if (ts - lf >= RSW_TALLY_PERIOD_S * NS)
        rsw_tally_flush(ts, 0);
}

static void write_key(struct key *k)
{
    char buf[512];
    struct rsw_json j;
    uint64_t conns = __atomic_exchange_n(&k->conns, 0, __ATOMIC_ACQ_REL);
    if (!conns || !__atomic_load_n(&k->ready, __ATOMIC_ACQUIRE)) {
        if (conns) /* its fields are being set at this very moment: leave them for next time */
            __atomic_fetch_add(&k->conns, conns, __ATOMIC_RELAXED);
        return;
    }
    uint64_t in = __atomic_exchange_n(&k->in, 0, __ATOMIC_RELAXED);
    uint64_t out = __atomic_exchange_n(&k->out, 0, __ATOMIC_RELAXED);
    rsw_line_begin(&j, buf, sizeof buf, RSW_EV_TALLY);
    rsw_json_str(&j, RSW_KEY(ROLE), k->client ? "client" : "server");
    if (rsw_family_name(k->family))
        rsw_json_str(&j, RSW_KEY(FAMILY), rsw_family_name(k->family));
    rsw_json_str(&j, k->client ? RSW_KEY(PEER) : RSW_KEY(LOCAL), k->addr);
    rsw_json_u64(&j, RSW_KEY(CONNS), conns);
    rsw_json_u64(&j, RSW_KEY(BYTES_IN), in);
    rsw_json_u64(&j, RSW_KEY(BYTES_OUT), out);
    rsw_span_take_write(&k->span, &j);
    rsw_log_write(buf, rsw_json_end(&j));
}

void rsw_tally_flush(uint64_t now, int force)
{
    uint64_t lf = __atomic_load_n(&last_flush, __ATOMIC_RELAXED);
    if (!force && (now - lf < RSW_TALLY_PERIOD_S * NS ||
                   !__atomic_compare_exchange_n(&last_flush, &lf, now, 0, __ATOMIC_ACQ_REL,
                                                __ATOMIC_RELAXED)))
        return; /* not yet, or another thread is flushing */
    if (force)
        __atomic_store_n(&last_flush, now, __ATOMIC_RELAXED);
    if (!__atomic_load_n(&used, __ATOMIC_RELAXED))
        return;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (__atomic_load_n(&keys[i].conns, __ATOMIC_ACQUIRE))
            write_key(&keys[i]);
}

void rsw_tally_after_fork(void)
{
    if (__atomic_load_n(&used, __ATOMIC_RELAXED)) {
        memset(keys, 0, sizeof keys);
        used = 0;
    }
    last_flush = 0;
}
