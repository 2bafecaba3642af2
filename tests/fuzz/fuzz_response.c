/* libFuzzer target: the response-line parser (and the answer extractor alone) over arbitrary
 * bytes. Every input must give a status without crashing, leaking or reading outside the
 * buffer; what it returns must be consistent: a reason when unusable, scores that sum to 1,
 * reliabilities and contribution shares in [0, 1], predictions that are classes. */
#include "mer/response.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const classes[] = {"neutral", "angry", "happy", "sad", "worried", "surprise"};
static const int order[] = {4, 2, 0, 1, 5, 3};

static void check(const struct mer_response *r)
{
    float share = 0;
    if (r->status < 0 || r->status >= MER_N_RESP_STATUS)
        abort();
    if (r->status > MER_RESP_PARTIAL && !r->reason[0])
        abort();
    for (int t = 0; t < MER_N_TRACES; t++) {
        const struct mer_trace *tr = &r->trace[t];
        float sum = 0;
        if (!(tr->reliability >= 0 && tr->reliability <= 1) || tr->pred < -1 || tr->pred >= 6 ||
            tr->label < -1 || tr->label >= 6 || !(tr->contribution >= 0 && tr->contribution <= 1))
            abort();
        for (int k = 0; k < 6; k++)
            sum += tr->scores[k];
        if ((tr->has & MER_TF_SCORES) && fabsf(sum - 1) > 1e-3f)
            abort();
        if (!!(tr->has & MER_TF_REASONING) != !!tr->reasoning)
            abort();
        share += t < MER_N_TRACE_MODALITIES ? tr->contribution : 0;
    }
    if (share > 1.001f)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mer_response_params p = {classes, 6, size % 2 ? order : NULL};
    struct mer_response r;
    char buf[512];
    if (mer_response_parse(&r, (const char *)data, size, &p) == 0) {
        check(&r);
        mer_response_missing(&r, buf, sizeof(buf));
        if (r.status > MER_RESP_FAILED || (r.status == MER_RESP_ERROR && !r.key))
            abort();
    }
    mer_response_release(&r);
    memset(&r, 0, sizeof(r));
    if (mer_response_parse_answer(&r, (const char *)data, size, &p) == 0) {
        check(&r);
        if (r.status != MER_RESP_PARSED && r.status != MER_RESP_PARTIAL &&
            r.status != MER_RESP_FAILED)
            abort();
    }
    mer_response_release(&r);
    return 0;
}
