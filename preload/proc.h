/* proc.h: who this process is, taken once at start (and after fork): pid, the program's name as
 * invoked, the executable's path. Copies of their own: a program that rewrites its argv area
 * (setproctitle: nginx, postgres) changes nothing here. */
#ifndef RSW_PROC_H
#define RSW_PROC_H
#include <stddef.h>

#define RSW_NAME_MAX 64

struct rsw_proc {
    int pid;
    char name[RSW_NAME_MAX];  /* basename of argv[0] as invoked ("python3"), cut to fit */
    char fname[RSW_NAME_MAX]; /* the same, safe in a file name: [A-Za-z0-9._+-], else '_' */
    char exe[4096];           /* /proc/self/exe ("/usr/bin/python3.11"), "" if unknown */
    char program[4096];       /* the main program's file as invoked, absolute, when it is the
                               * same file as exe (a symlink: /usr/bin/redis-server); else exe */
};
extern struct rsw_proc rsw_self;

/* Fills rsw_self from argv0 (NULL or "": "unknown") and the kernel. */
void rsw_proc_init(const char *argv0);
/* In a forked child: the new pid (name and exe are inherited). */
void rsw_proc_after_fork(void);
/* Makes a name safe as part of a file name. */
void rsw_proc_file_name(const char *name, char *out, size_t cap);
#endif
