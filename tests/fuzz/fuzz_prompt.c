/* libFuzzer target: prompt templates (src/traces/prompt.c) from arbitrary bytes. A template
 * either parses or fails with a one-line error; a parsed one fills without reading past its
 * text, placeholders filled with nothing leave a text no longer than the template, and a
 * template without braces fills to itself. */
#include "mer/error.h"
#include "mer/prompt.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const empty[MER_PROMPT_N_FIELDS] = {"", "", "", "", ""};
    static const char *const values[MER_PROMPT_N_FIELDS] = {"{name}", "{{", "}", "a\nb", "x, y"};
    mer_prompt_template *t = NULL;
    char *filled, *again;
    if (mer_prompt_template_parse(&t, "fuzz", (const char *)data, size) < 0) {
        const char *msg = mer_errmsg();
        if (!msg[0] || strchr(msg, '\n'))
            abort(); /* errors are one non-empty line */
        return 0;
    }
    filled = mer_prompt_template_fill(t, empty);
    if (!filled || strlen(filled) > size)
        abort();
    if (!memchr(data, '{', size) && !memchr(data, '\0', size) &&
        (strlen(filled) != size || memcmp(filled, data, size)))
        abort();
    again = mer_prompt_template_fill(t, values); /* values are inserted, never expanded */
    if (!again)
        abort();
    free(again);
    free(filled);
    mer_prompt_template_free(t);
    return 0;
}
