/* filters.c: the report's filters (--pid, --peer, --verdict, --errors-only); the --peer grammar. */
#include "filters.h"
#include "jsonutil.h"
#include "verdict.h"
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Splits "1.2.3.4:80" / "[::1]:80" / "::1" / "1.2.3.4" into host and port (-1: none). */
static void split_addr(const char *s, char *host, size_t hl, long *port)
{
    *port = -1;
    const char *colon = strrchr(s, ':');
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        size_t n = close ? (size_t)(close - s - 1) : strlen(s + 1);
        snprintf(host, hl, "%.*s", (int)n, s + 1);
        if (close && close[1] == ':')
            *port = strtol(close + 2, NULL, 10);
        return;
    }
    if (colon && strchr(s, ':') == colon && s[0] != '/' && s[0] != '@') {
        snprintf(host, hl, "%.*s", (int)(colon - s), s);
        *port = strtol(colon + 1, NULL, 10);
        return;
    }
    snprintf(host, hl, "%s", s);
}

int rsw_peer_spec_ok(const char *spec)
{
    if (!spec || !*spec)
        return 0;
    if (spec[0] == '/' || spec[0] == '@')
        return 1;
    char host[256];
    long port;
    split_addr(spec, host, sizeof host, &port);
    if (!host[0])
        return 0;
    const char *colon = strrchr(spec, ':');
    if (port >= 0 || (colon && (spec[0] == '[' || strchr(spec, ':') == colon))) {
        char *end;
        const char *p = spec[0] == '[' ? strchr(spec, ']') : colon;
        if (!p)
            return 0;
        if (p[0] == ']' && p[1] == 0)
            return 1;
        p += p[0] == ']' ? 2 : 1;
        long v = strtol(p, &end, 10);
        return *p && *end == 0 && v >= 0 && v <= 65535;
    }
    return 1;
}

const char *rsw_addr_canon(const char *addr, char *buf, size_t len)
{
    static const char mapped[] = "[::ffff:";
    size_t m = sizeof mapped - 1;
    if (!addr || strncasecmp(addr, mapped, m) != 0)
        return addr;
    const char *close = strchr(addr + m, ']');
    size_t n = close ? (size_t)(close - addr - m) : 0;
    struct in_addr a4;
    char host[INET_ADDRSTRLEN];
    if (!close || n >= sizeof host)
        return addr;
    memcpy(host, addr + m, n);
    host[n] = 0;
    if (inet_pton(AF_INET, host, &a4) != 1) /* [::ffff:7f00:1] spells it in hex */
        return addr;
    if (snprintf(buf, len, "%s%s", host, close + 1) >= (int)len)
        return addr;
    return buf;
}

int rsw_peer_matches(const char *spec, const char *addr)
{
    char cs[128], ca[128];
    spec = rsw_addr_canon(spec, cs, sizeof cs);
    addr = rsw_addr_canon(addr, ca, sizeof ca);
    if (!addr || !*addr)
        return 0;
    if (spec[0] == '/' || spec[0] == '@')
        return strcmp(spec, addr) == 0;
    char sh[256], ah[256];
    long sp, ap;
    split_addr(spec, sh, sizeof sh, &sp);
    split_addr(addr, ah, sizeof ah, &ap);
    return strcmp(sh, ah) == 0 && (sp < 0 || sp == ap);
}

int rsw_pid_passes(const struct rsw_filters *f, long long pid)
{
    for (int i = 0; i < f->npids; i++)
        if (f->pids[i] == pid)
            return 1;
    return f->npids == 0;
}

int rsw_conn_passes(const struct rsw_filters *f, json_t *conn, const struct rsw_conn *x,
                    const struct rsw_conn *y)
{
    if (f->npids) {
        int hit = 0;
        for (int i = 0; i < f->npids; i++)
            if (f->pids[i] == x->proc->pid || (y && f->pids[i] == y->proc->pid))
                hit = 1;
        if (!hit)
            return 0;
    }
    if (f->peer && !rsw_peer_matches(f->peer, x->peer) &&
        !(y && rsw_peer_matches(f->peer, y->peer)))
        return 0;
    const char *verdict = rsw_jstr(conn, "verdict", "");
    if (f->verdict >= 0 && strcmp(verdict, rsw_verdict_name(f->verdict)) != 0)
        return 0;
    if (f->errors_only && strcmp(verdict, "clean") == 0 &&
        json_object_size(json_object_get(conn, "errors")) == 0 && !x->facts.signal_action &&
        !(y && y->facts.signal_action))
        return 0;
    return 1;
}
