/* The per-frame loops of the Kaldi features (kaldi_impl.h). */
#include "features/kaldi_impl.h"

#include <math.h>

static int portable_only;

void mer_kaldi_set_portable(int on)
{
    portable_only = on;
}

double mer_kaldi_sum_squares(const double *x, size_t n)
{
    double s[4] = {0};
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int j = 0; j < 4; j++)
            s[j] += x[i + j] * x[i + j];
    for (; i < n; i++)
        s[0] += x[i] * x[i];
    return (s[0] + s[2]) + (s[1] + s[3]);
}

void mer_kaldi_remove_mean(double *x, size_t n)
{
    double s[4] = {0}, mean;
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int j = 0; j < 4; j++)
            s[j] += x[i + j];
    for (; i < n; i++)
        s[0] += x[i];
    mean = ((s[0] + s[2]) + (s[1] + s[3])) / (double)n;
    for (i = 0; i < n; i++)
        x[i] -= mean;
}

void mer_kaldi_preemph_window(double *x, size_t n, double c, const double *window)
{
    for (size_t i = n; i-- > 1;)
        x[i] = (x[i] - c * x[i - 1]) * window[i];
    x[0] = (x[0] - c * x[0]) * window[0];
}

void mer_kaldi_mel(const struct mer_kaldi *k, const float *power, float *mel)
{
    for (int b = 0; b < k->o.num_mel_bins; b++) {
        const float *w = k->mel_w + k->mel_off[b], *p = power + k->mel_start[b];
        float s = 0.0f;
        for (size_t i = 0; i < k->mel_len[b]; i++)
            s += w[i] * p[i];
        mel[b] = s;
    }
}

void mer_kaldi_log_floor(float *x, size_t n, float floor)
{
    for (size_t i = 0; i < n; i++)
        x[i] = logf(x[i] > floor ? x[i] : floor);
}
