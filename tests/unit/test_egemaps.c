/*
 * eGeMAPS on synthetic signals whose truth is known: the pitch of harmonic tones, jitter and
 * shimmer of a pulse train with set period and amplitude perturbation, HNR of a tone in white
 * noise, the formants of a source-filter vowel, loudness against amplitude, Leq against the
 * signal power, voiced segments of a tone-burst pattern, silence, short and bad input, the
 * name table, thread safety and throughput. Each tolerance is stated beside its check.
 */
#include "mer/egemaps.h"
#include "mer/error.h"
#include "mer/rng.h"
#include "testhelp.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define SR 16000

static int name_index(const char *name)
{
    for (int i = 0; i < MER_EGEMAPS_DIM; i++)
        if (!strcmp(mer_egemaps_names[i], name))
            return i;
    fprintf(stderr, "no functional '%s'\n", name);
    exit(1);
}

#define FEAT(f, name) ((f)[name_index(name)])

static double semitone(double hz)
{
    return 12.0 * log2(hz / 27.5);
}

/* sum_k sin(2 pi k f0 t) / k, k = 1..10, times amp. */
static float *harmonic_tone(double f0, double amp, double secs, size_t *n)
{
    float *x;
    *n = (size_t)(secs * SR);
    x = malloc(*n * sizeof(float));
    for (size_t i = 0; i < *n; i++) {
        double s = 0;
        for (int k = 1; k <= 10; k++)
            s += sin(2.0 * M_PI * k * f0 * (double)i / SR) / k;
        x[i] = (float)(amp * s);
    }
    return x;
}

/* A pulse train of damped 600 Hz sinusoids (one formant): pulse i starts at a fractional
 * time; its period alternates T0 (1 + d), T0 (1 - d) and its amplitude alternates 1 and
 * 10^(shimmer_db / 20). */
static float *pulse_train(double f0, double d, double shimmer_db, double secs, size_t *n)
{
    double t = 0.005, t0 = 1.0 / f0, tau = 0.0015, ratio = pow(10.0, shimmer_db / 20.0);
    float *x;
    int i = 0;
    *n = (size_t)(secs * SR);
    x = calloc(*n, sizeof(float));
    while (t < secs) {
        double a = 0.3 * (i % 2 ? ratio : 1.0);
        size_t s0 = (size_t)ceil(t * SR);
        for (size_t s = s0; s < *n && s < s0 + (size_t)(10 * tau * SR); s++) {
            double dt = (double)s / SR - t;
            x[s] += (float)(a * exp(-dt / tau) * sin(2.0 * M_PI * 600.0 * dt));
        }
        t += t0 * (i % 2 ? 1.0 - d : 1.0 + d);
        i++;
    }
    return x;
}

/* An impulse train at f0 through a one-pole glottal low-pass (-6 dB per octave above about
 * 100 Hz, source and lip radiation together) and five two-pole resonators (formants and
 * bandwidths), scaled to a peak of 0.3. Five, as the order-11 LPC models five formants and
 * a tilt. */
static float *vowel(double f0, const double *fc, const double *bw, double secs, size_t *n)
{
    float *x;
    double y1[5] = {0}, y2[5] = {0}, peak = 0, glottal = 0;
    size_t period = (size_t)lround(SR / f0);
    *n = (size_t)(secs * SR);
    x = malloc(*n * sizeof(float));
    for (size_t i = 0; i < *n; i++) {
        double v = glottal = (i % period == 0 ? 1.0 : 0.0) + 0.96 * glottal;
        for (int k = 0; k < 5; k++) {
            double r = exp(-M_PI * bw[k] / SR), th = 2.0 * M_PI * fc[k] / SR;
            double y = (1.0 - r) * v + 2.0 * r * cos(th) * y1[k] - r * r * y2[k];
            y2[k] = y1[k];
            y1[k] = y;
            v = y;
        }
        x[i] = (float)v;
        peak = fmax(peak, fabs(v));
    }
    for (size_t i = 0; i < *n; i++)
        x[i] = (float)(x[i] * 0.3 / peak);
    return x;
}

static int all_finite(const float *f)
{
    for (int i = 0; i < MER_EGEMAPS_DIM; i++)
        if (!isfinite(f[i]))
            return 0;
    return 1;
}

static void compute(const mer_egemaps *e, const float *x, size_t n, float *f)
{
    if (mer_egemaps_compute(e, x, n, f) < 0) {
        fprintf(stderr, "compute failed: %s\n", mer_errmsg());
        exit(1);
    }
}

static void test_names(void)
{
    TEST("88 distinct names in openSMILE's order")
    {
        CHECK_EQ_STR(mer_egemaps_names[0], "F0semitoneFrom27.5Hz_sma3nz_amean");
        CHECK_EQ_STR(mer_egemaps_names[5], "F0semitoneFrom27.5Hz_sma3nz_pctlrange0-2");
        CHECK_EQ_STR(mer_egemaps_names[10], "loudness_sma3_amean");
        CHECK_EQ_STR(mer_egemaps_names[20], "spectralFlux_sma3_amean");
        CHECK_EQ_STR(mer_egemaps_names[30], "jitterLocal_sma3nz_amean");
        CHECK_EQ_STR(mer_egemaps_names[58], "alphaRatioV_sma3nz_amean");
        CHECK_EQ_STR(mer_egemaps_names[76], "alphaRatioUV_sma3nz_amean");
        CHECK_EQ_STR(mer_egemaps_names[81], "loudnessPeaksPerSec");
        CHECK_EQ_STR(mer_egemaps_names[87], "equivalentSoundLevel_dBp");
        CHECK_EQ_STR(mer_egemaps_lld_names[10], "F0semitoneFrom27.5Hz_sma3nz");
        int dup = 0;
        for (int i = 0; i < MER_EGEMAPS_DIM; i++) {
            CHECK(mer_egemaps_names[i] != NULL);
            for (int j = 0; j < i; j++)
                dup += !strcmp(mer_egemaps_names[i], mer_egemaps_names[j]);
        }
        CHECK_EQ_INT(dup, 0);
    }
}

static void test_pitch(const mer_egemaps *e)
{
    static const double hz[] = {120.0, 220.0};
    for (size_t i = 0; i < MER_ARRAY_SIZE(hz); i++) {
        TEST("pitch of a harmonic tone: within 0.3 semitone, steady")
        {
            size_t n;
            float *x = harmonic_tone(hz[i], 0.1, 1.5, &n), f[MER_EGEMAPS_DIM];
            compute(e, x, n, f);
            printf("pitch %.0f Hz: F0 amean %.3f st (truth %.3f), p50 %.3f, cov %.5f\n", hz[i],
                   FEAT(f, "F0semitoneFrom27.5Hz_sma3nz_amean"), semitone(hz[i]),
                   FEAT(f, "F0semitoneFrom27.5Hz_sma3nz_percentile50.0"),
                   FEAT(f, "F0semitoneFrom27.5Hz_sma3nz_stddevNorm"));
            CHECK_NEAR(FEAT(f, "F0semitoneFrom27.5Hz_sma3nz_amean"), semitone(hz[i]), 0.3);
            CHECK_NEAR(FEAT(f, "F0semitoneFrom27.5Hz_sma3nz_percentile50.0"), semitone(hz[i]), 0.3);
            CHECK(FEAT(f, "F0semitoneFrom27.5Hz_sma3nz_pctlrange0-2") < 0.1);
            CHECK_NEAR(FEAT(f, "VoicedSegmentsPerSec"), 1.0 / 1.49, 0.05); /* one segment */
            CHECK(all_finite(f));
            free(x);
        }
    }
}

/* openSMILE's shimmer of alternating amplitudes 1 and r: 20 log10(1 + 2 (r - 1) / (r + 1)). */
static double shimmer_truth(double db)
{
    double r = pow(10.0, db / 20.0);
    return 20.0 * log10(1.0 + 2.0 * (r - 1.0) / (r + 1.0));
}

static void test_jitter_shimmer(const mer_egemaps *e)
{
    static const double jit[] = {0.01, 0.03}, shim[] = {0.5, 1.5};
    for (size_t i = 0; i < 2; i++) {
        TEST("jitter of alternating periods: 2d, within 20% (relative)")
        {
            size_t n;
            float *x = pulse_train(120.0, jit[i] / 2.0, 0.0, 1.5, &n), f[MER_EGEMAPS_DIM];
            compute(e, x, n, f);
            printf("jitter %.3f: measured %.4f, shimmer %.3f dB (truth 0)\n", jit[i],
                   FEAT(f, "jitterLocal_sma3nz_amean"), FEAT(f, "shimmerLocaldB_sma3nz_amean"));
            CHECK_NEAR(FEAT(f, "jitterLocal_sma3nz_amean"), jit[i], 0.2 * jit[i]);
            CHECK(FEAT(f, "shimmerLocaldB_sma3nz_amean") < 0.15);
            free(x);
        }
        TEST("shimmer of alternating amplitudes: openSMILE's dB, within 0.1 dB")
        {
            size_t n;
            float *x = pulse_train(120.0, 0.0, shim[i], 1.5, &n), f[MER_EGEMAPS_DIM];
            compute(e, x, n, f);
            printf("shimmer %.1f dB: measured %.3f dB (truth %.3f), jitter %.4f (truth 0)\n",
                   shim[i], FEAT(f, "shimmerLocaldB_sma3nz_amean"), shimmer_truth(shim[i]),
                   FEAT(f, "jitterLocal_sma3nz_amean"));
            CHECK_NEAR(FEAT(f, "shimmerLocaldB_sma3nz_amean"), shimmer_truth(shim[i]), 0.1);
            CHECK(FEAT(f, "jitterLocal_sma3nz_amean") < 0.003);
            free(x);
        }
    }
}

/* HNR by openSMILE's definition on a Gaussian-windowed 60 ms frame: with rho the window's
 * normalised autocorrelation at the period, 10 log10(rho S / ((1 - rho) S + N)). */
static double hnr_truth(double snr_db, double lag)
{
    double num = 0, den = 0, half = (960.0 - 1.0) / 2.0, s = pow(10.0, snr_db / 10.0);
    for (int i = 0; i < 960; i++) {
        double a = ((double)i - half) / (0.4 * half), b = ((double)i + lag - half) / (0.4 * half);
        double wa = exp(-0.5 * a * a), wb = i + lag < 960 ? exp(-0.5 * b * b) : 0.0;
        num += wa * wb;
        den += wa * wa;
    }
    double rho = num / den;
    return 10.0 * log10(rho * s / ((1.0 - rho) * s + 1.0));
}

static void test_hnr(const mer_egemaps *e)
{
    static const double snr[] = {5.0, 10.0, 20.0};
    for (size_t i = 0; i < MER_ARRAY_SIZE(snr); i++) {
        TEST("HNR of a 125 Hz tone in white noise: within 1 dB of the ACF truth")
        {
            size_t n;
            float *x = harmonic_tone(125.0, 0.1, 1.5, &n), f[MER_EGEMAPS_DIM];
            double p = 0;
            struct mer_rng r;
            mer_rng_seed(&r, 7 + i);
            for (size_t k = 0; k < n; k++)
                p += (double)x[k] * x[k];
            p /= (double)n;
            double sd = sqrt(p / pow(10.0, snr[i] / 10.0));
            for (size_t k = 0; k < n; k++)
                x[k] += (float)(sd * mer_rng_normal(&r));
            compute(e, x, n, f);
            printf("HNR at SNR %.0f dB: measured %.2f dB (truth %.2f)\n", snr[i],
                   FEAT(f, "HNRdBACF_sma3nz_amean"), hnr_truth(snr[i], 128));
            CHECK_NEAR(FEAT(f, "HNRdBACF_sma3nz_amean"), hnr_truth(snr[i], 128), 1.0);
            free(x);
        }
    }
}

static void test_formants(const mer_egemaps *e)
{
    TEST("formants of a source-filter /a/ (700, 1220, 2600, 3300, 4200 Hz): F1-F3 within 8%")
    {
        static const double fc[5] = {700, 1220, 2600, 3300, 4200}, bw[5] = {60, 70, 110, 150, 200};
        size_t n;
        float *x = vowel(120.0, fc, bw, 1.5, &n), f[MER_EGEMAPS_DIM];
        compute(e, x, n, f);
        printf("formants: F1 %.0f F2 %.0f F3 %.0f Hz (bandwidths %.0f %.0f %.0f), F0 %.2f st\n",
               FEAT(f, "F1frequency_sma3nz_amean"), FEAT(f, "F2frequency_sma3nz_amean"),
               FEAT(f, "F3frequency_sma3nz_amean"), FEAT(f, "F1bandwidth_sma3nz_amean"),
               FEAT(f, "F2bandwidth_sma3nz_amean"), FEAT(f, "F3bandwidth_sma3nz_amean"),
               FEAT(f, "F0semitoneFrom27.5Hz_sma3nz_amean"));
        CHECK_NEAR(FEAT(f, "F1frequency_sma3nz_amean"), 700, 0.08 * 700);
        CHECK_NEAR(FEAT(f, "F2frequency_sma3nz_amean"), 1220, 0.08 * 1220);
        CHECK_NEAR(FEAT(f, "F3frequency_sma3nz_amean"), 2600, 0.08 * 2600);
        CHECK_NEAR(FEAT(f, "F0semitoneFrom27.5Hz_sma3nz_amean"), semitone(120.0), 0.3);
        CHECK(all_finite(f));
        free(x);
    }
}

static void test_loudness_leq(const mer_egemaps *e)
{
    TEST("loudness grows with amplitude as power^0.33 (ratio within 3%); Leq within 0.2 dB")
    {
        static const double amp[] = {0.02, 0.05, 0.1, 0.2};
        double last = 0, loud[4];
        for (size_t i = 0; i < MER_ARRAY_SIZE(amp); i++) {
            size_t n;
            float *x = harmonic_tone(150.0, amp[i], 1.0, &n), f[MER_EGEMAPS_DIM];
            double p = 0;
            compute(e, x, n, f);
            for (int k = 1; k <= 10; k++)
                p += amp[i] * amp[i] / (2.0 * k * k);
            loud[i] = FEAT(f, "loudness_sma3_amean");
            printf("amplitude %.2f: loudness %.4f, Leq %.2f dB (truth %.2f)\n", amp[i], loud[i],
                   FEAT(f, "equivalentSoundLevel_dBp"), 10.0 * log10(p));
            CHECK(loud[i] > last);
            CHECK_NEAR(FEAT(f, "equivalentSoundLevel_dBp"), 10.0 * log10(p), 0.2);
            last = loud[i];
            free(x);
        }
        CHECK_NEAR(loud[3] / loud[2], pow(4.0, 0.33), 0.03 * pow(4.0, 0.33));
    }
}

static void test_segments(const mer_egemaps *e)
{
    TEST("tone bursts 4 x (0.3 s on, 0.2 s off): 4 voiced segments, lengths within 50 ms")
    {
        size_t n = (size_t)(2.2 * SR), nt;
        float *x = calloc(n, sizeof(float)), *t = harmonic_tone(180.0, 0.1, 0.3, &nt);
        float f[MER_EGEMAPS_DIM];
        for (int b = 0; b < 4; b++)
            memcpy(x + (size_t)((0.2 + 0.5 * b) * SR), t, nt * sizeof(float));
        compute(e, x, n, f);
        double secs = (double)mer_egemaps_frames(e, n) * 0.01;
        printf("bursts: %.3f voiced segments/s (truth %.3f), voiced %.3f s, unvoiced %.3f s\n",
               FEAT(f, "VoicedSegmentsPerSec"), 4.0 / secs, FEAT(f, "MeanVoicedSegmentLengthSec"),
               FEAT(f, "MeanUnvoicedSegmentLength"));
        CHECK_NEAR(FEAT(f, "VoicedSegmentsPerSec"), 4.0 / secs, 1e-4);
        CHECK_NEAR(FEAT(f, "MeanVoicedSegmentLengthSec"), 0.3, 0.05);
        CHECK(FEAT(f, "StddevVoicedSegmentLengthSec") < 0.02);
        CHECK_NEAR(FEAT(f, "MeanUnvoicedSegmentLength"), 0.2, 0.05);
        CHECK_NEAR(FEAT(f, "F0semitoneFrom27.5Hz_sma3nz_amean"), semitone(180.0), 0.3);
        CHECK(all_finite(f));
        free(x);
        free(t);
    }
}

static void test_silence_and_bad_input(const mer_egemaps *e)
{
    TEST("silence: no voiced segment, every value finite")
    {
        size_t n = SR;
        float *x = calloc(n, sizeof(float)), f[MER_EGEMAPS_DIM];
        compute(e, x, n, f);
        CHECK(all_finite(f));
        CHECK(FEAT(f, "VoicedSegmentsPerSec") == 0.0f);
        CHECK(FEAT(f, "F0semitoneFrom27.5Hz_sma3nz_amean") == 0.0f);
        CHECK(FEAT(f, "equivalentSoundLevel_dBp") == -120.0f);
        struct mer_rng r;
        mer_rng_seed(&r, 3);
        for (size_t i = 0; i < n; i++) /* white noise at -80 dB: unvoiced, still finite */
            x[i] = (float)(1e-4 * mer_rng_normal(&r));
        compute(e, x, n, f);
        CHECK(all_finite(f));
        CHECK(FEAT(f, "VoicedSegmentsPerSec") == 0.0f);
        free(x);
    }
    TEST("too short input: all zeros; non-finite samples and bad rates are errors")
    {
        float x[100] = {0}, f[MER_EGEMAPS_DIM];
        mer_egemaps *bad;
        f[0] = 1;
        CHECK_EQ_INT(mer_egemaps_compute(e, x, 100, f), 0);
        CHECK(f[0] == 0.0f && f[87] == 0.0f);
        CHECK_EQ_INT(mer_egemaps_compute(e, x, 0, f), 0);
        CHECK_EQ_INT(mer_egemaps_frames(e, 319), 0);
        CHECK_EQ_INT(mer_egemaps_frames(e, 320), 1);
        x[50] = NAN;
        CHECK_EQ_INT(mer_egemaps_compute(e, x, 100, f), -1);
        CHECK(strstr(mer_errmsg(), "sample 50") != NULL);
        CHECK_EQ_INT(mer_egemaps_open(&bad, 4000), -1);
        CHECK(bad == NULL);
    }
}

static void test_lld(const mer_egemaps *e)
{
    TEST("frame-level descriptors: F0 column of a 220 Hz tone, zeros only at the edges")
    {
        size_t n, frames;
        float *x = harmonic_tone(220.0, 0.1, 1.0, &n);
        frames = mer_egemaps_frames(e, n);
        float *lld = malloc(frames * MER_EGEMAPS_LLD_DIM * sizeof(float));
        CHECK_EQ_INT(mer_egemaps_lld(e, x, n, lld), 0);
        CHECK_EQ_INT(frames, 99);
        size_t voiced = 0;
        for (size_t t = 0; t < frames; t++)
            voiced += fabs(lld[t * MER_EGEMAPS_LLD_DIM + 10] - semitone(220.0)) < 0.3;
        CHECK(voiced >= frames - 6);
        CHECK(lld[50 * MER_EGEMAPS_LLD_DIM + 0] > 0); /* loudness */
        /* the functionals read the same contours: means of the LLD columns agree to 1e-4 */
        float f[MER_EGEMAPS_DIM];
        double f0 = 0, loud = 0;
        size_t nz = 0;
        compute(e, x, n, f);
        for (size_t t = 0; t < frames; t++) {
            f0 += lld[t * MER_EGEMAPS_LLD_DIM + 10];
            nz += lld[t * MER_EGEMAPS_LLD_DIM + 10] != 0.0f;
            loud += lld[t * MER_EGEMAPS_LLD_DIM + 0];
        }
        CHECK_NEAR(loud / (double)frames, FEAT(f, "loudness_sma3_amean"), 1e-4);
        CHECK_NEAR(f0 / (double)nz, FEAT(f, "F0semitoneFrom27.5Hz_sma3nz_amean"), 1e-4);
        free(lld);
        free(x);
    }
    TEST("loudness functionals of a rising tone from its LLD column, recomputed here (1e-4)")
    {
        size_t n, frames;
        float *x = harmonic_tone(200.0, 1.0, 1.0, &n), f[MER_EGEMAPS_DIM];
        for (size_t i = 0; i < n; i++) /* amplitude 0.01 .. 0.3, a ramp */
            x[i] *= (float)(0.01 + 0.29 * (double)i / (double)n);
        frames = mer_egemaps_frames(e, n);
        float *lld = malloc(frames * MER_EGEMAPS_LLD_DIM * sizeof(float));
        float *v = malloc(frames * sizeof(float));
        CHECK_EQ_INT(mer_egemaps_lld(e, x, n, lld), 0);
        compute(e, x, n, f);
        double mean = 0, var = 0, pct[3];
        for (size_t t = 0; t < frames; t++) {
            v[t] = lld[t * MER_EGEMAPS_LLD_DIM];
            mean += v[t];
        }
        mean /= (double)frames;
        for (size_t t = 0; t < frames; t++)
            var += (v[t] - mean) * (v[t] - mean);
        var /= (double)frames;
        for (size_t i = 1; i < frames; i++) /* insertion sort: an independent percentile */
            for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
                float tmp = v[j];
                v[j] = v[j - 1];
                v[j - 1] = tmp;
            }
        for (int k = 0; k < 3; k++) {
            double pos = (0.2 + 0.3 * k) * (double)(frames - 1), lo = floor(pos);
            pct[k] = v[(size_t)lo] + (pos - lo) * (v[(size_t)lo + 1] - v[(size_t)lo]);
        }
        printf("rising tone: loudness amean %.4f stddevNorm %.4f p20 %.4f p50 %.4f p80 %.4f\n",
               mean, sqrt(var) / mean, pct[0], pct[1], pct[2]);
        CHECK_NEAR(FEAT(f, "loudness_sma3_amean"), mean, 1e-4);
        CHECK_NEAR(FEAT(f, "loudness_sma3_stddevNorm"), sqrt(var) / mean, 1e-4);
        CHECK_NEAR(FEAT(f, "loudness_sma3_percentile20.0"), pct[0], 1e-4);
        CHECK_NEAR(FEAT(f, "loudness_sma3_percentile50.0"), pct[1], 1e-4);
        CHECK_NEAR(FEAT(f, "loudness_sma3_percentile80.0"), pct[2], 1e-4);
        CHECK_NEAR(FEAT(f, "loudness_sma3_pctlrange0-2"), pct[2] - pct[0], 1e-4);
        CHECK(FEAT(f, "loudness_sma3_meanRisingSlope") > 0);
        free(v);
        free(lld);
        free(x);
    }
}

struct job {
    const mer_egemaps *e;
    const float *x;
    size_t n;
    float f[MER_EGEMAPS_DIM];
    int rc;
};

static void *run_job(void *arg)
{
    struct job *j = arg;
    j->rc = mer_egemaps_compute(j->e, j->x, j->n, j->f);
    return NULL;
}

static void test_threads_and_speed(const mer_egemaps *e)
{
    static const double fc[5] = {700, 1220, 2600, 3300, 4200}, bw[5] = {60, 70, 110, 150, 200};
    TEST("one handle, four threads: the serial result, bit for bit")
    {
        size_t n;
        float *x = vowel(130.0, fc, bw, 2.0, &n), serial[MER_EGEMAPS_DIM];
        struct job jobs[4];
        pthread_t th[4];
        compute(e, x, n, serial);
        for (int i = 0; i < 4; i++) {
            jobs[i] = (struct job){.e = e, .x = x, .n = n};
            pthread_create(&th[i], NULL, run_job, &jobs[i]);
        }
        for (int i = 0; i < 4; i++) {
            pthread_join(th[i], NULL);
            CHECK_EQ_INT(jobs[i].rc, 0);
            CHECK(!memcmp(jobs[i].f, serial, sizeof(serial)));
        }
        free(x);
    }
}

int main(void)
{
    mer_egemaps *e;
    if (mer_egemaps_open(&e, SR) < 0) {
        fprintf(stderr, "%s\n", mer_errmsg());
        return 1;
    }
    test_names();
    test_pitch(e);
    test_jitter_shimmer(e);
    test_hnr(e);
    test_formants(e);
    test_loudness_leq(e);
    test_segments(e);
    test_silence_and_bad_input(e);
    test_lld(e);
    test_threads_and_speed(e);
    mer_egemaps_close(e);
    return test_report();
}
