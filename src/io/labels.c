/* Labels from CSV into a labels store; see labels.h. */
#include "mer/labels.h"
#include "mer/csv.h"
#include "mer/error.h"
#include "mer/store.h"
#include "mer/strmap.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const mer_mer2024_classes[6] = {"neutral", "angry", "happy",
                                            "sad",     "worried", "surprise"};

struct mer_labels_params mer_labels_default_params(void)
{
    struct mer_labels_params p = {mer_mer2024_classes, 6, "train"};
    return p;
}

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

void mer_labels_free(struct mer_labels *l)
{
    if (!l)
        return;
    free_strv(l->names, l->n);
    free_strv(l->classes, (size_t)l->n_classes);
    free_strv(l->splits, (size_t)l->n_splits);
    free(l->label);
    free(l->valence);
    free(l->split);
    free(l);
}

struct columns {
    int name, label, valence, split;
};

static int find_columns(const struct mer_csv *csv, struct columns *c)
{
    int mer2024 = mer_csv_column(csv, "discrete") >= 0;
    c->name = mer_csv_column(csv, "name");
    c->label = mer_csv_column(csv, mer2024 ? "discrete" : "label");
    c->valence = mer_csv_column(csv, "valence");
    c->split = mer_csv_column(csv, "split");
    if (!csv->n_rows)
        return mer_error("'%s': empty file", csv->path);
    if (c->name < 0 || c->label < 0)
        return mer_error("'%s':1: missing column '%s' (expected name,discrete,valence as in "
                         "MER2024's label-disdim.csv, or name,label[,valence][,split])",
                         csv->path, c->name < 0 ? "name" : "label");
    return 0;
}

/* Index of a class; with open classes (p.n_classes == 0) a new name is added. */
static int class_index(struct mer_labels *l, const char *s, int open)
{
    char **grown;
    for (int k = 0; k < l->n_classes; k++)
        if (!strcmp(l->classes[k], s))
            return k;
    if (!open)
        return -1;
    grown = realloc(l->classes, (size_t)(l->n_classes + 1) * sizeof(*grown));
    if (!grown)
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
    grown = realloc(l->splits, (size_t)(l->n_splits + 1) * sizeof(*grown));
    if (!grown)
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
    if (end == s || *end || errno || !isfinite(v))
        return mer_error("'%s':%zu: valence '%s' is not a finite number", path, line, s);
    *out = (float)v;
    return 0;
}

static int unknown_label(const struct mer_labels *l, const char *path, size_t line, const char *s)
{
    char list[512] = "";
    size_t used = 0;
    for (int k = 0; k < l->n_classes && used < sizeof(list) - 1; k++) {
        int w = snprintf(list + used, sizeof(list) - used, "%s%s", k ? ", " : "", l->classes[k]);
        used += w > 0 ? (size_t)w : 0;
    }
    return mer_error("'%s':%zu: label '%s' is not a class (classes: %s)", path, line, s, list);
}

static int read_row(struct mer_labels *l, const struct mer_csv *csv, size_t r,
                    const struct columns *c, const struct mer_labels_params *p)
{
    const struct mer_csv_row *row = &csv->rows[r];
    int need = c->name > c->label ? c->name : c->label, k, s;
    size_t i = l->n;
    if (c->valence > need)
        need = c->valence;
    if (c->split > need)
        need = c->split;
    if ((int)row->n_fields <= need)
        return mer_error("'%s':%zu: %zu fields, the header has %zu", csv->path, row->line,
                         row->n_fields, csv->rows[0].n_fields);
    if (!*row->fields[c->name])
        return mer_error("'%s':%zu: empty name", csv->path, row->line);
    if (!(l->names[i] = strdup(row->fields[c->name])))
        return mer_error("out of memory");
    l->n++;
    k = *row->fields[c->label] ? class_index(l, row->fields[c->label], p->n_classes == 0) : -1;
    if (k == -2)
        return mer_error("out of memory");
    if (k < 0 && *row->fields[c->label])
        return unknown_label(l, csv->path, row->line, row->fields[c->label]);
    l->label[i] = k;
    l->valence[i] = NAN;
    if (c->valence >= 0 &&
        parse_valence(csv->path, row->line, row->fields[c->valence], &l->valence[i]) < 0)
        return -1;
    s = split_index(l, c->split >= 0 && *row->fields[c->split] ? row->fields[c->split]
                                                                : p->default_split);
    if (s < 0)
        return -1;
    l->split[i] = s;
    return 0;
}

static int check_duplicates(const struct mer_labels *l, const struct mer_csv *csv)
{
    struct mer_strmap map = MER_STRMAP_INIT;
    size_t dup = 0;
    if (mer_strmap_build(&map, (const char *const *)l->names, l->n, &dup) == 0) {
        mer_strmap_release(&map);
        return 0;
    }
    for (size_t first = 0; first < dup; first++)
        if (!strcmp(l->names[first], l->names[dup]))
            return mer_error("'%s':%zu: sample '%s' already appears on line %zu", csv->path,
                             csv->rows[dup + 1].line, l->names[dup], csv->rows[first + 1].line);
    return mer_error("'%s': duplicate sample '%s'", csv->path, l->names[dup]);
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
    struct columns c;
    int ret = -1;
    if (!l)
        return mer_error("out of memory");
    if (mer_csv_read(&csv, path) < 0 || find_columns(csv, &c) < 0 ||
        init_labels(l, csv->n_rows, p) < 0)
        goto done;
    for (size_t r = 1; r < csv->n_rows; r++)
        if (read_row(l, csv, r, &c, p) < 0)
            goto done;
    if (!l->n) {
        mer_error("'%s': no rows after the header", path);
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

static char *strv_json(char *const *v, size_t n)
{
    cJSON *arr = cJSON_CreateArray();
    char *text;
    for (size_t i = 0; arr && i < n; i++)
        cJSON_AddItemToArray(arr, cJSON_CreateString(v[i]));
    text = arr ? cJSON_PrintUnformatted(arr) : NULL;
    cJSON_Delete(arr);
    return text;
}

int mer_labels_write(const struct mer_labels *l, const char *path, const char *provenance)
{
    mer_st_writer *w = mer_st_writer_new();
    char *ids = strv_json(l->names, l->n), *classes = strv_json(l->classes, (size_t)l->n_classes);
    char *splits = strv_json(l->splits, (size_t)l->n_splits);
    int64_t shape[1] = {(int64_t)l->n};
    int ret = -1;
    if (!w || !ids || !classes || !splits) {
        mer_error("out of memory");
        goto done;
    }
    if (mer_st_writer_add(w, "label", MER_DTYPE_I64, 1, shape, l->label) < 0 ||
        mer_st_writer_add(w, "valence", MER_DTYPE_F32, 1, shape, l->valence) < 0 ||
        mer_st_writer_add(w, "split", MER_DTYPE_I64, 1, shape, l->split) < 0 ||
        mer_st_writer_set_meta(w, "mer.kind", "labels") < 0 ||
        mer_st_writer_set_meta(w, "mer.ids", ids) < 0 ||
        mer_st_writer_set_meta(w, "mer.classes", classes) < 0 ||
        mer_st_writer_set_meta(w, "mer.splits", splits) < 0 ||
        (provenance && mer_st_writer_set_meta(w, "mer.provenance", provenance) < 0))
        goto done;
    ret = mer_st_writer_write(w, path);
done:
    free(ids);
    free(classes);
    free(splits);
    mer_st_writer_free(w);
    return ret;
}
