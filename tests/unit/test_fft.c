/* The real FFT against a direct DFT in double, at every size the features use and a few more. */
#include "mer/error.h"
#include "mer/fft.h"
#include "mer/rng.h"
#include "testhelp.h"

#include <math.h>
#include <stdlib.h>

static double worst_error(size_t n, struct mer_rng *r)
{
    mer_fft *f;
    float *x = malloc(n * sizeof(float)), *X = malloc((n + 2) * sizeof(float));
    float *work = malloc((n + 2) * sizeof(float)), *p = malloc((n / 2 + 1) * sizeof(float));
    double worst = 0, scale = sqrt((double)n);
    if (mer_fft_open(&f, n) < 0)
        return 1e9;
    for (size_t i = 0; i < n; i++)
        x[i] = (float)mer_rng_normal(r);
    mer_fft_real(f, x, X);
    mer_fft_power(f, x, work, p);
    for (size_t k = 0; k <= n / 2; k++) {
        double re = 0, im = 0, e;
        for (size_t t = 0; t < n; t++) {
            double a = -2.0 * M_PI * (double)((k * t) % n) / (double)n;
            re += x[t] * cos(a);
            im += x[t] * sin(a);
        }
        e = fmax(fabs(re - X[2 * k]), fabs(im - X[2 * k + 1])) / scale;
        worst = fmax(worst, e);
        worst = fmax(worst, fabs(re * re + im * im - p[k]) / (re * re + im * im + n));
    }
    mer_fft_close(f);
    free(x);
    free(X);
    free(work);
    free(p);
    return worst;
}

int main(void)
{
    TEST("every bin agrees with a direct DFT (relative to sqrt(n))")
    {
        struct mer_rng r;
        mer_rng_seed(&r, 7);
        for (size_t n = 4; n <= 4096; n *= 2)
            CHECK(worst_error(n, &r) < 1e-5);
    }
    TEST("the portable path too")
    {
        struct mer_rng r;
        mer_rng_seed(&r, 8);
        mer_fft_set_portable(1);
        for (size_t n = 4; n <= 4096; n *= 2)
            CHECK(worst_error(n, &r) < 1e-5);
        mer_fft_set_portable(0);
    }
    TEST("sizes that are not powers of two are refused")
    {
        mer_fft *f = NULL;
        CHECK(mer_fft_open(&f, 400) < 0 && !f);
        CHECK(strstr(mer_errmsg(), "power of two") != NULL);
        CHECK(mer_fft_open(&f, 2) < 0);
        CHECK(mer_fft_open(&f, 0) < 0);
    }
    return test_report();
}
