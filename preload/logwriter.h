/* logwriter.h: the log file: its location resolved once at start (absolute, so a later chdir
 * changes nothing), opened once per process, one write(2) per line, surviving the program
 * closing or dup2()ing over its fd, kept within RSTWATCH_LOG_MAX, and counting the lines it could
 * not write (a full disk, the cap) so that the log says how many are missing. */
#ifndef RSW_LOGWRITER_H
#define RSW_LOGWRITER_H
#include <stddef.h>
#include <stdint.h>

/* Bytes under RSTWATCH_LOG_MAX that only the log_max and lost lines may use. */
#define RSW_LOG_RESERVE 1024

/* Resolves the path from rsw_cfg.log for this process (rsw_self) and opens it; a process that
 * cannot log says so in one "rstwatch:" line on stderr. */
void rsw_log_open(void);
/* In a forked child: a per-process log reopens under the child's pid; a child that cannot create
 * its own (it dropped privileges, the directory is not writable for it) keeps writing into its
 * parent's log, every line carrying its pid. The child's byte count and lost counts start at 0. */
void rsw_log_after_fork(void);
/* Append one complete line (ending in '\n') with a single write(2). 1 if it was written, 0 if not
 * (no log, the cap reached, the write failed: then it is counted, see rsw_log_finish). errno is
 * preserved. Async-signal-safe and lock-free: any thread, and the SIGPIPE handler, at once. */
int rsw_log_write(const char *line, size_t len);
/* At process exit (the layer above calls it; a destructor of this file calls it too, last):
 * writes the lost lines still owed, {"ev":"lost","reason":"write_failed",...} for failed writes
 * not yet reported and {"ev":"lost","reason":"log_max","events":K} for the lines the cap kept
 * out. Only what no earlier call reported: a second call writes nothing. Safe without a log. */
void rsw_log_finish(void);
/* The log's fd (-1 if none): the close/dup2 hooks protect it. */
int rsw_log_fd(void);
/* Move the log to another fd number (the program is about to dup2 over it). */
void rsw_log_relocate(void);
int rsw_log_enabled(void);
/* The file being written ("" for stderr or none). */
const char *rsw_log_path(void);
#endif
