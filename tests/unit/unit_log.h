/* unit_log.h: what the unit tests that read their own log share: a core started on a fresh
 * per-process log in a temporary directory, and the log read back as JSON. One test program
 * includes it once (static definitions). */
#ifndef RSW_UNIT_LOG_H
#define RSW_UNIT_LOG_H
#include "backtrace.h"
#include "config.h"
#include "fdtable.h"
#include "logwriter.h"
#include "modmap.h"
#include "proc.h"
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char unit_dir[] = "/tmp/rsw-unit-XXXXXX";
static char unit_path[256];

/* The recording core started in mode events, writing to UNIT_DIR/log.PID. */
static void unit_log_start(int events)
{
    cr_assert_not_null(mkdtemp(unit_dir));
    snprintf(unit_path, sizeof unit_path, "%s/log.%%p", unit_dir);
    rsw_cfg.log = unit_path;
    rsw_cfg.events = events;
    rsw_cfg.backtrace = 32;
    rsw_proc_init("/some/dir/unit");
    rsw_fdt_init(1 << 16);
    rsw_mod_scan(rsw_self.exe);
    rsw_bt_init(0);
    rsw_log_open();
    cr_assert(rsw_log_enabled());
}

/* All lines of this process's log, parsed (none: an empty array); fails the test on any line
 * that is not JSON. */
static json_t *lines(void)
{
    char p[300], buf[65536];
    snprintf(p, sizeof p, "%s/log.%d", unit_dir, getpid());
    FILE *f = fopen(p, "r");
    json_t *arr = json_array();
    if (!f)
        return arr;
    while (fgets(buf, sizeof buf, f)) {
        json_error_t err;
        json_t *v = json_loads(buf, 0, &err);
        cr_assert_not_null(v, "not JSON: %s", buf);
        json_array_append_new(arr, v);
    }
    fclose(f);
    return arr;
}

static const char *s(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static json_int_t n(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}
#endif
