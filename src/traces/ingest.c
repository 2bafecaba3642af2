/* Responses files -> priors store, report, pseudo-labels (see include/mer/ingest.h). */
#include "mer/error.h"
#include "mer/fs.h"
#include "mer/ingest.h"
#include "mer/labels.h"
#include "mer/metrics.h"
#include "mer/progress.h"
#include "mer/response.h"
#include "mer/store.h"
#include "mer/strmap.h"
#include "mer/strv.h"
#include "mer/textenc.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_EXAMPLES     10   /* unknown and duplicate keys named in the report */
#define MAX_LINE_REPORTS 1000 /* failed lines listed in the report (all are counted) */
#define N_BINS           10
#define M                MER_N_TRACE_MODALITIES

/* The order the prompt (configs/prompts/) lists MER2024's classes in. */
static const char *const prompt_order[] = {"worried", "happy",    "neutral",
                                           "angry",   "surprise", "sad"};

struct line_problem {
    char *file;
    size_t line;
    char *reason;
};

struct examples {
    size_t count;
    size_t n;
    char *items[MAX_EXAMPLES];
};

struct mer_ingest {
    struct mer_ingest_params p;
    struct mer_labels *l;
    struct mer_strmap map;
    struct mer_response_params rp;
    int list_order[MER_RESPONSE_MAX_CLASSES];
    struct mer_response *resp; /* [n]; status meaningful where answered */
    unsigned char *answered;   /* [n] */
    char **files;
    size_t n_files, lines, blank_lines;
    struct examples unknown, duplicates;
    struct line_problem *problems; /* the first MAX_LINE_REPORTS failed lines */
    size_t n_problems, n_failed_lines;
    cJSON *line_reasons; /* {reason group: count} over every failed line */
    /* after mer_ingest_finish */
    int64_t dim, pdim;  /* D, P = D + K + 1 */
    float *prior;       /* [n, M, P] */
    float *reliability; /* [n, M] */
    uint8_t *present;   /* [n, M] */
    int64_t *llm_label; /* [n] */
    float *llm_rel;     /* [n] */
    uint8_t *status;    /* [n] */
    size_t no_embedding;
    struct mer_textenc *enc; /* the fitted encoder, whose state the priors store saves */
    struct mer_st_tensor state[MER_TEXTENC_MAX_STATE];
    size_t n_state;
};

struct mer_ingest_params mer_ingest_default_params(void)
{
    struct mer_ingest_params p;
    memset(&p, 0, sizeof(p));
    p.encoder = "hash";
    p.dim = 256;
    p.min_reliability = 0.3;
    p.fit_split = "train";
    return p;
}

static int class_of(const struct mer_labels *l, const char *name)
{
    for (int k = 0; k < l->n_classes; k++)
        if (!strcmp(l->classes[k], name))
            return k;
    return -1;
}

/* The prompt's list order when the classes are MER2024's, else the store's own. */
static void default_list_order(struct mer_ingest *g)
{
    int ok = g->l->n_classes == (int)MER_ARRAY_SIZE(prompt_order);
    for (int i = 0; ok && i < g->l->n_classes; i++)
        ok = (g->list_order[i] = class_of(g->l, prompt_order[i])) >= 0;
    for (int i = 0; !ok && i < g->l->n_classes; i++)
        g->list_order[i] = i;
}

/* "a,b,..": every class of the labels store once, in the order lists of scores use. */
static int parse_score_order(struct mer_ingest *g, const char *order)
{
    const char *s = order;
    int n = 0, seen[MER_RESPONSE_MAX_CLASSES] = {0};
    while (*s) {
        size_t len = strcspn(s, ",");
        char name[128];
        int k;
        snprintf(name, sizeof(name), "%.*s", (int)(len < 127 ? len : 127), s);
        if ((k = class_of(g->l, name)) < 0 || seen[k] || n == g->l->n_classes)
            return mer_error("--score-order: '%s' is %s", name,
                             k < 0 ? "not a class of the labels store" : "listed twice");
        seen[k] = 1;
        g->list_order[n++] = k;
        s += len + (s[len] == ',');
    }
    if (n != g->l->n_classes)
        return mer_error("--score-order: %d classes listed, the labels store has %d", n,
                         g->l->n_classes);
    return 0;
}

int mer_ingest_new(struct mer_ingest **out, const struct mer_ingest_params *p)
{
    struct mer_ingest *g = calloc(1, sizeof(*g));
    *out = NULL;
    if (!g)
        return mer_error("out of memory");
    g->p = *p;
    if (mer_labels_read_store(&g->l, p->labels) < 0)
        goto fail;
    if (g->l->n_classes > MER_RESPONSE_MAX_CLASSES) {
        mer_error("'%s': %d classes, at most %d are supported", p->labels, g->l->n_classes,
                  MER_RESPONSE_MAX_CLASSES);
        goto fail;
    }
    if (mer_strmap_build(&g->map, (const char *const *)g->l->names, g->l->n, NULL) < 0) {
        mer_error_prefix("'%s'", p->labels);
        goto fail;
    }
    g->resp = calloc(g->l->n + 1, sizeof(*g->resp));
    g->answered = calloc(g->l->n + 1, 1);
    if (!g->resp || !g->answered) {
        mer_error("out of memory");
        goto fail;
    }
    if (p->score_order) {
        if (parse_score_order(g, p->score_order) < 0)
            goto fail;
    } else {
        default_list_order(g);
    }
    g->rp.classes = (const char *const *)g->l->classes;
    g->rp.n_classes = g->l->n_classes;
    g->rp.list_order = g->list_order;
    *out = g;
    return 0;
fail:
    mer_ingest_free(g);
    return -1;
}

/* ---- reading ---- */

static int note_example(struct examples *e, const char *key)
{
    e->count++;
    if (e->n < MAX_EXAMPLES && !(e->items[e->n++] = strdup(key)))
        return mer_error("out of memory");
    return 0;
}

static void reason_group(const char *reason, char *buf, size_t size);
static void count_key(cJSON *obj, const char *key);

static int note_failed_line(struct mer_ingest *g, size_t line, const char *reason)
{
    struct line_problem *lp;
    char group[192];
    g->n_failed_lines++;
    if (!g->line_reasons && !(g->line_reasons = cJSON_CreateObject()))
        return mer_error("out of memory");
    reason_group(reason, group, sizeof(group));
    count_key(g->line_reasons, group);
    if (g->n_problems == MAX_LINE_REPORTS)
        return 0;
    if (!g->problems && !(g->problems = calloc(MAX_LINE_REPORTS, sizeof(*g->problems))))
        return mer_error("out of memory");
    lp = &g->problems[g->n_problems++];
    lp->file = g->files[g->n_files - 1]; /* borrowed from g->files */
    lp->line = line;
    if (!(lp->reason = strdup(reason)))
        return mer_error("out of memory");
    return 0;
}

/* One parsed line into its sample's slot (the last answer wins). */
static int take_response(struct mer_ingest *g, struct mer_response *r, size_t line)
{
    int64_t i;
    if (!r->key)
        return note_failed_line(g, line, r->reason);
    i = mer_strmap_get(&g->map, r->key);
    if (i < 0)
        return note_example(&g->unknown, r->key);
    if (g->answered[i] && note_example(&g->duplicates, r->key) < 0)
        return -1;
    mer_response_release(&g->resp[i]);
    g->resp[i] = *r;
    memset(r, 0, sizeof(*r));
    g->answered[i] = 1;
    return 0;
}

static int blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return 0;
    return 1;
}

/* One line of a responses file (mer_read_lines). */
static int read_response_line(void *ctx, const char *path, struct mer_text_line *l)
{
    struct mer_ingest *g = ctx;
    struct mer_response r;
    size_t len = l->len;
    int ret;
    (void)path;
    g->lines++;
    if (len && l->text[len - 1] == '\n')
        len--;
    if (blank(l->text, len)) {
        g->blank_lines++;
        return 0;
    }
    ret = mer_response_parse(&r, l->text, len, &g->rp) < 0 || take_response(g, &r, l->lineno) < 0
              ? -1
              : 0;
    mer_response_release(&r);
    return ret;
}

int mer_ingest_read(struct mer_ingest *g, const char *path)
{
    char **files = realloc(g->files, (g->n_files + 1) * sizeof(*files));
    if (!files || !(files[g->n_files] = strdup(path))) {
        g->files = files ? files : g->files;
        return mer_error("out of memory");
    }
    g->files = files;
    g->n_files++; /* the file its lines' problems name */
    return mer_read_lines(path, MER_LINE_MAX, read_response_line, g);
}

/* ---- priors ---- */

static int usable(const struct mer_ingest *g, size_t i)
{
    return g->answered[i] && g->resp[i].status <= MER_RESP_PARTIAL;
}

static int has_trace(const struct mer_trace *t)
{
    return (t->has & (MER_TF_REASONING | MER_TF_SCORES)) != 0;
}

/* Fits the encoder on the reasoning of the fit split's traces (every sample's without one). */
static int fit_encoder(struct mer_ingest *g, struct mer_textenc *e)
{
    const char **texts = calloc(g->l->n * M + 1, sizeof(*texts));
    int split = -1, ret;
    size_t n = 0;
    if (!texts)
        return mer_error("out of memory");
    for (int s = 0; s < g->l->n_splits; s++)
        if (!strcmp(g->l->splits[s], g->p.fit_split))
            split = s;
    for (size_t i = 0; i < g->l->n; i++) {
        if (!usable(g, i) || (split >= 0 && g->l->split[i] != split))
            continue;
        for (int m = 0; m < M; m++)
            if (g->resp[i].trace[m].reasoning)
                texts[n++] = g->resp[i].trace[m].reasoning;
    }
    ret = mer_textenc_fit(e, texts, n);
    free(texts);
    return ret;
}

/* The encoder's state saved in a priors store (mer predict: new answers encoded as the run's
 * were), instead of a fit. */
static int load_encoder(const char *path, struct mer_textenc *e)
{
    mer_st_file *f = NULL;
    int ret;
    if (mer_st_open(&f, path, MER_ST_VERIFY) < 0)
        return -1;
    ret = mer_textenc_load_state(e, f);
    mer_st_close(f);
    return ret;
}

static int alloc_priors(struct mer_ingest *g)
{
    size_t n = g->l->n;
    g->prior = calloc(n * M * (size_t)g->pdim + 1, sizeof(float));
    g->reliability = calloc(n * M + 1, sizeof(float));
    g->present = calloc(n * M + 1, 1);
    g->llm_label = calloc(n + 1, sizeof(int64_t));
    g->llm_rel = calloc(n + 1, sizeof(float));
    g->status = calloc(n + 1, 1);
    if (!g->prior || !g->reliability || !g->present || !g->llm_label || !g->llm_rel || !g->status)
        return mer_error("out of memory");
    return 0;
}

/* Sample i's prior rows: embedding ++ scores ++ contribution, with reliability and presence. */
static int encode_sample(struct mer_ingest *g, struct mer_textenc *e, size_t i)
{
    const struct mer_response *r = &g->resp[i];
    int k = g->l->n_classes;
    g->status[i] = g->answered[i] ? (uint8_t)(1 + r->status) : 0;
    g->llm_label[i] = usable(g, i) ? r->trace[MER_TRACE_OVERALL].pred : -1;
    g->llm_rel[i] = usable(g, i) ? r->trace[MER_TRACE_OVERALL].reliability : 0;
    for (int m = 0; usable(g, i) && m < M; m++) {
        const struct mer_trace *t = &r->trace[m];
        float *row = g->prior + (i * M + (size_t)m) * (size_t)g->pdim;
        int found = 0;
        if (!has_trace(t))
            continue;
        if (t->reasoning && (found = mer_textenc_encode(e, g->l->names[i], mer_trace_name(m),
                                                        t->reasoning, row)) < 0)
            return mer_error_prefix("sample '%s': %s trace", g->l->names[i], mer_trace_name(m));
        if (t->reasoning && !found)
            g->no_embedding++;
        memcpy(row + g->dim, t->scores, (size_t)k * sizeof(float));
        row[g->dim + k] = t->contribution;
        g->reliability[i * M + (size_t)m] = t->reliability;
        g->present[i * M + (size_t)m] = t->reliability >= g->p.min_reliability;
    }
    return 0;
}

int mer_ingest_finish(struct mer_ingest *g)
{
    struct mer_textenc *e = NULL;
    struct mer_progress pr;
    size_t n_usable = 0;
    int ret = -1;
    for (size_t i = 0; i < g->l->n; i++)
        n_usable += (size_t)usable(g, i);
    if (!n_usable)
        return mer_error("no answer for a sample of '%s' could be parsed (%zu lines read, "
                         "%zu failed, %zu with unknown keys)",
                         g->p.labels, g->lines, g->n_failed_lines, g->unknown.count);
    if (mer_textenc_open(&e, g->p.encoder, g->p.dim) < 0 ||
        (g->p.state_from ? load_encoder(g->p.state_from, e) : fit_encoder(g, e)) < 0 ||
        mer_textenc_state(e, g->state, &g->n_state) < 0)
        goto done;
    g->dim = mer_textenc_dim(e);
    g->pdim = g->dim + g->l->n_classes + 1;
    if (alloc_priors(g) < 0)
        goto done;
    mer_progress_start(&pr, "ingest: encode", (int64_t)g->l->n, "samples");
    for (size_t i = 0; i < g->l->n; i++) {
        if (encode_sample(g, e, i) < 0)
            goto done;
        mer_progress_update(&pr, (int64_t)i + 1);
    }
    mer_progress_finish(&pr);
    mer_textenc_close(g->enc);
    g->enc = e; /* kept: its state's tensors are written with the priors */
    e = NULL;
    ret = 0;
done:
    mer_textenc_close(e);
    return ret;
}

/* ---- writing ---- */

/* The encoder's fitted state (textenc.h's tensors), saved with the priors it made. */
static int add_state(mer_st_writer *w, const struct mer_ingest *g)
{
    for (size_t i = 0; i < g->n_state; i++) {
        const struct mer_st_tensor *t = &g->state[i];
        if (mer_st_writer_add(w, t->name, t->dtype, t->ndim, t->shape, t->data) < 0)
            return -1;
    }
    return 0;
}

int mer_ingest_write_priors(const struct mer_ingest *g, const char *path, const char *provenance)
{
    const char *mods[M];
    mer_st_writer *w = mer_st_writer_new();
    int64_t n = (int64_t)g->l->n, s3[3] = {n, M, g->pdim}, s2[2] = {n, M}, s1[1] = {n};
    char dim[32], rel[32];
    int ret = -1;
    for (int m = 0; m < M; m++)
        mods[m] = mer_modality_name((enum mer_modality)m);
    snprintf(dim, sizeof(dim), "%lld", (long long)g->dim);
    snprintf(rel, sizeof(rel), "%g", g->p.min_reliability);
    if (!w) {
        mer_error("out of memory");
        goto done;
    }
    if (mer_st_writer_add(w, "prior", MER_DTYPE_F32, 3, s3, g->prior) < 0 ||
        mer_st_writer_add(w, "reliability", MER_DTYPE_F32, 2, s2, g->reliability) < 0 ||
        mer_st_writer_add(w, "present", MER_DTYPE_U8, 2, s2, g->present) < 0 ||
        mer_st_writer_add(w, "llm_label", MER_DTYPE_I64, 1, s1, g->llm_label) < 0 ||
        mer_st_writer_add(w, "llm_reliability", MER_DTYPE_F32, 1, s1, g->llm_rel) < 0 ||
        mer_st_writer_add(w, "status", MER_DTYPE_U8, 1, s1, g->status) < 0 || add_state(w, g) < 0 ||
        mer_labels_set_store_meta(w, "priors", g->l) < 0 ||
        mer_st_writer_set_strings(w, "mer.modalities", mods, M) < 0 ||
        mer_st_writer_set_meta(w, "mer.encoder", g->p.encoder) < 0 ||
        mer_st_writer_set_meta(w, "mer.embedding_dim", dim) < 0 ||
        mer_st_writer_set_meta(w, "mer.min_reliability", rel) < 0 ||
        (provenance && mer_st_writer_set_meta(w, "mer.provenance", provenance) < 0))
        goto done;
    ret = mer_st_writer_write(w, path);
done:
    mer_st_writer_free(w);
    return ret;
}

int mer_ingest_write_pseudo(const struct mer_ingest *g, const char *path, const char *provenance)
{
    const struct mer_labels *l = g->l;
    struct mer_labels pseudo = *l; /* the same samples, classes and splits; its own labels */
    int64_t *label = calloc(l->n + 1, sizeof(*label));
    float *rel = calloc(l->n + 1, sizeof(*rel));
    int ret = -1;
    if (!label || !rel) {
        mer_error("out of memory");
        goto done;
    }
    for (size_t i = 0; i < l->n; i++) {
        int take = l->label[i] < 0 && g->llm_label[i] >= 0;
        label[i] = take ? g->llm_label[i] : -1;
        rel[i] = take ? g->llm_rel[i] : 0;
    }
    pseudo.label = label;
    ret = mer_labels_write_pseudo(&pseudo, rel, path, provenance);
done:
    free(label);
    free(rel);
    return ret;
}

/* ---- report ---- */

/* A reason without its varying tail (an error message, a byte offset): the grouping key. */
static void reason_group(const char *reason, char *buf, size_t size)
{
    const char *cut = strstr(reason, ": ");
    const char *at = strstr(reason, " at byte ");
    size_t n = strlen(reason);
    if (cut && (size_t)(cut - reason) < n)
        n = (size_t)(cut - reason);
    if (at && (size_t)(at - reason) < n)
        n = (size_t)(at - reason);
    snprintf(buf, size, "%.*s", (int)n, reason);
}

static void add_count(cJSON *obj, const char *key, double n)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (v)
        cJSON_SetNumberValue(v, v->valuedouble + n);
    else
        cJSON_AddNumberToObject(obj, key, n);
}

static void count_key(cJSON *obj, const char *key)
{
    add_count(obj, key, 1);
}

static cJSON *examples_json(const struct examples *e)
{
    cJSON *o = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(o, "examples");
    cJSON_AddNumberToObject(o, "count", (double)e->count);
    for (size_t i = 0; i < e->n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(e->items[i]));
    return o;
}

static void add_status_counts(const struct mer_ingest *g, cJSON *root)
{
    cJSON *st = cJSON_AddObjectToObject(root, "status"), *reasons;
    size_t counts[MER_N_RESP_STATUS] = {0}, answered = 0;
    char group[192];
    for (size_t i = 0; i < g->l->n; i++)
        if (g->answered[i]) {
            counts[g->resp[i].status]++;
            answered++;
        }
    for (int s = 0; s < MER_N_RESP_STATUS; s++)
        cJSON_AddNumberToObject(st, mer_response_status_name(s), (double)counts[s]);
    cJSON_AddNumberToObject(st, "no_answer", (double)(g->l->n - answered));
    cJSON_AddNumberToObject(root, "answered", (double)answered);
    reasons = cJSON_AddObjectToObject(root, "reasons");
    for (size_t i = 0; i < g->l->n; i++)
        if (g->answered[i] && g->resp[i].reason[0]) {
            reason_group(g->resp[i].reason, group, sizeof(group));
            count_key(reasons, group);
        }
    for (const cJSON *it = g->line_reasons ? g->line_reasons->child : NULL; it; it = it->next)
        add_count(reasons, it->string, it->valuedouble);
}

/* Per sample: what is missing from partial answers, why others are unusable. */
static void add_sample_lists(const struct mer_ingest *g, cJSON *root)
{
    cJSON *missing = cJSON_AddObjectToObject(root, "missing");
    cJSON *partial = cJSON_AddArrayToObject(root, "partial_samples");
    cJSON *bad = cJSON_AddArrayToObject(root, "unusable_samples");
    cJSON *lines = cJSON_AddArrayToObject(root, "failed_lines");
    char buf[512];
    for (size_t i = 0; i < g->l->n; i++) {
        const struct mer_response *r = &g->resp[i];
        cJSON *o;
        if (!g->answered[i] || r->status == MER_RESP_PARSED)
            continue;
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "key", g->l->names[i]);
        if (r->status == MER_RESP_PARTIAL) {
            mer_response_missing(r, buf, sizeof(buf));
            cJSON_AddStringToObject(o, "missing", buf);
            for (char *tok = strtok(buf, ", "); tok; tok = strtok(NULL, ", "))
                count_key(missing, tok);
            cJSON_AddItemToArray(partial, o);
        } else {
            cJSON_AddStringToObject(o, "status", mer_response_status_name(r->status));
            cJSON_AddItemToArray(bad, o);
        }
        if (r->reason[0])
            cJSON_AddStringToObject(o, "reason", r->reason);
    }
    for (size_t i = 0; i < g->n_problems; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "file", g->problems[i].file);
        cJSON_AddNumberToObject(o, "line", (double)g->problems[i].line);
        cJSON_AddStringToObject(o, "reason", g->problems[i].reason);
        cJSON_AddItemToArray(lines, o);
    }
}

struct rel_stats {
    size_t traces, masked;
    double sum;
    size_t hist[N_BINS];
};

static void rel_stats(const struct mer_ingest *g, int t, struct rel_stats *s)
{
    memset(s, 0, sizeof(*s));
    for (size_t i = 0; i < g->l->n; i++) {
        const struct mer_trace *tr = &g->resp[i].trace[t];
        int bin;
        if (!usable(g, i) || !(tr->has & (MER_TF_REASONING | MER_TF_SCORES | MER_TF_LABEL)))
            continue;
        bin = (int)(tr->reliability * N_BINS);
        s->hist[bin < 0 ? 0 : bin >= N_BINS ? N_BINS - 1 : bin]++;
        s->traces++;
        s->sum += tr->reliability;
        s->masked += tr->reliability < g->p.min_reliability;
    }
}

static void add_reliability(const struct mer_ingest *g, cJSON *root)
{
    cJSON *rel = cJSON_AddObjectToObject(root, "reliability");
    cJSON_AddNumberToObject(rel, "min_reliability", g->p.min_reliability);
    for (int t = 0; t < MER_N_TRACES; t++) {
        struct rel_stats s;
        cJSON *o = cJSON_AddObjectToObject(rel, mer_trace_name(t)), *h;
        double hist[N_BINS];
        rel_stats(g, t, &s);
        for (int b = 0; b < N_BINS; b++)
            hist[b] = (double)s.hist[b];
        cJSON_AddNumberToObject(o, "traces", (double)s.traces);
        cJSON_AddNumberToObject(o, "mean", s.traces ? s.sum / (double)s.traces : 0);
        cJSON_AddNumberToObject(o, "below_min", (double)s.masked);
        h = cJSON_CreateDoubleArray(hist, N_BINS);
        cJSON_AddItemToObject(o, "histogram", h);
    }
}

struct zero_shot {
    size_t labeled, n;
    double accuracy, waf;
};

/* The LLM's own predictions of trace t against the ground truth, on labeled samples. */
static int zero_shot(const struct mer_ingest *g, int t, struct zero_shot *z)
{
    int64_t *truth = malloc((g->l->n + 1) * sizeof(int64_t));
    int64_t *pred = malloc((g->l->n + 1) * sizeof(int64_t));
    struct mer_metrics m;
    int ret = -1;
    memset(z, 0, sizeof(*z));
    memset(&m, 0, sizeof(m));
    if (!truth || !pred)
        goto done;
    for (size_t i = 0; i < g->l->n; i++) {
        int p = usable(g, i) ? g->resp[i].trace[t].pred : -1;
        if (g->l->label[i] < 0)
            continue;
        z->labeled++;
        if (p < 0)
            continue;
        truth[z->n] = g->l->label[i];
        pred[z->n++] = p;
    }
    if (mer_metrics_compute(&m, truth, pred, z->n, g->l->n_classes) < 0)
        goto done;
    z->accuracy = m.accuracy;
    z->waf = m.waf;
    ret = 0;
done:
    mer_metrics_release(&m);
    free(truth);
    free(pred);
    return ret;
}

static void add_zero_shot(const struct mer_ingest *g, cJSON *root)
{
    cJSON *zs = cJSON_AddObjectToObject(root, "zero_shot");
    static const int order[] = {MER_TRACE_OVERALL, MER_TRACE_VISUAL, MER_TRACE_ACOUSTIC,
                                MER_TRACE_TEXTUAL};
    for (size_t k = 0; k < MER_ARRAY_SIZE(order); k++) {
        struct zero_shot z;
        cJSON *o;
        if (zero_shot(g, order[k], &z) < 0)
            continue;
        o = cJSON_AddObjectToObject(zs, mer_trace_name(order[k]));
        cJSON_AddNumberToObject(o, "labeled", (double)z.labeled);
        cJSON_AddNumberToObject(o, "predicted", (double)z.n);
        cJSON_AddNumberToObject(o, "accuracy", z.accuracy);
        cJSON_AddNumberToObject(o, "waf", z.waf);
    }
}

static cJSON *report(const struct mer_ingest *g)
{
    cJSON *root = cJSON_CreateObject(), *files;
    if (!root)
        return NULL;
    files = cJSON_AddArrayToObject(root, "files");
    for (size_t i = 0; i < g->n_files; i++)
        cJSON_AddItemToArray(files, cJSON_CreateString(g->files[i]));
    cJSON_AddStringToObject(root, "labels", g->p.labels);
    cJSON_AddNumberToObject(root, "lines", (double)g->lines);
    cJSON_AddNumberToObject(root, "blank_lines", (double)g->blank_lines);
    cJSON_AddNumberToObject(root, "failed_line_count", (double)g->n_failed_lines);
    cJSON_AddNumberToObject(root, "samples", (double)g->l->n);
    add_status_counts(g, root);
    cJSON_AddItemToObject(root, "unknown_keys", examples_json(&g->unknown));
    cJSON_AddItemToObject(root, "duplicate_keys", examples_json(&g->duplicates));
    cJSON_AddStringToObject(root, "encoder", g->p.encoder);
    cJSON_AddNumberToObject(root, "embedding_dim", (double)g->dim);
    cJSON_AddNumberToObject(root, "prior_dim", (double)g->pdim);
    cJSON_AddNumberToObject(root, "traces_without_embedding", (double)g->no_embedding);
    add_reliability(g, root);
    add_zero_shot(g, root);
    add_sample_lists(g, root);
    return root;
}

char *mer_ingest_report_json(const struct mer_ingest *g)
{
    cJSON *r = report(g);
    char *text = r ? cJSON_Print(r) : NULL;
    cJSON_Delete(r);
    return text;
}

int mer_ingest_write_report(const struct mer_ingest *g, const char *path)
{
    char *text = mer_ingest_report_json(g), *nl;
    int ret;
    if (!text || !(nl = mer_strfmt("%s\n", text))) {
        free(text);
        return mer_error("out of memory");
    }
    ret = mer_write_file_atomic(path, nl, strlen(nl));
    free(text);
    free(nl);
    return ret;
}

/* ---- summary ---- */

static void print_reasons(const cJSON *reasons, FILE *f)
{
    const cJSON *it;
    int first = 1;
    cJSON_ArrayForEach(it, reasons)
    {
        fprintf(f, "%s%s %d", first ? "reasons: " : ", ", it->string, it->valueint);
        first = 0;
    }
    if (!first)
        fputc('\n', f);
}

void mer_ingest_print_summary(const struct mer_ingest *g, FILE *f)
{
    cJSON *r = report(g), *st = cJSON_GetObjectItemCaseSensitive(r, "status");
    if (!r)
        return;
    fprintf(f,
            "ingest: %zu lines in %zu file%s; %d of %zu samples answered (%zu unknown keys, "
            "%zu duplicates, %zu failed lines)\n",
            g->lines, g->n_files, g->n_files == 1 ? "" : "s",
            cJSON_GetObjectItemCaseSensitive(r, "answered")->valueint, g->l->n, g->unknown.count,
            g->duplicates.count, g->n_failed_lines);
    if (g->n_problems) /* where to look first; the report lists them all */
        fprintf(f, "first failed line: '%s':%zu: %s\n", g->problems[0].file, g->problems[0].line,
                g->problems[0].reason);
    fprintf(f, "status:");
    for (const cJSON *it = st->child; it; it = it->next)
        fprintf(f, " %s %d%s", it->string, it->valueint, it->next ? "," : "\n");
    print_reasons(cJSON_GetObjectItemCaseSensitive(r, "reasons"), f);
    fprintf(f, "%-10s %6s %6s %6s  histogram of reliability in 10 bins over [0, 1]\n", "trace",
            "count", "mean", "<min");
    for (int t = 0; t < MER_N_TRACES; t++) {
        struct rel_stats s;
        rel_stats(g, t, &s);
        fprintf(f, "%-10s %6zu %6.3f %6zu ", mer_trace_name(t), s.traces,
                s.traces ? s.sum / (double)s.traces : 0, s.masked);
        for (int b = 0; b < N_BINS; b++)
            fprintf(f, " %zu", s.hist[b]);
        fputc('\n', f);
    }
    for (const cJSON *it = cJSON_GetObjectItemCaseSensitive(r, "zero_shot")->child; it;
         it = it->next) {
        const cJSON *lab = cJSON_GetObjectItemCaseSensitive(it, "labeled");
        if (it == cJSON_GetObjectItemCaseSensitive(r, "zero_shot")->child)
            fprintf(f, "zero-shot on %d labeled samples: predicted  accuracy     WAF\n",
                    lab->valueint);
        fprintf(f, "  %-10s %28d  %8.4f  %6.4f\n", it->string,
                cJSON_GetObjectItemCaseSensitive(it, "predicted")->valueint,
                cJSON_GetObjectItemCaseSensitive(it, "accuracy")->valuedouble,
                cJSON_GetObjectItemCaseSensitive(it, "waf")->valuedouble);
    }
    fprintf(f, "priors: [%zu, 3, %lld] (%s encoder, embedding %lld + %d scores + contribution)\n",
            g->l->n, (long long)g->pdim, g->p.encoder, (long long)g->dim, g->l->n_classes);
    cJSON_Delete(r);
}

void mer_ingest_free(struct mer_ingest *g)
{
    if (!g)
        return;
    for (size_t i = 0; g->resp && i < g->l->n; i++)
        mer_response_release(&g->resp[i]);
    free(g->resp);
    free(g->answered);
    mer_textenc_close(g->enc);
    for (size_t i = 0; i < g->unknown.n; i++)
        free(g->unknown.items[i]);
    for (size_t i = 0; i < g->duplicates.n; i++)
        free(g->duplicates.items[i]);
    for (size_t i = 0; i < g->n_problems; i++)
        free(g->problems[i].reason);
    free(g->problems);
    cJSON_Delete(g->line_reasons);
    mer_strv_free(g->files, g->n_files);
    free(g->prior);
    free(g->reliability);
    free(g->present);
    free(g->llm_label);
    free(g->llm_rel);
    free(g->status);
    mer_strmap_release(&g->map);
    mer_labels_free(g->l);
    free(g);
}
