/* The plain-C engine's parameter block and Adam/AdamW (adam.h). */
#include "model/adam.h"
#include "mer/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_ALIGN 64 /* bytes: c10's CPU allocator's, which the block replaces */

static float *alloc_block(int64_t floats)
{
    size_t bytes = ((size_t)floats * sizeof(float) + BLOCK_ALIGN - 1) / BLOCK_ALIGN * BLOCK_ALIGN;
    float *p = aligned_alloc(BLOCK_ALIGN, bytes ? bytes : BLOCK_ALIGN);
    if (p)
        memset(p, 0, bytes);
    return p;
}

int mer_params_flatten(struct mer_params *b, mer_tensor *const *t, size_t n)
{
    size_t bound = 0;
    int ret = -1;
    memset(b, 0, sizeof(*b));
    if (!(b->offset = malloc((n + 1) * sizeof(*b->offset)))) {
        mer_error("out of memory");
        goto done;
    }
    b->offset[0] = 0;
    for (size_t i = 0; i < n; i++)
        b->offset[i + 1] = b->offset[i] + mer_tensor_numel(t[i]);
    if (!(b->values = alloc_block(b->offset[n])) || !(b->grads = alloc_block(b->offset[n]))) {
        mer_error("out of memory (%lld parameters)", (long long)b->offset[n]);
        goto done;
    }
    for (; bound < n; bound++)
        if (mer_tensor_bind_host(t[bound], b->values + b->offset[bound],
                                 b->grads + b->offset[bound]) < 0)
            goto done;
    b->tensors = t;
    b->n = n;
    ret = 0;
done:
    if (ret < 0) {
        b->tensors = t;
        b->n = bound; /* the ones moved so far move back */
        mer_params_release(b);
    }
    return ret;
}

void mer_params_release(struct mer_params *b)
{
    for (size_t i = 0; i < b->n; i++)
        if (mer_tensor_unbind_host(b->tensors[i]) < 0)
            MER_BUG("params: parameter %zu keeps viewing the block: %s", i, mer_errmsg());
    free(b->values);
    free(b->grads);
    free(b->offset);
    memset(b, 0, sizeof(*b));
}

struct mer_adam {
    const struct mer_params *b;
    float *moments; /* m then v of every parameter, parameter i's at 2 * offset[i] */
    struct mer_optim_params p;
    int64_t steps;
};

int mer_adam_new(mer_adam **out, const struct mer_params *b, const struct mer_optim_params *p)
{
    mer_adam *a;
    if (p->kind != MER_OPTIM_ADAM && p->kind != MER_OPTIM_ADAMW)
        return mer_error("the plain-C engine's optimizer is adam or adamw");
    if (!(a = calloc(1, sizeof(*a))) ||
        !(a->moments = calloc(2 * (size_t)b->offset[b->n] + 1, sizeof(float)))) {
        free(a);
        return mer_error("out of memory");
    }
    a->b = b;
    a->p = *p;
    *out = a;
    return 0;
}

void mer_adam_free(mer_adam *a)
{
    if (!a)
        return;
    free(a->moments);
    free(a);
}

/* One parameter, torch.optim.Adam/AdamW's arithmetic (torch 1.13, single-tensor path):
 *   adamw: p *= 1 - lr * wd          adam: g += wd * p
 *   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
 *   p -= lr / (1 - b1^t) * m / (sqrt(v) * (1 / sqrt(1 - b2^t)) + eps)
 * torch divides by sqrt(1 - b2^t); multiplying by its reciprocal instead saves one of the two
 * divisions per element, a quarter of this loop's time (the divisions bound it, not memory),
 * and moves the denominator by at most an ulp.
 * Every scalar is computed in double and rounded to float once, as torch's kernels get them:
 * (float)(1 - b1) is not 1 - (float)b1, and the difference showed in the weights in six steps.
 * Built twice, for AVX2 and for any x86-64, the loader picking one (an ifunc): twice the
 * vector width halves its time. No multiply-add is contracted (-ffp-contract=off, and neither
 * build has FMA), so both round alike, element by element. The gradient is zeroed in the same
 * pass (cheaper than a pass of its own while its lines are in cache). */
#ifdef __x86_64__
__attribute__((target_clones("avx2", "default")))
#endif
static void
update(float *p, float *g, float *m, float *v, size_t n, const struct mer_optim_params *o,
       int64_t t)
{
    const float b1 = (float)o->beta1, b2 = (float)o->beta2;
    const double bc1 = 1.0 - pow(o->beta1, (double)t), bc2 = 1.0 - pow(o->beta2, (double)t);
    const float step = (float)(o->lr / bc1), inv_bc2_sqrt = (float)(1.0 / sqrt(bc2)),
                eps = (float)o->eps;
    const float decay = (float)(1.0 - o->lr * o->weight_decay), wd = (float)o->weight_decay;
    const float a1 = (float)(1.0 - o->beta1), a2 = (float)(1.0 - o->beta2);
    const int decoupled = o->kind == MER_OPTIM_ADAMW;
    for (size_t i = 0; i < n; i++) {
        float gi = g[i];
        if (decoupled)
            p[i] *= decay;
        else if (wd != 0.0f)
            gi += wd * p[i];
        m[i] = m[i] * b1 + a1 * gi;
        v[i] = v[i] * b2 + a2 * gi * gi;
        p[i] += -step * (m[i] / (sqrtf(v[i]) * inv_bc2_sqrt + eps));
        g[i] = 0.0f;
    }
}

void mer_adam_begin_step(mer_adam *a)
{
    a->steps++;
}

void mer_adam_step_param(mer_adam *a, size_t i)
{
    const struct mer_params *b = a->b;
    int64_t at, n;
    MER_ASSERT(i < b->n);
    at = b->offset[i];
    n = b->offset[i + 1] - at;
    update(b->values + at, b->grads + at, a->moments + 2 * at, a->moments + 2 * at + n, (size_t)n,
           &a->p, a->steps);
}

int64_t mer_adam_steps(const mer_adam *a)
{
    return a->steps;
}

size_t mer_adam_state_size(const mer_adam *a)
{
    return 2 * (size_t)a->b->offset[a->b->n];
}

float *mer_adam_state(mer_adam *a)
{
    return a->moments;
}

void mer_adam_set_steps(mer_adam *a, int64_t steps)
{
    a->steps = steps;
}
