/* main.c: the rstwatch CLI's entry point: dispatches to subcommands from one table. */
#include "cmd.h"
#include "rsw_schema.h"
#include <stdio.h>
#include <string.h>

struct cmd {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *usage;
    const char *what;
};

static const struct cmd cmds[] = {
    {"run", rsw_cmd_run, rsw_run_usage, "run a program with the preload and record its logs"},
    {"report", rsw_cmd_report, rsw_report_usage, "explain logs: per-connection timelines"},
};
#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

static void usage(FILE *out)
{
    fprintf(out, "usage: rstwatch COMMAND [OPTIONS] ...\n"
                 "\n"
                 "See every TCP reset, refusal, timeout and SIGPIPE in an unmodified program,\n"
                 "with the connection and the backtrace, and explain it afterwards.\n"
                 "\n"
                 "commands:\n");
    for (size_t i = 0; i < NCMDS; i++)
        fprintf(out, "  %-8s %s\n", cmds[i].name, cmds[i].what);
    fprintf(out, "\n"
                 "  rstwatch COMMAND --help   options of one command\n"
                 "  rstwatch --version        version and log schema\n"
                 "\n"
                 "example:\n"
                 "  rstwatch run -- ./client 127.0.0.1 8080\n"
                 "  rstwatch report rstwatch-client-1234/\n"
                 "\n"
                 "See rstwatch(1).\n");
}

static const struct cmd *find_cmd(const char *name)
{
    for (size_t i = 0; i < NCMDS; i++)
        if (strcmp(cmds[i].name, name) == 0)
            return &cmds[i];
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *a = argv[1];
    if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0) {
        printf("rstwatch %s (log schema v%d, report schema v1)\n", RSW_VERSION_STRING,
               RSW_SCHEMA_VERSION);
        return 0;
    }
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(a, "help") == 0) {
        const struct cmd *c = argc > 2 ? find_cmd(argv[2]) : NULL;
        if (argc > 2 && !c) {
            fprintf(stderr, "rstwatch: no command '%s' (try rstwatch --help)\n", argv[2]);
            return 2;
        }
        if (c)
            fputs(c->usage, stdout);
        else
            usage(stdout);
        return 0;
    }
    const struct cmd *c = find_cmd(a);
    if (!c) {
        fprintf(stderr, "rstwatch: no command '%s' (try rstwatch --help)\n", a);
        return 2;
    }
    return c->fn(argc - 1, argv + 1);
}
