/* The .npy reader against files numpy wrote (tests/oracle/store_npy.py): every float dtype,
 * byte order and memory order, and broken files, each refused with the file and the reason. */
#include "mer/error.h"
#include "mer/fs.h"
#include "mer/npy.h"
#include "testhelp.h"

#include <stdint.h>

/* Bitwise equal, or both NaN. */
static int same_float(float a, float b)
{
    return (isnan(a) && isnan(b)) || !memcmp(&a, &b, sizeof(a));
}

static void check_good(const char *dir, const char *name, int64_t rows, int64_t cols)
{
    char *path = mer_strfmt("%s/%s.npy", dir, name),
         *want_path = mer_strfmt("%s/%s.expect", dir, name);
    char *want = NULL;
    size_t want_size = 0;
    float *x = NULL;
    int64_t r = -1, c = -1, bad = 0;
    if (mer_npy_read_matrix(path, &x, &r, &c) < 0) {
        fprintf(stderr, "  %s: %s\n", name, mer_errmsg());
        CHECK(0);
        goto done;
    }
    CHECK_EQ_INT(r, rows);
    CHECK_EQ_INT(c, cols);
    CHECK(mer_read_file(want_path, &want, &want_size) == 0);
    CHECK_EQ_INT(want_size, (size_t)(rows * cols) * sizeof(float));
    if (!want || want_size != (size_t)(r * c) * sizeof(float))
        goto done;
    for (int64_t i = 0; i < r * c; i++) {
        float w;
        memcpy(&w, want + i * 4, 4);
        if (!same_float(x[i], w) && bad++ < 3)
            fprintf(stderr, "  %s[%lld]: got %.9g, numpy says %.9g\n", name, (long long)i,
                    (double)x[i], (double)w);
    }
    CHECK_EQ_INT(bad, 0);
done:
    free(want);
    free(x);
    free(path);
    free(want_path);
}

static void check_bad(const char *dir, const char *name, const char *text)
{
    char *path = mer_strfmt("%s/%s.npy", dir, name);
    float *x = (float *)1;
    int64_t r, c;
    CHECK(mer_npy_read_matrix(path, &x, &r, &c) == -1);
    CHECK(x == NULL);
    CHECK(strchr(mer_errmsg(), '\n') == NULL);
    if (!strstr(mer_errmsg(), path) || !strstr(mer_errmsg(), text)) {
        fprintf(stderr, "  %s: message: %s\n  %s: wanted:  '%s' and '%s'\n", name, mer_errmsg(),
                name, path, text);
        CHECK(0);
    }
    free(x == (float *)1 ? NULL : x);
    free(path);
}

/* Runs the oracle and walks its cases.txt. */
static void numpy_files(int *n_good, int *n_bad)
{
    const char *dir = test_tmpdir();
    char *cmd = mer_strfmt("'%s' '%s/tests/oracle/store_npy.py' '%s'", MER_TEST_PYTHON,
                           MER_TEST_SOURCE_DIR, dir);
    char *cases = mer_path_join(dir, "cases.txt"), *text = NULL, *line, *save = NULL;
    CHECK(system(cmd) == 0);
    CHECK(mer_read_file(cases, &text, NULL) == 0);
    for (line = text ? strtok_r(text, "\n", &save) : NULL; line;
         line = strtok_r(NULL, "\n", &save)) {
        char kind[8], name[64];
        long long rows, cols;
        int used = 0;
        if (sscanf(line, "%7s %63s %n", kind, name, &used) < 2) {
            CHECK(0);
            continue;
        }
        if (!strcmp(kind, "ok") && sscanf(line + used, "%lld %lld", &rows, &cols) == 2) {
            check_good(dir, name, rows, cols);
            (*n_good)++;
        } else {
            check_bad(dir, name, line + used);
            (*n_bad)++;
        }
    }
    free(text);
    free(cases);
    free(cmd);
}

static void in_memory(void)
{
    /* A hand-made header: every byte is known, so the error positions are too. */
    static const char hdr[] = "\x93NUMPY\x01\x00\x46\x00{'descr': '<f4', 'fortran_order': "
                              "False, 'shape': (2,), }            \n";
    unsigned char buf[128];
    struct mer_npy_header h;
    float v[2] = {1.5f, -2}, *x = NULL;
    int64_t r, c;
    size_t n = sizeof(hdr) - 1;
    CHECK_EQ_INT(n, 80);
    memcpy(buf, hdr, n);
    memcpy(buf + n, v, sizeof(v));
    CHECK(mer_npy_parse("mem", buf, n + 8, &h) == 0);
    CHECK_EQ_INT(h.data_offset, 80);
    CHECK_EQ_INT(h.ndim, 1);
    CHECK_EQ_INT(h.shape[0], 2);
    CHECK_EQ_STR(h.descr, "<f4");
    CHECK(mer_npy_decode_matrix("mem", buf, n + 8, &x, &r, &c) == 0);
    CHECK(x && r == 1 && c == 2 && x[0] == 1.5f && x[1] == -2);
    free(x);
    /* Every truncation is refused, none crashes. */
    for (size_t k = 0; k < n + 8; k++) {
        CHECK(mer_npy_decode_matrix("mem", buf, k, &x, &r, &c) == -1);
        CHECK(x == NULL && strstr(mer_errmsg(), "'mem'") == mer_errmsg());
    }
    buf[10] = '[';
    CHECK(mer_npy_parse("mem", buf, n + 8, &h) == -1);
    CHECK_EQ_STR(mer_errmsg(), "'mem': byte 10: header is not a Python dict literal");
}

int main(void)
{
    int n_good = 0, n_bad = 0;
    TEST("in memory: positions, truncation") in_memory();
    TEST("numpy-written files") numpy_files(&n_good, &n_bad);
    printf("%d numpy files read, %d broken ones refused\n", n_good, n_bad);
    CHECK(n_good >= 30 && n_bad >= 30);
    return test_report();
}
