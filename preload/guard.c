/* guard.c: the per-thread state behind guard.h. */
#include "guard.h"
#include "sys.h"

__thread struct rsw_tls rsw_tls __attribute__((tls_model("initial-exec")));
int rsw_ready;

int rsw_vfork_child(void)
{
    pid_t parent = rsw_tls.vfork_of;
    if (!parent)
        return 0;
    if (rsw_sys_getpid() != parent)
        return 1;
    rsw_tls.vfork_of = 0; /* the parent runs again: its child has exec'd or exited */
    return 0;
}
