/*
 * image.h: video frames as image backbones want them, and TorchScript image backbones
 * (CLIP's vision tower, DINOv2, a ResNet) exported once with
 * `scripts/export-backbone.py --kind image`.
 *
 * Preprocessing of one RGB24 frame (rgb[h][w][3], rows packed) into float32 [3, C, C] (CHW),
 * each step an option of the table below, numerically as torchvision's
 *     Resize(S, interpolation) ; CenterCrop(C) ; ToTensor() ; Normalize(mean, std)
 * does on a PIL image (CLIP's preprocess with the defaults):
 *   - resize: the shorter side to S, the longer to floor(S * long / short) (torchvision's
 *     size rule), with PIL's separable resampling on 8-bit data (Image.resize: the filter's
 *     support widened by the scale when shrinking, i.e. antialiased; horizontal pass first,
 *     each pass rounded to uint8 with PIL's 22-bit fixed-point coefficients). The result is
 *     the same bytes as PIL 9.4's. Bicubic (a = -0.5) by default, CLIP's choice; bilinear is
 *     torchvision's and timm's ResNets'. Only the pixels inside the crop are computed.
 *   - centre crop to C x C, top-left at round((H - C) / 2) with Python's round (half to
 *     even), as torchvision; a side smaller than C is padded with black (zeros) as
 *     torchvision's center_crop pads.
 *   - rescale: v / 255 in float32 (ToTensor).
 *   - normalize: (x - mean[c]) / std[c] in float32 (Normalize); CLIP's by default.
 * resize = 0 skips the resize, crop = 0 the crop (the output is then the resized size).
 *
 *     struct mer_image_opts o;
 *     mer_image_defaults(&o);                        // or mer_image_backbone_opts(b)
 *     if (mer_image_set(&o, "mean", "imagenet") < 0) ...;   // mer_errmsg() names the option
 *     int oh, ow;
 *     mer_image_out_size(&o, h, w, &oh, &ow);
 *     float *x = malloc(3 * (size_t)oh * ow * sizeof(float));
 *     if (mer_image_preprocess(&o, rgb, h, w, x) < 0) ...;
 *
 * A backbone module's signature:
 *     forward(images: Tensor[B, 3, H, W] float32) -> Tensor[B, D] or Tensor[B, N, D]
 * images preprocessed as above. Tokens [B, N, D] are pooled to [B, D]: the first token (CLS,
 * the default) or the mean over the N tokens (option pool). The module's mer_backbone.json
 * (written by the export script) holds the preprocessing it wants: {"kind": "image",
 * "resize": 224, "crop": 224, "interpolation": "bicubic", "mean": [..3], "std": [..3]};
 * mer_image_backbone_opts gives them (mer_image_defaults where a key is missing).
 *
 *     struct mer_image_backbone_params p = mer_image_backbone_default_params();
 *     p.model = "clip-vit-b16.pt";
 *     mer_image_backbone *b;
 *     if (mer_torch_load() < 0 || mer_image_backbone_open(&b, &p) < 0) ...;
 *     struct mer_image_opts o = *mer_image_backbone_opts(b);   // then mer_image_set(&o, ...)
 *     float *feat = malloc(n * mer_image_backbone_dim(b) * sizeof(float));
 *     if (mer_image_backbone_run(b, images, n, oh, ow, feat) < 0) ...;   // images [n, 3, oh, ow]
 *     mer_image_backbone_close(b);
 *
 * Preprocessing is pure C, thread-safe with separate outputs. A backbone handle is not
 * thread-safe: one per thread (libtorch parallelizes inside a forward); the device is
 * process-wide in libtorch, so each run sets it again.
 */
#ifndef MER_IMAGE_H
#define MER_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

enum mer_image_interp { MER_IMAGE_BICUBIC, MER_IMAGE_BILINEAR };

/* Plain data; fill with mer_image_defaults, change with mer_image_set (or directly). */
struct mer_image_opts {
    int resize;                   /* 224: the shorter side's length; 0: no resize */
    int crop;                     /* 224: the centre square's side; 0: no crop */
    enum mer_image_interp interp; /* MER_IMAGE_BICUBIC (CLIP) */
    int rescale;                  /* 1: v / 255 (else the byte values as they are) */
    float mean[3], std[3];        /* CLIP's; std > 0 */
};

/* CLIP's (OpenAI) and ImageNet's normalization, the presets "clip" and "imagenet". */
extern const float mer_image_clip_mean[3], mer_image_clip_std[3];
extern const float mer_image_imagenet_mean[3], mer_image_imagenet_std[3];

/* The defaults of the option table. */
void mer_image_defaults(struct mer_image_opts *o);

/* Sets one option from text: "resize", "crop" (integers in [0, 8192]), "interpolation"
 * (bicubic|bilinear), "rescale" (true|false|1|0), "mean", "std" (a preset clip|imagenet|none,
 * none being 0,0,0 and 1,1,1, or three comma-separated numbers). -1 with an error naming the
 * option and the allowed values; o is unchanged then. */
int mer_image_set(struct mer_image_opts *o, const char *name, const char *value);

/* Every option with its value as a new JSON object (provenance; cJSON_Delete); NULL if out of
 * memory. mean and std are arrays of three numbers. */
cJSON *mer_image_opts_json(const struct mer_image_opts *o);

/* The option table, for help text and docs: entries 0 .. mer_image_option_count() - 1. */
struct mer_image_option_info {
    const char *name, *type, *def, *range, *help;
};
size_t mer_image_option_count(void);
const struct mer_image_option_info *mer_image_option(size_t i);

/* The size a frame h x w (both >= 1) becomes: C x C with a crop, else the resized size. */
void mer_image_out_size(const struct mer_image_opts *o, int h, int w, int *oh, int *ow);

/* One frame rgb[h][w][3] into out[3][oh][ow] (mer_image_out_size). -1 for a size out of
 * [1, 65536] or a resized side over 2^24 pixels, or out of memory. */
int mer_image_preprocess(const struct mer_image_opts *o, const uint8_t *rgb, int h, int w,
                         float *out);

/* ---- TorchScript image backbones ---- */

typedef struct mer_image_backbone mer_image_backbone;

/* How tokens [B, N, D] become [B, D]: the first (CLS) token, or their mean. */
enum mer_image_pool { MER_IMAGE_POOL_CLS, MER_IMAGE_POOL_MEAN };

struct mer_image_backbone_params {
    const char *model;        /* the TorchScript file */
    const char *device;       /* "cpu" (NULL too), "cuda", "cuda:N": needs a CUDA LibTorch */
    int threads;              /* libtorch intra-op threads; <= 0 leaves them as they are */
    int batch;                /* 16: most images in one forward */
    enum mer_image_pool pool; /* MER_IMAGE_POOL_CLS; only for token outputs */
};

struct mer_image_backbone_params mer_image_backbone_default_params(void);

/* Loads the module onto p->device, reads its preprocessing from mer_backbone.json and probes
 * it on one black image of the preprocessed size for D. -1 with one line naming the file:
 * missing or not TorchScript, a bad mer_backbone.json (the line names the key), a forward of
 * another signature (the line names the expected input and output shapes and what it got), a
 * module that throws (libtorch's message), no CUDA for a cuda device. Needs mer_torch_load()
 * first. New handle: mer_image_backbone_close (NULL is fine). */
int mer_image_backbone_open(mer_image_backbone **out, const struct mer_image_backbone_params *p);
void mer_image_backbone_close(mer_image_backbone *b);

/* D of the features. */
int64_t mer_image_backbone_dim(const mer_image_backbone *b);
/* Whether the module returns tokens [B, N, D] (pooled) rather than [B, D]. */
int mer_image_backbone_tokens(const mer_image_backbone *b);
/* The preprocessing the module wants (its mer_backbone.json over mer_image_defaults);
 * borrowed, valid until close. */
const struct mer_image_opts *mer_image_backbone_opts(const mer_image_backbone *b);
/* "xxh64:<16 hex>" over the model file's bytes, for provenance; borrowed. */
const char *mer_image_backbone_checksum(const mer_image_backbone *b);

/* Runs n preprocessed images [n, 3, h, w] (float32, borrowed) in forwards of at most p->batch
 * and writes out[n, D]. -1 with one line naming the file and the batch's shape if the module
 * throws or returns another shape than [B, D] / [B, N, D] with the D found at open. */
int mer_image_backbone_run(mer_image_backbone *b, const float *images, size_t n, int h, int w,
                           float *out);

#endif
