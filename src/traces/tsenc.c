/* The TorchScript text encoder: being written (issue 5). */
#include "mer/error.h"
#include "mer/textenc.h"

int mer_tsenc_open(struct mer_tsenc **out, const char *model_path, const char *vocab_path,
                   int max_tokens)
{
    (void)vocab_path;
    (void)max_tokens;
    *out = NULL;
    return mer_error("'%s': the torchscript encoder is not built yet", model_path);
}

int64_t mer_tsenc_dim(const struct mer_tsenc *e)
{
    (void)e;
    return 0;
}

int mer_tsenc_encode(struct mer_tsenc *e, const char *text, float *out)
{
    (void)e;
    (void)text;
    (void)out;
    return mer_error("the torchscript encoder is not built yet");
}

void mer_tsenc_free(struct mer_tsenc *e)
{
    (void)e;
}
