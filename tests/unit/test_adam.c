/*
 * The plain-C engine's parameter block and Adam/AdamW (src/model/adam.h) against
 * torch.optim.Adam and AdamW themselves (tests/oracle/torch_adam.py): the same gradients, and
 * the weights and both moments after every step agree to float rounding; the moments come out
 * in the checkpoint's layout; the tensors view the block and get storage of their own back.
 */
#include "mer/error.h"
#include "mer/torch.h"
#include "model/adam.h"
#include "testhelp.h"

#include <math.h>

#define STEPS   7
#define NPARAMS 4
#define TOTAL   (37 + 16 * 8 + 5 + 3 * 33)

static const int64_t S0[] = {37}, S1[] = {16, 8}, S2[] = {5}, S3[] = {3, 33};
static const int64_t *const shapes[NPARAMS] = {S0, S1, S2, S3};
static const int ndims[NPARAMS] = {1, 2, 1, 2};

static char dir[4200];

static float *load(const char *name)
{
    char file[160];
    snprintf(file, sizeof(file), "%.64s.f32", name);
    return test_read_raw(dir, file, (strstr(name, "moments") ? 2 : 1) * TOTAL * sizeof(float));
}

static double maxdiff(const float *a, const float *b, size_t n)
{
    double d = 0;
    for (size_t i = 0; i < n; i++)
        d = fmax(d, fabs((double)a[i] - (double)b[i]));
    return d;
}

/* The oracle's initial parameters as four leaf tensors. */
static void make_params(mer_tensor **t, const float *init)
{
    for (int i = 0, at = 0; i < NPARAMS; i++) {
        CHECK(mer_tensor_from_host(&t[i], init + at, MER_T_F32, ndims[i], shapes[i]) == 0);
        CHECK(mer_tensor_set_requires_grad(t[i], 1) == 0);
        at += (int)mer_tensor_numel(t[i]);
    }
}

static void run_case(const char *name, const struct mer_optim_params *op, const float *init)
{
    char file[96];
    mer_tensor *t[NPARAMS];
    struct mer_params pb = {0};
    mer_adam *opt = NULL;
    float *want_p, *want_m, host[TOTAL];
    double dp, dm;
    int zeroed = 1;
    make_params(t, init);
    CHECK(mer_params_flatten(&pb, t, NPARAMS) == 0);
    CHECK(pb.n == NPARAMS && pb.offset[NPARAMS] == TOTAL && pb.offset[1] == 37);
    CHECK(((uintptr_t)pb.values & 63) == 0 && ((uintptr_t)pb.grads & 63) == 0);
    CHECK(maxdiff(pb.values, init, TOTAL) == 0);
    CHECK(mer_adam_new(&opt, &pb, op) == 0);
    CHECK(mer_adam_state_size(opt) == 2 * TOTAL && mer_adam_steps(opt) == 0);
    for (int step = 0; step < STEPS; step++) {
        float *g;
        snprintf(file, sizeof(file), "grad%d", step);
        g = load(file);
        memcpy(pb.grads, g, sizeof(float) * TOTAL);
        free(g);
        mer_adam_begin_step(opt);
        for (size_t i = NPARAMS; i-- > 0;) /* any order: the deferred step's is the forward's */
            mer_adam_step_param(opt, i);
        for (size_t i = 0; i < TOTAL; i++)
            zeroed &= pb.grads[i] == 0.0f;
    }
    CHECK(zeroed); /* each update zeroes the gradient it consumed */
    CHECK(mer_adam_steps(opt) == STEPS);
    snprintf(file, sizeof(file), "%s.params", name);
    want_p = load(file);
    snprintf(file, sizeof(file), "%s.moments", name);
    want_m = load(file);
    dp = maxdiff(pb.values, want_p, TOTAL);
    dm = maxdiff(mer_adam_state(opt), want_m, 2 * TOTAL);
    printf("%-12s vs torch.optim: weights maxdiff %.3g, moments maxdiff %.3g\n", name, dp, dm);
    CHECK(dp <= 1e-6);
    CHECK(dm <= 1e-6);
    /* torch sees the same weights through the tensors, before and after they move back */
    CHECK(mer_tensor_to_host(t[3], host, 99 * sizeof(float)) == 0);
    CHECK(maxdiff(host, pb.values + pb.offset[3], 99) == 0);
    memcpy(host, pb.values, sizeof(host));
    mer_adam_free(opt);
    mer_params_release(&pb);
    CHECK(pb.values == NULL && pb.n == 0);
    for (int i = 0, at = 0; i < NPARAMS; i++) {
        float own[128];
        size_t n = (size_t)mer_tensor_numel(t[i]);
        CHECK(mer_tensor_to_host(t[i], own, n * sizeof(float)) == 0);
        CHECK(maxdiff(own, host + at, n) == 0);
        at += (int)n;
        mer_tensor_free(t[i]);
    }
    free(want_p);
    free(want_m);
}

static void errors(const float *init)
{
    static const int64_t N[] = {3};
    const double d[3] = {1, 2, 3};
    mer_tensor *t[2];
    struct mer_params pb = {0};
    struct mer_optim_params sgd = mer_optim_default_params(MER_OPTIM_SGD);
    mer_adam *opt = NULL;
    float back[37];
    CHECK(mer_tensor_from_host(&t[0], init, MER_T_F32, 1, S0) == 0);
    CHECK(mer_tensor_from_host(&t[1], d, MER_T_F64, 1, N) == 0);
    CHECK(mer_params_flatten(&pb, t, 2) == -1); /* float64: refused, t[0] given back */
    printf("flatten error: %s\n", mer_errmsg());
    CHECK(strstr(mer_errmsg(), "float32") != NULL);
    CHECK(pb.values == NULL && pb.n == 0);
    CHECK(mer_tensor_to_host(t[0], back, sizeof(back)) == 0 && maxdiff(back, init, 37) == 0);
    CHECK(mer_params_flatten(&pb, t, 1) == 0);
    CHECK(mer_adam_new(&opt, &pb, &sgd) == -1 && opt == NULL);
    printf("sgd error: %s\n", mer_errmsg());
    mer_adam_free(NULL);
    mer_params_release(&pb);
    mer_params_release(&pb); /* a released block is a zeroed one */
    mer_tensor_free(t[0]);
    mer_tensor_free(t[1]);
}

int main(void)
{
    char name[64], kind[16], path[4300];
    float *init;
    FILE *f;
    snprintf(dir, sizeof(dir), "%s", test_tmpdir());
    if (test_oracle("torch_adam.py '%s'", dir) < 0) {
        fprintf(stderr, "the Python torch oracle failed (is python3-torch installed?)\n");
        return 1;
    }
    mer_torch_set_threads(1);
    init = load("init");
    snprintf(path, sizeof(path), "%s/cases.txt", dir);
    f = fopen(path, "r");
    CHECK(f != NULL);
    TEST("adam and adamw follow torch.optim")
    {
        struct mer_optim_params op;
        int cases = 0;
        while (f && fscanf(f, "%63s %15s %lf %lf %lf %lf %lf", name, kind, &op.lr, &op.beta1,
                           &op.beta2, &op.eps, &op.weight_decay) == 7) {
            op.kind = strcmp(kind, "adamw") ? MER_OPTIM_ADAM : MER_OPTIM_ADAMW;
            run_case(name, &op, init);
            cases++;
        }
        CHECK_EQ_INT(cases, 4);
    }
    if (f)
        fclose(f);
    TEST("errors") errors(init);
    free(init);
    return test_report();
}
