/* sample_common.h: how the sample programs print each step and the kernel's answer to it. */
#ifndef SAMPLE_COMMON_H
#define SAMPLE_COMMON_H

#include <errno.h>
#include <stddef.h>

/* Every step of a sample is its own function and keeps its own stack frame even at -O2, so a
 * backtrace taken inside it (by rstwatch, gdb or perf) names it. */
#if __has_attribute(noclone) /* gcc only; clang has no clones to prevent */
#define SAMPLE_STEP __attribute__((noinline, noclone))
#else
#define SAMPLE_STEP __attribute__((noinline))
#endif

/* Start a program's output: line-buffered stdout (a process killed by SIGPIPE loses nothing it
 * printed before), lines prefixed by ROLE ("client", "server", "writer", ...). Times are relative
 * to $SAMPLE_T0_NS (ns since the epoch; samples/run sets it so that the lines of all its programs
 * share one clock), else to the program's start. */
void sample_begin(const char *role);

/* A forked child prints under its own role. */
void sample_set_role(const char *role);

/* Print one line: "ROLE    +12.345 ms  TEXT". */
void sample_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print "CALL = RET" or, when RET < 0, "CALL = -1 ENAME (description)" with ERR, the errno the
 * call left. Returns RET and leaves errno equal to ERR. */
long sample_result(long ret, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Make a call and print its answer in one go:
 *   n = SAMPLE_CALL(write(fd, buf, len), "write(fd %d, %zu B)", fd, len);
 * The call runs first and its errno is captured before anything else can change it. */
#define SAMPLE_CALL(call, ...)                                                                     \
    ({                                                                                             \
        long sample_ret_ = (long)(call);                                                           \
        int sample_err_ = errno;                                                                   \
        sample_result(sample_ret_, sample_err_, __VA_ARGS__);                                      \
    })

/* Sleep, saying why. */
void sample_pause(int ms, const char *why);

/* "127.0.0.1:8080" for a struct sockaddr_in/in6 (thread-unsafe static buffer, fine here). */
struct sockaddr;
const char *sample_addr(const struct sockaddr *sa);

/* Parse a TCP port (0-65535) or exit 2 with a usage message. */
int sample_port(const char *text);

#endif
