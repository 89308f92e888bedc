/* init.c: the start sequence, at the top of the layers: resolves the real functions and starts
 * the library, eagerly from the constructor, lazily from whichever hook runs first (another
 * library's constructor may call us before ours ran). docs/HACKING.md "Start" gives the order. */
#include "backtrace.h"
#include "config.h"
#include "event.h"
#include "inject.h"
#include "line.h"
#include "logwriter.h"
#include "modmap.h"
#include "proc.h"
#include "shim.h"
#include "sys.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

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

static __thread uint64_t fork_ts; /* the forking thread's, copied into the child */

static void before_fork(void)
{
    fork_ts = rsw_line_now();
}

static void after_fork_child(void)
{
    rsw_tls.vfork_of =
        0; /* a vfork mark the parent never cleared is not ours: we are a real child */
    rsw_busy();
    rsw_proc_after_fork();
    rsw_mod_after_fork();
    rsw_line_after_fork();
    rsw_ev_after_fork();
    rsw_log_after_fork();
    rsw_ev_start_at("fork", fork_ts);
    rsw_idle();
}

static void start(void)
{
    int saved = errno;
    rsw_busy();
    rsw_real_resolve();
    rsw_proc_init(program_invocation_name);
    rsw_config_load();
    rsw_fdt_init(max_fds());
    rsw_mod_scan(rsw_self.program);
    rsw_bt_init(1);
    rsw_log_open();
    rsw_inject_load(rsw_cfg.inject);
    rsw_io_all = rsw_cfg.events == RSW_EVENTS_ALL;
    rsw_fdt_slow_mode(rsw_inject_armed || rsw_io_all);
    rsw_sigpipe_init();
    pthread_atfork(before_fork, NULL, after_fork_child);
    rsw_ev_start("exec");
    __atomic_store_n(&rsw_ready, 1, __ATOMIC_RELEASE);
    rsw_idle();
    errno = saved;
}

void rsw_init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    if (RSW_LIKELY(__atomic_load_n(&rsw_ready, __ATOMIC_ACQUIRE)))
        return;
    if (rsw_tls.depth) { /* re-entered from dlsym or our own start: real functions only */
        rsw_real_resolve();
        return;
    }
    pthread_once(&once, start);
}

__attribute__((constructor)) static void rsw_constructor(void)
{
    rsw_init();
}

/* At exit (not _exit, not a fatal signal: README "Log format" says what is lost then): the
 * counts still pending, storm summaries and tallies, are written. */
__attribute__((destructor)) static void rsw_destructor(void)
{
    if (!__atomic_load_n(&rsw_ready, __ATOMIC_ACQUIRE) || rsw_tls.vfork_of)
        return;
    rsw_busy();
    rsw_ev_finish();
    rsw_idle();
}
