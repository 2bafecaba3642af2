/* Content checksums of the feature store: XXH64 (written) and FNV-1a 64 (read). See store.h. */
#include "mer/store.h"

#include <string.h>

#define P1 0x9E3779B185EBCA87ULL
#define P2 0xC2B2AE3D27D4EB4FULL
#define P3 0x165667B19E3779F9ULL
#define P4 0x85EBCA77C2B2AE63ULL
#define P5 0x27D4EB2F165667C5ULL

uint64_t mer_checksum_update(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

static uint64_t rotl(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

/* Little-endian loads whatever the alignment (the mmap'd data section has none to offer). */
static uint64_t le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t le32(const unsigned char *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24;
}

static uint64_t xround(uint64_t acc, uint64_t in)
{
    return rotl(acc + in * P2, 31) * P1;
}

static uint64_t merge(uint64_t h, uint64_t v)
{
    return (h ^ xround(0, v)) * P1 + P4;
}

void mer_xxh64_init(struct mer_xxh64 *s, uint64_t seed)
{
    memset(s, 0, sizeof(*s));
    s->v[0] = seed + P1 + P2;
    s->v[1] = seed + P2;
    s->v[2] = seed;
    s->v[3] = seed - P1;
    s->seed = seed;
}

static void stripe(uint64_t v[4], const unsigned char *p)
{
    v[0] = xround(v[0], le64(p));
    v[1] = xround(v[1], le64(p + 8));
    v[2] = xround(v[2], le64(p + 16));
    v[3] = xround(v[3], le64(p + 24));
}

void mer_xxh64_update(struct mer_xxh64 *s, const void *data, size_t n)
{
    const unsigned char *p = data;
    s->total += n;
    if (s->n_buf + n < 32) {
        if (n)
            memcpy(s->buf + s->n_buf, p, n);
        s->n_buf += n;
        return;
    }
    if (s->n_buf) {
        size_t fill = 32 - s->n_buf;
        memcpy(s->buf + s->n_buf, p, fill);
        stripe(s->v, s->buf);
        p += fill;
        n -= fill;
        s->n_buf = 0;
    }
    for (; n >= 32; p += 32, n -= 32)
        stripe(s->v, p);
    if (n)
        memcpy(s->buf, p, n);
    s->n_buf = n;
}

uint64_t mer_xxh64_digest(const struct mer_xxh64 *s)
{
    const unsigned char *p = s->buf, *end = s->buf + s->n_buf;
    uint64_t h;
    if (s->total >= 32) {
        h = rotl(s->v[0], 1) + rotl(s->v[1], 7) + rotl(s->v[2], 12) + rotl(s->v[3], 18);
        for (int i = 0; i < 4; i++)
            h = merge(h, s->v[i]);
    } else {
        h = s->seed + P5;
    }
    h += s->total;
    for (; end - p >= 8; p += 8)
        h = rotl(h ^ xround(0, le64(p)), 27) * P1 + P4;
    if (end - p >= 4) {
        h = rotl(h ^ le32(p) * P1, 23) * P2 + P3;
        p += 4;
    }
    for (; p < end; p++)
        h = rotl(h ^ *p * P5, 11) * P1;
    h ^= h >> 33;
    h *= P2;
    h ^= h >> 29;
    h *= P3;
    h ^= h >> 32;
    return h;
}

uint64_t mer_xxh64(const void *data, size_t n, uint64_t seed)
{
    struct mer_xxh64 s;
    mer_xxh64_init(&s, seed);
    mer_xxh64_update(&s, data, n);
    return mer_xxh64_digest(&s);
}
