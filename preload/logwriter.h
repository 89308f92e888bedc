/* logwriter.h: the log file: opened once per process, one write(2) per line, survives the
 * program closing or dup2()ing over its fd. */
#ifndef RSW_LOGWRITER_H
#define RSW_LOGWRITER_H
#include <stddef.h>
#include <stdint.h>

/* Resolve the path from rsw_cfg.log and open it. pid/name: this process. */
void rsw_log_open(int pid, const char *name);
/* In a forked child: per-process logs reopen under the child's pid. */
void rsw_log_after_fork(int pid, const char *name);
/* Append one complete line with a single write(2). Async-signal-safe. */
void rsw_log_write(const char *line, size_t len);
/* Next per-process sequence number. */
uint64_t rsw_log_next_seq(void);
/* The log's fd (-1 if none): the close/dup2 hooks protect it. */
int rsw_log_fd(void);
/* Move the log to another fd number (the program is about to dup2 over it). */
void rsw_log_relocate(void);
int rsw_log_enabled(void);
#endif
