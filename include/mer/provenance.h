/* provenance.h: the mer.provenance record every output carries. */
#ifndef MER_PROVENANCE_H
#define MER_PROVENANCE_H

/*
 * {"command": "mer <argv...>", "mer_version": "0.1.0", "time": "2026-11-25T04:01:24Z"}
 * for a command's argv (argv[0] is the command name): a new string (free with
 * free()), NULL on out of memory.
 */
char *mer_provenance_json(int argc, const char **argv);

/* A path or argument as provenance text: s with each byte that is not valid UTF-8 written as
 * the four characters \xNN (a Latin-1 file name stays readable, and the header stays JSON).
 * The command above is written so. A new string (free with free()), NULL on out of memory. */
char *mer_provenance_text(const char *s);

#endif
