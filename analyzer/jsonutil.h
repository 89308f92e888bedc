/* jsonutil.h: tolerant jansson getters and counters, the one copy every analyzer file uses. */
#ifndef RSW_JSONUTIL_H
#define RSW_JSONUTIL_H
#include <jansson.h>

/* o[key] when it is a string, else dflt (also when o is not an object). */
static inline const char *rsw_jstr(const json_t *o, const char *key, const char *dflt)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : dflt;
}

/* o[key] when it is an integer, else dflt. */
static inline long long rsw_jint(const json_t *o, const char *key, long long dflt)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (long long)json_integer_value(v) : dflt;
}

/* Adds n to the integer counter obj[key] (created at 0). */
static inline void rsw_jcount(json_t *obj, const char *key, long long n)
{
    json_object_set_new(obj, key, json_integer(rsw_jint(obj, key, 0) + n));
}

#endif
