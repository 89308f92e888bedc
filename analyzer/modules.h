/* modules.h: a process's loaded objects (module lines), to resolve its backtrace frames. */
#ifndef RSW_MODULES_H
#define RSW_MODULES_H
#include <jansson.h>

struct rsw_modules;

struct rsw_modules *rsw_modules_new(void);
void rsw_modules_free(struct rsw_modules *t);
/* A resolved frame of a module whose line named its build-id (v3) carries it under this key,
 * for the symbolizer to check against the file; rsw_sym_frames removes it. */
#define RSW_FRAME_BUILD_ID "_build_id"

/* Records one "module" line (id, path, base, v3 build_id); a line without a valid id or path is
 * ignored. Its v3 "size" is not needed: frames carry their module's id. */
void rsw_modules_add(struct rsw_modules *t, const json_t *line);
/* A copy of a logged backtrace with every frame in one shape, whatever the log's version:
 * {"ip","obj","off"} (plus "sym" when a v1 log named it), or {"ip"} alone when the address is
 * in no known module. v2 frames ({"ip","m","off"}) take obj (and RSW_FRAME_BUILD_ID) from the
 * table; t may be NULL. */
json_t *rsw_modules_frames(const struct rsw_modules *t, const json_t *bt);

#endif
