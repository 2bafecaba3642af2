/* The one option table of kaldi.h: defaults, the parser, the provenance and the help read it. */
#include "features/options_impl.h"
#include "mer/error.h"
#include "mer/kaldi.h"
#include "mer/range.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum opt_type { T_BOOL, T_INT, T_REAL, T_WINDOW, T_SEED };

enum { FB = 1 << MER_KALDI_FBANK, MF = 1 << MER_KALDI_MFCC, BOTH = FB | MF };

struct opt_row {
    struct mer_kaldi_option_info info;
    enum opt_type type;
    size_t offset;
    int kinds;
};

#define ROW(name, type, kinds, fb, mf, range, help)                                                \
    {                                                                                              \
        {#name, TN_##type, (kinds & FB) ? fb : NULL, (kinds & MF) ? mf : NULL, range, help},       \
            T_##type, offsetof(struct mer_kaldi_opts, name), kinds                                 \
    }

#define TN_BOOL   "bool"
#define TN_INT    "int"
#define TN_REAL   "real"
#define TN_WINDOW "window"
#define TN_SEED   "seed"

static const char *const window_names[] = {"povey", "hanning", "hamming", "rectangular",
                                           "blackman"};
#define WINDOWS "povey|hanning|hamming|rectangular|blackman"

/* clang-format off */
static const struct opt_row rows[] = {
    ROW(sample_frequency, REAL, BOTH, "16000", "16000", "(0,)", "sample rate of the input, Hz"),
    ROW(frame_length, REAL, BOTH, "25", "25", "(0,)", "frame length, ms"),
    ROW(frame_shift, REAL, BOTH, "10", "10", "(0,)", "frame shift, ms"),
    ROW(dither, REAL, BOTH, "0", "0", "[0,)",
        "Gaussian dither of this standard deviation (0: none; mer's default, Kaldi's is 1)"),
    ROW(dither_seed, SEED, BOTH, "0", "0", "[0,)", "seed of the dither noise (mer only)"),
    ROW(preemphasis_coefficient, REAL, BOTH, "0.97", "0.97", "[0,1]",
        "pre-emphasis: x[i] -= c * x[i-1]"),
    ROW(remove_dc_offset, BOOL, BOTH, "true", "true", "true|false", "subtract each frame's mean"),
    ROW(window_type, WINDOW, BOTH, "povey", "povey", WINDOWS, "window function"),
    ROW(round_to_power_of_two, BOOL, BOTH, "true", "true", "true|false",
        "zero-pad each frame to a power of two for the FFT"),
    ROW(blackman_coeff, REAL, BOTH, "0.42", "0.42", "[0,1]",
        "constant coefficient of the generalised Blackman window"),
    ROW(snip_edges, BOOL, BOTH, "true", "true", "true|false",
        "only frames that fit in the clip (false: frames every shift, edges reflected)"),
    ROW(num_mel_bins, INT, BOTH, "80", "23", "[4,1024]",
        "mel filters (fbank: mer's default 80, torchaudio's 23)"),
    ROW(low_freq, REAL, BOTH, "20", "20", "[0,)", "low cut-off of the mel filters, Hz"),
    ROW(high_freq, REAL, BOTH, "0", "0", "",
        "high cut-off of the mel filters, Hz (<= 0: offset from the Nyquist frequency)"),
    ROW(use_energy, BOOL, BOTH, "false", "true", "true|false",
        "add the log energy as a column (mfcc: replaces C0; mer's mfcc default true, "
        "torchaudio's false)"),
    ROW(use_log_fbank, BOOL, FB, "true", NULL, "true|false", "log of the mel energies"),
    ROW(use_power, BOOL, FB, "true", NULL, "true|false", "power spectrum (false: magnitude)"),
    ROW(energy_floor, REAL, BOTH, "1", "1", "[0,)",
        "floor on the energy (absolute; 0: none beyond float epsilon)"),
    ROW(raw_energy, BOOL, BOTH, "true", "true", "true|false",
        "energy before pre-emphasis and window"),
    ROW(htk_compat, BOOL, BOTH, "false", "false", "true|false",
        "energy as the last column (mfcc: C0 last, scaled by sqrt 2 without use_energy)"),
    ROW(subtract_mean, BOOL, BOTH, "false", "false", "true|false",
        "subtract each column's mean over the clip (whole clips only)"),
    ROW(vtln_low, REAL, BOTH, "100", "100", "(0,)", "low inflection point of the VTLN warp, Hz"),
    ROW(vtln_high, REAL, BOTH, "-500", "-500", "",
        "high inflection point of the VTLN warp, Hz (< 0: offset from the Nyquist frequency)"),
    ROW(vtln_warp, REAL, BOTH, "1", "1", "(0,)", "VTLN warp factor (1: none)"),
    ROW(num_ceps, INT, MF, NULL, "13", "[1,1024]", "cepstral coefficients (<= num_mel_bins)"),
    ROW(cepstral_lifter, REAL, MF, NULL, "22", "[0,)", "cepstral liftering (0: none)"),
};
/* clang-format on */

size_t mer_kaldi_option_count(void)
{
    return MER_ARRAY_SIZE(rows);
}

const struct mer_kaldi_option_info *mer_kaldi_option(size_t i)
{
    return i < MER_ARRAY_SIZE(rows) ? &rows[i].info : NULL;
}

/* The row a name names (options_impl.h: '-' for '_' too), or NULL. */
static const struct opt_row *find_row(const char *name)
{
    for (size_t i = 0; i < MER_ARRAY_SIZE(rows); i++)
        if (mer_option_name_is(rows[i].info.name, name))
            return &rows[i];
    return NULL;
}

static int parse_window(const char *v, int *out)
{
    for (size_t i = 0; i < MER_ARRAY_SIZE(window_names); i++)
        if (!strcmp(v, window_names[i]))
            return *out = (int)i, 0;
    return -1;
}

/* The value text into the option's field of o, range-checked. */
static int set_row(struct mer_kaldi_opts *o, const struct opt_row *r, const char *v)
{
    char *field = (char *)o + r->offset, what[64] = "";
    const char *name = r->info.name;
    struct mer_range range = mer_range_parse(
        *r->info.range && r->type != T_BOOL && r->type != T_WINDOW ? r->info.range : "(,)");
    double d;
    int i;
    mer_range_describe(&range, what, sizeof(what));
    switch (r->type) {
    case T_BOOL:
        if (mer_option_bool(v, &i) < 0)
            return mer_error("kaldi option '%s': expected true or false, got '%s'", name, v);
        *(int *)(void *)field = i;
        return 0;
    case T_WINDOW:
        if (parse_window(v, &i) < 0)
            return mer_error("kaldi option '%s': expected one of " WINDOWS ", got '%s'", name, v);
        *(enum mer_kaldi_window *)(void *)field = (enum mer_kaldi_window)i;
        return 0;
    case T_INT:
    case T_SEED:
        if (mer_option_real(v, &d) < 0 || d != floor(d) || !mer_range_contains(&range, d) ||
            (r->type == T_SEED && d > 9007199254740992.0))
            return mer_error("kaldi option '%s': expected an integer%s%s, got '%s'", name,
                             *what ? " " : "", what, v);
        if (r->type == T_INT)
            *(int *)(void *)field = (int)d;
        else
            *(uint64_t *)(void *)field = (uint64_t)d;
        return 0;
    case T_REAL:
        if (mer_option_real(v, &d) < 0 || !mer_range_contains(&range, d))
            return mer_error("kaldi option '%s': expected a number%s%s, got '%s'", name,
                             *what ? " " : "", what, v);
        *(double *)(void *)field = d;
        return 0;
    }
    MER_BUG("option type %d", (int)r->type);
    return -1;
}

void mer_kaldi_defaults(struct mer_kaldi_opts *o, enum mer_kaldi_kind kind)
{
    memset(o, 0, sizeof(*o));
    o->kind = kind;
    for (size_t i = 0; i < MER_ARRAY_SIZE(rows); i++) {
        const char *v =
            kind == MER_KALDI_MFCC ? rows[i].info.mfcc_default : rows[i].info.fbank_default;
        /* an option of the other kind keeps the value the computation assumes */
        if (!v)
            v = rows[i].info.fbank_default ? rows[i].info.fbank_default : rows[i].info.mfcc_default;
        MER_ASSERT(set_row(o, &rows[i], v) == 0);
    }
}

int mer_kaldi_set(struct mer_kaldi_opts *o, const char *name, const char *value)
{
    const struct opt_row *r = find_row(name);
    const char *kind = o->kind == MER_KALDI_MFCC ? "mfcc" : "fbank";
    struct mer_kaldi_opts copy = *o;
    if (!r) {
        char names[1024] = "";
        for (size_t i = 0, at = 0; i < MER_ARRAY_SIZE(rows) && at < sizeof(names); i++)
            if (rows[i].kinds & (1 << o->kind))
                at += (size_t)snprintf(names + at, sizeof(names) - at, "%s%s", at ? ", " : "",
                                       rows[i].info.name);
        return mer_error("unknown %s option '%s' (known: %s)", kind, name, names);
    }
    if (!(r->kinds & (1 << o->kind)))
        return mer_error("kaldi option '%s': not an option of %s", r->info.name, kind);
    if (set_row(&copy, r, value) < 0)
        return -1;
    *o = copy;
    return 0;
}

cJSON *mer_kaldi_opts_json(const struct mer_kaldi_opts *o)
{
    cJSON *j = cJSON_CreateObject();
    for (size_t i = 0; j && i < MER_ARRAY_SIZE(rows); i++) {
        const struct opt_row *r = &rows[i];
        const char *field = (const char *)o + r->offset;
        cJSON *v = NULL;
        if (!(r->kinds & (1 << o->kind)))
            continue;
        switch (r->type) {
        case T_BOOL:
            v = cJSON_CreateBool(*(const int *)(const void *)field);
            break;
        case T_INT:
            v = cJSON_CreateNumber(*(const int *)(const void *)field);
            break;
        case T_SEED:
            v = cJSON_CreateNumber((double)*(const uint64_t *)(const void *)field);
            break;
        case T_REAL:
            v = cJSON_CreateNumber(*(const double *)(const void *)field);
            break;
        case T_WINDOW:
            v = cJSON_CreateString(
                window_names[*(const enum mer_kaldi_window *)(const void *)field]);
            break;
        }
        if (!v || !cJSON_AddItemToObject(j, r->info.name, v)) {
            cJSON_Delete(v);
            cJSON_Delete(j);
            return NULL;
        }
    }
    return j;
}
