/*
 * names.h: names that become part of a path.
 *
 * Split, class, run and sweep-member names end up in file names
 * (predictions/<split>.csv, submission-<split>.csv, runs/<name>/...). Every such
 * name is checked here, in one place, so none can climb out of its directory:
 *
 *     if (mer_name_check("split", name) < 0)
 *         return mer_error_prefix("'%s':%zu", path, line);   // 'x.csv':7: split '../a': ...
 *
 * A safe name is 1 to MER_NAME_MAX bytes of valid UTF-8: ASCII letters, digits and
 * "._+-=@", or any non-ASCII character (so Chinese class names pass); it does not start
 * with '.' or '-' (no "..", no hidden files, no option look-alikes).
 */
#ifndef MER_NAMES_H
#define MER_NAMES_H

#include <stddef.h>

#define MER_NAME_MAX 128

/* 0 if name is safe; else -1 with "<kind> '<name>': <why>" (the name escaped when it holds
 * control or invalid bytes). */
int mer_name_check(const char *kind, const char *name);

/* An untrusted name for a message: controls, quotes, backslashes and every byte outside ASCII
 * as \xNN ("caf\xe9"), cut to fit out_size bytes; returns out. */
const char *mer_name_escape(const char *name, char *out, size_t out_size);

#endif
