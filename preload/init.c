/* init.c: resolves the real functions and starts the library: eagerly from the constructor,
 * lazily from whichever hook runs first (other libraries' constructors may call us earlier). */
#include "shim.h"
#include "backtrace.h"
#include "config.h"
#include "event.h"
#include "inject.h"
#include "logwriter.h"
#include "sys.h"
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct rsw_real rsw_real;
__thread struct rsw_tls rsw_tls __attribute__((tls_model("initial-exec")));
int rsw_ready;
int rsw_io_all;

static const char *const real_names[] = {
#define RSW_IO(R, name, P, A, fd, dir, flags, len) #name,
#define RSW_HOOK(R, name, P) #name,
#include "hooks.def"
};

static void resolve_reals(void)
{
    void **slot = (void **)&rsw_real;
    for (size_t i = 0; i < sizeof real_names / sizeof real_names[0]; i++)
        if (!__atomic_load_n(&slot[i], __ATOMIC_RELAXED))
            __atomic_store_n(&slot[i], dlsym(RTLD_NEXT, real_names[i]), __ATOMIC_RELAXED);
}

static size_t max_fds(void)
{
    char buf[32];
    size_t v = 0;
    int fd = open("/proc/sys/fs/nr_open", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = rsw_sys_read(fd, buf, sizeof buf - 1);
        rsw_sys_close(fd);
        if (n > 0) {
            buf[n] = 0;
            v = strtoul(buf, NULL, 10);
        }
    }
    return v ? v : 1u << 20;
}

static void after_fork_child(void)
{
    rsw_pid = getpid();
    rsw_ev_reset_thread();
    rsw_log_after_fork(rsw_pid, program_invocation_short_name);
    rsw_ev_start("fork");
}

static void init_once(void)
{
    int saved = errno;
    rsw_tls.depth++;
    resolve_reals();
    rsw_pid = getpid();
    rsw_config_load();
    rsw_fdt_init(max_fds());
    rsw_bt_init(1);
    rsw_log_open(rsw_pid, program_invocation_short_name);
    rsw_inject_load(rsw_cfg.inject);
    rsw_io_all = rsw_cfg.events == RSW_EVENTS_ALL;
    rsw_fdt_slow_mode(rsw_inject_armed || rsw_io_all);
    rsw_sigpipe_init();
    pthread_atfork(NULL, NULL, after_fork_child);
    rsw_ev_start("exec");
    __atomic_store_n(&rsw_ready, 1, __ATOMIC_RELEASE);
    rsw_tls.depth--;
    errno = saved;
}

void rsw_init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    if (RSW_LIKELY(__atomic_load_n(&rsw_ready, __ATOMIC_ACQUIRE)))
        return;
    if (rsw_tls.depth) { /* re-entered from dlsym or our own init: real functions only */
        resolve_reals();
        return;
    }
    pthread_once(&once, init_once);
}

__attribute__((constructor)) static void rsw_constructor(void)
{
    rsw_init();
}
