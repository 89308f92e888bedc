/* map.c: a small string-keyed hash map (chained, doubling) for the analyzer's tables. */
#include "map.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct map_ent {
    char *key;
    void *val;
    struct map_ent *next;
};

struct rsw_map {
    struct map_ent **slots;
    size_t nslots, count;
};

static uint64_t hash_key(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n, sz);
    if (!p)
        abort();
    return p;
}

struct rsw_map *rsw_map_new(void)
{
    struct rsw_map *m = xcalloc(1, sizeof(*m));
    m->nslots = 16;
    m->slots = xcalloc(m->nslots, sizeof(*m->slots));
    return m;
}

void rsw_map_free(struct rsw_map *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nslots; i++) {
        struct map_ent *e = m->slots[i], *n;
        for (; e; e = n) {
            n = e->next;
            free(e->key);
            free(e);
        }
    }
    free(m->slots);
    free(m);
}

void *rsw_map_get(const struct rsw_map *m, const char *key)
{
    struct map_ent *e = m->slots[hash_key(key) & (m->nslots - 1)];
    for (; e; e = e->next)
        if (strcmp(e->key, key) == 0)
            return e->val;
    return NULL;
}

static void grow(struct rsw_map *m)
{
    size_t n = m->nslots * 2;
    struct map_ent **slots = xcalloc(n, sizeof(*slots));
    for (size_t i = 0; i < m->nslots; i++) {
        struct map_ent *e = m->slots[i], *next;
        for (; e; e = next) {
            next = e->next;
            size_t j = hash_key(e->key) & (n - 1);
            e->next = slots[j];
            slots[j] = e;
        }
    }
    free(m->slots);
    m->slots = slots;
    m->nslots = n;
}

void rsw_map_set(struct rsw_map *m, const char *key, void *val)
{
    struct map_ent **pp = &m->slots[hash_key(key) & (m->nslots - 1)];
    for (; *pp; pp = &(*pp)->next) {
        if (strcmp((*pp)->key, key) == 0) {
            if (val) {
                (*pp)->val = val;
            } else {
                struct map_ent *dead = *pp;
                *pp = dead->next;
                free(dead->key);
                free(dead);
                m->count--;
            }
            return;
        }
    }
    if (!val)
        return;
    struct map_ent *e = xcalloc(1, sizeof(*e));
    e->key = strdup(key);
    if (!e->key)
        abort();
    e->val = val;
    e->next = *pp;
    *pp = e;
    if (++m->count > m->nslots)
        grow(m);
}

size_t rsw_map_count(const struct rsw_map *m)
{
    return m->count;
}

void rsw_map_each(const struct rsw_map *m, void (*fn)(const char *key, void *val, void *arg),
                  void *arg)
{
    for (size_t i = 0; i < m->nslots; i++)
        for (struct map_ent *e = m->slots[i]; e; e = e->next)
            fn(e->key, e->val, arg);
}
