/* The .npy-folder importer behind `mer import` (importer.h): a source for the store builder. */
#include "mer/error.h"
#include "mer/fs.h"
#include "mer/importer.h"
#include "mer/npy.h"

#include <stdlib.h>
#include <string.h>

int mer_import_parse_dtype(const char *s, enum mer_dtype *dt)
{
    if (!strcmp(s, "f32") || !strcmp(s, "float32"))
        *dt = MER_DTYPE_F32;
    else if (!strcmp(s, "f16") || !strcmp(s, "float16"))
        *dt = MER_DTYPE_F16;
    else
        return mer_error("--dtype '%s': expected f32 or f16", s);
    return 0;
}

static const char *const reasons[] = {"unreadable"};

static const struct mer_build_nouns npy_nouns = {
    .one = ".npy", .a_one = "a .npy file", .many = ".npy files", .verb = "import", .unit = "files"};

/* One sample's [T, D] (or [D]) array. */
static int read_npy(void *ctx, const char *name, const char *path, struct mer_rows *r)
{
    (void)ctx;
    (void)name;
    if (mer_npy_read_matrix(path, &r->data, &r->t, &r->d) < 0)
        return mer_rows_skip(r, 0, "%s", mer_errmsg());
    return 1;
}

int mer_import_npy_dir(const struct mer_build_params *p, struct mer_build_report *r)
{
    static const char *const exts[] = {"npy"};
    struct mer_samples s = MER_SAMPLES_INIT;
    struct mer_build_source src = {
        .label = "import",
        .nouns = &npy_nouns,
        .reasons = reasons,
        .n_reasons = MER_ARRAY_SIZE(reasons),
        .produce = read_npy,
    };
    int ret = -1;
    memset(r, 0, sizeof(*r));
    if (!mer_is_dir(p->input))
        ret = mer_error("'%s': not a directory of .npy files", p->input);
    else if (mer_samples_from_dir(&s, p->input, exts, MER_ARRAY_SIZE(exts), &npy_nouns) == 0)
        ret = mer_build_store(p, &s, &src, r);
    mer_samples_release(&s);
    return ret;
}
