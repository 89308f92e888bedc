/* stackid.c: open addressing over a fixed table of 64-bit stack hashes. A slot is claimed with a
 * compare-and-swap of its hash and published (state 2) only once its line is on disk, so no
 * line can refer to a stack line that is not before it in the log. */
#include "stackid.h"
#include <string.h>

#define PROBES 32

struct slot {
    uint64_t hash;  /* 0: free */
    uint32_t state; /* 1: being written, 2: on disk */
    uint32_t pad;
};

static struct slot slots[RSW_STACK_SLOTS];
static uint32_t used; /* slots claimed: a child with none to forget skips the clearing */

static uint64_t hash_ips(const uintptr_t *ips, int n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)n;
    for (int i = 0; i < n; i++) {
        h ^= (uint64_t)ips[i];
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 33;
    }
    return h | 1; /* never 0, which marks a free slot */
}

enum rsw_stack_result rsw_stack_intern(const uintptr_t *ips, int n, uint32_t *id)
{
    if (n <= 0)
        return RSW_STACK_INLINE;
    uint64_t h = hash_ips(ips, n);
    for (uint32_t p = 0; p < PROBES; p++) {
        uint32_t i = (uint32_t)(h + p) & (RSW_STACK_SLOTS - 1);
        uint64_t cur = __atomic_load_n(&slots[i].hash, __ATOMIC_ACQUIRE);
        if (cur == 0) {
            if (__atomic_compare_exchange_n(&slots[i].hash, &cur, h, 0, __ATOMIC_ACQ_REL,
                                            __ATOMIC_ACQUIRE)) {
                __atomic_store_n(&slots[i].state, 1, __ATOMIC_RELAXED);
                __atomic_fetch_add(&used, 1, __ATOMIC_RELAXED);
                *id = i + 1;
                return RSW_STACK_NEW;
            }
            /* another thread took the slot: cur is its hash now */
        }
        if (cur == h) {
            if (__atomic_load_n(&slots[i].state, __ATOMIC_ACQUIRE) != 2)
                return RSW_STACK_INLINE; /* its line is being written at this moment */
            *id = i + 1;
            return RSW_STACK_HIT;
        }
    }
    return RSW_STACK_INLINE;
}

void rsw_stack_written(uint32_t id)
{
    if (id >= 1 && id <= RSW_STACK_SLOTS)
        __atomic_store_n(&slots[id - 1].state, 2, __ATOMIC_RELEASE);
}

void rsw_stack_after_fork(void)
{
    if (__atomic_load_n(&used, __ATOMIC_RELAXED)) {
        memset(slots, 0, sizeof slots);
        used = 0;
    }
}
