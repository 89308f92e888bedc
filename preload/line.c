/* line.c: the fields every line starts with, and the line numbering. */
#include "line.h"
#include "proc.h"
#include "sys.h"
#include <time.h>

static __thread int tid __attribute__((tls_model("initial-exec")));
static uint64_t seq;

uint64_t rsw_line_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t rsw_line_next_seq(void)
{
    return __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED);
}

int rsw_line_tid(void)
{
    if (!tid)
        tid = rsw_sys_gettid();
    return tid;
}

void rsw_line_begin_at(struct rsw_json *j, char *buf, size_t cap, enum rsw_ev ev, uint64_t ts,
                       uint64_t sq, int t)
{
    rsw_json_begin(j, buf, cap);
    rsw_json_u64(j, RSW_KEY(V), RSW_SCHEMA_VERSION);
    rsw_json_u64(j, RSW_KEY(TS), ts);
    rsw_json_u64(j, RSW_KEY(SEQ), sq);
    rsw_json_i64(j, RSW_KEY(PID), rsw_self.pid);
    rsw_json_i64(j, RSW_KEY(TID), t ? t : rsw_line_tid());
    rsw_json_str(j, RSW_KEY(EV), rsw_ev_names[ev]);
}

void rsw_line_begin(struct rsw_json *j, char *buf, size_t cap, enum rsw_ev ev)
{
    rsw_line_begin_at(j, buf, cap, ev, rsw_line_now(), rsw_line_next_seq(), 0);
}

void rsw_line_after_fork(void)
{
    tid = 0;
    __atomic_store_n(&seq, 0, __ATOMIC_RELAXED);
}
