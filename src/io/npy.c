/* NumPy .npy reader: a strict parser of the header's Python dict literal, then the data. */
#include "mer/npy.h"
#include "mer/error.h"
#include "mer/fs.h"
#include "mer/store.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

struct cursor {
    const char *name;
    const char *s, *p, *end;
};

/* Byte offset in the file of the cursor (the header text starts after the preamble). */
static size_t where(const struct cursor *c, size_t preamble)
{
    return preamble + (size_t)(c->p - c->s);
}

static void skip_space(struct cursor *c)
{
    while (c->p < c->end && isspace((unsigned char)*c->p))
        c->p++;
}

static int accept(struct cursor *c, char ch)
{
    skip_space(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

/* A quoted Python string into buf. */
static int read_string(struct cursor *c, char *buf, size_t size)
{
    char q;
    size_t n = 0;
    skip_space(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return -1;
    q = *c->p++;
    while (c->p < c->end && *c->p != q) {
        if (n + 1 >= size)
            return -1;
        buf[n++] = *c->p++;
    }
    if (c->p >= c->end)
        return -1;
    c->p++;
    buf[n] = '\0';
    return 0;
}

static int read_shape(struct cursor *c, struct mer_npy_header *h)
{
    if (!accept(c, '('))
        return -1;
    h->numel = 1;
    while (!accept(c, ')')) {
        int64_t v = 0;
        skip_space(c);
        if (c->p >= c->end || !isdigit((unsigned char)*c->p) || h->ndim >= MER_NPY_MAX_DIMS)
            return -1;
        while (c->p < c->end && isdigit((unsigned char)*c->p)) {
            if (v > (INT64_MAX - 9) / 10)
                return -1;
            v = v * 10 + (*c->p++ - '0');
        }
        while (c->p < c->end && (*c->p == 'L' || *c->p == 'l'))
            c->p++; /* Python 2's long suffix */
        if (v && h->numel > INT64_MAX / 16 / v)
            return -1;
        h->shape[h->ndim++] = v;
        h->numel *= v;
        if (!accept(c, ',') && (skip_space(c), c->p < c->end && *c->p != ')'))
            return -1;
    }
    return 0;
}

static int read_descr(struct cursor *c, struct mer_npy_header *h, size_t pre)
{
    char d[32];
    if (read_string(c, d, sizeof(d)) < 0 || strlen(d) < 3 || !strchr("<>|=", d[0]))
        return mer_error("'%s': byte %zu: bad 'descr' value", c->name, where(c, pre));
    h->big_endian = d[0] == '>';
    h->kind = d[1];
    h->item_size = atoi(d + 2);
    return 0;
}

static int read_bool(struct cursor *c, int *out)
{
    skip_space(c);
    if (c->end - c->p >= 4 && !strncmp(c->p, "True", 4)) {
        c->p += 4;
        *out = 1;
        return 0;
    }
    if (c->end - c->p >= 5 && !strncmp(c->p, "False", 5)) {
        c->p += 5;
        *out = 0;
        return 0;
    }
    return -1;
}

/* {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), } */
static int parse_dict(struct cursor *c, struct mer_npy_header *h, size_t pre)
{
    int seen = 0;
    if (!accept(c, '{'))
        return mer_error("'%s': byte %zu: header is not a Python dict literal", c->name,
                         where(c, pre));
    while (!accept(c, '}')) {
        char key[32];
        if (read_string(c, key, sizeof(key)) < 0 || !accept(c, ':'))
            return mer_error("'%s': byte %zu: expected 'key': value in the header", c->name,
                             where(c, pre));
        if (!strcmp(key, "descr")) {
            if (read_descr(c, h, pre) < 0)
                return -1;
            seen |= 1;
        } else if (!strcmp(key, "fortran_order")) {
            if (read_bool(c, &h->fortran_order) < 0)
                return mer_error("'%s': byte %zu: fortran_order must be True or False", c->name,
                                 where(c, pre));
            seen |= 2;
        } else if (!strcmp(key, "shape")) {
            if (read_shape(c, h) < 0)
                return mer_error("'%s': byte %zu: shape must be a tuple of sizes", c->name,
                                 where(c, pre));
            seen |= 4;
        } else {
            return mer_error("'%s': byte %zu: unknown header key '%s'", c->name, where(c, pre),
                             key);
        }
        if (!accept(c, ',') && (skip_space(c), c->p < c->end && *c->p != '}'))
            return mer_error("'%s': byte %zu: expected ',' or '}' in the header", c->name,
                             where(c, pre));
    }
    if (seen != 7)
        return mer_error("'%s': header lacks %s", c->name,
                         !(seen & 1) ? "'descr'" : !(seen & 2) ? "'fortran_order'" : "'shape'");
    return 0;
}

int mer_npy_parse(const char *name, const void *buf, size_t size, struct mer_npy_header *h)
{
    const unsigned char *b = buf;
    size_t hlen, pre;
    struct cursor c;
    memset(h, 0, sizeof(*h));
    if (size < 10 || memcmp(b, "\x93NUMPY", 6))
        return mer_error("'%s': not a .npy file (bad magic)", name);
    if (b[6] == 1) {
        hlen = (size_t)b[8] | (size_t)b[9] << 8;
        pre = 10;
    } else if (b[6] == 2 || b[6] == 3) {
        if (size < 12)
            return mer_error("'%s': truncated header", name);
        hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
        pre = 12;
    } else {
        return mer_error("'%s': byte 6: unsupported .npy version %d", name, b[6]);
    }
    if (hlen > size - pre)
        return mer_error("'%s': header of %zu bytes exceeds the file (truncated)", name, hlen);
    c.name = name;
    c.s = c.p = (const char *)b + pre;
    c.end = c.s + hlen;
    if (parse_dict(&c, h, pre) < 0)
        return -1;
    h->data_offset = pre + hlen;
    if (h->item_size <= 0 || h->item_size > 16)
        return mer_error("'%s': unsupported item size %d", name, h->item_size);
    if ((uint64_t)h->numel > (size - h->data_offset) / (uint64_t)h->item_size)
        return mer_error("'%s': shape needs %lld bytes of data, the file has %zu (truncated)",
                         name, (long long)h->numel * h->item_size, size - h->data_offset);
    return 0;
}

static float element(const unsigned char *p, const struct mer_npy_header *h)
{
    unsigned char v[8];
    for (int i = 0; i < h->item_size; i++)
        v[i] = p[h->big_endian ? h->item_size - 1 - i : i];
    if (h->item_size == 2)
        return mer_f16_to_f32((uint16_t)(v[0] | v[1] << 8));
    if (h->item_size == 4) {
        float f;
        memcpy(&f, v, 4); /* host is little-endian (checked by the build's tests) */
        return f;
    } else {
        double d;
        memcpy(&d, v, 8);
        return (float)d;
    }
}

int mer_npy_decode_matrix(const char *name, const void *buf, size_t size, float **out,
                          int64_t *rows, int64_t *cols)
{
    struct mer_npy_header h;
    const unsigned char *data;
    int64_t r, k;
    float *m;
    if (mer_npy_parse(name, buf, size, &h) < 0)
        return -1;
    if (h.kind != 'f' || (h.item_size != 2 && h.item_size != 4 && h.item_size != 8))
        return mer_error("'%s': dtype must be float16, float32 or float64", name);
    if (h.ndim < 1 || h.ndim > 2)
        return mer_error("'%s': expected shape [D], [1, D] or [T, D], got %d dimensions", name,
                         h.ndim);
    r = h.ndim == 2 ? h.shape[0] : 1;
    k = h.shape[h.ndim - 1];
    if (r == 0 || k == 0)
        return mer_error("'%s': empty array", name);
    m = malloc((size_t)(r * k) * sizeof(float));
    if (!m)
        return mer_error("'%s': out of memory", name);
    data = (const unsigned char *)buf + h.data_offset;
    for (int64_t i = 0; i < r; i++)
        for (int64_t j = 0; j < k; j++) {
            int64_t src = h.fortran_order ? j * r + i : i * k + j;
            m[i * k + j] = element(data + (size_t)src * (size_t)h.item_size, &h);
        }
    *out = m;
    *rows = r;
    *cols = k;
    return 0;
}

int mer_npy_read_matrix(const char *path, float **out, int64_t *rows, int64_t *cols)
{
    char *buf;
    size_t size;
    int r;
    if (mer_read_file(path, &buf, &size) < 0)
        return -1;
    r = mer_npy_decode_matrix(path, buf, size, out, rows, cols);
    free(buf);
    return r;
}
