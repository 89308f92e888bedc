/* browser_harness.c: renders a report JSON file (docs/report-json.md) as chrome or html. */
#include <stdio.h>
#include <string.h>

#include "render.h"

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "rstwatch: usage: browser_harness chrome|html REPORT.json OUT\n");
        return 2;
    }
    const struct rsw_renderer *r = strcmp(argv[1], "chrome") == 0 ? &rsw_render_chrome
                                   : strcmp(argv[1], "html") == 0 ? &rsw_render_html
                                                                  : NULL;
    if (!r) {
        fprintf(stderr, "rstwatch: unknown format '%s'\n", argv[1]);
        return 2;
    }
    json_error_t jerr;
    json_t *report = json_load_file(argv[2], 0, &jerr);
    if (!report) {
        fprintf(stderr, "rstwatch: %s:%d: %s\n", argv[2], jerr.line, jerr.text);
        return 2;
    }
    FILE *out = fopen(argv[3], "w");
    if (!out) {
        perror("rstwatch: output");
        return 2;
    }
    struct rsw_render_opts opts = {.out = out, .color = 0, .title = argv[2]};
    void *state = r->begin(&opts);
    size_t i;
    json_t *conn;
    json_array_foreach(json_object_get(report, "connections"), i, conn) r->conn(state, conn);
    int rc = r->end(state, json_object_get(report, "summary"));
    json_decref(report);
    if (fclose(out) != 0 || rc != 0) {
        fprintf(stderr, "rstwatch: writing %s failed\n", argv[3]);
        return 1;
    }
    return 0;
}
