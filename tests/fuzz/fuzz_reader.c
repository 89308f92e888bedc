/* fuzz_reader.c: libFuzzer harness for the analyzer's log reader (analyzer/reader.c): any bytes as
 * a log file; every line must be returned as a valid event or skipped and counted, never crash. */
#include "fuzz_util.h"
#include "reader.h"
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64], err[256];
    struct rsw_skips sk;
    memset(&sk, 0, sizeof sk);
    sk.quiet = 1;
    sk.strict = size > 0 && data[0] == '!'; /* both modes */
    int fd = rsw_fuzz_memfile(data, size, path, sizeof path);
    struct rsw_reader *r = rsw_reader_open(path, &sk, err, sizeof err);
    if (!r)
        abort(); /* a readable file must open */
    json_t *ev;
    long lineno, prev = 0;
    int rc;
    while ((rc = rsw_reader_next(r, &ev, &lineno)) == 1) {
        /* what the reader hands out is an object with the common fields */
        if (!json_is_object(ev) || !json_is_integer(json_object_get(ev, "v")) ||
            !json_is_string(json_object_get(ev, "ev")) || lineno <= prev)
            abort();
        prev = lineno;
        json_decref(ev);
    }
    if (rc < 0 && !sk.strict)
        abort(); /* only strict mode stops on bad input; a memfd never fails to read */
    rsw_reader_close(r);
    close(fd);
    return 0;
}
