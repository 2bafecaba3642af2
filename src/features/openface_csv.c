/* OpenFace FeatureExtraction CSVs: functionals over the frames where tracking succeeded. */
#include "mer/openface.h"
#include "mer/csv.h"
#include "mer/error.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define COLUMN_ROW(group, name) {MER_OPENFACE_##group, name},
static const struct {
    unsigned group;
    const char *name;
} columns[] = {MER_OPENFACE_COLUMNS(COLUMN_ROW)};
#undef COLUMN_ROW

#define N_COLUMNS MER_ARRAY_SIZE(columns)

/* Presence (AU_c) is a fraction: its mean says it all; the other groups add their std. */
static int has_std(unsigned group)
{
    return group != MER_OPENFACE_AU_C;
}

struct mer_openface_params mer_openface_default_params(void)
{
    struct mer_openface_params p = {MER_OPENFACE_ALL};
    return p;
}

/* The functionals in order: per group (table order), the means of its columns, then their
 * stds. Finds functional `stop` (its column, and whether it is a std) and returns stop, or
 * the number of functionals when there are fewer. */
static size_t walk(unsigned groups, size_t stop, size_t *column, int *is_std)
{
    size_t n = 0;
    for (size_t g = 0; g < N_COLUMNS;) {
        size_t end = g;
        unsigned group = columns[g].group;
        while (end < N_COLUMNS && columns[end].group == group)
            end++;
        for (int s = 0; (groups & group) && s < 1 + has_std(group); s++)
            for (size_t c = g; c < end; c++, n++)
                if (n == stop) {
                    *column = c;
                    *is_std = s;
                    return n;
                }
        g = end;
    }
    return n;
}

size_t mer_openface_dim(unsigned groups)
{
    size_t c;
    int s;
    return walk(groups, (size_t)-1, &c, &s);
}

const char *mer_openface_name(unsigned groups, size_t i, char *buf, size_t size)
{
    size_t c = 0;
    int s = 0;
    if (walk(groups, i, &c, &s) != i)
        MER_BUG("openface functional %zu of %zu", i, mer_openface_dim(groups));
    snprintf(buf, size, "%s_%s", columns[c].name, s ? "std" : "mean");
    return buf;
}

/* A finite number, spaces around it allowed (OpenFace writes ", 0.5"). */
static int parse_number(const char *path, size_t line, const char *col, const char *s, double *v)
{
    char *end;
    while (*s == ' ' || *s == '\t')
        s++;
    errno = 0;
    *v = strtod(s, &end);
    while (*end == ' ' || *end == '\t')
        end++;
    if (end == s || *end || errno == ERANGE || !isfinite(*v))
        return mer_error("'%s':%zu: column '%s': '%s' is not a number", path, line, col, s);
    return 0;
}

/* Header indices of success and of every column of the groups (-1 for the others). */
static int find_columns(const struct mer_csv *csv, unsigned groups, int *success, int *idx)
{
    if ((*success = mer_csv_column(csv, "success")) < 0)
        return mer_error("'%s': missing column 'success' (not an OpenFace FeatureExtraction CSV?)",
                         csv->path);
    for (size_t c = 0; c < N_COLUMNS; c++) {
        idx[c] = -1;
        if (!(groups & columns[c].group))
            continue;
        if ((idx[c] = mer_csv_column(csv, columns[c].name)) < 0)
            return mer_error("'%s': missing column '%s'", csv->path, columns[c].name);
    }
    return 0;
}

/* 1 if the row's frame was tracked, 0 if not, -1 for anything else. */
static int row_success(const struct mer_csv *csv, const struct mer_csv_row *row, int success)
{
    double v;
    if ((size_t)success >= row->n_fields)
        return mer_error("'%s':%zu: %zu fields, the header has %zu", csv->path, row->line,
                         row->n_fields, csv->rows[0].n_fields);
    if (parse_number(csv->path, row->line, "success", row->fields[success], &v) < 0)
        return -1;
    if (v != 0 && v != 1)
        return mer_error("'%s':%zu: column 'success': '%s', expected 0 or 1", csv->path, row->line,
                         row->fields[success]);
    return v == 1;
}

/* Sums and sums of squares of the used rows, in double; then out. */
static int accumulate(const struct mer_csv *csv, int success, const int *idx,
                      struct mer_openface_stats *st, double *sum, double *sumsq)
{
    for (size_t r = 1; r < csv->n_rows; r++) {
        const struct mer_csv_row *row = &csv->rows[r];
        int ok = row_success(csv, row, success);
        st->frames++;
        if (ok < 0)
            return -1;
        if (!ok) {
            st->skipped++;
            continue;
        }
        st->used++;
        for (size_t c = 0; c < N_COLUMNS; c++) {
            double v;
            if (idx[c] < 0)
                continue;
            if ((size_t)idx[c] >= row->n_fields)
                return mer_error("'%s':%zu: %zu fields, the header has %zu", csv->path, row->line,
                                 row->n_fields, csv->rows[0].n_fields);
            if (parse_number(csv->path, row->line, columns[c].name, row->fields[idx[c]], &v) < 0)
                return -1;
            sum[c] += v;
            sumsq[c] += v * v;
        }
    }
    return 0;
}

static void write_functionals(unsigned groups, size_t used, const double *sum, const double *sumsq,
                              float *out)
{
    size_t dim = mer_openface_dim(groups);
    for (size_t i = 0; i < dim; i++) {
        size_t c = 0;
        int s = 0;
        double mean, var;
        walk(groups, i, &c, &s);
        mean = sum[c] / (double)used;
        var = sumsq[c] / (double)used - mean * mean;
        out[i] = (float)(s ? sqrt(var > 0 ? var : 0) : mean);
    }
}

int mer_openface_read_csv(const char *path, const struct mer_openface_params *params, float *out,
                          struct mer_openface_stats *st)
{
    unsigned groups = params ? params->groups : MER_OPENFACE_ALL;
    double sum[N_COLUMNS] = {0}, sumsq[N_COLUMNS] = {0};
    int idx[N_COLUMNS], success, ret = -1;
    struct mer_csv *csv = NULL;
    memset(st, 0, sizeof(*st));
    memset(out, 0, mer_openface_dim(groups) * sizeof(float));
    if (mer_csv_read(&csv, path) < 0)
        return -1;
    if (csv->n_rows == 0) {
        mer_error("'%s': empty file (expected an OpenFace CSV with a header)", path);
        goto done;
    }
    if (find_columns(csv, groups, &success, idx) < 0 ||
        accumulate(csv, success, idx, st, sum, sumsq) < 0)
        goto done;
    if (!st->used) {
        snprintf(st->skip, sizeof(st->skip), "no frame with success 1 (of %zu)", st->frames);
        ret = 0;
        goto done;
    }
    write_functionals(groups, st->used, sum, sumsq, out);
    ret = 1;
done:
    mer_csv_free(csv);
    return ret;
}
