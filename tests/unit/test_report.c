/* mer report's library: resample indices as documented, cells (mean, sample std, best), pairing
 * of identical runs (no difference: p = 1, CI [0, 0]) and the formats' names. */
#include "mer/error.h"
#include "mer/fs.h"
#include "mer/report.h"
#include "mer/rng.h"
#include "testhelp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A finished run: 4 cv samples, cv WAF waf, predictions pred (4 class letters a/b). */
static void make_run(const char *dir, const char *mode, int seed, double waf, const char *pred)
{
    char *path;
    FILE *f;
    const char labels[] = "abab";
    path = mer_strfmt("%s/predictions", dir);
    mer_mkdir_p(path);
    free(path);
    path = mer_path_join(dir, "config.json");
    f = fopen(path, "w");
    fprintf(f, "{\"model\": {\"mode\": \"%s\"}, \"train\": {\"seed\": %d}}\n", mode, seed);
    fclose(f);
    free(path);
    path = mer_path_join(dir, "metrics.json");
    f = fopen(path, "w");
    fprintf(f,
            "{\"cv\": {\"waf\": %.17g, \"accuracy\": 0.5, \"macro_f1\": 0.25, \"per_class\": "
            "{\"a\": {\"f1\": 0.5}, \"b\": {\"f1\": 0.5}}}}\n",
            waf);
    fclose(f);
    free(path);
    path = mer_strfmt("%s/predictions/cv.csv", dir);
    f = fopen(path, "w");
    fprintf(f, "name,p_a,p_b,prediction,label\n");
    for (int i = 0; i < 4; i++)
        fprintf(f, "s%d,0.5,0.5,%c,%c\n", 3 - i, pred[i], labels[i]);
    fclose(f);
    free(path);
}

int main(void)
{
    const char *tmp = getenv("MER_TEST_TMP") ? getenv("MER_TEST_TMP") : "/tmp/test_report";
    char *sweep = mer_path_join(tmp, "sweep"), *dir;
    TEST("resample indices are mer_rng_below(n) draws from one generator")
    {
        size_t idx[5 * 7];
        struct mer_rng r;
        mer_report_resample_indices(99, 7, 5, idx);
        mer_rng_seed(&r, 99);
        for (size_t i = 0; i < 5 * 7; i++)
            CHECK(idx[i] == mer_rng_below(&r, 7));
    }
    TEST("format names")
    {
        enum mer_report_format f;
        CHECK(mer_report_format_parse("latex", &f) == 0 && f == MER_REPORT_LATEX);
        CHECK(mer_report_format_parse("tex", &f) == -1);
        CHECK(strstr(mer_errmsg(), "'tex'") != NULL);
    }
    TEST("rows, cells and a baseline that equals its row")
    {
        const char *paths[1];
        struct mer_report r = MER_REPORT_INIT;
        struct mer_report_params p = mer_report_default_params();
        const struct mer_report_cell *c;
        const char *runs[][3] = {
            {"x-0", "x", "abbb"}, {"x-1", "x", "abbb"}, {"y-0", "y", "abbb"}, {"y-1", "y", "abbb"}};
        const double waf[] = {0.5, 0.6, 0.1, 0.2};
        for (int i = 0; i < 4; i++) {
            dir = mer_path_join(sweep, runs[i][0]);
            make_run(dir, runs[i][1], i % 2, waf[i], runs[i][2]);
            free(dir);
        }
        paths[0] = sweep;
        p.baseline = "model.mode=y";
        p.resamples = 50;
        CHECK(mer_report_build(&r, paths, 1, &p) == 0);
        CHECK_EQ_INT((int)r.n_rows, 2);
        CHECK_EQ_INT((int)r.n_keys, 1);
        CHECK_EQ_STR(r.keys[0], "model.mode");
        CHECK_EQ_STR(r.rows[0].values[0], "\"x\"");
        c = mer_report_cell(&r, 0, 0, MER_REPORT_WAF);
        CHECK_EQ_INT((int)c->n, 2);
        CHECK_NEAR(c->mean, 0.55, 1e-15);
        CHECK_NEAR(c->std, sqrt(0.005), 1e-15);
        CHECK(c->best && !mer_report_cell(&r, 1, 0, MER_REPORT_WAF)->best);
        CHECK_EQ_INT((int)r.baseline, 1);
        CHECK(r.rows[0].cmp[0].valid && !r.rows[0].cmp[0].by_order);
        CHECK_NEAR(r.rows[0].cmp[0].delta[MER_REPORT_WAF], 0.4, 1e-15);
        /* the same predictions: every resample's difference is 0 */
        CHECK(r.rows[0].cmp[0].p == 1 && r.rows[0].cmp[0].ci_lo == 0 &&
              r.rows[0].cmp[0].ci_hi == 0);
        CHECK(r.rows[0].cmp[0].waf_diff == 0);
        mer_report_release(&r);
    }
    TEST("no run found")
    {
        const char *paths[] = {tmp};
        struct mer_report r = MER_REPORT_INIT;
        struct mer_report_params p = mer_report_default_params();
        dir = mer_path_join(tmp, "empty");
        mer_mkdir_p(dir);
        paths[0] = dir;
        CHECK(mer_report_build(&r, paths, 1, &p) == -1);
        CHECK(strstr(mer_errmsg(), "no run directory") != NULL);
        mer_report_release(&r);
        free(dir);
    }
    free(sweep);
    return test_report();
}
