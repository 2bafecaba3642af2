/* Predictions files: read, join with labels, score, submit; see evaluate.h. */
#include "mer/evaluate.h"
#include "mer/csv.h"
#include "mer/error.h"
#include "mer/fs.h"
#include "mer/labels.h"
#include "mer/store.h"
#include "mer/strmap.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

void mer_predictions_free(struct mer_predictions *p)
{
    if (!p)
        return;
    free_strv(p->names, p->n);
    free_strv(p->classes, (size_t)p->n_classes);
    free(p->pred);
    free(p->label);
    free(p->valence);
    free(p->valence_label);
    free(p->path);
    free(p);
}

static int class_of(const struct mer_predictions *p, const char *s)
{
    for (int k = 0; k < p->n_classes; k++)
        if (!strcmp(p->classes[k], s))
            return k;
    return -1;
}

/* Classes from the header's p_<class> columns, in order. */
static int read_classes(struct mer_predictions *p, const struct mer_csv *csv)
{
    const struct mer_csv_row *h = &csv->rows[0];
    p->classes = calloc(h->n_fields + 1, sizeof(char *));
    if (!p->classes)
        return mer_error("out of memory");
    for (size_t i = 0; i < h->n_fields; i++)
        if (!strncmp(h->fields[i], "p_", 2) &&
            !(p->classes[p->n_classes++] = strdup(h->fields[i] + 2)))
            return mer_error("out of memory");
    if (p->n_classes < 2)
        return mer_error("'%s':1: expected p_<class> columns for at least 2 classes", p->path);
    return 0;
}

/* A valence field: a finite number, or empty (NaN). */
static int valence_field(const struct mer_predictions *p, size_t line, const char *s, double *out)
{
    char *end;
    if (!*s) {
        *out = NAN;
        return 0;
    }
    *out = strtod(s, &end);
    if (end == s || *end || !isfinite(*out))
        return mer_error("'%s':%zu: valence '%s' is not a number", p->path, line, s);
    return 0;
}

static int read_rows(struct mer_predictions *p, const struct mer_csv *csv)
{
    int name = mer_csv_column(csv, "name"), pred = mer_csv_column(csv, "prediction");
    int label = mer_csv_column(csv, "label"), val = mer_csv_column(csv, "valence");
    int val_label = mer_csv_column(csv, "valence_label");
    if (name < 0 || pred < 0)
        return mer_error("'%s':1: missing column '%s'", p->path, name < 0 ? "name" : "prediction");
    p->names = calloc(csv->n_rows + 1, sizeof(char *));
    p->pred = calloc(csv->n_rows + 1, sizeof(int64_t));
    p->label = calloc(csv->n_rows + 1, sizeof(int64_t));
    if (!p->names || !p->pred || !p->label)
        return mer_error("out of memory");
    if (val >= 0 && val_label >= 0 &&
        (!(p->valence = calloc(csv->n_rows + 1, sizeof(double))) ||
         !(p->valence_label = calloc(csv->n_rows + 1, sizeof(double)))))
        return mer_error("out of memory");
    for (size_t r = 1; r < csv->n_rows; r++) {
        const struct mer_csv_row *row = &csv->rows[r];
        const char *lab;
        if (row->n_fields != csv->rows[0].n_fields)
            return mer_error("'%s':%zu: %zu fields, the header has %zu", p->path, row->line,
                             row->n_fields, csv->rows[0].n_fields);
        if ((p->pred[p->n] = class_of(p, row->fields[pred])) < 0)
            return mer_error("'%s':%zu: prediction '%s' is not one of the p_ classes", p->path,
                             row->line, row->fields[pred]);
        lab = label >= 0 ? row->fields[label] : "";
        p->label[p->n] = *lab ? class_of(p, lab) : -1;
        if (*lab && p->label[p->n] < 0)
            return mer_error("'%s':%zu: label '%s' is not one of the p_ classes", p->path,
                             row->line, lab);
        if (p->valence &&
            (valence_field(p, row->line, row->fields[val], &p->valence[p->n]) < 0 ||
             valence_field(p, row->line, row->fields[val_label], &p->valence_label[p->n]) < 0))
            return -1;
        if (!(p->names[p->n++] = strdup(row->fields[name])))
            return mer_error("out of memory");
    }
    return 0;
}

int mer_predictions_read(struct mer_predictions **out, const char *path)
{
    struct mer_predictions *p = calloc(1, sizeof(*p));
    struct mer_csv *csv = NULL;
    int ret = -1;
    if (!p || !(p->path = strdup(path))) {
        free(p);
        return mer_error("out of memory");
    }
    if (mer_csv_read(&csv, path) < 0)
        goto done;
    if (csv->n_rows < 2) {
        mer_error("'%s': no predictions", path);
        goto done;
    }
    if (read_classes(p, csv) < 0 || read_rows(p, csv) < 0)
        goto done;
    *out = p;
    p = NULL;
    ret = 0;
done:
    mer_csv_free(csv);
    mer_predictions_free(p);
    return ret;
}

/* Labels by name from a labels store (mer import-labels) or a label CSV. */
static int load_labels(const char *path, struct mer_labels **out)
{
    struct mer_labels_params lp = mer_labels_default_params();
    size_t len = strlen(path);
    if (len > 12 && !strcmp(path + len - 12, ".safetensors"))
        return mer_labels_read_store(out, path);
    lp.n_classes = 0; /* classes are matched by name below */
    return mer_labels_from_csv(out, path, &lp);
}

int mer_predictions_attach_labels(struct mer_predictions *p, const char *labels_path)
{
    struct mer_labels *l = NULL;
    struct mer_strmap map = MER_STRMAP_INIT;
    int ret = -1;
    if (load_labels(labels_path, &l) < 0 ||
        mer_strmap_build(&map, (const char *const *)l->names, l->n, NULL) < 0)
        goto done;
    for (size_t i = 0; i < p->n; i++) {
        int64_t r = mer_strmap_get(&map, p->names[i]);
        if (r < 0) {
            mer_error("'%s': no label for sample '%s' (from '%s')", labels_path, p->names[i],
                      p->path);
            goto done;
        }
        p->label[i] = l->label[r] < 0 ? -1 : class_of(p, l->classes[l->label[r]]);
        if (l->label[r] >= 0 && p->label[i] < 0) {
            mer_error("'%s': sample '%s' has label '%s', not a class of '%s'", labels_path,
                      p->names[i], l->classes[l->label[r]], p->path);
            goto done;
        }
    }
    ret = 0;
done:
    mer_strmap_release(&map);
    mer_labels_free(l);
    return ret;
}

int mer_predictions_score(const struct mer_predictions *p, struct mer_metrics *m)
{
    int64_t *t = malloc((p->n + 1) * sizeof(int64_t)), *q = malloc((p->n + 1) * sizeof(int64_t));
    size_t n = 0;
    int ret;
    if (!t || !q) {
        free(t);
        free(q);
        return mer_error("out of memory");
    }
    for (size_t i = 0; i < p->n; i++)
        if (p->label[i] >= 0) {
            t[n] = p->label[i];
            q[n++] = p->pred[i];
        }
    ret = n ? mer_metrics_compute(m, t, q, n, p->n_classes)
            : mer_error("'%s': no labeled predictions to score (give --labels)", p->path);
    free(t);
    free(q);
    return ret;
}

int mer_predictions_valence(const struct mer_predictions *p, double *mse, double *ccc, size_t *n)
{
    double *t = malloc((p->n + 1) * sizeof(double)), *q = malloc((p->n + 1) * sizeof(double));
    size_t m = 0;
    for (size_t i = 0; t && q && p->valence && i < p->n; i++)
        if (isfinite(p->valence[i]) && isfinite(p->valence_label[i])) {
            t[m] = p->valence_label[i];
            q[m++] = p->valence[i];
        }
    *mse = mer_mse(t, q, m);
    *ccc = mer_ccc(t, q, m);
    *n = m;
    free(t);
    free(q);
    return m ? 0 : -1;
}

int mer_predictions_write_submission(const struct mer_predictions *p, const char *path)
{
    struct mer_atomic_file f;
    if (mer_atomic_open(&f, path) < 0)
        return -1;
    fprintf(f.fp, "name,discrete\n");
    for (size_t i = 0; i < p->n; i++)
        fprintf(f.fp, "%s,%s\n", p->names[i], p->classes[p->pred[i]]);
    return mer_atomic_commit(&f);
}

void mer_metrics_print(FILE *f, const struct mer_metrics *m, char *const *classes)
{
    fprintf(f, "WAF %.4f  accuracy %.4f  macro-F1 %.4f  (%lld samples)\n", m->waf, m->accuracy,
            m->macro_f1, (long long)m->n);
    fprintf(f, "%-10s %9s %9s %9s %8s\n", "class", "precision", "recall", "f1", "support");
    for (int c = 0; c < m->n_classes; c++)
        fprintf(f, "%-10s %9.4f %9.4f %9.4f %8lld\n", classes[c], m->precision[c], m->recall[c],
                m->f1[c], (long long)m->support[c]);
    fprintf(f, "confusion (rows: truth, columns: prediction)\n%-10s", "");
    for (int c = 0; c < m->n_classes; c++)
        fprintf(f, " %8.8s", classes[c]);
    fputc('\n', f);
    for (int r = 0; r < m->n_classes; r++) {
        fprintf(f, "%-10s", classes[r]);
        for (int c = 0; c < m->n_classes; c++)
            fprintf(f, " %8lld", (long long)m->confusion[r * m->n_classes + c]);
        fputc('\n', f);
    }
}
