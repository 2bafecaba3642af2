/* Feature stores: one safetensors file or a directory of parts with index.json. See store.h. */
#include "mer/error.h"
#include "mer/fs.h"
#include "mer/store.h"
#include "mer/strmap.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INDEX_FORMAT "mer-store-index"

struct part {
    mer_st_file *f;
    const struct mer_st_tensor *features; /* NULL for stores without features */
    const struct mer_st_tensor *offsets;  /* NULL at utterance level */
};

struct mer_store {
    struct part *parts;
    size_t n_parts;
    char **ids; /* [n] owned */
    size_t n;
    size_t *part_of; /* [n] */
    size_t *row_of;  /* [n] row within its part */
    struct mer_strmap map;
    int64_t dim;  /* D, from the first part that has samples */
    int have_dim; /* dim is set */
    int sequence; /* some part has offsets */
};

void mer_store_close(mer_store *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_parts; i++)
        mer_st_close(s->parts[i].f);
    for (size_t i = 0; i < s->n; i++)
        free(s->ids[i]);
    mer_strmap_release(&s->map);
    free(s->parts);
    free(s->ids);
    free(s->part_of);
    free(s->row_of);
    free(s);
}

/* Appends the names in a part's mer.ids to the store's sample list. */
static int add_ids(mer_store *s, size_t p)
{
    const char *path = mer_st_path(s->parts[p].f), *json = mer_st_meta(s->parts[p].f, "mer.ids");
    cJSON *arr = json ? cJSON_ParseWithOpts(json, NULL, 1) : NULL, *it;
    size_t count, base = s->n;
    int ret = -1;
    if (!cJSON_IsArray(arr)) {
        mer_error("'%s': metadata 'mer.ids' missing or not a JSON array", path);
        goto done;
    }
    count = (size_t)cJSON_GetArraySize(arr);
    {
        char **ids = realloc(s->ids, (base + count + 1) * sizeof(*ids));
        size_t *po = ids ? realloc(s->part_of, (base + count + 1) * sizeof(*po)) : NULL;
        size_t *ro = po ? realloc(s->row_of, (base + count + 1) * sizeof(*ro)) : NULL;
        if (ids)
            s->ids = ids;
        if (po)
            s->part_of = po;
        if (!ro) {
            mer_error("out of memory");
            goto done;
        }
        s->row_of = ro;
    }
    cJSON_ArrayForEach(it, arr)
    {
        if (!cJSON_IsString(it) || !(s->ids[s->n] = strdup(it->valuestring))) {
            mer_error("'%s': metadata 'mer.ids': item %zu is not a string", path, s->n - base);
            goto done;
        }
        s->part_of[s->n] = p;
        s->row_of[s->n] = s->n - base;
        s->n++;
    }
    ret = 0;
done:
    cJSON_Delete(arr);
    return ret;
}

static int same_string(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

/* offsets [n_rows + 1]: 0, non-decreasing, ending at the feature rows. */
static int check_offsets(const char *path, const struct mer_st_tensor *o, size_t n_rows,
                         int64_t frames)
{
    int64_t prev = 0, v;
    if (o->dtype != MER_DTYPE_I64 || o->ndim != 1 || (size_t)o->shape[0] != n_rows + 1)
        return mer_error("'%s': tensor 'offsets' must be I64 [%zu] (samples + 1)", path,
                         n_rows + 1);
    for (size_t i = 0; i <= n_rows; i++) {
        memcpy(&v, (const char *)o->data + i * 8, 8);
        if (v < prev || v > frames || (i == 0 && v != 0) || (i == n_rows && v != frames))
            return mer_error("'%s': offsets[%zu] = %lld is out of order or range (%lld frames)",
                             path, i, (long long)v, (long long)frames);
        prev = v;
    }
    return 0;
}

/* Checks a part's kind, features and offsets against its ids and the other parts. */
static int check_part(mer_store *s, size_t p, size_t n_rows)
{
    struct part *pt = &s->parts[p];
    const char *path = mer_st_path(pt->f), *kind = mer_st_meta(pt->f, "mer.kind");
    const char *kind0 = mer_st_meta(s->parts[0].f, "mer.kind");
    const struct mer_st_tensor *x = mer_st_find(pt->f, "features");
    const struct mer_st_tensor *o = mer_st_find(pt->f, "offsets");
    if (!same_string(kind, kind0))
        return mer_error("'%s': mer.kind '%s' differs from the first part's '%s'", path,
                         kind ? kind : "", kind0 ? kind0 : "");
    if (!x)
        return o ? mer_error("'%s': tensor 'offsets' without 'features'", path) : 0;
    if (x->ndim != 2 || (x->dtype != MER_DTYPE_F32 && x->dtype != MER_DTYPE_F16))
        return mer_error("'%s': tensor 'features' must be F32 or F16 [rows, D]", path);
    if (o && check_offsets(path, o, n_rows, x->shape[0]) < 0)
        return -1;
    if (!o && (size_t)x->shape[0] != n_rows)
        return mer_error("'%s': %lld feature rows for %zu sample ids", path, (long long)x->shape[0],
                         n_rows);
    if (n_rows && s->have_dim && x->shape[1] != s->dim)
        return mer_error("'%s': features [.., %lld] do not match the other parts' [.., %lld]", path,
                         (long long)x->shape[1], (long long)s->dim);
    if (n_rows) {
        s->dim = x->shape[1];
        s->have_dim = 1;
    }
    s->sequence |= o != NULL;
    pt->features = x;
    pt->offsets = o;
    return 0;
}

static int open_part(mer_store *s, const char *path, unsigned flags)
{
    size_t before = s->n, p = s->n_parts;
    struct part *grown = realloc(s->parts, (p + 1) * sizeof(*grown));
    if (!grown)
        return mer_error("out of memory");
    s->parts = grown;
    memset(&s->parts[p], 0, sizeof(s->parts[p]));
    if (mer_st_open(&s->parts[p].f, path, flags | MER_ST_REQUIRE_MER) < 0)
        return -1;
    s->n_parts++;
    if (add_ids(s, p) < 0)
        return -1;
    return check_part(s, p, s->n - before);
}

/* 1 if dir holds a *.npy file (features not imported yet, as MERTools writes them). */
static int has_npy(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int found = 0;
    while (d && !found && (e = readdir(d))) {
        size_t len = strlen(e->d_name);
        found = len > 4 && !strcmp(e->d_name + len - 4, ".npy");
    }
    if (d)
        closedir(d);
    return found;
}

/* Reads <dir>/index.json and opens every part it lists. */
static int open_dir(mer_store *s, const char *dir, unsigned flags)
{
    char *index = mer_path_join(dir, "index.json"), *text = NULL;
    cJSON *root = NULL, *parts, *it;
    const cJSON *fmt, *ver;
    int ret = -1;
    if (!index) {
        mer_error("out of memory");
        goto done;
    }
    if (!mer_path_exists(index)) {
        if (has_npy(dir))
            mer_error("'%s' is a directory of .npy files, not a store (make a store with mer "
                      "import)",
                      dir);
        else
            mer_error("'%s': not a store: no index.json in the directory (sharded imports write "
                      "it after their part)",
                      dir);
        goto done;
    }
    if (mer_read_file(index, &text, NULL) < 0)
        goto done;
    root = cJSON_ParseWithOpts(text, NULL, 1);
    fmt = cJSON_GetObjectItemCaseSensitive(root, "mer.format");
    ver = cJSON_GetObjectItemCaseSensitive(root, "mer.version");
    parts = cJSON_GetObjectItemCaseSensitive(root, "parts");
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, INDEX_FORMAT) || !cJSON_IsArray(parts)) {
        mer_error("'%s': not a mer store index (expected mer.format '%s' and a parts array)", index,
                  INDEX_FORMAT);
        goto done;
    }
    if (!cJSON_IsNumber(ver) || ver->valuedouble < 1 || ver->valuedouble > MER_STORE_VERSION) {
        mer_error("'%s': mer.version is not one this mer reads (1 to %d)", index,
                  MER_STORE_VERSION);
        goto done;
    }
    cJSON_ArrayForEach(it, parts)
    {
        char *part;
        int r;
        if (!cJSON_IsString(it) || !*it->valuestring || strchr(it->valuestring, '/')) {
            mer_error("'%s': parts must be file names in the same directory", index);
            goto done;
        }
        part = mer_path_join(dir, it->valuestring);
        if (part && !mer_path_exists(part)) {
            mer_error("'%s': part '%s' is missing (a shard not finished yet?)", index,
                      it->valuestring);
            free(part);
            goto done;
        }
        r = part ? open_part(s, part, flags) : mer_error("out of memory");
        free(part);
        if (r < 0)
            goto done;
    }
    ret = 0;
done:
    cJSON_Delete(root);
    free(text);
    free(index);
    return ret;
}

int mer_store_open(mer_store **out, const char *path, unsigned flags)
{
    mer_store *s = calloc(1, sizeof(*s));
    size_t dup = 0;
    int r;
    *out = NULL;
    if (!s)
        return mer_error("out of memory");
    r = mer_is_dir(path) ? open_dir(s, path, flags) : open_part(s, path, flags);
    if (r == 0 && mer_strmap_build(&s->map, (const char *const *)s->ids, s->n, &dup) < 0)
        r = mer_error("'%s': sample '%s' appears twice", path, s->ids[dup]);
    if (r == 0 && s->n_parts == 0)
        r = mer_error("'%s': the index lists no parts", path);
    if (r < 0) {
        mer_store_close(s);
        return -1;
    }
    *out = s;
    return 0;
}

const char *mer_store_kind(const mer_store *s)
{
    return mer_st_meta(s->parts[0].f, "mer.kind");
}

size_t mer_store_n_samples(const mer_store *s)
{
    return s->n;
}

const char *mer_store_sample_id(const mer_store *s, size_t i)
{
    return i < s->n ? s->ids[i] : NULL;
}

int64_t mer_store_find_sample(const mer_store *s, const char *name)
{
    return mer_strmap_get(&s->map, name);
}

int64_t mer_store_dim(const mer_store *s)
{
    return s->dim;
}

int mer_store_is_sequence(const mer_store *s)
{
    return s->sequence;
}

static int64_t offset_at(const struct mer_st_tensor *o, size_t i)
{
    int64_t v;
    memcpy(&v, (const char *)o->data + i * 8, 8);
    return v;
}

int64_t mer_store_n_frames(const mer_store *s, size_t i)
{
    const struct part *p = &s->parts[s->part_of[i]];
    size_t r = s->row_of[i];
    return p->offsets ? offset_at(p->offsets, r + 1) - offset_at(p->offsets, r) : 1;
}

int mer_store_read(const mer_store *s, size_t i, float *out)
{
    const struct part *p;
    int64_t first, count;
    size_t n;
    if (i >= s->n)
        return mer_error("'%s': sample index %zu out of range (%zu samples)",
                         mer_st_path(s->parts[0].f), i, s->n);
    p = &s->parts[s->part_of[i]];
    if (!p->features)
        return mer_error("'%s': no 'features' tensor", mer_st_path(p->f));
    first = p->offsets ? offset_at(p->offsets, s->row_of[i]) : (int64_t)s->row_of[i];
    count = mer_store_n_frames(s, i);
    n = (size_t)(count * s->dim);
    if (p->features->dtype == MER_DTYPE_F32) {
        memcpy(out, (const float *)p->features->data + (size_t)first * (size_t)s->dim,
               n * sizeof(float));
    } else {
        mer_f16_to_f32_n(out, (const char *)p->features->data + (size_t)first * (size_t)s->dim * 2,
                         n);
    }
    return 0;
}

const char *mer_store_meta(const mer_store *s, const char *key)
{
    return mer_st_meta(s->parts[0].f, key);
}

size_t mer_store_n_parts(const mer_store *s)
{
    return s->n_parts;
}

const mer_st_file *mer_store_part(const mer_store *s, size_t i)
{
    return i < s->n_parts ? s->parts[i].f : NULL;
}

int mer_store_verify(const mer_store *s)
{
    for (size_t i = 0; i < s->n_parts; i++)
        if (mer_st_verify(s->parts[i].f) < 0)
            return -1;
    return 0;
}

/* ---- writing ---- */

char *mer_st_json_strings(const char *const *v, size_t n)
{
    cJSON *arr = cJSON_CreateArray();
    char *text = NULL;
    for (size_t i = 0; arr && i < n; i++) {
        cJSON *s = v[i] ? cJSON_CreateString(v[i]) : NULL;
        if (!s)
            goto done;
        cJSON_AddItemToArray(arr, s);
    }
    text = arr ? cJSON_PrintUnformatted(arr) : NULL;
done:
    cJSON_Delete(arr);
    return text;
}

static int check_features_out(const char *path, const struct mer_features_out *o)
{
    if (o->dtype != MER_DTYPE_F32 && o->dtype != MER_DTYPE_F16)
        return mer_error("'%s': features must be stored as F32 or F16, not %s", path,
                         mer_dtype_name(o->dtype));
    if (o->dim < 0 || (o->n && !o->ids))
        return mer_error("'%s': bad features (dimension %lld)", path, (long long)o->dim);
    if (o->offsets) {
        if (o->offsets[0] != 0)
            return mer_error("'%s': offsets[0] is %lld, expected 0", path,
                             (long long)o->offsets[0]);
        for (size_t i = 0; i < o->n; i++)
            if (o->offsets[i + 1] < o->offsets[i])
                return mer_error("'%s': offsets decrease at sample %zu", path, i);
    }
    return 0;
}

/* The features as little-endian halves (new buffer); refuses values beyond float16's range,
 * which would silently become inf. */
static void *to_half(const char *path, const float *x, size_t count, int64_t dim)
{
    unsigned char *half = malloc(count * 2 + 1);
    if (!half) {
        mer_error("out of memory");
        return NULL;
    }
    for (size_t i = 0; i < count; i++)
        if (isfinite(x[i]) && fabsf(x[i]) > 65504.0f) {
            mer_error("'%s': value %g at row %zu, column %zu is beyond the float16 range "
                      "(65504); store as f32",
                      path, (double)x[i], i / (size_t)dim, i % (size_t)dim);
            free(half);
            return NULL;
        }
    mer_f32_to_f16_n(half, x, count);
    return half;
}

static int add_extra(mer_st_writer *w, const struct mer_features_out *o)
{
    for (size_t i = 0; i < o->n_extra; i++) {
        const struct mer_st_tensor *t = &o->extra[i];
        if (mer_st_writer_add(w, t->name, t->dtype, t->ndim, t->shape, t->data) < 0)
            return -1;
    }
    return 0;
}

int mer_store_write_features(const char *path, const struct mer_features_out *o)
{
    mer_st_writer *w = NULL;
    size_t rows, count;
    void *half = NULL;
    int64_t shape[2], oshape[1] = {(int64_t)o->n + 1};
    int ret = -1;
    if (check_features_out(path, o) < 0)
        return -1;
    rows = o->offsets ? (size_t)o->offsets[o->n] : o->n;
    count = rows * (size_t)o->dim;
    shape[0] = (int64_t)rows;
    shape[1] = o->dim;
    w = mer_st_writer_new();
    if (!w) {
        mer_error("out of memory");
        goto done;
    }
    if (!o->n_pieces && o->dtype == MER_DTYPE_F16 &&
        !(half = to_half(path, o->data, count, o->dim)))
        goto done;
    if ((o->n_pieces
             ? mer_st_writer_add_pieces(w, "features", o->dtype, 2, shape, o->pieces,
                                        o->piece_bytes, o->n_pieces)
             : mer_st_writer_add(w, "features", o->dtype, 2, shape, half ? half : o->data)) < 0 ||
        (o->offsets && mer_st_writer_add(w, "offsets", MER_DTYPE_I64, 1, oshape, o->offsets) < 0) ||
        add_extra(w, o) < 0 || mer_st_writer_set_meta(w, "mer.kind", "features") < 0 ||
        mer_st_writer_set_strings(w, "mer.ids", o->ids, o->n) < 0 ||
        (o->provenance && mer_st_writer_set_meta(w, "mer.provenance", o->provenance) < 0))
        goto done;
    ret = mer_st_writer_write(w, path);
done:
    free(half);
    mer_st_writer_free(w);
    return ret;
}

char *mer_store_part_path(const char *dir, int i)
{
    char name[64];
    snprintf(name, sizeof(name), "part-%05d.safetensors", i);
    return mer_path_join(dir, name);
}

int mer_store_write_index(const char *dir, int n_parts)
{
    cJSON *root = cJSON_CreateObject(), *parts = cJSON_CreateArray();
    char *path = mer_path_join(dir, "index.json");
    int ret = -1;
    if (!root || !parts || !path) {
        cJSON_Delete(parts);
        mer_error("out of memory");
        goto done;
    }
    cJSON_AddStringToObject(root, "mer.format", INDEX_FORMAT);
    cJSON_AddNumberToObject(root, "mer.version", MER_STORE_VERSION);
    for (int i = 0; i < n_parts; i++) {
        char name[64];
        snprintf(name, sizeof(name), "part-%05d.safetensors", i);
        cJSON_AddItemToArray(parts, cJSON_CreateString(name));
    }
    cJSON_AddItemToObject(root, "parts", parts);
    ret = mer_write_json_atomic(path, root);
done:
    free(path);
    cJSON_Delete(root);
    return ret;
}
