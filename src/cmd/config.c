/* mer config: resolve a config (defaults, file, --set) and print or write it. */
#include "cmd/cmd.h"
#include "mer/config.h"
#include "mer/error.h"
#include "mer/fs.h"
#include "mer/opt.h"

#include <stdio.h>
#include <stdlib.h>

static const char *const usage[] = {
    "mer config [--config <file>] [--set <key>=<value>]... [--print-config] [-o <out.json> "
    "[--force]]",
    "mer config --defaults | --doc",
    NULL,
};

static int print_config(const mer_config *cfg)
{
    char *text = mer_config_to_json(cfg);
    if (!text)
        return mer_error("out of memory");
    printf("%s\n", text);
    free(text);
    return 0;
}

int cmd_config(int argc, const char **argv)
{
    const char *path = NULL, *out = NULL;
    struct mer_strlist sets = MER_STRLIST_INIT;
    mer_config *cfg = NULL;
    int doc = 0, defaults = 0, print = 0, force = 0, n, ret = 1;
    struct mer_option opts[] = {
        MER_OPT_STRING('c', "config", &path, "file", "JSON config (default: the defaults)"),
        MER_OPT_LIST(0, "set", &sets, "key=value", "override a key (repeatable, applied in order)"),
        MER_OPT_BOOL(0, "print-config", &print,
                     "print the resolved config (the default without -o)"),
        MER_OPT_STRING('o', "out", &out, "file", "write the resolved config here (atomically)"),
        MER_OPT_BOOL(0, "force", &force, "overwrite an existing -o file"),
        MER_OPT_BOOL(0, "defaults", &defaults, "print the default config"),
        MER_OPT_BOOL(0, "doc", &doc, "print the table of every key (configs/README.md)"),
        MER_OPT_END(),
    };
    n = mer_opt_parse(argc, argv, opts, usage);
    if (n < 0) {
        ret = mer_opt_exit_code(n);
        goto done;
    }
    if (n > 0) {
        ret = mer_usage_error("config", "unexpected argument '%s'", argv[0]);
        goto done;
    }
    if ((doc || defaults) && (path || sets.n || out || print || force || (doc && defaults))) {
        ret = mer_usage_error("config", "--%s goes alone", doc ? "doc" : "defaults");
        goto done;
    }
    if (doc) {
        mer_config_print_doc(stdout);
        ret = 0;
        goto done;
    }
    if ((out && mer_output_check(out, force) < 0) ||
        mer_config_load(&cfg, path, sets.items, sets.n) < 0 ||
        (out && mer_config_write(cfg, out) < 0) || ((print || !out) && print_config(cfg) < 0)) {
        ret = cmd_fail("config");
        goto done;
    }
    ret = 0;
done:
    mer_config_free(cfg);
    mer_strlist_release(&sets);
    return ret;
}
