/* modules.c: a process's loaded objects (module lines), to resolve its backtrace frames. */
#include "modules.h"
#include "jsonutil.h"
#include "map.h"
#include "rsw_schema.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct module {
    char *path;
    char *build_id; /* v3: hex of the object's NT_GNU_BUILD_ID note, NULL when not logged */
    unsigned long long base;
};

struct rsw_modules {
    struct rsw_map *byid; /* "3" → struct module * */
};

struct rsw_modules *rsw_modules_new(void)
{
    struct rsw_modules *t = calloc(1, sizeof(*t));
    if (!t)
        abort();
    t->byid = rsw_map_new();
    return t;
}

static void module_free(const char *key, void *val, void *arg)
{
    (void)key;
    (void)arg;
    struct module *m = val;
    free(m->path);
    free(m->build_id);
    free(m);
}

void rsw_modules_free(struct rsw_modules *t)
{
    if (!t)
        return;
    rsw_map_each(t->byid, module_free, NULL);
    rsw_map_free(t->byid);
    free(t);
}

static unsigned long long hex(const char *s)
{
    return s ? strtoull(s, NULL, 16) : 0;
}

void rsw_modules_add(struct rsw_modules *t, const json_t *line)
{
    long long id = rsw_jint(line, RSW_KEY(ID), -1);
    const char *path = rsw_jstr(line, RSW_KEY(PATH), NULL);
    if (id < 0 || !path)
        return;
    char key[32];
    snprintf(key, sizeof key, "%lld", id);
    struct module *m = rsw_map_get(t->byid, key);
    if (m) { /* ids are not reused in a process: a repeat replaces the entry */
        free(m->path);
        free(m->build_id);
        m->build_id = NULL;
    } else {
        m = calloc(1, sizeof(*m));
        if (!m)
            abort();
        rsw_map_set(t->byid, key, m);
    }
    m->path = strdup(path);
    if (!m->path)
        abort();
    m->base = hex(rsw_jstr(line, RSW_KEY(BASE), NULL));
    const char *bid = rsw_jstr(line, RSW_KEY(BUILD_ID), NULL);
    if (bid && *bid && !(m->build_id = strdup(bid)))
        abort();
}

/* A v2 frame as the v1 frame it stands for. */
static json_t *resolve(const struct rsw_modules *t, const json_t *fr)
{
    const char *ip = rsw_jstr(fr, RSW_KEY(IP), NULL);
    long long id = rsw_jint(fr, RSW_KEY(MOD), -1);
    json_t *o = json_object();
    json_object_set_new(o, RSW_KEY(IP), json_string(ip ? ip : "?"));
    char key[32];
    snprintf(key, sizeof key, "%lld", id);
    const struct module *m = t && id >= 0 ? rsw_map_get(t->byid, key) : NULL;
    if (!m)
        return o; /* in no known module: the raw address is all there is */
    json_object_set_new(o, RSW_KEY(OBJ), json_string(m->path));
    if (m->build_id)
        json_object_set_new(o, RSW_FRAME_BUILD_ID, json_string(m->build_id));
    const char *off = rsw_jstr(fr, RSW_KEY(OFF), NULL);
    char buf[32];
    if (!off && ip) {
        snprintf(buf, sizeof buf, "0x%llx", hex(ip) - m->base);
        off = buf;
    }
    if (off)
        json_object_set_new(o, RSW_KEY(OFF), json_string(off));
    return o;
}

json_t *rsw_modules_frames(const struct rsw_modules *t, const json_t *bt)
{
    json_t *out = json_array();
    size_t i;
    json_t *fr;
    json_array_foreach(bt, i, fr)
    {
        if (json_is_object(fr) && !json_object_get(fr, RSW_KEY(OBJ)))
            json_array_append_new(out, resolve(t, fr));
        else
            json_array_append_new(out, json_deep_copy(fr));
    }
    return out;
}
