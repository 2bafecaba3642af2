/*
 * backbone.h: frame features from a TorchScript audio backbone (wav2vec2, HuBERT, WavLM, ...)
 * exported once by the user with scripts/export-backbone.py, for `mer extract audio
 * --features torchscript:<model.pt>`.
 *
 * The module's signature (the script's docstring says how to export one):
 *     forward(waveform: Tensor[B, T] float32) -> List[Tensor[B, T', D]] or Tuple[Tensor, ...]
 * one float32 tensor per layer, the input embedding layer first, as Hugging Face's
 * output_hidden_states gives them (13 for a 12-layer base model, 25 for a large one). An
 * optional extra file `mer_backbone.json` in the module (torch.jit.save's _extra_files) holds
 * {"sample_rate": 16000, "normalize": true}: the rate the model wants and whether each clip
 * is normalized to zero mean and unit variance first (Wav2Vec2FeatureExtractor's
 * do_normalize); without it, 16000 and no normalization.
 *
 * A clip becomes rows as MERTools' extract_audio_huggingface.py cuts it: a clip of at most
 * segment_s (10 s) is one row of its own length; a longer one is ceil(n / segment) rows of
 * exactly segment samples, the last padded with zeros (MER_TAIL_PAD; the frames of that zero
 * tail are features like the others and count in the utterance mean, as in MERTools).
 * Normalization uses the whole clip's mean and variance, before the cut, as MERTools does.
 * Each row's frames are the chosen layers' hidden states pooled into [T', D] (sum: MERTools).
 * A clip's frames are its rows' frames in order; its utterance feature is their mean.
 *
 * Batches never pad: mer_backbone_run groups the rows it is given by width and runs only rows
 * of one width together, so a row gives the same frames (to 1e-5) in any batch as alone
 * (conv feature encoders normalize over time: zero padding would change every frame). The
 * full 10 s rows of long clips are all one width and batch well; shorter clips run alone or
 * with clips of exactly their length.
 *
 *     struct mer_backbone_params p = mer_backbone_default_params();
 *     p.model = "hubert-large.pt";
 *     mer_backbone *b;
 *     if (mer_torch_load() < 0 || mer_backbone_open(&b, &p) < 0) ...;   // mer_errmsg()
 *     size_t nr = mer_backbone_rows(b, pcm, n, NULL);                   // count
 *     struct mer_backbone_row *rows = calloc(nr, sizeof(*rows));
 *     mer_backbone_rows(b, pcm, n, rows);      // rows of several clips may join one run
 *     if (mer_backbone_run(b, rows, nr) < 0) ...;
 *     for (size_t i = 0; i < nr; i++) {
 *         int64_t T;
 *         const float *f = mer_backbone_frames(b, i, &T);   // [T, mer_backbone_dim(b)]
 *     }
 *     mer_backbone_close(b);
 *
 * Not thread-safe: one handle per thread (libtorch parallelizes inside a forward). Open sets
 * glibc's malloc, process-wide, to keep blocks up to 256 MiB in the heap and 1 GiB of freed
 * memory from the kernel: each forward frees its activations, and page-faulting them back in
 * tripled the CPU time of small models. The device (p->device) is process-wide in libtorch:
 * each run sets it again.
 */
#ifndef MER_BACKBONE_H
#define MER_BACKBONE_H

#include <stddef.h>
#include <stdint.h>

typedef struct mer_backbone mer_backbone;

/* How the chosen layers' hidden states [B, T', D] become one: their sum (MERTools), mean,
 * or concatenation along D (D times the number of layers, in the order given). */
enum mer_layer_pool { MER_LAYER_POOL_SUM, MER_LAYER_POOL_MEAN, MER_LAYER_POOL_CAT };

/* A long clip's last row: zero-padded to segment_s (MERTools), or kept at its own length (a
 * tail shorter than mer_backbone_min_samples then joins the row before it). */
enum mer_segment_tail { MER_TAIL_PAD, MER_TAIL_KEEP };

/* Per-clip input normalization: as the module's mer_backbone.json says (off without one),
 * or forced. */
enum mer_backbone_norm { MER_BACKBONE_NORM_AUTO, MER_BACKBONE_NORM_OFF, MER_BACKBONE_NORM_ON };

struct mer_backbone_params {
    const char *model;          /* the TorchScript file */
    const char *device;         /* "cpu" (NULL too), "cuda", "cuda:N": needs a CUDA LibTorch */
    const int *layers;          /* hidden-state indexes, negative from the end; NULL: -4..-1 */
    size_t n_layers;            /* entries of layers */
    enum mer_layer_pool pool;   /* MER_LAYER_POOL_SUM */
    double segment_s;           /* 10: clips longer than this are cut; <= 0: never cut */
    enum mer_segment_tail tail; /* MER_TAIL_PAD */
    enum mer_backbone_norm normalize; /* MER_BACKBONE_NORM_AUTO */
    int batch;                        /* 8: most rows in one forward */
    int threads;                      /* libtorch intra-op threads; <= 0 leaves them as they are */
};

/* The defaults above (MERTools' choices). */
struct mer_backbone_params mer_backbone_default_params(void);

/* Loads the module onto p->device and probes it (1 s of signal) for its layer count and D,
 * then for its shortest input. -1 with one line naming the file: missing or not TorchScript, a
 * forward of another signature (the line names the expected input and output shapes), a module that
 * throws (the line has libtorch's message), a layer out of range (the line says how many layers it
 * has), no CUDA for a cuda device. Needs mer_torch_load() first. New handle: mer_backbone_close. */
int mer_backbone_open(mer_backbone **out, const struct mer_backbone_params *p);
void mer_backbone_close(mer_backbone *b);

/* D of the pooled frames (the hidden size, times the number of layers for MER_LAYER_POOL_CAT). */
int64_t mer_backbone_dim(const mer_backbone *b);
/* The hidden states the module returns (layers + 1 for a Hugging Face model). */
size_t mer_backbone_layer_count(const mer_backbone *b);
/* The sample rate the clips must have (mer_backbone.json; 16000 without it). */
int mer_backbone_sample_rate(const mer_backbone *b);
/* Whether clips are normalized (the resolved p->normalize), for provenance. */
int mer_backbone_normalizes(const mer_backbone *b);
/* "xxh64:<16 hex>" over the model file's bytes, for provenance; borrowed. */
const char *mer_backbone_checksum(const mer_backbone *b);

/* One row: samples x[0 .. len) of a clip (borrowed: they must stay until the run), run as
 * width samples (zeros after len; width >= len), each (x - shift) * scale first. */
struct mer_backbone_row {
    const float *x;
    size_t len, width;
    double shift, scale;
};

/* The shortest row the module can run (found at open: 400 samples, 25 ms, for wav2vec2's
 * conv encoder). */
size_t mer_backbone_min_samples(const mer_backbone *b);

/* Cuts the clip x[n] into rows (see above) and returns their count; rows may be NULL to count
 * them only (at most n / segment + 1). 0 for a clip shorter than mer_backbone_min_samples
 * (n = 0 included): the caller reports it as too short. */
size_t mer_backbone_rows(const mer_backbone *b, const float *x, size_t n,
                         struct mer_backbone_row *rows);

/* Runs n rows (from any clips; see above for batching), keeping each row's frames until the
 * next run or close. -1 with one line naming the file and the batch shape if the module fails
 * or returns something else than at open. */
int mer_backbone_run(mer_backbone *b, const struct mer_backbone_row *rows, size_t n);
/* Row i's frames of the last run, [*T, D] row-major; borrowed until the next run or close. */
const float *mer_backbone_frames(const mer_backbone *b, size_t i, int64_t *T);

#endif
