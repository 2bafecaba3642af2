/* libFuzzer target: config files (JSON + schema checks) and --set assignments over arbitrary
 * bytes. Input: an optional first line "--set <assignment>", then the JSON text. Errors must
 * name the source; an accepted config must print as JSON that reads back to itself. */
#include "mer/config.h"
#include "mer/error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The resolved config, printed and parsed again, is the same config. */
static void check_round_trip(const mer_config *cfg)
{
    char *text = mer_config_to_json(cfg), *diff = NULL;
    mer_config *back = NULL;
    if (!text || mer_config_parse(&back, "/nonexistent/printed.json", text, strlen(text)) < 0)
        abort();
    diff = mer_config_diff(cfg, back);
    if (!diff || *diff)
        abort();
    free(diff);
    free(text);
    mer_config_free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data, *nl;
    char *set = NULL;
    size_t len = size;
    mer_config *cfg = NULL;
    /* A relative "extends" resolves inside a directory that does not exist: no file reads. */
    const char *name = "/nonexistent/fuzz.json";
    if (size > 6 && !memcmp(data, "--set ", 6) && (nl = memchr(data, '\n', size))) {
        set = strndup(text + 6, (size_t)(nl - text) - 6);
        len = size - (size_t)(nl + 1 - text);
        text = nl + 1;
    }
    if (mer_config_parse(&cfg, name, text, len) < 0) {
        if (cfg || !strstr(mer_errmsg(), "fuzz.json"))
            abort();
        free(set);
        return 0;
    }
    if (set && mer_config_set(cfg, set) < 0 && strncmp(mer_errmsg(), "--set ", 6))
        abort();
    check_round_trip(cfg);
    mer_config_free(cfg);
    free(set);
    return 0;
}
