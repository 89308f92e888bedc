/* render.h: the output formats of `rstwatch report`; each one consumes the report model
 * (connections and a summary, as jansson trees whose schema is docs/report-json.md). */
#ifndef RSW_RENDER_H
#define RSW_RENDER_H
#include <jansson.h>
#include <stdio.h>

struct rsw_render_opts {
    FILE *out;
    int color;          /* 1: ANSI colors (text only, and only on a terminal) */
    const char *title;  /* e.g. the inputs' names, for html/chrome headers */
};

/* Streaming: begin once, conn() once per finished connection (in report order), end once. */
struct rsw_renderer {
    const char *name; /* "text", "json", "chrome", "html" */
    void *(*begin)(const struct rsw_render_opts *o);
    void (*conn)(void *state, json_t *conn);
    int (*end)(void *state, json_t *summary); /* 0, or -1 on a write error */
};

/* Field access that tolerates missing or mistyped fields (renderers never crash on input). */
static inline json_int_t rsw_int(json_t *o, const char *key, json_int_t dflt)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? json_integer_value(v) : dflt;
}

static inline const char *rsw_str(json_t *o, const char *key, const char *dflt)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : dflt;
}

extern const struct rsw_renderer rsw_render_text, rsw_render_json, rsw_render_chrome,
    rsw_render_html;

#endif
