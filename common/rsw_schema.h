/* rsw_schema.h: the log format as C: enums and name tables generated from rsw_schema.def. */
#ifndef RSW_SCHEMA_H
#define RSW_SCHEMA_H
#include <errno.h>
#include <string.h>

/* Bump when a field changes meaning; readers skip lines with a newer "v". */
#define RSW_SCHEMA_VERSION 3
#define RSW_VERSION_STRING "0.1.0"

/* RSTWATCH_EVENTS levels: an event is written when the configured level is at least its own. */
enum rsw_level {
    RSW_LEVEL_ERRORS = 0,
    RSW_LEVEL_FAILURES = 1,
    RSW_LEVEL_CONN = 2,
    RSW_LEVEL_ALL = 3
};

enum rsw_ev {
#define RSW_EVENT(ID, name, level) RSW_EV_##ID,
#include "rsw_schema.def"
    RSW_EV_NKINDS
};

enum rsw_key {
#define RSW_FIELD(ID, key) RSW_K_##ID,
#include "rsw_schema.def"
    RSW_K_NKEYS
};

enum rsw_family {
    RSW_FAM_NONE = 0,
#define RSW_FAMILY(ID, name) RSW_FAM_##ID,
#include "rsw_schema.def"
    RSW_FAM_NKINDS
};

enum rsw_errclass {
    RSW_EC_NONE = 0,
    RSW_EC_RESET,
    RSW_EC_PIPE,
    RSW_EC_REFUSED,
    RSW_EC_TIMEOUT,
    RSW_EC_UNREACH
};

static const char *const rsw_ev_names[RSW_EV_NKINDS] = {
#define RSW_EVENT(ID, name, level) name,
#include "rsw_schema.def"
};

static const unsigned char rsw_ev_levels[RSW_EV_NKINDS] = {
#define RSW_EVENT(ID, name, level) RSW_LEVEL_##level,
#include "rsw_schema.def"
};

static const char *const rsw_key_names[RSW_K_NKEYS] = {
#define RSW_FIELD(ID, key) key,
#include "rsw_schema.def"
};

static const char *const rsw_family_names[RSW_FAM_NKINDS] = {
    NULL,
#define RSW_FAMILY(ID, name) name,
#include "rsw_schema.def"
};

/* The key string of a field: RSW_KEY(PEER) is "peer". */
#define RSW_KEY(ID) (rsw_key_names[RSW_K_##ID])

/* "error" -> RSW_EV_ERROR; -1 for a kind this schema does not know. */
static inline int rsw_ev_parse(const char *name)
{
    for (int i = 0; name && i < RSW_EV_NKINDS; i++)
        if (!strcmp(name, rsw_ev_names[i]))
            return i;
    return -1;
}

/* RSW_FAM_INET6 -> "inet6"; NULL for RSW_FAM_NONE or out of range. */
static inline const char *rsw_family_name(int f)
{
    return f > RSW_FAM_NONE && f < RSW_FAM_NKINDS ? rsw_family_names[f] : NULL;
}

/* "inet6" -> RSW_FAM_INET6; RSW_FAM_NONE when unknown or NULL. */
static inline int rsw_family_parse(const char *name)
{
    for (int i = 1; name && i < RSW_FAM_NKINDS; i++)
        if (!strcmp(name, rsw_family_names[i]))
            return i;
    return RSW_FAM_NONE;
}

/* The class of an errno by its symbolic name ("ECONNRESET" -> RSW_EC_RESET), RSW_EC_NONE if the
 * library does not report it. */
static inline enum rsw_errclass rsw_errclass_of_name(const char *ename)
{
#define RSW_ERRNO(e, cls)                                                                          \
    if (ename && !strcmp(ename, #e))                                                               \
        return RSW_EC_##cls;
#include "rsw_schema.def"
    return RSW_EC_NONE;
}

/* The same by number. */
static inline enum rsw_errclass rsw_errclass_of(int err)
{
    switch (err) {
#define RSW_ERRNO(e, cls)                                                                          \
    case e:                                                                                        \
        return RSW_EC_##cls;
#include "rsw_schema.def"
    default:
        return RSW_EC_NONE;
    }
}
#endif
