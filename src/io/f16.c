/* IEEE 754 binary16 <-> binary32, exact and round-to-nearest-even. See store.h. */
#include "mer/store.h"

#include <string.h>

float mer_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    float f;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (man << 13); /* inf / nan, payload kept */
    } else if (exp) {
        bits = sign | ((exp + 112) << 23) | (man << 13);
    } else if (man) { /* subnormal half: a normal float after shifting the leading 1 out */
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

/* Rounds m >> shift to nearest, ties to even. */
static uint32_t shift_round(uint32_t m, uint32_t shift)
{
    uint32_t full = m >> shift, rest = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    return full + (rest > half || (rest == half && (full & 1)));
}

uint16_t mer_f32_to_f16(float f)
{
    uint32_t x, sign, man;
    int32_t exp;
    memcpy(&x, &f, sizeof(x));
    sign = (x >> 16) & 0x8000;
    exp = (int32_t)((x >> 23) & 0xff) - 127 + 15;
    man = x & 0x7fffff;
    if (((x >> 23) & 0xff) == 0xff) /* inf / nan (a nan stays a quiet nan) */
        return (uint16_t)(sign | 0x7c00 | (man ? 0x200 : 0));
    if (exp >= 0x1f)
        return (uint16_t)(sign | 0x7c00); /* overflow -> inf */
    if (exp <= 0) {                       /* subnormal half, or zero */
        if (exp < -10)
            return (uint16_t)sign;
        /* A carry out of the mantissa gives the smallest normal, whose bits follow on. */
        return (uint16_t)(sign | shift_round(man | 0x800000, (uint32_t)(14 - exp)));
    }
    /* A carry here moves into the exponent, which is right (up to inf as well). */
    return (uint16_t)(sign | (((uint32_t)exp << 10) + shift_round(man, 13)));
}

void mer_f16_to_f32_n(float *dst, const void *src, size_t n)
{
    const unsigned char *p = src;
    for (size_t i = 0; i < n; i++)
        dst[i] = mer_f16_to_f32((uint16_t)(p[2 * i] | p[2 * i + 1] << 8));
}

void mer_f32_to_f16_n(void *dst, const float *src, size_t n)
{
    unsigned char *p = dst;
    for (size_t i = 0; i < n; i++) {
        uint16_t h = mer_f32_to_f16(src[i]);
        p[2 * i] = (unsigned char)(h & 0xff);
        p[2 * i + 1] = (unsigned char)(h >> 8);
    }
}
