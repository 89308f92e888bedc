/* real.h: the next definition (libc's) of every hooked function, from one table (hooks.def). */
#ifndef RSW_REAL_H
#define RSW_REAL_H
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#ifndef RSW_HIDDEN
#define RSW_HIDDEN __attribute__((visibility("hidden")))
#endif
#define RSW_LIKELY(x) __builtin_expect(!!(x), 1)
#define RSW_UNLIKELY(x) __builtin_expect(!!(x), 0)

struct rsw_real {
#define RSW_IO(R, name, P, A, fd, dir, flags, len) R(*name) P;
#define RSW_HOOK(R, name, P) R(*name) P;
#include "hooks.def"
};
extern struct rsw_real rsw_real RSW_HIDDEN;

/* Fills every slot still empty with dlsym(RTLD_NEXT, name). Safe to call again, from any
 * thread, and re-entrantly (dlsym may call hooked functions: they find the slots resolved so
 * far, and the raw-syscall paths of sys.h for the rest). */
void rsw_real_resolve(void);
#endif
