/* tcp_client.c: the samples' TCP client: connects, writes, reads per mode, printing each call. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sample_common.h"

#define BLOCK_SIZE 5000     /* the block size of the original write-after-close experiment */
#define MAX_BLOCKS 100000   /* write-loop gives up after this many (500 MB): never reached */
#define IDLE_LIMIT_MS 60000 /* idle-write waits at most this long for its go-file */

static char block[BLOCK_SIZE];

__attribute__((noreturn)) static void usage(void)
{
    fprintf(
        stderr,
        "usage: sample-client MODE HOST PORT [--syncnt N] [--go-file PATH]\n"
        "modes:\n"
        "  connect     connect, then close (PORT 0: a port reserved here, with nobody listening)\n"
        "  write-loop  let the server close, then write %d-byte blocks until the kernel stops us\n"
        "  write-read  let the server close, write one block, wait for the answer, read, send "
        "again\n"
        "  read        send a request, then read until end of file or an error\n"
        "  idle-write  send a greeting, stay idle until PATH exists, then write until an error\n"
        "options:\n"
        "  --syncnt N     setsockopt(TCP_SYNCNT, N): give up connecting after N SYN retransmits\n"
        "  --go-file PATH the file whose creation ends the idle period (idle-write), or tells "
        "that\n"
        "                 the server has closed (write-loop, write-read; default: sleep 200 ms)\n",
        BLOCK_SIZE);
    exit(2);
}

/* Bind a socket to an ephemeral port without listening: a SYN to that port draws an RST, and no
 * other program can start listening there while we hold it. */
SAMPLE_STEP int client_reserve_closed_port(struct sockaddr_in *addr)
{
    int fd = (int)SAMPLE_CALL(socket(AF_INET, SOCK_STREAM, 0), "socket(AF_INET, SOCK_STREAM)");
    if (fd < 0)
        return -1;
    addr->sin_port = 0;
    if (SAMPLE_CALL(bind(fd, (struct sockaddr *)addr, sizeof *addr), "bind(fd %d, %s)", fd,
                    sample_addr((struct sockaddr *)addr)) < 0)
        return -1;
    socklen_t len = sizeof *addr;
    getsockname(fd, (struct sockaddr *)addr, &len);
    sample_say("port %u is bound but nobody listens on it", ntohs(addr->sin_port));
    return fd;
}

SAMPLE_STEP int client_connect(const struct sockaddr_in *addr, int syncnt)
{
    int fd = (int)SAMPLE_CALL(socket(AF_INET, SOCK_STREAM, 0), "socket(AF_INET, SOCK_STREAM)");
    if (fd < 0)
        return -1;
    if (syncnt > 0)
        SAMPLE_CALL(setsockopt(fd, IPPROTO_TCP, TCP_SYNCNT, &syncnt, sizeof syncnt),
                    "setsockopt(fd %d, TCP_SYNCNT, %d)", fd, syncnt);
    if (SAMPLE_CALL(connect(fd, (const struct sockaddr *)addr, sizeof *addr), "connect(fd %d, %s)",
                    fd, sample_addr((const struct sockaddr *)addr)) < 0) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    struct sockaddr_in local;
    socklen_t len = sizeof local;
    getsockname(fd, (struct sockaddr *)&local, &len);
    sample_say("connected from %s", sample_addr((struct sockaddr *)&local));
    return fd;
}

/* The article's experiment: keep writing although the peer has gone. The first writes only fill
 * our send buffer, so they "succeed"; the peer's kernel answers the data with an RST; the next
 * write fails with EPIPE and raises SIGPIPE, whose default action ends this process here. */
SAMPLE_STEP int client_write_loop(int fd)
{
    long total = 0;
    for (int i = 1; i <= MAX_BLOCKS; i++) {
        long n = SAMPLE_CALL(write(fd, block, sizeof block), "write #%d (fd %d, %d B)", i, fd,
                             BLOCK_SIZE);
        if (n < 0) {
            sample_say("%ld B accepted by write() before it failed", total);
            return -1;
        }
        total += n;
    }
    return 0;
}

/* The article's variant: write once, give the peer's RST time to arrive, then read. */
SAMPLE_STEP int client_write_then_read(int fd)
{
    char buf[512];
    if (SAMPLE_CALL(write(fd, block, sizeof block), "write(fd %d, %d B)", fd, BLOCK_SIZE) < 0)
        return -1;
    sample_pause(500, "the data reaches the closed peer, which answers with an RST");
    long n = SAMPLE_CALL(read(fd, buf, sizeof buf), "read(fd %d, %zu B)", fd, sizeof buf);
    if (n == 0)
        sample_say("read saw the FIN, which came before the RST; the reset is still pending");
    long s = SAMPLE_CALL(send(fd, block, sizeof block, MSG_NOSIGNAL),
                         "send(fd %d, %d B, MSG_NOSIGNAL)", fd, BLOCK_SIZE);
    return n < 0 || s < 0 ? -1 : 0;
}

SAMPLE_STEP int client_send_request(int fd)
{
    static const char request[] = "hello\n";
    long n = SAMPLE_CALL(write(fd, request, sizeof request - 1), "write(fd %d, %zu B request)", fd,
                         sizeof request - 1);
    return n < 0 ? -1 : 0;
}

SAMPLE_STEP int client_read_until_end(int fd)
{
    char buf[4096];
    for (;;) {
        long n = SAMPLE_CALL(read(fd, buf, sizeof buf), "read(fd %d, %zu B)", fd, sizeof buf);
        if (n <= 0)
            return (int)n;
    }
}

/* Hold the connection without touching it, as an idle client does, until GO_FILE exists. */
SAMPLE_STEP int client_wait_idle(const char *go_file, const char *why)
{
    sample_say("idle: sending nothing until the go-file appears (%s)", why);
    struct stat st;
    for (int waited = 0; stat(go_file, &st) != 0; waited += 20) {
        if (waited >= IDLE_LIMIT_MS) {
            sample_say("gave up waiting for %s", go_file);
            return -1;
        }
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    sample_say("idle period over");
    return 0;
}

/* After the peer host lost its state: the first write is only copied into our send buffer and
 * succeeds; the peer's kernel answers the segment with an RST; a later call fails. */
SAMPLE_STEP int client_write_after_reboot(int fd)
{
    for (int i = 1; i <= 10; i++) {
        if (SAMPLE_CALL(write(fd, block, sizeof block), "write #%d (fd %d, %d B)", i, fd,
                        BLOCK_SIZE) < 0)
            return -1;
        sample_pause(300, "the segment crosses to the peer");
    }
    return 0;
}

int main(int argc, char **argv)
{
    int syncnt = 0;
    const char *go_file = NULL;
    if (argc < 4)
        usage();
    for (int i = 4; i < argc; i++) {
        if (strcmp(argv[i], "--syncnt") == 0 && i + 1 < argc)
            syncnt = atoi(argv[++i]);
        else if (strcmp(argv[i], "--go-file") == 0 && i + 1 < argc)
            go_file = argv[++i];
        else
            usage();
    }
    const char *mode = argv[1];
    struct sockaddr_in addr = {.sin_family = AF_INET};
    if (inet_pton(AF_INET, argv[2], &addr.sin_addr) != 1) {
        fprintf(stderr, "bad IPv4 address '%s'\n", argv[2]);
        return 2;
    }
    addr.sin_port = htons((uint16_t)sample_port(argv[3]));
    memset(block, 'x', sizeof block);
    sample_begin("client");

    if (addr.sin_port == 0 && client_reserve_closed_port(&addr) < 0)
        return 1;
    int fd = client_connect(&addr, syncnt);
    if (fd < 0)
        return 1;

    int rc = 0;
    if (strcmp(mode, "connect") == 0) {
        rc = 0;
    } else if (strcmp(mode, "write-loop") == 0 || strcmp(mode, "write-read") == 0) {
        if (go_file)
            rc = client_wait_idle(go_file, "the server accepts and closes meanwhile");
        else
            sample_pause(200, "the server accepts and closes meanwhile");
        if (rc == 0)
            rc = mode[6] == 'l' ? client_write_loop(fd) : client_write_then_read(fd);
    } else if (strcmp(mode, "read") == 0) {
        rc = client_send_request(fd);
        if (rc == 0)
            rc = client_read_until_end(fd);
    } else if (strcmp(mode, "idle-write") == 0) {
        if (!go_file)
            usage();
        rc = client_send_request(fd);
        if (rc == 0)
            rc = client_wait_idle(go_file, "the server host crashes and reboots meanwhile");
        if (rc == 0)
            rc = client_write_after_reboot(fd);
    } else {
        usage();
    }
    SAMPLE_CALL(close(fd), "close(fd %d)", fd);
    return rc < 0 ? 1 : 0;
}
