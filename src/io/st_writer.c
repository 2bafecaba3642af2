/* The safetensors writer: header by cJSON, data appended, all through the atomic writer. */
#include "mer/error.h"
#include "mer/fs.h"
#include "mer/names.h"
#include "mer/store.h"
#include "mer/utf8.h"
#include "mer/version.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct wtensor {
    char *name;
    enum mer_dtype dtype;
    int ndim;
    int64_t shape[MER_ST_MAX_DIMS];
    const void *data;
    size_t nbytes;
    const void *const *pieces; /* or the data in n_pieces pieces (mer_st_writer_add_pieces) */
    const size_t *piece_bytes;
    size_t n_pieces;
};

struct mer_st_writer {
    struct wtensor *t;
    size_t n, cap;
    cJSON *meta; /* object of strings */
};

mer_st_writer *mer_st_writer_new(void)
{
    mer_st_writer *w = calloc(1, sizeof(*w));
    if (w && !(w->meta = cJSON_CreateObject())) {
        free(w);
        w = NULL;
    }
    return w;
}

void mer_st_writer_free(mer_st_writer *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->n; i++)
        free(w->t[i].name);
    free(w->t);
    cJSON_Delete(w->meta);
    free(w);
}

/* Room for one more tensor. */
static int grow(mer_st_writer *w)
{
    size_t cap = w->cap ? 2 * w->cap : 8;
    struct wtensor *grown;
    if (w->n < w->cap)
        return 0;
    grown = realloc(w->t, cap * sizeof(*grown));
    if (!grown)
        return mer_error("out of memory");
    w->t = grown;
    w->cap = cap;
    return 0;
}

/* Bytes of a tensor of that shape and dtype; -1 with the error set if it overflows. */
static int tensor_bytes(const char *name, enum mer_dtype dt, int ndim, const int64_t *shape,
                        size_t *nbytes)
{
    uint64_t total = mer_dtype_size(dt);
    if (!total)
        return mer_error("tensor '%s': unknown dtype %d", name, (int)dt);
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return mer_error("tensor '%s': negative size %lld", name, (long long)shape[i]);
        if (shape[i] && total > (uint64_t)INT64_MAX / 16 / (uint64_t)shape[i])
            return mer_error("tensor '%s': too large", name);
        total *= (uint64_t)shape[i];
    }
    if (total > SIZE_MAX)
        return mer_error("tensor '%s': too large", name);
    *nbytes = (size_t)total;
    return 0;
}

int mer_st_writer_add(mer_st_writer *w, const char *name, enum mer_dtype dt, int ndim,
                      const int64_t *shape, const void *data)
{
    struct wtensor *t;
    size_t nbytes = 0;
    if (!*name || !strcmp(name, "__metadata__"))
        return mer_error("tensor name '%s' is not allowed", name);
    if (ndim < 0 || ndim > MER_ST_MAX_DIMS)
        return mer_error("tensor '%s': %d dimensions (at most %d)", name, ndim, MER_ST_MAX_DIMS);
    for (size_t i = 0; i < w->n; i++)
        if (!strcmp(w->t[i].name, name))
            return mer_error("tensor '%s' added twice", name);
    if (tensor_bytes(name, dt, ndim, shape, &nbytes) < 0)
        return -1;
    if (nbytes && !data)
        return mer_error("tensor '%s': no data", name);
    if (grow(w) < 0)
        return -1;
    t = &w->t[w->n];
    memset(t, 0, sizeof(*t));
    if (!(t->name = strdup(name)))
        return mer_error("out of memory");
    for (int i = 0; i < ndim; i++)
        t->shape[i] = shape[i];
    t->dtype = dt;
    t->ndim = ndim;
    t->data = data;
    t->nbytes = nbytes;
    w->n++;
    return 0;
}

int mer_st_writer_add_pieces(mer_st_writer *w, const char *name, enum mer_dtype dt, int ndim,
                             const int64_t *shape, const void *const *pieces,
                             const size_t *piece_bytes, size_t n_pieces)
{
    size_t total = 0;
    struct wtensor *t;
    for (size_t i = 0; i < n_pieces; i++)
        total += piece_bytes[i];
    /* (the data pointer only has to be set: the pieces are what is written) */
    if (mer_st_writer_add(w, name, dt, ndim, shape, total ? (const void *)pieces : NULL) < 0)
        return -1;
    t = &w->t[w->n - 1];
    if (total != t->nbytes) {
        free(t->name);
        w->n--;
        return mer_error("tensor '%s': %zu bytes in its pieces, but its shape holds %zu", name,
                         total, t->nbytes);
    }
    t->pieces = pieces;
    t->piece_bytes = piece_bytes;
    t->n_pieces = n_pieces;
    return 0;
}

/* Calls fn over each contiguous piece of tensor t's data, in order; stops at fn's first -1. */
static int each_piece(const struct wtensor *t, int (*fn)(void *arg, const void *p, size_t n),
                      void *arg)
{
    if (!t->n_pieces)
        return t->nbytes ? fn(arg, t->data, t->nbytes) : 0;
    for (size_t i = 0; i < t->n_pieces; i++)
        if (t->piece_bytes[i] && fn(arg, t->pieces[i], t->piece_bytes[i]) < 0)
            return -1;
    return 0;
}

static int hash_piece(void *h, const void *p, size_t n)
{
    mer_xxh64_update(h, p, n);
    return 0;
}

static int write_piece(void *fp, const void *p, size_t n)
{
    return fwrite(p, 1, n, fp) == n ? 0 : -1;
}

int mer_st_writer_set_meta(mer_st_writer *w, const char *key, const char *value)
{
    cJSON *s;
    if (!key || !value)
        return mer_error("metadata: NULL key or value");
    if (!(s = cJSON_CreateString(value)))
        return mer_error("out of memory");
    if (cJSON_GetObjectItemCaseSensitive(w->meta, key))
        cJSON_ReplaceItemInObjectCaseSensitive(w->meta, key, s);
    else
        cJSON_AddItemToObject(w->meta, key, s);
    return 0;
}

int mer_st_writer_set_strings(mer_st_writer *w, const char *key, const char *const *v, size_t n)
{
    char *json = mer_st_json_strings(v, n);
    int ret = json ? mer_st_writer_set_meta(w, key, json) : mer_error("out of memory");
    free(json);
    return ret;
}

int mer_st_writer_set_meta_num(mer_st_writer *w, const char *key, double value)
{
    char buf[64];
    snprintf(buf, sizeof(buf), "%.17g", value);
    return mer_st_writer_set_meta(w, key, buf);
}

static cJSON *tensor_json(const struct wtensor *t, size_t begin)
{
    cJSON *o = cJSON_CreateObject(), *shape = cJSON_CreateArray(), *off = cJSON_CreateArray();
    if (!o || !shape || !off) {
        cJSON_Delete(o);
        cJSON_Delete(shape);
        cJSON_Delete(off);
        return NULL;
    }
    cJSON_AddStringToObject(o, "dtype", mer_dtype_name(t->dtype));
    for (int i = 0; i < t->ndim; i++)
        cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->shape[i]));
    cJSON_AddItemToObject(o, "shape", shape);
    cJSON_AddItemToArray(off, cJSON_CreateNumber((double)begin));
    cJSON_AddItemToArray(off, cJSON_CreateNumber((double)(begin + t->nbytes)));
    cJSON_AddItemToObject(o, "data_offsets", off);
    return o;
}

/* The header JSON, padded with spaces to a multiple of 8 bytes (as safetensors aligns). */
static char *build_header(mer_st_writer *w, size_t *len)
{
    cJSON *root = cJSON_CreateObject();
    char *json = NULL, *padded = NULL;
    struct mer_xxh64 h;
    size_t off = 0, n;
    char sum[40], ver[16];
    mer_xxh64_init(&h, 0);
    for (size_t i = 0; i < w->n; i++)
        each_piece(&w->t[i], hash_piece, &h);
    snprintf(sum, sizeof(sum), MER_CHECKSUM_ALGO ":%016" PRIx64, mer_xxh64_digest(&h));
    snprintf(ver, sizeof(ver), "%d", MER_STORE_VERSION);
    if (!root || mer_st_writer_set_meta(w, "mer.format", MER_STORE_FORMAT) < 0 ||
        mer_st_writer_set_meta(w, "mer.version", ver) < 0 ||
        mer_st_writer_set_meta(w, "mer.checksum", sum) < 0)
        goto done;
    cJSON_AddItemReferenceToObject(root, "__metadata__", w->meta);
    for (size_t i = 0; i < w->n; i++) {
        cJSON *t = tensor_json(&w->t[i], off);
        if (!t)
            goto done;
        cJSON_AddItemToObject(root, w->t[i].name, t);
        off += w->t[i].nbytes;
    }
    json = cJSON_PrintUnformatted(root);
    if (!json)
        goto done;
    n = strlen(json);
    *len = (n + 7) / 8 * 8;
    padded = malloc(*len + 1);
    if (padded) {
        memcpy(padded, json, n);
        memset(padded + n, ' ', *len - n);
        padded[*len] = '\0';
    }
done:
    free(json);
    cJSON_Delete(root);
    if (!padded)
        mer_error("out of memory");
    return padded;
}

/* -1 with an error naming path and what s is if s is not valid UTF-8 (JSON is UTF-8 text:
 * Python's json.loads, say, refuses the whole header over one Latin-1 byte). */
static int check_utf8(const char *path, const char *what, const char *s)
{
    size_t len = strlen(s), bad = mer_utf8_check(s, len), from = bad > 16 ? bad - 16 : 0, n;
    char near[33], shown[4 * sizeof(near) + 1];
    if (bad == len)
        return 0;
    n = len - from < sizeof(near) - 1 ? len - from : sizeof(near) - 1;
    memcpy(near, s + from, n);
    near[n] = '\0';
    return mer_error("'%s': %s is not valid UTF-8 (byte %zu, near '%s'); a safetensors header is "
                     "JSON text",
                     path, what, bad, mer_name_escape(near, shown, sizeof(shown)));
}

/* Every string that goes into the header is UTF-8 and the header fits MER_ST_MAX_HEADER, so
 * that mer (and any JSON reader) reads back what mer writes. */
static int check_header(const mer_st_writer *w, const char *path, size_t hlen)
{
    const cJSON *it, *largest = NULL;
    char what[80];
    for (size_t i = 0; i < w->n; i++)
        if (check_utf8(path, "a tensor name", w->t[i].name) < 0)
            return -1;
    cJSON_ArrayForEach(it, w->meta)
    {
        snprintf(what, sizeof(what), "metadata '%.60s'", it->string);
        if (check_utf8(path, "a metadata key", it->string) < 0 ||
            check_utf8(path, what, it->valuestring) < 0)
            return -1;
        if (!largest || strlen(it->valuestring) > strlen(largest->valuestring))
            largest = it;
    }
    if (hlen > MER_ST_MAX_HEADER)
        return mer_error("'%s': the header would be %zu bytes, over the limit of %zu that mer "
                         "reads (metadata '%s' alone is %zu bytes)",
                         path, hlen, MER_ST_MAX_HEADER, largest ? largest->string : "",
                         largest ? strlen(largest->valuestring) : 0);
    return 0;
}

int mer_st_writer_write(mer_st_writer *w, const char *path)
{
    struct mer_atomic_file f;
    size_t hlen = 0;
    unsigned char len8[8];
    char *header = build_header(w, &hlen);
    int ret = -1;
    if (!header)
        return -1;
    if (check_header(w, path, hlen) < 0 || mer_atomic_open(&f, path) < 0)
        goto done;
    for (int i = 0; i < 8; i++)
        len8[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
    if (fwrite(len8, 1, 8, f.fp) != 8 || fwrite(header, 1, hlen, f.fp) != hlen)
        goto write_error;
    for (size_t i = 0; i < w->n; i++)
        if (each_piece(&w->t[i], write_piece, f.fp) < 0)
            goto write_error;
    ret = mer_atomic_commit(&f);
    goto done;
write_error:
    mer_error("'%s': write failed: %s", path, strerror(errno));
    mer_atomic_abort(&f);
done:
    free(header);
    return ret;
}
