/*
 * error.h: how mer reports failure.
 *
 * Three tiers:
 *   - recoverable errors: a function returns -1 (or NULL) after recording a
 *     thread-local message with mer_error(); the command layer prints it as
 *     "mer <cmd>: <message>" and exits 1;
 *   - usage errors: only src/cmd/ and the option parser deal with those (exit 2);
 *   - bugs: MER_ASSERT / MER_BUG abort with file:line.
 *
 *     if (n != 7)
 *         return mer_error("'%s':%zu: expected 7 columns, got %d", path, line, n);
 *
 * Messages follow git's style: lowercase, no final period, subject quoted.
 */
#ifndef MER_ERROR_H
#define MER_ERROR_H

#include <stddef.h>

#define MER_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#if defined(__GNUC__)
#define MER_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define MER_PRINTF(f, a)
#endif

/* Records a formatted message (replacing the previous one); returns -1. */
int mer_error(const char *fmt, ...) MER_PRINTF(1, 2);

/* Prepends "prefix: " to the recorded message (adds context on the way up); returns -1. */
int mer_error_prefix(const char *fmt, ...) MER_PRINTF(1, 2);

/* The last recorded message of this thread ("" if none); borrowed. */
const char *mer_errmsg(void);

/* Clears the recorded message. */
void mer_error_clear(void);

/*
 * Warnings: something the user should know that is not a failure (unlabeled rows in a training
 * split, say). The library records them (this thread, in order, at most MER_WARN_MAX; later
 * ones are counted); the command layer prints each as "mer <cmd>: warning: <text>" and clears
 * them (cmd_warnings in src/cmd/), at the latest when the command returns.
 *
 *     mer_warn("split 'train' of '%s': %zu unlabeled samples ...", path, n);
 */
#define MER_WARN_MAX 16

/* Records a formatted warning (same style as an error message). */
void mer_warn(const char *fmt, ...) MER_PRINTF(1, 2);

/* Warnings recorded since the last clear (at most MER_WARN_MAX), and those dropped. */
size_t mer_warn_count(void);
size_t mer_warn_dropped(void);

/* Warning i (< mer_warn_count()); borrowed until the next clear. */
const char *mer_warn_get(size_t i);

/* Forgets every recorded warning. */
void mer_warn_clear(void);

#ifdef __cplusplus
#define MER_NORETURN [[noreturn]]
#else
#define MER_NORETURN _Noreturn
#endif

/* Aborts with file:line and a message; for bugs, never for bad input. */
MER_NORETURN void mer_bug_impl(const char *file, int line, const char *fmt, ...) MER_PRINTF(3, 4);

#define MER_BUG(...) mer_bug_impl(__FILE__, __LINE__, __VA_ARGS__)
#define MER_ASSERT(x)                                                                              \
    do {                                                                                           \
        if (!(x))                                                                                  \
            mer_bug_impl(__FILE__, __LINE__, "assertion failed: %s", #x);                          \
    } while (0)

#endif
