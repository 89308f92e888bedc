/* render_fallback.c: stands in for the chrome and html renderers when they are not built. */
#include "render.h"

#if !defined(RSW_HAVE_CHROME) || !defined(RSW_HAVE_HTML)

static void *missing_begin(const struct rsw_render_opts *o)
{
    (void)o;
    fprintf(stderr, "rstwatch: this build has no chrome/html output (render_chrome.c and "
                    "render_html.c were missing at build time)\n");
    return NULL;
}

static void missing_conn(void *state, json_t *conn)
{
    (void)state;
    (void)conn;
}

static int missing_end(void *state, json_t *summary)
{
    (void)state;
    (void)summary;
    return -1;
}

#ifndef RSW_HAVE_CHROME
const struct rsw_renderer rsw_render_chrome = {"chrome", missing_begin, missing_conn, missing_end};
#endif
#ifndef RSW_HAVE_HTML
const struct rsw_renderer rsw_render_html = {"html", missing_begin, missing_conn, missing_end};
#endif
#endif
