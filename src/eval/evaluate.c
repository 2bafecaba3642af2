/* Predictions files: read, join with labels, score, submit; see evaluate.h. */
#include "mer/evaluate.h"
#include "mer/csv.h"
#include "mer/error.h"
#include "mer/fs.h"
#include "mer/labels.h"
#include "mer/strmap.h"
#include "mer/strv.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mer_predictions_free(struct mer_predictions *p)
{
    if (!p)
        return;
    mer_strv_free(p->names, p->n);
    mer_strv_free(p->classes, (size_t)p->n_classes);
    free(p->line);
    free(p->pred);
    free(p->label);
    free(p->valence);
    free(p->valence_label);
    free(p->confidence);
    free(p->path);
    free(p);
}

static int index_of(char *const *v, int n, const char *s)
{
    for (int k = 0; k < n; k++)
        if (!strcmp(v[k], s))
            return k;
    return -1;
}

static int class_of(const struct mer_predictions *p, const char *s)
{
    return index_of(p->classes, p->n_classes, s);
}

/* A header field without the spaces around it (as mer_csv_column matches it): start and length. */
static const char *trimmed(const char *s, size_t *n)
{
    *n = strlen(s);
    while (*s == ' ')
        s++, --*n;
    while (*n && s[*n - 1] == ' ')
        --*n;
    return s;
}

/* The columns of a predictions file, found in its header. */
struct columns {
    int name, pred, label, val, val_label;
    int *prob; /* [K] the p_<class> columns */
};

/* No header field twice: a second 'p_happy' or 'name' would silently lose one of them. */
static int check_header(const struct mer_predictions *p, const struct mer_csv_row *h)
{
    for (size_t i = 0; i < h->n_fields; i++) {
        size_t ni, nj;
        const char *a = trimmed(h->fields[i], &ni);
        for (size_t j = i + 1; ni && j < h->n_fields; j++) {
            const char *b = trimmed(h->fields[j], &nj);
            if (ni == nj && !memcmp(a, b, ni))
                return mer_error("'%s':%zu: column '%.*s' appears twice (columns %zu and %zu)",
                                 p->path, h->line, (int)ni, a, i + 1, j + 1);
        }
    }
    return 0;
}

/* Classes from the header's p_<class> columns, in order; or, for a submission (no p_
 * columns, a 'discrete' column), none yet: they are collected from its rows. */
static int read_header(struct mer_predictions *p, const struct mer_csv *csv, struct columns *c)
{
    const struct mer_csv_row *h = &csv->rows[0];
    if (check_header(p, h) < 0)
        return -1;
    p->classes = calloc(h->n_fields + csv->n_rows + 1, sizeof(char *));
    c->prob = calloc(h->n_fields + 1, sizeof(int));
    if (!p->classes || !c->prob)
        return mer_error("out of memory");
    for (size_t i = 0; i < h->n_fields; i++) {
        size_t n;
        const char *f = trimmed(h->fields[i], &n);
        if (n < 2 || strncmp(f, "p_", 2))
            continue;
        if (n == 2)
            return mer_error("'%s':%zu: column %zu: 'p_' names no class", p->path, h->line, i + 1);
        c->prob[p->n_classes] = (int)i;
        if (!(p->classes[p->n_classes++] = strndup(f + 2, n - 2)))
            return mer_error("out of memory");
    }
    c->name = mer_csv_column(csv, "name");
    c->pred = mer_csv_column(csv, "prediction");
    c->label = mer_csv_column(csv, "label");
    c->val = mer_csv_column(csv, "valence");
    c->val_label = mer_csv_column(csv, "valence_label");
    if (!p->n_classes && c->pred < 0 && (c->pred = mer_csv_column(csv, "discrete")) >= 0) {
        p->submission = 1; /* MER2024's name,discrete */
        c->label = c->val = c->val_label = -1;
    } else if (p->n_classes < 2) {
        return mer_error("'%s':%zu: expected p_<class> columns for at least 2 classes and a "
                         "'prediction' column, or a submission's 'discrete' column",
                         p->path, h->line);
    }
    if (c->name < 0 || c->pred < 0)
        return mer_error("'%s':%zu: missing column '%s'", p->path, h->line,
                         c->name < 0 ? "name" : "prediction");
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

/* A p_<class> field: a finite number from 0 to 1, into *out. */
static int prob_field(const struct mer_predictions *p, size_t line, const char *column,
                      const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !isfinite(v) || v < 0 || v > 1)
        return mer_error("'%s':%zu: column '%s': '%s' is not a probability (a finite number "
                         "from 0 to 1)",
                         p->path, line, column, s);
    *out = v;
    return 0;
}

/* The prediction of a row: one of the p_ classes, or for a submission any class name (new
 * ones are added in order of appearance; attach_labels maps them onto the labels' classes). */
static int prediction_field(struct mer_predictions *p, size_t line, const char *s, int64_t *out)
{
    if ((*out = class_of(p, s)) >= 0)
        return 0;
    if (!p->submission)
        return mer_error("'%s':%zu: prediction '%s' is not one of the p_ classes", p->path, line,
                         s);
    if (!*s)
        return mer_error("'%s':%zu: empty prediction", p->path, line);
    if (!(p->classes[p->n_classes] = strdup(s)))
        return mer_error("out of memory");
    *out = p->n_classes++;
    return 0;
}

static int read_row(struct mer_predictions *p, const struct mer_csv *csv, const struct columns *c,
                    const struct mer_csv_row *row)
{
    const char *lab = c->label >= 0 ? row->fields[c->label] : "";
    size_t i = p->n;
    if (row->n_fields != csv->rows[0].n_fields)
        return mer_error("'%s':%zu: %zu fields, the header has %zu", p->path, row->line,
                         row->n_fields, csv->rows[0].n_fields);
    for (int k = 0; !p->submission && k < p->n_classes; k++) {
        const char *column = csv->rows[0].fields[c->prob[k]];
        double v = 0;
        if (prob_field(p, row->line, column, row->fields[c->prob[k]], &v) < 0)
            return -1;
        p->confidence[i] =
            fmax(p->confidence[i], v); /* from 0 (calloc): no probability is below it */
    }
    if (prediction_field(p, row->line, row->fields[c->pred], &p->pred[i]) < 0)
        return -1;
    p->label[i] = *lab ? class_of(p, lab) : -1;
    if (*lab && p->label[i] < 0)
        return mer_error("'%s':%zu: label '%s' is not one of the p_ classes", p->path, row->line,
                         lab);
    if (p->valence &&
        (valence_field(p, row->line, row->fields[c->val], &p->valence[i]) < 0 ||
         valence_field(p, row->line, row->fields[c->val_label], &p->valence_label[i]) < 0))
        return -1;
    p->line[i] = row->line;
    if (!(p->names[i] = strdup(row->fields[c->name])))
        return mer_error("out of memory");
    p->n++;
    return 0;
}

/* Each sample once: a second row would count twice. */
static int check_unique(const struct mer_predictions *p)
{
    struct mer_strmap map = MER_STRMAP_INIT;
    size_t dup = (size_t)-1, first = 0;
    if (mer_strmap_build(&map, (const char *const *)p->names, p->n, &dup) == 0) {
        mer_strmap_release(&map);
        return 0;
    }
    if (dup >= p->n)
        return -1; /* out of memory */
    while (first < dup && strcmp(p->names[first], p->names[dup]))
        first++;
    return mer_error("'%s':%zu: sample '%s' again (first on line %zu)", p->path, p->line[dup],
                     p->names[dup], p->line[first]);
}

int mer_predictions_read(struct mer_predictions **out, const char *path)
{
    struct mer_predictions *p = calloc(1, sizeof(*p));
    struct mer_csv *csv = NULL;
    struct columns c = {0};
    size_t rows;
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
    if (read_header(p, csv, &c) < 0)
        goto done;
    rows = csv->n_rows;
    p->names = calloc(rows, sizeof(char *));
    p->line = calloc(rows, sizeof(size_t));
    p->pred = calloc(rows, sizeof(int64_t));
    p->label = calloc(rows, sizeof(int64_t));
    p->confidence = p->submission ? NULL : calloc(rows, sizeof(double));
    if (!p->names || !p->line || !p->pred || !p->label || (!p->submission && !p->confidence) ||
        (c.val >= 0 && c.val_label >= 0 &&
         (!(p->valence = calloc(rows, sizeof(double))) ||
          !(p->valence_label = calloc(rows, sizeof(double)))))) {
        mer_error("out of memory");
        goto done;
    }
    for (size_t r = 1; r < csv->n_rows; r++)
        if (read_row(p, csv, &c, &csv->rows[r]) < 0)
            goto done;
    if (check_unique(p) < 0)
        goto done;
    *out = p;
    p = NULL;
    ret = 0;
done:
    free(c.prob);
    mer_csv_free(csv);
    mer_predictions_free(p);
    return ret;
}

/* 1 if the file starts as a safetensors file does: an 8-byte little-endian header length,
 * then the header's '{'. Stores are told by content, whatever their name. */
static int is_safetensors(const char *path)
{
    unsigned char b[9];
    FILE *f = mer_fopen_regular(path); /* not a regular file: the CSV reader will say what */
    int yes = f && fread(b, 1, sizeof(b), f) == sizeof(b) && b[8] == '{';
    if (f)
        fclose(f);
    else
        mer_error_clear();
    return yes;
}

/* Labels by name from a labels store (mer import-labels) or a label CSV. */
static int load_labels(const char *path, struct mer_labels **out)
{
    struct mer_labels_params lp = mer_labels_default_params();
    if (is_safetensors(path))
        return mer_labels_read_store(out, path);
    lp.n_classes = 0; /* classes are matched by name below */
    return mer_labels_from_csv(out, path, &lp);
}

/* Where sample i of labels l is: "'labels.csv':7" for a label CSV (its row i + 1, checked by
 * name), "'labels.safetensors'" for a store. New string; NULL on out of memory. */
static char *label_where(const struct mer_labels *l, const char *path, size_t i)
{
    struct mer_csv *csv = NULL;
    char *s;
    int name;
    if (strcmp(l->layout, "store") && mer_csv_read(&csv, path) == 0 &&
        (name = mer_csv_column(csv, "name")) >= 0 && i + 1 < csv->n_rows &&
        (size_t)name < csv->rows[i + 1].n_fields &&
        !strcmp(csv->rows[i + 1].fields[name], l->names[i]))
        s = mer_strfmt("'%s':%zu", path, csv->rows[i + 1].line);
    else
        s = mer_strfmt("'%s'", path);
    mer_csv_free(csv);
    mer_error_clear();
    return s;
}

/* A submission's classes become the labels' (a store's list, or for a label CSV MER2024's
 * six when they cover every class seen, else the CSV's classes and then the predicted
 * ones), so its metrics cover every class; predictions are renumbered to match. */
static int adopt_classes(struct mer_predictions *p, const struct mer_labels *l, const char *path)
{
    const int store = !strcmp(l->layout, "store"), max = p->n_classes + l->n_classes;
    char **to = calloc((size_t)max + 6, sizeof(char *));
    int *map = calloc((size_t)p->n_classes + 1, sizeof(int)), n = 0, mer2024 = !store, ret = -1;
    if (!to || !map) {
        mer_error("out of memory");
        goto done;
    }
    for (int k = 0; mer2024 && k < max; k++)
        mer2024 = index_of((char *const *)mer_mer2024_classes, 6,
                           k < l->n_classes ? l->classes[k] : p->classes[k - l->n_classes]) >= 0;
    for (int k = 0; k < (mer2024 ? 6 : l->n_classes); k++)
        if (!(to[n++] = strdup(mer2024 ? mer_mer2024_classes[k] : l->classes[k])))
            goto oom;
    for (int k = 0; k < p->n_classes; k++) {
        if ((map[k] = index_of(to, n, p->classes[k])) >= 0)
            continue;
        if (store) {
            size_t i = 0;
            while (p->pred[i] != k) /* classes are numbered by first appearance: i < n */
                i++;
            mer_error("'%s':%zu: prediction '%s' is not a class of '%s'", p->path, p->line[i],
                      p->classes[k], path);
            goto done;
        }
        if (!(to[n] = strdup(p->classes[k])))
            goto oom;
        map[k] = n++;
    }
    for (size_t i = 0; i < p->n; i++)
        p->pred[i] = map[p->pred[i]];
    mer_strv_free(p->classes, (size_t)p->n_classes);
    p->classes = to;
    p->n_classes = n;
    to = NULL;
    ret = 0;
    goto done;
oom:
    mer_error("out of memory");
done:
    mer_strv_free(to, (size_t)n);
    free(map);
    return ret;
}

/* Every labeled sample of the splits the predictions touch must be predicted, unless subset:
 * a file with 20 of 122 test samples would otherwise score as if it were the test set. */
static int check_coverage(struct mer_predictions *p, const struct mer_labels *l, const char *path,
                          const char *split_of, int subset)
{
    struct mer_strmap map = MER_STRMAP_INIT;
    size_t missing = 0, first = 0, expected = 0;
    char *where = NULL;
    int ret = -1;
    if (mer_strmap_build(&map, (const char *const *)p->names, p->n, NULL) < 0)
        goto done;
    for (size_t j = 0; j < l->n; j++) {
        if (l->label[j] < 0 || !split_of[l->split[j]])
            continue;
        expected++;
        if (mer_strmap_get(&map, l->names[j]) < 0 && !missing++)
            first = j;
    }
    p->n_expected = expected;
    if (missing && !subset) {
        if (!(where = label_where(l, path, first))) {
            mer_error("out of memory");
            goto done;
        }
        mer_error("'%s': no prediction for sample '%s' (%s), nor for %zu more of the %zu labeled "
                  "samples there (--subset scores only the samples given)",
                  p->path, l->names[first], where, missing - 1, expected);
        goto done;
    }
    ret = 0;
done:
    free(where);
    mer_strmap_release(&map);
    return ret;
}

int mer_predictions_attach_labels(struct mer_predictions *p, const char *labels_path, int subset)
{
    struct mer_labels *l = NULL;
    struct mer_strmap map = MER_STRMAP_INIT;
    char *split_of = NULL; /* [n_splits] 1 if a prediction is in that split */
    int ret = -1;
    if (load_labels(labels_path, &l) < 0 ||
        mer_strmap_build(&map, (const char *const *)l->names, l->n, NULL) < 0)
        goto done;
    if (!(split_of = calloc((size_t)l->n_splits + 1, 1))) {
        mer_error("out of memory");
        goto done;
    }
    if (p->submission && adopt_classes(p, l, labels_path) < 0)
        goto done;
    for (size_t i = 0; i < p->n; i++) {
        int64_t r = mer_strmap_get(&map, p->names[i]);
        if (r < 0) {
            mer_error("'%s':%zu: no label for sample '%s' in '%s'", p->path, p->line[i],
                      p->names[i], labels_path);
            goto done;
        }
        split_of[l->split[r]] = 1;
        p->label[i] = l->label[r] < 0 ? -1 : class_of(p, l->classes[l->label[r]]);
        if (l->label[r] >= 0 && p->label[i] < 0) {
            mer_error("'%s':%zu: sample '%s' has label '%s' in '%s', not one of the p_ classes",
                      p->path, p->line[i], p->names[i], l->classes[l->label[r]], labels_path);
            goto done;
        }
    }
    if (check_coverage(p, l, labels_path, split_of, subset) < 0)
        goto done;
    ret = 0;
done:
    free(split_of);
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
    return mer_submission_write(path, (const char *const *)p->names, p->classes, p->pred, p->n);
}

/* ---- writing ---- */

size_t mer_samples_width(const struct mer_samples *s)
{
    return (size_t)s->n_classes + (s->valence_head ? 1 : 0);
}

void mer_pred_set_classes(const struct mer_samples *s, const struct mer_pred_set *set,
                          int64_t *pred)
{
    for (size_t i = 0; i < set->n; i++)
        pred[i] = mer_argmax(set->rows + i * mer_samples_width(s), s->n_classes);
}

int mer_pred_set_score(const struct mer_samples *s, const struct mer_pred_set *set,
                       struct mer_metrics *m)
{
    const size_t n = set->n;
    int64_t *truth = malloc((n + 1) * sizeof(int64_t)), *pred = malloc((n + 1) * sizeof(int64_t));
    int ret;
    if (!truth || !pred) {
        free(truth);
        free(pred);
        return mer_error("out of memory");
    }
    for (size_t i = 0; i < n; i++)
        truth[i] = s->label[set->idx[i]];
    mer_pred_set_classes(s, set, pred);
    ret = mer_metrics_compute(m, truth, pred, n, s->n_classes);
    free(truth);
    free(pred);
    return ret;
}

/* One row: the sample's name, probabilities, prediction, label[, valence, valence_label]. */
static void write_row(FILE *fp, const struct mer_samples *s, const struct mer_pred_set *set,
                      size_t i)
{
    const int k = s->n_classes;
    const float *row = set->rows + i * mer_samples_width(s);
    const size_t at = (size_t)set->idx[i];
    const int64_t lab = s->label[at];
    double z[MER_PRED_MAX_CLASSES], mx = -INFINITY, sum = 0;
    for (int c = 0; c < k; c++) {
        z[c] = row[c] * set->scale; /* e.g. fold-averaged logits */
        mx = fmax(mx, z[c]);
    }
    for (int c = 0; c < k; c++)
        sum += exp(z[c] - mx);
    mer_csv_write_field(fp, s->names[at]);
    for (int c = 0; c < k; c++)
        fprintf(fp, ",%.6f", exp(z[c] - mx) / sum);
    fputc(',', fp);
    mer_csv_write_field(fp, s->classes[mer_argmax(row, k)]);
    if (s->no_labels) { /* mer predict's: name, p_<class>..., prediction[, valence] */
        if (s->valence_head)
            fprintf(fp, ",%.6f", row[k] * set->valence_scale);
        fputc('\n', fp);
        return;
    }
    fputc(',', fp);
    mer_csv_write_field(fp, lab >= 0 ? s->classes[lab] : "");
    if (s->valence_head && isfinite(s->valence[at]))
        fprintf(fp, ",%.6f,%.6f", row[k] * set->valence_scale, s->valence[at]);
    else if (s->valence_head)
        fprintf(fp, ",%.6f,", row[k] * set->valence_scale);
    fputc('\n', fp);
}

int mer_predictions_write(const char *path, const struct mer_samples *s,
                          const struct mer_pred_set *set)
{
    struct mer_atomic_file f;
    MER_ASSERT(s->n_classes <= MER_PRED_MAX_CLASSES);
    if (mer_atomic_open(&f, path) < 0)
        return -1;
    fputs("name", f.fp); /* every name and class through the CSV writer: quoted as needed */
    for (int c = 0; c < s->n_classes; c++) {
        fputc(',', f.fp);
        if (mer_csv_write_fieldf(f.fp, "p_%s", s->classes[c]) < 0) {
            mer_atomic_abort(&f);
            return -1;
        }
    }
    if (s->no_labels)
        fprintf(f.fp, ",prediction%s\n", s->valence_head ? ",valence" : "");
    else
        fprintf(f.fp, ",prediction,label%s\n", s->valence_head ? ",valence,valence_label" : "");
    for (size_t i = 0; i < set->n; i++)
        write_row(f.fp, s, set, i);
    return mer_atomic_commit(&f);
}

int mer_submission_write(const char *path, const char *const *names, char *const *classes,
                         const int64_t *pred, size_t n)
{
    struct mer_atomic_file f;
    if (mer_atomic_open(&f, path) < 0)
        return -1;
    fputs("name,discrete\n", f.fp);
    for (size_t i = 0; i < n; i++) {
        const char *row[2] = {names[i], classes[pred[i]]};
        mer_csv_write_row(f.fp, row, 2);
    }
    return mer_atomic_commit(&f);
}

void mer_metrics_print(FILE *f, const struct mer_metrics *m, char *const *classes, size_t of)
{
    fprintf(f, "WAF %.4f  accuracy %.4f  macro-F1 %.4f  (", m->waf, m->accuracy, m->macro_f1);
    if (of > (size_t)m->n)
        fprintf(f, "%lld of %zu samples)\n", (long long)m->n, of);
    else
        fprintf(f, "%lld samples)\n", (long long)m->n);
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
