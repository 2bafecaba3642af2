/*
 * rng.h: a small, fast, reproducible random number generator (xoshiro256**,
 * seeded through splitmix64), the same on every platform, for shuffling,
 * fold assignment and initialisation that must not depend on libc's rand().
 *
 *     struct mer_rng r;
 *     mer_rng_seed(&r, 42);
 *     mer_rng_shuffle(&r, idx, n);
 */
#ifndef MER_RNG_H
#define MER_RNG_H

#include <stddef.h>
#include <stdint.h>

struct mer_rng {
    uint64_t s[4];
};

void mer_rng_seed(struct mer_rng *r, uint64_t seed);
uint64_t mer_rng_next(struct mer_rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double mer_rng_uniform(struct mer_rng *r);
/* Uniform integer in [0, n), unbiased (n > 0). */
uint64_t mer_rng_below(struct mer_rng *r, uint64_t n);
/* Standard normal (Box-Muller). */
double mer_rng_normal(struct mer_rng *r);
/* Fisher-Yates shuffle of an index array. */
void mer_rng_shuffle(struct mer_rng *r, int64_t *idx, size_t n);

/*
 * Stratified k-fold: assigns each of n samples (class labels[i] in [0, n_classes))
 * a fold in [0, k) so that every class is spread evenly over the folds and fold
 * sizes differ by at most one per class. Deterministic for a seed.
 * -1 with an error if a label is out of range or k < 2.
 */
int mer_stratified_folds(const int64_t *labels, size_t n, int n_classes, int k, uint64_t seed,
                         int *fold_of);

#endif
