/* Gemini response lines -> reasoning traces with reliabilities (see include/mer/response.h). */
#include "mer/error.h"
#include "mer/response.h"
#include "mer/utf8.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const trace_names[MER_N_TRACES] = {"acoustic", "visual", "textual", "overall"};
static const char *const status_names[MER_N_RESP_STATUS] = {"parsed", "partial", "blocked", "error",
                                                            "failed"};

const char *mer_trace_name(int kind)
{
    return kind >= 0 && kind < MER_N_TRACES ? trace_names[kind] : "?";
}

const char *mer_response_status_name(int status)
{
    return status >= 0 && status < MER_N_RESP_STATUS ? status_names[status] : "?";
}

/* ---- aliases ---- */

enum role {
    ROLE_NONE = -1,
    ROLE_ACOUSTIC = MER_TRACE_ACOUSTIC,
    ROLE_VISUAL = MER_TRACE_VISUAL,
    ROLE_TEXTUAL = MER_TRACE_TEXTUAL,
    ROLE_OVERALL = MER_TRACE_OVERALL,
    ROLE_REASONING,
    ROLE_LABEL,
    ROLE_SCORES,
    ROLE_CONTRIBUTION,
};

struct alias {
    const char *name;
    int value;
};

/* Keys as models write them (the MER community's Chinese prompts included); see response.h. */
static const struct alias key_aliases[] = {
    {"visual", ROLE_VISUAL},
    {"video", ROLE_VISUAL},
    {"vision", ROLE_VISUAL},
    {"face", ROLE_VISUAL},
    {"视觉", ROLE_VISUAL},
    {"视频", ROLE_VISUAL},
    {"画面", ROLE_VISUAL},
    {"面部", ROLE_VISUAL},
    {"图像", ROLE_VISUAL},
    {"acoustic", ROLE_ACOUSTIC},
    {"audio", ROLE_ACOUSTIC},
    {"speech", ROLE_ACOUSTIC},
    {"voice", ROLE_ACOUSTIC},
    {"sound", ROLE_ACOUSTIC},
    {"声学", ROLE_ACOUSTIC},
    {"音频", ROLE_ACOUSTIC},
    {"语音", ROLE_ACOUSTIC},
    {"声音", ROLE_ACOUSTIC},
    {"听觉", ROLE_ACOUSTIC},
    {"textual", ROLE_TEXTUAL},
    {"text", ROLE_TEXTUAL},
    {"transcript", ROLE_TEXTUAL},
    {"subtitle", ROLE_TEXTUAL},
    {"language", ROLE_TEXTUAL},
    {"文本", ROLE_TEXTUAL},
    {"文字", ROLE_TEXTUAL},
    {"字幕", ROLE_TEXTUAL},
    {"语言", ROLE_TEXTUAL},
    {"台词", ROLE_TEXTUAL},
    {"reasoning", ROLE_REASONING},
    {"reason", ROLE_REASONING},
    {"rationale", ROLE_REASONING},
    {"analysis", ROLE_REASONING},
    {"explanation", ROLE_REASONING},
    {"推理过程", ROLE_REASONING},
    {"推理", ROLE_REASONING},
    {"理由", ROLE_REASONING},
    {"分析", ROLE_REASONING},
    {"解释", ROLE_REASONING},
    {"label", ROLE_LABEL},
    {"emotion", ROLE_LABEL},
    {"prediction", ROLE_LABEL},
    {"final_label", ROLE_LABEL},
    {"情绪", ROLE_LABEL},
    {"情感", ROLE_LABEL},
    {"标签", ROLE_LABEL},
    {"预测", ROLE_LABEL},
    {"情绪标签", ROLE_LABEL},
    {"最终情绪", ROLE_LABEL},
    {"scores", ROLE_SCORES},
    {"score", ROLE_SCORES},
    {"probabilities", ROLE_SCORES},
    {"probability", ROLE_SCORES},
    {"distribution", ROLE_SCORES},
    {"分数", ROLE_SCORES},
    {"得分", ROLE_SCORES},
    {"概率", ROLE_SCORES},
    {"评分", ROLE_SCORES},
    {"contribution", ROLE_CONTRIBUTION},
    {"contributions", ROLE_CONTRIBUTION},
    {"weights", ROLE_CONTRIBUTION},
    {"贡献度", ROLE_CONTRIBUTION},
    {"贡献", ROLE_CONTRIBUTION},
    {"权重", ROLE_CONTRIBUTION},
    {"模态贡献", ROLE_CONTRIBUTION},
    {"overall", ROLE_OVERALL},
    {"final", ROLE_OVERALL},
    {"summary", ROLE_OVERALL},
    {"综合", ROLE_OVERALL},
    {"整体", ROLE_OVERALL},
    {"总体", ROLE_OVERALL},
    {"最终", ROLE_OVERALL},
};

/* Other names of MER2024's classes; value = index into canonical_classes. */
static const char *const canonical_classes[] = {"worried", "happy",    "neutral",
                                                "angry",   "surprise", "sad"};
static const struct alias class_aliases[] = {
    {"worry", 0},  {"anxious", 0}, {"anxiety", 0}, {"fear", 0},    {"担心", 0},       {"担忧", 0},
    {"焦虑", 0},   {"忧虑", 0},    {"紧张", 0},    {"害怕", 0},    {"happiness", 1},  {"joy", 1},
    {"joyful", 1}, {"开心", 1},    {"高兴", 1},    {"快乐", 1},    {"喜悦", 1},       {"愉快", 1},
    {"calm", 2},   {"中性", 2},    {"平静", 2},    {"中立", 2},    {"无明显情绪", 2}, {"anger", 3},
    {"mad", 3},    {"生气", 3},    {"愤怒", 3},    {"恼火", 3},    {"surprised", 4},  {"惊讶", 4},
    {"惊奇", 4},   {"吃惊", 4},    {"震惊", 4},    {"sadness", 5}, {"悲伤", 5},       {"伤心", 5},
    {"难过", 5},   {"哀伤", 5},
};

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* s without surrounding spaces (and a final '.'), ASCII lowercased, into buf; 0 if too long. */
static int normalize(const char *s, char *buf, size_t size)
{
    size_t n;
    while (is_space(*s))
        s++;
    n = strlen(s);
    while (n && (is_space(s[n - 1]) || s[n - 1] == '.'))
        n--;
    if (n >= size)
        return 0;
    for (size_t i = 0; i < n; i++)
        buf[i] = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] - 'A' + 'a') : s[i];
    buf[n] = '\0';
    return 1;
}

static int key_role(const char *key)
{
    char k[64];
    if (!normalize(key, k, sizeof(k)))
        return ROLE_NONE;
    for (size_t i = 0; i < MER_ARRAY_SIZE(key_aliases); i++)
        if (!strcmp(k, key_aliases[i].name))
            return key_aliases[i].value;
    return ROLE_NONE;
}

static int class_index(const struct mer_response_params *p, const char *name)
{
    for (int k = 0; k < p->n_classes; k++)
        if (!strcmp(p->classes[k], name))
            return k;
    return -1;
}

int mer_response_class(const struct mer_response_params *p, const char *name)
{
    char k[64], c[64];
    int idx;
    if (!normalize(name, k, sizeof(k)))
        return -1;
    for (int i = 0; i < p->n_classes; i++)
        if (normalize(p->classes[i], c, sizeof(c)) && !strcmp(c, k))
            return i;
    for (size_t i = 0; i < MER_ARRAY_SIZE(canonical_classes); i++)
        if (!strcmp(k, canonical_classes[i]))
            return class_index(p, canonical_classes[i]);
    for (size_t i = 0; i < MER_ARRAY_SIZE(class_aliases); i++)
        if (!strcmp(k, class_aliases[i].name)) {
            idx = class_index(p, canonical_classes[class_aliases[i].value]);
            if (idx >= 0)
                return idx;
        }
    return -1;
}

/* ---- lenient JSON extraction ---- */

/* End (one past the '}') of the object opening at s[start], string-aware; 0 if unbalanced. */
static size_t object_end(const char *s, size_t n, size_t start)
{
    size_t depth = 0;
    int in_string = 0;
    for (size_t i = start; i < n; i++) {
        char c = s[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = 0;
        } else if (c == '"') {
            in_string = 1;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if ((c == '}' || c == ']') && --depth == 0) {
            return c == '}' ? i + 1 : 0;
        }
    }
    return 0;
}

/* A copy of s[0..n) without the commas that trail an object's or list's last item. */
static char *drop_trailing_commas(const char *s, size_t n, size_t *out_n)
{
    char *d = malloc(n + 1);
    size_t o = 0;
    int in_string = 0;
    if (!d)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_string) {
            if (c == '\\' && i + 1 < n)
                d[o++] = s[i++];
            else if (c == '"')
                in_string = 0;
        } else if (c == '"') {
            in_string = 1;
        } else if (c == ',') {
            size_t j = i + 1;
            while (j < n && is_space(s[j]))
                j++;
            if (j < n && (s[j] == '}' || s[j] == ']'))
                continue;
        }
        d[o++] = s[i];
    }
    d[o] = '\0';
    *out_n = o;
    return d;
}

/* The first '{'..'}' span of text that parses as a JSON object (after dropping trailing
 * commas), trying at most MER_RESPONSE_MAX_TRIES openings; NULL if none (or out of memory,
 * with *oom set). Fences and prose around the object are thereby skipped. */
static cJSON *extract_object(const char *text, size_t n, int *oom)
{
    int tries = 0;
    for (size_t i = 0; i < n && tries < MER_RESPONSE_MAX_TRIES; i++) {
        size_t end, clean_n;
        char *clean;
        cJSON *obj;
        if (text[i] != '{')
            continue;
        tries++;
        if (!(end = object_end(text, n, i)))
            continue;
        if (!(clean = drop_trailing_commas(text + i, end - i, &clean_n))) {
            *oom = 1;
            return NULL;
        }
        obj = cJSON_ParseWithLength(clean, clean_n);
        free(clean);
        if (cJSON_IsObject(obj))
            return obj;
        cJSON_Delete(obj);
    }
    return NULL;
}

/* ---- fields ---- */

/* A finite, non-negative number from a JSON number or a string such as "70" or "70%". */
static int number_of(const cJSON *v, double *out)
{
    double x;
    if (cJSON_IsNumber(v)) {
        x = v->valuedouble;
    } else if (cJSON_IsString(v)) {
        char *end;
        x = strtod(v->valuestring, &end);
        if (end == v->valuestring)
            return 0;
        while (is_space(*end))
            end++;
        if (*end == '%')
            end++;
        while (is_space(*end))
            end++;
        if (*end)
            return 0;
    } else {
        return 0;
    }
    if (!isfinite(x) || x < 0)
        return 0;
    *out = x;
    return 1;
}

/* Scores from {class: value} or [value, ...] (list_order), normalized to sum 1; 0 if invalid. */
static int parse_scores(const cJSON *v, const struct mer_response_params *p, float *scores)
{
    double raw[MER_RESPONSE_MAX_CLASSES] = {0}, sum = 0;
    int found = 0, i = 0;
    const cJSON *it;
    if (cJSON_IsArray(v)) {
        if (cJSON_GetArraySize(v) != p->n_classes)
            return 0;
        cJSON_ArrayForEach(it, v)
        {
            int k = p->list_order ? p->list_order[i] : i;
            i++;
            if (k < 0 || k >= p->n_classes || !number_of(it, &raw[k]))
                return 0;
            found++;
        }
    } else if (cJSON_IsObject(v)) {
        cJSON_ArrayForEach(it, v)
        {
            int k = it->string ? mer_response_class(p, it->string) : -1;
            double x;
            if (k < 0)
                continue; /* a class this dataset does not have */
            if (!number_of(it, &x))
                return 0;
            raw[k] = x;
            found++;
        }
    }
    for (int k = 0; k < p->n_classes; k++)
        sum += raw[k];
    if (!found || !(sum > 0) || !isfinite(sum))
        return 0;
    for (int k = 0; k < p->n_classes; k++)
        scores[k] = (float)(raw[k] / sum);
    return 1;
}

/* Reasoning from a string, or a list of strings joined by spaces; NULL if neither. */
static char *reasoning_of(const cJSON *v, int *oom)
{
    size_t n = 0;
    char *s;
    const cJSON *it;
    if (cJSON_IsString(v)) {
        if (!(s = strdup(v->valuestring)))
            *oom = 1;
        return s;
    }
    if (!cJSON_IsArray(v))
        return NULL;
    cJSON_ArrayForEach(it, v)
    {
        if (!cJSON_IsString(it))
            return NULL;
        n += strlen(it->valuestring) + 1;
    }
    if (!n || !(s = calloc(n, 1))) {
        *oom = n != 0;
        return NULL;
    }
    cJSON_ArrayForEach(it, v)
    {
        if (*s)
            strcat(s, " ");
        strcat(s, it->valuestring);
    }
    return s;
}

struct answer {
    const struct mer_response_params *p;
    struct mer_response *r;
    double contrib[MER_N_TRACE_MODALITIES]; /* raw, before normalizing */
    int oom;
};

/* A field that belongs to trace t (reasoning, label, scores, or a modality's contribution). */
static void trace_field(struct answer *a, int t, int role, const cJSON *v)
{
    struct mer_trace *tr = &a->r->trace[t];
    double x;
    if (role == ROLE_REASONING && !(tr->has & MER_TF_REASONING)) {
        if ((tr->reasoning = reasoning_of(v, &a->oom)))
            tr->has |= MER_TF_REASONING;
    } else if (role == ROLE_LABEL && cJSON_IsString(v)) {
        if ((tr->label = mer_response_class(a->p, v->valuestring)) >= 0)
            tr->has |= MER_TF_LABEL;
    } else if (role == ROLE_SCORES) {
        if (parse_scores(v, a->p, tr->scores))
            tr->has |= MER_TF_SCORES;
    } else if (role == ROLE_CONTRIBUTION && t < MER_N_TRACE_MODALITIES && number_of(v, &x)) {
        a->contrib[t] = x;
        tr->has |= MER_TF_CONTRIBUTION;
    }
}

/* The contribution map {visual: 50, ...}: the overall trace has it, each modality its share. */
static void contribution_map(struct answer *a, const cJSON *v)
{
    const cJSON *it;
    double x;
    cJSON_ArrayForEach(it, v)
    {
        int m = it->string ? key_role(it->string) : ROLE_NONE;
        if (m >= 0 && m < MER_N_TRACE_MODALITIES && number_of(it, &x)) {
            a->contrib[m] = x;
            a->r->trace[m].has |= MER_TF_CONTRIBUTION;
            a->r->trace[MER_TRACE_OVERALL].has |= MER_TF_CONTRIBUTION;
        }
    }
}

static void modality_object(struct answer *a, int m, const cJSON *v)
{
    const cJSON *it;
    if (cJSON_IsString(v) || cJSON_IsArray(v)) {
        trace_field(a, m, ROLE_REASONING, v);
        return;
    }
    cJSON_ArrayForEach(it, v)
    {
        if (it->string)
            trace_field(a, m, key_role(it->string), it);
    }
}

/* The fields of the answer object, or of its "overall" part (nested = 1). */
static void answer_fields(struct answer *a, const cJSON *obj, int nested)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, obj)
    {
        int role = it->string ? key_role(it->string) : ROLE_NONE;
        if (role == ROLE_NONE)
            continue;
        if (role < MER_TRACE_OVERALL)
            modality_object(a, role, it);
        else if (role == ROLE_OVERALL && !nested && cJSON_IsObject(it))
            answer_fields(a, it, 1);
        else if (role == ROLE_CONTRIBUTION && cJSON_IsObject(it))
            contribution_map(a, it);
        else if (role != ROLE_OVERALL)
            trace_field(a, MER_TRACE_OVERALL, role, it);
    }
}

/* ---- reliability ---- */

static int argmax(const float *s, int n, float *margin)
{
    int best = 0;
    float second = 0;
    for (int k = 1; k < n; k++)
        if (s[k] > s[best])
            best = k;
    for (int k = 0; k < n; k++)
        if (k != best && s[k] > second)
            second = s[k];
    *margin = s[best] - second;
    return best;
}

/* Prediction of a trace: the overall label first, else the argmax of the scores. */
static int trace_pred(const struct mer_trace *tr, int t, int n_classes)
{
    float g;
    if (t == MER_TRACE_OVERALL && tr->label >= 0)
        return tr->label;
    if (tr->has & MER_TF_SCORES)
        return argmax(tr->scores, n_classes, &g);
    return tr->label;
}

/* r = c * a * (0.5 + 0.5 g), as response.h defines it. */
static float reliability(const struct mer_trace *tr, int t, int overall_label, int n_classes)
{
    unsigned third = t == MER_TRACE_OVERALL ? MER_TF_LABEL : MER_TF_CONTRIBUTION;
    float g = 0, agree = 0.5f, c;
    int own = (tr->has & MER_TF_SCORES) ? argmax(tr->scores, n_classes, &g) : -1;
    int ref = t == MER_TRACE_OVERALL ? tr->label : overall_label;
    if (!(tr->has & (MER_TF_REASONING | MER_TF_SCORES | MER_TF_LABEL)))
        return 0;
    if (t != MER_TRACE_OVERALL)
        own = tr->pred;
    if (own >= 0 && ref >= 0 && own == ref)
        agree = 1.0f;
    c = (float)(!!(tr->has & MER_TF_REASONING) + !!(tr->has & MER_TF_SCORES) +
                !!(tr->has & third)) /
        3.0f;
    return c * agree * (0.5f + 0.5f * g);
}

/* Predictions, contribution shares and reliabilities, once every field is read. */
static void finish_traces(struct answer *a)
{
    struct mer_trace *all = a->r->trace;
    int k = a->p->n_classes;
    double sum = 0;
    for (int t = 0; t < MER_N_TRACES; t++)
        all[t].pred = trace_pred(&all[t], t, k);
    for (int m = 0; m < MER_N_TRACE_MODALITIES; m++)
        sum += (all[m].has & MER_TF_CONTRIBUTION) ? a->contrib[m] : 0;
    for (int m = 0; m < MER_N_TRACE_MODALITIES; m++)
        all[m].contribution =
            (all[m].has & MER_TF_CONTRIBUTION) && sum > 0 ? (float)(a->contrib[m] / sum) : 0;
    for (int t = 0; t < MER_N_TRACES; t++)
        all[t].reliability = reliability(&all[t], t, all[MER_TRACE_OVERALL].pred, k);
}

/* ---- answers and lines ---- */

static void set_reason(struct mer_response *r, const char *fmt, ...) MER_PRINTF(2, 3);
static void set_reason(struct mer_response *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
    va_end(ap);
}

static void clear_traces(struct mer_response *r)
{
    for (int t = 0; t < MER_N_TRACES; t++) {
        free(r->trace[t].reasoning);
        memset(&r->trace[t], 0, sizeof(r->trace[t]));
        r->trace[t].label = r->trace[t].pred = -1;
    }
}

static int trace_complete(const struct mer_trace *tr, int t)
{
    unsigned need = t == MER_TRACE_OVERALL
                        ? MER_TF_REASONING | MER_TF_SCORES | MER_TF_LABEL | MER_TF_CONTRIBUTION
                        : MER_TF_REASONING | MER_TF_SCORES | MER_TF_CONTRIBUTION;
    return (tr->has & need) == need;
}

int mer_response_parse_answer(struct mer_response *r, const char *text, size_t len,
                              const struct mer_response_params *p)
{
    struct answer a;
    cJSON *obj;
    int complete = 1, any = 0;
    memset(&a, 0, sizeof(a));
    a.p = p;
    a.r = r;
    clear_traces(r);
    r->reason[0] = '\0';
    r->status = MER_RESP_FAILED;
    if (!(obj = extract_object(text, len, &a.oom))) {
        if (a.oom)
            return mer_error("out of memory");
        set_reason(r, len ? "no JSON object in the answer" : "empty answer");
        return 0;
    }
    answer_fields(&a, obj, 0);
    cJSON_Delete(obj);
    if (a.oom) {
        clear_traces(r);
        return mer_error("out of memory");
    }
    finish_traces(&a);
    for (int t = 0; t < MER_N_TRACES; t++) {
        complete &= trace_complete(&r->trace[t], t);
        any |= (r->trace[t].has & (MER_TF_REASONING | MER_TF_SCORES | MER_TF_LABEL)) != 0;
    }
    if (!any)
        set_reason(r, "the answer has none of the expected fields");
    else
        r->status = complete ? MER_RESP_PARSED : MER_RESP_PARTIAL;
    return 0;
}

/* The text of a part, NULL for a part without one or a thought summary (thinking models). */
static const cJSON *part_text(const cJSON *part)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(part, "text");
    if (!cJSON_IsString(t) || cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(part, "thought")))
        return NULL;
    return t;
}

/* Concatenated text of candidates[0].content.parts[*]; NULL (and *oom) if out of memory. */
static char *answer_text(const cJSON *cand, size_t *n, int *oom)
{
    const cJSON *parts = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cand, "content"), "parts");
    const cJSON *list = cJSON_IsArray(parts) ? parts : NULL, *it;
    size_t total = 0;
    char *s;
    cJSON_ArrayForEach(it, list)
    {
        const cJSON *t = part_text(it);
        if (t)
            total += strlen(t->valuestring);
    }
    if (!(s = malloc(total + 1))) {
        *oom = 1;
        return NULL;
    }
    *n = 0;
    cJSON_ArrayForEach(it, list)
    {
        const cJSON *t = part_text(it);
        size_t k;
        if (!t)
            continue;
        k = strlen(t->valuestring);
        memcpy(s + *n, t->valuestring, k);
        *n += k;
    }
    s[*n] = '\0';
    return s;
}

static const char *string_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* An error object {"code": .., "message": .., "status": ..} as the reason. */
static void error_reason(struct mer_response *r, const cJSON *err)
{
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(err, "code");
    const char *status = string_of(err, "status"), *msg = string_of(err, "message");
    set_reason(r, "error %d%s%.40s%s%.120s", cJSON_IsNumber(code) ? code->valueint : 0,
               status && *status ? " " : "", status ? status : "", msg && *msg ? ": " : "",
               msg ? msg : "");
    r->status = MER_RESP_ERROR;
}

/* finishReason values that still carry a whole answer. */
static int finish_ok(const char *reason)
{
    return !reason || !strcmp(reason, "STOP") || !strcmp(reason, "FINISH_REASON_UNSPECIFIED");
}

static int parse_generate_response(struct mer_response *r, const cJSON *resp,
                                   const struct mer_response_params *p)
{
    const cJSON *cands = cJSON_GetObjectItemCaseSensitive(resp, "candidates");
    const cJSON *cand = cJSON_GetArrayItem(cJSON_IsArray(cands) ? cands : NULL, 0);
    const char *block =
        string_of(cJSON_GetObjectItemCaseSensitive(resp, "promptFeedback"), "blockReason");
    const char *finish = string_of(cand, "finishReason");
    char *text;
    size_t n = 0;
    int oom = 0;
    if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(resp, "error"))) {
        error_reason(r, cJSON_GetObjectItemCaseSensitive(resp, "error"));
        return 0;
    }
    r->status = MER_RESP_BLOCKED;
    if (block) {
        set_reason(r, "blockReason %.100s", block);
        return 0;
    }
    if (!cJSON_IsObject(cand)) {
        set_reason(r, "no candidates");
        return 0;
    }
    if (!(text = answer_text(cand, &n, &oom)))
        return mer_error("out of memory");
    if (mer_response_parse_answer(r, text, n, p) < 0) {
        free(text);
        return -1;
    }
    free(text);
    if (finish_ok(finish))
        return 0;
    /* A truncated or filtered answer: usable only if its JSON parsed, and never "complete". */
    if (r->status == MER_RESP_FAILED)
        r->status = MER_RESP_BLOCKED;
    else
        r->status = MER_RESP_PARTIAL;
    set_reason(r, "finishReason %.100s", finish);
    return 0;
}

int mer_response_parse(struct mer_response *r, const char *line, size_t len,
                       const struct mer_response_params *p)
{
    size_t valid = mer_utf8_check(line, len);
    const cJSON *key, *resp, *err;
    cJSON *obj = NULL;
    int ret = 0;
    memset(r, 0, sizeof(*r));
    clear_traces(r);
    r->status = MER_RESP_FAILED;
    if (valid != len) {
        set_reason(r, "invalid UTF-8 at byte %zu", valid + 1);
        return 0;
    }
    obj = cJSON_ParseWithLength(line, len);
    if (!cJSON_IsObject(obj)) {
        set_reason(r, obj ? "not a JSON object" : "not valid JSON (a truncated line?)");
        goto done;
    }
    key = cJSON_GetObjectItemCaseSensitive(obj, "key");
    if (!cJSON_IsString(key) || !*key->valuestring) {
        set_reason(r, "no \"key\" string");
        goto done;
    }
    if (!(r->key = strdup(key->valuestring))) {
        ret = mer_error("out of memory");
        goto done;
    }
    resp = cJSON_GetObjectItemCaseSensitive(obj, "response");
    err = cJSON_GetObjectItemCaseSensitive(obj, "error");
    if (!cJSON_IsObject(err)) /* the Batch API's google.rpc.Status object */
        err = cJSON_GetObjectItemCaseSensitive(obj, "status");
    if (cJSON_IsObject(resp))
        ret = parse_generate_response(r, resp, p);
    else if (cJSON_IsObject(err))
        error_reason(r, err);
    else
        set_reason(r, "neither a \"response\" nor an \"error\" or \"status\" object");
done:
    cJSON_Delete(obj);
    return ret;
}

void mer_response_missing(const struct mer_response *r, char *buf, size_t size)
{
    static const struct {
        unsigned flag;
        const char *name;
    } fields[] = {{MER_TF_REASONING, "reasoning"},
                  {MER_TF_SCORES, "scores"},
                  {MER_TF_CONTRIBUTION, "contribution"},
                  {MER_TF_LABEL, "label"}};
    size_t used = 0;
    if (size)
        buf[0] = '\0';
    for (int t = 0; t < MER_N_TRACES; t++) {
        const struct mer_trace *tr = &r->trace[t];
        int w = 0;
        if (t < MER_TRACE_OVERALL &&
            !(tr->has & (MER_TF_REASONING | MER_TF_SCORES | MER_TF_LABEL))) {
            w = snprintf(buf + used, size - used, "%s%s", used ? ", " : "", trace_names[t]);
            used += w > 0 && (size_t)w < size - used ? (size_t)w : 0;
            continue;
        }
        for (size_t f = 0; f < MER_ARRAY_SIZE(fields); f++) {
            if (tr->has & fields[f].flag || (t < MER_TRACE_OVERALL && f == 3))
                continue;
            w = snprintf(buf + used, size - used, "%s%s%s%s", used ? ", " : "",
                         t < MER_TRACE_OVERALL ? trace_names[t] : "",
                         t < MER_TRACE_OVERALL ? "." : "", fields[f].name);
            used += w > 0 && (size_t)w < size - used ? (size_t)w : 0;
        }
    }
}

void mer_response_release(struct mer_response *r)
{
    if (!r)
        return;
    for (int t = 0; t < MER_N_TRACES; t++) {
        free(r->trace[t].reasoning);
        r->trace[t].reasoning = NULL;
    }
    free(r->key);
    r->key = NULL;
}
