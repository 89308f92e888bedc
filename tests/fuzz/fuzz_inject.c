/* fuzz_inject.c: libFuzzer harness for the RSTWATCH_INJECT parser: any bytes are accepted or
 * rejected with one "rstwatch: " line that fits the caller's buffer; the NUL-terminated and the
 * length-counted entry points agree. */
#include "inject.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A rejection explains itself on one terminated line within cap bytes. */
static void check_message(int rc, const char *err, size_t cap)
{
    if (rc != 0 && rc != -1)
        abort();
    if (rc == 0 || cap == 0)
        return;
    size_t len = strnlen(err, cap);
    if (len == cap || memchr(err, '\n', len) || (cap > 10 && strncmp(err, "rstwatch: ", 10) != 0))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    /* exactly size bytes in a heap block of that size: ASan sees any read past the end */
    char *raw = malloc(size ? size : 1);
    if (!raw)
        abort();
    memcpy(raw, data, size);
    int rc = rsw_inject_validate_n(raw, size, err, sizeof err);
    check_message(rc, err, sizeof err);
    /* the environment hands over a C string: up to the first NUL */
    size_t cut = strnlen((const char *)data, size);
    char *spec = malloc(cut + 1);
    if (!spec)
        abort();
    memcpy(spec, data, cut);
    spec[cut] = 0;
    int rc2 = rsw_inject_validate(spec, err, sizeof err);
    check_message(rc2, err, sizeof err);
    if (cut == size && rc2 != rc)
        abort(); /* no NUL inside: both entry points see the same text */
    /* a tiny message buffer gives the same verdict and is respected (ASan checks the bounds) */
    for (size_t cap = 0; cap <= 11; cap += 11) {
        char *small = malloc(cap ? cap : 1);
        if (!small)
            abort();
        if (rsw_inject_validate(spec, small, cap) != rc2)
            abort();
        check_message(rc2, small, cap);
        free(small);
    }
    free(spec);
    free(raw);
    return 0;
}
