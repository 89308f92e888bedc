/* logwriter.h: the log file: its location resolved once at start (absolute, so a later chdir
 * changes nothing), opened once per process, one write(2) per line, surviving the program
 * closing or dup2()ing over its fd. */
#ifndef RSW_LOGWRITER_H
#define RSW_LOGWRITER_H
#include <stddef.h>
#include <stdint.h>

/* Resolves the path from rsw_cfg.log for this process (rsw_self) and opens it; a process that
 * cannot log says so in one "rstwatch:" line on stderr. */
void rsw_log_open(void);
/* In a forked child: a per-process log reopens under the child's pid; a child that cannot create
 * its own (it dropped privileges, the directory is not writable for it) keeps writing into its
 * parent's log, every line carrying its pid. */
void rsw_log_after_fork(void);
/* Append one complete line with a single write(2). Async-signal-safe. */
int rsw_log_write(const char *line, size_t len);
/* The log's fd (-1 if none): the close/dup2 hooks protect it. */
int rsw_log_fd(void);
/* Move the log to another fd number (the program is about to dup2 over it). */
void rsw_log_relocate(void);
int rsw_log_enabled(void);
/* The file being written ("" for stderr or none). */
const char *rsw_log_path(void);
#endif
