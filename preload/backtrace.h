/* backtrace.h: captures the calling stack with libunwind and writes it as raw frames
 * (ip, module id, offset); async-signal-safe. Symbols are resolved offline by the analyzer. */
#ifndef RSW_BACKTRACE_H
#define RSW_BACKTRACE_H
#include "jsonw.h"
#include <stdint.h>

#define RSW_BT_CAPTURE_MAX (256 + 16) /* RSW_BACKTRACE_MAX plus the library's own frames */

/* Once, at start: per-thread unwind caches; notes the preload's own address range (its frames
 * are left out) when skip_own_module. */
void rsw_bt_init(int skip_own_module);
/* Captures up to max frames of the caller's stack, the library's own frames left out. */
int rsw_bt_capture(uintptr_t *ips, int max);
/* Writes "bt":[...] from captured frames: {"ip","m","off"}, or {"ip"} outside any module. */
void rsw_bt_write(struct rsw_json *j, const uintptr_t *ips, int n);
/* Is every frame inside a known module? */
int rsw_bt_all_known(const uintptr_t *ips, int n);

/* Is [addr, addr+n) readable memory? (process_vm_readv on ourselves; mincore where that is
 * forbidden). The check libunwind makes through its pipe (unwind_pipe.c). */
int rsw_mem_readable(const void *addr, size_t n);
#endif
