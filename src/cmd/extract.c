/* mer extract audio|text: features from raw clips or transcripts into a feature store. */
#include "cmd/cmd.h"
#include "mer/error.h"
#include "mer/extract.h"
#include "mer/fs.h"
#include "mer/importer.h"
#include "mer/opt.h"
#include "mer/progress.h"
#include "mer/provenance.h"
#include "mer/torch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const audio_usage[] = {
    "mer extract audio [options] <clips-dir | list.csv> -o <out.safetensors | out-dir/>",
    NULL,
};
static const char *const video_usage[] = {
    "mer extract video [options] <clips-dir | list.csv> -o <out.safetensors | out-dir/>",
    NULL,
};
static const char *const text_usage[] = {
    "mer extract text [options] <transcripts.csv> -o <out.safetensors | out-dir/>",
    NULL,
};

/* The options every extractor takes (the store builder's). */
struct common {
    struct mer_build_params bp;
    const char *level, *pool, *dtype, *missing;
    int chunk, quiet;
};

#define COMMON_OPTIONS(c)                                                                          \
    MER_OPT_STRING('o', "out", &(c)->bp.out, "path",                                               \
                   "output store: a .safetensors file, or a directory (parts + index.json)"),      \
        MER_OPT_STRING(0, "ids", &(c)->bp.ids_file, "file",                                        \
                       "sample names, one a line: fixes the set and order"),                       \
        MER_OPT_STRING(0, "labels", &(c)->bp.labels_csv, "csv",                                    \
                       "a label CSV (MER2024 or manifest) whose names fix the set and order"),     \
        MER_OPT_STRING(0, "dtype", &(c)->dtype, "f32|f16", "stored dtype (default f32)"),          \
        MER_OPT_INT_RANGE(0, "checkpoint-every", &(c)->chunk, "[1,1000000]",                       \
                          "samples per resumable checkpoint (default 256)"),                       \
        MER_OPT_SHARD(0, "shard", &(c)->bp.shard, "write part i of n (into the -o directory)"),    \
        MER_OPT_BOOL(0, "force", &(c)->bp.force,                                                   \
                     "start over: overwrite the output and any "                                   \
                     "interrupted run's checkpoints"),                                             \
        MER_OPT_BOOL(0, "strict", &(c)->bp.strict,                                                 \
                     "fail on an unusable or missing sample instead of skipping it"),              \
        MER_OPT_BOOL('q', "quiet", &(c)->quiet, "no progress output")

/* The options of extractors that make frames. */
#define FRAME_OPTIONS(c)                                                                           \
    MER_OPT_STRING(0, "level", &(c)->level, "utt|frame",                                           \
                   "one row per clip (mean over frames, -UTT) or every frame (-FRA)"),             \
        MER_OPT_STRING(0, "pool", &(c)->pool, "mean|max|mean,std",                                 \
                       "how --level utt pools the frames (default mean)"),                         \
        MER_OPT_INT_RANGE(0, "jobs", &(c)->bp.jobs, "[1,256]",                                     \
                          "decoding threads (default: the cores)")

/* The options of a TorchScript backbone (p: the kind's params, with device, batch, threads). */
#define BACKBONE_OPTIONS(p, what, dflt)                                                            \
    MER_OPT_STRING(0, "device", &(p)->device, "cpu|cuda[:N]", "torchscript: where it runs"),       \
        MER_OPT_INT_RANGE(0, "batch", &(p)->batch, "[1,4096]",                                     \
                          "torchscript: most " what " in one forward (default " #dflt ")"),        \
        MER_OPT_INT_RANGE(0, "threads", &(p)->threads, "[0,256]",                                  \
                          "torchscript: libtorch threads (default: as libtorch chooses)")

static void common_init(struct common *c)
{
    memset(c, 0, sizeof(*c));
    c->bp = mer_build_default_params();
    c->bp.jobs = 0;
    c->level = "utt";
    c->missing = "skip";
    c->dtype = "f32";
}

/* --level, --pool, --dtype, --jobs into the builder's parameters; 2 on a usage error. */
static int common_resolve(struct common *c, const char *cmd, int n, const char **argv)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (n != 1 || !c->bp.out || !*c->bp.out)
        return mer_usage_error(cmd, n != 1 ? "expected one input" : "no -o given");
    if (c->bp.ids_file && c->bp.labels_csv)
        return mer_usage_error(cmd, "--ids and --labels both fix the samples: give one");
    if (strcmp(c->level, "utt") && strcmp(c->level, "frame"))
        return mer_usage_error(cmd, "--level '%s': expected utt or frame", c->level);
    if (!strcmp(c->level, "frame") && c->pool)
        return mer_usage_error(cmd, "--pool is for --level utt (frame level keeps every frame)");
    if (!strcmp(c->level, "frame"))
        c->bp.pool = MER_POOL_NONE;
    else if (c->pool && mer_pool_parse(c->pool, ~(1u << MER_POOL_NONE), &c->bp.pool) < 0)
        return mer_usage_error(cmd, "%s", mer_errmsg());
    if (mer_import_parse_dtype(c->dtype, &c->bp.dtype) < 0)
        return mer_usage_error(cmd, "%s", mer_errmsg());
    if (!c->bp.jobs)
        c->bp.jobs = cores > 0 ? (int)cores : 1;
    c->bp.chunk_samples = (size_t)c->chunk;
    c->bp.input = argv[0];
    mer_progress_quiet(c->quiet);
    return 0;
}

/* The one overwrite rule for a single-file output (a directory store keeps finished parts). */
static int check_output(const struct mer_build_params *bp)
{
    if (bp->shard.count > 1 || bp->out[strlen(bp->out) - 1] == '/' || mer_is_dir(bp->out))
        return 0;
    return mer_output_check(bp->out, bp->force);
}

static void print_summary(const char *what, const struct mer_build_report *r)
{
    if (r->skipped_existing) {
        printf("'%s' exists: this part is already done (--force redoes it)\n", r->path);
        return;
    }
    printf("extracted %s of %zu samples [D = %lld%s] into '%s' (%zu skipped, %zu missing, %zu "
           "extra",
           what, r->written, (long long)r->dim, r->frame_level ? ", frame level" : "", r->path,
           r->skipped, r->missing, r->extra);
    if (r->resumed)
        printf(", %zu resumed", r->resumed);
    if (r->seconds > 0 && r->elapsed > 0)
        printf("; %.0f s of audio at %.0fx realtime", r->seconds, r->seconds / r->elapsed);
    printf(")\n");
}

static int run_audio(struct common *c, void *ctx)
{
    struct mer_audio_params *ap = ctx;
    struct mer_build_report r;
    if (mer_extract_audio(&c->bp, ap, &r) < 0)
        return -1;
    if (!c->quiet)
        print_summary(ap->features, &r);
    return 0;
}

static int run_video(struct common *c, void *ctx)
{
    struct mer_video_params *vp = ctx;
    struct mer_build_report r;
    if (strcmp(c->missing, "skip") && strcmp(c->missing, "mask"))
        return mer_error("--missing '%s': expected skip or mask", c->missing);
    vp->mask_missing = !strcmp(c->missing, "mask");
    if (c->pool)
        return mer_error("--pool does not apply to video features (the clip's row is the mean "
                         "and std of its frames' features)");
    if (mer_extract_video(&c->bp, vp, &r) < 0)
        return -1;
    if (!c->quiet)
        print_summary(vp->openface ? "openface" : vp->features, &r);
    return 0;
}

static int run_text(struct common *c, void *ctx)
{
    struct mer_text_params *tp = ctx;
    struct mer_build_report r;
    if (mer_extract_text(&c->bp, tp, &r) < 0)
        return -1;
    if (!c->quiet)
        print_summary(tp->encoder, &r);
    if (!c->quiet && tp->empty)
        printf("%zu empty transcripts were written as zeros\n", tp->empty);
    return 0;
}

/* What both kinds do once their options are parsed (n: mer_opt_parse's result): resolve them,
 * load libtorch for a TorchScript model (spec), and run. */
static int run_kind(struct common *c, int n, const char **argv, char *provenance, const char *spec,
                    int (*run)(struct common *c, void *ctx), void *ctx)
{
    int ret;
    if (n < 0)
        return mer_opt_exit_code(n);
    if ((ret = common_resolve(c, "extract", n, argv)))
        return ret;
    c->bp.provenance = provenance;
    if (!strncmp(spec, "torchscript:", 12) && mer_torch_load() < 0)
        return cmd_fail("extract");
    if (check_output(&c->bp) < 0 || run(c, ctx) < 0)
        return cmd_fail("extract");
    return 0;
}

static int extract_audio(int argc, const char **argv, char *provenance)
{
    struct common c;
    struct mer_audio_params ap = mer_audio_default_params();
    struct mer_strlist params = MER_STRLIST_INIT;
    int n, ret;
    common_init(&c);
    struct mer_option opts[] = {
        MER_OPT_STRING(0, "features", &ap.features, "name",
                       "fbank | mfcc | egemaps | torchscript:<model.pt> (default fbank)"),
        MER_OPT_LIST(0, "param", &params, "name=value",
                     "an extractor option (fbank/mfcc: torchaudio's kaldi names), repeatable"),
        MER_OPT_INT_RANGE(0, "rate", &ap.rate, "[1000,384000]",
                          "decode to this sample rate (default 16000)"),
        MER_OPT_STRING(0, "layers", &ap.layers, "list",
                       "torchscript: hidden states to pool (default -4,-3,-2,-1)"),
        MER_OPT_STRING(0, "layer-pool", &ap.layer_pool, "sum|mean|cat",
                       "torchscript: how the layers are joined (default sum)"),
        MER_OPT_DOUBLE_RANGE(0, "segment", &ap.segment_s, "[0,3600]",
                             "torchscript: cut clips into rows of this many seconds (10; 0 never)"),
        BACKBONE_OPTIONS(&ap, "rows", 8),
        FRAME_OPTIONS(&c),
        COMMON_OPTIONS(&c),
        MER_OPT_END(),
    };
    n = mer_opt_parse(argc, argv, opts, audio_usage);
    ap.params = params.items;
    ap.n_params = params.n;
    ret = run_kind(&c, n, argv, provenance, ap.features, run_audio, &ap);
    mer_strlist_release(&params);
    return ret;
}

static int extract_video(int argc, const char **argv, char *provenance)
{
    struct common c;
    struct mer_video_params vp = mer_video_default_params();
    struct mer_strlist params = MER_STRLIST_INIT;
    int n, ret;
    common_init(&c);
    struct mer_option opts[] = {
        MER_OPT_STRING(0, "features", &vp.features, "name",
                       "hog (HOG, colour moments, motion; default) | torchscript:<model.pt>"),
        MER_OPT_LIST(0, "param", &params, "name=value",
                     "an extractor option (hog: skimage's names; torchscript: preprocessing), "
                     "repeatable"),
        BACKBONE_OPTIONS(&vp, "frames", 16),
        MER_OPT_DOUBLE_RANGE(0, "fps", &vp.fps, "[0,1000]",
                             "sample a frame every 1/fps seconds (instead of --frames)"),
        MER_OPT_INT_RANGE(0, "frames", &vp.frames, "[1,100000]",
                          "frames spread uniformly over the clip, as MERTools (default 16)"),
        MER_OPT_STRING(0, "faces", &vp.faces, "dir",
                       "frames from face crops: <dir>/<name>/<name>.npy or <name>_aligned/"),
        MER_OPT_STRING(0, "openface-csv", &vp.openface, "dir",
                       "features from OpenFace FeatureExtraction CSVs: <dir>/<name>.csv"),
        MER_OPT_STRING(0, "missing", &c.missing, "skip|mask",
                       "a clip without a video stream: skipped (default), or missing: left out "
                       "for training to mask (data.missing=mask), no failure under --strict"),
        FRAME_OPTIONS(&c),
        COMMON_OPTIONS(&c),
        MER_OPT_END(),
    };
    n = mer_opt_parse(argc, argv, opts, video_usage);
    vp.params = params.items;
    vp.n_params = params.n;
    ret = run_kind(&c, n, argv, provenance, vp.features, run_video, &vp);
    mer_strlist_release(&params);
    return ret;
}

static int extract_text(int argc, const char **argv, char *provenance)
{
    struct common c;
    struct mer_text_params tp = mer_text_default_params();
    int n;
    common_init(&c);
    struct mer_option opts[] = {
        MER_OPT_STRING(0, "column", &tp.column, "name",
                       "the transcript column: chinese, english or another (default chinese)"),
        MER_OPT_STRING(0, "encoder", &tp.encoder, "name",
                       "hash | torchscript:<model.pt> (default hash)"),
        MER_OPT_INT_RANGE(0, "dim", &tp.dim, "[1,1048576]",
                          "the hash encoder's output size (default 256)"),
        COMMON_OPTIONS(&c),
        MER_OPT_END(),
    };
    n = mer_opt_parse(argc, argv, opts, text_usage);
    return run_kind(&c, n, argv, provenance, tp.encoder, run_text, &tp);
}

int cmd_extract(int argc, const char **argv)
{
    char *provenance = mer_provenance_json(argc, argv);
    int ret;
    if (argc < 2 || (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        /* both kinds' options: audio's, then text's */
        const char *help[] = {"extract", "--help"};
        free(provenance);
        if (argc < 2)
            return mer_usage_error("extract", "expected 'audio', 'video' or 'text'");
        extract_audio(2, help, NULL);
        fputc('\n', stdout);
        extract_video(2, help, NULL);
        fputc('\n', stdout);
        return extract_text(2, help, NULL);
    }
    if (!provenance) {
        mer_error("out of memory");
        return cmd_fail("extract");
    }
    /* the option parser names the command by argv[0] */
    if (!strcmp(argv[1], "audio") && (argv[1] = "extract"))
        ret = extract_audio(argc - 1, argv + 1, provenance);
    else if (!strcmp(argv[1], "video") && (argv[1] = "extract"))
        ret = extract_video(argc - 1, argv + 1, provenance);
    else if (!strcmp(argv[1], "text") && (argv[1] = "extract"))
        ret = extract_text(argc - 1, argv + 1, provenance);
    else
        ret = mer_usage_error("extract", "unknown kind '%s' (expected audio, video or text)",
                              argv[1]);
    free(provenance);
    return ret;
}
