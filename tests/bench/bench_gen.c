/* bench_gen.c: writes a synthetic set of rstwatch logs for the analyzer benchmark: EVENTS events
 * over CONNS loopback connections between PROCS processes (half clients, half servers), one
 * NAME.PID.jsonl per process, each line valid per README "Log format". Both ends of every
 * connection are logged; one connection in ten ends in an RST (ECONNRESET with a backtrace into
 * this program's own functions, so the symbolizer has real work), the rest in a clean close.
 *   bench_gen DIR [EVENTS [CONNS [PROCS]]]      defaults: 1000000 10000 50 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BASE_TS 1714564800000000000ULL
#define CONN_GAP_NS 2500000ULL /* a process opens a new connection every 2.5 ms */
#define EV_GAP_NS 1000000ULL   /* and each connection has an event every 1 ms: ~20 open at once */
#define BT_FRAMES 8

struct ev {
    uint64_t ts;
    int conn; /* index of the connection */
    int k;    /* index of the event on this end */
};

static long n_conns, n_procs, per_end;
static char exe[PATH_MAX];
static uintptr_t frame_off[BT_FRAMES];
static const char *frame_sym[BT_FRAMES];

int main(int argc, char **argv);

static int cmp_ev(const void *a, const void *b)
{
    const struct ev *x = a, *y = b;
    return (x->ts > y->ts) - (x->ts < y->ts);
}

static int is_server(int p)
{
    return p >= n_procs / 2;
}

/* The connections whose one end lives in process p (clients: i % nc; servers: i % ns). */
static int owner(long i, int server)
{
    long nc = n_procs / 2, ns = n_procs - nc;
    return server ? (int)(nc + i % ns) : (int)(i % nc);
}

static int resets(long i)
{
    return i % 10 == 3;
}

static void bt(FILE *f)
{
    fputs(",\"bt\":[", f);
    for (int i = 0; i < BT_FRAMES; i++)
        fprintf(f, "%s{\"ip\":\"0x%lx\",\"obj\":\"%s\",\"off\":\"0x%lx\",\"sym\":\"%s\"}",
                i ? "," : "", (unsigned long)(0x555555554000UL + frame_off[i]), exe,
                (unsigned long)frame_off[i], frame_sym[i]);
    fputc(']', f);
}

/* One line: event k of connection i at process p's end. */
static void line(FILE *f, int p, const struct ev *e, uint64_t seq)
{
    long i = e->conn;
    int k = e->k, srv = is_server(p), pid = 10000 + p;
    long conn = i / (srv ? n_procs - n_procs / 2 : n_procs / 2) + 1; /* its ordinal in p, from 1 */
    int fd = 4 + (int)((conn - 1) % 64); /* reused 160 ms later, long after the close */
    int cport = 20000 + (int)(i % 40000), sport = 8000 + owner(i, 1);
    char me[32], peer[32];
    snprintf(me, sizeof me, "127.0.0.1:%d", srv ? sport : cport);
    snprintf(peer, sizeof peer, "127.0.0.1:%d", srv ? cport : sport);
    uint64_t out = 64ull * (uint64_t)(k / 2), in = 64ull * (uint64_t)((k - 1) / 2);
    fprintf(f, "{\"v\":1,\"ts\":%llu,\"seq\":%llu,\"pid\":%d,\"tid\":%d,\"ev\":",
            (unsigned long long)e->ts, (unsigned long long)seq, pid, pid);
    int last = k == per_end - 1, rst = resets(i);
    if (k == 0 && !srv)
        fprintf(f,
                "\"connect\",\"call\":\"connect\",\"fd\":%d,\"conn\":%ld,\"family\":\"inet\","
                "\"local\":\"%s\",\"peer\":\"%s\",\"ret\":0,\"nonblock\":false,\"cookie\":%ld}\n",
                fd, conn, me, peer, 2 * i + 1);
    else if (k == 0)
        fprintf(f,
                "\"accept\",\"call\":\"accept4\",\"fd\":%d,\"lfd\":3,\"conn\":%ld,"
                "\"family\":\"inet\",\"local\":\"%s\",\"peer\":\"%s\",\"cookie\":%ld}\n",
                fd, conn, me, peer, 2 * i + 2);
    else if (last)
        fprintf(f,
                "\"close\",\"call\":\"close\",\"fd\":%d,\"conn\":%ld,\"bytes_in\":%llu,"
                "\"bytes_out\":%llu,\"ret\":0}\n",
                fd, conn, (unsigned long long)in, (unsigned long long)out);
    else if (k == per_end - 2 && rst && !srv) {
        fprintf(f,
                "\"error\",\"call\":\"read\",\"op\":\"read\",\"fd\":%d,\"conn\":%ld,"
                "\"family\":\"inet\",\"peer\":\"%s\",\"ret\":-1,\"errno\":\"ECONNRESET\","
                "\"bytes_in\":%llu,\"bytes_out\":%llu,\"tcp\":{\"state\":\"CLOSE\","
                "\"bytes_acked\":%llu,\"bytes_received\":%llu,\"unacked\":0}",
                fd, conn, peer, (unsigned long long)in, (unsigned long long)out,
                (unsigned long long)out + 1, (unsigned long long)in + 1);
        bt(f);
        fputs("}\n", f);
    } else if (k == per_end - 2 && !rst)
        fprintf(f,
                "\"eof\",\"call\":\"read\",\"fd\":%d,\"conn\":%ld,\"bytes_in\":%llu,"
                "\"bytes_out\":%llu}\n",
                fd, conn, (unsigned long long)in, (unsigned long long)out);
    else
        fprintf(f, "\"io\",\"call\":\"%s\",\"op\":\"%s\",\"fd\":%d,\"conn\":%ld,\"ret\":64}\n",
                k % 2 ? "write" : "read", k % 2 ? "write" : "read", fd, conn);
}

static void frames(void)
{
    static const struct {
        void *fn;
        const char *name;
    } fns[BT_FRAMES] = {{(void *)line, "line"},     {(void *)bt, "bt"},
                        {(void *)owner, "owner"},   {(void *)resets, "resets"},
                        {(void *)cmp_ev, "cmp_ev"}, {(void *)is_server, "is_server"},
                        {(void *)frames, "frames"}, {(void *)main, "main"}};
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    for (int i = 0; i < BT_FRAMES; i++) {
        Dl_info di;
        uintptr_t base = dladdr(fns[i].fn, &di) ? (uintptr_t)di.dli_fbase : 0;
        frame_off[i] = (uintptr_t)fns[i].fn - base + 4; /* a return address inside the function */
        frame_sym[i] = fns[i].name;
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_gen DIR [EVENTS [CONNS [PROCS]]]\n");
        return 2;
    }
    long n_events = argc > 2 ? atol(argv[2]) : 1000000;
    n_conns = argc > 3 ? atol(argv[3]) : 10000;
    n_procs = argc > 4 ? atol(argv[4]) : 50;
    if (n_procs < 2 || n_conns < 1 || n_events < 4 * n_conns) {
        fprintf(stderr, "bench_gen: need PROCS >= 2 and EVENTS >= 4 * CONNS\n");
        return 2;
    }
    per_end = n_events / n_conns / 2;
    frames();
    long total = 0;
    for (int p = 0; p < n_procs; p++) {
        int srv = is_server(p);
        long mine = 0;
        for (long i = 0; i < n_conns; i++)
            mine += owner(i, srv) == p;
        struct ev *evs = malloc((size_t)(mine * per_end) * sizeof *evs);
        if (!evs) {
            perror("bench_gen: malloc");
            return 2;
        }
        long n = 0, nth = 0;
        for (long i = 0; i < n_conns; i++) {
            if (owner(i, srv) != p)
                continue;
            for (int k = 0; k < per_end; k++) /* the server's events just after the client's */
                evs[n++] =
                    (struct ev){BASE_TS + (uint64_t)nth * CONN_GAP_NS + (uint64_t)k * EV_GAP_NS +
                                    (srv ? 500 : 0) + (uint64_t)(i % 97),
                                (int)i, k};
            nth++;
        }
        qsort(evs, (size_t)n, sizeof *evs, cmp_ev);
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s.%d.jsonl", argv[1], srv ? "server" : "client",
                 10000 + p);
        FILE *f = fopen(path, "w");
        if (!f) {
            fprintf(stderr, "bench_gen: %s: %s\n", path, strerror(errno));
            return 2;
        }
        fprintf(f,
                "{\"v\":1,\"ts\":%llu,\"seq\":0,\"pid\":%d,\"tid\":%d,\"ev\":\"start\","
                "\"origin\":\"exec\",\"exe\":\"%s\",\"argv\":[\"%s\"],\"ppid\":1,"
                "\"host\":\"bench\",\"lib\":\"0.1.0\"}\n",
                BASE_TS - 1000, 10000 + p, 10000 + p, exe, srv ? "server" : "client");
        for (long j = 0; j < n; j++)
            line(f, p, &evs[j], (uint64_t)j + 1);
        if (fclose(f)) {
            fprintf(stderr, "bench_gen: %s: %s\n", path, strerror(errno));
            return 2;
        }
        total += n + 1;
        free(evs);
    }
    printf("%ld\n", total);
    return 0;
}
