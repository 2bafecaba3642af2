/*
 * response.h: one line of a Gemini responses file -> per-modality reasoning traces with a
 * reliability (configs/README.md, "Traces"). Used by `mer ingest`; fuzzed
 * (tests/fuzz/fuzz_response.c).
 *
 * A line is a JSON object, as the Batch API writes its output and `mer query` appends it:
 *   {"key": K, "response": GenerateContentResponse, ...}    an answer
 *   {"key": K, "error": {"code": 429, "message": "..", "status": ".."}}   a failed request
 *   {"key": K, "status": {"code": 3, "message": ".."}}   the same as a google.rpc.Status
 * The answer is the text of candidates[0].content.parts[*] (concatenated, thought parts
 * skipped), which should hold
 *   {"visual":   {"reasoning": "..", "scores": {"worried": 5, "happy": 70, ...}},
 *    "acoustic": {...}, "textual": {...},
 *    "reasoning": "..", "label": "happy", "scores": {...},
 *    "contribution": {"visual": 50, "acoustic": 30, "textual": 20}}
 * Parsing is lenient: prose or a ```json fence around the object (the first '{' .. matching
 * '}' that parses, trying up to MER_RESPONSE_MAX_TRIES openings), trailing commas, keys in any
 * case and in Chinese (the alias table below), overall fields at the top level or under
 * "overall", scores as an object {class: value} or a list in params.list_order, values as
 * numbers or strings ("70", "70%"), 0-1 or percentages (normalized to sum 1), contributions
 * normalized to sum 1 over the modalities that have one. A modality given as a bare string is
 * its reasoning.
 *
 * Key aliases (ASCII case-insensitive, spaces around the key ignored):
 *   visual        visual video vision face 视觉 视频 画面 面部 图像
 *   acoustic      acoustic audio speech voice sound 声学 音频 语音 声音 听觉
 *   textual       textual text transcript subtitle language 文本 文字 字幕 语言 台词
 *   reasoning     reasoning reason rationale analysis explanation 推理过程 推理 理由 分析 解释
 *   label         label emotion prediction final_label 情绪 情感 标签 预测 情绪标签 最终情绪
 *   scores        scores score probabilities probability distribution 分数 得分 概率 评分
 *   contribution  contribution contributions weights 贡献度 贡献 权重 模态贡献
 *   overall       overall final summary 综合 整体 总体 最终
 * Class-name aliases (tried after an exact, case-insensitive match with a class name):
 *   worried   worry anxious anxiety fear 担心 担忧 焦虑 忧虑 紧张 害怕
 *   happy     happiness joy joyful 开心 高兴 快乐 喜悦 愉快
 *   neutral   calm 中性 平静 中立 无明显情绪
 *   angry     anger mad 生气 愤怒 恼火
 *   surprise  surprised 惊讶 惊奇 吃惊 震惊
 *   sad       sadness 悲伤 伤心 难过 哀伤
 *
 * Reliability of a trace (in [0, 1]):
 *   c = completeness, the fraction of {reasoning, scores, contribution} present
 *       (for the overall trace: {reasoning, scores, label})
 *   g = margin, top-1 minus top-2 of the normalized scores (0 without scores)
 *   a = agreement: 1 if the modality's prediction (argmax of its scores) equals the overall
 *       label (overall trace: its label equals the argmax of its own scores), else 0.5
 *       (also 0.5 when either side is missing)
 *   r = c * a * (0.5 + 0.5 * g)
 *
 *     struct mer_response_params p = {classes, 6, NULL};
 *     struct mer_response r;
 *     if (mer_response_parse(&r, line, len, &p) < 0) ...;   // out of memory only
 *     if (r.status <= MER_RESP_PARTIAL) use r.trace[MER_TRACE_VISUAL] ...;
 *     else printf("%s\n", r.reason);
 *     mer_response_release(&r);
 */
#ifndef MER_RESPONSE_H
#define MER_RESPONSE_H

#include "mer/modality.h"

#include <stddef.h>

#define MER_RESPONSE_MAX_CLASSES 32
#define MER_RESPONSE_MAX_TRIES   32

/* The first MER_N_MODALITIES are the modalities' traces, in modality.h's order. */
enum mer_trace_kind {
    MER_TRACE_ACOUSTIC = MER_MOD_AUDIO,
    MER_TRACE_VISUAL = MER_MOD_VIDEO,
    MER_TRACE_TEXTUAL = MER_MOD_TEXT,
    MER_TRACE_OVERALL = MER_N_MODALITIES,
    MER_N_TRACES
};
#define MER_N_TRACE_MODALITIES MER_N_MODALITIES

/* "acoustic", "visual", "textual", "overall". */
const char *mer_trace_name(int kind);

enum mer_trace_field {
    MER_TF_REASONING = 1 << 0,
    MER_TF_SCORES = 1 << 1,
    MER_TF_CONTRIBUTION = 1 << 2,
    MER_TF_LABEL = 1 << 3,
};

struct mer_trace {
    unsigned has;                           /* MER_TF_* found in the answer */
    char *reasoning;                        /* owned; NULL if absent */
    float scores[MER_RESPONSE_MAX_CLASSES]; /* class order of params.classes, sum 1 (or all 0) */
    float contribution;                     /* share in [0, 1] (modalities only) */
    int label;                              /* its own "label" field, -1 if absent */
    int pred; /* argmax of the scores, else the label, -1 if neither (overall: label first) */
    float reliability; /* see above; 0 for an absent trace */
};

enum mer_response_status {
    MER_RESP_PARSED,  /* every field of every trace found */
    MER_RESP_PARTIAL, /* some traces or fields missing (mer_response_missing says which) */
    MER_RESP_BLOCKED, /* blockReason, no candidates, or a finishReason with no usable answer */
    MER_RESP_ERROR,   /* an error line: the request failed */
    MER_RESP_FAILED,  /* not a JSON object, no key, no JSON answer, none of the fields */
    MER_N_RESP_STATUS
};

/* "parsed", "partial", "blocked", "error", "failed". */
const char *mer_response_status_name(int status);

struct mer_response_params {
    const char *const *classes; /* class names, the order of scores[] (borrowed) */
    int n_classes;              /* at most MER_RESPONSE_MAX_CLASSES */
    const int *list_order;      /* scores given as a list: item i is class list_order[i];
                                   NULL = the classes' order */
};

struct mer_response {
    char *key; /* owned; NULL if the line has none */
    enum mer_response_status status;
    char reason[192]; /* why it is not parsed (or the finishReason of a usable answer) */
    struct mer_trace trace[MER_N_TRACES];
};

/* Parses one line (len bytes, need not be NUL-terminated) into r (fully overwritten; release
 * with mer_response_release). Every input gives a status and, unless parsed, a reason;
 * -1 (error set) only when out of memory. */
int mer_response_parse(struct mer_response *r, const char *line, size_t len,
                       const struct mer_response_params *p);
/* Parses an answer text alone (what candidates[0] says) into r's traces; status parsed,
 * partial or failed. r->key is left as it is. -1 only when out of memory. */
int mer_response_parse_answer(struct mer_response *r, const char *text, size_t len,
                              const struct mer_response_params *p);
/* Writes the missing parts as "acoustic, visual.scores, contribution" (or "" if none). */
void mer_response_missing(const struct mer_response *r, char *buf, size_t size);
void mer_response_release(struct mer_response *r);

/* The class index of a name or alias, -1 if none. */
int mer_response_class(const struct mer_response_params *p, const char *name);

#endif
