/* symbolize.c: module + offset → function, file:line via elfutils libdw, one cache entry per
 * module. */
#include "symbolize.h"
#include "demangle.h"
#include "fmt.h"
#include "jsonutil.h"
#include "map.h"
#include "modules.h"
#include "rsw_schema.h"
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

struct module {
    Dwfl *dwfl;
    Dwfl_Module *mod; /* NULL: the binary is missing or unreadable; use the logged names */
    Dwarf_Addr bias;
};

struct rsw_symbolizer {
    struct rsw_map *mods;    /* path → struct module * */
    struct rsw_map *checked; /* "path|build-id" → (void *)1: compared with the file already */
    int quiet;
};

static char *debuginfo_path;

static const Dwfl_Callbacks offline_cb = {
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = &debuginfo_path,
};

struct rsw_symbolizer *rsw_sym_new(void)
{
    struct rsw_symbolizer *s = calloc(1, sizeof(*s));
    if (!s)
        abort();
    s->mods = rsw_map_new();
    s->checked = rsw_map_new();
    return s;
}

void rsw_sym_set_quiet(struct rsw_symbolizer *s, int quiet)
{
    s->quiet = quiet;
}

static void module_free(const char *key, void *val, void *arg)
{
    (void)key;
    (void)arg;
    struct module *m = val;
    if (m->dwfl)
        dwfl_end(m->dwfl);
    free(m);
}

void rsw_sym_free(struct rsw_symbolizer *s)
{
    if (!s)
        return;
    rsw_map_each(s->mods, module_free, NULL);
    rsw_map_free(s->mods);
    rsw_map_free(s->checked);
    free(s);
}

/* Opens a module once; later calls return the cached entry, even a failed one. */
static struct module *module_of(struct rsw_symbolizer *s, const char *path)
{
    struct module *m = rsw_map_get(s->mods, path);
    if (m)
        return m;
    m = calloc(1, sizeof(*m));
    if (!m)
        abort();
    rsw_map_set(s->mods, path, m);
    if (path[0] != '/' || access(path, R_OK) != 0)
        return m;
    m->dwfl = dwfl_begin(&offline_cb);
    if (!m->dwfl)
        return m;
    dwfl_report_begin(m->dwfl);
    m->mod = dwfl_report_offline(m->dwfl, path, path, -1);
    dwfl_report_end(m->dwfl, NULL, NULL);
    if (m->mod && !dwfl_module_getelf(m->mod, &m->bias))
        m->mod = NULL;
    return m;
}

static unsigned long long hex_field(json_t *frame, const char *k)
{
    json_t *v = json_object_get(frame, k);
    if (json_is_integer(v))
        return (unsigned long long)json_integer_value(v);
    return json_is_string(v) ? strtoull(json_string_value(v), NULL, 16) : 0;
}

/* dwfl_module_getsrc finds a compile unit through .debug_aranges; clang emits none, and libdw
 * 0.188 cannot fall back on DWARF 5 units (DW_FORM_addrx ranges): "address out of range". Then
 * ask the unit that covers the address. Runs only for frames the fast lookup missed. */
static const char *scan_cus(Dwfl_Module *mod, Dwarf_Addr addr, int *line)
{
    Dwarf_Addr bias;
    Dwarf *dw = dwfl_module_getdwarf(mod, &bias);
    Dwarf_Off off = 0, next;
    size_t hsize;
    if (!dw)
        return NULL;
    while (dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
        Dwarf_Die cu;
        Dwarf_Line *l;
        /* the unit must cover the address: its line table alone would answer with its
         * nearest row even for code it does not hold (an asm stub without line info) */
        if (dwarf_offdie(dw, off + hsize, &cu) && dwarf_haspc(&cu, addr - bias) == 1 &&
            (l = dwarf_getsrc_die(&cu, addr - bias)) && dwarf_lineno(l, line) == 0)
            return dwarf_linesrc(l, NULL, NULL);
        off = next;
    }
    return NULL;
}

/* Once per file and logged build-id: warns when the file here has another one (or none). */
static void check_build_id(struct rsw_symbolizer *s, const char *path, struct module *m,
                           const char *logged)
{
    char key[1024];
    snprintf(key, sizeof key, "%s|%s", path, logged);
    if (rsw_map_get(s->checked, key))
        return;
    rsw_map_set(s->checked, key, (void *)1);
    const unsigned char *bits = NULL;
    GElf_Addr vaddr;
    int n = dwfl_module_build_id(m->mod, &bits, &vaddr);
    char here[256] = "";
    for (int i = 0; i < n && (size_t)i < sizeof here / 2 - 1; i++)
        snprintf(here + 2 * i, 3, "%02x", bits[i]);
    if (strcasecmp(here, logged) != 0 && !s->quiet)
        fprintf(stderr,
                "rstwatch: %s here is not the file the log was written with (build-id %s, the "
                "log says %s): its symbols may be wrong\n",
                path, *here ? here : "none", logged);
}

static void symbolize_frame(struct rsw_symbolizer *s, json_t *fr, int is_return_address,
                            const char *build_id)
{
    const char *obj = rsw_jstr(fr, RSW_KEY(OBJ), NULL);
    const char *func = rsw_jstr(fr, RSW_KEY(SYM), NULL);
    const char *file = NULL;
    int line = 0;
    struct module *m = obj ? module_of(s, obj) : NULL;
    if (m && m->mod && build_id)
        check_build_id(s, obj, m, build_id);
    if (m && m->mod && json_object_get(fr, RSW_KEY(OFF))) {
        Dwarf_Addr addr = m->bias + hex_field(fr, RSW_KEY(OFF)) - (is_return_address ? 1 : 0);
        const char *name = dwfl_module_addrname(m->mod, addr);
        if (name)
            func = name;
        Dwfl_Line *l = dwfl_module_getsrc(m->mod, addr);
        if (l)
            file = dwfl_lineinfo(l, NULL, &line, NULL, NULL, NULL);
        else
            file = scan_cus(m->mod, addr, &line);
    }
    char plain[256];
    if (func && strchr(func, '@')) { /* "__libc_start_main@@GLIBC_2.34" → the plain name */
        snprintf(plain, sizeof plain, "%.*s", (int)(strchr(func, '@') - func), func);
        func = plain;
    }
    char *readable = rsw_demangle(func);
    json_object_set_new(fr, "func", func ? json_string(readable ? readable : func) : json_null());
    json_object_set_new(fr, "file", file ? json_string(file) : json_null());
    json_object_set_new(fr, "line", file && line > 0 ? json_integer(line) : json_null());
    if (readable) /* the name as the object has it */
        json_object_set_new(fr, "mangled", json_string(func));
    free(readable);
}

void rsw_sym_frames(struct rsw_symbolizer *s, json_t *bt, int interrupted)
{
    size_t i, exact = 0;
    json_t *fr;
    /* the interrupted instruction is frame 0, or frame 1 under the signal trampoline (frame 0
     * is then __restore_rt, itself looked up as is: the kernel made it the return address) */
    json_t *f0 = json_array_get(bt, 0);
    if (interrupted && json_is_object(f0)) {
        symbolize_frame(s, f0, 0, rsw_jstr(f0, RSW_FRAME_BUILD_ID, NULL));
        const char *sym = rsw_jstr(f0, "sym", ""), *func = rsw_jstr(f0, "func", "");
        exact = strcmp(sym, "__restore_rt") == 0 || strcmp(func, "__restore_rt") == 0 ? 2 : 1;
    }
    json_array_foreach(bt, i, fr)
    {
        if (json_is_object(fr) && !(interrupted && i == 0))
            symbolize_frame(s, fr, i >= exact, rsw_jstr(fr, RSW_FRAME_BUILD_ID, NULL));
        json_object_del(fr, RSW_FRAME_BUILD_ID);
    }
}

void rsw_sym_site(json_t *fr, char *buf, size_t len)
{
    const char *func = rsw_jstr(fr, "func", NULL);
    const char *file = rsw_jstr(fr, "file", NULL);
    json_int_t line = json_integer_value(json_object_get(fr, "line"));
    const char *obj = rsw_jstr(fr, "obj", NULL);
    const char *off = rsw_jstr(fr, "off", NULL);
    if (func && file)
        snprintf(buf, len, "%s (%s:%lld)", func, rsw_basename(file), (long long)line);
    else if (func)
        snprintf(buf, len, "%s (%s)", func, obj ? rsw_basename(obj) : "?");
    else if (obj)
        snprintf(buf, len, "%s+%s", rsw_basename(obj), off ? off : "?");
    else /* in no known module */
        snprintf(buf, len, "%s", rsw_jstr(fr, "ip", "?"));
}

static int system_module(const char *obj)
{
    const char *b = rsw_basename(obj);
    if (!b)
        return 0;
    /* the C library and runtimes that wrap its calls (sanitizers' interceptors) */
    return strncmp(b, "libc.so", 7) == 0 || strncmp(b, "libc-", 5) == 0 ||
           strncmp(b, "ld-linux", 8) == 0 || strncmp(b, "libpthread", 10) == 0 ||
           strncmp(b, "librstwatch", 11) == 0 || strncmp(b, "libclang_rt.", 12) == 0 ||
           strncmp(b, "libasan", 7) == 0 || strncmp(b, "libtsan", 7) == 0 ||
           strncmp(b, "libubsan", 8) == 0;
}

json_t *rsw_sym_site_frame(json_t *bt)
{
    size_t i;
    json_t *fr;
    json_array_foreach(bt, i, fr)
    {
        if (!system_module(rsw_jstr(fr, "obj", NULL)))
            return fr;
    }
    return json_array_get(bt, 0);
}
