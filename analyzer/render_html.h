/* render_html.h: what the two halves of the html renderer share: escaping and the marks. */
#ifndef RSW_RENDER_HTML_H
#define RSW_RENDER_HTML_H
#include "render.h"
#include <stdio.h>

/* How an event is drawn on a timeline (its CSS class and SVG shape). */
enum rsw_html_mark { RSW_MK_LIFE, RSW_MK_IO, RSW_MK_ERR, RSW_MK_SIG, RSW_MK_INJ };

struct rsw_html_mark_style {
    const char *cls, *shape; /* shape: printf with the centre's x, y */
};

extern const struct rsw_html_mark_style rsw_html_marks[];

/* The mark of a report EVENT. */
enum rsw_html_mark rsw_html_mark_of(json_t *ev);
/* HTML-escapes n bytes of s for element content and quoted attributes alike; control
 * characters become spaces. Everything that came from a log goes through here. */
void rsw_html_esc_n(FILE *f, const char *s, size_t n);
void rsw_html_esc(FILE *f, const char *s);
/* pre, then s escaped (cut to max characters with an ellipsis, 0 = no limit), then post. */
void rsw_html_put(FILE *f, const char *pre, const char *s, size_t max, const char *post);
/* Draws a connection's SVG timeline (cid: its number on the page, for the marks' ids). */
void rsw_html_svg(FILE *f, json_t *conn, long long cid);

#endif
