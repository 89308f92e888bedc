/* cmd.h: the subcommands of the rstwatch CLI (one file each) and their help texts. */
#ifndef RSW_CMD_H
#define RSW_CMD_H

int rsw_cmd_run(int argc, char **argv);
int rsw_cmd_report(int argc, char **argv);
extern const char rsw_run_usage[], rsw_report_usage[];

#endif
