/* addr.c: formats IPv4, IPv6 and UNIX (path, abstract, unnamed) socket addresses. */
#include "addr.h"
#include "fdtable.h"
#include "jsonw.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/un.h>

static void append(char *out, size_t cap, size_t *len, const char *s, size_t n)
{
    if (*len >= cap)
        return;
    size_t room = cap - 1 - *len;
    if (n > room)
        n = room;
    memcpy(out + *len, s, n);
    *len += n;
    out[*len] = 0;
}

static void append_port(char *out, size_t cap, size_t *len, unsigned port)
{
    char tmp[24];
    tmp[0] = ':';
    append(out, cap, len, tmp, 1 + rsw_fmt_u64(tmp + 1, port));
}

int rsw_addr_format(const struct sockaddr *sa, socklen_t len, char *out, size_t cap)
{
    size_t n = 0;
    char ip[INET6_ADDRSTRLEN];
    if (cap == 0)
        return RSW_FAM_NONE;
    out[0] = 0;
    if (!sa || len < (socklen_t)sizeof(sa_family_t))
        return RSW_FAM_NONE;
    switch (sa->sa_family) {
    case AF_INET: {
        const struct sockaddr_in *in = (const void *)sa;
        if (len < (socklen_t)sizeof(*in))
            return RSW_FAM_INET;
        /* dotted quad by hand: inet_ntop formats it with sprintf (accept pays it every time) */
        const unsigned char *b = (const unsigned char *)&in->sin_addr;
        size_t il = 0;
        for (int i = 0; i < 4; i++) {
            if (i)
                ip[il++] = '.';
            il += rsw_fmt_u64(ip + il, b[i]);
        }
        append(out, cap, &n, ip, il);
        append_port(out, cap, &n, ntohs(in->sin_port));
        return RSW_FAM_INET;
    }
    case AF_INET6: {
        const struct sockaddr_in6 *in6 = (const void *)sa;
        if (len < (socklen_t)sizeof(*in6) || !inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip)))
            return RSW_FAM_INET6;
        append(out, cap, &n, "[", 1);
        append(out, cap, &n, ip, strlen(ip));
        append(out, cap, &n, "]", 1);
        append_port(out, cap, &n, ntohs(in6->sin6_port));
        return RSW_FAM_INET6;
    }
    case AF_UNIX: {
        const struct sockaddr_un *un = (const void *)sa;
        size_t plen = (size_t)len - offsetof(struct sockaddr_un, sun_path);
        if (len <= (socklen_t)offsetof(struct sockaddr_un, sun_path) || plen == 0) {
            append(out, cap, &n, "unnamed", 7);
        } else if (un->sun_path[0] == 0) { /* abstract: '@' for every NUL, like ss(8) */
            for (size_t i = 0; i < plen && n + 1 < cap; i++) {
                char c = un->sun_path[i] ? un->sun_path[i] : '@';
                append(out, cap, &n, &c, 1);
            }
        } else {
            append(out, cap, &n, un->sun_path, strnlen(un->sun_path, plen));
        }
        return RSW_FAM_UNIX;
    }
    default:
        return RSW_FAM_NONE;
    }
}

void rsw_addr_pipe(unsigned long long ino, char *out, size_t cap)
{
    char tmp[40];
    size_t n = 0;
    memcpy(tmp, "pipe:[", 6);
    size_t l = 6 + rsw_fmt_u64(tmp + 6, ino);
    tmp[l++] = ']';
    if (cap)
        out[0] = 0;
    append(out, cap, &n, tmp, l);
}

void rsw_addr_local(int fd, char *out, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    out[0] = 0;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        rsw_addr_format((struct sockaddr *)&ss, sl, out, cap);
}
