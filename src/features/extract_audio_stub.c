#include "mer/error.h"
#include "mer/extract.h"
struct mer_audio_params mer_audio_default_params(void)
{
    struct mer_audio_params p = {.features = "fbank", .rate = 16000, .segment_s = 10, .batch = 8};
    return p;
}
int mer_extract_audio(const struct mer_build_params *bp, const struct mer_audio_params *ap,
                      struct mer_build_report *r)
{
    (void)bp; (void)ap; (void)r;
    return mer_error("not yet");
}
