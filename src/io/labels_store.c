/* Reading a labels store (what mer_labels_write writes) back into struct mer_labels. */
#include "mer/error.h"
#include "mer/labels.h"
#include "mer/store.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

/* A metadata value holding a JSON array of strings, as a new array of new strings. */
static int string_array(const mer_st_file *f, const char *key, char ***out, size_t *n)
{
    const char *json = mer_st_meta(f, key);
    cJSON *arr = json ? cJSON_Parse(json) : NULL;
    int ret = -1;
    *out = NULL;
    *n = 0;
    if (!cJSON_IsArray(arr)) {
        mer_error("'%s': metadata '%s' missing or not a JSON array", mer_st_path(f), key);
        goto done;
    }
    if (!(*out = calloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(char *)))) {
        mer_error("out of memory");
        goto done;
    }
    for (const cJSON *it = arr->child; it; it = it->next) {
        if (!cJSON_IsString(it) || !((*out)[*n] = strdup(it->valuestring))) {
            mer_error("'%s': metadata '%s': item %zu is not a string", mer_st_path(f), key, *n);
            goto done;
        }
        (*n)++;
    }
    ret = 0;
done:
    cJSON_Delete(arr);
    return ret;
}

/* Copies a 1-D tensor of n elements of the given dtype into a new array. */
static void *column(const mer_st_file *f, const char *name, enum mer_dtype dt, size_t n)
{
    const struct mer_st_tensor *t = mer_st_find(f, name);
    void *v;
    if (!t || t->dtype != dt || t->ndim != 1 || (size_t)t->shape[0] != n) {
        mer_error("'%s': tensor '%s' must be %s [%zu]", mer_st_path(f), name, mer_dtype_name(dt), n);
        return NULL;
    }
    if (!(v = malloc(t->nbytes + 1))) {
        mer_error("out of memory");
        return NULL;
    }
    memcpy(v, t->data, t->nbytes);
    return v;
}

static int check_ranges(const struct mer_labels *l, const char *path)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->label[i] < -1 || l->label[i] >= l->n_classes || l->split[i] < 0 ||
            l->split[i] >= l->n_splits)
            return mer_error("'%s': sample '%s': label %lld or split %lld out of range", path,
                             l->names[i], (long long)l->label[i], (long long)l->split[i]);
    return 0;
}

int mer_labels_read_store(struct mer_labels **out, const char *path)
{
    struct mer_labels *l = calloc(1, sizeof(*l));
    mer_st_file *f = NULL;
    const char *kind;
    size_t nc = 0, ns = 0;
    int ret = -1;
    if (!l)
        return mer_error("out of memory");
    if (mer_st_open(&f, path, MER_ST_VERIFY | MER_ST_REQUIRE_MER) < 0)
        goto done;
    kind = mer_st_meta(f, "mer.kind");
    if (!kind || strcmp(kind, "labels")) {
        mer_error("'%s': not a labels store (mer.kind is '%s'); make one with mer import-labels",
                  path, kind ? kind : "");
        goto done;
    }
    if (string_array(f, "mer.ids", &l->names, &l->n) < 0 ||
        string_array(f, "mer.classes", &l->classes, &nc) < 0 ||
        string_array(f, "mer.splits", &l->splits, &ns) < 0)
        goto done;
    l->n_classes = (int)nc;
    l->n_splits = (int)ns;
    if (!(l->label = column(f, "label", MER_DTYPE_I64, l->n)) ||
        !(l->valence = column(f, "valence", MER_DTYPE_F32, l->n)) ||
        !(l->split = column(f, "split", MER_DTYPE_I64, l->n)) || check_ranges(l, path) < 0)
        goto done;
    *out = l;
    l = NULL;
    ret = 0;
done:
    mer_st_close(f);
    mer_labels_free(l);
    return ret;
}
