/* The builder's sample lists (builder.h): from a directory or a name,path CSV, and their
 * selection by an ids file or a label CSV. */
#include "features/builder_impl.h"
#include "mer/csv.h"
#include "mer/error.h"
#include "mer/fs.h"
#include "mer/labels.h"
#include "mer/strmap.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void mer_samples_release(struct mer_samples *s)
{
    mer_strv_release(&s->names);
    mer_strv_release(&s->paths);
}

static int push_sample(struct mer_samples *s, const char *name, size_t len, const char *path)
{
    if (mer_strv_push(&s->names, name, len) < 0 || mer_strv_push(&s->paths, path, strlen(path)) < 0)
        return -1;
    return 0;
}

/* The extension of file that is one of exts (case-insensitive), or NULL. */
static const char *known_ext(const char *file, const char *const *exts, size_t n_exts)
{
    const char *dot = strrchr(file, '.');
    if (!dot || dot == file)
        return NULL;
    for (size_t i = 0; i < n_exts; i++)
        if (!strcasecmp(dot + 1, exts[i]))
            return dot;
    return NULL;
}

/* Sorts the samples by name (names and paths together). */
static int sort_by_name(struct mer_samples *s)
{
    size_t n = s->names.n;
    char **pairs = n ? malloc(2 * n * sizeof(*pairs)) : NULL;
    if (n < 2) {
        free(pairs);
        return 0;
    }
    if (!pairs)
        return mer_error("out of memory");
    for (size_t i = 0; i < n; i++) {
        pairs[2 * i] = s->names.v[i];
        pairs[2 * i + 1] = s->paths.v[i];
    }
    qsort(pairs, n, 2 * sizeof(*pairs), mer_strv_compare);
    for (size_t i = 0; i < n; i++) {
        s->names.v[i] = pairs[2 * i];
        s->paths.v[i] = pairs[2 * i + 1];
    }
    free(pairs);
    return 0;
}

int mer_samples_from_dir(struct mer_samples *s, const char *dir, const char *const *exts,
                         size_t n_exts, const struct mer_build_nouns *nouns)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int ret = 0;
    if (!d)
        return mer_error("'%s': cannot open directory", dir);
    while (ret == 0 && (e = readdir(d))) {
        const char *dot = known_ext(e->d_name, exts, n_exts);
        char *path;
        if (!dot)
            continue;
        if (!(path = mer_path_join(dir, e->d_name)))
            ret = mer_error("out of memory");
        else if (!mer_is_dir(path))
            ret = push_sample(s, e->d_name, (size_t)(dot - e->d_name), path);
        free(path);
    }
    closedir(d);
    if (ret < 0 || sort_by_name(s) < 0)
        return -1;
    for (size_t i = 1; i < s->names.n; i++)
        if (!strcmp(s->names.v[i - 1], s->names.v[i]))
            return mer_error("'%s': two %s for sample '%s': '%s' and '%s' (keep one)", dir,
                             nouns->many, s->names.v[i], s->paths.v[i - 1], s->paths.v[i]);
    return 0;
}

/* The directory part of path ("." if none): new string. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return mer_strfmt(".");
    return mer_strfmt("%.*s", (int)(slash == path ? 1 : slash - path), path);
}

static int csv_rows(struct mer_samples *s, const struct mer_csv *csv, const char *base)
{
    int name = mer_csv_column(csv, "name"), path = mer_csv_column(csv, "path");
    if (name < 0 || path < 0)
        return mer_error("'%s':1: expected a header row with 'name' and 'path' columns", csv->path);
    for (size_t i = 1; i < csv->n_rows; i++) {
        const struct mer_csv_row *row = &csv->rows[i];
        const char *p;
        char *full;
        int ret;
        if ((size_t)name >= row->n_fields || (size_t)path >= row->n_fields || !*row->fields[name] ||
            !*row->fields[path])
            return mer_error("'%s':%zu: a row needs a name and a path", csv->path, row->line);
        p = row->fields[path];
        full = p[0] == '/' ? mer_strfmt("%s", p) : mer_path_join(base, p);
        if (!full)
            return mer_error("out of memory");
        ret = push_sample(s, row->fields[name], strlen(row->fields[name]), full);
        free(full);
        if (ret < 0)
            return -1;
    }
    return 0;
}

int mer_samples_check_unique(const struct mer_samples *s, const char *path)
{
    struct mer_strmap map = MER_STRMAP_INIT;
    size_t dup = 0;
    int ret = 0;
    if (mer_strmap_build(&map, (const char *const *)s->names.v, s->names.n, &dup) < 0)
        ret = mer_error("'%s': sample '%s' is listed twice", path, s->names.v[dup]);
    mer_strmap_release(&map);
    return ret;
}

int mer_samples_from_csv(struct mer_samples *s, const char *path)
{
    struct mer_csv *csv = NULL;
    char *base = dir_of(path);
    int ret = -1;
    if (!base)
        return mer_error("out of memory");
    if (mer_csv_read(&csv, path) == 0 && csv_rows(s, csv, base) == 0)
        ret = mer_samples_check_unique(s, path);
    mer_csv_free(csv);
    free(base);
    return ret;
}

/* ---- selection ---- */

static int read_ids(const char *path, struct mer_strv *out)
{
    char *text, *line, *next;
    if (mer_read_file(path, &text, NULL) < 0)
        return -1;
    for (line = text; line && *line; line = next) {
        size_t len;
        next = strchr(line, '\n');
        len = next ? (size_t)(next - line) : strlen(line);
        if (next)
            next++;
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

/* Reports the names listed without an input (an error with strict) and the inputs not listed. */
static int report_unmatched(const struct mer_build_sel *sel, const struct mer_strv *missing,
                            const struct mer_strv *extra)
{
    const struct mer_build_nouns *nn = sel->nouns;
    char what[4400];
    if (missing->n) {
        snprintf(what, sizeof(what), "%zu names in '%s' have no %s in '%s'", missing->n, sel->list,
                 nn->one, sel->input);
        if (sel->strict)
            return mer_error("%s, e.g. '%s'", what, missing->v[0]);
        warn_names(what, missing->v, missing->n);
    }
    if (extra->n) {
        snprintf(what, sizeof(what), "%zu %s in '%s' are not in '%s' (left out)", extra->n,
                 nn->many, sel->input, sel->list);
        warn_names(what, extra->v, extra->n);
    }
    return 0;
}

/* Keeps, in the list's order, the samples it names; counts the missing and extra. */
static int keep_listed(struct mer_samples *s, const struct mer_build_sel *sel,
                       const struct mer_strv *ids, size_t *n_missing, size_t *n_extra)
{
    struct mer_samples kept = MER_SAMPLES_INIT;
    struct mer_strv missing = MER_STRV_INIT, extra = MER_STRV_INIT;
    struct mer_strmap have = MER_STRMAP_INIT, listed = MER_STRMAP_INIT;
    int ret = -1;
    if (mer_strmap_build(&have, (const char *const *)s->names.v, s->names.n, NULL) < 0)
        goto done;
    if (mer_strmap_build(&listed, (const char *const *)ids->v, ids->n, NULL) < 0) {
        mer_error_prefix("'%s'", sel->list);
        goto done;
    }
    for (size_t i = 0; i < ids->n; i++) {
        int64_t k = mer_strmap_get(&have, ids->v[i]);
        if (k >= 0 ? push_sample(&kept, ids->v[i], strlen(ids->v[i]), s->paths.v[k]) < 0
                   : mer_strv_push(&missing, ids->v[i], strlen(ids->v[i])) < 0)
            goto done;
    }
    for (size_t i = 0; i < s->names.n; i++)
        if (mer_strmap_get(&listed, s->names.v[i]) < 0 &&
            mer_strv_push(&extra, s->names.v[i], strlen(s->names.v[i])) < 0)
            goto done;
    *n_missing = missing.n;
    *n_extra = extra.n;
    if (report_unmatched(sel, &missing, &extra) < 0)
        goto done;
    mer_samples_release(s);
    *s = kept;
    memset(&kept, 0, sizeof(kept));
    ret = 0;
done:
    mer_samples_release(&kept);
    mer_strmap_release(&have);
    mer_strmap_release(&listed);
    mer_strv_release(&missing);
    mer_strv_release(&extra);
    return ret;
}

int mer_build_select(struct mer_samples *s, const struct mer_build_sel *sel, size_t *n_missing,
                     size_t *n_extra)
{
    struct mer_strv ids = MER_STRV_INIT;
    int ret = 0;
    *n_missing = *n_extra = 0;
    if (sel->list) {
        ret = (sel->is_labels ? read_label_names(sel->list, &ids) : read_ids(sel->list, &ids)) < 0
                  ? -1
                  : keep_listed(s, sel, &ids, n_missing, n_extra);
        mer_strv_release(&ids);
        if (ret == 0 && !s->names.n)
            ret = mer_error("'%s': none of the names in '%s' has %s", sel->input, sel->list,
                            sel->nouns->a_one);
    } else if (!s->names.n) {
        ret = mer_error("'%s': no %s to %s", sel->input, sel->nouns->many, sel->nouns->verb);
    }
    return ret;
}
