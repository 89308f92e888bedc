/* render_text.h: what the two halves of the text renderer share: word wrapping, labelled lines,
 * and the brief forms the default layout prints instead of every clean timeline and process. */
#ifndef RSW_RENDER_TEXT_H
#define RSW_RENDER_TEXT_H
#include "render.h"
#include <stdio.h>

#define RSW_TEXT_WIDTH 78

/* Prints text word-wrapped at RSW_TEXT_WIDTH in a column starting at indent; the first line is
 * preceded by lead spaces (the caller may already have printed up to the column). */
void rsw_text_wrap_from(FILE *out, const char *text, int lead, int indent);
/* The display columns of s (UTF-8: continuation bytes take none). */
int rsw_text_columns(const char *s);
/* "  label:     text" wrapped at RSW_TEXT_WIDTH, continuation lines under the text. */
void rsw_text_labeled(FILE *out, const char *label, const char *text);

/* What a failing connection is called in the lists: its verdict, "other error" for an error no
 * verdict covers. */
const char *rsw_text_label(json_t *conn);
/* The labels, most severe first (i from 0; NULL past the last). */
const char *rsw_text_severity(size_t i);

/* Clean connections, one group per process name, role, address (a client's peer, a server's
 * or adopted socket's local address, none for a pipe) and the matched other end's name. */
struct rsw_text_groups;
struct rsw_text_groups *rsw_text_groups_new(void);
void rsw_text_groups_free(struct rsw_text_groups *g);
void rsw_text_groups_add(struct rsw_text_groups *g, json_t *conn);
size_t rsw_text_groups_size(const struct rsw_text_groups *g);
/* One line per group, most connections first, at most max (0: all) and a line for the rest. */
void rsw_text_groups_print(FILE *out, const struct rsw_text_groups *g, size_t max);

/* The processes that had a part in a failure: a failing connection's own process (by verdict),
 * its matched other end, a process with suppressed events or killed by a signal. */
struct rsw_text_procs;
struct rsw_text_procs *rsw_text_procs_new(void);
void rsw_text_procs_free(struct rsw_text_procs *t);
void rsw_text_procs_failure(struct rsw_text_procs *t, json_t *conn);
/* "NAME COUNT, ..." of the SUMMARY's processes, most first (at most max names, then "+N
 * more"), into buf. */
void rsw_text_proc_names(char *buf, size_t len, json_t *summary, size_t max);
/* The tree of the processes with a part in a failure (from the SUMMARY's processes and
 * suppressed sites), their ancestors for context; at most max lines. Returns the lines printed. */
size_t rsw_text_procs_tree(FILE *out, struct rsw_text_procs *t, json_t *summary, size_t max);

#endif
