/* Metrics against scikit-learn (tests/oracle/metrics_sklearn.py) to 1e-9, plus edge cases. */
#include "mer/error.h"
#include "mer/metrics.h"
#include "testhelp.h"

#include <math.h>

#define MAX_N 512

static int read_case(FILE *f, int *k, size_t *n, int64_t *t, int64_t *p, double *want, double *f1,
                     double *reg)
{
    long long v;
    if (fscanf(f, "%d %zu", k, n) != 2)
        return 0;
    if (*n > MAX_N || *k > 16)
        return -1;
    for (size_t i = 0; i < *n; i++)
        if (fscanf(f, "%lld", &v) == 1)
            t[i] = v;
    for (size_t i = 0; i < *n; i++)
        if (fscanf(f, "%lld", &v) == 1)
            p[i] = v;
    for (int i = 0; i < 5; i++)
        if (fscanf(f, "%lf", &want[i]) != 1)
            return -1;
    for (int i = 0; i < *k; i++)
        if (fscanf(f, "%lf", &f1[i]) != 1)
            return -1;
    return fscanf(f, "%lf %lf", &reg[0], &reg[1]) == 2 ? 1 : -1;
}

static void against_sklearn(void)
{
    char path[4200];
    FILE *f;
    int k, r, ncases = 0;
    size_t n;
    static int64_t t[MAX_N], p[MAX_N];
    double want[5], f1[16], reg[2], maxdiff = 0;
    snprintf(path, sizeof(path), "%s/metrics.txt", test_tmpdir());
    CHECK(test_oracle("metrics_sklearn.py '%s'", path) == 0);
    f = fopen(path, "r");
    CHECK(f != NULL);
    if (!f)
        return;
    while ((r = read_case(f, &k, &n, t, p, want, f1, reg)) == 1) {
        struct mer_metrics m;
        double a[MAX_N], b[MAX_N];
        double got[5];
        CHECK(mer_metrics_compute(&m, t, p, n, k) == 0);
        got[0] = m.accuracy, got[1] = m.waf, got[2] = m.macro_f1;
        got[3] = m.weighted_precision, got[4] = m.weighted_recall;
        for (int i = 0; i < 5; i++) {
            CHECK_NEAR(got[i], want[i], 1e-9);
            maxdiff = fmax(maxdiff, fabs(got[i] - want[i]));
        }
        for (int i = 0; i < k; i++)
            CHECK_NEAR(m.f1[i], f1[i], 1e-9);
        for (size_t i = 0; i < n; i++) {
            a[i] = (double)t[i] * 0.5 + sin((double)i);
            b[i] = (double)p[i] * 0.4 - 0.1;
        }
        CHECK_NEAR(mer_mse(a, b, n), reg[0], 1e-9);
        CHECK_NEAR(mer_ccc(a, b, n), reg[1], 1e-9);
        mer_metrics_release(&m);
        ncases++;
    }
    fclose(f);
    CHECK(r == 0);
    CHECK(ncases >= 36);
    printf("metrics vs sklearn: %d cases, maxdiff %.3g\n", ncases, maxdiff);
}

int main(void)
{
    TEST("agrees with scikit-learn") against_sklearn();
    TEST("confusion matrix rows are truth, columns predictions")
    {
        int64_t t[] = {0, 0, 1, 2}, p[] = {0, 1, 1, 1};
        struct mer_metrics m;
        CHECK(mer_metrics_compute(&m, t, p, 4, 3) == 0);
        CHECK_EQ_INT(m.confusion[0 * 3 + 1], 1);
        CHECK_EQ_INT(m.confusion[2 * 3 + 1], 1);
        CHECK_EQ_INT(m.support[0], 2);
        CHECK_EQ_INT(m.predicted[1], 3);
        CHECK_NEAR(m.accuracy, 0.5, 1e-12);
        mer_metrics_release(&m);
    }
    TEST("out-of-range labels are errors, empty input is zeros")
    {
        int64_t t[] = {0, 7}, p[] = {0, 1};
        struct mer_metrics m;
        CHECK(mer_metrics_compute(&m, t, p, 2, 6) == -1);
        CHECK(strstr(mer_errmsg(), "sample 1") != NULL);
        CHECK(mer_metrics_compute(&m, t, p, 0, 6) == 0);
        CHECK_NEAR(m.waf, 0, 0);
        mer_metrics_release(&m);
        mer_metrics_release(NULL);
    }
    return test_report();
}
