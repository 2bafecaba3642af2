/* provenance.h: the mer.provenance record every output carries. */
#ifndef MER_PROVENANCE_H
#define MER_PROVENANCE_H

/*
 * {"command": "mer <argv...>", "mer_version": "0.1.0", "time": "2026-11-25T04:01:24Z"}
 * for a command's argv (argv[0] is the command name): a new string (free with
 * free()), NULL on out of memory.
 */
char *mer_provenance_json(int argc, const char **argv);

#endif
