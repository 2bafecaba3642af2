/*
 * Kaldi fbank/MFCC (mer/kaldi.h) against torchaudio.compliance.kaldi on real speech that
 * espeak-ng speaks in the oracle (tests/oracle/kaldi_torchaudio.py): every case within 1e-4 of
 * torchaudio run in float64 and within 1e-3 of torchaudio in float32 (as MERTools runs it),
 * or, where torchaudio's float32 result is itself further than that from its float64 one
 * (quiet bins of loud frames), within that distance plus 1e-4; streaming in odd chunks equal to the
 * one-call result bit for bit; the option parser, provenance and the edge cases (short clips,
 * silence, NaN, dither).
 */
#include "features/kaldi_impl.h"
#include "mer/error.h"
#include "mer/kaldi.h"
#include "testhelp.h"

#include <math.h>
#include <pthread.h>

#define TOLERANCE 1e-3 /* against torchaudio in float32 */
#define EXACT     1e-4 /* against torchaudio in float64 */

static char dir[4200];

static float *load_wave(const char *name, size_t *n)
{
    char path[4400];
    FILE *f;
    long bytes;
    snprintf(path, sizeof(path), "%s/%s.f32", dir, name);
    f = fopen(path, "rb");
    if (!f || fseek(f, 0, SEEK_END) != 0 || (bytes = ftell(f)) < 0) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(1);
    }
    fclose(f);
    *n = (size_t)bytes / sizeof(float);
    snprintf(path, sizeof(path), "%s.f32", name);
    return test_read_raw(dir, path, (size_t)bytes);
}

struct rows {
    float *data;
    size_t dim, T, cap;
};

static int append_row(void *ctx, const float *row, size_t t)
{
    struct rows *r = ctx;
    if (t != r->T || t >= r->cap)
        return -1;
    memcpy(r->data + t * r->dim, row, r->dim * sizeof(float));
    r->T++;
    return 0;
}

/* The stream's rows for wave pushed in chunks of the sizes in chunks[] (cycled). */
static int stream_rows(const mer_kaldi *k, const float *wave, size_t n, const size_t *chunks,
                       size_t nchunks, struct rows *r)
{
    mer_kaldi_stream *s;
    int ret = 0;
    r->dim = mer_kaldi_dim(k);
    r->T = 0;
    r->cap = mer_kaldi_frames(k, n);
    r->data = malloc((r->cap + 1) * r->dim * sizeof(float));
    if (mer_kaldi_stream_open(&s, k, append_row, r) < 0)
        return -1;
    for (size_t at = 0, i = 0; at < n && ret == 0; i++) {
        size_t m = chunks[i % nchunks] < n - at ? chunks[i % nchunks] : n - at;
        ret = mer_kaldi_push(s, wave + at, m);
        at += m;
    }
    if (ret == 0)
        ret = mer_kaldi_finish(s);
    mer_kaldi_stream_close(s);
    return ret;
}

static int streams_equal(const mer_kaldi *k, const float *wave, size_t n, const float *rows,
                         size_t T)
{
    static const size_t odd[] = {1, 7, 160, 399, 4097, 3, 401, 12345};
    static const size_t whole[] = {(size_t)1 << 40};
    const size_t *plans[] = {odd, whole, odd + 3};
    size_t counts[] = {MER_ARRAY_SIZE(odd), 1, 1};
    int same = 1;
    for (size_t p = 0; p < 3; p++) {
        struct rows r;
        if (stream_rows(k, wave, n, plans[p], counts[p], &r) < 0 || r.T != T ||
            (T && memcmp(r.data, rows, T * r.dim * sizeof(float)) != 0))
            same = 0;
        free(r.data);
    }
    return same;
}

/* The portable kernels (no AVX2) give the same features to float rounding. */
static void check_portable(const struct mer_kaldi_opts *o, const float *x, size_t n,
                           const float *want, size_t count)
{
    mer_kaldi *k = NULL;
    float *got = NULL;
    size_t T = 0;
    double worst = 0;
    mer_fft_set_portable(1);
    mer_kaldi_set_portable(1);
    CHECK(mer_kaldi_open(&k, o->kind, o) == 0);
    CHECK(k && mer_kaldi_compute(k, x, n, &got, &T) == 0);
    for (size_t i = 0; got && i < count; i++)
        worst = fmax(worst, fabs((double)got[i] - (double)want[i]));
    printf("  portable path: maxdiff %.2e from the AVX2 one\n", worst);
    CHECK(got && worst <= 1e-5);
    mer_fft_set_portable(0);
    mer_kaldi_set_portable(0);
    mer_kaldi_close(k);
    free(got);
}

struct shared {
    const mer_kaldi *k;
    const float *x;
    size_t n;
    float *rows;
    size_t T;
    int ret;
};

static void *compute_thread(void *arg)
{
    struct shared *s = arg;
    s->ret = mer_kaldi_compute(s->k, s->x, s->n, &s->rows, &s->T);
    return NULL;
}

/* Four threads on one plan get the single-threaded rows. */
static void check_threads(const mer_kaldi *k, const float *x, size_t n, const float *want, size_t T)
{
    struct shared s[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        s[i] = (struct shared){k, x, n, NULL, 0, -1};
        CHECK(pthread_create(&th[i], NULL, compute_thread, &s[i]) == 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK(s[i].ret == 0 && s[i].T == T);
        CHECK(s[i].rows && !memcmp(s[i].rows, want, T * mer_kaldi_dim(k) * sizeof(float)));
        free(s[i].rows);
    }
}

/* One oracle case: "name kind wave T dim opt=value ...". */
static void run_case(char *line)
{
    char *name = strtok(line, " \n"), *kind = strtok(NULL, " \n"), *wave = strtok(NULL, " \n");
    size_t T = strtoul(strtok(NULL, " \n"), NULL, 10), dim = strtoul(strtok(NULL, " \n"), NULL, 10);
    struct mer_kaldi_opts o;
    mer_kaldi *k = NULL;
    float *x, *want, *got = NULL;
    double *exact;
    size_t n, gotT = 0;
    double worst = 0, worst64 = 0, theirs = 0;
    int linear = 0;
    char file[128];
    mer_kaldi_defaults(&o, strcmp(kind, "mfcc") ? MER_KALDI_FBANK : MER_KALDI_MFCC);
    for (char *kv; (kv = strtok(NULL, " \n"));) {
        char *eq = strchr(kv, '=');
        *eq = 0;
        CHECK(mer_kaldi_set(&o, kv, eq + 1) == 0);
        linear |= !strcmp(kv, "use_log_fbank");
    }
    x = load_wave(wave, &n);
    snprintf(file, sizeof(file), "%.100s.f32", name);
    want = test_read_raw(dir, file, T * dim * sizeof(float));
    snprintf(file, sizeof(file), "%.100s.f64", name);
    exact = test_read_raw(dir, file, T * dim * sizeof(double));
    CHECK(mer_kaldi_open(&k, o.kind, &o) == 0);
    if (!k) {
        fprintf(stderr, "%s: %s\n", name, mer_errmsg());
        goto done;
    }
    CHECK(mer_kaldi_compute(k, x, n, &got, &gotT) == 0);
    CHECK_EQ_INT(gotT, T);
    CHECK_EQ_INT(mer_kaldi_dim(k), dim);
    if (gotT != T || mer_kaldi_dim(k) != dim)
        goto done;
    for (size_t i = 0; i < T * dim; i++) {
        /* mel energies (not logs) relative to their size */
        double scale = linear ? fmax(1.0, fabs(exact[i])) : 1.0;
        worst = fmax(worst, fabs((double)got[i] - (double)want[i]) / scale);
        worst64 = fmax(worst64, fabs((double)got[i] - exact[i]) / scale);
        theirs = fmax(theirs, fabs((double)want[i] - exact[i]) / scale);
    }
    printf("%-18s %4zu x %-3zu maxdiff %.2e (torchaudio f64: %.2e; its f32 vs f64: %.2e)%s\n", name,
           T, dim, worst, worst64, theirs, linear ? " relative" : "");
    CHECK(worst64 <= EXACT);
    CHECK(worst <= fmax(TOLERANCE, theirs + EXACT));
    if (!o.subtract_mean)
        CHECK(streams_equal(k, x, n, got, T));
    if (!strcmp(name, "fbank_default") || !strcmp(name, "mfcc_default")) {
        check_portable(&o, x, n, got, T * dim);
        check_threads(k, x, n, got, T);
    }
done:
    mer_kaldi_close(k);
    free(x);
    free(want);
    free(exact);
    free(got);
}

static void oracle_cases(void)
{
    char path[4400], line[1024];
    FILE *f;
    snprintf(dir, sizeof(dir), "%s/oracle", test_tmpdir());
    snprintf(path, sizeof(path), "mkdir -p '%s'", dir);
    CHECK(system(path) == 0);
    CHECK(test_oracle("kaldi_torchaudio.py '%s'", dir) == 0);
    snprintf(path, sizeof(path), "%s/cases.txt", dir);
    if (!(f = fopen(path, "r"))) {
        CHECK(!"oracle wrote cases.txt");
        return;
    }
    while (fgets(line, sizeof(line), f))
        TEST(line) run_case(line);
    fclose(f);
}

static void options(void)
{
    struct mer_kaldi_opts o;
    cJSON *j;
    char *text;
    mer_kaldi_defaults(&o, MER_KALDI_FBANK);
    TEST("defaults")
    {
        CHECK_EQ_INT(o.num_mel_bins, 80);
        CHECK(o.dither == 0.0 && o.use_energy == 0 && o.energy_floor == 1.0);
        CHECK(o.window_type == MER_KALDI_WINDOW_POVEY && o.snip_edges && o.use_power);
        CHECK(o.frame_length == 25.0 && o.frame_shift == 10.0 && o.vtln_high == -500.0);
    }
    TEST("set with '_' or '-'")
    {
        CHECK(mer_kaldi_set(&o, "num-mel-bins", "40") == 0 && o.num_mel_bins == 40);
        CHECK(mer_kaldi_set(&o, "window_type", "blackman") == 0);
        CHECK(o.window_type == MER_KALDI_WINDOW_BLACKMAN);
        CHECK(mer_kaldi_set(&o, "snip-edges", "false") == 0 && o.snip_edges == 0);
        CHECK(mer_kaldi_set(&o, "high_freq", "-200.5") == 0 && o.high_freq == -200.5);
    }
    TEST("bad names and values name the option and what is allowed")
    {
        CHECK(mer_kaldi_set(&o, "num_mel_bin", "40") < 0);
        CHECK(strstr(mer_errmsg(), "'num_mel_bin'") && strstr(mer_errmsg(), "num_mel_bins"));
        CHECK(mer_kaldi_set(&o, "num_mel_bins", "3") < 0);
        CHECK(strstr(mer_errmsg(), "'num_mel_bins'") && strstr(mer_errmsg(), "[4, 1024]"));
        CHECK(mer_kaldi_set(&o, "num_mel_bins", "40.5") < 0);
        CHECK(mer_kaldi_set(&o, "window_type", "kaiser") < 0);
        CHECK(strstr(mer_errmsg(), "povey|hanning|hamming|rectangular|blackman"));
        CHECK(mer_kaldi_set(&o, "use_energy", "yes please") < 0);
        CHECK(mer_kaldi_set(&o, "preemphasis_coefficient", "1.5") < 0);
        CHECK(mer_kaldi_set(&o, "frame_shift", "nan") < 0);
        CHECK(mer_kaldi_set(&o, "num_ceps", "13") < 0); /* an mfcc option */
        CHECK(strstr(mer_errmsg(), "not an option of fbank"));
        CHECK_EQ_INT(o.num_mel_bins, 40); /* unchanged by the failures */
    }
    TEST("provenance has every option of the kind")
    {
        j = mer_kaldi_opts_json(&o);
        text = cJSON_PrintUnformatted(j);
        CHECK(text && strstr(text, "\"num_mel_bins\":40") && strstr(text, "\"snip_edges\":false"));
        CHECK(text && strstr(text, "\"window_type\":\"blackman\"") && !strstr(text, "num_ceps"));
        for (size_t i = 0; i < mer_kaldi_option_count(); i++)
            if (mer_kaldi_option(i)->fbank_default)
                CHECK(cJSON_GetObjectItemCaseSensitive(j, mer_kaldi_option(i)->name));
        CHECK(mer_kaldi_option(mer_kaldi_option_count()) == NULL);
        free(text);
        cJSON_Delete(j);
    }
    mer_kaldi_defaults(&o, MER_KALDI_MFCC);
    TEST("mfcc defaults")
    {
        CHECK(o.num_mel_bins == 23 && o.num_ceps == 13 && o.use_energy == 1);
        CHECK(o.cepstral_lifter == 22.0);
        CHECK(mer_kaldi_set(&o, "use_power", "false") < 0);
    }
}

static mer_kaldi *plan(enum mer_kaldi_kind kind, const char *name, const char *value)
{
    struct mer_kaldi_opts o;
    mer_kaldi *k = NULL;
    mer_kaldi_defaults(&o, kind);
    if (name)
        CHECK(mer_kaldi_set(&o, name, value) == 0);
    CHECK(mer_kaldi_open(&k, kind, &o) == 0);
    return k;
}

static void edge_cases(void)
{
    float wave[1600] = {0}, *rows = (float *)1;
    size_t T = 99;
    mer_kaldi *k = plan(MER_KALDI_FBANK, "use_energy", "true");
    struct mer_kaldi_opts o;
    TEST("fewer samples than one frame: 0 frames, no error")
    {
        CHECK(mer_kaldi_compute(k, wave, 399, &rows, &T) == 0 && T == 0 && rows == NULL);
        CHECK(mer_kaldi_compute(k, wave, 0, &rows, &T) == 0 && T == 0);
        CHECK_EQ_INT(mer_kaldi_frames(k, 400), 1);
    }
    TEST("silence: log epsilon and the energy floor, as torchaudio")
    {
        CHECK(mer_kaldi_compute(k, wave, 1600, &rows, &T) == 0 && T == 8);
        CHECK_NEAR(rows[0], 0.0, 0); /* log(energy_floor = 1) */
        CHECK_NEAR(rows[1], log(1.1920928955078125e-07), 1e-6);
        CHECK_NEAR(rows[7 * 81 + 80], log(1.1920928955078125e-07), 1e-6);
        free(rows);
    }
    TEST("NaN and infinity are refused, naming the sample")
    {
        wave[777] = NAN;
        CHECK(mer_kaldi_compute(k, wave, 1600, &rows, &T) < 0 && rows == NULL);
        CHECK(strstr(mer_errmsg(), "sample 777"));
        wave[777] = INFINITY;
        CHECK(mer_kaldi_compute(k, wave, 1600, &rows, &T) < 0);
        wave[777] = 0;
    }
    mer_kaldi_close(k);
    TEST("invalid combinations are refused at open")
    {
        mer_kaldi_defaults(&o, MER_KALDI_FBANK);
        CHECK(mer_kaldi_set(&o, "high_freq", "9000") == 0);
        CHECK(mer_kaldi_open(&k, MER_KALDI_FBANK, &o) < 0 && strstr(mer_errmsg(), "high_freq"));
        mer_kaldi_defaults(&o, MER_KALDI_MFCC);
        CHECK(mer_kaldi_open(&k, MER_KALDI_FBANK, &o) < 0);
        CHECK(mer_kaldi_set(&o, "num_ceps", "30") == 0);
        CHECK(mer_kaldi_open(&k, MER_KALDI_MFCC, &o) < 0 && strstr(mer_errmsg(), "num_ceps"));
        mer_kaldi_defaults(&o, MER_KALDI_FBANK);
        CHECK(mer_kaldi_set(&o, "round_to_power_of_two", "false") == 0);
        CHECK(mer_kaldi_set(&o, "frame_length", "25.0625") == 0); /* 401 samples */
        CHECK(mer_kaldi_open(&k, MER_KALDI_FBANK, &o) < 0 && strstr(mer_errmsg(), "odd"));
        CHECK(mer_kaldi_set(&o, "frame_length", "500") == 0); /* 8000 samples: no direct DFT */
        CHECK(mer_kaldi_open(&k, MER_KALDI_FBANK, &o) < 0 && strstr(mer_errmsg(), "4096"));
    }
    TEST("subtract_mean streams are refused")
    {
        mer_kaldi_stream *s = (mer_kaldi_stream *)1;
        k = plan(MER_KALDI_FBANK, "subtract_mean", "true");
        CHECK(mer_kaldi_stream_open(&s, k, append_row, NULL) < 0 && s == NULL);
        CHECK(strstr(mer_errmsg(), "subtract_mean"));
        mer_kaldi_close(k);
    }
    TEST("dither is deterministic from its seed and streams the same")
    {
        float *a, *b, *c;
        size_t Ta, Tb, Tc;
        struct rows r;
        static const size_t chunks[] = {33, 1000};
        for (size_t i = 0; i < 1600; i++)
            wave[i] = 0.1f * sinf(0.05f * (float)i);
        k = plan(MER_KALDI_FBANK, "dither", "0.01");
        CHECK(mer_kaldi_compute(k, wave, 1600, &a, &Ta) == 0);
        CHECK(mer_kaldi_compute(k, wave, 1600, &b, &Tb) == 0);
        CHECK(Ta == Tb && !memcmp(a, b, Ta * 80 * sizeof(float)));
        CHECK(stream_rows(k, wave, 1600, chunks, 2, &r) == 0 && r.T == Ta);
        CHECK(!memcmp(a, r.data, Ta * 80 * sizeof(float)));
        free(r.data);
        free(b);
        mer_kaldi_close(k);
        struct mer_kaldi_opts d;
        mer_kaldi_defaults(&d, MER_KALDI_FBANK);
        CHECK(mer_kaldi_set(&d, "dither", "0.01") == 0 &&
              mer_kaldi_set(&d, "dither_seed", "8") == 0);
        CHECK(mer_kaldi_open(&k, MER_KALDI_FBANK, &d) == 0);
        CHECK(mer_kaldi_compute(k, wave, 1600, &c, &Tc) == 0);
        CHECK(Tc == Ta && memcmp(a, c, Ta * 80 * sizeof(float)) != 0);
        mer_kaldi_close(k);
        free(a);
        free(c);
    }
}

int main(void)
{
    options();
    edge_cases();
    oracle_cases();
    return test_report();
}
