/* The response-line parser: lenient answer extraction, aliases, statuses, reliability. */
#include "mer/response.h"
#include "testhelp.h"

#include <cjson/cJSON.h>

/* MER2024's classes in the labels store's order. */
static const char *const classes[] = {"neutral", "angry", "happy", "sad", "worried", "surprise"};
enum { NEUTRAL, ANGRY, HAPPY, SAD, WORRIED, SURPRISE };

static const char *const full_answer =
    "{\"visual\": {\"reasoning\": \"a broad smile\", \"scores\": {\"worried\": 5, \"happy\": 70, "
    "\"neutral\": 10, \"angry\": 5, \"surprise\": 5, \"sad\": 5}},"
    " \"acoustic\": {\"reasoning\": \"a bright voice\", \"scores\": {\"worried\": 10, \"happy\": "
    "40,"
    " \"neutral\": 40, \"angry\": 0, \"surprise\": 10, \"sad\": 0}},"
    " \"textual\": {\"reasoning\": \"he says he is scared\", \"scores\": {\"worried\": 60, "
    "\"happy\": 10, \"neutral\": 10, \"angry\": 0, \"surprise\": 10, \"sad\": 10}},"
    " \"reasoning\": \"mostly happy\", \"label\": \"happy\", \"scores\": {\"worried\": 10, "
    "\"happy\": 60, \"neutral\": 20, \"angry\": 0, \"surprise\": 10, \"sad\": 0},"
    " \"contribution\": {\"visual\": 50, \"acoustic\": 30, \"textual\": 20}}";

/* A Batch API output line whose answer is text (NULL: no candidates), with finishReason. */
static char *line_of(const char *key, const char *text, const char *finish)
{
    cJSON *o = cJSON_CreateObject(), *resp = cJSON_AddObjectToObject(o, "response");
    cJSON *cands = cJSON_AddArrayToObject(resp, "candidates");
    char *s;
    cJSON_AddStringToObject(o, "key", key);
    if (text) {
        cJSON *c = cJSON_CreateObject(), *parts;
        cJSON_AddItemToArray(cands, c);
        parts = cJSON_AddArrayToObject(cJSON_AddObjectToObject(c, "content"), "parts");
        cJSON *part = cJSON_CreateObject();
        cJSON_AddStringToObject(part, "text", text);
        cJSON_AddItemToArray(parts, part);
        cJSON_AddStringToObject(c, "finishReason", finish);
    }
    s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

static struct mer_response_params params(void)
{
    struct mer_response_params p = {classes, 6, NULL};
    return p;
}

static void parse_text(struct mer_response *r, const char *text)
{
    struct mer_response_params p = params();
    char *line = line_of("s1", text, "STOP");
    CHECK(mer_response_parse(r, line, strlen(line), &p) == 0);
    free(line);
}

static void parse_raw(struct mer_response *r, const char *line)
{
    struct mer_response_params p = params();
    CHECK(mer_response_parse(r, line, strlen(line), &p) == 0);
}

int main(void)
{
    struct mer_response r;
    char buf[256];

    TEST("a complete answer")
    {
        parse_text(&r, full_answer);
        CHECK_EQ_STR(r.key, "s1");
        CHECK_EQ_INT(r.status, MER_RESP_PARSED);
        CHECK_NEAR(r.trace[MER_TRACE_VISUAL].scores[HAPPY], 0.7, 1e-6);
        CHECK_NEAR(r.trace[MER_TRACE_VISUAL].contribution, 0.5, 1e-6);
        CHECK_NEAR(r.trace[MER_TRACE_TEXTUAL].contribution, 0.2, 1e-6);
        CHECK_EQ_STR(r.trace[MER_TRACE_ACOUSTIC].reasoning, "a bright voice");
        CHECK_EQ_INT(r.trace[MER_TRACE_OVERALL].pred, HAPPY);
        CHECK_EQ_INT(r.trace[MER_TRACE_TEXTUAL].pred, WORRIED);
        /* visual: c = 1, agrees, margin 0.7 - 0.1 -> 0.8 */
        CHECK_NEAR(r.trace[MER_TRACE_VISUAL].reliability, 0.8, 1e-6);
        /* acoustic: a tie 0.4/0.4 goes to the lower index (neutral): disagrees, margin 0 */
        CHECK_EQ_INT(r.trace[MER_TRACE_ACOUSTIC].pred, NEUTRAL);
        CHECK_NEAR(r.trace[MER_TRACE_ACOUSTIC].reliability, 0.25, 1e-6);
        /* textual: disagrees, margin 0.5 -> 0.5 * 0.75 */
        CHECK_NEAR(r.trace[MER_TRACE_TEXTUAL].reliability, 0.375, 1e-6);
        /* overall: label = own argmax, margin 0.4 -> 0.7 */
        CHECK_NEAR(r.trace[MER_TRACE_OVERALL].reliability, 0.7, 1e-6);
        mer_response_missing(&r, buf, sizeof(buf));
        CHECK_EQ_STR(buf, "");
        mer_response_release(&r);
    }

    TEST("fences, prose, trailing commas")
    {
        parse_text(&r, "Sure! Here is my analysis {not json}:\n```json\n"
                       "{\"visual\": {\"reasoning\": \"tears\", \"scores\": [0.1, 0, 0, 0.8, 0.1, "
                       "0],},\n \"label\": \"sad\",}\n```\nHope this helps.");
        CHECK_EQ_INT(r.status, MER_RESP_PARTIAL);
        CHECK_NEAR(r.trace[MER_TRACE_VISUAL].scores[SAD], 0.8, 1e-6);
        CHECK_EQ_INT(r.trace[MER_TRACE_OVERALL].label, SAD);
        CHECK_EQ_INT(r.trace[MER_TRACE_VISUAL].pred, SAD);
        mer_response_missing(&r, buf, sizeof(buf));
        CHECK_EQ_STR(buf, "acoustic, visual.contribution, textual, reasoning, scores, "
                          "contribution");
        mer_response_release(&r);
    }

    TEST("Chinese keys and class names")
    {
        parse_text(&r,
                   "{\"视觉\": {\"推理过程\": \"眉头紧锁\", \"分数\": {\"担心\": 60, \"开心\": 10,"
                   " \"中性\": 10, \"生气\": 5, \"惊讶\": 5, \"悲伤\": 10}},"
                   " \"声学\": {\"推理过程\": \"声音颤抖\", \"得分\": {\"担心\": \"50%\", "
                   "\"伤心\": \"50%\"}},"
                   " \"文本\": {\"推理\": \"他说很害怕\"},"
                   " \"推理过程\": \"综合来看是担心\", \"情绪\": \"担心\", "
                   "\"贡献度\": {\"视觉\": 0.5, \"音频\": 0.3, \"文本\": 0.2}}");
        CHECK_EQ_INT(r.status, MER_RESP_PARTIAL);
        CHECK_EQ_INT(r.trace[MER_TRACE_OVERALL].label, WORRIED);
        CHECK_NEAR(r.trace[MER_TRACE_VISUAL].scores[WORRIED], 0.6, 1e-6);
        CHECK_NEAR(r.trace[MER_TRACE_ACOUSTIC].scores[SAD], 0.5, 1e-6);
        CHECK_NEAR(r.trace[MER_TRACE_ACOUSTIC].contribution, 0.3, 1e-6);
        CHECK_EQ_STR(r.trace[MER_TRACE_TEXTUAL].reasoning, "他说很害怕");
        CHECK(!(r.trace[MER_TRACE_TEXTUAL].has & MER_TF_SCORES));
        /* textual: reasoning + contribution, no prediction: 2/3 * 0.5 * 0.5 */
        CHECK_NEAR(r.trace[MER_TRACE_TEXTUAL].reliability, 1.0 / 6, 1e-6);
        mer_response_missing(&r, buf, sizeof(buf));
        CHECK_EQ_STR(buf, "textual.scores, scores");
        mer_response_release(&r);
    }

    TEST("scores as a list in the prompt's order")
    {
        /* the prompt lists worried, happy, neutral, angry, surprise, sad */
        static const int order[] = {WORRIED, HAPPY, NEUTRAL, ANGRY, SURPRISE, SAD};
        struct mer_response_params p = params();
        const char *text = "{\"label\": \"Happy.\", \"scores\": [10, 60, 20, 0, 10, 0]}";
        char *line = line_of("k", text, "STOP");
        p.list_order = order;
        CHECK(mer_response_parse(&r, line, strlen(line), &p) == 0);
        CHECK_NEAR(r.trace[MER_TRACE_OVERALL].scores[HAPPY], 0.6, 1e-6);
        CHECK_NEAR(r.trace[MER_TRACE_OVERALL].scores[NEUTRAL], 0.2, 1e-6);
        CHECK_EQ_INT(r.trace[MER_TRACE_OVERALL].label, HAPPY);
        free(line);
        mer_response_release(&r);
        /* a list of the wrong length, negative or non-numeric values: no scores */
        parse_text(&r, "{\"label\": \"sad\", \"scores\": [1, 2, 3]}");
        CHECK(!(r.trace[MER_TRACE_OVERALL].has & MER_TF_SCORES));
        mer_response_release(&r);
        parse_text(&r, "{\"label\": \"sad\", \"scores\": {\"sad\": -1, \"happy\": 2}}");
        CHECK(!(r.trace[MER_TRACE_OVERALL].has & MER_TF_SCORES));
        mer_response_release(&r);
        parse_text(&r, "{\"label\": \"sad\", \"scores\": {\"sad\": \"lots\"}}");
        CHECK(!(r.trace[MER_TRACE_OVERALL].has & MER_TF_SCORES));
        CHECK_EQ_INT(r.status, MER_RESP_PARTIAL);
        mer_response_release(&r);
        parse_text(&r, "{\"label\": \"bored\", \"scores\": {\"sad\": 0, \"happy\": 0}}");
        CHECK_EQ_INT(r.status, MER_RESP_FAILED);
        mer_response_release(&r);
    }

    TEST("blocked answers and error lines")
    {
        parse_raw(&r, "{\"key\": \"b1\", \"response\": {\"promptFeedback\": "
                      "{\"blockReason\": \"SAFETY\"}}}");
        CHECK_EQ_INT(r.status, MER_RESP_BLOCKED);
        CHECK_EQ_STR(r.reason, "blockReason SAFETY");
        CHECK_EQ_STR(r.key, "b1");
        mer_response_release(&r);
        parse_raw(&r, "{\"key\": \"b2\", \"response\": {\"candidates\": []}}");
        CHECK_EQ_INT(r.status, MER_RESP_BLOCKED);
        CHECK_EQ_STR(r.reason, "no candidates");
        mer_response_release(&r);
        parse_raw(&r, "{\"key\": \"b3\", \"response\": {\"candidates\": [{\"finishReason\": "
                      "\"SAFETY\"}]}}");
        CHECK_EQ_INT(r.status, MER_RESP_BLOCKED);
        CHECK_EQ_STR(r.reason, "finishReason SAFETY");
        mer_response_release(&r);
        {
            char *line = line_of("b4", "{\"visual\": {\"reasoning\": \"a sm", "MAX_TOKENS");
            parse_raw(&r, line);
            CHECK_EQ_INT(r.status, MER_RESP_BLOCKED);
            CHECK_EQ_STR(r.reason, "finishReason MAX_TOKENS");
            free(line);
            mer_response_release(&r);
        }
        parse_raw(&r, "{\"key\": \"e1\", \"error\": {\"code\": 429, \"message\": \"quota\", "
                      "\"status\": \"RESOURCE_EXHAUSTED\"}}");
        CHECK_EQ_INT(r.status, MER_RESP_ERROR);
        CHECK_EQ_STR(r.reason, "error 429 RESOURCE_EXHAUSTED: quota");
        mer_response_release(&r);
        parse_raw(&r, "{\"key\": \"e2\", \"status\": {\"code\": 3, \"message\": \"bad video\"}}");
        CHECK_EQ_INT(r.status, MER_RESP_ERROR);
        CHECK_EQ_STR(r.reason, "error 3: bad video");
        mer_response_release(&r);
    }

    TEST("lines that are not answers")
    {
        parse_raw(&r, "not json at all");
        CHECK_EQ_INT(r.status, MER_RESP_FAILED);
        CHECK(r.key == NULL);
        mer_response_release(&r);
        parse_raw(&r, "{\"key\": \"t\", \"response\": {\"candidates\": [{\"content\"");
        CHECK_EQ_INT(r.status, MER_RESP_FAILED);
        CHECK_EQ_STR(r.reason, "not valid JSON (a truncated line?)");
        mer_response_release(&r);
        parse_raw(&r, "[1, 2]");
        CHECK_EQ_STR(r.reason, "not a JSON object");
        mer_response_release(&r);
        parse_raw(&r, "{\"response\": {}}");
        CHECK_EQ_STR(r.reason, "no \"key\" string");
        mer_response_release(&r);
        parse_raw(&r, "{\"key\": \"x\", \"response\": {}, \"bad\": \"\xff\"}");
        CHECK_EQ_STR(r.reason, "invalid UTF-8 at byte 38");
        mer_response_release(&r);
        parse_text(&r, "I cannot tell the emotion from this clip.");
        CHECK_EQ_INT(r.status, MER_RESP_FAILED);
        CHECK_EQ_STR(r.reason, "no JSON object in the answer");
        mer_response_release(&r);
        parse_text(&r, "");
        CHECK_EQ_STR(r.reason, "empty answer");
        mer_response_release(&r);
    }

    TEST("the answer split over several parts, other fields beside the response")
    {
        const char *line =
            "{\"key\": \"p\", \"metadata\": {\"x\": 1}, \"response\": {\"candidates\":"
            " [{\"content\": {\"parts\": [{\"text\": \"{\\\"label\\\": \"}, "
            "{\"thought\": true, \"text\": \"{\\\"label\\\": \\\"sad\\\"}\"}, {\"text\": "
            "\"\\\"angry\\\"}\"}]}}]}}";
        parse_raw(&r, line);
        CHECK_EQ_INT(r.status, MER_RESP_PARTIAL);
        CHECK_EQ_INT(r.trace[MER_TRACE_OVERALL].pred, ANGRY);
        /* label only: c = 1/3, no scores to agree with */
        CHECK_NEAR(r.trace[MER_TRACE_OVERALL].reliability, 1.0 / 12, 1e-6);
        mer_response_release(&r);
    }

    TEST("overall fields under \"overall\", a modality as a bare string")
    {
        parse_text(&r, "{\"visual\": \"frowning\", \"overall\": {\"label\": \"angry\", "
                       "\"reasoning\": \"r\", \"contribution\": {\"visual\": 1}}}");
        CHECK_EQ_STR(r.trace[MER_TRACE_VISUAL].reasoning, "frowning");
        CHECK_EQ_INT(r.trace[MER_TRACE_OVERALL].label, ANGRY);
        CHECK_NEAR(r.trace[MER_TRACE_VISUAL].contribution, 1.0, 1e-6);
        mer_response_release(&r);
    }

    TEST("class aliases")
    {
        struct mer_response_params p = params();
        CHECK_EQ_INT(mer_response_class(&p, " Surprised "), SURPRISE);
        CHECK_EQ_INT(mer_response_class(&p, "愤怒"), ANGRY);
        CHECK_EQ_INT(mer_response_class(&p, "HAPPY"), HAPPY);
        CHECK_EQ_INT(mer_response_class(&p, "bored"), -1);
    }
    return test_report();
}
