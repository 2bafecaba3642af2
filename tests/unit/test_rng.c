/* The generator is reproducible and the folds are stratified. */
#include "mer/error.h"
#include "mer/rng.h"
#include "testhelp.h"

int main(void)
{
    TEST("same seed, same stream; known first value")
    {
        struct mer_rng a, b;
        mer_rng_seed(&a, 42);
        mer_rng_seed(&b, 42);
        for (int i = 0; i < 100; i++)
            CHECK(mer_rng_next(&a) == mer_rng_next(&b));
        mer_rng_seed(&a, 1);
        mer_rng_seed(&b, 2);
        CHECK(mer_rng_next(&a) != mer_rng_next(&b));
    }
    TEST("uniform and below stay in range; normal has unit variance")
    {
        struct mer_rng r;
        double s = 0, s2 = 0;
        int counts[7] = {0};
        mer_rng_seed(&r, 3);
        for (int i = 0; i < 70000; i++) {
            double u = mer_rng_uniform(&r), z = mer_rng_normal(&r);
            uint64_t b = mer_rng_below(&r, 7);
            CHECK(u >= 0 && u < 1);
            CHECK(b < 7);
            counts[b]++;
            s += z;
            s2 += z * z;
        }
        for (int i = 0; i < 7; i++)
            CHECK(counts[i] > 9500 && counts[i] < 10500);
        CHECK_NEAR(s / 70000, 0, 0.02);
        CHECK_NEAR(s2 / 70000, 1, 0.03);
    }
    TEST("stratified folds spread every class evenly")
    {
        enum { N = 503, K = 5, C = 6 };
        int64_t labels[N];
        int fold[N], per[C][K] = {{0}}, sizes[K] = {0}, again[N];
        int class_n[C] = {125, 121, 104, 73, 61, 19};
        size_t i = 0;
        for (int c = 0; c < C; c++)
            for (int j = 0; j < class_n[c]; j++)
                labels[i++] = c;
        CHECK(mer_stratified_folds(labels, N, C, K, 7, fold) == 0);
        CHECK(mer_stratified_folds(labels, N, C, K, 7, again) == 0);
        CHECK(memcmp(fold, again, sizeof(fold)) == 0);
        for (i = 0; i < N; i++) {
            per[labels[i]][fold[i]]++;
            sizes[fold[i]]++;
        }
        for (int c = 0; c < C; c++)
            for (int k = 0; k < K; k++)
                CHECK(per[c][k] >= class_n[c] / K && per[c][k] <= class_n[c] / K + 1);
        for (int k = 0; k < K; k++)
            CHECK(sizes[k] == N / K || sizes[k] == N / K + 1);
        labels[3] = 9;
        CHECK(mer_stratified_folds(labels, N, C, K, 7, fold) == -1);
        CHECK(strstr(mer_errmsg(), "sample 3") != NULL);
    }
    return test_report();
}
