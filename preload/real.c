/* real.c: resolves the real functions of hooks.def, in one place, once. */
#include "real.h"

struct rsw_real rsw_real;

static const char *const real_names[] = {
#define RSW_IO(R, name, P, A, fd, dir, flags, len) #name,
#define RSW_HOOK(R, name, P) #name,
#include "hooks.def"
};

_Static_assert(sizeof real_names / sizeof real_names[0] == sizeof(struct rsw_real) / sizeof(void *),
               "one name per slot of struct rsw_real");

void rsw_real_resolve(void)
{
    void **slot = (void **)&rsw_real;
    for (size_t i = 0; i < sizeof real_names / sizeof real_names[0]; i++)
        if (!__atomic_load_n(&slot[i], __ATOMIC_RELAXED))
            __atomic_store_n(&slot[i], dlsym(RTLD_NEXT, real_names[i]), __ATOMIC_RELAXED);
}

long rsw_syscall6_portable(long n, long a, long b, long c, long d, long e, long f);
long rsw_syscall6_portable(long n, long a, long b, long c, long d, long e, long f)
{
    long (*sc)(long, ...) = __atomic_load_n(&rsw_real.syscall, __ATOMIC_RELAXED);
    if (RSW_UNLIKELY(!sc)) {
        sc = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
        __atomic_store_n(&rsw_real.syscall, sc, __ATOMIC_RELAXED);
    }
    return sc(n, a, b, c, d, e, f); /* libc's: sets errno itself */
}
