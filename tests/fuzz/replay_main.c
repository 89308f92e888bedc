/* replay_main.c: main() of the fuzz harnesses in builds without libFuzzer (RSTWATCH_FUZZ=OFF, any
 * compiler): feeds each file named on the command line (or each file inside a named directory) to
 * LLVMFuzzerTestOneInput once, as a libFuzzer binary does with file arguments. A crash or abort()
 * fails the run; so CTest replays tests/fuzz/regress/ with plain gcc too. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Runs the harness on the whole of path; 0, or -1 with a message when it cannot be read. */
static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    for (size_t got; buf && (got = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += got;
        if (n == cap) {
            uint8_t *bigger = realloc(buf, cap *= 2);
            if (!bigger)
                free(buf);
            buf = bigger;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        fprintf(stderr, "replay: %s: cannot read it\n", path);
        free(buf);
        return -1;
    }
    /* an exactly sized copy, so that a sanitizer sees any read past the input's end */
    uint8_t *exact = malloc(n ? n : 1);
    if (!exact)
        abort();
    memcpy(exact, buf, n);
    free(buf);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    printf("replay: %s: %zu bytes, ok\n", path, n);
    return 0;
}

int main(int argc, char **argv)
{
    int status = 0, runs = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (argv[i][0] == '-')
            continue; /* libFuzzer flags mean nothing here */
        if (stat(argv[i], &st) != 0 || !S_ISDIR(st.st_mode)) {
            status |= replay_file(argv[i]) != 0;
            runs++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            char path[4096];
            if (e->d_name[0] == '.')
                continue;
            snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
            status |= replay_file(path) != 0;
            runs++;
        }
        if (d)
            closedir(d);
    }
    if (runs == 0) {
        fprintf(stderr, "usage: %s FILE|DIR...  (runs the harness once on each input)\n", argv[0]);
        return 2;
    }
    return status;
}
