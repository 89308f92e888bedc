/* fuzz_report.c: libFuzzer harness for the whole of `rstwatch report`: the input is split at its
 * first NUL byte into two logs (two processes, so connections get matched across them), read,
 * merged, judged and rendered (text, brief or --full, json and, when built, chrome and html, chosen
 * by the size). */
#include "fuzz_util.h"
#include "report.h"
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *devnull;
    const struct rsw_renderer *all[] = {&rsw_render_text, &rsw_render_json, &rsw_render_chrome,
                                        &rsw_render_html};
    char p1[64], p2[64];
    if (!devnull && !(devnull = fopen("/dev/null", "w")))
        abort();
    const uint8_t *nul = memchr(data, 0, size);
    size_t n1 = nul ? (size_t)(nul - data) : size;
    int fd1 = rsw_fuzz_memfile(data, n1, p1, sizeof p1);
    int fd2 = rsw_fuzz_memfile(nul ? nul + 1 : data, nul ? size - n1 - 1 : 0, p2, sizeof p2);
    char *inputs[] = {p1, p2};
    struct rsw_report_opts o;
    memset(&o, 0, sizeof o);
    o.flt.verdict = -1;
    o.quiet = 1;
    o.renderer = all[size % 4];
    o.ro.out = devnull;
    o.ro.title = "fuzz";
    o.ro.full = size / 4 % 2; /* text: half of its inputs with --full */
    json_t *summary = NULL;
    int st = rsw_report(inputs, nul ? 2 : 1, &o, &summary);
    if (st != 0 && st != 1 && st != 2)
        abort();
    json_decref(summary);
    close(fd1);
    close(fd2);
    return 0;
}
