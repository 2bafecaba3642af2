/* mer info: what a store holds, where it came from, and whether its bytes are intact. */
#include "cmd/cmd.h"
#include "mer/error.h"
#include "mer/fs.h"
#include "mer/opt.h"
#include "mer/store.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IDS_SHOWN 3

static const char *const usage[] = {"mer info [options] <store>...", NULL};

/* Metadata keys shown on lines of their own (or not at all) rather than under "metadata". */
static int is_own_line(const char *key)
{
    static const char *const keys[] = {"mer.format", "mer.version", "mer.checksum",
                                       "mer.kind",   "mer.ids",     "mer.provenance"};
    for (size_t i = 0; i < MER_ARRAY_SIZE(keys); i++)
        if (!strcmp(key, keys[i]))
            return 1;
    return 0;
}

/* ---- text ---- */

/* "N (a, b, c, ...)" for a JSON array of names. */
static void print_ids(const char *json)
{
    cJSON *arr = json ? cJSON_Parse(json) : NULL;
    int n = cJSON_IsArray(arr) ? cJSON_GetArraySize(arr) : 0, shown = n < IDS_SHOWN ? n : IDS_SHOWN;
    if (!cJSON_IsArray(arr)) {
        printf("  samples: ? (mer.ids is not a JSON array)\n");
        cJSON_Delete(arr);
        return;
    }
    printf("  samples: %d", n);
    for (int i = 0; i < shown; i++) {
        const cJSON *s = cJSON_GetArrayItem(arr, i);
        printf("%s%s", i ? ", " : " (", cJSON_IsString(s) ? s->valuestring : "?");
    }
    if (shown)
        printf("%s)", n > shown ? ", ..." : "");
    putchar('\n');
    cJSON_Delete(arr);
}

static void print_shape(const struct mer_st_tensor *t)
{
    putchar('[');
    for (int d = 0; d < t->ndim; d++)
        printf("%s%lld", d ? ", " : "", (long long)t->shape[d]);
    putchar(']');
}

static void print_tensors(const mer_st_file *f, const char *indent)
{
    printf("%stensors:\n", indent);
    for (size_t i = 0; i < mer_st_n_tensors(f); i++) {
        const struct mer_st_tensor *t = mer_st_tensor_at(f, i);
        printf("%s  %-12s %-4s ", indent, t->name, mer_dtype_name(t->dtype));
        print_shape(t);
        putchar('\n');
    }
}

/* The provenance object as "key: value" lines (or the raw text if it is not an object). */
static void print_provenance(const char *json)
{
    cJSON *o = json ? cJSON_Parse(json) : NULL, *it;
    if (!json)
        return;
    if (!cJSON_IsObject(o)) {
        printf("  provenance: %s\n", json);
        cJSON_Delete(o);
        return;
    }
    printf("  provenance:\n");
    cJSON_ArrayForEach(it, o)
    {
        char *v = cJSON_IsString(it) ? NULL : cJSON_PrintUnformatted(it);
        printf("    %s: %s\n", it->string, v ? v : it->valuestring);
        free(v);
    }
    cJSON_Delete(o);
}

static void print_other_meta(const mer_st_file *f)
{
    int any = 0;
    for (size_t i = 0; i < mer_st_n_meta(f); i++) {
        const char *k, *v;
        mer_st_meta_at(f, i, &k, &v);
        if (is_own_line(k))
            continue;
        if (!any++)
            printf("  metadata:\n");
        printf("    %s: %s\n", k, v);
    }
}

static void print_format(const mer_st_file *f)
{
    const char *fmt = mer_st_meta(f, "mer.format"), *ver = mer_st_meta(f, "mer.version");
    const char *kind = mer_st_meta(f, "mer.kind");
    if (fmt)
        printf("  format: %s v%s (safetensors)\n", fmt, ver ? ver : "?");
    else
        printf("  format: safetensors (not written by mer)\n");
    if (kind)
        printf("  kind: %s\n", kind);
}

/* Prints the checksum line; -1 (error recorded) if it does not verify. */
static int print_checksum(const mer_st_file *f, const char *indent)
{
    const char *sum = mer_st_meta(f, "mer.checksum");
    if (mer_st_verify(f) < 0) {
        printf("%schecksum: FAILED\n", indent);
        return -1;
    }
    if (sum)
        printf("%schecksum: ok (%s)\n", indent, sum);
    else
        printf("%schecksum: none (not written by mer)\n", indent);
    return 0;
}

static int text_file(const char *path, const mer_st_file *f)
{
    printf("%s\n", path);
    print_format(f);
    if (mer_st_meta(f, "mer.ids"))
        print_ids(mer_st_meta(f, "mer.ids"));
    print_tensors(f, "  ");
    print_other_meta(f);
    print_provenance(mer_st_meta(f, "mer.provenance"));
    return print_checksum(f, "  ");
}

static void print_store_ids(const mer_store *s)
{
    size_t n = mer_store_n_samples(s), shown = n < IDS_SHOWN ? n : IDS_SHOWN;
    printf("  samples: %zu", n);
    for (size_t i = 0; i < shown; i++)
        printf("%s%s", i ? ", " : " (", mer_store_sample_id(s, i));
    if (shown)
        printf("%s)", n > shown ? ", ..." : "");
    putchar('\n');
}

/* A sharded store: the joined view, then each part with its tensors and checksum. */
static int text_store(const char *path, const mer_store *s)
{
    const mer_st_file *first = mer_store_part(s, 0);
    int ret = 0;
    printf("%s\n", path);
    print_format(first);
    printf("  parts: %zu (index.json)\n", mer_store_n_parts(s));
    print_store_ids(s);
    if (mer_store_dim(s) || mer_store_n_samples(s))
        printf("  dimension: %lld%s\n", (long long)mer_store_dim(s),
               mer_store_is_sequence(s) ? ", frame level" : "");
    print_other_meta(first);
    print_provenance(mer_st_meta(first, "mer.provenance"));
    for (size_t i = 0; i < mer_store_n_parts(s); i++) {
        const mer_st_file *f = mer_store_part(s, i);
        const char *name = strrchr(mer_st_path(f), '/');
        printf("  %s\n", name ? name + 1 : mer_st_path(f));
        print_tensors(f, "    ");
        if (print_checksum(f, "    ") < 0 && ret == 0) {
            ret = -1;
            fflush(stdout);
            cmd_fail("info"); /* this part's error; later parts may record their own */
        }
    }
    printf("  checksum: %s\n", ret ? "FAILED" : "ok");
    return ret ? -2 : 0;
}

/* ---- JSON ---- */

static cJSON *tensors_json(const mer_st_file *f)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr && i < mer_st_n_tensors(f); i++) {
        const struct mer_st_tensor *t = mer_st_tensor_at(f, i);
        cJSON *o = cJSON_CreateObject(), *shape = cJSON_CreateArray();
        cJSON_AddStringToObject(o, "name", t->name);
        cJSON_AddStringToObject(o, "dtype", mer_dtype_name(t->dtype));
        for (int d = 0; d < t->ndim; d++)
            cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->shape[d]));
        cJSON_AddItemToObject(o, "shape", shape);
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

/* Format, kind, other metadata and provenance (parsed when it is JSON) of f into o. */
static void meta_json(cJSON *o, const mer_st_file *f)
{
    cJSON *meta = cJSON_CreateObject(), *prov;
    const char *p = mer_st_meta(f, "mer.provenance");
    cJSON_AddStringToObject(o, "format",
                            mer_st_meta(f, "mer.format") ? MER_STORE_FORMAT : "safetensors");
    if (mer_st_meta(f, "mer.version"))
        cJSON_AddStringToObject(o, "version", mer_st_meta(f, "mer.version"));
    if (mer_st_meta(f, "mer.kind"))
        cJSON_AddStringToObject(o, "kind", mer_st_meta(f, "mer.kind"));
    for (size_t i = 0; i < mer_st_n_meta(f); i++) {
        const char *k, *v;
        mer_st_meta_at(f, i, &k, &v);
        if (!is_own_line(k))
            cJSON_AddStringToObject(meta, k, v);
    }
    cJSON_AddItemToObject(o, "metadata", meta);
    if (p) {
        prov = cJSON_Parse(p);
        cJSON_AddItemToObject(o, "provenance", prov ? prov : cJSON_CreateString(p));
    }
}

static void ids_json(cJSON *o, const char *const *ids, size_t n)
{
    cJSON *head = cJSON_CreateArray();
    cJSON_AddNumberToObject(o, "samples", (double)n);
    for (size_t i = 0; i < n && i < IDS_SHOWN; i++)
        cJSON_AddItemToArray(head, cJSON_CreateString(ids[i]));
    cJSON_AddItemToObject(o, "ids_head", head);
}

/* Adds "checksum": "ok" | "none" | "failed" (+ "error"); -1 if it failed. */
static int checksum_json(cJSON *o, const mer_st_file *f)
{
    if (mer_st_verify(f) < 0) {
        cJSON_AddStringToObject(o, "checksum", "failed");
        cJSON_AddStringToObject(o, "error", mer_errmsg());
        return -1;
    }
    cJSON_AddStringToObject(o, "checksum", mer_st_has_checksum(f) ? "ok" : "none");
    return 0;
}

static int json_file(cJSON *o, const mer_st_file *f)
{
    cJSON *arr = mer_st_meta(f, "mer.ids") ? cJSON_Parse(mer_st_meta(f, "mer.ids")) : NULL;
    meta_json(o, f);
    if (cJSON_IsArray(arr)) {
        int n = cJSON_GetArraySize(arr);
        const char *head[IDS_SHOWN];
        for (int i = 0; i < n && i < IDS_SHOWN; i++) {
            const cJSON *s = cJSON_GetArrayItem(arr, i);
            head[i] = cJSON_IsString(s) ? s->valuestring : "?";
        }
        ids_json(o, head, (size_t)n);
    }
    cJSON_Delete(arr);
    cJSON_AddItemToObject(o, "tensors", tensors_json(f));
    return checksum_json(o, f);
}

static int json_store(cJSON *o, const mer_store *s)
{
    cJSON *parts = cJSON_CreateArray();
    const char *head[IDS_SHOWN];
    size_t n = mer_store_n_samples(s);
    int ret = 0;
    meta_json(o, mer_store_part(s, 0));
    for (size_t i = 0; i < n && i < IDS_SHOWN; i++)
        head[i] = mer_store_sample_id(s, i);
    ids_json(o, head, n);
    cJSON_AddNumberToObject(o, "dim", (double)mer_store_dim(s));
    cJSON_AddBoolToObject(o, "frame_level", mer_store_is_sequence(s));
    for (size_t i = 0; i < mer_store_n_parts(s); i++) {
        const mer_st_file *f = mer_store_part(s, i);
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "path", mer_st_path(f));
        cJSON_AddItemToObject(p, "tensors", tensors_json(f));
        if (checksum_json(p, f) < 0)
            ret = -1;
        cJSON_AddItemToArray(parts, p);
    }
    cJSON_AddItemToObject(o, "parts", parts);
    cJSON_AddStringToObject(o, "checksum", ret ? "failed" : "ok");
    return ret;
}

/* ---- one path ---- */

/* 0 ok; -1 error recorded, not yet printed; -2 error(s) already printed. */
static int info_text(const char *path)
{
    int ret;
    if (mer_is_dir(path)) {
        mer_store *s;
        if (mer_store_open(&s, path, 0) < 0)
            return -1;
        ret = text_store(path, s);
        mer_store_close(s);
    } else {
        mer_st_file *f;
        if (mer_st_open(&f, path, 0) < 0)
            return -1;
        ret = text_file(path, f);
        mer_st_close(f);
    }
    return ret;
}

/* One JSON object per path on its own line, also for a path that fails (with "error"). */
static int info_json(const char *path)
{
    cJSON *o = cJSON_CreateObject();
    char *text;
    int ret = -1;
    cJSON_AddStringToObject(o, "path", path);
    if (mer_is_dir(path)) {
        mer_store *s;
        if (mer_store_open(&s, path, 0) == 0) {
            cJSON_AddNumberToObject(o, "n_parts", (double)mer_store_n_parts(s));
            ret = json_store(o, s);
            mer_store_close(s);
        }
    } else {
        mer_st_file *f;
        if (mer_st_open(&f, path, 0) == 0) {
            ret = json_file(o, f);
            mer_st_close(f);
        }
    }
    if (ret < 0 && !cJSON_GetObjectItemCaseSensitive(o, "error"))
        cJSON_AddStringToObject(o, "error", mer_errmsg());
    text = cJSON_PrintUnformatted(o);
    if (text)
        printf("%s\n", text);
    free(text);
    cJSON_Delete(o);
    return ret;
}

int cmd_info(int argc, const char **argv)
{
    int json = 0, n, failed = 0;
    struct mer_option opts[] = {
        MER_OPT_BOOL(0, "json", &json, "one JSON object per store, one per line"),
        MER_OPT_END(),
    };
    n = mer_opt_parse(argc, argv, opts, usage);
    if (n < 0)
        return mer_opt_exit_code(n);
    if (n == 0)
        return mer_usage_error("info", "no store given");
    for (int i = 0; i < n; i++) {
        int r;
        fflush(stdout); /* keep stdout and stderr in order when both are a terminal */
        r = json ? info_json(argv[i]) : info_text(argv[i]);
        fflush(stdout);
        if (r == -1)
            cmd_fail("info");
        failed |= r < 0;
    }
    return failed;
}
