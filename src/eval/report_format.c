/* mer report: the table as text, markdown, CSV, LaTeX or JSON; see report.h. */
#include "eval/report_impl.h"
#include "mer/csv.h"
#include "mer/error.h"
#include "mer/fs.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int mer_report_format_parse(const char *name, enum mer_report_format *out)
{
    static const char *const names[] = {"text", "markdown", "csv", "json", "latex"};
    for (size_t i = 0; i < MER_ARRAY_SIZE(names); i++)
        if (!strcmp(name, names[i])) {
            *out = (enum mer_report_format)i;
            return 0;
        }
    return mer_error("unknown format '%s' (expected text, markdown, csv, json or latex)", name);
}

/* ---- a table of strings, rendered in each format ---- */

struct table {
    size_t cols, rows; /* rows of cells, the header not counted */
    char **head;       /* [cols] */
    char **cell;       /* [rows * cols] */
    int *best;         /* [rows * cols] */
    int failed;
};

static void table_release(struct table *t)
{
    for (size_t i = 0; t->head && i < t->cols; i++)
        free(t->head[i]);
    for (size_t i = 0; t->cell && i < t->rows * t->cols; i++)
        free(t->cell[i]);
    free(t->head);
    free(t->cell);
    free(t->best);
}

/* Adds a column header; returns its index. */
static size_t table_col(struct table *t, char *head)
{
    char **h = realloc(t->head, (t->cols + 1) * sizeof(*h));
    if (!h || !head) {
        free(head);
        t->failed = 1;
        return t->cols;
    }
    t->head = h;
    h[t->cols] = head;
    return t->cols++;
}

static void table_set(struct table *t, size_t row, size_t col, char *text, int best)
{
    if (!text)
        t->failed = 1;
    if (col >= t->cols || !t->cell) {
        free(text);
        return;
    }
    free(t->cell[row * t->cols + col]);
    t->cell[row * t->cols + col] = text;
    t->best[row * t->cols + col] = best;
}

static const char *const metric_heads[MER_REPORT_N_METRICS] = {"WAF", "acc", "macro-F1"};

/* "0.8340 ± 0.0060" (just the mean for one run, "-" for none). */
static char *pm(const struct mer_report_cell *c, const char *sep)
{
    if (!c->n)
        return mer_strfmt("-");
    if (c->n < 2)
        return mer_strfmt("%.4f", c->mean);
    return mer_strfmt("%.4f%s%.4f", c->mean, sep, c->std);
}

/* A key's value for display: a string without its quotes, "-" when absent. */
static char *value_text(const char *json)
{
    cJSON *v = json ? cJSON_Parse(json) : NULL;
    char *s = !json               ? mer_strfmt("-")
              : cJSON_IsString(v) ? mer_strfmt("%s", v->valuestring)
                                  : mer_strfmt("%s", json);
    cJSON_Delete(v);
    return s;
}

/* The display table: keys, then per set n, the metrics (and per-class F1), the comparison. */
static int display_table(const struct mer_report *r, int per_class, const char *sep,
                         struct table *t)
{
    const size_t n_cols = per_class ? r->n_cols : MER_REPORT_N_METRICS;
    const int cmp = r->baseline >= 0;
    size_t total = (r->n_keys ? r->n_keys : 1) + r->n_sets * (1 + n_cols + (cmp ? 5 : 0)), col;
    t->rows = r->n_rows;
    if (!(t->cell = calloc(total * r->n_rows + 1, sizeof(char *))) ||
        !(t->best = calloc(total * r->n_rows + 1, sizeof(int))))
        return mer_error("out of memory");
    t->cols = 0;
    /* the columns are counted first so that table_set can index rows */
    for (size_t k = 0; k < r->n_keys; k++)
        table_col(t, mer_strfmt("%s", r->keys[k]));
    if (!r->n_keys)
        table_col(t, mer_strfmt("setting"));
    for (size_t s = 0; s < r->n_sets; s++) {
        table_col(t, mer_strfmt("%s n", r->sets[s]));
        for (size_t c = 0; c < n_cols; c++)
            table_col(
                t, c < MER_REPORT_N_METRICS
                       ? mer_strfmt("%s %s", r->sets[s], metric_heads[c])
                       : mer_strfmt("%s F1 %s", r->sets[s], r->classes[c - MER_REPORT_N_METRICS]));
        if (cmp) {
            table_col(t, mer_strfmt("%s dWAF", r->sets[s]));
            table_col(t, mer_strfmt("%s dacc", r->sets[s]));
            table_col(t, mer_strfmt("%s dmacro-F1", r->sets[s]));
            table_col(t, mer_strfmt("%s p", r->sets[s]));
            table_col(t, mer_strfmt("%s 95%% CI", r->sets[s]));
        }
    }
    for (size_t i = 0; i < r->n_rows; i++) {
        const struct mer_report_row *row = &r->rows[i];
        col = 0;
        for (size_t k = 0; k < r->n_keys; k++)
            table_set(t, i, col++, value_text(row->values[k]), 0);
        if (!r->n_keys)
            table_set(t, i, col++, mer_strfmt("all runs"), 0);
        for (size_t s = 0; s < r->n_sets; s++) {
            table_set(t, i, col++, mer_strfmt("%zu", mer_report_cell(r, i, s, 0)->n), 0);
            for (size_t c = 0; c < n_cols; c++) {
                const struct mer_report_cell *cell = mer_report_cell(r, i, s, c);
                table_set(t, i, col++, pm(cell, sep), cell->best);
            }
            if (!cmp)
                continue;
            if ((long)i == r->baseline) {
                table_set(t, i, col, mer_strfmt("baseline"), 0);
                for (int j = 1; j < 5; j++)
                    table_set(t, i, col + (size_t)j, mer_strfmt("%s", ""), 0);
            } else if (!row->cmp[s].valid) {
                for (int j = 0; j < 5; j++)
                    table_set(t, i, col + (size_t)j, mer_strfmt("-"), 0);
            } else {
                const struct mer_report_cmp *m = &row->cmp[s];
                for (int j = 0; j < MER_REPORT_N_METRICS; j++)
                    table_set(t, i, col + (size_t)j, mer_strfmt("%+.4f", m->delta[j]), 0);
                /* p = 0: no resample crossed zero, so p < 1/B is all one can say */
                table_set(t, i, col + 3,
                          m->p > 0 ? mer_strfmt("%.3f%s", m->p, m->by_order ? " (o)" : "")
                                   : mer_strfmt("<%.3g%s", 1.0 / r->params.resamples,
                                                m->by_order ? " (o)" : ""),
                          0);
                table_set(t, i, col + 4, mer_strfmt("[%+.4f, %+.4f]", m->ci_lo, m->ci_hi), 0);
            }
            col += 5;
        }
    }
    return t->failed ? mer_error("out of memory") : 0;
}

/* Display width of UTF-8 text (code points; mer's cells hold no wide characters). */
static size_t width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

static void pad(FILE *f, size_t n)
{
    while (n--)
        fputc(' ', f);
}

static void write_text(FILE *f, const struct table *t)
{
    size_t *w = calloc(t->cols + 1, sizeof(size_t));
    if (!w)
        return;
    for (size_t c = 0; c < t->cols; c++) {
        w[c] = width(t->head[c]);
        for (size_t i = 0; i < t->rows; i++) {
            size_t x = width(t->cell[i * t->cols + c]) + (size_t)t->best[i * t->cols + c];
            w[c] = x > w[c] ? x : w[c];
        }
    }
    for (size_t i = 0; i <= t->rows; i++) {
        char *const *line = i ? t->cell + (i - 1) * t->cols : t->head;
        size_t last = t->cols; /* no trailing padding: stop after the last non-empty cell */
        while (last > 1 && !*line[last - 1])
            last--;
        for (size_t c = 0; c < last; c++) {
            int best = i ? t->best[(i - 1) * t->cols + c] : 0;
            fprintf(f, "%s%s%s", c ? "  " : "", line[c], best ? "*" : "");
            if (c + 1 < last)
                pad(f, w[c] - width(line[c]) - (size_t)best);
        }
        fputc('\n', f);
    }
    free(w);
}

static void write_markdown(FILE *f, const struct table *t)
{
    for (size_t i = 0; i <= t->rows + 1; i++) {
        fputc('|', f);
        for (size_t c = 0; c < t->cols; c++) {
            if (i == 1) {
                fputs(c < t->cols && strchr(t->head[c], ' ') ? " ---: |" : " --- |", f);
                continue;
            }
            const char *s = i ? t->cell[(i - 2) * t->cols + c] : t->head[c];
            int best = i ? t->best[(i - 2) * t->cols + c] : 0;
            fprintf(f, " %s%s%s |", best ? "**" : "", s, best ? "**" : "");
        }
        fputc('\n', f);
    }
}

/* LaTeX-escaped text. */
static void tex(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (!strncmp(s, "±", strlen("±"))) {
            fputs("$\\pm$", f);
            s += strlen("±") - 1;
        } else if (strchr("&%$#_{}", *s))
            fprintf(f, "\\%c", *s);
        else if (*s == '~' || *s == '^' || *s == '\\')
            fputs(*s == '~'   ? "\\textasciitilde{}"
                  : *s == '^' ? "\\textasciicircum{}"
                              : "\\textbackslash{}",
                  f);
        else
            fputc(*s, f);
    }
}

static void write_latex(FILE *f, const struct table *t, char *const *footer, size_t n_footer)
{
    fputs("\\begin{tabular}{", f);
    for (size_t c = 0; c < t->cols; c++)
        fputc(strchr(t->head[c], ' ') ? 'r' : 'l', f);
    fputs("}\n\\toprule\n", f);
    for (size_t i = 0; i <= t->rows; i++) {
        for (size_t c = 0; c < t->cols; c++) {
            const char *s = i ? t->cell[(i - 1) * t->cols + c] : t->head[c];
            int best = i ? t->best[(i - 1) * t->cols + c] : 0;
            fputs(c ? " & " : "", f);
            fputs(best ? "\\textbf{" : "", f);
            tex(f, s);
            fputs(best ? "}" : "", f);
        }
        fputs(i ? " \\\\\n" : " \\\\\n\\midrule\n", f);
    }
    fputs("\\bottomrule\n", f);
    for (size_t i = 0; i < n_footer; i++) {
        fprintf(f, "\\multicolumn{%zu}{l}{\\footnotesize ", t->cols);
        tex(f, footer[i]);
        fputs("} \\\\\n", f);
    }
    fputs("\\end{tabular}\n", f);
}

/* ---- what the numbers are (every format's footer) ---- */

static int footer_lines(const struct mer_report *r, int per_class, char ***out, size_t *n)
{
    char **v = calloc(4, sizeof(char *)), *list = NULL;
    size_t len = 0, incomplete = 0;
    *out = v;
    *n = 0;
    if (!v)
        return mer_error("out of memory");
    v[(*n)++] = mer_strfmt("mean ± sample std (ddof=1) over the runs of a row (train.seed); n: "
                           "runs with the set; the best mean of a column marked (* or bold)%s",
                           per_class ? "; F1 <class>: per-class F1" : "");
    if (r->baseline >= 0) {
        v[(*n)++] = mer_strfmt(
            "d: row mean - baseline mean (baseline: %s); p, 95%% CI: paired bootstrap of the WAF "
            "difference over samples, %d resamples, seed %llu (xoshiro256**), runs paired by seed "
            "((o): by order of seed), p = 2 min(share d <= 0, share d >= 0), CI = 2.5th and "
            "97.5th percentiles",
            r->params.baseline, r->params.resamples, (unsigned long long)r->params.bootstrap_seed);
    }
    for (size_t i = 0; i < r->n_runs; i++)
        if (!r->runs[i].complete)
            len += strlen(r->runs[i].dir) + 2, incomplete++;
    if (incomplete && (list = calloc(len + 1, 1))) {
        for (size_t i = 0; i < r->n_runs; i++)
            if (!r->runs[i].complete) {
                strcat(list, *list ? ", " : "");
                strcat(list, r->runs[i].dir);
            }
        v[(*n)++] = mer_strfmt("incomplete (no metrics.json, not averaged): %s", list);
    }
    free(list);
    for (size_t i = 0; i < *n; i++)
        if (!v[i])
            return mer_error("out of memory");
    return incomplete && !list ? mer_error("out of memory") : 0;
}

/* ---- CSV: raw numbers, one column each ---- */

static void csv_num(FILE *f, double x)
{
    if (isfinite(x))
        fprintf(f, ",%.17g", x);
    else
        fputc(',', f);
}

static int write_csv(FILE *f, const struct mer_report *r, int per_class)
{
    const size_t n_cols = per_class ? r->n_cols : MER_REPORT_N_METRICS;
    int first = 1;
    for (size_t k = 0; k < r->n_keys; k++, first = 0)
        fputs(first ? "" : ",", f), mer_csv_write_field(f, r->keys[k]);
    for (size_t s = 0; s < r->n_sets; s++) {
        fputs(first ? "" : ",", f);
        first = 0;
        mer_csv_write_fieldf(f, "%s.n", r->sets[s]);
        for (size_t c = 0; c < n_cols; c++) {
            char *name =
                c < MER_REPORT_N_METRICS
                    ? mer_strfmt("%s.%s", r->sets[s], mer_report_metric_keys[c])
                    : mer_strfmt("%s.f1.%s", r->sets[s], r->classes[c - MER_REPORT_N_METRICS]);
            if (!name)
                return mer_error("out of memory");
            fputc(',', f);
            mer_csv_write_fieldf(f, "%s.mean", name);
            fputc(',', f);
            mer_csv_write_fieldf(f, "%s.std", name);
            free(name);
        }
        if (r->baseline >= 0) {
            for (int m = 0; m < MER_REPORT_N_METRICS; m++) {
                fputc(',', f);
                mer_csv_write_fieldf(f, "%s.delta.%s", r->sets[s], mer_report_metric_keys[m]);
            }
            fprintf(f, ",%s.waf_diff,%s.p,%s.ci_lo,%s.ci_hi,%s.pairs", r->sets[s], r->sets[s],
                    r->sets[s], r->sets[s], r->sets[s]);
        }
    }
    fputc('\n', f);
    for (size_t i = 0; i < r->n_rows; i++) {
        const struct mer_report_row *row = &r->rows[i];
        first = 1;
        for (size_t k = 0; k < r->n_keys; k++, first = 0) {
            char *v = value_text(row->values[k]);
            fputs(first ? "" : ",", f);
            mer_csv_write_field(f, v ? v : "");
            free(v);
        }
        for (size_t s = 0; s < r->n_sets; s++) {
            fprintf(f, "%s%zu", first ? "" : ",", mer_report_cell(r, i, s, 0)->n);
            first = 0;
            for (size_t c = 0; c < n_cols; c++) {
                csv_num(f, mer_report_cell(r, i, s, c)->mean);
                csv_num(f, mer_report_cell(r, i, s, c)->std);
            }
            if (r->baseline < 0)
                continue;
            const struct mer_report_cmp *m = row->cmp ? &row->cmp[s] : NULL;
            const int ok = m && m->valid;
            for (int j = 0; j < MER_REPORT_N_METRICS; j++)
                csv_num(f, ok ? m->delta[j] : NAN);
            csv_num(f, ok ? m->waf_diff : NAN);
            csv_num(f, ok ? m->p : NAN);
            csv_num(f, ok ? m->ci_lo : NAN);
            csv_num(f, ok ? m->ci_hi : NAN);
            if (ok)
                fprintf(f, ",%zu", m->pairs);
            else
                fputc(',', f);
        }
        fputc('\n', f);
    }
    return 0;
}

/* ---- JSON ---- */

/* A number written so that it reads back exactly (cJSON_Print rounds to 15 digits when they
 * come within an epsilon); null when not finite. */
static cJSON *num_or_null(double x)
{
    char buf[40];
    if (!isfinite(x))
        return cJSON_CreateNull();
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, sizeof(buf), "%.*g", digits, x);
        if (strtod(buf, NULL) == x)
            break;
    }
    return cJSON_CreateRaw(buf);
}

static cJSON *cell_json(const struct mer_report_cell *c)
{
    cJSON *o = cJSON_CreateObject(), *v = cJSON_CreateArray();
    if (!o || !v) {
        cJSON_Delete(o);
        cJSON_Delete(v);
        return NULL;
    }
    cJSON_AddItemToObject(o, "mean", num_or_null(c->mean));
    cJSON_AddItemToObject(o, "std", num_or_null(c->std));
    cJSON_AddNumberToObject(o, "n", (double)c->n);
    for (size_t i = 0; i < c->n; i++)
        cJSON_AddItemToArray(v, num_or_null(c->values[i]));
    cJSON_AddItemToObject(o, "values", v);
    cJSON_AddBoolToObject(o, "best", c->best);
    return o;
}

static cJSON *cmp_json(const struct mer_report_cmp *m)
{
    cJSON *o = cJSON_CreateObject(), *d = cJSON_CreateObject(), *ci = cJSON_CreateArray();
    if (!o || !d || !ci) {
        cJSON_Delete(o);
        cJSON_Delete(d);
        cJSON_Delete(ci);
        return NULL;
    }
    for (int j = 0; j < MER_REPORT_N_METRICS; j++)
        cJSON_AddItemToObject(d, mer_report_metric_keys[j], num_or_null(m->delta[j]));
    cJSON_AddItemToObject(o, "delta", d);
    cJSON_AddItemToObject(o, "waf_diff", num_or_null(m->waf_diff));
    cJSON_AddItemToArray(ci, num_or_null(m->ci_lo));
    cJSON_AddItemToArray(ci, num_or_null(m->ci_hi));
    cJSON_AddItemToObject(o, "ci95", ci);
    cJSON_AddItemToObject(o, "p", num_or_null(m->p));
    cJSON_AddNumberToObject(o, "pairs", (double)m->pairs);
    cJSON_AddStringToObject(o, "pairing", m->by_order ? "order" : "seed");
    return o;
}

/* {"<key>": value} of a row; values as their JSON (null when absent). */
static cJSON *keys_json(const struct mer_report *r, const struct mer_report_row *row)
{
    cJSON *o = cJSON_CreateObject();
    for (size_t k = 0; o && k < r->n_keys; k++) {
        cJSON *v = row->values[k] ? cJSON_Parse(row->values[k]) : cJSON_CreateNull();
        cJSON_AddItemToObject(o, r->keys[k], v ? v : cJSON_CreateNull());
    }
    return o;
}

static cJSON *row_json(const struct mer_report *r, size_t i)
{
    const struct mer_report_row *row = &r->rows[i];
    cJSON *o = cJSON_CreateObject(), *runs = cJSON_CreateArray(), *seeds = cJSON_CreateArray();
    cJSON *sets = cJSON_CreateObject(), *cmp = row->cmp ? cJSON_CreateObject() : NULL;
    cJSON_AddItemToObject(o, "keys", keys_json(r, row));
    for (size_t j = 0; j < row->n_runs; j++) {
        cJSON_AddItemToArray(runs, cJSON_CreateString(r->runs[row->runs[j]].dir));
        cJSON_AddItemToArray(seeds, cJSON_CreateNumber((double)r->runs[row->runs[j]].seed));
    }
    cJSON_AddItemToObject(o, "runs", runs);
    cJSON_AddItemToObject(o, "seeds", seeds);
    for (size_t s = 0; s < r->n_sets; s++) {
        cJSON *set = cJSON_CreateObject(), *pc = cJSON_CreateObject();
        for (size_t c = 0; c < r->n_cols; c++)
            cJSON_AddItemToObject(c < MER_REPORT_N_METRICS ? set : pc,
                                  c < MER_REPORT_N_METRICS ? mer_report_metric_keys[c]
                                                           : r->classes[c - MER_REPORT_N_METRICS],
                                  cell_json(mer_report_cell(r, i, s, c)));
        cJSON_AddItemToObject(set, "per_class_f1", pc);
        cJSON_AddItemToObject(sets, r->sets[s], set);
        if (cmp && row->cmp[s].valid)
            cJSON_AddItemToObject(cmp, r->sets[s], cmp_json(&row->cmp[s]));
    }
    cJSON_AddItemToObject(o, "sets", sets);
    cJSON_AddBoolToObject(o, "baseline", (long)i == r->baseline);
    cJSON_AddItemToObject(o, "vs_baseline", cmp ? cmp : cJSON_CreateNull());
    return o;
}

/* An array of n strings ([] for none, where cJSON_CreateStringArray gives NULL). */
static cJSON *str_array(char *const *v, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
    return a;
}

static cJSON *report_json(const struct mer_report *r)
{
    cJSON *o = cJSON_CreateObject(), *rows = cJSON_CreateArray(), *inc = cJSON_CreateArray();
    cJSON *boot;
    cJSON_AddStringToObject(o, "mer.kind", "report");
    cJSON_AddNumberToObject(o, "version", MER_REPORT_VERSION);
    cJSON_AddItemToObject(o, "keys", str_array(r->keys, r->n_keys));
    cJSON_AddItemToObject(o, "sets", str_array(r->sets, r->n_sets));
    cJSON_AddItemToObject(o, "classes", str_array(r->classes, (size_t)r->n_classes));
    cJSON_AddStringToObject(o, "std", "sample (ddof=1)");
    for (size_t i = 0; i < r->n_rows; i++)
        cJSON_AddItemToArray(rows, row_json(r, i));
    cJSON_AddItemToObject(o, "rows", rows);
    for (size_t i = 0; i < r->n_runs; i++)
        if (!r->runs[i].complete)
            cJSON_AddItemToArray(inc, cJSON_CreateString(r->runs[i].dir));
    cJSON_AddItemToObject(o, "incomplete", inc);
    if (r->baseline >= 0) {
        cJSON *b = cJSON_AddObjectToObject(o, "baseline");
        cJSON_AddStringToObject(b, "spec", r->params.baseline);
        cJSON_AddNumberToObject(b, "row", (double)r->baseline);
        boot = cJSON_AddObjectToObject(o, "bootstrap");
        cJSON_AddNumberToObject(boot, "resamples", r->params.resamples);
        cJSON_AddNumberToObject(boot, "seed", (double)r->params.bootstrap_seed);
        cJSON_AddStringToObject(boot, "rng", "xoshiro256** seeded by splitmix64, mer_rng_below");
        cJSON_AddStringToObject(boot, "p", "2 * min(share of d <= 0, share of d >= 0), at most 1");
        cJSON_AddStringToObject(boot, "ci", "2.5th and 97.5th percentiles (linear)");
    } else {
        cJSON_AddNullToObject(o, "baseline");
    }
    return o;
}

int mer_report_write(FILE *f, const struct mer_report *r, enum mer_report_format fmt, int per_class)
{
    struct table t = {0};
    char **footer = NULL, *text;
    size_t n_footer = 0;
    int ret = -1;
    if (fmt == MER_REPORT_JSON) {
        cJSON *o = report_json(r);
        if (!o || !(text = cJSON_Print(o))) {
            cJSON_Delete(o);
            return mer_error("out of memory");
        }
        fprintf(f, "%s\n", text);
        free(text);
        cJSON_Delete(o);
        return ferror(f) ? mer_error("write error") : 0;
    }
    if (fmt == MER_REPORT_CSV) {
        ret = write_csv(f, r, per_class);
        return ret < 0 ? -1 : ferror(f) ? mer_error("write error") : 0;
    }
    if (display_table(r, per_class, " ± ", &t) < 0 ||
        footer_lines(r, per_class, &footer, &n_footer) < 0)
        goto done;
    if (fmt == MER_REPORT_LATEX) {
        write_latex(f, &t, footer, n_footer);
    } else {
        if (fmt == MER_REPORT_TEXT)
            write_text(f, &t);
        else
            write_markdown(f, &t);
        for (size_t i = 0; i < n_footer; i++)
            fprintf(f, "%s%s\n", fmt == MER_REPORT_MARKDOWN ? "\n" : "", footer[i]);
    }
    ret = ferror(f) ? mer_error("write error") : 0;
done:
    for (size_t i = 0; footer && i < n_footer; i++)
        free(footer[i]);
    free(footer);
    table_release(&t);
    return ret;
}
