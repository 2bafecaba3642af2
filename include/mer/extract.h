/*
 * extract.h: `mer extract`: features from raw clips and transcripts into a feature store,
 * through the one store builder (builder.h: sample selection, shards, resume, skips, threads).
 *
 *     struct mer_build_params bp = mer_build_default_params();
 *     bp.input = "clips"; bp.out = "audio.safetensors"; bp.jobs = 2;
 *     struct mer_audio_params ap = mer_audio_default_params();
 *     ap.features = "fbank";
 *     struct mer_build_report r;
 *     if (mer_extract_audio(&bp, &ap, &r) < 0) ...;      // mer_errmsg()
 *
 * Audio features: "fbank" and "mfcc" (Kaldi-compatible, kaldi.h), "egemaps" (the 88
 * eGeMAPSv02 functionals, egemaps.h) and "torchscript:<model.pt>" (an exported wav2vec2 /
 * HuBERT / WavLM-style encoder, backbone.h). Text: "hash" (the n-gram TF-IDF encoder of the
 * trace path) and "torchscript:<model.pt>" (a WordPiece sentence encoder), both textenc.h.
 */
#ifndef MER_EXTRACT_H
#define MER_EXTRACT_H

#include "mer/builder.h"
#include "mer/opt.h"

#include <stddef.h>

/* The media files a clips directory is searched for (lowercase extensions). */
extern const char *const mer_clip_extensions[];
extern const size_t mer_clip_n_extensions;

struct mer_audio_params {
    const char *features;      /* fbank | mfcc | egemaps | torchscript:<model.pt> */
    int rate;                  /* decode to this rate (16000) */
    const char *const *params; /* "name=value" options of the extractor (kaldi.h's names) */
    size_t n_params;
    const char *layers;     /* torchscript: "-4,-3,-2,-1" */
    const char *layer_pool; /* torchscript: "sum" */
    const char *device;     /* torchscript: "cpu" | "cuda[:N]" */
    double segment_s;       /* torchscript: rows of at most this long (10 s) */
    int batch;              /* torchscript: most rows in one forward (8) */
    int threads;            /* torch threads (0: leave as is) */
};

struct mer_audio_params mer_audio_default_params(void);
/* bp->input: a clips directory or a `name,path` CSV. */
int mer_extract_audio(const struct mer_build_params *bp, const struct mer_audio_params *ap,
                      struct mer_build_report *r);

struct mer_text_params {
    const char *column;  /* the transcript column: chinese, english, or any other name */
    const char *encoder; /* hash | torchscript:<model.pt> */
    int dim;             /* the hash encoder's size */
    /* A text store whose saved encoder state (the hash IDF) is used instead of fitting on
     * these transcripts (mer predict), or NULL. Every text store saves its state. */
    const char *state_from;
    size_t empty; /* out: transcripts that were empty (written as zeros) */
};

struct mer_text_params mer_text_default_params(void);
/* bp->input: a transcript CSV with a `name` column and tp->column. */
int mer_extract_text(const struct mer_build_params *bp, struct mer_text_params *tp,
                     struct mer_build_report *r);

struct mer_video_params {
    const char *features;      /* hog (HOG, colour moments, motion) | torchscript:<model.pt> */
    double fps;                /* sample a frame every 1/fps s (> 0), or */
    int frames;                /* this many frames spread over the clip (16) */
    const char *faces;         /* frames from OpenFace/MERTools face crops under this dir */
    const char *openface;      /* features from OpenFace FeatureExtraction CSVs in this dir */
    const char *const *params; /* "name=value" options of the extractor (visual.h's, or for a
                                  backbone image.h's preprocessing names) */
    size_t n_params;
    const char *device; /* torchscript: "cpu" | "cuda[:N]" */
    int batch;          /* torchscript: most frames in one forward (16) */
    int threads;        /* torchscript: libtorch threads (0: as libtorch chooses) */
    int mask_missing;   /* a clip without a video stream is missing (masked), not a failure
                           under --strict */
};

struct mer_video_params mer_video_default_params(void);
/* bp->input: a clips directory or a `name,path` CSV (with --faces or --openface-csv, the
 * sample names; the frames or CSVs are found by name in that directory). */
int mer_extract_video(const struct mer_build_params *bp, const struct mer_video_params *vp,
                      struct mer_build_report *r);

#endif
