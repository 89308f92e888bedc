/* inject_parse.c: the RSTWATCH_INJECT grammar, RULE[;RULE...] with RULE = OUTCOME[,KEY=VALUE...],
 * parsed token by token into a fixed array (no allocation: it runs in the constructor), with
 * one precise message for the first error: the bad token and its 1-based position. */
#include "inject_rules.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <string.h>

struct ctx {
    const char *s; /* the whole spec: positions are offsets in it, from 1 */
    char *err;
    size_t cap, n;
};

static const char *const key_names[RSW_INJ_NKEYS] = {
    "on", "peer", "port", "after", "nth", "conn", "prob", "seed", "count", "delay",
};

static const struct {
    const char *name;
    unsigned allowed, dflt; /* on= values it takes, and the default */
    const char *takes;      /* the same in words, for messages */
} outcomes[] = {
    [RSW_INJ_REFUSE] = {"refuse", RSW_INJ_CONNECT, RSW_INJ_CONNECT, "on=connect"},
    [RSW_INJ_RESET] = {"reset", RSW_INJ_ACCEPT | RSW_INJ_READ | RSW_INJ_WRITE,
                       RSW_INJ_ACCEPT | RSW_INJ_READ | RSW_INJ_WRITE,
                       "on=accept, read, write or any"},
    [RSW_INJ_EPIPE] = {"epipe", RSW_INJ_WRITE, RSW_INJ_WRITE, "on=write"},
    [RSW_INJ_TIMEOUT] = {"timeout", RSW_INJ_CONNECT | RSW_INJ_READ | RSW_INJ_WRITE, RSW_INJ_CONNECT,
                         "on=connect, read, write or any"},
    [RSW_INJ_UNREACHABLE] = {"unreachable", RSW_INJ_CONNECT, RSW_INJ_CONNECT, "on=connect"},
};
#define N_OUTCOMES (sizeof outcomes / sizeof outcomes[0])

const char *rsw_inj_outcome_name(int outcome)
{
    return outcome > 0 && (size_t)outcome < N_OUTCOMES ? outcomes[outcome].name : "?";
}

/* ---- the message ------------------------------------------------------------------------- */

static void put(struct ctx *c, const char *p, size_t l)
{
    while (l-- && c->n + 1 < c->cap)
        c->err[c->n++] = *p++;
    if (c->cap)
        c->err[c->n] = 0;
}

static void put_u64(struct ctx *c, uint64_t v)
{
    char b[24];
    size_t i = sizeof b;
    do
        b[--i] = (char)('0' + v % 10);
    while (v /= 10);
    put(c, b + i, sizeof b - i);
}

/* A token as the user wrote it, quoted; control bytes as \xNN, long ones cut. */
static void put_token(struct ctx *c, const char *t, size_t l)
{
    static const char hex[] = "0123456789abcdef";
    size_t shown = l > 40 ? 40 : l;
    put(c, "'", 1);
    for (size_t i = 0; i < shown; i++) {
        unsigned char ch = (unsigned char)t[i];
        if (ch < 0x20 || ch == 0x7f || ch == '\\') {
            char esc[4] = {'\\', 'x', hex[ch >> 4], hex[ch & 15]};
            put(c, esc, 4);
        } else {
            put(c, t + i, 1);
        }
    }
    put(c, l > shown ? "...'" : "'", l > shown ? 4 : 1);
}

/* Writes "rstwatch: RSTWATCH_INJECT: " + fmt and returns -1. In fmt, %s is a string, %t a token
 * (const char *, size_t), %u an unsigned long long, %@ " at position N" for a pointer into the
 * spec, %% a percent sign. */
static int fail(struct ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    c->n = 0;
    put(c, "rstwatch: RSTWATCH_INJECT: ", 27);
    for (const char *f = fmt; *f; f++) {
        if (*f != '%') {
            put(c, f, 1);
            continue;
        }
        switch (*++f) {
        case 's': {
            const char *s = va_arg(ap, const char *);
            put(c, s, strlen(s));
            break;
        }
        case 't': {
            const char *t = va_arg(ap, const char *);
            put_token(c, t, va_arg(ap, size_t));
            break;
        }
        case 'u':
            put_u64(c, va_arg(ap, unsigned long long));
            break;
        case '@':
            put(c, " at position ", 13);
            put_u64(c, (uint64_t)(va_arg(ap, const char *) - c->s) + 1);
            break;
        case '%':
            put(c, "%", 1);
            break;
        default:
            put(c, f - 1, 2);
        }
    }
    va_end(ap);
    return -1;
}

/* ---- values ------------------------------------------------------------------------------ */

static int is_blank(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/* Leading digits of [p, p+l) as a number; *used = how many; -1 on overflow or no digit. */
static int digits(const char *p, size_t l, uint64_t *v, size_t *used)
{
    size_t i = 0;
    *v = 0;
    for (; i < l && p[i] >= '0' && p[i] <= '9'; i++) {
        unsigned d = (unsigned)(p[i] - '0');
        if (*v > (UINT64_MAX - d) / 10)
            return -1;
        *v = *v * 10 + d;
    }
    *used = i;
    return i ? 0 : -1;
}

static int number(const char *p, size_t l, uint64_t lo, uint64_t hi, uint64_t *v)
{
    size_t used;
    return digits(p, l, v, &used) == 0 && used == l && *v >= lo && *v <= hi ? 0 : -1;
}

static int size_value(const char *p, size_t l, uint64_t *v)
{
    static const struct {
        const char *unit;
        unsigned shift;
    } units[] = {
        {"", 0}, {"B", 0}, {"KiB", 10}, {"MiB", 20}, {"GiB", 30},
    };
    size_t used;
    if (digits(p, l, v, &used) != 0)
        return -1;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (l - used == strlen(units[i].unit) && !memcmp(p + used, units[i].unit, l - used)) {
            if (*v > ((uint64_t)INT64_MAX >> units[i].shift))
                return -1;
            *v <<= units[i].shift;
            return 0;
        }
    return -1;
}

static int duration_value(const char *p, size_t l, uint64_t *ns)
{
    static const struct {
        const char *unit;
        uint64_t ns;
    } units[] = {
        {"us", 1000},
        {"ms", 1000000},
        {"s", 1000000000},
    };
    uint64_t v;
    size_t used;
    if (digits(p, l, &v, &used) != 0)
        return -1;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (l - used == strlen(units[i].unit) && !memcmp(p + used, units[i].unit, l - used)) {
            if (v > (uint64_t)RSW_INJ_DELAY_MAX_S * 1000000000u / units[i].ns)
                return -1;
            *ns = v * units[i].ns;
            return 0;
        }
    return -1;
}

/* 0.25, 1, .5, 1.0 or 25%: scaled to RSW_INJ_PROB_ONE. */
static int prob_value(const char *p, size_t l, uint64_t *scaled)
{
    uint64_t whole = 0, frac = 0, den = 1;
    size_t i = 0, used;
    int pct = l > 0 && p[l - 1] == '%';
    if (pct)
        l--;
    if (l > 0 && p[0] != '.') {
        if (digits(p, l, &whole, &used) != 0 || whole > 100)
            return -1;
        i = used;
    }
    if (i < l && p[i] == '.') {
        i++;
        if (i == l || l - i > 18)
            return -1;
        if (digits(p + i, l - i, &frac, &used) != 0 || used != l - i)
            return -1;
        for (size_t k = 0; k < used; k++)
            den *= 10;
        i = l;
    }
    if (i != l || l == 0)
        return -1;
    unsigned __int128 num = (unsigned __int128)whole * den + frac, d = den;
    if (pct)
        d *= 100;
    if (num > d)
        return -1;
    *scaled = (uint64_t)((num << 53) / d);
    return 0;
}

/* peer=: 10.0.0.1, 10.0.0.1:80, [::1], [::1]:80, /path, @abstract. */
static int address_value(struct ctx *c, const char *p, size_t l, struct rsw_inj_addr *a)
{
    char ip[64];
    const char *port = NULL;
    size_t iplen;
    memset(a, 0, sizeof *a);
    if (l > 0 && (p[0] == '/' || p[0] == '@')) {
        if (l >= sizeof a->path)
            return fail(c, "UNIX path %t too long for peer%@ (at most 107 bytes)", p, l, p);
        a->family = AF_UNIX;
        memcpy(a->path, p, l);
        return 0;
    }
    if (l > 0 && p[0] == '[') {
        const char *close = memchr(p, ']', l);
        if (!close)
            goto bad;
        iplen = (size_t)(close - p) - 1;
        if (iplen >= sizeof ip)
            goto bad;
        memcpy(ip, p + 1, iplen);
        ip[iplen] = 0;
        struct in6_addr in6;
        if (inet_pton(AF_INET6, ip, &in6) != 1)
            goto bad;
        a->family = IN6_IS_ADDR_V4MAPPED(&in6) ? AF_INET : AF_INET6;
        if (a->family == AF_INET)
            memcpy(a->ip, in6.s6_addr + 12, 4);
        else
            memcpy(a->ip, in6.s6_addr, 16);
        if (close + 1 < p + l) {
            if (close[1] != ':')
                goto bad;
            port = close + 2;
        }
    } else {
        const char *colon = memchr(p, ':', l);
        iplen = colon ? (size_t)(colon - p) : l;
        if (iplen >= sizeof ip)
            goto bad;
        memcpy(ip, p, iplen);
        ip[iplen] = 0;
        if (inet_pton(AF_INET, ip, a->ip) != 1)
            goto bad;
        a->family = AF_INET;
        port = colon ? colon + 1 : NULL;
    }
    if (port) {
        uint64_t v;
        size_t pl = (size_t)(p + l - port);
        if (number(port, pl, 1, 65535, &v) != 0)
            return fail(c, "bad number %t for the port in peer%@ (expected 1 to 65535)", port, pl,
                        port);
        a->port = (uint16_t)v;
    }
    return 0;
bad:
    return fail(c,
                "bad address %t for peer%@ (expected IPv4[:PORT], [IPv6][:PORT] or a UNIX path "
                "starting with / or @)",
                p, l, p);
}

static int on_value(const char *p, size_t l, unsigned allowed, unsigned *on)
{
    static const struct {
        const char *name;
        unsigned bits;
    } names[] = {
        {"connect", RSW_INJ_CONNECT},
        {"accept", RSW_INJ_ACCEPT},
        {"read", RSW_INJ_READ},
        {"write", RSW_INJ_WRITE},
        {"any", ~0u},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i].name) == l && !memcmp(p, names[i].name, l)) {
            *on = names[i].bits & allowed;
            return names[i].bits == ~0u || (names[i].bits & allowed) ? 0 : 1;
        }
    return -1;
}

/* ---- rules ------------------------------------------------------------------------------- */

/* One KEY=VALUE item, [p, p+l), of rule r; pos[] records where each key was given. */
static int parse_item(struct ctx *c, struct rsw_inj_rule *r, const char *p, size_t l,
                      const char *pos[RSW_INJ_NKEYS])
{
    const char *eq = memchr(p, '=', l);
    size_t kl = eq ? (size_t)(eq - p) : l;
    int k = -1;
    for (int i = 0; i < RSW_INJ_NKEYS; i++)
        if (strlen(key_names[i]) == kl && !memcmp(p, key_names[i], kl))
            k = i;
    if (kl == 0)
        return fail(c, "missing key before '='%@", p);
    if (k < 0)
        return fail(c,
                    "unknown key %t%@ (expected on, peer, port, after, nth, conn, prob, seed, "
                    "count or delay)",
                    p, kl, p);
    if (RSW_INJ_HAS(r, k))
        return fail(c, "duplicate key %t%@ (already given at position %u)", p, kl, p,
                    (unsigned long long)(pos[k] - c->s) + 1);
    const char *v = eq ? eq + 1 : p + l;
    size_t vl = (size_t)(p + l - v);
    if (!eq || vl == 0)
        return fail(c, "missing value for %t%@ (write %s=VALUE)", p, kl, p, key_names[k]);
    r->keys |= 1u << k;
    pos[k] = p;
    switch (k) {
    case RSW_INJ_K_ON: {
        int bad = on_value(v, vl, outcomes[r->outcome].allowed, &r->on);
        if (bad < 0)
            return fail(c, "bad value %t for on%@ (expected connect, accept, read, write or any)",
                        v, vl, v);
        if (bad > 0)
            return fail(c, "%t does not apply to %s%@ (%s takes %s)", p, l,
                        outcomes[r->outcome].name, p, outcomes[r->outcome].name,
                        outcomes[r->outcome].takes);
        return 0;
    }
    case RSW_INJ_K_PEER:
        return address_value(c, v, vl, &r->peer);
    case RSW_INJ_K_PORT: {
        uint64_t n;
        if (number(v, vl, 1, 65535, &n) != 0)
            return fail(c, "bad number %t for port%@ (expected 1 to 65535)", v, vl, v);
        r->port = (uint16_t)n;
        return 0;
    }
    case RSW_INJ_K_AFTER:
        if (size_value(v, vl, &r->after) != 0)
            return fail(c, "bad size %t for after%@ (expected a byte count such as 1024 or 4KiB)",
                        v, vl, v);
        return 0;
    case RSW_INJ_K_NTH:
    case RSW_INJ_K_CONN:
    case RSW_INJ_K_COUNT: {
        uint64_t *dst = k == RSW_INJ_K_NTH ? &r->nth : k == RSW_INJ_K_CONN ? &r->conn : &r->count;
        if (number(v, vl, 1, INT64_MAX, dst) != 0)
            return fail(c, "bad number %t for %s%@ (expected 1 to 9223372036854775807)", v, vl,
                        key_names[k], v);
        return 0;
    }
    case RSW_INJ_K_SEED:
        if (number(v, vl, 0, UINT64_MAX, &r->seed) != 0)
            return fail(c, "bad number %t for seed%@ (expected 0 to 18446744073709551615)", v, vl,
                        v);
        return 0;
    case RSW_INJ_K_PROB:
        if (prob_value(v, vl, &r->prob) != 0)
            return fail(c,
                        "bad probability %t for prob%@ (expected 0 to 1 such as 0.25, or a "
                        "percentage such as 25%%)",
                        v, vl, v);
        return 0;
    default: /* RSW_INJ_K_DELAY */
        if (duration_value(v, vl, &r->delay_ns) != 0)
            return fail(c,
                        "bad duration %t for delay%@ (expected a whole number with a unit, us, "
                        "ms or s, such as 200ms; at most 86400s)",
                        v, vl, v);
        return 0;
    }
}

/* Keys that are each fine alone but not together, or not with this outcome. */
static int check_rule(struct ctx *c, struct rsw_inj_rule *r, const char *pos[RSW_INJ_NKEYS])
{
    const char *name = outcomes[r->outcome].name;
    if (!RSW_INJ_HAS(r, RSW_INJ_K_ON))
        r->on = outcomes[r->outcome].dflt;
    if (!RSW_INJ_HAS(r, RSW_INJ_K_PROB))
        r->prob = RSW_INJ_PROB_ONE;
    if (RSW_INJ_HAS(r, RSW_INJ_K_AFTER) && !(r->on & (RSW_INJ_READ | RSW_INJ_WRITE))) {
        const char *on = r->on == RSW_INJ_ACCEPT ? "on=accept" : "on=connect";
        return fail(c, "key 'after' does not apply to %s%@ (it counts bytes read or written)",
                    RSW_INJ_HAS(r, RSW_INJ_K_ON) ? on : name, pos[RSW_INJ_K_AFTER]);
    }
    if (RSW_INJ_HAS(r, RSW_INJ_K_SEED) && !RSW_INJ_HAS(r, RSW_INJ_K_PROB))
        return fail(c, "key 'seed' without prob%@ (seed= seeds the draws of prob=)",
                    pos[RSW_INJ_K_SEED]);
    if (RSW_INJ_HAS(r, RSW_INJ_K_PORT) && RSW_INJ_HAS(r, RSW_INJ_K_PEER)) {
        if (r->peer.family == AF_UNIX)
            return fail(c, "key 'port' does not apply to a UNIX peer%@", pos[RSW_INJ_K_PORT]);
        if (r->peer.port)
            return fail(c, "key 'port' conflicts with the port in peer%@", pos[RSW_INJ_K_PORT]);
    }
    if (r->outcome == RSW_INJ_UNREACHABLE && r->peer.family == AF_UNIX) {
        const char *p = pos[RSW_INJ_K_PEER] + 5;
        return fail(c, "UNIX peer %t does not apply to unreachable%@ (it is for IPv4 and IPv6)", p,
                    strlen(r->peer.path), p);
    }
    return 0;
}

/* The rule [a, b) of the spec (blanks trimmed, not empty). */
static int parse_rule(struct ctx *c, struct rsw_inj_rule *r, const char *a, const char *b)
{
    const char *pos[RSW_INJ_NKEYS] = {0};
    const char *p = a;
    int first = 1;
    memset(r, 0, sizeof *r);
    for (;;) {
        const char *end = memchr(p, ',', (size_t)(b - p));
        const char *q = end ? end : b, *s = p;
        while (s < q && is_blank(*s))
            s++;
        while (q > s && is_blank(q[-1]))
            q--;
        if (s == q) {
            if (first)
                return fail(c, "missing outcome before ','%@", p);
            if (!end)
                return fail(c, "trailing ','%@", p - 1);
            return fail(c, "missing key=value before ','%@", end);
        }
        if (first) {
            for (size_t i = 1; i < N_OUTCOMES; i++)
                if (strlen(outcomes[i].name) == (size_t)(q - s) &&
                    !memcmp(s, outcomes[i].name, (size_t)(q - s)))
                    r->outcome = (int)i;
            if (!r->outcome)
                return fail(c,
                            "unknown outcome %t%@ (a rule starts with refuse, reset, epipe, "
                            "timeout or unreachable)",
                            s, (size_t)(q - s), s);
            first = 0;
        } else if (parse_item(c, r, s, (size_t)(q - s), pos) != 0) {
            return -1;
        }
        if (!end)
            break;
        p = end + 1;
    }
    return check_rule(c, r, pos);
}

int rsw_inj_parse(const char *spec, size_t len, struct rsw_inj_rules *out, char *err, size_t errlen)
{
    struct ctx c = {spec, err, errlen, 0};
    memset(out, 0, sizeof *out);
    if (errlen)
        err[0] = 0;
    if (len >= RSW_INJ_SPEC_MAX)
        return fail(&c, "spec too long%@ (at most %u characters)", spec + RSW_INJ_SPEC_MAX - 1,
                    (unsigned long long)RSW_INJ_SPEC_MAX - 1);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)spec[i];
        if ((ch < 0x20 && !is_blank((char)ch)) || ch == 0x7f)
            return fail(&c, "bad character %t%@ (control characters are not allowed)", spec + i,
                        (size_t)1, spec + i);
    }
    memcpy(out->text, spec, len);
    const char *end = spec + len, *p = spec;
    while (p < end && is_blank(*p))
        p++;
    if (p == end)
        return 0; /* blank: no rules */
    for (p = spec;;) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        const char *q = semi ? semi : end, *a = p;
        while (a < q && is_blank(*a))
            a++;
        while (q > a && is_blank(q[-1]))
            q--;
        if (a == q)
            return semi ? fail(&c, "empty rule%@", semi) : fail(&c, "trailing ';'%@", p - 1);
        if (out->n == RSW_INJ_MAX_RULES)
            return fail(&c, "too many rules%@ (at most %u)", a,
                        (unsigned long long)RSW_INJ_MAX_RULES);
        struct rsw_inj_rule *r = &out->rule[out->n];
        if (parse_rule(&c, r, a, q) != 0)
            return -1;
        out->text[q - spec] = 0;
        r->text = out->text + (a - spec);
        out->n++;
        if (!semi)
            break;
        p = semi + 1;
    }
    return 0;
}

int rsw_inject_validate_n(const char *spec, size_t len, char *err, size_t errlen)
{
    struct rsw_inj_rules scratch;
    return rsw_inj_parse(spec, len, &scratch, err, errlen);
}

int rsw_inject_validate(const char *spec, char *err, size_t errlen)
{
    if (errlen)
        err[0] = 0;
    return spec ? rsw_inject_validate_n(spec, strnlen(spec, RSW_INJ_SPEC_MAX), err, errlen) : 0;
}
