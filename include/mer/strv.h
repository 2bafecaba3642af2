/*
 * strv.h: a growable array of owned strings (a list of sample names, say), and the one way to
 * free a plain char *[n] of strings that a module owns.
 *
 *     struct mer_strv names = MER_STRV_INIT;
 *     if (mer_strv_push(&names, "sample_0001", 11) < 0) ...;   // copies; out of memory: -1
 *     for (size_t i = 0; i < names.n; i++) puts(names.v[i]);
 *     mer_strv_release(&names);
 */
#ifndef MER_STRV_H
#define MER_STRV_H

#include <stddef.h>

struct mer_strv {
    char **v; /* [n] owned, NUL-terminated */
    size_t n, cap;
};
#define MER_STRV_INIT                                                                              \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

/* Appends a copy of the first len bytes of s; -1 with the error set on out of memory. */
int mer_strv_push(struct mer_strv *l, const char *s, size_t len);
/* Frees every string and the array; back to MER_STRV_INIT. NULL is fine. */
void mer_strv_release(struct mer_strv *l);
/* Frees v[0..n) and v itself; v may be NULL. */
void mer_strv_free(char **v, size_t n);
/* strcmp of two char * for qsort over a char *[] (byte order, as `LC_ALL=C sort`). */
int mer_strv_compare(const void *a, const void *b);

/* Appends the pieces of s[0..len) between separators sep outside "..." and [...] / {...} (a
 * list value, say: `a, ["x", "y"], "p,q"`), each trimmed of spaces; -1 on out of memory. */
int mer_strv_split_top(const char *s, size_t len, char sep, struct mer_strv *out);

#endif
