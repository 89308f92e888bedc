/* map.h: a small string-keyed hash map (chained) used for processes, connections and tallies. */
#ifndef RSW_MAP_H
#define RSW_MAP_H
#include <stddef.h>

struct rsw_map;

struct rsw_map *rsw_map_new(void);
void rsw_map_free(struct rsw_map *m);
void *rsw_map_get(const struct rsw_map *m, const char *key);
/* Sets key to val (replacing any previous value); val NULL removes the key. */
void rsw_map_set(struct rsw_map *m, const char *key, void *val);
size_t rsw_map_count(const struct rsw_map *m);
/* Calls fn for every entry, in no particular order; fn must not modify the map. */
void rsw_map_each(const struct rsw_map *m, void (*fn)(const char *key, void *val, void *arg),
                  void *arg);

#endif
