/* backtrace.h: captures the calling stack with libunwind; async-signal-safe. */
#ifndef RSW_BACKTRACE_H
#define RSW_BACKTRACE_H
#include "jsonw.h"

/* skip_own_module: leave out the frames of the module holding this code (the preload). */
void rsw_bt_init(int skip_own_module);
/* Writes "bt":[frames...] (at most max frames, the library's own frames left out). */
void rsw_bt_write(struct rsw_json *j, int max);
#endif
