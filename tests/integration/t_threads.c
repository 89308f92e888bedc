/* t_threads.c: 8 threads meet refused connects at the same time (25 each). */
#define _GNU_SOURCE
#include "t_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define NTHREADS 8
#define ROUNDS 25

static int refusing_port;
static pthread_barrier_t barrier;

struct result {
    pid_t tid;
    int refused;
};

/* Each thread: ROUNDS refused connects to the same closed port. */
__attribute__((noinline)) void *thread_meets_refusals(void *arg)
{
    struct result *res = arg;
    res->tid = gettid();
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)refusing_port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    pthread_barrier_wait(&barrier);
    for (int i = 0; i < ROUNDS; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0)
            continue;
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno == ECONNREFUSED)
            res->refused++;
        close(fd);
    }
    return NULL;
}

int main(void)
{
    int holder;
    refusing_port = tu_refusing_port(AF_INET, &holder);
    pthread_barrier_init(&barrier, NULL, NTHREADS);
    pthread_t th[NTHREADS];
    struct result res[NTHREADS];
    memset(res, 0, sizeof(res));
    for (int i = 0; i < NTHREADS; i++)
        if (pthread_create(&th[i], NULL, thread_meets_refusals, &res[i]) != 0)
            tu_die("pthread_create");
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    tu_out("port=%d\n", refusing_port);
    for (int i = 0; i < NTHREADS; i++)
        tu_out("thread tid=%d refused=%d\n", (int)res[i].tid, res[i].refused);
    close(holder);
    return 0;
}
