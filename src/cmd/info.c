/* mer info: what a store holds, where it came from, and whether its bytes are intact. */
#include "cmd/cmd.h"
#include "mer/error.h"
#include "mer/fs.h"
#include "mer/opt.h"
#include "mer/store.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

static const char *const usage[] = {"mer info [options] <store>...", NULL};

/* Prints a JSON array of names as "N (a, b, c, ...)". */
static void print_names(const char *label, const char *json)
{
    cJSON *arr = cJSON_Parse(json);
    int n = cJSON_GetArraySize(arr), shown = n < 3 ? n : 3;
    printf("  %s: %d", label, n);
    for (int i = 0; i < shown; i++) {
        const cJSON *s = cJSON_GetArrayItem(arr, i);
        printf("%s%s", i ? ", " : " (", cJSON_IsString(s) ? s->valuestring : "?");
    }
    if (shown)
        printf("%s)", n > shown ? ", ..." : "");
    putchar('\n');
    cJSON_Delete(arr);
}

static void print_tensors(const mer_st_file *f)
{
    printf("  tensors:\n");
    for (size_t i = 0; i < mer_st_n_tensors(f); i++) {
        const struct mer_st_tensor *t = mer_st_tensor_at(f, i);
        printf("    %-12s %-4s [", t->name, mer_dtype_name(t->dtype));
        for (int d = 0; d < t->ndim; d++)
            printf("%s%lld", d ? ", " : "", (long long)t->shape[d]);
        printf("]\n");
    }
}

static void print_meta(const mer_st_file *f)
{
    for (size_t i = 0; i < mer_st_n_meta(f); i++) {
        const char *k, *v;
        mer_st_meta_at(f, i, &k, &v);
        if (!strcmp(k, "mer.ids"))
            print_names("samples", v);
        else if (!strcmp(k, "mer.classes") || !strcmp(k, "mer.splits"))
            printf("  %s: %s\n", k + 4, v);
        else if (strcmp(k, "mer.format") && strcmp(k, "mer.version") && strcmp(k, "mer.checksum"))
            printf("  %s: %s\n", strncmp(k, "mer.", 4) ? k : k + 4, v);
    }
}

static void print_file(const mer_st_file *f)
{
    const char *fmt = mer_st_meta(f, "mer.format"), *ver = mer_st_meta(f, "mer.version");
    printf("%s\n", mer_st_path(f));
    if (fmt)
        printf("  format: %s v%s\n", fmt, ver ? ver : "?");
    else
        printf("  format: safetensors (not written by mer)\n");
    print_meta(f);
    print_tensors(f);
    printf("  checksum: %s\n", mer_st_has_checksum(f) ? "ok" : "none (not written by mer)");
}

static int info_one(const char *path)
{
    if (mer_is_dir(path)) {
        mer_store *s;
        if (mer_store_open(&s, path, MER_ST_VERIFY) < 0)
            return -1;
        printf("%s: sharded store, %zu parts, %zu samples, dimension %lld%s\n", path,
               mer_store_n_parts(s), mer_store_n_samples(s), (long long)mer_store_dim(s),
               mer_store_is_sequence(s) ? ", frame level" : "");
        for (size_t i = 0; i < mer_store_n_parts(s); i++)
            print_file(mer_store_part(s, i));
        mer_store_free(s);
    } else {
        mer_st_file *f;
        if (mer_st_open(&f, path, MER_ST_VERIFY) < 0)
            return -1;
        print_file(f);
        mer_st_close(f);
    }
    return 0;
}

int cmd_info(int argc, const char **argv)
{
    struct mer_option opts[] = {MER_OPT_END()};
    int n = mer_opt_parse(argc, argv, opts, usage), failed = 0;
    if (n < 0)
        return mer_opt_exit_code(n);
    if (n == 0)
        return mer_usage_error("info", "no store given");
    for (int i = 0; i < n; i++) {
        fflush(stdout);
        if (info_one(argv[i]) < 0) {
            cmd_fail("info");
            failed = 1;
        }
    }
    return failed;
}
