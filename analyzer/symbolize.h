/* symbolize.h: offline symbolization of logged backtrace frames (module + offset) with libdw. */
#ifndef RSW_SYMBOLIZE_H
#define RSW_SYMBOLIZE_H
#include <jansson.h>

struct rsw_symbolizer;

struct rsw_symbolizer *rsw_sym_new(void);
void rsw_sym_free(struct rsw_symbolizer *s);
/* quiet = 1: print nothing (the lines below) and ask no debuginfod server. */
void rsw_sym_set_quiet(struct rsw_symbolizer *s, int quiet);
/* The debug directories where separate debug files are looked for (gdb's debug-file-directory),
 * for every symbolizer: a colon-separated list, added to those of earlier calls; the first call
 * replaces the default, /usr/lib/debug. A directory that cannot be resolved is skipped with one
 * line on stderr. */
void rsw_sym_add_debug_dirs(const char *list);
/* Adds "func", "file", "line" to every frame of bt, in place (null when unknown; func falls back
 * to the logged "sym"). func is demangled (C++, Rust); the name before that is then kept under
 * "mangled". Frame 0 of a signal's backtrace is the interrupted instruction, not a return
 * address: pass interrupted = 1 so it is looked up as is. Debug information comes from the
 * module, a separate debug file in the debug directories (by build-id, by path), or debuginfod
 * when DEBUGINFOD_URLS names servers (one line on stderr says it is asked; a server that fails
 * to answer is not asked again). A frame carrying the logged build-id of its module
 * (RSW_FRAME_BUILD_ID) loses that key; when the file here is missing or has another build-id,
 * the object of that build-id is looked for (its debug file in the debug directories, or from
 * debuginfod); when none is found and the file here has another build-id, one line on stderr
 * (once per file and logged build-id) says that its symbols may be wrong. */
void rsw_sym_frames(struct rsw_symbolizer *s, json_t *bt, int interrupted);
/* "func (file.c:42)", "func", or "module+0xoff": where a frame is, for summaries. */
void rsw_sym_site(json_t *frame, char *buf, size_t len);
/* The frame to name a call site by: the first one outside libc, the dynamic loader and rstwatch
 * (or frame 0 when all are). NULL for an empty backtrace. */
json_t *rsw_sym_site_frame(json_t *bt);

#endif
