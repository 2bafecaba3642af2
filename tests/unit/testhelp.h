/*
 * testhelp.h: a tiny assert header for the unit tests (after redis's testhelp.h).
 *
 *     int main(void) {
 *         TEST("parses a shard") { ... CHECK(x == 1); CHECK_EQ_INT(a, b); }
 *         return test_report();
 *     }
 * Each failed check prints file:line and the expression; test_report() prints
 * "N passed, N failed" and returns the exit code.
 */
#ifndef MER_TESTHELP_H
#define MER_TESTHELP_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_checks_failed, test_checks_passed, test_cases;
static const char *test_current = "";

#define TEST(name)                                                                                 \
    for (int test_once_ = (test_current = (name), test_cases++, 1); test_once_; test_once_ = 0)

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (cond) {                                                                                \
            test_checks_passed++;                                                                  \
        } else {                                                                                   \
            test_checks_failed++;                                                                  \
            fprintf(stderr, "FAIL %s:%d [%s]: %s\n", __FILE__, __LINE__, test_current, #cond);     \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                         \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        if (a_ == b_) {                                                                            \
            test_checks_passed++;                                                                  \
        } else {                                                                                   \
            test_checks_failed++;                                                                  \
            fprintf(stderr, "FAIL %s:%d [%s]: %s == %s (%lld vs %lld)\n", __FILE__, __LINE__,      \
                    test_current, #a, #b, a_, b_);                                                 \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_STR(a, b)                                                                         \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (a_ && b_ && !strcmp(a_, b_)) {                                                         \
            test_checks_passed++;                                                                  \
        } else {                                                                                   \
            test_checks_failed++;                                                                  \
            fprintf(stderr, "FAIL %s:%d [%s]: %s == %s ('%s' vs '%s')\n", __FILE__, __LINE__,      \
                    test_current, #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)");                 \
        }                                                                                          \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                                      \
    do {                                                                                           \
        double a_ = (double)(a), b_ = (double)(b);                                                 \
        if (fabs(a_ - b_) <= (tol)) {                                                              \
            test_checks_passed++;                                                                  \
        } else {                                                                                   \
            test_checks_failed++;                                                                  \
            fprintf(stderr, "FAIL %s:%d [%s]: |%s - %s| <= %g (%.9g vs %.9g)\n", __FILE__,         \
                    __LINE__, test_current, #a, #b, (double)(tol), a_, b_);                        \
        }                                                                                          \
    } while (0)

static inline int test_report(void)
{
    printf("%d passed, %d failed\n", test_checks_passed, test_checks_failed);
    return test_checks_failed ? 1 : 0;
}

/* A scratch directory for this test (created; from MER_TEST_TMP or /tmp). */
static inline const char *test_tmpdir(void)
{
    static char dir[4096];
    const char *env = getenv("MER_TEST_TMP");
    if (!dir[0]) {
        snprintf(dir, sizeof(dir), "%s", env && *env ? env : "/tmp/mer-test");
        char cmd[8300];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir -p '%s'", dir, dir);
        if (system(cmd) != 0)
            fprintf(stderr, "warning: cannot prepare %s\n", dir);
    }
    return dir;
}

/* The first `bytes` bytes of dir/name in a new buffer (an oracle's raw dump); exits if short. */
static inline void *test_read_raw(const char *dir, const char *name, size_t bytes)
{
    char path[8600];
    void *buf = calloc(1, bytes + 1);
    FILE *f;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "rb");
    if (!buf || !f || fread(buf, 1, bytes, f) != bytes) {
        fprintf(stderr, "cannot read %zu bytes of %s\n", bytes, path);
        exit(1);
    }
    fclose(f);
    return buf;
}

/* Runs the Python oracle tests/oracle/<script> (MER_TEST_PYTHON); fmt gives the script's
 * name and its arguments, printf-style. 0 if it succeeded, else -1 (the command on stderr). */
static inline int test_oracle(const char *fmt, ...)
{
    char args[8192], cmd[12288];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof(cmd), "'%s' '%s/tests/oracle/'%s", MER_TEST_PYTHON, MER_TEST_SOURCE_DIR,
             args);
    if (system(cmd) == 0)
        return 0;
    fprintf(stderr, "oracle failed: %s\n", cmd);
    return -1;
}

#endif
