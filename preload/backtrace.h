/* backtrace.h: captures the calling stack with libunwind; async-signal-safe. */
#ifndef RSW_BACKTRACE_H
#define RSW_BACKTRACE_H
#include "jsonw.h"

void rsw_bt_init(void);
/* Writes "bt":[frames...] (at most max frames, the library's own frames left out). */
void rsw_bt_write(struct rsw_json *j, int max);
#endif
