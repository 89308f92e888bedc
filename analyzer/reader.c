/* reader.c: a bounded line reader for rstwatch logs; every skipped line is reported and counted. */
#include "reader.h"
#include "rsw_schema.h"
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define RSW_CHUNK 65536
#define RSW_MAX_SKIP_MESSAGES 20

struct rsw_reader {
    FILE *f;
    char *path;
    struct rsw_skips *sk;
    char *chunk;
    size_t clen, cpos;
    char *line;
    size_t llen, lcap;
    long lineno;
    int eof;
};

static const char *const skip_names[RSW_SKIP_NKINDS] = {
    "truncated", "garbage", "too_long", "unknown_event", "future_version",
};

static const char *const skip_words[RSW_SKIP_NKINDS] = {
    "truncated last line", "not a valid log line",     "line longer than 1 MiB",
    "unknown event kind",  "newer log schema version",
};

const char *rsw_skip_name(enum rsw_skip_kind k)
{
    return skip_names[k];
}

struct rsw_reader *rsw_reader_open(const char *path, struct rsw_skips *sk, char *err, size_t errlen)
{
    FILE *f;
    if (strcmp(path, "-") == 0) {
        f = stdin;
    } else {
        struct stat st;
        f = fopen(path, "r");
        if (!f) {
            snprintf(err, errlen, "rstwatch: cannot open %s: %s", path, strerror(errno));
            return NULL;
        }
        if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
            snprintf(err, errlen, "rstwatch: %s: is a directory", path);
            fclose(f);
            return NULL;
        }
    }
    struct rsw_reader *r = calloc(1, sizeof(*r));
    if (!r)
        abort();
    r->f = f;
    r->path = strdup(strcmp(path, "-") == 0 ? "<stdin>" : path);
    r->sk = sk;
    r->chunk = malloc(RSW_CHUNK);
    if (!r->path || !r->chunk)
        abort();
    return r;
}

const char *rsw_reader_path(const struct rsw_reader *r)
{
    return r->path;
}

void rsw_reader_close(struct rsw_reader *r)
{
    if (!r)
        return;
    if (r->f && r->f != stdin)
        fclose(r->f);
    free(r->path);
    free(r->chunk);
    free(r->line);
    free(r);
}

/* Reports one skipped line; returns -1 when strict mode ends the report. */
static int skip_line(struct rsw_reader *r, enum rsw_skip_kind k, const char *detail)
{
    struct rsw_skips *sk = r->sk;
    sk->count[k]++;
    if (!sk->quiet && (sk->strict || sk->printed < RSW_MAX_SKIP_MESSAGES)) {
        fprintf(stderr, "rstwatch: %s:%ld: skipped: %s%s%s\n", r->path, r->lineno, skip_words[k],
                detail ? ": " : "", detail ? detail : "");
        if (++sk->printed == RSW_MAX_SKIP_MESSAGES && !sk->strict)
            fprintf(stderr, "rstwatch: further skipped lines are only counted\n");
    }
    if (sk->strict) {
        sk->failed = 1;
        if (!sk->quiet)
            fprintf(stderr, "rstwatch: stopping: --strict\n");
        return -1;
    }
    return 0;
}

/* Validates one complete line. 1: *out holds it; 0: skipped; -1: strict stop. */
static int parse_line(struct rsw_reader *r, int complete, json_t **out)
{
    json_error_t jerr;
    size_t n = r->llen;
    while (n > 0 && (r->line[n - 1] == '\r' || r->line[n - 1] == ' ' || r->line[n - 1] == '\t'))
        n--;
    if (n == 0)
        return 0; /* blank lines are not worth a message */
    json_t *j = json_loadb(r->line, n, JSON_REJECT_DUPLICATES, &jerr);
    if (!j)
        return skip_line(r, complete ? RSW_SKIP_GARBAGE : RSW_SKIP_TRUNCATED, NULL) < 0 ? -1 : 0;
    json_t *v = json_object_get(j, RSW_KEY(V)), *ts = json_object_get(j, RSW_KEY(TS));
    json_t *pid = json_object_get(j, RSW_KEY(PID)), *ev = json_object_get(j, RSW_KEY(EV));
    if (!json_is_object(j) || !json_is_integer(v) || !json_is_integer(ts) ||
        !json_is_integer(pid) || !json_is_string(ev)) {
        json_decref(j);
        return skip_line(r, RSW_SKIP_GARBAGE, "missing v, ts, pid or ev") < 0 ? -1 : 0;
    }
    /* v1 and v2 differ only in how backtraces name modules: both are read */
    if (json_integer_value(v) > RSW_SCHEMA_VERSION || json_integer_value(v) < 1) {
        char d[64];
        snprintf(d, sizeof d, "v=%lld, this rstwatch reads v%d", (long long)json_integer_value(v),
                 RSW_SCHEMA_VERSION);
        json_decref(j);
        return skip_line(r, RSW_SKIP_FUTURE_VERSION, d) < 0 ? -1 : 0;
    }
    if (rsw_ev_parse(json_string_value(ev)) < 0) {
        char d[80];
        snprintf(d, sizeof d, "\"%.60s\"", json_string_value(ev));
        json_decref(j);
        return skip_line(r, RSW_SKIP_UNKNOWN_EVENT, d) < 0 ? -1 : 0;
    }
    *out = j;
    return 1;
}

static int fill(struct rsw_reader *r)
{
    r->clen = fread(r->chunk, 1, RSW_CHUNK, r->f);
    r->cpos = 0;
    if (r->clen == 0) {
        if (ferror(r->f)) {
            if (!r->sk->quiet)
                fprintf(stderr, "rstwatch: %s: read error: %s\n", r->path, strerror(errno));
            return -1;
        }
        r->eof = 1;
    }
    return 0;
}

int rsw_reader_next(struct rsw_reader *r, json_t **out, long *lineno)
{
    int too_long = 0;
    r->llen = 0;
    for (;;) {
        if (r->cpos == r->clen) {
            if (!r->eof && fill(r) < 0)
                return -1;
            if (r->eof) {
                if (r->llen == 0 && !too_long)
                    return 0;
                r->lineno++;
                *lineno = r->lineno;
                if (too_long) {
                    if (skip_line(r, RSW_SKIP_TOO_LONG, NULL) < 0)
                        return -1;
                    return 0;
                }
                int rc = parse_line(r, 0, out);
                r->llen = 0;
                return rc < 0 ? -1 : rc;
            }
        }
        char *start = r->chunk + r->cpos;
        size_t avail = r->clen - r->cpos;
        char *nl = memchr(start, '\n', avail);
        size_t take = nl ? (size_t)(nl - start) : avail;
        r->cpos += take + (nl ? 1 : 0);
        if (!too_long) {
            if (r->llen + take > RSW_MAX_LINE) {
                too_long = 1;
                r->llen = 0;
            } else {
                if (r->llen + take > r->lcap) {
                    size_t cap = r->lcap ? r->lcap : 4096;
                    while (cap < r->llen + take)
                        cap *= 2;
                    r->line = realloc(r->line, cap);
                    if (!r->line)
                        abort();
                    r->lcap = cap;
                }
                if (take) /* an empty line has nothing to copy (and maybe no buffer yet) */
                    memcpy(r->line + r->llen, start, take);
                r->llen += take;
            }
        }
        if (!nl)
            continue;
        r->lineno++;
        *lineno = r->lineno;
        if (too_long) {
            if (skip_line(r, RSW_SKIP_TOO_LONG, NULL) < 0)
                return -1;
            too_long = 0;
            r->llen = 0;
            continue;
        }
        int rc = parse_line(r, 1, out);
        r->llen = 0;
        if (rc != 0)
            return rc;
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void push(char ***v, int *n, int *cap, char *s)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        *v = realloc(*v, *cap * sizeof(**v));
        if (!*v)
            abort();
    }
    (*v)[(*n)++] = s;
}

int rsw_expand_inputs(char *const *args, int nargs, int quiet, char ***out)
{
    char **v = NULL;
    int n = 0, cap = 0;
    for (int i = 0; i < nargs; i++) {
        struct stat st;
        if (strcmp(args[i], "-") != 0 && stat(args[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            DIR *d = opendir(args[i]);
            if (!d) {
                if (!quiet)
                    fprintf(stderr, "rstwatch: cannot read %s: %s\n", args[i], strerror(errno));
                goto fail;
            }
            int first = n;
            struct dirent *de;
            while ((de = readdir(d))) {
                size_t l = strlen(de->d_name);
                if (l < 7 || strcmp(de->d_name + l - 6, ".jsonl") != 0)
                    continue;
                size_t al = strlen(args[i]);
                int slash = al > 0 && args[i][al - 1] == '/';
                char *p;
                if (asprintf(&p, "%s%s%s", args[i], slash ? "" : "/", de->d_name) < 0)
                    abort();
                push(&v, &n, &cap, p);
            }
            closedir(d);
            if (n == first) {
                if (!quiet)
                    fprintf(stderr, "rstwatch: %s: no *.jsonl logs in this directory\n", args[i]);
                goto fail;
            }
            qsort(v + first, n - first, sizeof(*v), cmp_str);
        } else {
            char *p = strdup(args[i]);
            if (!p)
                abort();
            push(&v, &n, &cap, p);
        }
    }
    *out = v;
    return n;
fail:
    for (int i = 0; i < n; i++)
        free(v[i]);
    free(v);
    return -1;
}
