/* The .npy-folder importer behind `mer import`; see importer.h. */
#include "mer/error.h"
#include "mer/fs.h"
#include "mer/importer.h"
#include "mer/labels.h"
#include "mer/names.h"
#include "mer/npy.h"
#include "mer/progress.h"
#include "mer/strmap.h"
#include "mer/strv.h"
#include "mer/utf8.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mer_import_params mer_import_default_params(void)
{
    struct mer_import_params p;
    memset(&p, 0, sizeof(p));
    p.pool = MER_POOL_MEAN;
    p.dtype = MER_DTYPE_F32;
    p.shard.index = 0;
    p.shard.count = 1;
    return p;
}

int mer_import_parse_pool(const char *s, enum mer_pool *pool)
{
    static const char *const names[] = {"mean", "max", "none"};
    for (size_t i = 0; i < MER_ARRAY_SIZE(names); i++)
        if (!strcmp(s, names[i])) {
            *pool = (enum mer_pool)i;
            return 0;
        }
    return mer_error("--pool '%s': expected mean, max or none", s);
}

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

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names of the *.npy files in dir (without the extension), sorted. */
static int list_npy(const char *dir, struct mer_strv *out)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    if (!d)
        return mer_error("'%s': cannot open directory", dir);
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len > 4 && !strcmp(e->d_name + len - 4, ".npy") &&
            mer_strv_push(out, e->d_name, len - 4) < 0) {
            closedir(d);
            return -1;
        }
    }
    closedir(d);
    if (out->n > 1) /* (an empty list has no array, which qsort may not be given) */
        qsort(out->v, out->n, sizeof(*out->v), by_name);
    return 0;
}

static int read_ids(const char *path, struct mer_strv *out)
{
    char *text, *line, *next;
    size_t n = 0;
    if (mer_read_file(path, &text, NULL) < 0)
        return -1;
    for (line = text; line && *line; line = next) {
        size_t len;
        next = strchr(line, '\n');
        len = next ? (size_t)(next - line) : strlen(line);
        if (next)
            next++;
        n++;
        while (len && (line[len - 1] == '\r' || line[len - 1] == ' '))
            len--;
        if (len && mer_strv_push(out, line, len) < 0) {
            free(text);
            return -1;
        }
    }
    free(text);
    return 0;
}

/* The sample names of a label CSV (labels.h), in its row order. */
static int read_label_names(const char *path, struct mer_strv *out)
{
    struct mer_labels_params lp = mer_labels_default_params();
    struct mer_labels *l = NULL;
    int ret = -1;
    lp.n_classes = 0; /* any label is fine here: only the names matter */
    if (mer_labels_from_csv(&l, path, &lp) < 0)
        return -1;
    for (size_t i = 0; i < l->n; i++)
        if (mer_strv_push(out, l->names[i], strlen(l->names[i])) < 0)
            goto done;
    ret = 0;
done:
    mer_labels_free(l);
    return ret;
}

/* A warning (error.h) "<what>: 'a', 'b', 'c', ..." with up to 8 names. */
static void warn_names(const char *what, char *const *v, size_t n)
{
    char list[512];
    size_t len = 0;
    list[0] = '\0';
    for (size_t i = 0; i < n && i < 8 && len < sizeof(list); i++) {
        int k = snprintf(list + len, sizeof(list) - len, "%s '%s'", i ? "," : "", v[i]);
        len += k > 0 ? (size_t)k : 0;
    }
    mer_warn("%s:%s%s", what, list, n > 8 ? ", ..." : "");
}

/* The samples to import: all files, or the ids file's names that have a file. */
static int select_samples(const struct mer_import_params *p, struct mer_strv *files,
                          struct mer_strv *chosen, struct mer_import_report *r)
{
    struct mer_strv ids = MER_STRV_INIT, missing = MER_STRV_INIT, extra = MER_STRV_INIT;
    struct mer_strmap fmap = MER_STRMAP_INIT, imap = MER_STRMAP_INIT;
    int ret = -1;
    const char *list = p->ids_file ? p->ids_file : p->labels_csv;
    if (!list) {
        *chosen = *files;
        memset(files, 0, sizeof(*files));
        return 0;
    }
    if ((p->ids_file ? read_ids(list, &ids) : read_label_names(list, &ids)) < 0 ||
        mer_strmap_build(&fmap, (const char *const *)files->v, files->n, NULL) < 0)
        goto done;
    if (mer_strmap_build(&imap, (const char *const *)ids.v, ids.n, NULL) < 0) {
        mer_error_prefix("'%s'", list);
        goto done;
    }
    for (size_t i = 0; i < ids.n; i++)
        if (mer_strv_push(mer_strmap_get(&fmap, ids.v[i]) >= 0 ? chosen : &missing, ids.v[i],
                       strlen(ids.v[i])) < 0)
            goto done;
    for (size_t i = 0; i < files->n; i++)
        if (mer_strmap_get(&imap, files->v[i]) < 0 &&
            mer_strv_push(&extra, files->v[i], strlen(files->v[i])) < 0)
            goto done;
    r->missing = missing.n;
    r->extra = extra.n;
    if (missing.n) {
        char what[4300];
        snprintf(what, sizeof(what), "%zu names in '%s' have no .npy in '%s'", missing.n, list,
                 p->input);
        if (p->strict) {
            mer_error("%s, e.g. '%s'", what, missing.v[0]);
            goto done;
        }
        warn_names(what, missing.v, missing.n);
    }
    if (extra.n) {
        char what[4300];
        snprintf(what, sizeof(what), "%zu .npy files in '%s' are not in '%s' (left out)", extra.n,
                 p->input, list);
        warn_names(what, extra.v, extra.n);
    }
    ret = 0;
done:
    mer_strmap_release(&fmap);
    mer_strmap_release(&imap);
    mer_strv_release(&ids);
    mer_strv_release(&missing);
    mer_strv_release(&extra);
    return ret;
}

/* ---- reading and pooling ---- */

struct matrix {
    float *v;
    size_t rows, cap; /* rows of dim floats */
    int64_t dim;
    const char *first; /* the sample that fixed dim (borrowed) */
};

static int matrix_append(struct matrix *m, const float *rows, size_t n)
{
    if (m->rows + n > m->cap) {
        size_t cap = m->cap ? m->cap : 1024;
        float *grown;
        while (cap < m->rows + n)
            cap *= 2;
        grown = realloc(m->v, cap * (size_t)m->dim * sizeof(float));
        if (!grown)
            return mer_error("out of memory");
        m->v = grown;
        m->cap = cap;
    }
    memcpy(m->v + m->rows * (size_t)m->dim, rows, n * (size_t)m->dim * sizeof(float));
    m->rows += n;
    return 0;
}

/* Pools x [t, d] in place into its first row: a mean accumulated in double, or a max that
 * keeps a NaN (as numpy's does). */
static int pool_rows(float *x, int64_t t, int64_t d, enum mer_pool pool)
{
    double *acc = NULL;
    if (pool == MER_POOL_MEAN) {
        if (!(acc = calloc((size_t)d, sizeof(*acc))))
            return mer_error("out of memory");
        for (int64_t i = 0; i < t; i++)
            for (int64_t j = 0; j < d; j++)
                acc[j] += x[i * d + j];
        for (int64_t j = 0; j < d; j++)
            x[j] = (float)(acc[j] / (double)t);
        free(acc);
        return 0;
    }
    for (int64_t i = 1; i < t; i++)
        for (int64_t j = 0; j < d; j++) {
            float v = x[i * d + j];
            if (v > x[j] || isnan(v))
                x[j] = isnan(x[j]) ? x[j] : v;
        }
    return 0;
}

/* Reads one sample; 1 if read, 0 if skipped (warned), -1 on a fatal error. */
static int read_sample(const struct mer_import_params *p, const char *name, struct matrix *m,
                       int64_t *frames)
{
    char *path = mer_strfmt("%s/%s.npy", p->input, name);
    float *x = NULL;
    int64_t t, d;
    int ret = -1;
    if (!path)
        return mer_error("out of memory");
    if (mer_utf8_check(name, strlen(name)) != strlen(name)) {
        /* A store's sample names are JSON text (mer.ids): such a name could not be written. */
        char shown[4 * 256 + 1];
        mer_error("'%s': the file name is not valid UTF-8 (sample names are text; rename it)",
                  mer_name_escape(path, shown, sizeof(shown)));
        goto bad;
    }
    if (mer_npy_read_matrix(path, &x, &t, &d) < 0)
        goto bad;
    if (m->dim && d != m->dim) {
        mer_error("'%s': dimension %lld, but the first sample ('%s') has %lld", path, (long long)d,
                  m->first, (long long)m->dim);
        goto bad;
    }
    m->dim = d;
    m->first = m->first ? m->first : name;
    if (p->pool != MER_POOL_NONE && t > 1) {
        if (pool_rows(x, t, d, p->pool) < 0)
            goto done;
        t = 1;
    }
    *frames = t;
    ret = matrix_append(m, x, (size_t)t) < 0 ? -1 : 1;
    goto done;
bad:
    if (!p->strict) {
        mer_warn("%s (skipped)", mer_errmsg());
        ret = 0;
    }
done:
    free(x);
    free(path);
    return ret;
}

/* ---- output ---- */

/* A directory store (parts + index.json): with --shard, or when -o names a directory. */
static int wants_dir(const struct mer_import_params *p)
{
    size_t len = strlen(p->out);
    return p->shard.count > 1 || (len && p->out[len - 1] == '/') || mer_is_dir(p->out);
}

/* Creates the directory that will hold path, if it names one. */
static int make_parent(const char *path)
{
    char *dir = mer_strfmt("%s", path), *slash = dir ? strrchr(dir, '/') : NULL;
    int ret = dir ? 0 : mer_error("out of memory");
    if (slash && slash != dir) {
        *slash = '\0';
        ret = mer_mkdir_p(dir);
    }
    free(dir);
    return ret;
}

/* Decides the file to write; an existing one is an error, or with shards a finished part. */
static int prepare_output(const struct mer_import_params *p, struct mer_import_report *r)
{
    char *part = NULL;
    if (wants_dir(p)) {
        if (mer_mkdir_p(p->out) < 0 || !(part = mer_store_part_path(p->out, p->shard.index)))
            return part ? -1 : mer_error("out of memory");
        snprintf(r->path, sizeof(r->path), "%s", part);
        free(part);
        /* A part is written atomically, so one that exists is complete: resume past it. */
        r->skipped_existing = mer_path_exists(r->path) && !p->force;
        return 0;
    }
    snprintf(r->path, sizeof(r->path), "%s", p->out);
    if (mer_path_exists(r->path) && !p->force)
        return mer_error("'%s' exists (use --force to overwrite it)", r->path);
    return make_parent(r->path);
}

static int import_samples(const struct mer_import_params *p, struct mer_strv *todo,
                          struct mer_import_report *r)
{
    struct matrix m = {0};
    struct mer_progress bar;
    int64_t *offsets = calloc(todo->n + 1, sizeof(int64_t));
    char **ids = calloc(todo->n + 1, sizeof(char *));
    int ret = -1, any_frames = 0;
    if (!offsets || !ids) {
        mer_error("out of memory");
        goto done;
    }
    mer_progress_start(&bar, "import", (int64_t)todo->n, "files");
    for (size_t i = 0; i < todo->n; i++) {
        int64_t t = 0;
        int got = read_sample(p, todo->v[i], &m, &t);
        if (got < 0)
            goto done;
        if (got) {
            ids[r->written] = todo->v[i];
            offsets[r->written + 1] = offsets[r->written] + t;
            any_frames |= t > 1;
            r->written++;
        } else {
            r->unreadable++;
        }
        mer_progress_update(&bar, (int64_t)i + 1);
    }
    mer_progress_finish(&bar);
    if (!r->written && todo->n) {
        mer_error("'%s': none of the %zu samples could be read", p->input, todo->n);
        goto done;
    }
    r->dim = m.dim;
    r->frame_level = any_frames;
    {
        struct mer_features_out o = {
            .ids = (const char *const *)ids,
            .n = r->written,
            .dim = m.dim,
            .data = m.v,
            .offsets = any_frames ? offsets : NULL,
            .dtype = p->dtype,
            .provenance = p->provenance,
        };
        ret = mer_store_write_features(r->path, &o);
    }
    if (ret == 0 && r->unreadable)
        mer_warn("skipped %zu of %zu samples that could not be read", r->unreadable, todo->n);
done:
    free(m.v);
    free(offsets);
    free(ids);
    return ret;
}

int mer_import_npy_dir(const struct mer_import_params *p, struct mer_import_report *r)
{
    struct mer_strv files = MER_STRV_INIT, chosen = MER_STRV_INIT, todo = MER_STRV_INIT;
    int ret = -1;
    memset(r, 0, sizeof(*r));
    mer_progress_quiet(p->quiet);
    if (!mer_is_dir(p->input)) {
        mer_error("'%s': not a directory of .npy files", p->input);
        goto done;
    }
    if (prepare_output(p, r) < 0)
        goto done;
    if (r->skipped_existing) /* resume: only the index may be left to write */
        goto index;
    if (list_npy(p->input, &files) < 0 || select_samples(p, &files, &chosen, r) < 0)
        goto done;
    if (!chosen.n && (p->ids_file || p->labels_csv)) {
        mer_error("'%s': none of the names in '%s' has a .npy file", p->input,
                  p->ids_file ? p->ids_file : p->labels_csv);
        goto done;
    }
    if (!chosen.n) {
        mer_error("'%s': no .npy files to import", p->input);
        goto done;
    }
    /* Round robin, so that every shard gets a similar mix of the (sorted) names. */
    for (size_t i = (size_t)p->shard.index; i < chosen.n; i += (size_t)p->shard.count)
        if (mer_strv_push(&todo, chosen.v[i], strlen(chosen.v[i])) < 0)
            goto done;
    if (import_samples(p, &todo, r) < 0)
        goto done;
index:
    if (wants_dir(p) && mer_store_write_index(p->out, p->shard.count) < 0)
        goto done;
    ret = 0;
done:
    mer_strv_release(&files);
    mer_strv_release(&chosen);
    mer_strv_release(&todo);
    return ret;
}
