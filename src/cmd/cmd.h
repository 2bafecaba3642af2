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
int cmd_extract(int argc, const char **argv);
int cmd_import_labels(int argc, const char **argv);
int cmd_config(int argc, const char **argv);
int cmd_train(int argc, const char **argv);
int cmd_eval(int argc, const char **argv);
int cmd_prompt(int argc, const char **argv);
int cmd_query(int argc, const char **argv);
int cmd_ingest(int argc, const char **argv);
int cmd_predict(int argc, const char **argv);
int cmd_report(int argc, const char **argv);
int cmd_plot(int argc, const char **argv);
int cmd_sweep(int argc, const char **argv);

/* --classes "a,b,c": split in place into out[] (spaces around each name trimmed); the count,
 * or -1 with the error set for an empty, repeated or unsafe (names.h) name or more than max. */
int cmd_parse_classes(char *s, const char **out, int max);

/* Prints "mer <cmd>: <last recorded error>" to stderr; returns 1. */
int cmd_fail(const char *cmd);

/* Prints each recorded warning (error.h) as "mer <cmd>: warning: <text>" to stderr and clears
 * them; also called once after every command that succeeds (a failed one's are dropped). */
void cmd_warnings(const char *cmd);

#endif
