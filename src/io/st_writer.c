/* The safetensors writer: header by cJSON, data appended, all through the atomic writer. */
#include "mer/error.h"
#include "mer/fs.h"
#include "mer/store.h"
#include "mer/version.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct wtensor {
    char *name;
    enum mer_dtype dtype;
    int ndim;
    int64_t shape[MER_ST_MAX_DIMS];
    const void *data;
    size_t nbytes;
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

int mer_st_writer_add(mer_st_writer *w, const char *name, enum mer_dtype dt, int ndim,
                      const int64_t *shape, const void *data)
{
    struct wtensor *t;
    uint64_t numel = 1;
    if (ndim < 0 || ndim > MER_ST_MAX_DIMS || !strcmp(name, "__metadata__"))
        return mer_error("tensor '%s': bad name or %d dimensions", name, ndim);
    for (size_t i = 0; i < w->n; i++)
        if (!strcmp(w->t[i].name, name))
            return mer_error("tensor '%s' added twice", name);
    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 8;
        struct wtensor *grown = realloc(w->t, cap * sizeof(*grown));
        if (!grown)
            return mer_error("out of memory");
        w->t = grown;
        w->cap = cap;
    }
    t = &w->t[w->n];
    memset(t, 0, sizeof(*t));
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return mer_error("tensor '%s': negative size", name);
        t->shape[i] = shape[i];
        numel *= (uint64_t)shape[i];
    }
    if (!(t->name = strdup(name)))
        return mer_error("out of memory");
    t->dtype = dt;
    t->ndim = ndim;
    t->data = data;
    t->nbytes = (size_t)(numel * mer_dtype_size(dt));
    w->n++;
    return 0;
}

int mer_st_writer_set_meta(mer_st_writer *w, const char *key, const char *value)
{
    cJSON *s = cJSON_CreateString(value);
    if (!s)
        return mer_error("out of memory");
    if (cJSON_GetObjectItemCaseSensitive(w->meta, key))
        cJSON_ReplaceItemInObjectCaseSensitive(w->meta, key, s);
    else
        cJSON_AddItemToObject(w->meta, key, s);
    return 0;
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
    uint64_t h = MER_CHECKSUM_INIT;
    size_t off = 0, n;
    char sum[40], ver[16];
    for (size_t i = 0; i < w->n; i++)
        h = mer_checksum_update(h, w->t[i].data, w->t[i].nbytes);
    snprintf(sum, sizeof(sum), "fnv1a64:%016" PRIx64, h);
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

int mer_st_writer_write(mer_st_writer *w, const char *path)
{
    struct mer_atomic_file f;
    size_t hlen = 0;
    unsigned char len8[8];
    char *header = build_header(w, &hlen);
    int ret = -1;
    if (!header)
        return -1;
    if (mer_atomic_open(&f, path) < 0)
        goto done;
    for (int i = 0; i < 8; i++)
        len8[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
    if (fwrite(len8, 1, 8, f.fp) != 8 || fwrite(header, 1, hlen, f.fp) != hlen)
        goto write_error;
    for (size_t i = 0; i < w->n; i++)
        if (w->t[i].nbytes && fwrite(w->t[i].data, 1, w->t[i].nbytes, f.fp) != w->t[i].nbytes)
            goto write_error;
    ret = mer_atomic_commit(&f);
    goto done;
write_error:
    mer_error("'%s': write failed", path);
    mer_atomic_abort(&f);
done:
    free(header);
    return ret;
}

/* IEEE 754 binary16 <-> binary32. */
float mer_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    float f;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (man << 13); /* inf / nan */
    } else if (exp) {
        bits = sign | ((exp + 112) << 23) | (man << 13);
    } else if (man) { /* subnormal: normalise */
        int e = -1;
        do {
            e++;
            man <<= 1;
        } while (!(man & 0x400));
        bits = sign | ((uint32_t)(112 - e) << 23) | ((man & 0x3ff) << 13);
    } else {
        bits = sign;
    }
    memcpy(&f, &bits, sizeof(f));
    return f;
}

uint16_t mer_f32_to_f16(float f)
{
    uint32_t x, sign, man;
    int32_t exp;
    memcpy(&x, &f, sizeof(x));
    sign = (x >> 16) & 0x8000;
    exp = (int32_t)((x >> 23) & 0xff) - 127 + 15;
    man = x & 0x7fffff;
    if (((x >> 23) & 0xff) == 0xff) /* inf / nan (keep a quiet nan) */
        return (uint16_t)(sign | 0x7c00 | (man ? 0x200 : 0));
    if (exp >= 0x1f)
        return (uint16_t)(sign | 0x7c00); /* overflow -> inf */
    if (exp <= 0) {                       /* subnormal or zero */
        uint32_t shift, full, half, rest;
        if (exp < -10)
            return (uint16_t)sign;
        man |= 0x800000;
        shift = (uint32_t)(14 - exp);
        full = man >> shift;
        rest = man & ((1u << shift) - 1);
        half = 1u << (shift - 1);
        if (rest > half || (rest == half && (full & 1)))
            full++;
        return (uint16_t)(sign | full);
    }
    {
        uint32_t h = sign | ((uint32_t)exp << 10) | (man >> 13), rest = man & 0x1fff;
        if (rest > 0x1000 || (rest == 0x1000 && (h & 1)))
            h++; /* may carry into the exponent, which is right (rounds up to inf too) */
        return (uint16_t)h;
    }
}
