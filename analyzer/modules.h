/* modules.h: a process's loaded objects (v2 "module" lines), to resolve its backtrace frames. */
#ifndef RSW_MODULES_H
#define RSW_MODULES_H
#include <jansson.h>

struct rsw_modules;

struct rsw_modules *rsw_modules_new(void);
void rsw_modules_free(struct rsw_modules *t);
/* Records one "module" line (id, path, base); a line without a valid id or path is ignored. */
void rsw_modules_add(struct rsw_modules *t, const json_t *line);
/* A copy of a logged backtrace with every frame in one shape, whatever the log's version:
 * {"ip","obj","off"} (plus "sym" when a v1 log named it), or {"ip"} alone when the address is
 * in no known module. v2 frames ({"ip","m","off"}) take obj from the table; t may be NULL. */
json_t *rsw_modules_frames(const struct rsw_modules *t, const json_t *bt);

#endif
