/* Configuration: one schema table; defaults, file, --set overrides; see config.h. */
#include "mer/config.h"
#include "mer/dataset.h"
#include "mer/error.h"
#include "mer/fs.h"
#include "mer/modeldef.h"
#include "mer/range.h"
#include "mer/settings.h"
#include "mer/utf8.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* T_PATH: a string naming a file; a relative one is resolved when it is set (against the
 * directory of the config file that sets it, or the working directory for a --set) and
 * stored absolute. With allow "a:|b:", only values starting with one of those prefixes hold a
 * path (after the prefix); other values are kept as written. */
enum cfg_type { T_BOOL, T_INT, T_NUMBER, T_STRING, T_ENUM, T_STRINGS, T_NUMBERS, T_PATH };

struct cfg_key {
    const char *key;
    enum cfg_type type;
    const char *def;   /* default, as JSON text */
    const char *allow; /* T_ENUM, T_STRINGS: "a|b|c" (NULL: any string); T_INT, T_NUMBER,
                          T_NUMBERS: a range "[lo,hi)" (range.h), either end optional (NULL:
                          any); T_PATH: the prefixes before a path, "a:|b:" (NULL: all path) */
    const char *doc;   /* one line for configs/README.md */
};

/*
 * Every key mer knows. Defaults follow the paper's stated setting and, where it is silent, mer's
 * documented choices (configs/README.md, "The paper's choices and mer's"). configs/README.md's
 * key table is printed from this.
 */
static const struct cfg_key schema[] = {
    {"data.audio", T_PATH, "\"\"", NULL,
     "audio feature store (`mer import`/`extract`); \"\" = modality not used"},
    {"data.video", T_PATH, "\"\"", NULL, "video feature store; \"\" = not used"},
    {"data.text", T_PATH, "\"\"", NULL, "text feature store; \"\" = not used"},
    {"data.labels", T_PATH, "\"\"", NULL,
     "labels store (`mer import-labels`); required by `train`"},
    {"data.priors", T_PATH, "\"\"", NULL, "priors store (`mer ingest`); \"\" = no priors"},
    {"data.train_split", T_STRING, "\"train\"", NULL,
     "split that k-fold cross-validation runs over"},
    {"data.missing", T_ENUM, "\"error\"", MER_ALLOW(MER_MISSING_POLICIES),
     "a sample absent from a feature store: fail, or mask that modality"},
    {"data.nan", T_ENUM, "\"error\"", MER_ALLOW(MER_NAN_POLICIES),
     "NaN/Inf in features: fail, or replace by 0"},
    {"data.standardize", T_BOOL, "false", NULL,
     "z-score every feature column with the mean and std of the training split's rows "
     "(for raw features such as fbank or eGeMAPS)"},

    {"model.hidden", T_INT, "256", "[1,)", "hidden size of the modality encoders and fusion"},
    {"model.encoder_layers", T_INT, "2", "[1,)",
     "`Dropout → Linear → ReLU` blocks per modality encoder"},
    {"model.dropout", T_NUMBER, "0.3", "[0,1)", "dropout probability in the encoders"},
    {"model.proj_dim", T_INT, "128", "[1,)",
     "size of the L2-normalised projection z used by the contrastive terms"},
    {"model.valence_head", T_BOOL, "false", NULL,
     "add a valence regression head (MSE loss; MSE and CCC in metrics.json)"},
    {"model.fusion.attention_norm", T_ENUM, "\"softmax\"", MER_ALLOW(MER_ATTENTION_NORMS),
     "modality attention weights: softmax, or raw as in the MER2024 baseline"},
    {"model.prior.mode", T_ENUM, "\"cross_attention\"", MER_ALLOW(MER_PRIOR_MODES),
     "how priors are injected at fusion"},
    {"model.prior.modalities", T_STRINGS, "[\"audio\", \"video\", \"text\"]",
     MER_ALLOW(MER_MODALITIES),
     "whose traces are injected: any of audio (acoustic), video (visual), text (textual)"},
    {"model.prior.heads", T_INT, "4", "[1,)", "attention heads of `cross_attention` injection"},

    {"prior.encoder", T_PATH, "\"hash\"", "torchscript:|precomputed:",
     "text encoder of the reasoning traces (`mer ingest`): `hash`, `torchscript:<model.pt>` or "
     "`precomputed:<file.jsonl>` (a path, as the paths above)"},
    {"prior.dim", T_INT, "256", "[1,)", "size of a trace's text embedding (`hash` encoder)"},
    {"prior.min_reliability", T_NUMBER, "0.3", "[0,1]",
     "priors less reliable than this are masked"},
    {"prior.scale_by_reliability", T_BOOL, "true", NULL,
     "scale each prior by its reliability (else by 1 when present)"},

    {"loss.ce", T_ENUM, "\"plain\"", MER_ALLOW(MER_CE_KINDS),
     "cross-entropy variant against the long tail"},
    {"loss.class_weights", T_NUMBERS, "[]", "(0,)",
     "weights of `class_weighted` CE in class order; [] = inverse class frequency, mean 1"},
    {"loss.logit_adjust_tau", T_NUMBER, "1.0", "[0,)", "τ of logit-adjusted cross-entropy"},
    {"loss.lambda_inter", T_NUMBER, "0.35", "[0,)",
     "weight of L_inter (balanced supervised contrastive)"},
    {"loss.lambda_intra", T_NUMBER, "0.1", "[0,)",
     "weight of L_intra (balanced prototype compactness)"},
    {"loss.tau", T_NUMBER, "0.1", "(0,)", "temperature τ of L_inter"},
    {"loss.lambda_valence", T_NUMBER, "1.0", "[0,)",
     "weight of the valence MSE (with `model.valence_head`)"},

    {"train.optimizer", T_ENUM, "\"adam\"", MER_ALLOW(MER_TRAIN_OPTIMIZERS), "optimizer"},
    {"train.lr", T_NUMBER, "1e-3", "(0,)", "learning rate"},
    {"train.weight_decay", T_NUMBER, "1e-5", "[0,)",
     "weight decay (L2 for adam, decoupled for adamw)"},
    {"train.grad_clip", T_NUMBER, "0", "[0,)", "clip the gradient norm to this; 0 = off"},
    {"train.batch_size", T_INT, "32", "[2,)", "samples per step (the contrastive terms need two)"},
    {"train.epochs", T_INT, "100", "[1,)", "maximum epochs per fold"},
    {"train.patience", T_INT, "20", "[0,)",
     "stop a fold after this many epochs without a better validation score; 0 = never"},
    {"train.select_metric", T_ENUM, "\"waf\"", MER_ALLOW(MER_SELECT_METRICS),
     "validation score that picks each fold's best epoch"},
    {"train.folds", T_INT, "5", "[2,32]", "k of stratified k-fold cross-validation"},
    {"train.seed", T_INT, "0", "[0,)", "seed of folds, initialisation, shuffling and dropout"},
    {"train.device", T_ENUM, "\"auto\"", MER_ALLOW(MER_DEVICES),
     "where to train; auto = cuda if available"},
    {"train.engine", T_ENUM, "\"auto\"", MER_ALLOW(MER_ENGINES),
     "the training step: plain C (CPU only), or libtorch autograd; auto = c on the CPU"},
    {"train.deterministic", T_BOOL, "false", NULL,
     "deterministic kernels only (bit-reproducible, slower on GPU)"},
    {"train.keep_checkpoints", T_BOOL, "true", NULL,
     "keep each fold's `checkpoint.safetensors` once the run has finished; false removes them "
     "(the fold models, logs and predictions stay)"},
    {"train.pretrain.enabled", T_BOOL, "false", NULL,
     "stage 1: pre-train on unlabeled clips' pseudo-labels before the supervised epochs"},
    {"train.pretrain.pseudo_labels", T_PATH, "\"\"", NULL,
     "labels store of pseudo-labels from reliable traces"},
    {"train.pretrain.min_reliability", T_NUMBER, "0.8", "[0,1]",
     "pseudo-labels less reliable than this are left out"},
    {"train.pretrain.epochs", T_INT, "10", "[1,)", "stage-1 epochs"},

    {"eval.splits", T_STRINGS, "[]", NULL,
     "splits predicted by the fold ensemble; [] = every split but `data.train_split`"},
    {"eval.ensemble", T_ENUM, "\"logits\"", MER_ALLOW(MER_ENSEMBLES),
     "average the fold models' raw logits (MER2024 baseline) or softmax probabilities"},
    {"eval.submission", T_BOOL, "true", NULL,
     "write `submission-<split>.csv` (`name,discrete`) for each predicted split"},
};

#define MAX_EXTENDS 8 /* "extends" chain length: enough for any layering, stops cycles */

struct mer_config {
    cJSON *root;    /* the values, nested by section */
    cJSON *sources; /* key -> where its value came from: "f<file>" or "s<key=value>" */
};

/* ---- the schema ---- */

static const struct cfg_key *find_key(const char *key)
{
    for (size_t i = 0; i < MER_ARRAY_SIZE(schema); i++)
        if (!strcmp(schema[i].key, key))
            return &schema[i];
    return NULL;
}

int mer_config_has_key(const char *key)
{
    return find_key(key) != NULL;
}

/* 1 if key names a section: some schema key starts with "key.". */
static int is_section(const char *key)
{
    size_t n = strlen(key);
    for (size_t i = 0; i < MER_ARRAY_SIZE(schema); i++)
        if (!strncmp(schema[i].key, key, n) && schema[i].key[n] == '.')
            return 1;
    return 0;
}

/* ">= 1", "> 0", "in [0, 1)": the range for messages and the README. */
static void describe_range(const char *allow, char *buf, size_t size)
{
    struct mer_range r = mer_range_parse(allow);
    mer_range_describe(&r, buf, size);
}

static const char *type_name(enum cfg_type t)
{
    static const char *const names[] = {"boolean", "integer",         "number",          "string",
                                        "string",  "list of strings", "list of numbers", "string"};
    return names[t];
}

/* ---- errors ---- */

/* Where a value comes from: a file (and the key), or one --set assignment. */
struct origin {
    const char *file; /* NULL for --set */
    const char *set;  /* the whole "key=value" for --set */
};

/* Records "'file': key 'k': what" or "--set k=v: what"; returns -1. */
static int key_error(const struct origin *o, const char *key, const char *fmt, ...)
    MER_PRINTF(3, 4);
static int key_error(const struct origin *o, const char *key, const char *fmt, ...)
{
    char what[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    size_t n = strlen(key);
    if (o->file)
        return mer_error("'%s': key '%s': %s", o->file, key, what);
    if (!strncmp(o->set, key, n) && o->set[n] == '=')
        return mer_error("--set %s: %s", o->set, what);
    /* A section set as an object (--set 'train={"lr": 1}'): name the key inside. */
    return mer_error("--set %s: key '%s': %s", o->set, key, what);
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[128];
    if (lb >= MER_ARRAY_SIZE(row) || la >= MER_ARRAY_SIZE(row))
        return (size_t)-1;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            diag = up;
            row[j] = best;
        }
    }
    return row[lb];
}

/* The key or section ("train", "train.pretrain") nearest to key, if within edit distance 2:
 * written to buf, which is returned; NULL if none is that near. */
static const char *nearest_key(const char *key, char *buf, size_t size)
{
    size_t best = 3;
    for (size_t i = 0; i < MER_ARRAY_SIZE(schema); i++) {
        const char *k = schema[i].key, *end = k;
        do {
            char cand[128];
            size_t d;
            end = strchr(end + 1, '.');
            snprintf(cand, sizeof(cand), "%.*s", (int)(end ? (size_t)(end - k) : strlen(k)), k);
            if ((d = edit_distance(key, cand)) < best) {
                best = d;
                snprintf(buf, size, "%s", cand);
            }
        } while (end);
    }
    return best < 3 ? buf : NULL;
}

static int unknown_key(const struct origin *o, const char *key)
{
    char buf[128];
    const char *near = nearest_key(key, buf, sizeof(buf));
    if (near)
        return key_error(o, key, "unknown key (did you mean '%s'?)", near);
    return key_error(o, key, "unknown key (every key is listed in configs/README.md)");
}

static const char *json_kind(const cJSON *v)
{
    if (cJSON_IsBool(v))
        return "boolean";
    if (cJSON_IsNumber(v))
        return isfinite(v->valuedouble) ? "number" : "out-of-range number";
    if (cJSON_IsString(v))
        return "string";
    if (cJSON_IsArray(v))
        return "array";
    if (cJSON_IsObject(v))
        return "object";
    return "null";
}

/* ---- type checks ---- */

/* JSON numbers past the double range (1e999) parse as infinity: not a number for us. */
static int is_number(const cJSON *v)
{
    return cJSON_IsNumber(v) && isfinite(v->valuedouble);
}

static int is_integer(const cJSON *v)
{
    /* Integers up to 2^53 are exact in a double, and in every JSON reader. */
    return cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble) &&
           fabs(v->valuedouble) <= 9007199254740992.0;
}

/* The shortest of %.15g..%.17g that reads back as v: 0.1, not 0.10000000000000001. */
static const char *number_text(double v, char *buf, size_t size)
{
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, size, "%.*g", digits, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return buf;
}

static int check_range(const struct origin *o, const struct cfg_key *k, double v)
{
    char range[64], num[32];
    struct mer_range r;
    if (!k->allow)
        return 0;
    r = mer_range_parse(k->allow);
    if (mer_range_contains(&r, v))
        return 0;
    mer_range_describe(&r, range, sizeof(range));
    return key_error(o, k->key, "expected %s %s, got %s",
                     k->type == T_NUMBERS ? "numbers" : type_name(k->type), range,
                     number_text(v, num, sizeof(num)));
}

static int check_enum(const struct origin *o, const struct cfg_key *k, const char *s)
{
    size_t n = strlen(s);
    for (const char *c = k->allow, *bar; c; c = bar ? bar + 1 : NULL) {
        bar = strchr(c, '|');
        if ((bar ? (size_t)(bar - c) : strlen(c)) == n && !strncmp(c, s, n))
            return 0;
    }
    return key_error(o, k->key, "expected one of %s, got '%s'", k->allow, s);
}

static int check_list(const struct origin *o, const struct cfg_key *k, const cJSON *v)
{
    const cJSON *it;
    int want_string = k->type == T_STRINGS;
    if (!cJSON_IsArray(v))
        return key_error(o, k->key, "expected %s (a JSON array), got %s", type_name(k->type),
                         json_kind(v));
    cJSON_ArrayForEach(it, v)
    {
        if (want_string ? !cJSON_IsString(it) : !is_number(it))
            return key_error(o, k->key, "expected %s, got %s in the array", type_name(k->type),
                             json_kind(it));
        if (want_string ? k->allow && check_enum(o, k, it->valuestring) < 0
                        : check_range(o, k, it->valuedouble) < 0)
            return -1;
    }
    return 0;
}

static int check_value(const struct origin *o, const struct cfg_key *k, const cJSON *v)
{
    char num[32];
    int ok = 0;
    switch (k->type) {
    case T_BOOL:
        ok = cJSON_IsBool(v);
        break;
    case T_INT:
        ok = is_integer(v);
        break;
    case T_NUMBER:
        ok = is_number(v);
        break;
    case T_STRING:
    case T_ENUM:
    case T_PATH:
        ok = cJSON_IsString(v);
        break;
    case T_STRINGS:
    case T_NUMBERS:
        return check_list(o, k, v);
    }
    if (!ok && k->type == T_ENUM)
        return key_error(o, k->key, "expected one of %s, got %s", k->allow, json_kind(v));
    if (!ok && is_number(v))
        return key_error(o, k->key, "expected %s, got %s", type_name(k->type),
                         number_text(v->valuedouble, num, sizeof(num)));
    if (!ok)
        return key_error(o, k->key, "expected %s, got %s", type_name(k->type), json_kind(v));
    if (k->type == T_ENUM)
        return check_enum(o, k, v->valuestring);
    if (k->type == T_INT || k->type == T_NUMBER)
        return check_range(o, k, v->valuedouble);
    return 0;
}

/* ---- the tree: nested objects, one per section ---- */

/* The next dotted part of *key into part (size > every schema part); advances *key. */
static void next_part(const char **key, char *part, size_t size)
{
    const char *dot = strchr(*key, '.');
    size_t n = dot ? (size_t)(dot - *key) : strlen(*key);
    MER_ASSERT(n < size);
    memcpy(part, *key, n);
    part[n] = '\0';
    *key += dot ? n + 1 : n;
}

static cJSON *get_item(const cJSON *root, const char *key)
{
    cJSON *v = (cJSON *)root;
    char part[64];
    while (v && *key) {
        next_part(&key, part, sizeof(part));
        v = cJSON_GetObjectItemCaseSensitive(v, part);
    }
    return v;
}

/* Puts value (owned from here on) at a schema key, making sections on the way. */
static int put_item(cJSON *root, const char *key, cJSON *value)
{
    cJSON *obj = root, *next;
    char part[64];
    for (next_part(&key, part, sizeof(part)); *key; next_part(&key, part, sizeof(part))) {
        if (!(next = cJSON_GetObjectItemCaseSensitive(obj, part)) &&
            !(next = cJSON_AddObjectToObject(obj, part))) {
            cJSON_Delete(value);
            return mer_error("out of memory");
        }
        obj = next;
    }
    if (cJSON_GetObjectItemCaseSensitive(obj, part))
        return cJSON_ReplaceItemInObjectCaseSensitive(obj, part, value)
                   ? 0
                   : (cJSON_Delete(value), mer_error("out of memory"));
    return cJSON_AddItemToObject(obj, part, value)
               ? 0
               : (cJSON_Delete(value), mer_error("out of memory"));
}

/* The directory a relative path set from o resolves against, absolute: the config file's,
 * or the working directory's for a --set. New string, or NULL with the error set. */
static char *base_dir(const struct origin *o)
{
    const char *slash = o->file ? strrchr(o->file, '/') : NULL;
    char *dir = slash ? mer_strfmt("%.*s", (int)(slash - o->file + 1), o->file) : strdup(".");
    char *abs = dir ? realpath(dir, NULL) : NULL;
    if (!dir)
        mer_error("out of memory");
    else if (!abs)
        mer_error("'%s': cannot resolve the directory: %s", dir, strerror(errno));
    free(dir);
    return abs;
}

/* The path in a T_PATH value: all of it, or what follows one of k->allow's prefixes (NULL:
 * the value holds no path). */
static const char *path_part(const struct cfg_key *k, const char *value)
{
    if (!k->allow)
        return value;
    for (const char *c = k->allow, *bar; c; c = bar ? bar + 1 : NULL) {
        size_t n = (bar = strchr(c, '|')) ? (size_t)(bar - c) : strlen(c);
        if (!strncmp(value, c, n))
            return value + n;
    }
    return NULL;
}

/* value, with a relative path in it made absolute against base_dir(o): a new string in *out,
 * or NULL there when the value stays as written ("", absolute, or no path). */
static int resolve_path(const struct origin *o, const struct cfg_key *k, const char *value,
                        char **out)
{
    const char *path = path_part(k, value);
    int prefix = path ? (int)(path - value) : 0;
    char *dir, *joined, *last, *parent = NULL;
    *out = NULL;
    if (!path || !*path || *path == '/')
        return 0;
    if (!(dir = base_dir(o)))
        return key_error(o, k->key, "%s", mer_errmsg());
    joined = mer_strfmt("%s/%s", dir, path);
    free(dir);
    if (!joined)
        return mer_error("out of memory");
    /* "configs/../out/x": when the parent exists, name it canonically (symlinks resolved as
     * the kernel would); the last part stays as written, so the file need not exist yet. */
    last = strrchr(joined, '/');
    *last++ = '\0';
    if (strcmp(last, "..") && strcmp(last, ".") && (parent = realpath(joined, NULL)))
        *out = mer_strfmt("%.*s%s/%s", prefix, value, parent, last);
    else
        *out = mer_strfmt("%.*s%s/%s", prefix, value, joined, last);
    free(parent);
    free(joined);
    return *out ? 0 : mer_error("out of memory");
}

/* Records where key's value came from, for mer_config_where. */
static int put_source(mer_config *cfg, const struct origin *o, const char *key)
{
    char *text = o->file ? mer_strfmt("f%s", o->file) : mer_strfmt("s%s", o->set);
    cJSON *s = text ? cJSON_CreateString(text) : NULL;
    int ok = s && (cJSON_GetObjectItemCaseSensitive(cfg->sources, key)
                       ? cJSON_ReplaceItemInObjectCaseSensitive(cfg->sources, key, s)
                       : cJSON_AddItemToObject(cfg->sources, key, s));
    if (!ok)
        cJSON_Delete(s);
    free(text);
    return ok ? 0 : mer_error("out of memory");
}

static int set_checked(mer_config *cfg, const struct origin *o, const struct cfg_key *k,
                       const cJSON *value)
{
    cJSON *copy;
    char *abs = NULL;
    if (check_value(o, k, value) < 0)
        return -1;
    if (k->type == T_PATH && resolve_path(o, k, value->valuestring, &abs) < 0)
        return -1;
    copy = abs ? cJSON_CreateString(abs) : cJSON_Duplicate(value, 1);
    free(abs);
    if (!copy)
        return mer_error("out of memory");
    if (put_item(cfg->root, k->key, copy) < 0)
        return -1;
    return put_source(cfg, o, k->key);
}

static cJSON *defaults(void)
{
    cJSON *root = cJSON_CreateObject();
    for (size_t i = 0; root && i < MER_ARRAY_SIZE(schema); i++) {
        cJSON *v = cJSON_Parse(schema[i].def);
        MER_ASSERT(v != NULL); /* the table's defaults are valid JSON */
        if (put_item(root, schema[i].key, v) < 0) {
            cJSON_Delete(root);
            root = NULL;
        }
    }
    return root;
}

/* ---- merging a file ---- */

static int merge_object(mer_config *cfg, const struct origin *o, const cJSON *obj,
                        const char *prefix);

/* 1 if a sibling before it has its name: cJSON keeps both, and the later would win unseen. */
static int seen_before(const cJSON *obj, const cJSON *it)
{
    for (const cJSON *s = obj->child; s && s != it; s = s->next)
        if (!strcmp(s->string, it->string))
            return 1;
    return 0;
}

static int merge_item(mer_config *cfg, const struct origin *o, const cJSON *obj, const cJSON *it,
                      const char *key)
{
    const struct cfg_key *k = find_key(key);
    if (seen_before(obj, it))
        return key_error(o, key, "appears twice");
    if (k)
        return set_checked(cfg, o, k, it);
    if (!is_section(key))
        return unknown_key(o, key);
    if (!cJSON_IsObject(it))
        return key_error(o, key, "expected an object (a section of keys), got %s", json_kind(it));
    return merge_object(cfg, o, it, key);
}

static int merge_object(mer_config *cfg, const struct origin *o, const cJSON *obj,
                        const char *prefix)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, obj)
    {
        char *key;
        int r;
        if (!*prefix && !strcmp(it->string, "extends"))
            continue; /* applied before the file's own keys */
        if (!(key = *prefix ? mer_strfmt("%s.%s", prefix, it->string) : strdup(it->string)))
            return mer_error("out of memory");
        r = merge_item(cfg, o, obj, it, key);
        free(key);
        if (r < 0)
            return -1;
    }
    return 0;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n'; /* JSON's white space */
}

static int only_space(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_space(s[i]))
            return 0;
    return 1;
}

/* Parses buf[0..len) as one JSON value followed by nothing but white space. NULL with the
 * error set (naming name:line:column of the problem) if it is not. */
static cJSON *parse_json(const char *name, const char *buf, size_t len)
{
    const char *end = NULL;
    size_t line, col, at;
    cJSON *v = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
    at = end ? (size_t)(end - buf) : 0;
    if (v) {
        if (only_space(buf + at, len - at))
            return v;
        cJSON_Delete(v);
        while (is_space(buf[at]))
            at++; /* to the text after the value */
    }
    if (at >= len || only_space(buf + at, len - at)) {
        mer_text_position(buf, len, &line, &col);
        mer_error("'%s':%zu:%zu: JSON syntax error: unexpected end of file", name, line, col);
        return NULL;
    }
    /* cJSON may stop just past the offending token: step back to it over white space. */
    while (at > 0 && is_space(buf[at]))
        at--;
    mer_text_position(buf, at, &line, &col);
    if (buf[at] > ' ' && buf[at] < 0x7f)
        mer_error("'%s':%zu:%zu: JSON syntax error at '%c'", name, line, col, buf[at]);
    else
        mer_error("'%s':%zu:%zu: JSON syntax error", name, line, col);
    return NULL;
}

static int merge_text(mer_config *cfg, const char *name, const char *buf, size_t len, int depth);

/* "extends": "base.json": the base file, relative to the directory of name, merged first. */
static int merge_base(mer_config *cfg, const char *name, const cJSON *ext, int depth)
{
    const char *slash = strrchr(name, '/');
    char *path = NULL, *text = NULL;
    size_t len = 0;
    int ret = -1;
    if (!cJSON_IsString(ext) || !*ext->valuestring)
        return mer_error("'%s': key 'extends': expected a file name, got %s", name, json_kind(ext));
    if (depth >= MAX_EXTENDS)
        return mer_error("'%s': key 'extends': more than %d files deep (a cycle?)", name,
                         MAX_EXTENDS);
    path = ext->valuestring[0] == '/' || !slash
               ? strdup(ext->valuestring)
               : mer_strfmt("%.*s/%s", (int)(slash - name), name, ext->valuestring);
    if (!path) {
        mer_error("out of memory");
        goto done;
    }
    if (mer_read_file(path, &text, &len) < 0) {
        mer_error_prefix("'%s': extends", name);
        goto done;
    }
    ret = merge_text(cfg, path, text, len, depth + 1);
done:
    free(text);
    free(path);
    return ret;
}

static int merge_text(mer_config *cfg, const char *name, const char *buf, size_t len, int depth)
{
    struct origin o = {name, NULL};
    cJSON *json = NULL, *ext;
    int ret = -1;
    if (mer_text_check(name, buf, len) < 0 || !(json = parse_json(name, buf, len)))
        goto done;
    if (!cJSON_IsObject(json)) {
        mer_error("'%s': expected a JSON object at the top, got %s", name, json_kind(json));
        goto done;
    }
    if ((ext = cJSON_GetObjectItemCaseSensitive(json, "extends")) &&
        merge_base(cfg, name, ext, depth) < 0)
        goto done;
    ret = merge_object(cfg, &o, json, "");
done:
    cJSON_Delete(json);
    return ret;
}

/* ---- the public functions ---- */

static mer_config *config_new(void)
{
    mer_config *cfg = calloc(1, sizeof(*cfg));
    if (cfg && (!(cfg->root = defaults()) || !(cfg->sources = cJSON_CreateObject()))) {
        cJSON_Delete(cfg->root);
        free(cfg);
        cfg = NULL;
    }
    if (!cfg)
        mer_error("out of memory");
    return cfg;
}

void mer_config_free(mer_config *cfg)
{
    if (!cfg)
        return;
    cJSON_Delete(cfg->root);
    cJSON_Delete(cfg->sources);
    free(cfg);
}

int mer_config_parse(mer_config **out, const char *name, const char *buf, size_t len)
{
    mer_config *cfg = config_new();
    int ret = -1;
    if (!cfg || merge_text(cfg, name, buf, len, 0) < 0)
        goto done;
    *out = cfg;
    cfg = NULL;
    ret = 0;
done:
    mer_config_free(cfg);
    return ret;
}

/* The value of a --set: JSON if the whole text is JSON, else the text as a string; for a
 * string or enum key, the text as a string unless it is a JSON string. */
static cJSON *set_value(const struct cfg_key *k, const char *text)
{
    const char *end = NULL;
    size_t len = strlen(text);
    cJSON *v = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    while (v && end && is_space(*end))
        end++;
    if (v && (!end || *end ||
              (k && (k->type == T_STRING || k->type == T_ENUM || k->type == T_PATH) &&
               !cJSON_IsString(v)))) {
        cJSON_Delete(v);
        v = NULL;
    }
    return v ? v : cJSON_CreateString(text);
}

int mer_config_set(mer_config *cfg, const char *assignment)
{
    struct origin o = {NULL, assignment};
    const char *eq = strchr(assignment, '=');
    const struct cfg_key *k;
    char *key = NULL;
    cJSON *value = NULL;
    mer_config copy = {NULL, NULL};
    int ret = -1;
    if (!eq || eq == assignment)
        return mer_error("--set '%s': expected key=value", assignment);
    if (!(key = mer_strfmt("%.*s", (int)(eq - assignment), assignment)) ||
        !(value = set_value(k = find_key(key), eq + 1)) ||
        !(copy.root = cJSON_Duplicate(cfg->root, 1)) ||
        !(copy.sources = cJSON_Duplicate(cfg->sources, 1))) {
        mer_error("out of memory");
        goto done;
    }
    /* On a copy, so that a failing --set leaves cfg as it was. */
    if (k)
        ret = set_checked(&copy, &o, k, value);
    else if (is_section(key) && cJSON_IsObject(value))
        ret = merge_object(&copy, &o, value, key);
    else if (is_section(key))
        ret =
            key_error(&o, key, "'%s' is a section: set one of its keys (%s.<key>=value)", key, key);
    else
        ret = unknown_key(&o, key);
    if (ret == 0) {
        mer_config old = *cfg;
        *cfg = copy;
        copy = old;
    }
done:
    cJSON_Delete(copy.root);
    cJSON_Delete(copy.sources);
    cJSON_Delete(value);
    free(key);
    return ret;
}

int mer_config_load(mer_config **out, const char *path, const char *const *sets, size_t n_sets)
{
    mer_config *cfg = NULL;
    char *text = NULL;
    size_t len = 0;
    int ret = -1;
    if (path &&
        (mer_read_file(path, &text, &len) < 0 || mer_config_parse(&cfg, path, text, len) < 0))
        goto done;
    if (!path && !(cfg = config_new()))
        goto done;
    for (size_t i = 0; i < n_sets; i++)
        if (mer_config_set(cfg, sets[i]) < 0)
            goto done;
    *out = cfg;
    cfg = NULL;
    ret = 0;
done:
    mer_config_free(cfg);
    free(text);
    return ret;
}

static const cJSON *lookup(const mer_config *cfg, const char *key, enum cfg_type a, enum cfg_type b)
{
    const struct cfg_key *k = find_key(key);
    const cJSON *v;
    enum cfg_type t;
    if (!k)
        MER_BUG("config: '%s' is not a key of the schema", key);
    t = k->type == T_PATH ? T_STRING : k->type;
    if (t != a && t != b)
        MER_BUG("config: key '%s' is a %s, not a %s", key, type_name(k->type), type_name(a));
    v = get_item(cfg->root, key);
    MER_ASSERT(v != NULL); /* every schema key is present from the defaults on */
    return v;
}

int mer_config_bool(const mer_config *cfg, const char *key)
{
    return cJSON_IsTrue(lookup(cfg, key, T_BOOL, T_BOOL));
}

long long mer_config_int(const mer_config *cfg, const char *key)
{
    return (long long)lookup(cfg, key, T_INT, T_INT)->valuedouble;
}

double mer_config_number(const mer_config *cfg, const char *key)
{
    return lookup(cfg, key, T_NUMBER, T_INT)->valuedouble;
}

const char *mer_config_string(const mer_config *cfg, const char *key)
{
    return lookup(cfg, key, T_STRING, T_ENUM)->valuestring;
}

int mer_config_enum(const mer_config *cfg, const char *key, const char *const *names, int n)
{
    const char *value = lookup(cfg, key, T_ENUM, T_ENUM)->valuestring;
    int v = mer_enum_lookup(value, names, n);
    if (v < 0) /* the schema's choices are made from the same names */
        MER_BUG("key '%s': '%s' is not in its name table", key, value);
    return v;
}

size_t mer_config_list_size(const mer_config *cfg, const char *key)
{
    return (size_t)cJSON_GetArraySize(lookup(cfg, key, T_STRINGS, T_NUMBERS));
}

const char *mer_config_list_item(const mer_config *cfg, const char *key, size_t i)
{
    const cJSON *it = cJSON_GetArrayItem(lookup(cfg, key, T_STRINGS, T_STRINGS), (int)i);
    MER_ASSERT(it != NULL);
    return it->valuestring;
}

double mer_config_list_number(const mer_config *cfg, const char *key, size_t i)
{
    const cJSON *it = cJSON_GetArrayItem(lookup(cfg, key, T_NUMBERS, T_NUMBERS), (int)i);
    MER_ASSERT(it != NULL);
    return it->valuedouble;
}

const char *mer_config_where(const mer_config *cfg, const char *key, char *buf, size_t size)
{
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(cfg->sources, key);
    const char *s = cJSON_IsString(src) ? src->valuestring : NULL;
    size_t n = strlen(key);
    if (!find_key(key))
        MER_BUG("config: '%s' is not a key of the schema", key);
    if (s && *s == 'f')
        snprintf(buf, size, "'%s': key '%s'", s + 1, key);
    else if (s && !strncmp(s + 1, key, n) && s[1 + n] == '=')
        snprintf(buf, size, "--set %s", s + 1);
    else if (s)
        snprintf(buf, size, "--set %s: key '%s'", s + 1, key);
    else
        snprintf(buf, size, "key '%s'", key);
    return buf;
}

int mer_config_check_path(const mer_config *cfg, const char *key)
{
    const struct cfg_key *k = find_key(key);
    const char *path;
    char where[1024];
    if (!k || k->type != T_PATH)
        MER_BUG("config: '%s' is not a path key of the schema", key);
    path = path_part(k, get_item(cfg->root, key)->valuestring);
    if (!path || !*path || access(path, R_OK) == 0)
        return 0;
    return mer_error("%s: '%s': cannot open: %s", mer_config_where(cfg, key, where, sizeof(where)),
                     path, strerror(errno));
}

/* A growing string; once out of memory it stays NULL. */
struct text {
    char *s;
    size_t n, cap;
};

static void put(struct text *t, const char *s)
{
    size_t n = strlen(s);
    if (t->s && t->n + n + 1 > t->cap) {
        size_t cap = 2 * (t->n + n + 1);
        char *grown = realloc(t->s, cap);
        if (!grown)
            free(t->s);
        t->s = grown;
        t->cap = cap;
    }
    if (t->s) {
        memcpy(t->s + t->n, s, n + 1);
        t->n += n;
    }
}

/* A scalar (or empty container) as compact JSON. */
static void put_scalar(struct text *t, const cJSON *v)
{
    char *s = cJSON_PrintUnformatted(v);
    if (!s) {
        free(t->s);
        t->s = NULL;
        return;
    }
    put(t, s);
    free(s);
}

/* Two-space indentation, one key per line, arrays on one line: easy to read and to diff
 * (cJSON_Print indents with tabs). The tree holds only sections, scalars and flat arrays. */
static void put_value(struct text *t, const cJSON *v, int indent)
{
    const cJSON *it;
    if (cJSON_IsArray(v)) {
        put(t, "[");
        cJSON_ArrayForEach(it, v)
        {
            put_scalar(t, it);
            put(t, it->next ? ", " : "");
        }
        put(t, "]");
    } else if (cJSON_IsObject(v) && v->child) {
        put(t, "{\n");
        cJSON_ArrayForEach(it, v)
        {
            cJSON *name = cJSON_CreateString(it->string);
            for (int i = 0; i < indent + 2; i++)
                put(t, " ");
            if (name)
                put_scalar(t, name);
            cJSON_Delete(name);
            put(t, ": ");
            put_value(t, it, indent + 2);
            put(t, it->next ? ",\n" : "\n");
        }
        for (int i = 0; i < indent; i++)
            put(t, " ");
        put(t, "}");
    } else {
        put_scalar(t, v);
    }
}

char *mer_config_to_json(const mer_config *cfg)
{
    struct text t = {malloc(4096), 0, 4096};
    if (t.s)
        t.s[0] = '\0';
    put_value(&t, cfg->root, 0);
    return t.s;
}

int mer_config_write(const mer_config *cfg, const char *path)
{
    char *text = mer_config_to_json(cfg), *line = text ? mer_strfmt("%s\n", text) : NULL;
    int ret = line ? mer_write_file_atomic(path, line, strlen(line)) : mer_error("out of memory");
    free(line);
    free(text);
    return ret;
}

char *mer_config_diff(const mer_config *a, const mer_config *b)
{
    char *out = strdup("");
    for (size_t i = 0; out && i < MER_ARRAY_SIZE(schema); i++) {
        const char *k = schema[i].key;
        if (!cJSON_Compare(get_item(a->root, k), get_item(b->root, k), 1)) {
            char *longer = mer_strfmt("%s%s%s", out, *out ? ", " : "", k);
            free(out);
            out = longer;
        }
    }
    return out;
}

/* The type column of the README: "int >= 1", "enum: a, b", "list of numbers > 0". */
static void print_type(FILE *f, const struct cfg_key *k)
{
    static const char *const short_names[] = {
        "bool", "int", "number", "string", "enum", "list of strings", "list of numbers", "path"};
    char range[64];
    if (k->type == T_PATH && k->allow) { /* a path only after a prefix */
        fputs("string", f);
        return;
    }
    fputs(k->type == T_STRINGS && k->allow ? "list of" : short_names[k->type], f);
    if (k->type == T_ENUM || (k->type == T_STRINGS && k->allow)) {
        fputs(k->type == T_ENUM ? ":" : "", f);
        for (const char *c = k->allow, *bar; c; c = bar ? bar + 1 : NULL) {
            bar = strchr(c, '|');
            fprintf(f, " `%.*s`%s", (int)(bar ? (size_t)(bar - c) : strlen(c)), c, bar ? "," : "");
        }
    } else if (k->allow) {
        describe_range(k->allow, range, sizeof(range));
        fprintf(f, " %s", range);
    }
}

void mer_config_print_doc(FILE *f)
{
    fputs("| key | type | default | meaning |\n|---|---|---|---|\n", f);
    for (size_t i = 0; i < MER_ARRAY_SIZE(schema); i++) {
        fprintf(f, "| `%s` | ", schema[i].key);
        print_type(f, &schema[i]);
        fprintf(f, " | `%s` | %s |\n", schema[i].def, schema[i].doc);
    }
}
