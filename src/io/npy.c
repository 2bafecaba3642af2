/* NumPy .npy reader: a strict parser of the header's Python dict literal, then the data. */
#include "mer/npy.h"
#include "mer/error.h"
#include "mer/fs.h"
#include "mer/store.h"

#include <stdlib.h>
#include <string.h>

struct cursor {
    const char *name;
    const char *s, *p, *end;
    size_t preamble; /* bytes of the file before the header text */
};

/* Byte offset in the file of the cursor. */
static size_t where(const struct cursor *c)
{
    return c->preamble + (size_t)(c->p - c->s);
}

static int is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

static int is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

static void skip_space(struct cursor *c)
{
    while (c->p < c->end && is_space(*c->p))
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

/* After an item: a ',' or the closing bracket (left for the caller to accept). */
static int next_item(struct cursor *c, char close)
{
    if (accept(c, ','))
        return 0;
    skip_space(c);
    return c->p < c->end && *c->p == close ? 0 : -1;
}

/* A quoted Python string (no escapes: numpy never writes them) into buf. */
static int read_string(struct cursor *c, char *buf, size_t size)
{
    char q;
    size_t n = 0;
    skip_space(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return -1;
    q = *c->p++;
    while (c->p < c->end && *c->p != q) {
        if (n + 1 >= size || *c->p == '\\')
            return -1;
        buf[n++] = *c->p++;
    }
    if (c->p >= c->end)
        return -1;
    c->p++;
    buf[n] = '\0';
    return 0;
}

/* A size: digits, maybe Python 2's long suffix. */
static int read_size(struct cursor *c, int64_t *out)
{
    int64_t v = 0;
    skip_space(c);
    if (c->p >= c->end || !is_digit(*c->p))
        return -1;
    while (c->p < c->end && is_digit(*c->p)) {
        if (v > (INT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (*c->p++ - '0');
    }
    if (c->p < c->end && (*c->p == 'L' || *c->p == 'l'))
        c->p++;
    *out = v;
    return 0;
}

static int read_shape(struct cursor *c, struct mer_npy_header *h)
{
    size_t at;
    if (!accept(c, '('))
        return mer_error("'%s': byte %zu: shape must be a tuple of sizes", c->name, where(c));
    h->numel = 1;
    while (!accept(c, ')')) {
        int64_t v;
        skip_space(c);
        at = where(c);
        if (h->ndim >= MER_NPY_MAX_DIMS)
            return mer_error("'%s': byte %zu: more than %d dimensions", c->name, at,
                             MER_NPY_MAX_DIMS);
        if (read_size(c, &v) < 0)
            return mer_error("'%s': byte %zu: shape must be a tuple of sizes", c->name, at);
        /* numel stays below 2^63 / 16, so numel * item size cannot overflow. */
        if (v && h->numel > INT64_MAX / 16 / v)
            return mer_error("'%s': byte %zu: shape is too large", c->name, at);
        h->shape[h->ndim++] = v;
        h->numel *= v;
        if (next_item(c, ')') < 0)
            return mer_error("'%s': byte %zu: expected ',' or ')' in the shape", c->name, where(c));
    }
    return 0;
}

/* '<f4' and the like: byte order, kind, item size in decimal. */
static int read_descr(struct cursor *c, struct mer_npy_header *h)
{
    size_t at, len;
    const char *d = h->descr;
    skip_space(c);
    at = where(c);
    if (read_string(c, h->descr, sizeof(h->descr)) < 0)
        return mer_error("'%s': byte %zu: 'descr' must be a dtype string such as '<f4' "
                         "(structured dtypes are not supported)",
                         c->name, at);
    len = strlen(d);
    /* len >= 3 keeps strchr away from the terminating NUL, which it would find. */
    if (len < 3 || len > 4 || !strchr("<>|=", d[0]) || !strchr("fiubc", d[1]) || !is_digit(d[2]) ||
        (len == 4 && !is_digit(d[3])))
        return mer_error("'%s': byte %zu: unsupported 'descr' '%s'", c->name, at, d);
    h->big_endian = d[0] == '>';
    h->kind = d[1];
    h->item_size = atoi(d + 2);
    if (h->item_size < 1 || h->item_size > 16)
        return mer_error("'%s': byte %zu: unsupported 'descr' '%s'", c->name, at, d);
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
    return mer_error("'%s': byte %zu: fortran_order must be True or False", c->name, where(c));
}

/* One 'key': value; *seen collects the keys (1 descr, 2 fortran_order, 4 shape). */
static int read_entry(struct cursor *c, struct mer_npy_header *h, int *seen)
{
    static const char *const keys[] = {"descr", "fortran_order", "shape"};
    char key[32];
    size_t at;
    int k = 0;
    skip_space(c);
    at = where(c);
    if (read_string(c, key, sizeof(key)) < 0 || !accept(c, ':'))
        return mer_error("'%s': byte %zu: expected 'key': value in the header", c->name, at);
    while (k < 3 && strcmp(key, keys[k]))
        k++;
    if (k == 3)
        return mer_error("'%s': byte %zu: unknown header key '%s'", c->name, at, key);
    if (*seen & (1 << k))
        return mer_error("'%s': byte %zu: header key '%s' appears twice", c->name, at, key);
    *seen |= 1 << k;
    if (k == 0)
        return read_descr(c, h);
    if (k == 1)
        return read_bool(c, &h->fortran_order);
    return read_shape(c, h);
}

/* {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), } */
static int parse_dict(struct cursor *c, struct mer_npy_header *h)
{
    int seen = 0;
    if (!accept(c, '{'))
        return mer_error("'%s': byte %zu: header is not a Python dict literal", c->name, where(c));
    while (!accept(c, '}')) {
        if (read_entry(c, h, &seen) < 0)
            return -1;
        if (next_item(c, '}') < 0)
            return mer_error("'%s': byte %zu: expected ',' or '}' in the header", c->name,
                             where(c));
    }
    skip_space(c);
    if (c->p < c->end)
        return mer_error("'%s': byte %zu: text after the header dict", c->name, where(c));
    if (seen != 7)
        return mer_error("'%s': header lacks %s", c->name,
                         !(seen & 1)   ? "'descr'"
                         : !(seen & 2) ? "'fortran_order'"
                                       : "'shape'");
    return 0;
}

/* The magic, version and header length; the header text is b[*pre, *pre + *hlen). */
static int parse_preamble(const char *name, const unsigned char *b, size_t size, size_t *pre,
                          size_t *hlen)
{
    if (size < 6 || memcmp(b, "\x93NUMPY", 6))
        return mer_error("'%s': byte 0: not a .npy file (bad magic)", name);
    if (size > 6 && b[6] != 1 && b[6] != 2 && b[6] != 3)
        return mer_error("'%s': byte 6: unsupported .npy version %d", name, b[6]);
    *pre = size > 6 && b[6] == 1 ? 10 : 12;
    if (size < *pre)
        return mer_error("'%s': byte %zu: truncated header", name, size);
    if (b[6] == 1)
        *hlen = (size_t)b[8] | (size_t)b[9] << 8;
    else
        *hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
    if (*hlen > size - *pre)
        return mer_error("'%s': byte 8: header length %zu exceeds the file's %zu bytes "
                         "(truncated)",
                         name, *hlen, size);
    return 0;
}

int mer_npy_parse(const char *name, const void *buf, size_t size, struct mer_npy_header *h)
{
    const unsigned char *b = buf;
    size_t hlen = 0, pre = 0;
    struct cursor c;
    memset(h, 0, sizeof(*h));
    if (parse_preamble(name, b, size, &pre, &hlen) < 0)
        return -1;
    c.name = name;
    c.s = c.p = (const char *)b + pre;
    c.end = c.s + hlen;
    c.preamble = pre;
    if (parse_dict(&c, h) < 0)
        return -1;
    h->data_offset = pre + hlen;
    if ((uint64_t)h->numel > (size - h->data_offset) / (uint64_t)h->item_size)
        return mer_error("'%s': shape needs %lld bytes of data, the file has %zu (truncated)", name,
                         (long long)h->numel * h->item_size, size - h->data_offset);
    return 0;
}

/* Element i as float: a byte-order swap if needed, then the float's width. */
static float element(const unsigned char *data, size_t i, const struct mer_npy_header *h)
{
    const unsigned char *p = data + i * (size_t)h->item_size;
    unsigned char v[8] = {0}; /* zeroed: item_size is 2, 4 or 8, which -O3 cannot see */
    for (int k = 0; k < h->item_size; k++)
        v[k] = p[h->big_endian ? h->item_size - 1 - k : k];
    if (h->item_size == 2)
        return mer_f16_to_f32((uint16_t)(v[0] | v[1] << 8));
    if (h->item_size == 4) {
        float f;
        memcpy(&f, v, 4); /* the host is little-endian, like every platform mer builds on */
        return f;
    } else {
        double d;
        memcpy(&d, v, 8);
        return (float)d;
    }
}

/* [rows, cols] of a float array: leading 1s dropped, then [D] -> 1 x D, [T, D] -> T x D. */
static int matrix_shape(const char *name, const struct mer_npy_header *h, int64_t *rows,
                        int64_t *cols)
{
    int first = 0;
    if (h->kind != 'f' || (h->item_size != 2 && h->item_size != 4 && h->item_size != 8))
        return mer_error("'%s': dtype '%s' is not float16, float32 or float64", name, h->descr);
    while (h->ndim - first > 2 && h->shape[first] == 1)
        first++;
    if (h->ndim - first < 1 || h->ndim - first > 2)
        return mer_error("'%s': expected shape [D], [1, D] or [T, D], got %d dimensions", name,
                         h->ndim);
    *rows = h->ndim - first == 2 ? h->shape[first] : 1;
    *cols = h->shape[h->ndim - 1];
    if (*rows == 0 || *cols == 0)
        return mer_error("'%s': empty array (%lld x %lld)", name, (long long)*rows,
                         (long long)*cols);
    return 0;
}

int mer_npy_decode_matrix(const char *name, const void *buf, size_t size, float **out,
                          int64_t *rows, int64_t *cols)
{
    struct mer_npy_header h;
    const unsigned char *data;
    int64_t r = 0, k = 0;
    float *m;
    *out = NULL;
    if (mer_npy_parse(name, buf, size, &h) < 0 || matrix_shape(name, &h, &r, &k) < 0)
        return -1;
    m = malloc((size_t)(r * k) * sizeof(float));
    if (!m)
        return mer_error("'%s': out of memory", name);
    data = (const unsigned char *)buf + h.data_offset;
    if (h.item_size == 4 && !h.big_endian && (!h.fortran_order || r == 1))
        memcpy(m, data, (size_t)(r * k) * sizeof(float)); /* the common case */
    else
        for (int64_t i = 0; i < r; i++)
            for (int64_t j = 0; j < k; j++)
                m[i * k + j] = element(data, (size_t)(h.fortran_order ? j * r + i : i * k + j), &h);
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
    *out = NULL;
    if (mer_read_file(path, &buf, &size) < 0)
        return -1;
    r = mer_npy_decode_matrix(path, buf, size, out, rows, cols);
    free(buf);
    return r;
}
