/* mer predict's inputs: the clips given, and stores made again by the run's extractors
 * (predict_impl.h). */
#define _XOPEN_SOURCE 700 /* realpath */
#include "model/predict_impl.h"
#include "mer/builder.h"
#include "mer/csv.h"
#include "mer/error.h"
#include "mer/extract.h"
#include "mer/fs.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct mer_build_nouns clip_nouns = {
    .one = "clip", .a_one = "a clip", .many = "clips", .verb = "predict", .unit = "clips"};

int mer_predict_list_clips(const char *const *clips, size_t n_clips, const char *csv,
                           struct mer_strv *names)
{
    struct mer_samples s = MER_SAMPLES_INIT;
    struct mer_atomic_file f;
    int ret = -1;
    if (n_clips == 1 && mer_is_dir(clips[0])) {
        if (mer_samples_from_dir(&s, clips[0], mer_clip_extensions, mer_clip_n_extensions,
                                 &clip_nouns) < 0)
            goto done;
    } else {
        for (size_t i = 0; i < n_clips; i++) {
            const char *path = clips[i], *base = strrchr(path, '/'), *dot;
            base = base ? base + 1 : path;
            dot = strrchr(base, '.');
            if (!mer_path_exists(path) || mer_is_dir(path)) {
                mer_error("'%s': no such clip", path);
                goto done;
            }
            if (mer_strv_push(&s.names, base,
                              dot && dot > base ? (size_t)(dot - base) : strlen(base)) < 0 ||
                mer_strv_push(&s.paths, path, strlen(path)) < 0)
                goto done;
        }
        if (mer_samples_check_unique(&s, "the clips given") < 0)
            goto done;
    }
    if (!s.names.n) {
        mer_error("'%s': no clips", clips[0]);
        goto done;
    }
    if (mer_atomic_open(&f, csv) < 0)
        goto done;
    fputs("name,path\n", f.fp);
    for (size_t i = 0; i < s.names.n; i++) {
        char *abs = s.paths.v[i][0] == '/' ? NULL : realpath(s.paths.v[i], NULL);
        mer_csv_write_field(f.fp, s.names.v[i]);
        fputc(',', f.fp);
        mer_csv_write_field(f.fp, abs ? abs : s.paths.v[i]);
        fputc('\n', f.fp);
        free(abs);
    }
    if (mer_atomic_commit(&f) < 0)
        goto done;
    *names = s.names;
    s.names = (struct mer_strv)MER_STRV_INIT;
    ret = 0;
done:
    mer_samples_release(&s);
    return ret;
}

/* ---- stores made again ---- */

/* A number as an extractor option's value: integers as such, others round-tripped. */
static char *option_value(const cJSON *v)
{
    if (cJSON_IsBool(v))
        return mer_strfmt("%s", cJSON_IsTrue(v) ? "true" : "false");
    if (cJSON_IsString(v))
        return mer_strfmt("%s", v->valuestring);
    if (cJSON_IsNumber(v))
        return mer_strfmt("%.17g", v->valuedouble);
    if (cJSON_IsArray(v)) { /* numbers as "8,8" or "0.48,0.45,0.40" */
        char buf[512] = "";
        size_t len = 0;
        const cJSON *it;
        cJSON_ArrayForEach(it, v)
        {
            int w;
            if (!cJSON_IsNumber(it))
                return NULL;
            w = snprintf(buf + len, sizeof(buf) - len, "%s%.17g", len ? "," : "", it->valuedouble);
            if (w < 0 || (size_t)w >= sizeof(buf) - len)
                return NULL;
            len += (size_t)w;
        }
        return mer_strfmt("%s", buf);
    }
    return NULL;
}

/* The extractor object's "params" as "name=value" options (skip: a key the caller sets). */
static int params_as_options(const cJSON *ex, const char *skip, struct mer_strv *opts)
{
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(ex, "params"), *it;
    cJSON_ArrayForEach(it, params)
    {
        char *v, *kv;
        int bad;
        if (skip && !strcmp(it->string, skip))
            continue;
        v = option_value(it);
        kv = v ? mer_strfmt("%s=%s", it->string, v) : NULL;
        bad = !kv || mer_strv_push(opts, kv, strlen(kv)) < 0;
        free(v);
        free(kv);
        if (bad)
            return mer_error("extractor option '%s': cannot be given again", it->string);
    }
    return 0;
}

static const char *string_of(const cJSON *o, const char *key, const char *dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : dflt;
}

static double number_of(const cJSON *o, const char *key, double dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

/* mer extract audio again, with the options its extractor object records. */
static int make_audio(const struct mer_predict_sources *src, const cJSON *ex,
                      struct mer_build_params *bp)
{
    struct mer_audio_params ap = mer_audio_default_params();
    struct mer_build_report r;
    struct mer_strv opts = MER_STRV_INIT;
    int ret = -1;
    if (!src->clips_csv)
        return mer_error("audio: no clips given to extract it from (or --audio STORE)");
    if (!bp->out)
        return 0; /* only asked whether it can */
    bp->input = src->clips_csv;
    ap.features = string_of(ex, "features", ap.features);
    ap.rate = (int)number_of(ex, "rate", ap.rate);
    ap.layers = string_of(ex, "layers", ap.layers);
    ap.layer_pool = string_of(ex, "layer_pool", ap.layer_pool);
    ap.segment_s = number_of(ex, "segment_s", ap.segment_s);
    ap.device = src->device ? src->device : ap.device;
    /* (sample_frequency is recorded from the rate, which sets it) */
    if (params_as_options(ex, "sample_frequency", &opts) < 0)
        goto done;
    ap.params = (const char *const *)opts.v;
    ap.n_params = opts.n;
    ret = mer_extract_audio(bp, &ap, &r);
done:
    mer_strv_release(&opts);
    return ret;
}

/* mer extract video again from the clips, with the sampling and options it records. */
static int make_video(const struct mer_predict_sources *src, const cJSON *ex,
                      struct mer_build_params *bp)
{
    struct mer_video_params vp = mer_video_default_params();
    struct mer_build_report r;
    struct mer_strv opts = MER_STRV_INIT;
    const char *features = string_of(ex, "features", vp.features);
    int ret = -1;
    if (!strcmp(features, "openface") || strcmp(string_of(ex, "frames_from", "clip"), "clip"))
        return mer_error("video: the run's store was made from %s, which predict cannot find "
                         "for new clips: give a store made the same way (--video STORE)",
                         !strcmp(features, "openface") ? "OpenFace CSVs" : "face crops");
    if (!src->clips_csv)
        return mer_error("video: no clips given to extract it from (or --video STORE)");
    if (!bp->out)
        return 0; /* only asked whether it can */
    bp->input = src->clips_csv;
    vp.features = features;
    vp.fps = number_of(ex, "fps", 0);
    vp.frames = (int)number_of(ex, "frames", 0);
    vp.device = src->device;
    if (params_as_options(ex, NULL, &opts) < 0)
        goto done;
    vp.params = (const char *const *)opts.v;
    vp.n_params = opts.n;
    ret = mer_extract_video(bp, &vp, &r);
done:
    mer_strv_release(&opts);
    return ret;
}

/* mer extract text again (the transcripts CSV given), with the run's encoder and column. */
static int make_text(const struct mer_predict_sources *src, const cJSON *ex,
                     struct mer_build_params *bp)
{
    struct mer_text_params tp = mer_text_default_params();
    struct mer_build_report r;
    if (!src->transcripts)
        return mer_error("text: no transcripts given to encode (--transcripts CSV, or --text "
                         "STORE)");
    if (!bp->out)
        return 0;
    bp->input = src->transcripts;
    tp.column = string_of(ex, "column", tp.column);
    tp.encoder = string_of(ex, "encoder", tp.encoder);
    tp.dim = (int)number_of(ex, "dim", tp.dim);
    tp.state_from = src->run_store; /* the run's fitted encoder (the hash IDF), not a new fit */
    return mer_extract_text(bp, &tp, &r);
}

/* What makes a store again, by the extractor its provenance names. */
static const struct remake {
    const char *extractor;
    int (*make)(const struct mer_predict_sources *src, const cJSON *ex,
                struct mer_build_params *bp);
} remakes[] = {
    {"audio", make_audio},
    {"video", make_video},
    {"text", make_text},
};

int mer_predict_make_store(const char *modality, const char *store, const char *extractor,
                           const struct mer_predict_sources *src, const char *out)
{
    cJSON *ex = extractor ? cJSON_Parse(extractor) : NULL;
    const char *name = string_of(ex, "extractor", NULL);
    struct mer_build_params bp = mer_build_default_params();
    int ret = -1;
    size_t k = 0;
    while (name && k < MER_ARRAY_SIZE(remakes) && strcmp(remakes[k].extractor, name))
        k++;
    if (!name || k == MER_ARRAY_SIZE(remakes)) {
        mer_error("%s: the run's store '%s' was not made by an extractor mer predict can run "
                  "again (%s); give a store made as it was (--%s STORE)",
                  modality, store, name ? name : "none recorded", modality);
    } else {
        bp.out = out;
        bp.jobs = src->jobs > 0 ? src->jobs : 1;
        bp.force = 1;
        struct mer_predict_sources with = *src;
        with.run_store = store;
        ret = remakes[k].make(&with, ex, &bp);
    }
    cJSON_Delete(ex);
    return ret;
}
