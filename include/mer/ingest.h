/*
 * ingest.h: Gemini responses files -> a priors store, a report and pseudo-labels
 * (`mer ingest`). Lines are parsed by response.h, texts embedded by textenc.h.
 *
 *     struct mer_ingest_params p = mer_ingest_default_params();
 *     p.labels = "labels.safetensors";
 *     struct mer_ingest *g;
 *     if (mer_ingest_new(&g, &p) < 0) ...;                       // reads the labels store
 *     if (mer_ingest_read(g, "responses.jsonl") < 0) ...;        // any number of files
 *     if (mer_ingest_finish(g) < 0) ...;                         // encodes the priors
 *     if (mer_ingest_write_priors(g, "priors.safetensors", provenance) < 0) ...;
 *     mer_ingest_free(g);
 *
 * Rows follow the labels store: one per sample, in its order. Keys the labels store does not
 * have are counted and skipped; a key answered twice keeps its last answer (counted). Lines
 * that are not JSON objects with a "key" are counted as failed, with file and line number in
 * the report; reading still goes on. mer_ingest_finish fails only if no answer parsed at all.
 *
 * The priors store (mer.kind "priors", what `mer train` reads through data.priors):
 *   prior       F32 [N, 3, P]  modalities audio, video, text (= acoustic, visual, textual);
 *                              P = D + K + 1: the text embedding of the trace's reasoning (D,
 *                              zeros without reasoning), its K scores (classes in the labels
 *                              store's order, sum 1, zeros without scores), its contribution
 *   reliability F32 [N, 3]     response.h's reliability, 0 without a trace
 *   present     U8  [N, 3]     1 if the trace has reasoning or scores and a reliability of at
 *                              least min_reliability; a row of zeros otherwise
 *   llm_label   I64 [N]        the answer's overall label (class index), -1 if none
 *   llm_reliability F32 [N]    the overall trace's reliability
 *   status      U8  [N]        0 no answer, 1 parsed, 2 partial, 3 blocked, 4 error, 5 failed
 *   textenc.idf.*              the encoder's fitted state (textenc.h), for mer predict
 * and metadata mer.ids, mer.classes, mer.modalities ["audio", "video", "text"],
 * mer.encoder, mer.embedding_dim, mer.min_reliability, mer.provenance.
 *
 * Pseudo-labels (a "labels" store, what train.pretrain.pseudo_labels reads): every sample of
 * the labels store, label = the answer's overall label for samples without a ground-truth label
 * (-1 elsewhere, and where no answer gives one), plus reliability F32 [N], the overall trace's.
 */
#ifndef MER_INGEST_H
#define MER_INGEST_H

#include <stdint.h>
#include <stdio.h>

struct mer_ingest_params {
    const char *labels;      /* labels store (required) */
    const char *encoder;     /* textenc.h spec; default "hash" */
    int64_t dim;             /* text embedding size: required for hash, 0 = the encoder's */
    double min_reliability;  /* default 0.3 */
    const char *fit_split;   /* split whose traces fit the encoder; default "train" (all
                                samples if the labels store has no such split) */
    const char *state_from;  /* a priors store whose saved encoder state (textenc.h) is used
                                instead of a fit (mer predict), or NULL; every priors store
                                saves its encoder's state */
    const char *score_order; /* "a,b,..": the classes in the order of scores given as lists;
                                NULL = the prompt's worried,happy,neutral,angry,surprise,sad
                                when those are the classes, else the labels store's order */
};

struct mer_ingest_params mer_ingest_default_params(void);

typedef struct mer_ingest mer_ingest;

/* Reads the labels store. New handle in *out (free with mer_ingest_free); -1 with the error. */
int mer_ingest_new(struct mer_ingest **out, const struct mer_ingest_params *p);
/* Streams one responses file (JSONL, lines of any length). -1 only for a file that cannot be
 * read (or out of memory); bad lines are counted. */
int mer_ingest_read(struct mer_ingest *g, const char *path);
/* Opens and fits the encoder and builds the priors; -1 with the error set (also when no
 * answer parsed). */
int mer_ingest_finish(struct mer_ingest *g);
/* Atomic writes (after mer_ingest_finish); provenance is JSON object text or NULL. */
int mer_ingest_write_priors(const struct mer_ingest *g, const char *path, const char *provenance);
int mer_ingest_write_pseudo(const struct mer_ingest *g, const char *path, const char *provenance);
/* The report as JSON text (new string, free()), NULL on out of memory; and written to path. */
char *mer_ingest_report_json(const struct mer_ingest *g);
int mer_ingest_write_report(const struct mer_ingest *g, const char *path);
/* The human summary (counts, reasons, reliability histograms, zero-shot scores). */
void mer_ingest_print_summary(const struct mer_ingest *g, FILE *f);
void mer_ingest_free(struct mer_ingest *g);

#endif
