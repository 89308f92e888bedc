/* render.h: the output formats of `rstwatch report`; each one consumes the report model
 * (connections and a summary, as jansson trees whose schema is docs/report-json.md). */
#ifndef RSW_RENDER_H
#define RSW_RENDER_H
#include "fmt.h"
#include "jsonutil.h"
#include <jansson.h>
#include <stdio.h>

struct rsw_render_opts {
    FILE *out;
    int color;         /* 1: ANSI colors (text only, and only on a terminal) */
    int full;          /* text: every connection's timeline and every process, not in brief */
    const char *title; /* e.g. the inputs' names, for html/chrome headers */
};

/* Streaming: begin once, conn() once per finished connection (in report order), end once. */
struct rsw_renderer {
    const char *name; /* "text", "json", "chrome", "html" */
    void *(*begin)(const struct rsw_render_opts *o);
    void (*conn)(void *state, json_t *conn);
    int (*end)(void *state, json_t *summary); /* 0, or -1 on a write error */
};

extern const struct rsw_renderer rsw_render_text, rsw_render_json, rsw_render_chrome,
    rsw_render_html;

#endif
