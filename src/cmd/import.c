/* mer import: a folder of per-sample .npy files (MERTools' layout) -> a feature store. */
#include "cmd/cmd.h"
#include "mer/error.h"
#include "mer/fs.h"
#include "mer/importer.h"
#include "mer/opt.h"
#include "mer/provenance.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const usage[] = {
    "mer import [options] <npy-dir> -o <out.safetensors>",
    "mer import [options] <npy-dir> -o <out-dir> --shard i/n",
    NULL,
};

int cmd_import(int argc, const char **argv)
{
    struct mer_import_params p = mer_import_default_params();
    const char *pool = "mean", *dtype = "f32";
    int quiet = 0, n;
    char *provenance = mer_provenance_json(argc, argv);
    struct mer_import_report rep;
    struct mer_option opts[] = {
        MER_OPT_STRING('o', "out", &p.out, "path", "output store (a directory with --shard)"),
        MER_OPT_STRING(0, "pool", &pool, "mean|max|none",
                       "pooling of frame-level [T, D] inputs (default mean)"),
        MER_OPT_STRING(0, "dtype", &dtype, "f32|f16", "stored dtype (default f32)"),
        MER_OPT_STRING(0, "ids", &p.ids_file, "file",
                       "sample names, one a line: fixes the set and order"),
        MER_OPT_STRING(0, "labels", &p.labels_csv, "csv",
                       "a label CSV (MER2024 or manifest) whose names fix the set and order"),
        MER_OPT_SHARD(0, "shard", &p.shard, "write part i of n (into the -o directory)"),
        MER_OPT_BOOL(0, "force", &p.force, "overwrite existing output"),
        MER_OPT_BOOL(0, "strict", &p.strict, "fail on an unreadable sample instead of skipping it"),
        MER_OPT_BOOL('q', "quiet", &quiet, "no progress output"),
        MER_OPT_END(),
    };
    int ret = 2;
    n = mer_opt_parse(argc, argv, opts, usage);
    if (n < 0) {
        ret = mer_opt_exit_code(n);
        goto done;
    }
    if (n != 1 || !p.out) {
        ret = mer_usage_error("import", n != 1 ? "expected one input directory" : "no -o given");
        goto done;
    }
    p.input = argv[0];
    p.provenance = provenance;
    p.quiet = quiet;
    if (mer_import_parse_pool(pool, &p.pool) < 0 || mer_import_parse_dtype(dtype, &p.dtype) < 0) {
        ret = mer_usage_error("import", "%s", mer_errmsg());
        goto done;
    }
    ret = mer_import_npy_dir(&p, &rep) < 0 ? cmd_fail("import") : 0;
    if (ret == 0)
        printf("imported %zu samples [D = %lld%s] into '%s'%s\n", rep.written,
               (long long)rep.dim, rep.frame_level ? ", frame level" : "", rep.path,
               rep.skipped_existing ? " (already done; --force redoes it)" : "");
done:
    free(provenance);
    return ret;
}
