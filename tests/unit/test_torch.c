/*
 * The torch shim against Python torch (tests/oracle/torch_mlp.py): a 2-layer MLP trained
 * from identical weights with SGD, Adam and AdamW + clipping must follow the same loss
 * curve and end at the same weights (1e-5); single ops and a TorchScript module must
 * give the same outputs; errors must come back as messages, and scopes must free.
 */
#include "mer/error.h"
#include "mer/torch.h"
#include "testhelp.h"

#include <math.h>

#define STEPS 6

static char dir[4200];

static float *load_raw(const char *name, size_t bytes)
{
    return test_read_raw(dir, name, bytes);
}

static mer_tensor *tensor_from_file(const char *name, enum mer_tdtype dt, int ndim,
                                    const int64_t *shape)
{
    size_t n = 1;
    mer_tensor *t = NULL;
    void *buf;
    for (int i = 0; i < ndim; i++)
        n *= (size_t)shape[i];
    buf = load_raw(name, n * (dt == MER_T_I64 ? 8 : 4));
    CHECK(mer_tensor_from_host(&t, buf, dt, ndim, shape) == 0);
    free(buf);
    return t;
}

/* Max |a - b| between a tensor and a raw file of the same size. */
static double maxdiff_vs_file(const mer_tensor *t, const char *name)
{
    size_t n = (size_t)mer_tensor_numel(t);
    float *want = load_raw(name, n * 4), *got = calloc(n, 4);
    double d = 0;
    CHECK(mer_tensor_to_host(t, got, n * 4) == 0);
    for (size_t i = 0; i < n; i++)
        d = fmax(d, fabs((double)got[i] - (double)want[i]));
    free(want);
    free(got);
    return d;
}

static const int64_t W1[] = {16, 8}, B1[] = {16}, W2[] = {4, 16}, B2[] = {4}, X[] = {32, 8},
                     Y[] = {32}, YI[] = {32, 1};

/* Cross-entropy of the MLP on (x, y), all in a scope the caller owns. */
static mer_tensor *mlp_loss(mer_tensor **p, const mer_tensor *x, const mer_tensor *y, int gelu)
{
    mer_tensor *h, *a, *logits, *logp, *picked, *mean, *loss;
    CHECK(mer_t_linear(&h, x, p[0], p[1]) == 0);
    CHECK((gelu ? mer_t_gelu(&a, h) : mer_t_relu(&a, h)) == 0);
    CHECK(mer_t_linear(&logits, a, p[2], p[3]) == 0);
    CHECK(mer_t_log_softmax(&logp, logits, 1) == 0);
    CHECK(mer_t_gather(&picked, logp, 1, y) == 0);
    CHECK(mer_t_mean(&mean, picked, MER_ALL_DIMS, 0) == 0);
    CHECK(mer_t_neg(&loss, mean) == 0);
    return loss;
}

static void train_and_compare(const char *name, struct mer_optim_params op, int gelu, double clip)
{
    static const char *const pnames[] = {"w1", "b1", "w2", "b2"};
    const int64_t *shapes[] = {W1, B1, W2, B2};
    const int ndims[] = {2, 1, 2, 1};
    mer_tensor *p[4], *x, *y;
    mer_optim *opt = NULL;
    char path[4400], file[64];
    FILE *f;
    double loss_diff = 0;
    for (int i = 0; i < 4; i++) {
        snprintf(file, sizeof(file), "%s.f32", pnames[i]);
        p[i] = tensor_from_file(file, MER_T_F32, ndims[i], shapes[i]);
        CHECK(mer_tensor_set_requires_grad(p[i], 1) == 0);
    }
    x = tensor_from_file("x.f32", MER_T_F32, 2, X);
    y = tensor_from_file("y.i64", MER_T_I64, 2, YI);
    CHECK(mer_optim_new(&opt, p, 4, &op) == 0);
    snprintf(path, sizeof(path), "%s/%s.losses", dir, name);
    f = fopen(path, "r");
    CHECK(f != NULL);
    for (int step = 0; f && step < STEPS; step++) {
        mer_scope *s = mer_scope_begin();
        double got, want = NAN;
        CHECK(mer_optim_zero_grad(opt) == 0);
        mer_tensor *loss = mlp_loss(p, x, y, gelu);
        CHECK(mer_tensor_backward(loss) == 0);
        if (clip > 0)
            CHECK(mer_clip_grad_norm(p, 4, clip, NULL) == 0);
        CHECK(mer_optim_step(opt) == 0);
        CHECK(mer_tensor_item(loss, &got) == 0);
        CHECK(fscanf(f, "%lf", &want) == 1);
        CHECK_NEAR(got, want, 1e-5);
        loss_diff = fmax(loss_diff, fabs(got - want));
        mer_scope_end(s);
    }
    if (f)
        fclose(f);
    printf("%-11s loss maxdiff %.3g", name, loss_diff);
    for (int i = 0; i < 4; i++) {
        double d;
        snprintf(file, sizeof(file), "%s.%s.f32", name, pnames[i]);
        d = maxdiff_vs_file(p[i], file);
        CHECK(d <= 1e-5);
        printf("  %s %.3g", pnames[i], d);
    }
    printf("\n");
    CHECK(mer_optim_steps(opt) == STEPS);
    mer_optim_free(opt);
    for (int i = 0; i < 4; i++)
        mer_tensor_free(p[i]);
    mer_tensor_free(x);
    mer_tensor_free(y);
    (void)Y;
}

static void single_ops(void)
{
    static const int64_t A[] = {5, 7}, W[] = {7};
    mer_scope *s = mer_scope_begin();
    mer_tensor *a = tensor_from_file("ops_in.f32", MER_T_F32, 2, A);
    mer_tensor *w = tensor_from_file("ln_w.f32", MER_T_F32, 1, W);
    mer_tensor *b = tensor_from_file("ln_b.f32", MER_T_F32, 1, W);
    mer_tensor *ln, *sm, *lsm, *lse, *nrm, *sg, *th, *st;
    CHECK(mer_t_layer_norm(&ln, a, w, b, 1e-5) == 0);
    CHECK(mer_t_softmax(&sm, a, 1) == 0);
    CHECK(mer_t_log_softmax(&lsm, a, 0) == 0);
    CHECK(mer_t_logsumexp(&lse, a, 1, 0) == 0);
    CHECK(mer_t_normalize(&nrm, a, 1, 1e-12) == 0);
    CHECK(mer_t_sigmoid(&sg, a) == 0 && mer_t_tanh(&th, a) == 0 && mer_t_mul(&st, sg, th) == 0);
    CHECK(maxdiff_vs_file(ln, "ops_layer_norm.f32") < 1e-5);
    CHECK(maxdiff_vs_file(sm, "ops_softmax.f32") < 1e-6);
    CHECK(maxdiff_vs_file(lsm, "ops_log_softmax.f32") < 1e-6);
    CHECK(maxdiff_vs_file(lse, "ops_logsumexp.f32") < 1e-6);
    CHECK(maxdiff_vs_file(nrm, "ops_normalize.f32") < 1e-6);
    CHECK(maxdiff_vs_file(st, "ops_sigmoid_tanh.f32") < 1e-6);
    printf("single ops: layer_norm %.3g softmax %.3g log_softmax %.3g logsumexp %.3g "
           "normalize %.3g\n",
           maxdiff_vs_file(ln, "ops_layer_norm.f32"), maxdiff_vs_file(sm, "ops_softmax.f32"),
           maxdiff_vs_file(lsm, "ops_log_softmax.f32"), maxdiff_vs_file(lse, "ops_logsumexp.f32"),
           maxdiff_vs_file(nrm, "ops_normalize.f32"));
    mer_scope_end(s);
}

static void torchscript(void)
{
    static const int64_t IN[] = {4, 8};
    char path[4400];
    mer_jit *m = NULL;
    mer_scope *s = mer_scope_begin();
    mer_tensor *x = tensor_from_file("ts_in.f32", MER_T_F32, 2, IN), *y = NULL;
    snprintf(path, sizeof(path), "%s/ts.pt", dir);
    CHECK(mer_jit_load(&m, path) == 0);
    CHECK(m && mer_jit_forward(m, &y, (const mer_tensor *const *)&x, 1) == 0);
    if (y) {
        double d = maxdiff_vs_file(y, "ts_out.f32");
        CHECK(d < 1e-6);
        printf("torchscript forward maxdiff %.3g\n", d);
    }
    mer_jit_free(m);
    CHECK(mer_jit_load(&m, "/nonexistent/model.pt") == -1);
    CHECK(strstr(mer_errmsg(), "/nonexistent/model.pt") != NULL);
    mer_scope_end(s);
}

static void errors_and_scopes(void)
{
    static const int64_t A[] = {2, 3}, B[] = {4, 5};
    size_t live = mer_tensor_live_count();
    mer_scope *s = mer_scope_begin();
    mer_tensor *a, *b, *c = NULL, *early;
    CHECK(mer_tensor_zeros(&a, MER_T_F32, 2, A) == 0);
    CHECK(mer_tensor_zeros(&b, MER_T_F32, 2, B) == 0);
    CHECK(mer_t_matmul(&c, a, b) == -1);
    CHECK(strncmp(mer_errmsg(), "torch: ", 7) == 0);
    CHECK(strchr(mer_errmsg(), '\n') == NULL);
    CHECK(strstr(mer_errmsg(), "2x3") != NULL && strstr(mer_errmsg(), "4x5") != NULL);
    CHECK(mer_tensor_grad(&c, a) == -1);
    CHECK(mer_tensor_zeros(&early, MER_T_F32, 2, A) == 0);
    mer_tensor_free(early); /* freed before its scope: the scope must not free it again */
    CHECK(mer_tensor_live_count() == live + 2);
    mer_scope_end(s);
    CHECK(mer_tensor_live_count() == live);
    if (!mer_torch_cuda_available()) {
        CHECK(mer_torch_set_device("cuda:0") == -1);
        CHECK(strstr(mer_errmsg(), "cuda:0") != NULL);
    }
    CHECK(mer_torch_set_device("tpu") == -1);
    CHECK(mer_torch_set_device("cpu") == 0);
}

int main(void)
{
    char cmd[8800];
    snprintf(dir, sizeof(dir), "%s", test_tmpdir());
    snprintf(cmd, sizeof(cmd), "%s %s/tests/oracle/torch_mlp.py %s", MER_TEST_PYTHON,
             MER_TEST_SOURCE_DIR, dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "the Python torch oracle failed (is python3-torch installed?)\n");
        return 1;
    }
    mer_torch_set_threads(1);
    TEST("sgd with weight decay")
    {
        struct mer_optim_params op = mer_optim_default_params(MER_OPTIM_SGD);
        op.lr = 0.1;
        op.weight_decay = 1e-3;
        train_and_compare("sgd", op, 0, 0);
    }
    TEST("adam with L2 weight decay, gelu")
    {
        struct mer_optim_params op = mer_optim_default_params(MER_OPTIM_ADAM);
        op.lr = 1e-2;
        op.weight_decay = 1e-3;
        train_and_compare("adam", op, 1, 0);
    }
    TEST("adamw with gradient clipping")
    {
        struct mer_optim_params op = mer_optim_default_params(MER_OPTIM_ADAMW);
        op.lr = 1e-2;
        op.weight_decay = 1e-2;
        train_and_compare("adamw_clip", op, 0, 0.5);
    }
    TEST("single ops match") single_ops();
    TEST("torchscript module matches") torchscript();
    TEST("errors and scopes") errors_and_scopes();
    return test_report();
}
