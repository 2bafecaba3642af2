/*
 * cmd.h: the subcommands (one file each in src/cmd/) and helpers they share.
 * Internal to the mer binary; nothing in libmer includes this.
 *
 * Every command has the shape int cmd_NAME(int argc, const char **argv),
 * with argv[0] the command name, and returns the exit code: 0 ok, 1 runtime
 * error (printed with cmd_fail), 2 usage error (printed by the option parser
 * or mer_usage_error).
 */
#ifndef MER_CMD_H
#define MER_CMD_H

int cmd_version(int argc, const char **argv);
int cmd_info(int argc, const char **argv);
int cmd_import(int argc, const char **argv);
int cmd_import_labels(int argc, const char **argv);
int cmd_config(int argc, const char **argv);
int cmd_train(int argc, const char **argv);
int cmd_eval(int argc, const char **argv);
int cmd_prompt(int argc, const char **argv);
int cmd_query(int argc, const char **argv);
int cmd_ingest(int argc, const char **argv);

/* Prints "mer <cmd>: <last recorded error>" to stderr; returns 1. */
int cmd_fail(const char *cmd);

#endif
