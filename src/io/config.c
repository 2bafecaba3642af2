/* Configuration: a schema table, defaults, file, --set overrides; see config.h. */
#include "mer/config.h"
#include "mer/error.h"
#include "mer/fs.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum cfg_type { T_BOOL, T_INT, T_NUMBER, T_STRING, T_ENUM, T_STRINGS };

struct cfg_key {
    const char *key;
    enum cfg_type type;
    const char *def;     /* default, as JSON text */
    const char *choices; /* "a|b|c" for T_ENUM */
    const char *doc;
};

/* Every key mer knows. Keep in step with paper.md's defaults; configs/README.md is made from it. */
static const struct cfg_key schema[] = {
    {"data.audio", T_STRING, "\"\"", NULL, "audio feature store (\"\" = not used)"},
    {"data.video", T_STRING, "\"\"", NULL, "video feature store (\"\" = not used)"},
    {"data.text", T_STRING, "\"\"", NULL, "text feature store (\"\" = not used)"},
    {"data.labels", T_STRING, "\"\"", NULL, "labels store made by `mer import-labels`"},
    {"data.priors", T_STRING, "\"\"", NULL, "priors store made by `mer ingest` (\"\" = none)"},
    {"data.train_split", T_STRING, "\"train\"", NULL, "split that k-fold CV runs over"},
    {"data.test_splits", T_STRINGS, "[\"test\"]", NULL,
     "splits predicted by every fold model (missing ones are skipped)"},
    {"data.missing", T_ENUM, "\"error\"", "error|mask",
     "a sample absent from a feature store: fail, or mask that modality"},
    {"data.nan", T_ENUM, "\"error\"", "error|zero", "NaN/Inf in features: fail, or replace by 0"},
    {"model.hidden", T_INT, "256", NULL, "hidden size H of encoders and fusion"},
    {"model.encoder_layers", T_INT, "2", NULL, "Dropout-Linear-ReLU blocks per modality encoder"},
    {"model.dropout", T_NUMBER, "0.3", NULL, "dropout before each encoder Linear"},
    {"model.proj_dim", T_INT, "128", NULL, "projection size Z for the contrastive terms"},
    {"model.valence_head", T_BOOL, "false", NULL, "add a valence regression head"},
    {"model.fusion.attention_norm", T_ENUM, "\"softmax\"", "softmax|none",
     "modality attention weights: softmax, or raw as the MER2024 baseline"},
    {"model.prior.mode", T_ENUM, "\"cross_attention\"", "none|concat|gate|film|cross_attention",
     "how priors are injected at fusion"},
    {"model.prior.modalities", T_STRINGS, "[\"audio\", \"video\", \"text\"]", NULL,
     "whose traces are injected (audio = acoustic, video = visual, text = textual)"},
    {"model.prior.heads", T_INT, "4", NULL, "attention heads of cross_attention injection"},
    {"prior.min_reliability", T_NUMBER, "0.3", NULL, "priors less reliable than this are masked"},
    {"prior.scale_by_reliability", T_BOOL, "true", NULL,
     "scale each prior by its reliability (else 1 when present)"},
    {"loss.ce", T_ENUM, "\"plain\"", "plain|class_weighted|logit_adjusted",
     "cross-entropy variant against the long tail"},
    {"loss.logit_adjust_tau", T_NUMBER, "1.0", NULL, "tau of logit-adjusted cross-entropy"},
    {"loss.lambda_inter", T_NUMBER, "0.35", NULL, "weight of L_inter (balanced contrastive)"},
    {"loss.lambda_intra", T_NUMBER, "0.1", NULL, "weight of L_intra (prototype compactness)"},
    {"loss.tau", T_NUMBER, "0.1", NULL, "temperature of L_inter"},
    {"loss.lambda_valence", T_NUMBER, "1.0", NULL, "weight of the valence MSE (with valence_head)"},
    {"train.optimizer", T_ENUM, "\"adam\"", "adam|adamw", "optimizer"},
    {"train.lr", T_NUMBER, "1e-3", NULL, "learning rate"},
    {"train.weight_decay", T_NUMBER, "1e-5", NULL, "weight decay (L2 for adam, decoupled for adamw)"},
    {"train.grad_clip", T_NUMBER, "0", NULL, "clip the gradient norm to this (0 = off)"},
    {"train.batch_size", T_INT, "32", NULL, "samples per step"},
    {"train.epochs", T_INT, "100", NULL, "maximum epochs per fold"},
    {"train.patience", T_INT, "20", NULL, "stop a fold after this many epochs without a better "
                                          "validation WAF (0 = never)"},
    {"train.folds", T_INT, "5", NULL, "k of stratified k-fold cross-validation"},
    {"train.seed", T_INT, "0", NULL, "seed of folds, initialisation, shuffling and dropout"},
    {"train.pretrain.enabled", T_BOOL, "false", NULL,
     "stage 1: pre-train on pseudo-labeled clips before stage 2"},
    {"train.pretrain.pseudo_labels", T_STRING, "\"\"", NULL,
     "labels store of pseudo-labels (from `mer ingest`)"},
    {"train.pretrain.min_reliability", T_NUMBER, "0.8", NULL,
     "pseudo-labels less reliable than this are left out"},
    {"train.pretrain.epochs", T_INT, "10", NULL, "stage-1 epochs"},
};

struct mer_config {
    cJSON *root;
};

static const struct cfg_key *find_key(const char *key)
{
    for (size_t i = 0; i < MER_ARRAY_SIZE(schema); i++)
        if (!strcmp(schema[i].key, key))
            return &schema[i];
    return NULL;
}

/* 1 if some schema key starts with "prefix." (so prefix names an object). */
static int is_section(const char *prefix)
{
    size_t n = strlen(prefix);
    for (size_t i = 0; i < MER_ARRAY_SIZE(schema); i++)
        if (!strncmp(schema[i].key, prefix, n) && schema[i].key[n] == '.')
            return 1;
    return 0;
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[128];
    if (lb >= MER_ARRAY_SIZE(row))
        return 99;
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

static int unknown_key(const char *where, const char *key)
{
    const char *best = NULL;
    size_t best_d = 3;
    for (size_t i = 0; i < MER_ARRAY_SIZE(schema); i++) {
        size_t d = edit_distance(key, schema[i].key);
        if (d < best_d) {
            best_d = d;
            best = schema[i].key;
        }
    }
    if (best)
        return mer_error("%s: key '%s': unknown key (did you mean '%s'?)", where, key, best);
    return mer_error("%s: key '%s': unknown key (see configs/README.md)", where, key);
}

static const char *type_name(const cJSON *v)
{
    if (cJSON_IsBool(v))
        return "boolean";
    if (cJSON_IsNumber(v))
        return "number";
    if (cJSON_IsString(v))
        return "string";
    if (cJSON_IsArray(v))
        return "array";
    if (cJSON_IsObject(v))
        return "object";
    return "null";
}

static int check_type(const char *where, const struct cfg_key *k, const cJSON *v)
{
    static const char *const expected[] = {"boolean", "integer", "number", "string",
                                           "one of",  "array of strings"};
    int ok = 0;
    switch (k->type) {
    case T_BOOL:
        ok = cJSON_IsBool(v);
        break;
    case T_INT:
        ok = cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble) &&
             fabs(v->valuedouble) < 9e15;
        break;
    case T_NUMBER:
        ok = cJSON_IsNumber(v) && isfinite(v->valuedouble);
        break;
    case T_STRING:
        ok = cJSON_IsString(v);
        break;
    case T_ENUM:
        if (cJSON_IsString(v)) {
            const char *c = k->choices;
            size_t n = strlen(v->valuestring);
            for (const char *bar; c; c = bar ? bar + 1 : NULL) {
                bar = strchr(c, '|');
                if ((size_t)(bar ? bar - c : (long)strlen(c)) == n && !strncmp(c, v->valuestring, n))
                    ok = 1;
            }
            if (!ok)
                return mer_error("%s: key '%s': '%s' is not one of %s", where, k->key,
                                 v->valuestring, k->choices);
        }
        break;
    case T_STRINGS: {
        const cJSON *it;
        ok = cJSON_IsArray(v);
        cJSON_ArrayForEach(it, v) ok &= cJSON_IsString(it);
        break;
    }
    }
    if (ok)
        return 0;
    return mer_error("%s: key '%s': expected %s%s%s, got %s", where, k->key, expected[k->type],
                     k->type == T_ENUM ? " " : "", k->type == T_ENUM ? k->choices : "",
                     type_name(v));
}

/* Sets a dotted key in the tree (objects along the path exist: made from the schema). */
static int set_path(cJSON *root, const char *key, cJSON *value)
{
    char buf[256], *dot, *part = buf;
    cJSON *obj = root;
    snprintf(buf, sizeof(buf), "%s", key);
    while ((dot = strchr(part, '.'))) {
        cJSON *next;
        *dot = '\0';
        next = cJSON_GetObjectItemCaseSensitive(obj, part);
        if (!next && !(next = cJSON_AddObjectToObject(obj, part)))
            return mer_error("out of memory");
        obj = next;
        part = dot + 1;
    }
    if (cJSON_GetObjectItemCaseSensitive(obj, part))
        cJSON_ReplaceItemInObjectCaseSensitive(obj, part, value);
    else
        cJSON_AddItemToObject(obj, part, value);
    return 0;
}

static const cJSON *get_path(const cJSON *root, const char *key)
{
    char buf[256], *dot, *part = buf;
    const cJSON *obj = root;
    snprintf(buf, sizeof(buf), "%s", key);
    while (obj && (dot = strchr(part, '.'))) {
        *dot = '\0';
        obj = cJSON_GetObjectItemCaseSensitive(obj, part);
        part = dot + 1;
    }
    return obj ? cJSON_GetObjectItemCaseSensitive(obj, part) : NULL;
}

static int set_checked(cJSON *root, const char *where, const char *key, const cJSON *value)
{
    const struct cfg_key *k = find_key(key);
    cJSON *copy;
    if (!k)
        return unknown_key(where, key);
    if (check_type(where, k, value) < 0)
        return -1;
    if (!(copy = cJSON_Duplicate(value, 1)))
        return mer_error("out of memory");
    return set_path(root, key, copy);
}

/* Walks a file's object tree, checking and applying each leaf. */
static int merge_object(cJSON *root, const char *where, const cJSON *obj, const char *prefix)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, obj)
    {
        char key[256];
        snprintf(key, sizeof(key), "%s%s%s", prefix, *prefix ? "." : "", it->string);
        if (cJSON_IsObject(it) && is_section(key)) {
            if (merge_object(root, where, it, key) < 0)
                return -1;
        } else if (set_checked(root, where, key, it) < 0) {
            return -1;
        }
    }
    return 0;
}

static int syntax_error(const char *path, const char *text, const char *at)
{
    size_t line = 1, col = 1;
    for (const char *p = text; at && p < at && *p; p++) {
        if (*p == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    return mer_error("'%s':%zu:%zu: JSON syntax error", path, line, col);
}

static int merge_file(cJSON *root, const char *path)
{
    char *text = NULL, where[4200];
    const char *end = NULL;
    cJSON *file;
    int ret;
    if (mer_read_file(path, &text, NULL) < 0)
        return -1;
    file = cJSON_ParseWithOpts(text, &end, 1);
    if (!file) {
        ret = syntax_error(path, text, cJSON_GetErrorPtr());
        free(text);
        return ret;
    }
    snprintf(where, sizeof(where), "'%s'", path);
    ret = cJSON_IsObject(file) ? merge_object(root, where, file, "")
                               : mer_error("'%s': expected a JSON object at the top", path);
    cJSON_Delete(file);
    free(text);
    return ret;
}

static int apply_set(cJSON *root, const char *set)
{
    const char *eq = strchr(set, '=');
    char key[256];
    cJSON *value;
    int ret;
    if (!eq || eq == set || (size_t)(eq - set) >= sizeof(key))
        return mer_error("--set '%s': expected key=value", set);
    snprintf(key, sizeof(key), "%.*s", (int)(eq - set), set);
    value = cJSON_Parse(eq + 1);
    if (!value)
        value = cJSON_CreateString(eq + 1); /* not JSON: a plain string */
    if (!value)
        return mer_error("out of memory");
    ret = set_checked(root, "--set", key, value);
    cJSON_Delete(value);
    return ret;
}

static cJSON *defaults(void)
{
    cJSON *root = cJSON_CreateObject();
    for (size_t i = 0; root && i < MER_ARRAY_SIZE(schema); i++) {
        cJSON *v = cJSON_Parse(schema[i].def);
        MER_ASSERT(v != NULL);
        if (set_path(root, schema[i].key, v) < 0) {
            cJSON_Delete(root);
            return NULL;
        }
    }
    return root;
}

int mer_config_load(mer_config **out, const char *path, const char *const *sets, size_t n_sets)
{
    mer_config *cfg = calloc(1, sizeof(*cfg));
    if (!cfg || !(cfg->root = defaults())) {
        free(cfg);
        return mer_error("out of memory");
    }
    if (path && merge_file(cfg->root, path) < 0)
        goto fail;
    for (size_t i = 0; i < n_sets; i++)
        if (apply_set(cfg->root, sets[i]) < 0)
            goto fail;
    *out = cfg;
    return 0;
fail:
    mer_config_free(cfg);
    return -1;
}

void mer_config_free(mer_config *cfg)
{
    if (!cfg)
        return;
    cJSON_Delete(cfg->root);
    free(cfg);
}

static const cJSON *lookup(const mer_config *cfg, const char *key, enum cfg_type a,
                           enum cfg_type b)
{
    const struct cfg_key *k = find_key(key);
    if (!k || (k->type != a && k->type != b))
        MER_BUG("config key '%s' is not in the schema with the type asked for", key);
    return get_path(cfg->root, key);
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

size_t mer_config_list_size(const mer_config *cfg, const char *key)
{
    return (size_t)cJSON_GetArraySize(lookup(cfg, key, T_STRINGS, T_STRINGS));
}

const char *mer_config_list_item(const mer_config *cfg, const char *key, size_t i)
{
    const cJSON *it = cJSON_GetArrayItem(lookup(cfg, key, T_STRINGS, T_STRINGS), (int)i);
    return it ? it->valuestring : NULL;
}

char *mer_config_to_json(const mer_config *cfg)
{
    return cJSON_Print(cfg->root);
}

int mer_config_write(const mer_config *cfg, const char *path)
{
    char *text = mer_config_to_json(cfg), *line;
    int ret;
    if (!text)
        return mer_error("out of memory");
    line = mer_strfmt("%s\n", text);
    ret = line ? mer_write_file_atomic(path, line, strlen(line)) : mer_error("out of memory");
    free(line);
    free(text);
    return ret;
}

char *mer_config_diff(const mer_config *a, const mer_config *b)
{
    char *out = mer_strfmt("%s", "");
    for (size_t i = 0; out && i < MER_ARRAY_SIZE(schema); i++) {
        const char *k = schema[i].key;
        if (!cJSON_Compare(get_path(a->root, k), get_path(b->root, k), 1)) {
            char *grown = mer_strfmt("%s%s%s", out, *out ? ", " : "", k);
            free(out);
            out = grown;
        }
    }
    return out;
}

void mer_config_print_doc(FILE *f)
{
    static const char *const types[] = {"bool", "int", "number", "string", "enum", "string list"};
    fprintf(f, "| key | type | default | meaning |\n|---|---|---|---|\n");
    for (size_t i = 0; i < MER_ARRAY_SIZE(schema); i++) {
        const struct cfg_key *k = &schema[i];
        fprintf(f, "| `%s` | %s", k->key, types[k->type]);
        if (k->choices) {
            fputs(": ", f);
            for (const char *c = k->choices; *c; c++)
                fputs(*c == '|' ? ", " : (char[2]){*c, 0}, f);
        }
        fprintf(f, " | `%s` | %s |\n", k->def, k->doc);
    }
}
