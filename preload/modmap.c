/* modmap.c: the module table: appended by scans (one at a time, under a mutex), read without
 * locks. Entries are written completely before the count that publishes them. */
#include "modmap.h"
#include <link.h>
#include <pthread.h>
#include <string.h>

static struct rsw_module mods[RSW_MOD_MAX];
static size_t nmods;
static pthread_mutex_t scan_lock = PTHREAD_MUTEX_INITIALIZER;

struct scan {
    const char *exe;
    unsigned char seen[RSW_MOD_MAX];
    int added;
};

static void range_of(const struct dl_phdr_info *info, uintptr_t *lo, uintptr_t *hi)
{
    uintptr_t l = UINTPTR_MAX, h = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        uintptr_t a = info->dlpi_addr + ph->p_vaddr;
        if (a < l)
            l = a;
        if (a + ph->p_memsz > h)
            h = a + ph->p_memsz;
    }
    *lo = l == UINTPTR_MAX ? 0 : l;
    *hi = h;
}

/* The NT_GNU_BUILD_ID note of a loaded object, read from its mapped PT_NOTE segments. */
static void build_id_of(const struct dl_phdr_info *info, struct rsw_module *m)
{
    m->build_id_len = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE)
            continue;
        const unsigned char *p = (const unsigned char *)(info->dlpi_addr + ph->p_vaddr);
        const unsigned char *end = p + ph->p_memsz;
        while (p + sizeof(ElfW(Nhdr)) <= end) {
            const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
            size_t namesz = (nh->n_namesz + 3u) & ~3u, descsz = (nh->n_descsz + 3u) & ~3u;
            const unsigned char *name = p + sizeof *nh, *desc = name + namesz;
            if (desc + descsz > end)
                break;
            if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && !memcmp(name, "GNU", 4) &&
                nh->n_descsz > 0 && nh->n_descsz <= RSW_MOD_BUILD_ID_MAX) {
                memcpy(m->build_id, desc, nh->n_descsz);
                m->build_id_len = (uint8_t)nh->n_descsz;
                return;
            }
            p = desc + descsz;
        }
    }
}

static int on_object(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct scan *s = arg;
    uintptr_t lo, hi;
    (void)size;
    range_of(info, &lo, &hi);
    if (!hi)
        return 0;
    const char *path = info->dlpi_name && info->dlpi_name[0] ? info->dlpi_name : s->exe;
    size_t n = __atomic_load_n(&nmods, __ATOMIC_RELAXED);
    for (size_t i = 0; i < n; i++)
        if (mods[i].hi && mods[i].lo == lo && mods[i].hi == hi &&
            !strncmp(mods[i].path, path, RSW_MOD_PATH_MAX - 1)) {
            s->seen[i] = 1;
            return 0;
        }
    if (n >= RSW_MOD_MAX)
        return 0;
    struct rsw_module *m = &mods[n];
    m->lo = lo, m->hi = hi;
    m->base = lo & ~(uintptr_t)4095;
    m->size = hi - m->base;
    m->unload_noted = 0;
    build_id_of(info, m);
    m->id = (uint32_t)(n + 1);
    strncpy(m->path, path, RSW_MOD_PATH_MAX - 1);
    m->path[RSW_MOD_PATH_MAX - 1] = 0;
    s->seen[n] = 1;
    __atomic_store_n(&nmods, n + 1, __ATOMIC_RELEASE);
    s->added++;
    return 0;
}

int rsw_mod_scan(const char *exe_path)
{
    static struct scan s; /* under scan_lock: keeps 1 KiB off the caller's stack */
    pthread_mutex_lock(&scan_lock);
    size_t before = __atomic_load_n(&nmods, __ATOMIC_RELAXED);
    memset(&s, 0, sizeof s);
    s.exe = exe_path && exe_path[0] ? exe_path : "[exe]";
    dl_iterate_phdr(on_object, &s);
    for (size_t i = 0; i < before; i++) /* dlclose'd: no frame can be in it any more */
        if (!s.seen[i])
            __atomic_store_n(&mods[i].hi, 0, __ATOMIC_RELEASE);
    int added = s.added;
    pthread_mutex_unlock(&scan_lock);
    return added;
}

const struct rsw_module *rsw_mod_find(uintptr_t ip)
{
    size_t n = __atomic_load_n(&nmods, __ATOMIC_ACQUIRE);
    for (size_t i = n; i-- > 0;) /* newest first: a reused range belongs to the newer object */
        if (ip >= mods[i].lo && ip < __atomic_load_n(&mods[i].hi, __ATOMIC_ACQUIRE))
            return &mods[i];
    return NULL;
}

void rsw_mod_after_fork(void)
{
    /* another thread may have held it at fork: in the child it would stay locked forever */
    pthread_mutex_init(&scan_lock, NULL);
}

size_t rsw_mod_count(void)
{
    return __atomic_load_n(&nmods, __ATOMIC_ACQUIRE);
}

const struct rsw_module *rsw_mod_at(size_t i)
{
    return i < rsw_mod_count() ? &mods[i] : NULL;
}

int rsw_mod_note_unload(size_t i)
{
    uint32_t no = 0;
    return i < rsw_mod_count() && !__atomic_load_n(&mods[i].hi, __ATOMIC_ACQUIRE) &&
           __atomic_compare_exchange_n(&mods[i].unload_noted, &no, 1, 0, __ATOMIC_ACQ_REL,
                                       __ATOMIC_ACQUIRE);
}
