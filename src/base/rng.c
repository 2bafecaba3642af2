#include "mer/rng.h"
#include "mer/error.h"

#include <math.h>
#include <stdlib.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void mer_rng_seed(struct mer_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

uint64_t mer_rng_next(struct mer_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double mer_rng_uniform(struct mer_rng *r)
{
    return (double)(mer_rng_next(r) >> 11) * 0x1.0p-53;
}

uint64_t mer_rng_below(struct mer_rng *r, uint64_t n)
{
    /* Rejection keeps it unbiased: drop draws from the incomplete last bucket. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n, x;
    do
        x = mer_rng_next(r);
    while (x >= limit);
    return x % n;
}

double mer_rng_normal(struct mer_rng *r)
{
    double u1 = 1.0 - mer_rng_uniform(r), u2 = mer_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

void mer_rng_shuffle(struct mer_rng *r, int64_t *idx, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)mer_rng_below(r, i);
        int64_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}

int mer_stratified_folds(const int64_t *labels, size_t n, int n_classes, int k, uint64_t seed,
                         int *fold_of)
{
    struct mer_rng r;
    int64_t *order = malloc((n ? n : 1) * sizeof(*order));
    int next_fold = 0;
    if (!order)
        return mer_error("out of memory");
    if (k < 2) {
        free(order);
        return mer_error("folds: need at least 2 folds, got %d", k);
    }
    for (size_t i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= n_classes) {
            free(order);
            return mer_error("folds: sample %zu: label %lld outside 0..%d", i, (long long)labels[i],
                             n_classes - 1);
        }
    mer_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++)
        order[i] = (int64_t)i;
    mer_rng_shuffle(&r, order, n);
    /* Deal each class round-robin, continuing where the previous class stopped,
     * so small classes do not all land in fold 0. */
    for (int c = 0; c < n_classes; c++)
        for (size_t i = 0; i < n; i++)
            if (labels[order[i]] == c) {
                fold_of[order[i]] = next_fold;
                next_fold = (next_fold + 1) % k;
            }
    free(order);
    return 0;
}
