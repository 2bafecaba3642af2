/*
 * predict.h: `mer predict`: a trained run's fold ensemble on new clips, with the features made
 * exactly as the run's stores were (train.h, outputs.h's stores record).
 *
 *     struct mer_predict_params p = mer_predict_default_params();
 *     p.run_dir = "runs/clips";
 *     p.clips = argv; p.n_clips = argc;            // a clips directory, or clip files
 *     struct mer_prediction *r;
 *     if (mer_predict(&p, &r) < 0) ...;             // mer_errmsg() names the file
 *     ... r->names [n], r->rows [n, width] scaled by r->scale (evaluate.h's mer_pred_set) ...
 *     mer_prediction_free(r);
 *
 * Every modality the run was trained on comes from a ready store (p.stores[m]), whose
 * extractor and parameters (its provenance's "extractor" object) must be the run's, or is
 * made again from the clips into a temporary store by the extractor the run's store names
 * (audio: the clips; text: p.transcripts, a name,<column> CSV). The run's fitted state is
 * reused: data.standardize's shift and scale (standardize.safetensors), the text encoder's
 * IDF (saved in the run's text store and priors store, textenc.h). Priors come from Gemini
 * answers (p.responses: ingested with the run's priors store's encoder, dimension,
 * min_reliability and saved encoder state) or a ready priors store of these clips (p.priors);
 * without either they are masked (the model's missing-prior path).
 */
#ifndef MER_PREDICT_H
#define MER_PREDICT_H

#include "mer/modality.h"

#include <stddef.h>

struct mer_predict_params {
    const char *run_dir;
    const char *const *clips; /* one clips directory, or clip files; none: the stores' samples */
    size_t n_clips;
    const char *stores[MER_N_MODALITIES]; /* ready stores; NULL: made again from the clips */
    const char *priors;                   /* a ready priors store, or NULL: priors masked */
    const char *responses;   /* Gemini answers (JSONL) for the clips, ingested as the run's were */
    const char *transcripts; /* the transcripts CSV text is made from */
    const char *device;      /* NULL: the run's train.device */
    int jobs;                /* extraction threads */
};

struct mer_predict_params mer_predict_default_params(void);

/* The ensemble's predictions, in the order of the clips (or of the first store). */
struct mer_prediction {
    size_t n;
    char **names; /* [n] */
    float *rows;  /* [n, n_classes (+1 with valence_head)]: evaluate.h's mer_pred_set rows */
    double scale; /* the logits are rows * scale */
    double valence_scale;
    int n_classes;
    char **classes; /* [n_classes] */
    int valence_head;
};

/* New prediction in *out (mer_prediction_free); -1 with an error naming the file: a run without
 * a stores record (an older mer) or a fold model, a store whose extractor or parameters differ
 * from the run's (both named), a modality with neither a store nor a way to make it. */
int mer_predict(const struct mer_predict_params *p, struct mer_prediction **out);
void mer_prediction_free(struct mer_prediction *r);

#endif
