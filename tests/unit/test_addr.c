/* test_addr.c: address formatting for IPv4, IPv6, UNIX paths, abstract and unnamed sockets. */
#include "addr.h"
#include "fdtable.h"
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stddef.h>
#include <string.h>
#include <sys/un.h>

Test(addr, ipv4)
{
    struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons(8080)};
    char out[RSW_PEER_MAX];
    inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
    cr_assert_eq(rsw_addr_format((void *)&in, sizeof in, out, sizeof out), RSW_FAM_INET);
    cr_assert_str_eq(out, "127.0.0.1:8080");
}

Test(addr, ipv6_and_mapped)
{
    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6, .sin6_port = htons(443)};
    char out[RSW_PEER_MAX];
    inet_pton(AF_INET6, "::1", &in6.sin6_addr);
    cr_assert_eq(rsw_addr_format((void *)&in6, sizeof in6, out, sizeof out), RSW_FAM_INET6);
    cr_assert_str_eq(out, "[::1]:443");
    inet_pton(AF_INET6, "::ffff:10.1.2.3", &in6.sin6_addr);
    rsw_addr_format((void *)&in6, sizeof in6, out, sizeof out);
    cr_assert_str_eq(out, "[::ffff:10.1.2.3]:443");
}

Test(addr, unix_path_abstract_unnamed)
{
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    char out[RSW_PEER_MAX];
    strcpy(un.sun_path, "/run/app.sock");
    socklen_t len = offsetof(struct sockaddr_un, sun_path) + strlen(un.sun_path) + 1;
    cr_assert_eq(rsw_addr_format((void *)&un, len, out, sizeof out), RSW_FAM_UNIX);
    cr_assert_str_eq(out, "/run/app.sock");
    memcpy(un.sun_path, "\0name\0x", 7); /* abstract, with an embedded NUL */
    len = offsetof(struct sockaddr_un, sun_path) + 7;
    rsw_addr_format((void *)&un, len, out, sizeof out);
    cr_assert_str_eq(out, "@name@x");
    len = sizeof(sa_family_t);
    cr_assert_eq(rsw_addr_format((void *)&un, len, out, sizeof out), RSW_FAM_UNIX);
    cr_assert_str_eq(out, "unnamed");
}

Test(addr, cut_to_capacity_and_bad_input)
{
    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6, .sin6_port = htons(65535)};
    char out[8];
    inet_pton(AF_INET6, "2001:db8::1", &in6.sin6_addr);
    rsw_addr_format((void *)&in6, sizeof in6, out, sizeof out);
    cr_assert_str_eq(out, "[2001:d");
    struct sockaddr sa = {.sa_family = AF_PACKET};
    cr_assert_eq(rsw_addr_format(&sa, sizeof sa, out, sizeof out), RSW_FAM_NONE);
    cr_assert_str_eq(out, "");
    cr_assert_eq(rsw_addr_format(NULL, 0, out, sizeof out), RSW_FAM_NONE);
}

Test(addr, pipe)
{
    char out[RSW_PEER_MAX];
    rsw_addr_pipe(123456, out, sizeof out);
    cr_assert_str_eq(out, "pipe:[123456]");
}
