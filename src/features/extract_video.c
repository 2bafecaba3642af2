/* mer extract video: frames of clips (video.h) or of OpenFace face crops (openface.h) into the
 * built-in visual features (visual.h: HOG, colour moments, motion), or OpenFace CSVs into
 * their functionals, through the store builder. */
#include "features/extract_impl.h"
#include "mer/error.h"
#include "mer/extract.h"
#include "mer/fs.h"
#include "mer/image.h"
#include "mer/openface.h"
#include "mer/video.h"
#include "mer/visual.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#define VIDEO_KIND_LIST(X)                                                                         \
    X(HOG, "hog")                                                                                  \
    X(TORCHSCRIPT, "torchscript:")                                                                 \
    X(OPENFACE, "openface")
#define VIDEO_KIND_ENUM(id, name) VIDEO_##id,
enum video_kind { VIDEO_KIND_LIST(VIDEO_KIND_ENUM) VIDEO_N_KINDS };
#undef VIDEO_KIND_ENUM

static const char *const video_kind_names[] = {
#define VIDEO_KIND_NAME(id, name) name,
    VIDEO_KIND_LIST(VIDEO_KIND_NAME)
#undef VIDEO_KIND_NAME
};

struct mer_video_params mer_video_default_params(void)
{
    struct mer_video_params p = {.features = "hog", .frames = 16};
    return p;
}

/* Skip reasons: the decoder's (media.h, in its order), then the extractor's own. */
enum {
    REASON_NO_FACES = MER_MEDIA_N_FAILS - 1,
    REASON_NO_CSV,
    REASON_NO_TRACKING,
    REASON_BAD_NAME,
    N_REASONS
};

struct video_source {
    enum video_kind kind;
    int frame_level;
    struct mer_video_sampling sampling;
    const char *faces;    /* --faces DIR, or NULL: the clips' own frames */
    const char *openface; /* --openface-csv DIR */
    int mask_missing;     /* --missing mask */
    mer_visual *visual;
    struct mer_visual_opts visual_opts;
    mer_image_backbone *backbone;
    struct mer_image_opts image_opts; /* the backbone's preprocessing, with --param */
    const char *reasons[N_REASONS];
};

/* A clip without a video stream: with --missing mask it has no video (left out for training to
 * mask, no failure under --strict), otherwise a skip like any unusable clip. */
static int skip_no_video(const struct video_source *v, struct mer_rows *r)
{
    if (!v->mask_missing)
        return mer_extract_skip_media(r, MER_MEDIA_NO_VIDEO);
    mer_rows_skip(r, MER_MEDIA_NO_VIDEO - 1, "%s (missing: train with data.missing=mask)",
                  mer_errmsg());
    r->missing = 1;
    return 0;
}

/* ---- frames, from a clip or from its face crops ---- */

struct frame_source {
    mer_video_reader *video;
    mer_faces *faces;
};

/* Opens sample name's frames: 1, 0 skipped (r says why), -1 fatal. */
static int open_frames(const struct video_source *v, const char *name, const char *path,
                       struct frame_source *fs, struct mer_rows *r)
{
    enum mer_media_fail why = MER_MEDIA_OK;
    char *faces = NULL;
    int got;
    if (!v->faces) {
        if (mer_video_open(&fs->video, path, &v->sampling, &why) < 0)
            return why == MER_MEDIA_OK         ? -1
                   : why == MER_MEDIA_NO_VIDEO ? skip_no_video(v, r)
                                               : mer_extract_skip_media(r, why);
        return 1;
    }
    if ((got = mer_faces_find(&faces, v->faces, name)) <= 0)
        return got < 0 ? -1
                       : mer_rows_skip(r, REASON_NO_FACES, "'%s': no face frames for '%s'",
                                       v->faces, name);
    got = mer_faces_open(&fs->faces, faces, NULL);
    free(faces);
    return got < 0 ? mer_rows_skip(r, REASON_NO_FACES, "%s", mer_errmsg()) : 1;
}

/* The next frame: 1, 0 at the end, -1 (a skip of r, or fatal when r has no reason). */
static int next_frame(struct frame_source *fs, const uint8_t **rgb, int *w, int *h,
                      struct mer_rows *r)
{
    enum mer_media_fail why = MER_MEDIA_OK;
    int got;
    if (fs->video) {
        struct mer_frame f;
        if ((got = mer_video_next(fs->video, &f, &why)) > 0) {
            *rgb = f.rgb;
            *w = f.width;
            *h = f.height;
        }
    } else {
        struct mer_face_frame f;
        if ((got = mer_faces_next(fs->faces, &f)) > 0) {
            *rgb = f.rgb;
            *w = f.w;
            *h = f.h;
        } else if (got < 0) {
            mer_rows_skip(r, REASON_NO_FACES, "%s", mer_errmsg());
        }
    }
    if (got < 0 && why != MER_MEDIA_OK)
        mer_extract_skip_media(r, why);
    return got;
}

static void close_frames(struct frame_source *fs)
{
    mer_video_close(fs->video);
    mer_faces_close(fs->faces);
}

/* ---- the built-in features ---- */

static int grow_rows(struct mer_rows *r, size_t *cap)
{
    size_t want = *cap ? 2 * *cap : 64;
    float *grown = realloc(r->data, want * (size_t)r->d * sizeof(float));
    if (!grown)
        return mer_error("out of memory");
    r->data = grown;
    *cap = want;
    return 0;
}

/* Frames through the visual features: one pooled row, or a row per frame. */
static int visual_rows(struct video_source *v, struct frame_source *fs, const char *path,
                       struct mer_rows *r)
{
    mer_visual_clip *clip = NULL;
    const uint8_t *rgb;
    size_t cap = 0;
    int w, h, got, ret = -1;
    r->d = (int64_t)(v->frame_level ? mer_visual_frame_dim(v->visual)
                                    : mer_visual_clip_dim(v->visual));
    r->pooled = !v->frame_level;
    if (mer_visual_clip_new(&clip, v->visual) < 0)
        return -1;
    while ((got = next_frame(fs, &rgb, &w, &h, r)) > 0) {
        float *row = NULL;
        if (v->frame_level) {
            if ((size_t)r->t == cap && grow_rows(r, &cap) < 0)
                goto done;
            row = r->data + r->t * r->d;
            r->t++;
        }
        if (mer_visual_clip_push(clip, rgb, (size_t)w, (size_t)h, row) < 0)
            goto done;
    }
    if (got < 0) {
        ret = r->reason ? 0 : -1;
        goto done;
    }
    if (!mer_visual_clip_frames(clip)) {
        ret = mer_rows_skip(r, MER_MEDIA_NO_FRAMES - 1, "'%s': no frames", path);
        goto done;
    }
    if (!v->frame_level) {
        if (!(r->data = malloc((size_t)r->d * sizeof(float))))
            goto oom;
        mer_visual_clip_pooled(clip, r->data);
        r->t = 1;
    }
    ret = 1;
    goto done;
oom:
    mer_error("out of memory");
done:
    mer_visual_clip_free(clip);
    return ret;
}

/* ---- TorchScript image backbones: frames preprocessed here, run in batches ---- */

/* Each frame preprocessed to [3, C, C], one after the other: the batch call runs them. */
static int image_rows(struct video_source *v, struct frame_source *fs, const char *path,
                      struct mer_rows *r)
{
    const uint8_t *rgb;
    size_t cap = 0;
    int w, h, got;
    r->d = 3 * (int64_t)v->image_opts.crop * v->image_opts.crop;
    while ((got = next_frame(fs, &rgb, &w, &h, r)) > 0) {
        if ((size_t)r->t == cap && grow_rows(r, &cap) < 0)
            return -1;
        if (mer_image_preprocess(&v->image_opts, rgb, h, w, r->data + r->t * r->d) < 0)
            return -1;
        r->t++;
    }
    if (got < 0)
        return r->reason ? 0 : -1;
    if (!r->t)
        return mer_rows_skip(r, MER_MEDIA_NO_FRAMES - 1, "'%s': no frames", path);
    return 1;
}

/* The batch's clips' frames through the backbone in one run (frames of several clips share a
 * forward), then each clip's embeddings [T, D] in place of its frames. */
static int image_batch(void *ctx, struct mer_rows *clips, size_t n)
{
    struct video_source *v = ctx;
    int c = v->image_opts.crop;
    int64_t d = mer_image_backbone_dim(v->backbone), in = 3 * (int64_t)c * c, total = 0, at = 0;
    float *frames, *out;
    for (size_t i = 0; i < n; i++)
        total += clips[i].data && !clips[i].reason ? clips[i].t : 0;
    if (!total)
        return 0;
    frames = malloc((size_t)(total * in) * sizeof(float));
    out = malloc((size_t)(total * d) * sizeof(float));
    if (!frames || !out) {
        free(frames);
        free(out);
        return mer_error("out of memory");
    }
    for (size_t i = 0; i < n; i++)
        if (clips[i].data && !clips[i].reason) {
            memcpy(frames + at * in, clips[i].data, (size_t)(clips[i].t * in) * sizeof(float));
            at += clips[i].t;
        }
    if (mer_image_backbone_run(v->backbone, frames, (size_t)total, c, c, out) < 0) {
        free(frames);
        free(out);
        return -1;
    }
    at = 0;
    for (size_t i = 0; i < n; i++)
        if (clips[i].data && !clips[i].reason) {
            float *emb = malloc((size_t)(clips[i].t * d) * sizeof(float));
            if (!emb) {
                free(frames);
                free(out);
                return mer_error("out of memory");
            }
            memcpy(emb, out + at * d, (size_t)(clips[i].t * d) * sizeof(float));
            at += clips[i].t;
            free(clips[i].data);
            clips[i].data = emb;
            clips[i].d = d;
        }
    free(frames);
    free(out);
    return 0;
}

/* ---- OpenFace CSVs ---- */

static int openface_rows(struct video_source *v, const char *name, struct mer_rows *r)
{
    struct mer_openface_stats st;
    char *csv = NULL;
    int got = mer_openface_find_csv(&csv, v->openface, name);
    if (got <= 0)
        return got < 0 ? -1
                       : mer_rows_skip(r, REASON_NO_CSV, "'%s': no OpenFace CSV for '%s'",
                                       v->openface, name);
    r->d = (int64_t)mer_openface_dim(mer_openface_default_params().groups);
    r->t = 1;
    r->pooled = 1;
    if (!(r->data = malloc((size_t)r->d * sizeof(float)))) {
        free(csv);
        return mer_error("out of memory");
    }
    got = mer_openface_read_csv(csv, NULL, r->data, &st);
    if (got == 0)
        mer_rows_skip(r, REASON_NO_TRACKING, "'%s': %s", csv, st.skip);
    else if (got < 0)
        mer_rows_skip(r, REASON_NO_CSV, "%s", mer_errmsg());
    free(csv);
    return got > 0 ? 1 : 0;
}

static int make_rows(void *ctx, const char *name, const char *path, struct mer_rows *r)
{
    struct video_source *v = ctx;
    struct frame_source fs = {0};
    int got;
    switch (v->kind) {
    case VIDEO_OPENFACE:
        return openface_rows(v, name, r);
    case VIDEO_HOG:
    case VIDEO_TORCHSCRIPT:
        if ((got = open_frames(v, name, path, &fs, r)) == 1)
            got = v->kind == VIDEO_HOG ? visual_rows(v, &fs, path, r) : image_rows(v, &fs, path, r);
        close_frames(&fs);
        return got;
    case VIDEO_N_KINDS:
        break;
    }
    MER_BUG("video kind %d", (int)v->kind);
}

/* ---- opening, and the run ---- */

static int parse_kind(const struct mer_video_params *vp, enum video_kind *kind)
{
    if (vp->openface) {
        *kind = VIDEO_OPENFACE;
        return vp->features && strcmp(vp->features, "hog") && strcmp(vp->features, "openface")
                   ? mer_error("--openface-csv reads OpenFace's features: --features '%s' does "
                               "not apply",
                               vp->features)
                   : 0;
    }
    for (int k = 0; k < VIDEO_N_KINDS; k++)
        if (k == VIDEO_TORCHSCRIPT
                ? !strncmp(vp->features, video_kind_names[k], strlen(video_kind_names[k]))
                : !strcmp(vp->features, video_kind_names[k])) {
            *kind = (enum video_kind)k;
            return k == VIDEO_OPENFACE ? mer_error("--features openface needs --openface-csv DIR")
                                       : 0;
        }
    return mer_error("--features '%s': expected hog or torchscript:<model.pt> (or --openface-csv "
                     "DIR)",
                     vp->features);
}

static int set_visual(void *o, const char *name, const char *value)
{
    return mer_visual_set(o, name, value);
}

static int set_image(void *o, const char *name, const char *value)
{
    return mer_image_set(o, name, value);
}

static int open_visual(struct video_source *v, const struct mer_video_params *vp)
{
    mer_visual_defaults(&v->visual_opts);
    if (mer_extract_apply_params(vp->params, vp->n_params, &v->visual_opts, set_visual, NULL,
                                 NULL) < 0)
        return -1;
    return mer_visual_open(&v->visual, &v->visual_opts);
}

static int open_image(struct video_source *v, const struct mer_video_params *vp)
{
    struct mer_image_backbone_params p = mer_image_backbone_default_params();
    p.model = vp->features + strlen(video_kind_names[VIDEO_TORCHSCRIPT]);
    p.device = vp->device;
    p.threads = vp->threads;
    if (vp->batch > 0)
        p.batch = vp->batch;
    if (mer_image_backbone_open(&v->backbone, &p) < 0)
        return -1;
    v->image_opts = *mer_image_backbone_opts(v->backbone);
    if (mer_extract_apply_params(vp->params, vp->n_params, &v->image_opts, set_image, NULL, NULL) <
        0)
        return -1;
    if (v->image_opts.crop <= 0)
        return mer_error("torchscript: the frames must be cropped to a square (--param crop=N), "
                         "so that frames of several clips share a forward");
    return 0;
}

/* Every option that changes the rows, as JSON text (fingerprint and provenance). */
static char *video_options(const struct video_source *v, const struct mer_video_params *vp)
{
    cJSON *o = cJSON_CreateObject();
    char *text = NULL;
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "extractor", "video");
    cJSON_AddStringToObject(
        o, "features", v->kind == VIDEO_TORCHSCRIPT ? vp->features : video_kind_names[v->kind]);
    if (v->kind != VIDEO_OPENFACE) {
        cJSON_AddStringToObject(o, "frames_from", v->faces ? "faces" : "clip");
        if (!v->faces) {
            cJSON_AddNumberToObject(o, "fps", vp->fps);
            cJSON_AddNumberToObject(o, "frames", vp->fps > 0 ? 0 : vp->frames);
            cJSON_AddStringToObject(o, "decoder", mer_video_versions());
        }
        if (v->kind == VIDEO_HOG)
            cJSON_AddItemToObject(o, "params", mer_visual_opts_json(&v->visual_opts));
    }
    if (v->kind == VIDEO_TORCHSCRIPT) {
        cJSON_AddItemToObject(o, "params", mer_image_opts_json(&v->image_opts));
        cJSON_AddStringToObject(o, "model_checksum", mer_image_backbone_checksum(v->backbone));
    }
    text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

int mer_extract_video(const struct mer_build_params *bp, const struct mer_video_params *vp,
                      struct mer_build_report *r)
{
    struct video_source v = {.frame_level = bp->pool == MER_POOL_NONE,
                             .faces = vp->faces,
                             .openface = vp->openface,
                             .mask_missing = vp->mask_missing};
    struct mer_samples s = MER_SAMPLES_INIT;
    struct mer_build_params p = *bp;
    struct mer_build_source src = {.label = "extract video",
                                   .nouns = &mer_clip_nouns,
                                   .reasons = v.reasons,
                                   .n_reasons = N_REASONS,
                                   .bad_name_reason = REASON_BAD_NAME,
                                   .produce = make_rows,
                                   .ctx = &v};
    char *options = NULL, *provenance = NULL;
    int ret = -1;
    memset(r, 0, sizeof(*r));
    for (int k = 1; k < MER_MEDIA_N_FAILS; k++)
        v.reasons[k - 1] = mer_media_fail_name((enum mer_media_fail)k);
    v.reasons[REASON_NO_FACES] = "no face frames";
    v.reasons[REASON_NO_CSV] = "no OpenFace CSV";
    v.reasons[REASON_NO_TRACKING] = "no tracked frame";
    v.reasons[REASON_BAD_NAME] = "file name not UTF-8";
    v.sampling.fps = vp->fps;
    v.sampling.frames = vp->fps > 0 ? 0 : vp->frames;
    if (parse_kind(vp, &v.kind) < 0)
        goto done;
    if (v.kind == VIDEO_OPENFACE && (vp->n_params || v.frame_level)) {
        mer_error("--openface-csv gives one row of functionals per clip: --param and "
                  "--level frame do not apply");
        goto done;
    }
    if (v.kind == VIDEO_HOG && open_visual(&v, vp) < 0)
        goto done;
    if (v.kind == VIDEO_TORCHSCRIPT) {
        if (open_image(&v, vp) < 0)
            goto done;
        src.batch = image_batch;
        src.batch_size = 8;
    }
    if (!(options = video_options(&v, vp))) {
        mer_error("out of memory");
        goto done;
    }
    if (mer_extract_provenance(bp->provenance, options, &provenance) < 0 ||
        mer_extract_list_clips(&s, bp->input) < 0)
        goto done;
    src.options = options;
    p.provenance = provenance;
    /* hog and openface pool themselves; a backbone's frame embeddings are averaged */
    p.pool = v.frame_level ? MER_POOL_NONE : MER_POOL_MEAN;
    ret = mer_build_store(&p, &s, &src, r);
done:
    mer_visual_close(v.visual);
    mer_image_backbone_close(v.backbone);
    mer_samples_release(&s);
    free(options);
    free(provenance);
    return ret;
}
