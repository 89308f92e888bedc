/* symbolize.c: module + offset → function, file:line via elfutils libdw, one cache entry per
 * module file and logged build-id; debug files from the debug directories and debuginfod. */
#include "symbolize.h"
#include "demangle.h"
#include "fmt.h"
#include "jsonutil.h"
#include "map.h"
#include "modules.h"
#include "rsw_schema.h"
#include <ctype.h>
#include <dlfcn.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

struct module {
    Dwfl *dwfl;
    Dwfl_Module *mod; /* NULL: the binary is missing or unreadable; use the logged names */
    Dwarf_Addr bias;
    const struct rsw_symbolizer *s; /* for find_debuginfo, through the module's userdata */
};

struct rsw_symbolizer {
    struct rsw_map *mods; /* "path|logged build-id" → struct module * */
    int quiet;
};

/* ---- where debug files are looked for ------------------------------------------------------ */

#define DEFAULT_DEBUG_DIRS "/usr/lib/debug"
#define MAX_BUILD_ID 64 /* bytes, as libdwfl */

/* The debug directories (gdb's debug-file-directory), absolute and colon-separated; NULL until
 * --debug-dir names one: DEFAULT_DEBUG_DIRS. */
static char *debug_dirs;
/* libdwfl's search path: the module's own directory, its .debug/, then each debug directory;
 * NULL: libdwfl's default (the same, with DEFAULT_DEBUG_DIRS). */
static char *debuginfo_path;

void rsw_sym_add_debug_dirs(const char *list)
{
    char *copy = strdup(list), *save = NULL, *dir;
    if (!copy)
        abort();
    if (!debug_dirs && !(debug_dirs = strdup("")))
        abort();
    for (dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
        /* absolute (libdwfl takes a relative entry as under the module's own directory) */
        char *abs = realpath(dir, NULL);
        if (!abs) {
            fprintf(stderr, "rstwatch: debug directory %s: %s\n", dir, strerror(errno));
            continue;
        }
        char *more;
        if (asprintf(&more, "%s%s%s", debug_dirs, *debug_dirs ? ":" : "", abs) < 0)
            abort();
        free(abs);
        free(debug_dirs);
        debug_dirs = more;
    }
    free(copy);
    free(debuginfo_path);
    if (asprintf(&debuginfo_path, ":.debug%s%s", *debug_dirs ? ":" : "", debug_dirs) < 0)
        abort();
}

/* ---- debuginfod ---------------------------------------------------------------------------- */

/* libdebuginfod's API (elfutils/debuginfod.h, not needed for these declarations). */
typedef int debuginfod_find_fn(debuginfod_client *c, const unsigned char *build_id, int len,
                               char **path);
typedef int debuginfod_progress_fn(debuginfod_client *c, long a, long b);
typedef void debuginfod_set_progressfn_fn(debuginfod_client *c, debuginfod_progress_fn *fn);

/* libdwfl's standard search asks debuginfod by itself, last, unannounced and as long as the
 * servers let it. So DEBUGINFOD_URLS is taken out of the environment, where libdebuginfod reads
 * it at each question, and put back only around a question of ours: announced once, bounded,
 * and none after one that a server failed to answer. Process-wide, as the environment is. */
static struct {
    int set_up;
    char *urls; /* DEBUGINFOD_URLS as given; NULL: debuginfod is never asked */
    void *so;   /* libdebuginfod.so.1 (libdwfl loads it too) */
    int announced, given_up;
    long long deadline; /* of the question under way, monotonic ns; 0: none */
    int cancelled;      /* progress() ended it */
} dfd;

static void debuginfod_set_up(void)
{
    if (dfd.set_up++)
        return;
    const char *urls = getenv("DEBUGINFOD_URLS");
    if (!urls || !*urls)
        return;
    if (!(dfd.urls = strdup(urls)))
        abort();
    unsetenv("DEBUGINFOD_URLS");
    if (!getenv("DEBUGINFOD_TIMEOUT")) /* libdebuginfod's default is 90 s */
        setenv("DEBUGINFOD_TIMEOUT", "5", 1);
}

static long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* DEBUGINFOD_TIMEOUT only bounds a transfer under way (100 KiB per that many seconds): a server
 * whose address drops packets holds a question until the TCP connect gives up, at each of its
 * retries. libdebuginfod calls this about once a second; b, the size of the file coming, stays
 * 0 until a server has started to send it. So no server answering within the timeout ends the
 * question (libdebuginfod then notes the file as missing, for 10 min: its cache_miss_s). */
static int progress(debuginfod_client *c, long a, long b)
{
    (void)c;
    (void)a;
    if (b != 0 || !dfd.deadline || now_ns() < dfd.deadline)
        return 0;
    dfd.cancelled = 1;
    return 1;
}

/* Before a question with m's client: 0 when none may be asked (no URLs or libdebuginfod, a quiet
 * symbolizer, a server failed before), else 1, the URLs in the environment until ask_end. */
static int ask_begin(const struct module *m)
{
    if (!dfd.urls || dfd.given_up || m->s->quiet)
        return 0;
    debuginfod_client *c = dwfl_get_debuginfod_client(m->dwfl);
    if (!dfd.so && c)
        dfd.so = dlopen("libdebuginfod.so.1", RTLD_LAZY);
    debuginfod_set_progressfn_fn *set_progress =
        dfd.so ? (debuginfod_set_progressfn_fn *)dlsym(dfd.so, "debuginfod_set_progressfn") : NULL;
    if (!c || !set_progress)
        return 0;
    const char *timeout = getenv("DEBUGINFOD_TIMEOUT");
    if (!dfd.announced++)
        fprintf(stderr,
                "rstwatch: asking debuginfod at %s for debug info not found here (timeout %s s)\n",
                dfd.urls, timeout);
    set_progress(c, progress);
    dfd.deadline = atoi(timeout) > 0 ? now_ns() + atoi(timeout) * 1000000000LL : 0;
    dfd.cancelled = 0;
    setenv("DEBUGINFOD_URLS", dfd.urls, 1);
    return 1;
}

/* After it (rc: a file descriptor, or -errno): an answer other than a file or "not there" (no
 * answer in time, a refused connection) ends the asking for the rest of the run. */
static void ask_end(int rc)
{
    unsetenv("DEBUGINFOD_URLS");
    if (dfd.cancelled || (rc < -1 && rc != -ENOENT)) {
        dfd.given_up = 1;
        if (dfd.cancelled)
            fprintf(stderr,
                    "rstwatch: debuginfod did not answer within %s s: asking it nothing more\n",
                    getenv("DEBUGINFOD_TIMEOUT"));
        else
            fprintf(stderr, "rstwatch: debuginfod did not answer (%s): asking it nothing more\n",
                    strerror(-rc));
    }
}

/* libdwfl's standard search (the module's directory, then each debug directory by build-id
 * and by path), without debuginfod; then once more with it when that found nothing and it
 * may be asked (libdwfl knows which build-id to ask for: the module's, or its dwz file's). */
static int find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                          const char *file, const char *debuglink, GElf_Word crc,
                          char **debuginfo_file)
{
    int fd = dwfl_standard_find_debuginfo(mod, userdata, modname, base, file, debuglink, crc,
                                          debuginfo_file);
    if (fd >= 0 || !*userdata || !ask_begin(*userdata))
        return fd;
    fd = dwfl_standard_find_debuginfo(mod, userdata, modname, base, file, debuglink, crc,
                                      debuginfo_file);
    ask_end(fd);
    return fd;
}

static const Dwfl_Callbacks offline_cb = {
    .find_debuginfo = find_debuginfo,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = &debuginfo_path,
};

/* The bytes of a logged build-id (hex, any case); 0 when it is not one. */
static int build_id_bits(const char *hex, unsigned char *bits)
{
    size_t n = strlen(hex);
    if (n < 6 || n % 2 || n > 2 * MAX_BUILD_ID)
        return 0;
    for (size_t i = 0; i < n; i += 2) {
        if (!isxdigit((unsigned char)hex[i]) || !isxdigit((unsigned char)hex[i + 1]))
            return 0;
        char byte[3] = {hex[i], hex[i + 1], 0};
        bits[i / 2] = (unsigned char)strtoul(byte, NULL, 16);
    }
    return (int)(n / 2);
}

/* Build-id bits in lower-case hex: buf holds 2 * MAX_BUILD_ID + 1 bytes; "" for none. */
static char *hex_of(const unsigned char *bits, int n, char *buf)
{
    buf[0] = 0;
    for (int i = 0; i < n && i < MAX_BUILD_ID; i++)
        snprintf(buf + 2 * i, 3, "%02x", bits[i]);
    return buf;
}

/* A file of the object whose build-id is bits, for a module missing here or here in another
 * build: in each debug directory .build-id/xx/yyyy.debug (its symbols and lines), else
 * .build-id/xx/yyyy (the object itself, where a directory has it); else debuginfod's debug file
 * of it, else its executable. malloc'd path, or NULL. */
static char *file_by_build_id(const struct module *m, const unsigned char *bits, int n)
{
    char hex[2 * MAX_BUILD_ID + 1], *list = strdup(debug_dirs ? debug_dirs : DEFAULT_DEBUG_DIRS);
    char *save = NULL, *dir, *path = NULL;
    if (!list)
        abort();
    hex_of(bits, n, hex);
    for (dir = strtok_r(list, ":", &save); dir && !path; dir = strtok_r(NULL, ":", &save))
        for (int debug = 1; debug >= 0 && !path; debug--) {
            if (asprintf(&path, "%s/.build-id/%.2s/%s%s", dir, hex, hex + 2,
                         debug ? ".debug" : "") < 0)
                abort();
            if (access(path, R_OK) != 0) {
                free(path);
                path = NULL;
            }
        }
    free(list);
    const char *names[] = {"debuginfod_find_debuginfo", "debuginfod_find_executable"};
    for (size_t i = 0; !path && i < 2 && ask_begin(m); i++) {
        debuginfod_find_fn *find = (debuginfod_find_fn *)dlsym(dfd.so, names[i]);
        debuginfod_client *c = dwfl_get_debuginfod_client(m->dwfl);
        int fd = find ? find(c, bits, n, &path) : -ENOSYS;
        if (fd >= 0)
            close(fd);
        ask_end(fd);
    }
    return path;
}

/* ---- modules ------------------------------------------------------------------------------- */

struct rsw_symbolizer *rsw_sym_new(void)
{
    struct rsw_symbolizer *s = calloc(1, sizeof(*s));
    if (!s)
        abort();
    s->mods = rsw_map_new();
    debuginfod_set_up();
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
    free(s);
}

/* Reports file as the module, in a session of its own (one that had the file of another
 * build would give its module back: same name, same place): 1 when its ELF could be read. */
static int module_open(struct module *m, const char *name, const char *file)
{
    if (m->dwfl)
        dwfl_end(m->dwfl);
    m->mod = NULL;
    if (!(m->dwfl = dwfl_begin(&offline_cb)))
        return 0;
    dwfl_report_begin(m->dwfl);
    m->mod = dwfl_report_offline(m->dwfl, name, file, -1);
    dwfl_report_end(m->dwfl, NULL, NULL);
    if (m->mod && !dwfl_module_getelf(m->mod, &m->bias))
        m->mod = NULL;
    void **userdata;
    if (m->mod && dwfl_module_info(m->mod, &userdata, NULL, NULL, NULL, NULL, NULL, NULL))
        *userdata = m;
    return m->mod != NULL;
}

/* The module's build-id in hex ("" when it has none). */
static char *module_build_id(const struct module *m, char *buf)
{
    const unsigned char *bits = NULL;
    GElf_Addr vaddr;
    int n = m->mod ? dwfl_module_build_id(m->mod, &bits, &vaddr) : 0;
    return hex_of(bits, n, buf);
}

/* Opens a module once per logged build-id; later calls return the cached entry, even a failed
 * one. When the file here is missing or has another build-id than the log says, the right one
 * is looked for by build-id; failing that, a file here of another build is still used, and one
 * line on stderr says that its symbols may be wrong. */
static struct module *module_of(struct rsw_symbolizer *s, const char *path, const char *logged)
{
    char key[1024], here[2 * MAX_BUILD_ID + 1] = "", found[2 * MAX_BUILD_ID + 1];
    snprintf(key, sizeof key, "%s|%s", path, logged ? logged : "");
    struct module *m = rsw_map_get(s->mods, key);
    if (m)
        return m;
    m = calloc(1, sizeof(*m));
    if (!m)
        abort();
    rsw_map_set(s->mods, key, m);
    m->s = s;
    int present = path[0] == '/' && access(path, R_OK) == 0 && module_open(m, path, path);
    module_build_id(m, here);
    unsigned char bits[MAX_BUILD_ID];
    int n = logged ? build_id_bits(logged, bits) : 0;
    if (!logged || (present && strcasecmp(here, logged) == 0))
        return m;
    if (!m->dwfl && !(m->dwfl = dwfl_begin(&offline_cb))) /* for its debuginfod client */
        return m;
    char *alt = n ? file_by_build_id(m, bits, n) : NULL;
    if (alt && module_open(m, path, alt) && strcasecmp(module_build_id(m, found), logged) == 0) {
        if (present && !s->quiet)
            fprintf(stderr,
                    "rstwatch: %s here is not the file the log was written with (build-id %s, "
                    "the log says %s): symbols from %s\n",
                    path, *here ? here : "none", logged, alt);
    } else if (present) {
        if (alt)
            module_open(m, path, path);
        if (!s->quiet)
            fprintf(stderr,
                    "rstwatch: %s here is not the file the log was written with (build-id %s, "
                    "the log says %s): its symbols may be wrong\n",
                    path, *here ? here : "none", logged);
    } else {
        m->mod = NULL;
    }
    free(alt);
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

static void symbolize_frame(struct rsw_symbolizer *s, json_t *fr, int is_return_address,
                            const char *build_id)
{
    const char *obj = rsw_jstr(fr, RSW_KEY(OBJ), NULL);
    const char *func = rsw_jstr(fr, RSW_KEY(SYM), NULL);
    const char *file = NULL;
    int line = 0;
    struct module *m = obj ? module_of(s, obj, build_id) : NULL;
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
