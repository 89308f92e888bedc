/* test_modmap.c: the module map follows dlopen/dlclose, and the memory check libunwind's pipe
 * stands for (backtrace.h). */
#include "backtrace.h"
#include "modmap.h"
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

Test(modmap, finds_the_program_and_libc_by_real_path)
{
    rsw_mod_scan("/the/exe");
    const struct rsw_module *self = rsw_mod_find((uintptr_t)&rsw_mod_scan);
    cr_assert_not_null(self);
    cr_assert_str_eq(self->path, "/the/exe", "the main program: the path given, not argv[0]");
    /* a libc function no sanitizer runtime intercepts */
    void *fn = dlsym(RTLD_DEFAULT, "gnu_get_libc_version");
    const struct rsw_module *libc = rsw_mod_find((uintptr_t)fn);
    cr_assert_not_null(libc);
    cr_assert_not_null(strstr(libc->path, "libc.so"), "%s", libc->path);
    cr_assert_lt(libc->base, (uintptr_t)fn);
    cr_assert_eq(rsw_mod_at(libc->id - 1), libc, "ids are indexes + 1");
}

Test(modmap, follows_dlopen_and_dlclose)
{
    rsw_mod_scan("/the/exe");
    size_t before = rsw_mod_count();
    /* libbz2: dpkg depends on it, so every Debian has it, and nothing here loads it */
    cr_assert_null(dlopen("libbz2.so.1.0", RTLD_NOW | RTLD_NOLOAD), "not loaded before");
    void *h = dlopen("libbz2.so.1.0", RTLD_NOW | RTLD_LOCAL);
    cr_assert_not_null(h, "%s", dlerror());
    void *fn = dlsym(h, "BZ2_bzlibVersion");
    cr_assert_not_null(fn);
    cr_assert_null(rsw_mod_find((uintptr_t)fn), "not scanned yet");
    cr_assert_eq(rsw_mod_scan("/the/exe"), 1);
    cr_assert_eq(rsw_mod_count(), before + 1);
    const struct rsw_module *m = rsw_mod_find((uintptr_t)fn);
    cr_assert_not_null(m);
    cr_assert_not_null(strstr(m->path, "libbz2"), "%s", m->path);
    cr_assert_eq(m->id, before + 1);
    cr_assert_eq(rsw_mod_scan("/the/exe"), 0, "nothing new");
    dlclose(h);
    rsw_mod_scan("/the/exe");
    cr_assert_null(rsw_mod_find((uintptr_t)fn), "unloaded: no frame can be in it");
}

Test(modmap, memory_check_tells_readable_from_not)
{
    static const char readable[] = "x";
    cr_assert(rsw_mem_readable(readable, 1));
    void *guard = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(guard, MAP_FAILED);
    cr_assert(!rsw_mem_readable(guard, 1));
    munmap(guard, 4096);
    cr_assert(!rsw_mem_readable((void *)8, 1));
}
