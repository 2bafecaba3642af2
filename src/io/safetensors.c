/* One safetensors file: a paranoid reader (mmap). The writer is st_writer.c. See store.h. */
#include "mer/error.h"
#include "mer/fs.h"
#include "mer/store.h"
#include "mer/strv.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct {
    const char *name;
    size_t size;
} dtypes[] = {
    [MER_DTYPE_F32] = {"F32", 4},   [MER_DTYPE_F16] = {"F16", 2}, [MER_DTYPE_F64] = {"F64", 8},
    [MER_DTYPE_I64] = {"I64", 8},   [MER_DTYPE_I32] = {"I32", 4}, [MER_DTYPE_U8] = {"U8", 1},
    [MER_DTYPE_BF16] = {"BF16", 2},
};

const char *mer_dtype_name(enum mer_dtype dt)
{
    return (size_t)dt < MER_ARRAY_SIZE(dtypes) ? dtypes[dt].name : "?";
}

size_t mer_dtype_size(enum mer_dtype dt)
{
    return (size_t)dt < MER_ARRAY_SIZE(dtypes) ? dtypes[dt].size : 0;
}

static int dtype_from_name(const char *s, enum mer_dtype *dt)
{
    for (size_t i = 0; i < MER_ARRAY_SIZE(dtypes); i++)
        if (!strcmp(dtypes[i].name, s)) {
            *dt = (enum mer_dtype)i;
            return 0;
        }
    return -1;
}

/* ---- reader ---- */

struct meta_kv {
    char *key, *value;
};

struct mer_st_file {
    char *path;
    const unsigned char *map; /* whole file (mmap'd, or borrowed memory) */
    size_t map_size;
    int mapped;
    const unsigned char *data; /* data section */
    size_t data_size;
    struct mer_st_tensor *tensors;
    size_t n_tensors;
    struct meta_kv *meta;
    size_t n_meta;
};

void mer_st_close(mer_st_file *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n_tensors; i++)
        free((char *)f->tensors[i].name);
    for (size_t i = 0; i < f->n_meta; i++) {
        free(f->meta[i].key);
        free(f->meta[i].value);
    }
    if (f->mapped && f->map)
        munmap((void *)f->map, f->map_size);
    free(f->tensors);
    free(f->meta);
    free(f->path);
    free(f);
}

static int by_string(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A name that occurs twice in names[0..n-1] (sorted in place), or NULL. */
static const char *find_duplicate(const char **names, size_t n)
{
    qsort(names, n, sizeof(*names), by_string);
    for (size_t i = 1; i < n; i++)
        if (!strcmp(names[i - 1], names[i]))
            return names[i];
    return NULL;
}

static int check_unique_meta(mer_st_file *f)
{
    const char **keys = malloc((f->n_meta + 1) * sizeof(*keys)), *dup;
    if (!keys)
        return mer_error("out of memory");
    for (size_t i = 0; i < f->n_meta; i++)
        keys[i] = f->meta[i].key;
    dup = find_duplicate(keys, f->n_meta);
    if (dup)
        mer_error("'%s': header: __metadata__ key '%s' appears twice", f->path, dup);
    free(keys);
    return dup ? -1 : 0;
}

static int parse_metadata(mer_st_file *f, const cJSON *obj)
{
    const cJSON *it;
    if (f->meta)
        return mer_error("'%s': header: __metadata__ appears twice", f->path);
    if (!cJSON_IsObject(obj))
        return mer_error("'%s': header: __metadata__ is not an object", f->path);
    f->meta = calloc((size_t)cJSON_GetArraySize(obj) + 1, sizeof(*f->meta));
    if (!f->meta)
        return mer_error("out of memory");
    cJSON_ArrayForEach(it, obj)
    {
        struct meta_kv *kv = &f->meta[f->n_meta];
        if (!cJSON_IsString(it))
            return mer_error("'%s': header: __metadata__ '%s' is not a string", f->path,
                             it->string);
        kv->key = strdup(it->string);
        kv->value = strdup(it->valuestring);
        f->n_meta++;
        if (!kv->key || !kv->value)
            return mer_error("out of memory");
    }
    return check_unique_meta(f);
}

/* A JSON number that is an exact non-negative integer: 0, or -1 if it is not one, or -2 if
 * it is 2^53 or more (where doubles, and so cJSON, lose integers). */
static int json_uint(const cJSON *v, int64_t *out)
{
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0))
        return -1;
    if (v->valuedouble >= 9007199254740992.0)
        return -2;
    if (v->valuedouble != (double)(int64_t)v->valuedouble)
        return -1;
    *out = (int64_t)v->valuedouble;
    return 0;
}

static int parse_shape(mer_st_file *f, struct mer_st_tensor *t, const cJSON *shape)
{
    const cJSON *d;
    t->numel = 1;
    if (!cJSON_IsArray(shape) || cJSON_GetArraySize(shape) > MER_ST_MAX_DIMS)
        return mer_error("'%s': header: tensor '%s': shape must be an array of at most %d sizes",
                         f->path, t->name, MER_ST_MAX_DIMS);
    cJSON_ArrayForEach(d, shape)
    {
        int64_t v = 0;
        int r = json_uint(d, &v);
        if (r == -1)
            return mer_error("'%s': header: tensor '%s': shape holds a non-integer or "
                             "negative size",
                             f->path, t->name);
        /* numel stays below 2^63 / 16, so numel * element size cannot overflow either. */
        if (r == -2 || (v && t->numel > INT64_MAX / 16 / v))
            return mer_error("'%s': header: tensor '%s': shape is too large (the element count "
                             "overflows)",
                             f->path, t->name);
        t->shape[t->ndim++] = v;
        t->numel *= v;
    }
    return 0;
}

static int parse_offsets(mer_st_file *f, struct mer_st_tensor *t, const cJSON *off, int64_t *b)
{
    int64_t e = 0;
    /* (An offset of 2^53 or more, refused here, could not fit in a real file either.) */
    if (!cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2 ||
        json_uint(cJSON_GetArrayItem(off, 0), b) < 0 ||
        json_uint(cJSON_GetArrayItem(off, 1), &e) < 0 || e < *b)
        return mer_error("'%s': header: tensor '%s': data_offsets must be [begin, end] with "
                         "0 <= begin <= end",
                         f->path, t->name);
    if ((uint64_t)e > f->data_size)
        return mer_error("'%s': header: tensor '%s': data_offsets [%" PRId64 ", %" PRId64
                         "] exceed the data section of %zu bytes (truncated?)",
                         f->path, t->name, *b, e, f->data_size);
    t->nbytes = (size_t)(e - *b);
    if ((uint64_t)t->numel * mer_dtype_size(t->dtype) != t->nbytes)
        return mer_error("'%s': header: tensor '%s': %zu bytes at data_offsets [%" PRId64
                         ", %" PRId64 "], but shape and dtype need %" PRIu64,
                         f->path, t->name, t->nbytes, *b, e,
                         (uint64_t)t->numel * mer_dtype_size(t->dtype));
    t->data = f->data + *b;
    return 0;
}

static int parse_tensor(mer_st_file *f, struct mer_st_tensor *t, const cJSON *obj, int64_t *begin)
{
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(obj, "dtype");
    if (!cJSON_IsObject(obj))
        return mer_error("'%s': header: tensor '%s' is not an object", f->path, t->name);
    if (!cJSON_IsString(dt))
        return mer_error("'%s': header: tensor '%s': missing dtype", f->path, t->name);
    if (dtype_from_name(dt->valuestring, &t->dtype) < 0)
        return mer_error("'%s': header: tensor '%s': unsupported dtype '%.20s'", f->path, t->name,
                         dt->valuestring);
    if (parse_shape(f, t, cJSON_GetObjectItemCaseSensitive(obj, "shape")) < 0)
        return -1;
    return parse_offsets(f, t, cJSON_GetObjectItemCaseSensitive(obj, "data_offsets"), begin);
}

struct span {
    int64_t begin;
    size_t nbytes;
    size_t index;
};

/* By offset; at one offset empty tensors first (they end there too), then header order. */
static int by_begin(const void *a, const void *b)
{
    const struct span *x = a, *y = b;
    if (x->begin != y->begin)
        return (x->begin > y->begin) - (x->begin < y->begin);
    if (x->nbytes != y->nbytes)
        return (x->nbytes > y->nbytes) - (x->nbytes < y->nbytes);
    return (x->index > y->index) - (x->index < y->index);
}

/* The spec: tensors cover the data section exactly, without holes or overlaps. */
static int check_layout(mer_st_file *f, struct span *spans)
{
    size_t at = 0;
    qsort(spans, f->n_tensors, sizeof(*spans), by_begin);
    for (size_t i = 0; i < f->n_tensors; i++) {
        const struct mer_st_tensor *t = &f->tensors[spans[i].index];
        if ((size_t)spans[i].begin != at)
            return mer_error("'%s': header: tensor '%s' starts at byte %" PRId64
                             " of the data section, expected %zu (overlap or hole)",
                             f->path, t->name, spans[i].begin, at);
        at += t->nbytes;
    }
    if (at != f->data_size)
        return mer_error("'%s': data section is %zu bytes but the tensors use %zu (%s)", f->path,
                         f->data_size, at, at > f->data_size ? "truncated?" : "trailing bytes");
    return 0;
}

static int check_unique_tensors(mer_st_file *f)
{
    const char **names = malloc((f->n_tensors + 1) * sizeof(*names)), *dup;
    if (!names)
        return mer_error("out of memory");
    for (size_t i = 0; i < f->n_tensors; i++)
        names[i] = f->tensors[i].name;
    dup = find_duplicate(names, f->n_tensors);
    if (dup)
        mer_error("'%s': header: tensor '%s' appears twice", f->path, dup);
    free(names);
    return dup ? -1 : 0;
}

/* Puts the tensors in file (data offset) order, the order mer_st_tensor_at reports. */
static int sort_tensors(mer_st_file *f, const struct span *spans)
{
    struct mer_st_tensor *sorted = calloc(f->n_tensors + 1, sizeof(*sorted));
    if (!sorted)
        return mer_error("out of memory");
    for (size_t i = 0; i < f->n_tensors; i++)
        sorted[i] = f->tensors[spans[i].index];
    free(f->tensors);
    f->tensors = sorted;
    return 0;
}

/* Parses the header's entries; spans[i] gets tensor i's begin offset. */
static int parse_entries(mer_st_file *f, const cJSON *root, struct span *spans)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, root)
    {
        struct mer_st_tensor *t = &f->tensors[f->n_tensors];
        if (!strcmp(it->string, "__metadata__")) {
            if (parse_metadata(f, it) < 0)
                return -1;
            continue;
        }
        if (!(t->name = strdup(it->string)))
            return mer_error("out of memory");
        spans[f->n_tensors].index = f->n_tensors;
        f->n_tensors++;
        if (parse_tensor(f, t, it, &spans[f->n_tensors - 1].begin) < 0)
            return -1;
        spans[f->n_tensors - 1].nbytes = t->nbytes;
    }
    return 0;
}

/* The JSON must be one object; after it only the spaces that pad the header are allowed. */
static cJSON *parse_json(mer_st_file *f, const char *json, size_t len)
{
    const char *end = NULL, *nul = memchr(json, '\0', len);
    cJSON *root = NULL;
    if (!len || json[0] != '{') {
        mer_error("'%s': byte 8: the header does not start with '{' (not safetensors?)", f->path);
        return NULL;
    }
    if (nul) {
        mer_error("'%s': byte %zu: NUL byte in the header", f->path, (size_t)(nul - json) + 8);
        return NULL;
    }
    root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    if (!root) {
        size_t at = end && end >= json && end <= json + len ? (size_t)(end - json) : 0;
        mer_error("'%s': byte %zu: header is not a JSON object (parse error here)", f->path,
                  at + 8);
        return NULL;
    }
    for (; end < json + len; end++)
        if (*end != ' ' && *end != '\t' && *end != '\r' && *end != '\n') {
            mer_error("'%s': byte %zu: text after the header's JSON object", f->path,
                      (size_t)(end - json) + 8);
            cJSON_Delete(root);
            return NULL;
        }
    return root;
}

static int parse_header(mer_st_file *f, const char *json, size_t len)
{
    cJSON *root = parse_json(f, json, len);
    struct span *spans = NULL;
    size_t n;
    int ret = -1;
    if (!root)
        return -1;
    n = (size_t)cJSON_GetArraySize(root);
    f->tensors = calloc(n + 1, sizeof(*f->tensors));
    spans = calloc(n + 1, sizeof(*spans));
    if (!f->tensors || !spans) {
        mer_error("out of memory");
        goto done;
    }
    if (parse_entries(f, root, spans) < 0 || check_unique_tensors(f) < 0 ||
        check_layout(f, spans) < 0 || sort_tensors(f, spans) < 0)
        goto done;
    ret = 0;
done:
    free(spans);
    cJSON_Delete(root);
    return ret;
}

/* A decimal number without sign or junk, or -1. */
static long parse_version(const char *s)
{
    long v = 0;
    if (!s || !*s || strlen(s) > 9)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (*s - '0');
    }
    return v;
}

static int check_format(mer_st_file *f, unsigned flags)
{
    const char *fmt = mer_st_meta(f, "mer.format"), *ver = mer_st_meta(f, "mer.version");
    long v = parse_version(ver);
    if (!fmt && !ver) {
        if (flags & MER_ST_REQUIRE_MER)
            return mer_error("'%s': not written by mer (no mer.format in __metadata__)", f->path);
        return 0;
    }
    if (!fmt || strcmp(fmt, MER_STORE_FORMAT))
        return mer_error("'%s': mer.format is '%.40s', expected '%s'", f->path, fmt ? fmt : "",
                         MER_STORE_FORMAT);
    if (v < 1 || v > MER_STORE_VERSION)
        return mer_error("'%s': mer.version %.20s is not supported by this mer (reads version "
                         "1 to %d%s)",
                         f->path, ver ? ver : "(missing)", MER_STORE_VERSION,
                         v > MER_STORE_VERSION ? "; a newer mer wrote it" : "");
    return 0;
}

int mer_st_verify(const mer_st_file *f)
{
    const char *want = mer_st_meta(f, "mer.checksum");
    char got[40];
    if (!want && mer_st_meta(f, "mer.format"))
        return mer_error("'%s': no mer.checksum in __metadata__, which every mer file has "
                         "(header damaged?)",
                         f->path);
    if (!want)
        return 0;
    if (!strncmp(want, MER_CHECKSUM_ALGO ":", sizeof(MER_CHECKSUM_ALGO)))
        snprintf(got, sizeof(got), MER_CHECKSUM_ALGO ":%016" PRIx64,
                 mer_xxh64(f->data, f->data_size, 0));
    else if (!strncmp(want, "fnv1a64:", 8))
        snprintf(got, sizeof(got), "fnv1a64:%016" PRIx64,
                 mer_checksum_update(MER_CHECKSUM_INIT, f->data, f->data_size));
    else
        return mer_error("'%s': mer.checksum '%.40s' names an unknown algorithm (this mer knows "
                         "%s and fnv1a64)",
                         f->path, want, MER_CHECKSUM_ALGO);
    if (strcmp(want, got))
        return mer_error("'%s': checksum mismatch: the data section (%zu bytes) hashes to %s but "
                         "the header says %.40s (file corrupted)",
                         f->path, f->data_size, got, want);
    return 0;
}

static int parse_file(mer_st_file *f, unsigned flags)
{
    uint64_t hlen = 0;
    if (f->map_size < 8)
        return mer_error("'%s': %zu bytes, too short for a safetensors file (truncated?)", f->path,
                         f->map_size);
    for (int i = 7; i >= 0; i--)
        hlen = (hlen << 8) | f->map[i];
    if (hlen > f->map_size - 8)
        return mer_error("'%s': byte 0: header length %" PRIu64 ", but only %zu bytes follow "
                         "(truncated, or not safetensors)",
                         f->path, hlen, f->map_size - 8);
    if (hlen > MER_ST_MAX_HEADER)
        return mer_error("'%s': byte 0: header length %" PRIu64 " is over the limit of %zu bytes",
                         f->path, hlen, MER_ST_MAX_HEADER);
    f->data = f->map + 8 + hlen;
    f->data_size = f->map_size - 8 - (size_t)hlen;
    if (parse_header(f, (const char *)f->map + 8, (size_t)hlen) < 0 || check_format(f, flags) < 0)
        return -1;
    return (flags & MER_ST_VERIFY) ? mer_st_verify(f) : 0;
}

int mer_st_open_memory(mer_st_file **out, const char *name, const void *data, size_t size,
                       unsigned flags)
{
    mer_st_file *f = calloc(1, sizeof(*f));
    *out = NULL;
    if (!f || !(f->path = strdup(name))) {
        free(f);
        return mer_error("out of memory");
    }
    f->map = data;
    f->map_size = size;
    if (parse_file(f, flags) < 0) {
        mer_st_close(f);
        return -1;
    }
    *out = f;
    return 0;
}

int mer_st_open_existing(mer_st_file **out, const char *path, unsigned flags)
{
    *out = NULL;
    if (!mer_path_exists(path))
        return 0;
    return mer_st_open(out, path, flags) < 0 ? -1 : 1;
}

int mer_st_open(mer_st_file **out, const char *path, unsigned flags)
{
    int fd = mer_open_regular(path);
    struct stat st;
    void *map = NULL;
    *out = NULL;
    if (fd < 0)
        return -1;
    if (fstat(fd, &st) < 0) {
        close(fd);
        return mer_error("'%s': cannot stat: %s", path, strerror(errno));
    }
    if (st.st_size > 0) {
        map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            close(fd);
            return mer_error("'%s': cannot map: %s", path, strerror(errno));
        }
    }
    close(fd);
    if (mer_st_open_memory(out, path, map ? map : "", (size_t)st.st_size, flags) < 0) {
        if (map)
            munmap(map, (size_t)st.st_size);
        return -1;
    }
    (*out)->mapped = map != NULL;
    return 0;
}

const char *mer_st_path(const mer_st_file *f)
{
    return f->path;
}

size_t mer_st_n_tensors(const mer_st_file *f)
{
    return f->n_tensors;
}

const struct mer_st_tensor *mer_st_tensor_at(const mer_st_file *f, size_t i)
{
    return i < f->n_tensors ? &f->tensors[i] : NULL;
}

const struct mer_st_tensor *mer_st_find(const mer_st_file *f, const char *name)
{
    for (size_t i = 0; i < f->n_tensors; i++)
        if (!strcmp(f->tensors[i].name, name))
            return &f->tensors[i];
    return NULL;
}

const char *mer_st_meta(const mer_st_file *f, const char *key)
{
    for (size_t i = 0; i < f->n_meta; i++)
        if (!strcmp(f->meta[i].key, key))
            return f->meta[i].value;
    return NULL;
}

int mer_st_meta_strings(const mer_st_file *f, const char *key, char ***out, size_t *n)
{
    const char *text = mer_st_meta(f, key);
    cJSON *arr = text ? cJSON_Parse(text) : NULL;
    const cJSON *it;
    size_t i = 0;
    int ret = -1;
    *out = NULL;
    *n = 0;
    if (!cJSON_IsArray(arr)) {
        mer_error("'%s': metadata '%s': %s", mer_st_path(f), key,
                  text ? "expected a JSON array of strings" : "missing");
        goto done;
    }
    *n = (size_t)cJSON_GetArraySize(arr);
    if (!(*out = calloc(*n + 1, sizeof(**out)))) {
        mer_error("out of memory");
        goto done;
    }
    cJSON_ArrayForEach(it, arr)
    {
        if (!cJSON_IsString(it)) {
            mer_error("'%s': metadata '%s': item %zu is not a string", mer_st_path(f), key, i);
            goto done;
        }
        if (!((*out)[i++] = strdup(it->valuestring))) {
            mer_error("out of memory");
            goto done;
        }
    }
    ret = 0;
done:
    if (ret < 0) {
        mer_strv_free(*out, i);
        *out = NULL;
        *n = 0;
    }
    cJSON_Delete(arr);
    return ret;
}

int mer_st_meta_number(const mer_st_file *f, const char *key, double min, double max, double *out)
{
    const char *v = mer_st_meta(f, key);
    char *end = NULL;
    double x;
    if (!v)
        return mer_error("'%s': metadata '%s' is missing", f->path, key);
    errno = 0;
    x = strtod(v, &end);
    if (end == v || *end || errno == ERANGE || !isfinite(x))
        return mer_error("'%s': metadata '%s' is '%.40s', not a finite number", f->path, key, v);
    if (!(x >= min && x <= max))
        return mer_error("'%s': metadata '%s' is %.17g, outside %.17g to %.17g (file damaged, or "
                         "not written by this mer?)",
                         f->path, key, x, min, max);
    *out = x;
    return 0;
}

int mer_st_meta_int(const mer_st_file *f, const char *key, int64_t min, int64_t max, int64_t *out)
{
    double x;
    if (min < -MER_ST_META_INT_MAX || max > MER_ST_META_INT_MAX)
        MER_BUG("mer_st_meta_int: range past 2^53");
    if (mer_st_meta_number(f, key, (double)min, (double)max, &x) < 0)
        return -1;
    if (x != floor(x))
        return mer_error("'%s': metadata '%s' is %.17g, not a whole number", f->path, key, x);
    *out = (int64_t)x;
    return 0;
}

size_t mer_st_n_meta(const mer_st_file *f)
{
    return f->n_meta;
}

void mer_st_meta_at(const mer_st_file *f, size_t i, const char **key, const char **value)
{
    *key = i < f->n_meta ? f->meta[i].key : NULL;
    *value = i < f->n_meta ? f->meta[i].value : NULL;
}

int mer_st_has_checksum(const mer_st_file *f)
{
    return mer_st_meta(f, "mer.checksum") != NULL;
}

size_t mer_st_header_size(const mer_st_file *f)
{
    return (size_t)(f->data - f->map);
}

size_t mer_st_data_size(const mer_st_file *f)
{
    return f->data_size;
}
