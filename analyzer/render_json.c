/* render_json.c: `--format json`: the stable report schema of docs/report-json.md, streamed. */
#include "render.h"
#include <stdlib.h>

struct doc {
    FILE *out;
    int n;
};

static void *doc_begin(const struct rsw_render_opts *o)
{
    struct doc *s = calloc(1, sizeof(*s));
    if (!s)
        abort();
    s->out = o->out;
    fputs("{\"report_version\":1,\"connections\":[", s->out);
    return s;
}

static void doc_conn(void *state, json_t *conn)
{
    struct doc *s = state;
    fputs(s->n++ ? ",\n" : "\n", s->out);
    json_dumpf(conn, s->out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
}

static int doc_end(void *state, json_t *summary)
{
    struct doc *s = state;
    fputs(s->n ? "\n],\"summary\":" : "],\"summary\":", s->out);
    json_dumpf(summary, s->out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputs("}\n", s->out);
    int rc = fflush(s->out) == 0 && !ferror(s->out) ? 0 : -1;
    free(s);
    return rc;
}

const struct rsw_renderer rsw_render_json = {"json", doc_begin, doc_conn, doc_end};
