/* sample_common.c: how the sample programs print each step and the kernel's answer to it. */
#define _GNU_SOURCE
#include "sample_common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static const char *sample_role = "sample";
static long long sample_t0_ns; /* CLOCK_REALTIME, so programs started by one runner share it */

static long long sample_now_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
}

void sample_begin(const char *role)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *t0 = getenv("SAMPLE_T0_NS");
    char *end;
    sample_t0_ns = t0 ? strtoll(t0, &end, 10) : 0;
    if (!t0 || *end || sample_t0_ns <= 0)
        sample_t0_ns = sample_now_ns();
    sample_role = role;
}

void sample_set_role(const char *role)
{
    sample_role = role;
}

static double sample_elapsed_ms(void)
{
    return (double)(sample_now_ns() - sample_t0_ns) / 1e6;
}

static void sample_vsay(const char *suffix, const char *fmt, va_list ap)
{
    char text[512];
    vsnprintf(text, sizeof text, fmt, ap);
    printf("%-6s %+9.3f ms  %s%s\n", sample_role, sample_elapsed_ms(), text, suffix);
}

void sample_say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sample_vsay("", fmt, ap);
    va_end(ap);
}

long sample_result(long ret, int err, const char *fmt, ...)
{
    char answer[160];
    if (ret < 0) {
        const char *name = strerrorname_np(err);
        snprintf(answer, sizeof answer, " = %ld %s (%s)", ret, name ? name : "E?", strerror(err));
    } else {
        snprintf(answer, sizeof answer, " = %ld", ret);
    }
    va_list ap;
    va_start(ap, fmt);
    sample_vsay(answer, fmt, ap);
    va_end(ap);
    errno = err;
    return ret;
}

void sample_pause(int ms, const char *why)
{
    sample_say("sleep %d ms (%s)", ms, why);
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

const char *sample_addr(const struct sockaddr *sa)
{
    static char out[INET6_ADDRSTRLEN + 16];
    char host[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        snprintf(out, sizeof out, "%s:%u", host, ntohs(in->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        snprintf(out, sizeof out, "[%s]:%u", host, ntohs(in6->sin6_port));
    } else {
        snprintf(out, sizeof out, "(family %d)", sa->sa_family);
    }
    return out;
}

int sample_port(const char *text)
{
    char *end;
    errno = 0;
    long port = strtol(text, &end, 10);
    if (errno || end == text || *end || port < 0 || port > 65535) {
        fprintf(stderr, "bad port '%s' (expected 0-65535)\n", text);
        exit(2);
    }
    return (int)port;
}
