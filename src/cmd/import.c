/* mer import: a folder of per-sample .npy files (MERTools' layout) -> a feature store. */
#include "cmd/cmd.h"
#include "mer/error.h"
#include "mer/fs.h"
#include "mer/importer.h"
#include "mer/opt.h"
#include "mer/progress.h"
#include "mer/provenance.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const usage[] = {
    "mer import [options] <npy-dir> -o <out.safetensors>",
    "mer import [options] <npy-dir> -o <out-dir/> [--shard i/n]",
    NULL,
};

/* key: s as provenance text (not valid UTF-8 is escaped). */
static void add_text(cJSON *o, const char *key, const char *s)
{
    char *t = mer_provenance_text(s);
    if (t)
        cJSON_AddStringToObject(o, key, t);
    free(t);
}

/* The command's provenance (base, from argv before parsing reorders it) plus what this
 * import read and how: input, pool, dtype, shard, ids. */
static char *import_provenance(const char *base, const struct mer_build_params *p, const char *pool,
                               const char *dtype)
{
    char *text = NULL, abs[PATH_MAX];
    cJSON *o = base ? cJSON_Parse(base) : NULL;
    char shard[32];
    if (!o)
        goto done;
    snprintf(shard, sizeof(shard), "%d/%d", p->shard.index, p->shard.count);
    add_text(o, "input", realpath(p->input, abs) ? abs : p->input);
    cJSON_AddStringToObject(o, "pool", pool);
    cJSON_AddStringToObject(o, "dtype", dtype);
    cJSON_AddStringToObject(o, "shard", shard);
    if (p->ids_file)
        add_text(o, "ids", p->ids_file);
    if (p->labels_csv)
        add_text(o, "labels", p->labels_csv);
    text = cJSON_PrintUnformatted(o);
done:
    cJSON_Delete(o);
    return text;
}

static void print_report(const struct mer_build_params *p, const struct mer_build_report *r)
{
    if (r->skipped_existing) {
        printf("'%s' exists: part %d of %d already done (--force redoes it)\n", r->path,
               p->shard.index, p->shard.count);
        return;
    }
    printf("imported %zu samples [D = %lld%s] into '%s'", r->written, (long long)r->dim,
           r->frame_level ? ", frame level" : "", r->path);
    if (r->skipped || r->missing || r->extra)
        printf(" (%zu unreadable, %zu missing, %zu extra)", r->skipped, r->missing, r->extra);
    putchar('\n');
}

int cmd_import(int argc, const char **argv)
{
    struct mer_build_params p = mer_build_default_params();
    const char *pool = "mean", *dtype = "f32";
    int quiet = 0, chunk = 0, n, ret = 2;
    char *command = mer_provenance_json(argc, argv), *provenance = NULL;
    struct mer_build_report rep;
    struct mer_option opts[] = {
        MER_OPT_STRING('o', "out", &p.out, "path",
                       "output store: a .safetensors file, or a directory (parts + index.json)"),
        MER_OPT_STRING(0, "pool", &pool, "mean|max|none",
                       "pooling of frame-level [T, D] inputs (default mean)"),
        MER_OPT_STRING(0, "dtype", &dtype, "f32|f16", "stored dtype (default f32)"),
        MER_OPT_STRING(0, "ids", &p.ids_file, "file",
                       "sample names, one a line: fixes the set and order"),
        MER_OPT_STRING(0, "labels", &p.labels_csv, "csv",
                       "a label CSV (MER2024 or manifest) whose names fix the set and order"),
        MER_OPT_SHARD(0, "shard", &p.shard, "write part i of n (into the -o directory)"),
        MER_OPT_INT_RANGE(0, "jobs", &p.jobs, "[1,256]", "reading threads (default 1)"),
        MER_OPT_INT_RANGE(0, "checkpoint-every", &chunk, "[1,1000000]",
                          "samples per resumable checkpoint (default 256)"),
        MER_OPT_BOOL(0, "force", &p.force,
                     "overwrite existing output (or a finished part); start an interrupted run "
                     "over"),
        MER_OPT_BOOL(0, "strict", &p.strict,
                     "fail on an unreadable or missing sample instead of skipping it"),
        MER_OPT_BOOL('q', "quiet", &quiet, "no progress output"),
        MER_OPT_END(),
    };
    n = mer_opt_parse(argc, argv, opts, usage);
    if (n < 0) {
        ret = mer_opt_exit_code(n);
        goto done;
    }
    if (n != 1 || !p.out || !*p.out) {
        ret = mer_usage_error("import", n != 1 ? "expected one input directory" : "no -o given");
        goto done;
    }
    if (p.ids_file && p.labels_csv) {
        ret = mer_usage_error("import", "--ids and --labels both fix the samples: give one");
        goto done;
    }
    p.input = argv[0];
    p.chunk_samples = (size_t)chunk;
    mer_progress_quiet(quiet);
    if (mer_pool_parse(pool, MER_IMPORT_POOLS, &p.pool) < 0 ||
        mer_import_parse_dtype(dtype, &p.dtype) < 0) {
        ret = mer_usage_error("import", "%s", mer_errmsg());
        goto done;
    }
    if (!(provenance = import_provenance(command, &p, pool, dtype))) {
        mer_error("out of memory");
        ret = cmd_fail("import");
        goto done;
    }
    p.provenance = provenance;
    /* One file (not a directory store, which keeps its own finished parts): the one rule. */
    if (p.shard.count <= 1 && p.out[strlen(p.out) - 1] != '/' && !mer_is_dir(p.out) &&
        mer_output_check(p.out, p.force) < 0) {
        ret = cmd_fail("import");
        goto done;
    }
    ret = mer_import_npy_dir(&p, &rep) < 0 ? cmd_fail("import") : 0;
    if (ret == 0 && !quiet)
        print_report(&p, &rep);
done:
    free(command);
    free(provenance);
    return ret;
}
