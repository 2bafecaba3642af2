/*
 * try.h (private to src/model): the tensor code's ways out on a negative status (the error is
 * already recorded by whoever failed).
 *
 *     TRY(mer_t_add(&y, a, b));        // return -1: nothing of this function's to clean up
 *     TRY_FAIL(mer_t_mul(&z, y, c));   // goto fail: the function releases what it holds there
 */
#ifndef MER_MODEL_TRY_H
#define MER_MODEL_TRY_H

#define TRY(x)                                                                                     \
    do {                                                                                           \
        if ((x) < 0)                                                                               \
            return -1;                                                                             \
    } while (0)

#define TRY_FAIL(x)                                                                                \
    do {                                                                                           \
        if ((x) < 0)                                                                               \
            goto fail;                                                                             \
    } while (0)

#endif
