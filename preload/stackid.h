/* stackid.h: interned backtraces. The first time a stack is seen it gets an id and is written
 * once as a "stack" line; later events carry only the id. A fixed table, lock-free and
 * async-signal-safe; a full table (or a stack another thread is writing right now) means the
 * caller writes the frames inline. */
#ifndef RSW_STACKID_H
#define RSW_STACKID_H
#include <stdint.h>

#define RSW_STACK_SLOTS 4096 /* distinct stacks per process (a power of two) */

enum rsw_stack_result {
    RSW_STACK_INLINE, /* no id: write the frames inline */
    RSW_STACK_HIT,    /* *id is on disk already */
    RSW_STACK_NEW,    /* *id is new: write its stack line, then rsw_stack_written(*id) */
};

enum rsw_stack_result rsw_stack_intern(const uintptr_t *ips, int n, uint32_t *id);
/* The stack line of id is on disk: later events may refer to it. */
void rsw_stack_written(uint32_t id);
/* In a forked child (one thread): its log needs the stack lines again. */
void rsw_stack_after_fork(void);
#endif
