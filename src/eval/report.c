/* mer report: finding runs, the keys that vary, rows and their cells; see report.h. */
#include "eval/report_impl.h"
#include "mer/error.h"
#include "mer/evaluate.h"
#include "mer/fs.h"
#include "mer/strv.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const mer_report_metric_keys[MER_REPORT_N_METRICS] = {"waf", "accuracy", "macro_f1"};

struct mer_report_params mer_report_default_params(void)
{
    return (struct mer_report_params){NULL, 1000, 0};
}

/* ---- finding the runs ---- */

static int is_run_dir(const char *dir)
{
    char *cfg = mer_path_join(dir, "config.json");
    int yes = cfg && mer_path_exists(cfg);
    free(cfg);
    return yes;
}

static int add_run(struct mer_report *r, const char *dir)
{
    struct mer_report_run *runs = realloc(r->runs, (r->n_runs + 1) * sizeof(*runs));
    if (!runs)
        return mer_error("out of memory");
    r->runs = runs;
    memset(&runs[r->n_runs], 0, sizeof(*runs));
    if (!(runs[r->n_runs].dir = mer_strfmt("%s", dir)))
        return mer_error("out of memory");
    r->n_runs++;
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A run directory, or the run directories one level below path (a sweep), by name. */
static int find_runs(struct mer_report *r, const char *path)
{
    DIR *d;
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, found = 0;
    int ret = -1;
    if (!mer_is_dir(path))
        return mer_error("'%s': %s", path,
                         mer_path_exists(path) ? "not a directory (expected a run or a sweep)"
                                               : "no such directory");
    if (is_run_dir(path))
        return add_run(r, path);
    if (!(d = opendir(path)))
        return mer_error("'%s': cannot read the directory", path);
    while ((e = readdir(d))) {
        char **grown;
        if (e->d_name[0] == '.')
            continue;
        if (!(grown = realloc(names, (n + 1) * sizeof(*names))) ||
            !(grown[n] = mer_path_join(path, e->d_name))) {
            names = grown ? grown : names;
            mer_error("out of memory");
            goto done;
        }
        names = grown;
        n++;
    }
    if (n) /* qsort wants a non-NULL array even for none */
        qsort(names, n, sizeof(*names), by_name);
    for (size_t i = 0; i < n; i++)
        if (mer_is_dir(names[i]) && is_run_dir(names[i])) {
            if (add_run(r, names[i]) < 0)
                goto done;
            found++;
        }
    ret = found ? 0
                : mer_error("'%s': no run directory here or one level below (a run directory has "
                            "config.json)",
                            path);
done:
    closedir(d);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return ret;
}

/* ---- reading a run ---- */

/* Adds every leaf of o under prefix to flat as "a.b.c": JSON text (objects recurse). */
static int flatten(cJSON *flat, const cJSON *o, const char *prefix)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, o)
    {
        char *key = prefix ? mer_strfmt("%s.%s", prefix, it->string) : mer_strfmt("%s", it->string);
        char *text = NULL;
        int ok = key != NULL;
        if (ok && cJSON_IsObject(it))
            ok = flatten(flat, it, key) == 0;
        else if (ok)
            ok = (text = cJSON_PrintUnformatted(it)) && cJSON_AddStringToObject(flat, key, text);
        free(text);
        free(key);
        if (!ok)
            return mer_error("out of memory");
    }
    return 0;
}

/* metrics.json's set object has the numbers a cell reads. */
static int check_set(const char *path, const cJSON *set, const char *name)
{
    if (!cJSON_IsObject(set))
        return mer_error("'%s': key '%s': expected an object", path, name);
    for (int m = 0; m < MER_REPORT_N_METRICS; m++)
        if (!cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(set, mer_report_metric_keys[m])))
            return mer_error("'%s': key '%s.%s': expected a number", path, name,
                             mer_report_metric_keys[m]);
    if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(set, "per_class")))
        return mer_error("'%s': key '%s.per_class': expected an object", path, name);
    return 0;
}

static int check_metrics(const char *path, const cJSON *m)
{
    const cJSON *test = cJSON_GetObjectItemCaseSensitive(m, "test"), *it;
    char name[300];
    if (check_set(path, cJSON_GetObjectItemCaseSensitive(m, "cv"), "cv") < 0)
        return -1;
    if (test && !cJSON_IsObject(test))
        return mer_error("'%s': key 'test': expected an object", path);
    cJSON_ArrayForEach(it, test)
    {
        snprintf(name, sizeof(name), "test.%s", it->string);
        if (check_set(path, it, name) < 0)
            return -1;
    }
    return 0;
}

/* A sweep member's named setting (its sweep-member.json's "setting") as the key "setting",
 * so rows read "bdcl" rather than the values it sets and --baseline setting=ce picks one. */
static int add_setting(struct mer_report_run *run)
{
    char *path = mer_path_join(run->dir, "sweep-member.json"), *text = NULL;
    cJSON *member = NULL;
    const cJSON *v;
    int ret = 0;
    if (!path)
        return mer_error("out of memory");
    if (mer_path_exists(path)) {
        if (!(member = mer_read_json(path)))
            ret = -1;
        else if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(member, "setting")) &&
                 (!(text = cJSON_PrintUnformatted(v)) ||
                  !cJSON_AddStringToObject(run->flat, "setting", text)))
            ret = mer_error("out of memory");
    }
    free(text);
    cJSON_Delete(member);
    free(path);
    return ret;
}

static int read_run(struct mer_report_run *run)
{
    char *cfg_path = mer_path_join(run->dir, "config.json");
    char *met_path = mer_path_join(run->dir, "metrics.json");
    cJSON *cfg = NULL;
    const cJSON *seed;
    int ret = -1;
    if (!cfg_path || !met_path) {
        mer_error("out of memory");
        goto done;
    }
    if (!(cfg = mer_read_json(cfg_path)) || !(run->flat = cJSON_CreateObject()) ||
        flatten(run->flat, cfg, NULL) < 0 || add_setting(run) < 0)
        goto done;
    seed = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cfg, "train"), "seed");
    if (seed && (!cJSON_IsNumber(seed) || seed->valuedouble < 0 ||
                 seed->valuedouble != floor(seed->valuedouble))) {
        mer_error("'%s': key 'train.seed': expected an integer >= 0", cfg_path);
        goto done;
    }
    run->seed = seed ? (int64_t)seed->valuedouble : 0;
    if (mer_path_exists(met_path)) {
        if (!(run->metrics = mer_read_json(met_path)) || check_metrics(met_path, run->metrics) < 0)
            goto done;
        run->complete = 1;
    }
    ret = 0;
done:
    cJSON_Delete(cfg);
    free(cfg_path);
    free(met_path);
    return ret;
}

const cJSON *mer_report_set_json(const struct mer_report_run *run, const char *set)
{
    if (!strcmp(set, "cv"))
        return cJSON_GetObjectItemCaseSensitive(run->metrics, "cv");
    return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(run->metrics, "test"),
                                            set);
}

/* ---- one label set, one class list ---- */

/* Labeled rows of p sorted by name: indices into p (new array, *n of them). */
static size_t *labeled_by_name(const struct mer_predictions *p, size_t *n)
{
    size_t *idx = malloc((p->n + 1) * sizeof(*idx));
    if (idx)
        *n = mer_report_sorted_labeled(p, idx);
    return idx;
}

/* The classes of a and b are equal, and so are their labeled samples; else an error naming both
 * runs. */
static int same_labels(const struct mer_report_run *ra, const struct mer_predictions *a,
                       const struct mer_report_run *rb, const struct mer_predictions *b)
{
    size_t na, nb, *ia = NULL, *ib = NULL;
    int ret = -1;
    if (a->n_classes != b->n_classes)
        return mer_error("'%s' and '%s' have different class lists (%d and %d classes)", ra->dir,
                         rb->dir, a->n_classes, b->n_classes);
    for (int c = 0; c < a->n_classes; c++)
        if (strcmp(a->classes[c], b->classes[c]))
            return mer_error("'%s' and '%s' have different class lists: class %d is '%s' and '%s'",
                             ra->dir, rb->dir, c, a->classes[c], b->classes[c]);
    if (!(ia = labeled_by_name(a, &na)) || !(ib = labeled_by_name(b, &nb))) {
        mer_error("out of memory");
        goto done;
    }
    for (size_t i = 0; i < na && i < nb; i++) {
        const char *sa = a->names[ia[i]], *sb = b->names[ib[i]];
        if (strcmp(sa, sb)) {
            mer_error("'%s' and '%s' have different label sets: sample '%s' is in one, not the "
                      "other (predictions/cv.csv)",
                      ra->dir, rb->dir, strcmp(sa, sb) < 0 ? sa : sb);
            goto done;
        }
        if (a->label[ia[i]] != b->label[ib[i]]) {
            mer_error("'%s' and '%s' have different label sets: sample '%s' is '%s' and '%s'",
                      ra->dir, rb->dir, sa, a->classes[a->label[ia[i]]],
                      b->classes[b->label[ib[i]]]);
            goto done;
        }
    }
    if (na != nb) {
        mer_error("'%s' and '%s' have different label sets: %zu and %zu labeled samples in "
                  "predictions/cv.csv",
                  ra->dir, rb->dir, na, nb);
        goto done;
    }
    ret = 0;
done:
    free(ia);
    free(ib);
    return ret;
}

static struct mer_predictions *read_cv(const struct mer_report_run *run)
{
    struct mer_predictions *p = NULL;
    char *path = mer_strfmt("%s/predictions/cv.csv", run->dir);
    if (!path)
        mer_error("out of memory");
    else if (mer_predictions_read(&p, path) < 0)
        p = NULL;
    free(path);
    return p;
}

/* Every complete run has the first one's classes and labels; r->classes from them. */
static int check_labels(struct mer_report *r)
{
    struct mer_predictions *ref = NULL, *p = NULL;
    const struct mer_report_run *first = NULL;
    int ret = -1;
    for (size_t i = 0; i < r->n_runs; i++) {
        if (!r->runs[i].complete)
            continue;
        if (!first) {
            first = &r->runs[i];
            if (!(ref = read_cv(first)))
                goto done;
            continue;
        }
        if (!(p = read_cv(&r->runs[i])) || same_labels(first, ref, &r->runs[i], p) < 0)
            goto done;
        mer_predictions_free(p);
        p = NULL;
    }
    if (ref) {
        if (!(r->classes = calloc((size_t)ref->n_classes, sizeof(char *))))
            goto oom;
        for (int c = 0; c < ref->n_classes; c++, r->n_classes++)
            if (!(r->classes[c] = mer_strfmt("%s", ref->classes[c])))
                goto oom;
    }
    ret = 0;
    goto done;
oom:
    mer_error("out of memory");
done:
    mer_predictions_free(ref);
    mer_predictions_free(p);
    return ret;
}

/* ---- keys, rows, cells ---- */

static int push_str(char ***v, size_t *n, const char *s)
{
    char **grown = realloc(*v, (*n + 1) * sizeof(**v));
    if (!grown)
        return mer_error("out of memory");
    *v = grown;
    if (!(grown[*n] = mer_strfmt("%s", s)))
        return mer_error("out of memory");
    (*n)++;
    return 0;
}

static int has_str(char *const *v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i], s))
            return 1;
    return 0;
}

static const char *flat_value(const struct mer_report_run *run, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(run->flat, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int same_value(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

/* The keys whose values differ between complete runs (absent counts as a value), sorted. */
static int find_keys(struct mer_report *r)
{
    const struct mer_report_run *first = NULL;
    for (size_t i = 0; i < r->n_runs; i++) {
        const cJSON *it;
        if (!r->runs[i].complete)
            continue;
        if (!first)
            first = &r->runs[i];
        cJSON_ArrayForEach(it, r->runs[i].flat)
        {
            const char *k = it->string;
            if (strcmp(k, "train.seed") && !has_str(r->keys, r->n_keys, k) &&
                !same_value(flat_value(first, k), it->valuestring) &&
                push_str(&r->keys, &r->n_keys, k) < 0)
                return -1;
        }
        /* a key of the first run that this one lacks */
        cJSON_ArrayForEach(it, first->flat)
        {
            const char *k = it->string;
            if (strcmp(k, "train.seed") && !has_str(r->keys, r->n_keys, k) &&
                !flat_value(&r->runs[i], k) && push_str(&r->keys, &r->n_keys, k) < 0)
                return -1;
        }
    }
    if (r->n_keys)
        qsort(r->keys, r->n_keys, sizeof(*r->keys), by_name);
    /* a sweep's named setting first: it names the row, the keys after it say what it sets */
    for (size_t k = 1; k < r->n_keys; k++)
        if (!strcmp(r->keys[k], "setting")) {
            char *setting = r->keys[k];
            memmove(r->keys + 1, r->keys, k * sizeof(*r->keys));
            r->keys[0] = setting;
        }
    return 0;
}

static int same_setting(const struct mer_report *r, const struct mer_report_run *a,
                        const struct mer_report_run *b)
{
    for (size_t k = 0; k < r->n_keys; k++)
        if (!same_value(flat_value(a, r->keys[k]), flat_value(b, r->keys[k])))
            return 0;
    return 1;
}

static int add_to_row(struct mer_report *r, size_t run)
{
    struct mer_report_row *row;
    size_t at;
    for (at = 0; at < r->n_rows; at++)
        if (same_setting(r, &r->runs[r->rows[at].runs[0]], &r->runs[run]))
            break;
    if (at == r->n_rows) {
        struct mer_report_row *rows = realloc(r->rows, (r->n_rows + 1) * sizeof(*rows));
        if (!rows)
            return mer_error("out of memory");
        r->rows = rows;
        memset(&rows[r->n_rows++], 0, sizeof(*rows));
        if (!(rows[at].values = calloc(r->n_keys + 1, sizeof(char *))))
            return mer_error("out of memory");
        for (size_t k = 0; k < r->n_keys; k++) {
            const char *v = flat_value(&r->runs[run], r->keys[k]);
            if (v && !(rows[at].values[k] = mer_strfmt("%s", v)))
                return mer_error("out of memory");
        }
    }
    row = &r->rows[at];
    size_t *runs = realloc(row->runs, (row->n_runs + 1) * sizeof(*runs)), j;
    if (!runs)
        return mer_error("out of memory");
    row->runs = runs;
    /* by seed, stable */
    for (j = row->n_runs; j > 0 && r->runs[runs[j - 1]].seed > r->runs[run].seed; j--)
        runs[j] = runs[j - 1];
    runs[j] = run;
    row->n_runs++;
    r->runs[run].row = at;
    return 0;
}

static int find_sets(struct mer_report *r)
{
    if (push_str(&r->sets, &r->n_sets, "cv") < 0)
        return -1;
    for (size_t i = 0; i < r->n_runs; i++) {
        const cJSON *it;
        if (!r->runs[i].complete)
            continue;
        cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(r->runs[i].metrics, "test"))
        {
            if (!has_str(r->sets, r->n_sets, it->string) &&
                push_str(&r->sets, &r->n_sets, it->string) < 0)
                return -1;
        }
    }
    return 0;
}

/* The value of column c of a set object (NaN-free: checked, or a per-class F1 looked up). */
static int column_value(const struct mer_report *r, const struct mer_report_run *run,
                        const cJSON *set, size_t s, size_t c, double *out)
{
    const cJSON *v;
    if (c < MER_REPORT_N_METRICS) {
        *out = cJSON_GetObjectItemCaseSensitive(set, mer_report_metric_keys[c])->valuedouble;
        return 0;
    }
    v = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(set, "per_class"),
                                         r->classes[c - MER_REPORT_N_METRICS]),
        "f1");
    if (!cJSON_IsNumber(v))
        return mer_error("'%s/metrics.json': key '%s%s.per_class.%s.f1': expected a number",
                         run->dir, s ? "test." : "", r->sets[s],
                         r->classes[c - MER_REPORT_N_METRICS]);
    *out = v->valuedouble;
    return 0;
}

static int fill_cell(const struct mer_report *r, const struct mer_report_row *row, size_t s,
                     size_t c, struct mer_report_cell *cell)
{
    double sum = 0, ss = 0;
    if (!(cell->values = malloc((row->n_runs + 1) * sizeof(double))))
        return mer_error("out of memory");
    for (size_t i = 0; i < row->n_runs; i++) {
        const struct mer_report_run *run = &r->runs[row->runs[i]];
        const cJSON *set = mer_report_set_json(run, r->sets[s]);
        if (set && column_value(r, run, set, s, c, &cell->values[cell->n++]) < 0)
            return -1;
    }
    for (size_t i = 0; i < cell->n; i++)
        sum += cell->values[i];
    cell->mean = cell->n ? sum / (double)cell->n : NAN;
    for (size_t i = 0; i < cell->n; i++)
        ss += (cell->values[i] - cell->mean) * (cell->values[i] - cell->mean);
    cell->std = cell->n > 1 ? sqrt(ss / (double)(cell->n - 1)) : NAN;
    return 0;
}

static void mark_best(struct mer_report *r)
{
    for (size_t s = 0; s < r->n_sets; s++)
        for (size_t c = 0; c < r->n_cols; c++) {
            double best = -INFINITY;
            for (size_t i = 0; i < r->n_rows; i++) {
                const struct mer_report_cell *cell = mer_report_cell(r, i, s, c);
                if (cell->n && cell->mean > best)
                    best = cell->mean;
            }
            for (size_t i = 0; i < r->n_rows; i++) {
                struct mer_report_cell *cell = &r->rows[i].cells[s * r->n_cols + c];
                cell->best = r->n_rows > 1 && cell->n && cell->mean == best;
            }
        }
}

const struct mer_report_cell *mer_report_cell(const struct mer_report *r, size_t row, size_t s,
                                              size_t c)
{
    return &r->rows[row].cells[s * r->n_cols + c];
}

/* ---- the baseline ---- */

/* The config value text (JSON) equals what the user wrote: a string's text, a number's value,
 * any other value (a list, say) as JSON, spaces aside. */
static int value_matches(const char *json, const char *want)
{
    cJSON *v = json ? cJSON_Parse(json) : NULL, *w = NULL;
    char *end;
    double x;
    int yes;
    if (cJSON_IsString(v))
        yes = !strcmp(v->valuestring, want);
    else if (cJSON_IsNumber(v))
        yes = (x = strtod(want, &end), *want && !*end && x == v->valuedouble);
    else
        yes = v && (w = cJSON_Parse(want)) && cJSON_Compare(v, w, 1);
    cJSON_Delete(v);
    cJSON_Delete(w);
    return yes;
}

static int key_known(const struct mer_report *r, const char *key)
{
    for (size_t i = 0; i < r->n_runs; i++)
        if (r->runs[i].complete && cJSON_GetObjectItemCaseSensitive(r->runs[i].flat, key))
            return 1;
    return 0;
}

/* Does row match every key=value of spec ("," outside [...] and "..." separates them)? -1 with
 * an error on a bad spec. */
static int row_matches(const struct mer_report *r, size_t row, const char *spec)
{
    struct mer_strv items = MER_STRV_INIT;
    int yes = 1;
    if (mer_strv_split_top(spec, strlen(spec), ',', &items) < 0)
        return -1;
    for (size_t i = 0; i < items.n && yes == 1; i++) {
        char *item = items.v[i], *eq = strchr(item, '=');
        if (!eq || eq == item) {
            yes = mer_error("--baseline: '%s': expected key=value", item);
            break;
        }
        *eq = 0;
        if (!key_known(r, item))
            yes = mer_error("--baseline: '%s' is not a config key of these runs", item);
        else if (!value_matches(flat_value(&r->runs[r->rows[row].runs[0]], item), eq + 1))
            yes = 0;
    }
    mer_strv_release(&items);
    return yes;
}

static int find_baseline(struct mer_report *r, const char *spec)
{
    size_t matches = 0;
    for (size_t i = 0; i < r->n_rows; i++) {
        int m = row_matches(r, i, spec);
        if (m < 0)
            return -1;
        if (m && matches++ == 0)
            r->baseline = (long)i;
    }
    if (!matches)
        return mer_error("--baseline '%s' matches none of the %zu rows", spec, r->n_rows);
    if (matches > 1)
        return mer_error("--baseline '%s' matches %zu rows, expected one (add keys that tell "
                         "them apart)",
                         spec, matches);
    return 0;
}

/* ---- the whole report ---- */

static int build_rows(struct mer_report *r)
{
    for (size_t i = 0; i < r->n_runs; i++)
        if (r->runs[i].complete && add_to_row(r, i) < 0)
            return -1;
    for (size_t i = 0; i < r->n_rows; i++) {
        struct mer_report_row *row = &r->rows[i];
        if (!(row->cells = calloc(r->n_sets * r->n_cols + 1, sizeof(*row->cells))))
            return mer_error("out of memory");
        for (size_t s = 0; s < r->n_sets; s++)
            for (size_t c = 0; c < r->n_cols; c++)
                if (fill_cell(r, row, s, c, &row->cells[s * r->n_cols + c]) < 0)
                    return -1;
    }
    mark_best(r);
    return 0;
}

int mer_report_build(struct mer_report *r, const char *const *paths, size_t n,
                     const struct mer_report_params *p)
{
    r->params = *p;
    r->baseline = -1;
    if (p->resamples < 1)
        return mer_error("bootstrap resamples: expected at least 1, got %d", p->resamples);
    for (size_t i = 0; i < n; i++)
        if (find_runs(r, paths[i]) < 0)
            return -1;
    if (!r->n_runs)
        return mer_error("no runs given");
    for (size_t i = 0; i < r->n_runs; i++)
        if (read_run(&r->runs[i]) < 0)
            return -1;
    if (check_labels(r) < 0 || find_keys(r) < 0 || find_sets(r) < 0)
        return -1;
    r->n_cols = MER_REPORT_N_METRICS + (size_t)r->n_classes;
    if (build_rows(r) < 0)
        return -1;
    if (!p->baseline)
        return 0;
    if (!r->n_rows)
        return mer_error("--baseline: no complete run to compare");
    if (find_baseline(r, p->baseline) < 0)
        return -1;
    for (size_t i = 0; i < r->n_rows; i++)
        if ((long)i != r->baseline && mer_report_compare(r, i) < 0)
            return -1;
    return 0;
}

static void free_strs(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

void mer_report_release(struct mer_report *r)
{
    for (size_t i = 0; i < r->n_runs; i++) {
        free(r->runs[i].dir);
        cJSON_Delete(r->runs[i].flat);
        cJSON_Delete(r->runs[i].metrics);
    }
    free(r->runs);
    for (size_t i = 0; i < r->n_rows; i++) {
        struct mer_report_row *row = &r->rows[i];
        free_strs(row->values, r->n_keys);
        free(row->runs);
        for (size_t c = 0; row->cells && c < r->n_sets * r->n_cols; c++)
            free(row->cells[c].values);
        free(row->cells);
        free(row->cmp);
    }
    free(r->rows);
    free_strs(r->keys, r->n_keys);
    free_strs(r->sets, r->n_sets);
    free_strs(r->classes, (size_t)r->n_classes);
    memset(r, 0, sizeof(*r));
    r->baseline = -1;
}
