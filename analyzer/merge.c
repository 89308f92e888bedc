/* merge.c: a binary heap over the logs' next lines, ordered by (ts, input). */
#include "merge.h"
#include <stdlib.h>

struct head {
    struct rsw_reader *r;
    json_t *line;
    long lineno;
    long long ts;
    int input;
};

struct rsw_merge {
    struct head *h; /* heap of live inputs */
    int n;
    json_t **first;
    int ninputs;
    int ended; /* an input that ended at the last pop, reported before the next line */
    int pending_end;
};

static int less(const struct head *a, const struct head *b)
{
    return a->ts != b->ts ? a->ts < b->ts : a->input < b->input;
}

static void sift_down(struct rsw_merge *m, int i)
{
    for (;;) {
        int l = 2 * i + 1, r = l + 1, s = i;
        if (l < m->n && less(&m->h[l], &m->h[s]))
            s = l;
        if (r < m->n && less(&m->h[r], &m->h[s]))
            s = r;
        if (s == i)
            return;
        struct head t = m->h[i];
        m->h[i] = m->h[s];
        m->h[s] = t;
        i = s;
    }
}

/* Reads the next line of head i; 1 ok, 0 ended, -1 error. */
static int advance(struct head *hd)
{
    json_t *j = NULL;
    int rc = rsw_reader_next(hd->r, &j, &hd->lineno);
    hd->line = rc == 1 ? j : NULL;
    if (rc == 1)
        hd->ts = (long long)json_integer_value(json_object_get(j, "ts"));
    return rc;
}

struct rsw_merge *rsw_merge_open(char *const *paths, int n, struct rsw_skips *sk)
{
    struct rsw_merge *m = calloc(1, sizeof(*m));
    if (!m)
        abort();
    m->h = calloc(n ? n : 1, sizeof(*m->h));
    m->first = calloc(n ? n : 1, sizeof(*m->first));
    m->ninputs = n;
    m->pending_end = -1;
    if (!m->h || !m->first)
        abort();
    for (int i = 0; i < n; i++) {
        char err[512];
        struct rsw_reader *r = rsw_reader_open(paths[i], sk, err, sizeof err);
        if (!r) {
            fprintf(stderr, "%s\n", err);
            rsw_merge_close(m);
            return NULL;
        }
        m->h[m->n] = (struct head){.r = r, .input = i};
        int rc = advance(&m->h[m->n]);
        if (rc < 0) {
            rsw_reader_close(r);
            rsw_merge_close(m);
            return NULL;
        }
        if (rc == 0) { /* an empty log: nothing to merge, still an input */
            rsw_reader_close(r);
            continue;
        }
        m->first[i] = m->h[m->n].line;
        m->n++;
    }
    for (int i = m->n / 2 - 1; i >= 0; i--)
        sift_down(m, i);
    return m;
}

json_t *rsw_merge_first(struct rsw_merge *m, int i)
{
    return i >= 0 && i < m->ninputs ? m->first[i] : NULL;
}

int rsw_merge_next(struct rsw_merge *m, json_t **line, int *input, long *lineno)
{
    if (m->pending_end >= 0) {
        *input = m->pending_end;
        m->pending_end = -1;
        return 2;
    }
    if (m->n == 0)
        return 0;
    struct head *top = &m->h[0];
    *line = top->line;
    *input = top->input;
    *lineno = top->lineno;
    if (top->input < m->ninputs)
        m->first[top->input] = NULL;
    int rc = advance(top);
    if (rc < 0) {
        json_decref(*line);
        return -1;
    }
    if (rc == 0) {
        m->pending_end = top->input;
        rsw_reader_close(top->r);
        m->h[0] = m->h[--m->n];
    }
    sift_down(m, 0);
    return 1;
}

void rsw_merge_close(struct rsw_merge *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->n; i++) {
        json_decref(m->h[i].line);
        rsw_reader_close(m->h[i].r);
    }
    free(m->h);
    free(m->first);
    free(m);
}
