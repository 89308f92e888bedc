/* modmap.h: the objects loaded in the process (path, load base, address range), numbered from 1,
 * so a backtrace frame is written as (module id, offset) and symbolized offline. Lookups are
 * lock-free and async-signal-safe; scans (dl_iterate_phdr) run outside signal handlers only. */
#ifndef RSW_MODMAP_H
#define RSW_MODMAP_H
#include <stddef.h>
#include <stdint.h>

#define RSW_MOD_MAX 1024
#define RSW_MOD_PATH_MAX 512
#define RSW_MOD_BUILD_ID_MAX 32

struct rsw_module {
    uintptr_t lo, hi;      /* [lo, hi): the object's PT_LOAD segments; hi == 0: unloaded */
    uintptr_t base;        /* what offsets are relative to: the first mapped byte (like dladdr) */
    uint32_t id;           /* from 1, in order of discovery; never reused in the process */
    uint32_t unload_noted; /* the unload was reported (rsw_mod_note_unload) */
    uint8_t build_id_len;  /* 0: the object has no NT_GNU_BUILD_ID note */
    uint8_t build_id[RSW_MOD_BUILD_ID_MAX];
    uintptr_t size; /* from base to the end of the last PT_LOAD segment */
    char path[RSW_MOD_PATH_MAX];
};

/* Scans the loaded objects: new ones get ids, vanished ones are marked unloaded. exe_path
 * names the main program (the loader gives it no name). Returns how many are new. */
int rsw_mod_scan(const char *exe_path);
/* In a forked child (one thread): the scan lock starts free. */
void rsw_mod_after_fork(void);
/* The module containing ip, or NULL. Async-signal-safe. */
const struct rsw_module *rsw_mod_find(uintptr_t ip);
/* Modules by discovery order: index 0 .. rsw_mod_count()-1 (id = index + 1). */
size_t rsw_mod_count(void);
/* 1 the first time it is asked about module index i after that module was unloaded, else 0. */
int rsw_mod_note_unload(size_t i);
const struct rsw_module *rsw_mod_at(size_t i);
#endif
