/* libFuzzer target: the safetensors reader (and the store's view of mer.ids / offsets) over
 * arbitrary bytes. It must refuse or accept without crashing, leaking, or reading outside
 * the buffer; whatever it accepts must be internally consistent. */
#include "mer/error.h"
#include "mer/store.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void touch(const struct mer_st_tensor *t, const uint8_t *data, size_t size)
{
    const unsigned char *p = t->data;
    volatile unsigned sum = 0;
    /* Accepted tensors lie inside the buffer and agree with their shape and dtype. */
    if (t->nbytes && (p < data || p + t->nbytes > data + size))
        abort();
    if ((uint64_t)t->numel * mer_dtype_size(t->dtype) != t->nbytes)
        abort();
    for (size_t i = 0; i < t->nbytes; i++)
        sum += p[i];
    if (t->dtype == MER_DTYPE_F16 && t->nbytes >= 2) {
        float x[1];
        mer_f16_to_f32_n(x, p, 1);
        sum += (unsigned)(x[0] == x[0]);
    }
    (void)sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mer_st_file *f = NULL;
    size_t covered = 0;
    if (mer_st_open_memory(&f, "fuzz.safetensors", data, size, 0) < 0) {
        if (f || !strstr(mer_errmsg(), "fuzz.safetensors"))
            abort(); /* a failure leaves no handle and names the file */
        return 0;
    }
    for (size_t i = 0; i < mer_st_n_tensors(f); i++) {
        const struct mer_st_tensor *t = mer_st_tensor_at(f, i);
        touch(t, data, size);
        if (mer_st_find(f, t->name) != t)
            abort(); /* names are unique */
        covered += t->nbytes;
    }
    if (covered != mer_st_data_size(f) || mer_st_header_size(f) + covered != size)
        abort(); /* the tensors tile the data section */
    for (size_t i = 0; i < mer_st_n_meta(f); i++) {
        const char *k, *v;
        mer_st_meta_at(f, i, &k, &v);
        if (!k || !v || mer_st_meta(f, k) != v)
            abort();
    }
    (void)mer_st_verify(f);
    mer_st_close(f);
    /* Verification on open agrees with verification after it. */
    if (mer_st_open_memory(&f, "fuzz.safetensors", data, size, MER_ST_VERIFY) == 0)
        mer_st_close(f);
    return 0;
}
