/* libFuzzer target: the .npy header parser and float decoder over arbitrary bytes. */
#include "mer/error.h"
#include "mer/npy.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mer_npy_header h;
    float *x = NULL;
    int64_t rows = 0, cols = 0;
    volatile float sum = 0;
    if (mer_npy_parse("fuzz.npy", data, size, &h) == 0) {
        /* Accepted: the data the header describes fits in the buffer. */
        if (h.data_offset > size || h.item_size <= 0 ||
            (uint64_t)h.numel * (uint64_t)h.item_size > size - h.data_offset)
            abort();
    } else if (!strstr(mer_errmsg(), "fuzz.npy")) {
        abort();
    }
    if (mer_npy_decode_matrix("fuzz.npy", data, size, &x, &rows, &cols) == 0) {
        if (!x || rows <= 0 || cols <= 0)
            abort();
        for (int64_t i = 0; i < rows * cols; i++)
            sum += x[i];
    } else if (x) {
        abort(); /* a failure leaves nothing to free */
    }
    (void)sum;
    free(x);
    return 0;
}
