/* inject.c: RSTWATCH_INJECT at run time. Picks the rule that fires (inject_match.c), writes the
 * inject event, then makes the kernel deliver the outcome itself wherever it can: a real RST to
 * the peer, a real connect to a port nobody listens on, a real SYN nobody answers; the rest is
 * emulated so that later calls on the connection stay consistent (README "Fault injection"). */
#include "inject.h"
#include "config.h"
#include "event.h"
#include "inject_rules.h"
#include "ownfd.h"
#include "say.h"
#include "sys.h"
#include "track.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>

int rsw_inject_armed;
static struct rsw_inj_rules rules; /* parsed once, at start */

/* rsw_fd.inj_rules: the rules that apply to the connection (bit i = rule i+1), once worked out */
#define SEL_DONE (1ull << 63)
#define SEL_BUSY (1ull << 62)

void rsw_inject_load(const char *spec)
{
    char err[512];
    rsw_inject_armed = 0;
    if (!spec)
        return;
    if (rsw_inj_parse(spec, strnlen(spec, RSW_INJ_SPEC_MAX), &rules, err, sizeof err) != 0) {
        rules.n = 0;
        rsw_say(err, "; nothing is injected", NULL);
        return;
    }
    rsw_inject_armed = rules.n > 0;
}

/* ---- helpers: raw system calls only (the library's own calls must not meet its hooks) ---- */

static int sys_connect(int fd, const void *sa, socklen_t len)
{
    return (int)rsw_syscall(SYS_connect, fd, sa, len);
}

static int sys_shutdown(int fd, int how)
{
    return (int)rsw_syscall(SYS_shutdown, fd, how);
}

/* delay=: the failing call takes this long (signals do not cut it short). */
static void wait_ns(uint64_t ns)
{
    struct timespec t;
    if (!ns || clock_gettime(CLOCK_MONOTONIC, &t) != 0)
        return;
    t.tv_sec += (time_t)(ns / 1000000000u);
    t.tv_nsec += (long)(ns % 1000000000u);
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR)
        ;
}

static void emit_inject(int i, const char *call, const char *op, int fd, struct rsw_fd *e, int err)
{
    struct rsw_evinfo in = RSW_EVINFO_INIT;
    in.ev = RSW_EV_INJECT, in.call = call, in.op = op, in.fd = fd, in.e = e, in.err = err;
    in.rule = i + 1, in.spec = rules.rule[i].text;
    in.outcome = rsw_inj_outcome_name(rules.rule[i].outcome);
    rsw_ev_emit(&in);
}

/* Claims the connection for one injected fault; 0 if another thread's fault came first. From
 * here on its errors are logged "injected" and no rule fires on it again. */
static int mark_dead(struct rsw_fd *e)
{
    return !(__atomic_fetch_or(&e->flags, (uint8_t)RSW_F_INJ_DEAD, __ATOMIC_ACQ_REL) &
             RSW_F_INJ_DEAD);
}

/* The rules that apply to e's connection; worked out, and the connection numbered for conn=,
 * once: at connect, at accept, or at the first call on an inherited socket (side 0). */
static uint32_t conn_mask(int fd, struct rsw_fd *e, unsigned side, const struct sockaddr *peer,
                          socklen_t peerlen)
{
    uint64_t sel = __atomic_load_n(&e->inj_rules, __ATOMIC_ACQUIRE), zero = 0;
    if (sel & SEL_DONE)
        return (uint32_t)sel;
    if (!__atomic_compare_exchange_n(&e->inj_rules, &zero, SEL_BUSY, 0, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
        return (zero & SEL_DONE) ? (uint32_t)zero : 0; /* another thread is numbering it */
    struct sockaddr_storage p, l;
    socklen_t pl = sizeof p, ll = sizeof l;
    if (!peer && getpeername(fd, (struct sockaddr *)&p, &pl) == 0)
        peer = (struct sockaddr *)&p, peerlen = pl;
    int have_local = side != RSW_INJ_CONNECT && getsockname(fd, (struct sockaddr *)&l, &ll) == 0;
    struct rsw_inj_conn c;
    rsw_inj_conn_from(&c, side, peer, peerlen, have_local ? (struct sockaddr *)&l : NULL, ll);
    uint32_t m = rsw_inj_conn_rules(&rules, &c);
    __atomic_store_n(&e->inj_rules, SEL_DONE | m, __ATOMIC_RELEASE);
    return m;
}

/* ---- kernel-true outcomes -------------------------------------------------------------- */

/* A real TCP reset: connect(AF_UNSPEC) on an established socket sends an RST to the peer and
 * leaves ECONNRESET pending; shutdown(SHUT_RDWR) on the now closed socket only sets the
 * shutdown flags a received RST sets. The socket is then exactly as after a received RST
 * (next read ECONNRESET then 0, writes EPIPE, poll IN|OUT|ERR|HUP). consume: also take the
 * pending error, as a call that already returned it would have. */
static void tcp_reset(int fd, int consume)
{
    struct sockaddr sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_family = AF_UNSPEC;
    sys_connect(fd, &sa, sizeof sa);
    if (consume) {
        int e;
        socklen_t l = sizeof e;
        rsw_sys_getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l);
    }
    sys_shutdown(fd, SHUT_RDWR);
}

static void loopback(int fam, struct sockaddr_storage *ss, socklen_t *len, uint16_t port)
{
    memset(ss, 0, sizeof *ss);
    if (fam == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_family = AF_INET6, a->sin6_addr = in6addr_loopback, a->sin6_port = port;
        *len = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        a->sin_family = AF_INET, a->sin_addr.s_addr = htonl(INADDR_LOOPBACK), a->sin_port = port;
        *len = sizeof *a;
    }
}

/* 127.0.0.1:port as an IPv4-mapped address, for an AF_INET6 socket on a host without ::1. */
static void mapped(struct sockaddr_storage *ss, socklen_t *len)
{
    struct sockaddr_in v4 = *(struct sockaddr_in *)ss;
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
    memset(ss, 0, sizeof *ss);
    a->sin6_family = AF_INET6, a->sin6_port = v4.sin_port;
    a->sin6_addr.s6_addr[10] = a->sin6_addr.s6_addr[11] = 0xff;
    memcpy(a->sin6_addr.s6_addr + 12, &v4.sin_addr, 4);
    *len = sizeof *a;
}

/* A socket bound to a fresh loopback port (or UNIX abstract name) and NOT listening: a connect
 * to *to meets the kernel's own refusal. For an AF_INET6 socket, [::1], else mapped IPv4. */
static int closed_port(int fam, int type, struct sockaddr_storage *to, socklen_t *tolen)
{
    if (fam == AF_UNIX) {
        int t = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
        memset(to, 0, sizeof *to);
        to->ss_family = AF_UNIX;
        *tolen = sizeof *to;
        if (t >= 0 && bind(t, (struct sockaddr *)to, sizeof(sa_family_t)) == 0 && /* autobind */
            getsockname(t, (struct sockaddr *)to, tolen) == 0)
            return t;
        if (t >= 0)
            rsw_sys_close(t);
        return -1;
    }
    for (int pass = 0; pass < 2; pass++) {
        int tf = fam == AF_INET6 && pass == 0 ? AF_INET6 : AF_INET;
        if (fam == AF_INET && pass == 1)
            break;
        int t = socket(tf, SOCK_STREAM | SOCK_CLOEXEC, 0);
        loopback(tf, to, tolen, 0);
        if (t >= 0 && bind(t, (struct sockaddr *)to, *tolen) == 0 &&
            getsockname(t, (struct sockaddr *)to, tolen) == 0) {
            if (tf != fam)
                mapped(to, tolen);
            return t;
        }
        if (t >= 0)
            rsw_sys_close(t);
    }
    return -1;
}

/* refuse: a real connect to a closed local port (blocking: ECONNREFUSED; non-blocking:
 * EINPROGRESS, then POLLERR|POLLHUP and SO_ERROR ECONNREFUSED; UNIX: ECONNREFUSED at once),
 * or, if that cannot be set up, a plain ECONNREFUSED with the socket left unconnected. */
static int refuse(int fd, int fam)
{
    struct sockaddr_storage to;
    socklen_t tolen;
    int type = SOCK_STREAM, r = -1, err = ECONNREFUSED;
    socklen_t tl = sizeof type;
    rsw_sys_getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl);
    int t = closed_port(fam, type, &to, &tolen);
    if (t >= 0) {
        r = sys_connect(fd, &to, tolen);
        err = errno;
        rsw_sys_close(t);
        if (r == 0 || (err != ECONNREFUSED && err != EINPROGRESS))
            r = -1, err = ECONNREFUSED;
    }
    errno = err;
    return r;
}

/* The blackhole: a loopback listener with backlog 0 whose one queue slot is taken by a
 * connection nobody accepts. The kernel drops every further SYN to it, so a connect there
 * stays in SYN_SENT (not writable) like one to a host that never answers, until the
 * TCP_USER_TIMEOUT set on it ends it with ETIMEDOUT. One per family, among the library's own
 * fds; remade if the program closed it. */
static struct hole {
    int fd;
    socklen_t len;
    struct sockaddr_storage addr;
} holes[2] = {{.fd = -1}, {.fd = -1}};
static pthread_mutex_t hole_lock = PTHREAD_MUTEX_INITIALIZER;

static int hole_alive(const struct hole *h)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss, al = sizeof(int);
    int acc = 0;
    return h->fd >= 0 && getsockname(h->fd, (struct sockaddr *)&ss, &sl) == 0 && sl == h->len &&
           !memcmp(&ss, &h->addr, sl) &&
           rsw_sys_getsockopt(h->fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &al) == 0 && acc;
}

static int hole_make(struct hole *h, int fam)
{
    int l = socket(fam, SOCK_STREAM | SOCK_CLOEXEC, 0), f = -1;
    h->len = sizeof h->addr;
    loopback(fam, &h->addr, &h->len, 0);
    if (l < 0 || bind(l, (struct sockaddr *)&h->addr, h->len) != 0 || listen(l, 0) != 0 ||
        getsockname(l, (struct sockaddr *)&h->addr, &h->len) != 0)
        goto fail;
    f = socket(fam, SOCK_STREAM | SOCK_CLOEXEC, 0); /* the filler: queued, never accepted */
    if (f < 0 || sys_connect(f, &h->addr, h->len) != 0)
        goto fail;
    rsw_sys_close(f); /* its queued twin stays in the accept queue */
    h->fd = rsw_own_hide(l);
    return 0;
fail:
    if (f >= 0)
        rsw_sys_close(f);
    if (l >= 0)
        rsw_sys_close(l);
    h->fd = -1;
    return -1;
}

/* Where a socket of family fam can send a SYN nobody answers. */
static int hole_target(int fam, struct sockaddr_storage *to, socklen_t *tolen)
{
    int r = -1, tries = 0;
    /* bounded: a forked child may inherit the lock held by a thread it does not have */
    while (pthread_mutex_trylock(&hole_lock) != 0)
        if (++tries > 500)
            return -1;
        else
            wait_ns(1000000);
    for (int pass = 0; pass < 2 && r < 0; pass++) {
        int hf = fam == AF_INET6 && pass == 0 ? AF_INET6 : AF_INET;
        struct hole *h = &holes[hf == AF_INET6];
        if (fam == AF_INET && pass == 1)
            break;
        if (!hole_alive(h) && hole_make(h, hf) != 0)
            continue;
        *to = h->addr, *tolen = h->len;
        if (hf != fam)
            mapped(to, tolen);
        r = 0;
    }
    pthread_mutex_unlock(&hole_lock);
    return r;
}

/* timeout on a non-blocking connect: EINPROGRESS now, not writable until the delay (at least
 * the kernel's 1 s initial SYN retransmission time), then POLLERR and SO_ERROR ETIMEDOUT. */
static int blackhole_connect(int fd, int fam, uint64_t delay_ns)
{
    struct sockaddr_storage to;
    socklen_t tolen;
    uint64_t ms = (delay_ns + 999999) / 1000000;
    unsigned ut = ms == 0 ? 1 : ms > INT_MAX ? INT_MAX : (unsigned)ms;
    if (hole_target(fam, &to, &tolen) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ut, sizeof ut) != 0)
        return -1;
    return sys_connect(fd, &to, tolen) < 0 && errno == EINPROGRESS ? 0 : -1;
}

/* ---- entry points from the shims ---------------------------------------------------------- */

int rsw_inject_connect(int fd, const struct sockaddr *sa, unsigned salen, struct rsw_fd *e,
                       int *ret)
{
    int saved = errno;
    if (__atomic_load_n(&e->flags, __ATOMIC_ACQUIRE) & RSW_F_PENDING)
        return 0; /* connect() again on a connect in progress: the kernel answers */
    uint32_t mask = conn_mask(fd, e, RSW_INJ_CONNECT, sa, (socklen_t)salen);
    int i = mask ? rsw_inj_select(&rules, mask, RSW_INJ_CONNECT, 0, 0) : -1;
    if (i < 0 || !mark_dead(e)) {
        errno = saved;
        return 0;
    }
    const struct rsw_inj_rule *r = &rules.rule[i];
    int fl = fcntl(fd, F_GETFL), fam = sa->sa_family;
    int nonblock = fl >= 0 && (fl & O_NONBLOCK);
    int see = r->outcome == RSW_INJ_REFUSE    ? ECONNREFUSED
              : r->outcome == RSW_INJ_TIMEOUT ? ETIMEDOUT
                                              : EHOSTUNREACH;
    emit_inject(i, "connect", "connect", fd, e, see);
    if (r->outcome == RSW_INJ_TIMEOUT && nonblock && fam != AF_UNIX &&
        blackhole_connect(fd, fam, r->delay_ns) == 0) {
        *ret = -1;
        errno = EINPROGRESS;
        return 1;
    }
    wait_ns(r->delay_ns);
    if (r->outcome == RSW_INJ_REFUSE) {
        *ret = refuse(fd, fam);
        return 1;
    }
    /* unreachable (as from an unreachable route), or a blocking timeout: the kernel leaves a
     * socket whose connect failed unconnected, as this one still is */
    *ret = -1;
    errno = see;
    return 1;
}

/* After the delay, the connection is dead with its error already taken: reads see EOF, writes
 * get the kernel's EPIPE (and SIGPIPE, as the program's disposition says). */
static void kill_connection(int fd, int tcp, uint64_t delay_ns)
{
    wait_ns(delay_ns);
    if (tcp)
        tcp_reset(fd, 1);
    else
        sys_shutdown(fd, SHUT_RDWR);
}

/* A rule fired on an established connection (call kind: accept, read or write). Returns 1 if
 * the call is answered here (*ret, errno), 0 if the real call goes ahead and meets the
 * kernel's own error. */
static int fire_established(int i, int fd, struct rsw_fd *e, const char *call, unsigned kind,
                            long *ret)
{
    const struct rsw_inj_rule *r = &rules.rule[i];
    int tcp = (__atomic_load_n(&e->flags, __ATOMIC_RELAXED) & RSW_F_TCP) != 0;
    const char *op = kind == RSW_INJ_READ ? "read" : kind == RSW_INJ_WRITE ? "write" : "accept";
    switch (r->outcome) {
    case RSW_INJ_RESET:
        /* UNIX: the kernel has no reset; as when the peer closed with data unread: the
         * connection shut both ways, ECONNRESET pending for the next read (or SO_ERROR),
         * writes EPIPE */
        emit_inject(i, call, op, fd, e, kind == RSW_INJ_WRITE && !tcp ? EPIPE : ECONNRESET);
        wait_ns(r->delay_ns);
        if (tcp) {
            tcp_reset(fd, 0);
            return 0;
        }
        sys_shutdown(fd, SHUT_RDWR);
        if (kind == RSW_INJ_READ) {
            *ret = -1;
            errno = ECONNRESET;
            return 1;
        }
        __atomic_store_n(&e->inj_err, (uint16_t)ECONNRESET, __ATOMIC_RELEASE);
        return 0;
    case RSW_INJ_EPIPE:
        /* the connection dead and its error already taken: the kernel's write returns EPIPE
         * and raises SIGPIPE itself, honouring MSG_NOSIGNAL and the program's disposition */
        emit_inject(i, call, op, fd, e, EPIPE);
        kill_connection(fd, tcp, r->delay_ns);
        return 0;
    default: /* RSW_INJ_TIMEOUT: afterwards reads see EOF and writes EPIPE, as after a real one */
        emit_inject(i, call, op, fd, e, ETIMEDOUT);
        kill_connection(fd, tcp, r->delay_ns);
        *ret = -1;
        errno = ETIMEDOUT;
        return 1;
    }
}

int rsw_inject_io(int fd, struct rsw_fd *e, const char *call, int op, int flags, size_t len,
                  long *ret)
{
    int saved = errno;
    (void)flags, (void)len;
    if (e->family != RSW_FAM_INET && e->family != RSW_FAM_INET6 && e->family != RSW_FAM_UNIX)
        return 0; /* pipes are never injected into */
    uint16_t pend = __atomic_load_n(&e->inj_err, __ATOMIC_ACQUIRE);
    if (pend && op == RSW_OP_IN &&
        __atomic_compare_exchange_n(&e->inj_err, &pend, 0, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        *ret = -1;
        errno = pend;
        return 1;
    }
    uint8_t fl = __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE);
    if (fl & RSW_F_INJ_DEAD)
        return 0;
    if (fl & RSW_F_PENDING) { /* a non-blocking connect: established yet? */
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        if (getpeername(fd, (struct sockaddr *)&ss, &sl) != 0) {
            errno = saved;
            return 0;
        }
    }
    unsigned kind = op == RSW_OP_IN ? RSW_INJ_READ : RSW_INJ_WRITE;
    uint32_t mask = conn_mask(fd, e, 0, NULL, 0);
    int i =
        mask ? rsw_inj_select(&rules, mask, kind, __atomic_load_n(&e->bytes_in, __ATOMIC_RELAXED),
                              __atomic_load_n(&e->bytes_out, __ATOMIC_RELAXED))
             : -1;
    if (i < 0 || !mark_dead(e) || !fire_established(i, fd, e, call, kind, ret)) {
        errno = saved;
        return 0;
    }
    return 1;
}

void rsw_inject_accept(int fd, struct rsw_fd *e, const char *call)
{
    int saved = errno;
    long ignored;
    uint32_t mask = conn_mask(fd, e, RSW_INJ_ACCEPT, NULL, 0);
    int i = mask ? rsw_inj_select(&rules, mask, RSW_INJ_ACCEPT, 0, 0) : -1;
    if (i >= 0 && mark_dead(e))
        fire_established(i, fd, e, call, RSW_INJ_ACCEPT, &ignored);
    errno = saved;
}
