/* Labels from CSV into a labels store; see labels.h. */
#include "mer/labels.h"
#include "mer/csv.h"
#include "mer/error.h"
#include "mer/fs.h"
#include "mer/names.h"
#include "mer/store.h"
#include "mer/strmap.h"
#include "mer/strv.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const mer_mer2024_classes[6] = {"neutral", "angry",   "happy",
                                            "sad",     "worried", "surprise"};

struct mer_labels_params mer_labels_default_params(void)
{
    struct mer_labels_params p = {mer_mer2024_classes, 6, "train"};
    return p;
}

void mer_labels_free(struct mer_labels *l)
{
    if (!l)
        return;
    mer_strv_free(l->names, l->n);
    mer_strv_free(l->classes, (size_t)l->n_classes);
    mer_strv_free(l->splits, (size_t)l->n_splits);
    free(l->label);
    free(l->valence);
    free(l->split);
    free(l);
}

static int check_params(const struct mer_labels_params *p)
{
    if (p->n_classes < 0 || (p->n_classes > 0 && !p->classes))
        return mer_error("labels: bad class list");
    if (!p->default_split || !*p->default_split)
        return mer_error("labels: the default split name is empty");
    if (mer_name_check("split", p->default_split) < 0)
        return mer_error_prefix("labels: the default split");
    for (int k = 0; k < p->n_classes; k++) {
        if (!p->classes[k] || !*p->classes[k])
            return mer_error("labels: class %d has an empty name", k);
        if (mer_name_check("class", p->classes[k]) < 0)
            return mer_error_prefix("labels");
        for (int j = 0; j < k; j++)
            if (!strcmp(p->classes[j], p->classes[k]))
                return mer_error("labels: class '%s' is listed twice", p->classes[k]);
    }
    return 0;
}

/* Column indices in the header, -1 where absent. */
struct columns {
    int name, label, valence, split;
    size_t width; /* fields in the header */
};

/* 1 if header field f is name, ignoring spaces around it (as mer_csv_column does). */
static int header_is(const char *f, const char *name)
{
    size_t n = strlen(f);
    while (*f == ' ')
        f++, n--;
    while (n && f[n - 1] == ' ')
        n--;
    return n == strlen(name) && !memcmp(f, name, n);
}

/* Index of a header column, -1 if absent; -2 (error set) if it appears twice. */
static int column(const struct mer_csv *csv, const char *name)
{
    const struct mer_csv_row *header = &csv->rows[0];
    int first = mer_csv_column(csv, name);
    if (first < 0)
        return -1;
    for (size_t i = (size_t)first + 1; i < header->n_fields; i++) {
        if (header_is(header->fields[i], name)) {
            mer_error("'%s':%zu: column '%s' appears twice in the header", csv->path, header->line,
                      name);
            return -2;
        }
    }
    return first;
}

static int find_columns(const struct mer_csv *csv, struct columns *c, const char **layout)
{
    const char *missing;
    if (!csv->n_rows)
        return mer_error("'%s': empty file (expected a header row: name,discrete,valence or "
                         "name,label[,valence][,split])",
                         csv->path);
    c->width = csv->rows[0].n_fields;
    *layout = mer_csv_column(csv, "discrete") >= 0 ? "mer2024" : "manifest";
    c->name = column(csv, "name");
    c->label = column(csv, !strcmp(*layout, "mer2024") ? "discrete" : "label");
    c->valence = column(csv, "valence");
    c->split = column(csv, "split");
    if (c->name == -2 || c->label == -2 || c->valence == -2 || c->split == -2)
        return -1;
    if (c->name >= 0 && c->label >= 0)
        return 0;
    missing = c->name < 0 ? "name" : "label";
    return mer_error("'%s':%zu: missing column '%s' (expected a header name,discrete,valence "
                     "as in MER2024's label-disdim.csv, or name,label[,valence][,split])",
                     csv->path, csv->rows[0].line, missing);
}

/* Index of a class, or -1 if unknown; with open classes a new name is added (-2: out of
 * memory). */
static int class_index(struct mer_labels *l, const char *s, int open)
{
    char **grown;
    for (int k = 0; k < l->n_classes; k++)
        if (!strcmp(l->classes[k], s))
            return k;
    if (!open)
        return -1;
    if (!(grown = realloc(l->classes, (size_t)(l->n_classes + 1) * sizeof(*grown))))
        return -2;
    l->classes = grown;
    if (!(l->classes[l->n_classes] = strdup(s)))
        return -2;
    return l->n_classes++;
}

static int split_index(struct mer_labels *l, const char *s)
{
    char **grown;
    for (int k = 0; k < l->n_splits; k++)
        if (!strcmp(l->splits[k], s))
            return k;
    if (!(grown = realloc(l->splits, (size_t)(l->n_splits + 1) * sizeof(*grown))))
        return mer_error("out of memory");
    l->splits = grown;
    if (!(l->splits[l->n_splits] = strdup(s)))
        return mer_error("out of memory");
    return l->n_splits++;
}

static int parse_valence(const char *path, size_t line, const char *s, float *out)
{
    char *end;
    double v;
    if (!*s) {
        *out = NAN;
        return 0;
    }
    errno = 0;
    v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v) || fabs(v) > 3.4e38)
        return mer_error("'%s':%zu: valence '%s' is not a finite number", path, line, s);
    *out = (float)v;
    return 0;
}

static int unknown_label(const struct mer_labels *l, const char *path, size_t line, const char *s)
{
    char *list = mer_strfmt("%s", "");
    for (int k = 0; list && k < l->n_classes; k++) {
        char *longer = mer_strfmt("%s%s%s", list, k ? ", " : "", l->classes[k]);
        free(list);
        list = longer;
    }
    mer_error("'%s':%zu: unknown label '%s' (classes: %s)", path, line, s,
              list ? list : "out of memory");
    free(list);
    return -1;
}

static int read_row(struct mer_labels *l, const struct mer_csv *csv, size_t r,
                    const struct columns *c, const struct mer_labels_params *p)
{
    const struct mer_csv_row *row = &csv->rows[r];
    const char *label, *split;
    size_t i = l->n;
    int k, s;
    if (row->n_fields != c->width)
        return mer_error("'%s':%zu: %zu field%s, the header has %zu", csv->path, row->line,
                         row->n_fields, row->n_fields == 1 ? "" : "s", c->width);
    if (!*row->fields[c->name])
        return mer_error("'%s':%zu: empty sample name", csv->path, row->line);
    if (!(l->names[i] = strdup(row->fields[c->name])))
        return mer_error("out of memory");
    l->n++;
    label = row->fields[c->label];
    k = *label ? class_index(l, label, p->n_classes == 0) : -1;
    if (k == -2)
        return mer_error("out of memory");
    if (k == -1 && *label)
        return unknown_label(l, csv->path, row->line, label);
    if (k >= 0 && k == l->n_classes - 1 && p->n_classes == 0 &&
        mer_name_check("class", label) < 0) /* a class first seen here */
        return mer_error_prefix("'%s':%zu", csv->path, row->line);
    l->label[i] = k;
    l->valence[i] = NAN;
    if (c->valence >= 0 &&
        parse_valence(csv->path, row->line, row->fields[c->valence], &l->valence[i]) < 0)
        return -1;
    split = c->split >= 0 && *row->fields[c->split] ? row->fields[c->split] : p->default_split;
    if (mer_name_check("split", split) < 0) /* it names predictions/<split>.csv */
        return mer_error_prefix("'%s':%zu", csv->path, row->line);
    if ((s = split_index(l, split)) < 0)
        return -1;
    l->split[i] = s;
    return 0;
}

/* Names must be unique: they join the labels to the feature stores. */
static int check_duplicates(const struct mer_labels *l, const struct mer_csv *csv)
{
    struct mer_strmap map = MER_STRMAP_INIT;
    size_t dup = 0;
    int ret = 0;
    if (mer_strmap_build(&map, (const char *const *)l->names, l->n, &dup) < 0) {
        size_t first = 0;
        while (first < dup && strcmp(l->names[first], l->names[dup]))
            first++;
        /* Row i of the labels is row i + 1 of the table (after the header). */
        ret = mer_error("'%s':%zu: sample '%s' already appears on line %zu", csv->path,
                        csv->rows[dup + 1].line, l->names[dup], csv->rows[first + 1].line);
    }
    mer_strmap_release(&map);
    return ret;
}

static int init_labels(struct mer_labels *l, size_t rows, const struct mer_labels_params *p)
{
    l->names = calloc(rows + 1, sizeof(*l->names));
    l->label = calloc(rows + 1, sizeof(*l->label));
    l->valence = calloc(rows + 1, sizeof(*l->valence));
    l->split = calloc(rows + 1, sizeof(*l->split));
    l->classes = calloc((size_t)p->n_classes + 1, sizeof(*l->classes));
    if (!l->names || !l->label || !l->valence || !l->split || !l->classes)
        return mer_error("out of memory");
    for (int k = 0; k < p->n_classes; k++) {
        if (!(l->classes[k] = strdup(p->classes[k])))
            return mer_error("out of memory");
        l->n_classes++;
    }
    return 0;
}

int mer_labels_from_csv(struct mer_labels **out, const char *path,
                        const struct mer_labels_params *p)
{
    struct mer_csv *csv = NULL;
    struct mer_labels *l = calloc(1, sizeof(*l));
    struct columns c = {-1, -1, -1, -1, 0};
    int ret = -1;
    if (!l) {
        mer_error("out of memory");
        goto done;
    }
    if (check_params(p) < 0 || mer_csv_read(&csv, path) < 0 ||
        find_columns(csv, &c, &l->layout) < 0 || init_labels(l, csv->n_rows, p) < 0)
        goto done;
    for (size_t r = 1; r < csv->n_rows; r++)
        if (read_row(l, csv, r, &c, p) < 0)
            goto done;
    if (!l->n) {
        mer_error("'%s': no samples after the header", path);
        goto done;
    }
    if (check_duplicates(l, csv) < 0)
        goto done;
    *out = l;
    l = NULL;
    ret = 0;
done:
    mer_csv_free(csv);
    mer_labels_free(l);
    return ret;
}

size_t mer_labels_count(const struct mer_labels *l, int s, int k)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++)
        n += l->split[i] == s && l->label[i] == k;
    return n;
}

void mer_labels_warn_unlabeled(const struct mer_labels *l, const char *split, const char *source)
{
    int s = -1;
    size_t n, total = 0;
    for (int t = 0; t < l->n_splits && s < 0; t++)
        if (!strcmp(l->splits[t], split))
            s = t;
    if (s < 0 || !(n = mer_labels_count(l, s, -1)))
        return;
    for (size_t i = 0; i < l->n; i++)
        total += l->split[i] == s;
    mer_warn("'%s': %zu of the %zu samples of the training split '%s' are unlabeled: training "
             "skips them and writes no predictions or submission for them (give test clips their "
             "own split: mer import-labels --test-names FILE)",
             source, n, total, split);
}

/* Row r of a name list: the name field, or -1 with the error set. */
static int list_name(const struct mer_csv *csv, size_t r, int col, const char **out)
{
    const struct mer_csv_row *row = &csv->rows[r];
    if ((size_t)col >= row->n_fields)
        return mer_error("'%s':%zu: %zu field%s, the header has a 'name' column at %d", csv->path,
                         row->line, row->n_fields, row->n_fields == 1 ? "" : "s", col + 1);
    if (!*row->fields[col])
        return mer_error("'%s':%zu: empty sample name", csv->path, row->line);
    *out = row->fields[col];
    return 0;
}

/* Makes room for n more samples. */
static int grow(struct mer_labels *l, size_t n)
{
    size_t cap = l->n + n + 1;
    char **names = realloc(l->names, cap * sizeof(*names));
    int64_t *label, *split;
    float *valence;
    if (names)
        l->names = names;
    label = realloc(l->label, cap * sizeof(*label));
    if (label)
        l->label = label;
    split = realloc(l->split, cap * sizeof(*split));
    if (split)
        l->split = split;
    valence = realloc(l->valence, cap * sizeof(*valence));
    if (valence)
        l->valence = valence;
    return names && label && split && valence ? 0 : mer_error("out of memory");
}

/* The first duplicate name among the samples, reported by the list's line (the samples from
 * index first on came from rows first_row, first_row + 1, ... of csv). */
static int check_list_duplicates(const struct mer_labels *l, const struct mer_csv *csv,
                                 size_t first, size_t first_row)
{
    struct mer_strmap map = MER_STRMAP_INIT;
    size_t dup = 0, prev = 0;
    int ret = 0;
    if (mer_strmap_build(&map, (const char *const *)l->names, l->n, &dup) < 0) {
        while (prev < dup && strcmp(l->names[prev], l->names[dup]))
            prev++;
        if (prev < first)
            ret = mer_error("'%s':%zu: sample '%s' is already in the labels (split '%s', %s%s%s)",
                            csv->path, csv->rows[dup - first + first_row].line, l->names[dup],
                            l->splits[l->split[prev]], l->label[prev] < 0 ? "unlabeled" : "label '",
                            l->label[prev] < 0 ? "" : l->classes[l->label[prev]],
                            l->label[prev] < 0 ? "" : "'");
        else
            ret = mer_error("'%s':%zu: sample '%s' already appears on line %zu", csv->path,
                            csv->rows[dup - first + first_row].line, l->names[dup],
                            csv->rows[prev - first + first_row].line);
    }
    mer_strmap_release(&map);
    return ret;
}

int mer_labels_add_unlabeled(struct mer_labels *l, const char *path, const char *split)
{
    struct mer_csv *csv = NULL;
    size_t first = l->n, first_row = 0;
    int col = 0, s, ret = -1;
    if (mer_name_check("split", split) < 0 || mer_csv_read(&csv, path) < 0)
        goto done;
    if (!csv->n_rows) {
        mer_error("'%s': empty file (expected one sample name a line, or a CSV with a 'name' "
                  "column)",
                  path);
        goto done;
    }
    if ((col = mer_csv_column(csv, "name")) >= 0)
        first_row = 1; /* a header */
    else if (csv->rows[0].n_fields != 1) {
        mer_error("'%s':%zu: no 'name' column (expected one sample name a line, or a CSV with a "
                  "'name' column)",
                  path, csv->rows[0].line);
        goto done;
    } else
        col = 0;
    if (first_row == csv->n_rows) {
        mer_error("'%s': no names after the header", path);
        goto done;
    }
    if ((s = split_index(l, split)) < 0 || grow(l, csv->n_rows - first_row) < 0)
        goto done;
    for (size_t r = first_row; r < csv->n_rows; r++) {
        const char *name = NULL;
        if (list_name(csv, r, col, &name) < 0)
            goto done;
        if (!(l->names[l->n] = strdup(name))) {
            mer_error("out of memory");
            goto done;
        }
        l->label[l->n] = -1;
        l->valence[l->n] = NAN;
        l->split[l->n++] = s;
    }
    ret = check_list_duplicates(l, csv, first, first_row);
done:
    mer_csv_free(csv);
    return ret;
}

/* A JSON array of the strings, as compact text (free with free()); NULL on out of memory. */
/* A labels store; with reliability (pseudo-labels), its tensor and mer.pseudo_labels too. */
static int write_labels(const struct mer_labels *l, const float *reliability, const char *path,
                        const char *provenance)
{
    mer_st_writer *w = mer_st_writer_new();
    int64_t shape[1] = {(int64_t)l->n};
    int ret = -1;
    if (!w) {
        mer_error("out of memory");
        goto done;
    }
    if (mer_st_writer_add(w, "label", MER_DTYPE_I64, 1, shape, l->label) < 0 ||
        mer_st_writer_add(w, "valence", MER_DTYPE_F32, 1, shape, l->valence) < 0 ||
        mer_st_writer_add(w, "split", MER_DTYPE_I64, 1, shape, l->split) < 0 ||
        (reliability &&
         mer_st_writer_add(w, "reliability", MER_DTYPE_F32, 1, shape, reliability) < 0) ||
        mer_labels_set_store_meta(w, "labels", l) < 0 ||
        mer_st_writer_set_strings(w, "mer.splits", (const char *const *)l->splits,
                                  (size_t)l->n_splits) < 0 ||
        (reliability && mer_st_writer_set_meta(w, "mer.pseudo_labels", "true") < 0) ||
        (provenance && mer_st_writer_set_meta(w, "mer.provenance", provenance) < 0))
        goto done;
    ret = mer_st_writer_write(w, path);
done:
    mer_st_writer_free(w);
    return ret;
}

int mer_labels_set_store_meta(mer_st_writer *w, const char *kind, const struct mer_labels *l)
{
    if (mer_st_writer_set_meta(w, "mer.kind", kind) < 0 ||
        mer_st_writer_set_strings(w, "mer.ids", (const char *const *)l->names, l->n) < 0 ||
        mer_st_writer_set_strings(w, "mer.classes", (const char *const *)l->classes,
                                  (size_t)l->n_classes) < 0)
        return -1;
    return 0;
}

int mer_labels_write(const struct mer_labels *l, const char *path, const char *provenance)
{
    return write_labels(l, NULL, path, provenance);
}

int mer_labels_write_pseudo(const struct mer_labels *l, const float *reliability, const char *path,
                            const char *provenance)
{
    return write_labels(l, reliability, path, provenance);
}

/* Copies tensor name (dtype dt, shape [n]) into dst; absent is an error unless optional. */
static int read_column(const mer_st_file *f, const char *name, enum mer_dtype dt, size_t n,
                       void *dst, int optional)
{
    const struct mer_st_tensor *t = mer_st_find(f, name);
    if (!t && optional)
        return 1;
    if (!t)
        return mer_error("'%s': no tensor '%s' (not a labels store?)", mer_st_path(f), name);
    if (t->dtype != dt || t->ndim != 1 || t->shape[0] != (int64_t)n)
        return mer_error("'%s': tensor '%s': expected %s [%zu], got %s with %d dims",
                         mer_st_path(f), name, mer_dtype_name(dt), n, mer_dtype_name(t->dtype),
                         t->ndim);
    memcpy(dst, t->data, n * mer_dtype_size(dt)); /* mmap'd data may be unaligned */
    return 0;
}

/* Every label in [-1, K) and split in [0, S): the arrays index the class and split lists; and
 * the class and split names are safe in a path (a store from another writer may hold any). */
static int check_indices(const struct mer_labels *l, const char *path)
{
    for (int k = 0; k < l->n_classes; k++) {
        if (mer_name_check("class", l->classes[k]) < 0)
            return mer_error_prefix("'%s': metadata 'mer.classes'", path);
        for (int j = 0; j < k; j++)
            if (!strcmp(l->classes[j], l->classes[k]))
                return mer_error("'%s': metadata 'mer.classes': class '%s' is listed twice", path,
                                 l->classes[k]);
    }
    for (int s = 0; s < l->n_splits; s++) {
        if (mer_name_check("split", l->splits[s]) < 0)
            return mer_error_prefix("'%s': metadata 'mer.splits'", path);
        for (int j = 0; j < s; j++)
            if (!strcmp(l->splits[j], l->splits[s]))
                return mer_error("'%s': metadata 'mer.splits': split '%s' is listed twice", path,
                                 l->splits[s]);
    }
    for (size_t i = 0; i < l->n; i++) {
        if (l->label[i] < -1 || l->label[i] >= l->n_classes)
            return mer_error("'%s': sample '%s': label %lld is not a class index (%d classes)",
                             path, l->names[i], (long long)l->label[i], l->n_classes);
        if (l->split[i] < 0 || l->split[i] >= l->n_splits)
            return mer_error("'%s': sample '%s': split %lld is not a split index (%d splits)", path,
                             l->names[i], (long long)l->split[i], l->n_splits);
    }
    return 0;
}

static int read_store(struct mer_labels *l, const mer_st_file *f)
{
    const char *kind = mer_st_meta(f, "mer.kind");
    size_t n_classes = 0, n_splits = 0;
    int r = 0;
    if (!kind || strcmp(kind, "labels"))
        return mer_error("'%s': not a labels store (mer.kind is '%s'); make one with "
                         "mer import-labels",
                         mer_st_path(f), kind ? kind : "absent");
    if (mer_st_meta_strings(f, "mer.ids", &l->names, &l->n) < 0 ||
        mer_st_meta_strings(f, "mer.classes", &l->classes, &n_classes) < 0 ||
        mer_st_meta_strings(f, "mer.splits", &l->splits, &n_splits) < 0)
        r = -1;
    /* Set even on error: mer_labels_free walks the lists by these counts. */
    l->n_classes = (int)n_classes;
    l->n_splits = (int)n_splits;
    if (r < 0)
        return -1;
    l->label = malloc((l->n + 1) * sizeof(*l->label));
    l->valence = malloc((l->n + 1) * sizeof(*l->valence));
    l->split = malloc((l->n + 1) * sizeof(*l->split));
    if (!l->label || !l->valence || !l->split)
        return mer_error("out of memory");
    if (read_column(f, "label", MER_DTYPE_I64, l->n, l->label, 0) < 0 ||
        read_column(f, "split", MER_DTYPE_I64, l->n, l->split, 0) < 0 ||
        (r = read_column(f, "valence", MER_DTYPE_F32, l->n, l->valence, 1)) < 0)
        return -1;
    for (size_t i = 0; r == 1 && i < l->n; i++)
        l->valence[i] = NAN; /* no valence tensor: all absent */
    return check_indices(l, mer_st_path(f));
}

int mer_labels_read_store(struct mer_labels **out, const char *path)
{
    mer_st_file *f = NULL;
    struct mer_labels *l = calloc(1, sizeof(*l));
    int ret = -1;
    if (!l) {
        mer_error("out of memory");
        goto done;
    }
    l->layout = "store";
    if (mer_st_open(&f, path, MER_ST_VERIFY | MER_ST_REQUIRE_MER) < 0 || read_store(l, f) < 0)
        goto done;
    *out = l;
    l = NULL;
    ret = 0;
done:
    mer_st_close(f);
    mer_labels_free(l);
    return ret;
}
