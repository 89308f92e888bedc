/* inject_match.c: which rule fires on which call: address selectors per connection, then
 * on=/after=/nth=/prob=/count= per call; pure and lock-free (counters are atomics). */
#include "inject_rules.h"
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <sys/un.h>

static void unix_path(const struct sockaddr *sa, socklen_t len, char out[108])
{
    const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
    size_t off = offsetof(struct sockaddr_un, sun_path), n = len > off ? len - off : 0;
    out[0] = 0;
    if (n > sizeof un->sun_path)
        n = sizeof un->sun_path;
    if (n == 0)
        return;                 /* unnamed */
    if (un->sun_path[0] == 0) { /* abstract: "@name" */
        size_t l = strnlen(un->sun_path + 1, n - 1);
        if (l > 106)
            l = 106;
        out[0] = '@';
        memcpy(out + 1, un->sun_path + 1, l);
        out[1 + l] = 0;
    } else {
        size_t l = strnlen(un->sun_path, n);
        if (l > 107)
            l = 107;
        memcpy(out, un->sun_path, l);
        out[l] = 0;
    }
}

/* IP and port of an inet address, IPv4-mapped IPv6 as IPv4. Returns the family or 0. */
static int ip_of(const struct sockaddr *sa, socklen_t len, uint8_t ip[16], uint16_t *port)
{
    if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        memcpy(ip, &in->sin_addr, 4);
        *port = ntohs(in->sin_port);
        return AF_INET;
    }
    if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        *port = ntohs(in6->sin6_port);
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
            memcpy(ip, in6->sin6_addr.s6_addr + 12, 4);
            return AF_INET;
        }
        memcpy(ip, &in6->sin6_addr, 16);
        return AF_INET6;
    }
    return 0;
}

void rsw_inj_conn_from(struct rsw_inj_conn *c, unsigned side, const struct sockaddr *peer,
                       socklen_t peerlen, const struct sockaddr *local, socklen_t locallen)
{
    uint8_t scratch[16];
    memset(c, 0, sizeof *c);
    c->side = side;
    const struct sockaddr *any = peer && peerlen >= sizeof(sa_family_t) ? peer : local;
    socklen_t anylen = any == peer ? peerlen : locallen;
    if (!any || anylen < sizeof(sa_family_t))
        return;
    if (any->sa_family == AF_UNIX) {
        c->family = AF_UNIX;
        if (peer && peerlen >= sizeof(sa_family_t))
            unix_path(peer, peerlen, c->peer_path);
        if (local && locallen >= sizeof(sa_family_t))
            unix_path(local, locallen, c->local_path);
        return;
    }
    if (peer && peerlen >= sizeof(sa_family_t))
        c->family = ip_of(peer, peerlen, c->peer_ip, &c->peer_port);
    if (local && locallen >= sizeof(sa_family_t)) {
        int f = ip_of(local, locallen, scratch, &c->local_port);
        if (!c->family)
            c->family = f;
    }
}

static int addr_match(const struct rsw_inj_rule *r, const struct rsw_inj_conn *c)
{
    if (!c->family || (r->outcome == RSW_INJ_UNREACHABLE && c->family == AF_UNIX))
        return 0;
    if (RSW_INJ_HAS(r, RSW_INJ_K_PEER)) {
        const struct rsw_inj_addr *p = &r->peer;
        if (p->family == AF_UNIX) {
            /* accepted UNIX connections are unnamed on the far side: the listening path */
            int m = c->family == AF_UNIX && ((c->peer_path[0] && !strcmp(p->path, c->peer_path)) ||
                                             (c->side != RSW_INJ_CONNECT && c->local_path[0] &&
                                              !strcmp(p->path, c->local_path)));
            if (!m)
                return 0;
        } else if (c->family != p->family ||
                   memcmp(c->peer_ip, p->ip, p->family == AF_INET ? 4 : 16) ||
                   (p->port && p->port != c->peer_port)) {
            return 0;
        }
    }
    if (RSW_INJ_HAS(r, RSW_INJ_K_PORT)) {
        /* the remote port; for accepted connections the local one; inherited: either */
        int m = c->family != AF_UNIX && ((c->side != RSW_INJ_ACCEPT && c->peer_port == r->port) ||
                                         (c->side != RSW_INJ_CONNECT && c->local_port == r->port));
        if (!m)
            return 0;
    }
    return 1;
}

/* Can a connection opened this way meet a call this rule fails? */
static int side_match(const struct rsw_inj_rule *r, unsigned side)
{
    if (r->on & (RSW_INJ_READ | RSW_INJ_WRITE))
        return 1;
    return (r->on & side) != 0;
}

uint32_t rsw_inj_conn_rules(struct rsw_inj_rules *rs, const struct rsw_inj_conn *c)
{
    uint32_t mask = 0;
    for (int i = 0; i < rs->n; i++) {
        struct rsw_inj_rule *r = &rs->rule[i];
        if (!side_match(r, c->side) || !addr_match(r, c))
            continue;
        if (RSW_INJ_HAS(r, RSW_INJ_K_CONN) &&
            __atomic_add_fetch(&r->conns, 1, __ATOMIC_RELAXED) != r->conn)
            continue;
        mask |= 1u << i;
    }
    return mask;
}

int rsw_inj_chance(uint64_t seed, uint64_t k, uint64_t prob)
{
    if (prob >= RSW_INJ_PROB_ONE)
        return 1;
    uint64_t x = seed + k * 0x9e3779b97f4a7c15ull; /* splitmix64 of the k-th step */
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    x ^= x >> 31;
    return (x >> 11) < prob;
}

/* Takes one of the rule's count= firings; 0 when they are used up. */
static int take_firing(struct rsw_inj_rule *r)
{
    uint64_t f = __atomic_load_n(&r->fired, __ATOMIC_RELAXED);
    do {
        if (RSW_INJ_HAS(r, RSW_INJ_K_COUNT) && f >= r->count)
            return 0;
    } while (
        !__atomic_compare_exchange_n(&r->fired, &f, f + 1, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
    return 1;
}

int rsw_inj_select(struct rsw_inj_rules *rs, uint32_t mask, unsigned call, uint64_t bytes_in,
                   uint64_t bytes_out)
{
    for (int i = 0; i < rs->n; i++) {
        struct rsw_inj_rule *r = &rs->rule[i];
        if (!((mask >> i) & 1) || !(r->on & call))
            continue;
        if (RSW_INJ_HAS(r, RSW_INJ_K_AFTER)) {
            uint64_t moved =
                ((r->on & RSW_INJ_READ) ? bytes_in : 0) + ((r->on & RSW_INJ_WRITE) ? bytes_out : 0);
            if (!(call & (RSW_INJ_READ | RSW_INJ_WRITE)) || moved < r->after)
                continue;
        }
        uint64_t k = __atomic_add_fetch(&r->calls, 1, __ATOMIC_RELAXED);
        if (RSW_INJ_HAS(r, RSW_INJ_K_NTH) && k != r->nth)
            continue;
        if (!rsw_inj_chance(r->seed, k, r->prob) || !take_firing(r))
            continue;
        return i;
    }
    return -1;
}
