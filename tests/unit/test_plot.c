/* plot.h: calibration bins and ECE by hand, the bar chart from plain data (SVG metadata, PNG
 * signature, the same bytes twice), bad parameters refused. */
#include "mer/error.h"
#include "mer/fs.h"
#include "mer/plot.h"
#include "testhelp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static char *read_all(const char *path, size_t *n)
{
    char *d = NULL;
    return mer_read_file(path, &d, n) == 0 ? d : NULL;
}

int main(void)
{
    TEST("calibration bins are (b/B, (b+1)/B], ECE by hand")
    {
        /* 4 bins: 0.25 -> bin 0 (edge goes down), 0.3 -> 1, 0.9 and 1.0 -> 3, 0 -> 0 */
        double conf[] = {0.25, 0.3, 0.9, 1.0, 0.0};
        int ok[] = {1, 0, 1, 0, 0};
        struct mer_calibration c;
        double want;
        CHECK(mer_calibration_compute(&c, conf, ok, 5, 4) == 0);
        CHECK(c.count[0] == 2 && c.count[1] == 1 && c.count[2] == 0 && c.count[3] == 2);
        CHECK_NEAR(c.acc[0], 0.5, 0);
        CHECK_NEAR(c.conf[3], 0.95, 1e-15);
        want = 2.0 / 5 * fabs(0.5 - 0.125) + 1.0 / 5 * 0.3 + 2.0 / 5 * fabs(0.5 - 0.95);
        CHECK_NEAR(c.ece, want, 1e-15);
        CHECK_NEAR(c.accuracy, 0.4, 1e-15);
        mer_calibration_release(&c);
        mer_calibration_release(NULL);
        conf[1] = 1.5;
        CHECK(mer_calibration_compute(&c, conf, ok, 5, 4) == -1);
        CHECK(strstr(mer_errmsg(), "outside [0, 1]") != NULL);
        CHECK(mer_calibration_compute(&c, conf, ok, 0, 4) == -1);
    }
    TEST("bars from plain data: SVG text and metadata, PNG, deterministic")
    {
        const char *rows[] = {"priors", "no <priors> & co"};
        const char *classes[] = {"neutral", "angry", "happy"};
        double v[] = {0.5, 0.7, 0.2, 0.4, 0.6, 0.1}, sd[] = {0.05, 0.1, 0, 0.02, 0.03, 0.01};
        struct mer_plot_params pp = mer_plot_default_params();
        char base[4200], path[4300];
        char *a, *b;
        size_t na, nb;
        snprintf(base, sizeof(base), "%s/bars", test_tmpdir());
        CHECK(mer_plot_bars(base, &pp, rows, 2, classes, 3, v, sd, NULL) == 0);
        snprintf(path, sizeof(path), "%s.svg", base);
        a = read_all(path, &na);
        CHECK(a && strstr(a, "<title>per-class F1</title>"));
        CHECK(a && strstr(a, "\"bars\":6"));
        CHECK(a && strstr(a, "no &lt;priors&gt; &amp; co\n")); /* escaped in <desc> */
        snprintf(path, sizeof(path), "%s.png", base);
        b = read_all(path, &nb);
        CHECK(b && nb > 8 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8));
        CHECK(mer_plot_bars(base, &pp, rows, 2, classes, 3, v, sd, NULL) == 0);
        free(a);
        a = read_all(path, &na);
        CHECK(a && na == nb && !memcmp(a, b, na));
        free(a);
        free(b);
    }
    TEST("bad parameters are errors")
    {
        const char *rows[] = {"r"}, *classes[] = {"c"};
        double v[] = {NAN};
        struct mer_plot_params pp = mer_plot_default_params();
        char base[4200];
        unsigned f;
        snprintf(base, sizeof(base), "%s/bad", test_tmpdir());
        CHECK(mer_plot_bars(base, &pp, rows, 1, classes, 1, v, NULL, NULL) == -1);
        v[0] = 0.5;
        pp.width = 50;
        CHECK(mer_plot_bars(base, &pp, rows, 1, classes, 1, v, NULL, NULL) == -1);
        CHECK(strstr(mer_errmsg(), "plot size") != NULL);
        CHECK(mer_plot_parse_format("jpg", &f) == -1);
        CHECK(mer_plot_parse_format("both", &f) == 0 && f == (MER_PLOT_SVG | MER_PLOT_PNG));
    }
    return test_report();
}
