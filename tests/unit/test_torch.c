/*
 * The torch shim against Python torch (tests/oracle/torch_mlp.py): a 2-layer MLP trained
 * from identical weights with SGD, Adam and AdamW + clipping (the libtorch engine's optimizer;
 * the plain-C engine's is test_adam's) must follow the same loss curve and end at the same
 * weights (1e-5); single ops and a TorchScript module must give the same outputs; errors must
 * come back as messages, and scopes must free.
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
                     YI[] = {32, 1};

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

/* STEPS numbers, one a line, from the oracle's <name>.<ext>; NANs where it has none. */
static void read_curve(const char *name, const char *ext, double *v)
{
    char path[4400];
    FILE *f;
    snprintf(path, sizeof(path), "%s/%s.%s", dir, name, ext);
    f = fopen(path, "r");
    CHECK(f != NULL);
    for (int i = 0; i < STEPS; i++)
        if (!f || fscanf(f, "%lf", &v[i]) != 1)
            v[i] = NAN;
    if (f)
        fclose(f);
}

static void train_and_compare(const char *name, struct mer_optim_params op, int gelu, double clip)
{
    static const char *const pnames[] = {"w1", "b1", "w2", "b2"};
    const int64_t *shapes[] = {W1, B1, W2, B2};
    const int ndims[] = {2, 1, 2, 1};
    mer_tensor *p[4], *x, *y;
    mer_optim *opt = NULL;
    char file[64];
    double losses[STEPS], norms[STEPS], loss_diff = 0, norm_diff = 0;
    for (int i = 0; i < 4; i++) {
        snprintf(file, sizeof(file), "%s.f32", pnames[i]);
        p[i] = tensor_from_file(file, MER_T_F32, ndims[i], shapes[i]);
        CHECK(mer_tensor_set_requires_grad(p[i], 1) == 0);
    }
    x = tensor_from_file("x.f32", MER_T_F32, 2, X);
    y = tensor_from_file("y.i64", MER_T_I64, 2, YI);
    CHECK(mer_optim_new(&opt, p, 4, &op) == 0);
    read_curve(name, "losses", losses);
    if (clip > 0)
        read_curve(name, "norms", norms);
    for (int step = 0; step < STEPS; step++) {
        mer_scope *s = mer_scope_begin();
        double got, norm = 0;
        CHECK(mer_optim_zero_grad(opt) == 0);
        mer_tensor *loss = mlp_loss(p, x, y, gelu);
        CHECK(mer_tensor_backward(loss) == 0);
        if (clip > 0) {
            CHECK(mer_clip_grad_norm(p, 4, clip, &norm) == 0);
            CHECK_NEAR(norm, norms[step], 1e-5);
            norm_diff = fmax(norm_diff, fabs(norm - norms[step]));
        }
        CHECK(mer_optim_step(opt) == 0);
        CHECK(mer_tensor_item(loss, &got) == 0);
        CHECK_NEAR(got, losses[step], 1e-5);
        loss_diff = fmax(loss_diff, fabs(got - losses[step]));
        mer_scope_end(s);
    }
    if (clip > 0)
        printf("%-11s grad norm maxdiff %.3g\n", name, norm_diff);
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
}

/* Each op once on a fixed input against the oracle's ops_<name>.f32. */
static void single_ops(void)
{
    static const int64_t A[] = {5, 7}, W[] = {7}, I[] = {3};
    static const int64_t index[] = {4, 0, 2};
    mer_scope *s = mer_scope_begin();
    mer_tensor *a = tensor_from_file("ops_in.f32", MER_T_F32, 2, A);
    mer_tensor *w = tensor_from_file("ln_w.f32", MER_T_F32, 1, W);
    mer_tensor *b = tensor_from_file("ln_b.f32", MER_T_F32, 1, W);
    mer_tensor *t[16], *sg, *th, *at, *a2, *mask, *idx, *pair[2];
    float host[35];
    unsigned char positive[35];
    const char *name[16];
    int n = 0;
    CHECK(mer_tensor_to_host(a, host, sizeof(host)) == 0);
    for (int i = 0; i < 35; i++)
        positive[i] = host[i] > 0;
    CHECK(mer_tensor_from_host(&mask, positive, MER_T_BOOL, 2, A) == 0);
    CHECK(mer_tensor_from_host(&idx, index, MER_T_I64, 1, I) == 0);
    CHECK(mer_t_mul_scalar(&a2, a, 2) == 0 && mer_t_transpose(&at, a, 0, 1) == 0);
    pair[0] = a;
    pair[1] = a2;
#define OP(label, call)                                                                            \
    do {                                                                                           \
        name[n] = (label);                                                                         \
        CHECK((call) == 0);                                                                        \
        n++;                                                                                       \
    } while (0)
    OP("layer_norm", mer_t_layer_norm(&t[n], a, w, b, 1e-5));
    OP("softmax", mer_t_softmax(&t[n], a, 1));
    OP("log_softmax", mer_t_log_softmax(&t[n], a, 0));
    OP("logsumexp", mer_t_logsumexp(&t[n], a, 1, 0));
    OP("normalize", mer_t_normalize(&t[n], a, 1, 1e-12));
    CHECK(mer_t_sigmoid(&sg, a) == 0 && mer_t_tanh(&th, a) == 0);
    OP("sigmoid_tanh", mer_t_mul(&t[n], sg, th));
    OP("gelu", mer_t_gelu(&t[n], a));
    OP("max", mer_t_max(&t[n], a, 1, 1));
    OP("mean", mer_t_mean(&t[n], a, 0, 0));
    OP("masked_fill", mer_t_masked_fill(&t[n], a, mask, -2.5));
    OP("index_select", mer_t_index_select(&t[n], a, 0, idx));
    OP("cat", mer_t_cat(&t[n], (const mer_tensor *const *)pair, 2, 1));
    OP("stack", mer_t_stack(&t[n], (const mer_tensor *const *)pair, 2, 0));
    OP("matmul", mer_t_matmul(&t[n], a, at));
    mer_torch_manual_seed(7);
    OP("dropout", mer_t_dropout(&t[n], a, 0.3, 1)); /* the same generator as Python's */
#undef OP
    printf("single ops maxdiff:");
    for (int i = 0; i < n; i++) {
        char file[64];
        double d;
        snprintf(file, sizeof(file), "ops_%s.f32", name[i]);
        d = maxdiff_vs_file(t[i], file);
        CHECK(d < 1e-5);
        printf(" %s %.3g", name[i], d);
    }
    printf("\n");
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
    if (m) {
        static const int64_t BAD[] = {4, 5};
        mer_tensor *bad = NULL, *z = NULL;
        CHECK(mer_tensor_zeros(&bad, MER_T_F32, 2, BAD) == 0);
        CHECK(mer_jit_forward(m, &z, (const mer_tensor *const *)&bad, 1) == -1);
        printf("torchscript error: %s\n", mer_errmsg());
        CHECK(strchr(mer_errmsg(), '\n') == NULL);
        CHECK(strstr(mer_errmsg(), "4x5") != NULL); /* the cause, not the traceback */
    }
    mer_jit_free(m);
    CHECK(mer_jit_load(&m, "/nonexistent/model.pt") == -1);
    CHECK(strstr(mer_errmsg(), "/nonexistent/model.pt") != NULL);
    printf("jit_load error: %s\n", mer_errmsg());
    snprintf(path, sizeof(path), "%s/ts_in.f32", dir); /* a file, but not TorchScript */
    CHECK(mer_jit_load(&m, path) == -1);
    CHECK(strstr(mer_errmsg(), path) != NULL && strchr(mer_errmsg(), '\n') == NULL);
    printf("jit_load error: %s\n", mer_errmsg());
    mer_scope_end(s);
}

/* Adam and clipping on float64 parameters (clipping's tensor-op path; Adam's moments kept in
 * float32 travel to float64 and back) against float32 ones (clipping's fused loops), and
 * Adam's in-place update seen by autograd. */
static void optimizer_paths(void)
{
    static const int64_t N[] = {37};
    float x32[37], got32[37], q[37];
    double x64[37], got64[37];
    mer_tensor *p32, *p64, *q32, *q64;
    mer_optim *o32 = NULL, *o64 = NULL;
    struct mer_optim_params op = mer_optim_default_params(MER_OPTIM_ADAMW);
    double d = 0;
    for (int i = 0; i < 37; i++) {
        x32[i] = (float)sin(i * 0.7);
        x64[i] = x32[i];
        q[i] = (float)cos(i * 1.3);
    }
    CHECK(mer_tensor_from_host(&p32, x32, MER_T_F32, 1, N) == 0);
    CHECK(mer_tensor_from_host(&p64, x64, MER_T_F64, 1, N) == 0);
    CHECK(mer_tensor_from_host(&q32, q, MER_T_F32, 1, N) == 0);
    CHECK(mer_tensor_dtype(p64) == MER_T_F64 && mer_tensor_dtype(q32) == MER_T_F32);
    CHECK(mer_tensor_set_requires_grad(p32, 1) == 0 && mer_tensor_set_requires_grad(p64, 1) == 0);
    op.lr = 0.05;
    CHECK(mer_optim_new(&o32, &p32, 1, &op) == 0 && mer_optim_new(&o64, &p64, 1, &op) == 0);
    for (int step = 0; step < 4; step++) {
        mer_scope *s = mer_scope_begin();
        mer_tensor *sq32 = NULL, *sq64 = NULL, *l32 = NULL, *l64 = NULL;
        double n32 = 0, n64 = 0;
        CHECK(mer_optim_zero_grad(o32) == 0 && mer_optim_zero_grad(o64) == 0);
        CHECK(mer_t_mul(&sq32, p32, q32) == 0 && mer_t_sum(&l32, sq32, MER_ALL_DIMS, 0) == 0);
        CHECK(mer_t_mul(&sq64, p64, q32) == 0 && mer_t_sum(&l64, sq64, MER_ALL_DIMS, 0) == 0);
        CHECK(mer_tensor_backward(l32) == 0 && mer_tensor_backward(l64) == 0);
        CHECK(mer_clip_grad_norm(&p32, 1, 0.5, &n32) == 0);
        CHECK(mer_clip_grad_norm(&p64, 1, 0.5, &n64) == 0);
        CHECK(n32 > 0.5 && fabs(n32 - n64) < 1e-6);
        CHECK(mer_optim_step(o32) == 0 && mer_optim_step(o64) == 0);
        mer_scope_end(s);
    }
    CHECK(mer_tensor_to_host(p32, got32, sizeof(got32)) == 0);
    CHECK(mer_tensor_to_host(p64, got64, sizeof(got64)) == 0);
    for (int i = 0; i < 37; i++)
        d = fmax(d, fabs(got64[i] - got32[i]));
    CHECK(d < 1e-6);
    printf("clip + adamw float64 vs float32 maxdiff %.3g\n", d);
    {
        mer_scope *s = mer_scope_begin();
        mer_tensor *sq = NULL, *l = NULL;
        CHECK(mer_t_mul(&sq, p32, p32) == 0 && mer_t_sum(&l, sq, MER_ALL_DIMS, 0) == 0);
        CHECK(mer_optim_step(o32) == 0); /* p32 changes under the graph that saved it */
        CHECK(mer_tensor_backward(l) == -1);
        CHECK(strstr(mer_errmsg(), "inplace") != NULL);
        CHECK(mer_t_mul(&q64, q32, q32) == 0);
        CHECK(mer_tensor_to_host(q64, got64, sizeof(got64)) == -1); /* float32 into doubles */
        CHECK(strstr(mer_errmsg(), "float32") != NULL && strstr(mer_errmsg(), "[37]") != NULL);
        printf("to_host dtype error: %s\n", mer_errmsg());
        CHECK(mer_tensor_zeros(&q64, (enum mer_tdtype)42, 1, N) == -1);
        mer_scope_end(s);
    }
    mer_optim_free(o32);
    mer_optim_free(o64);
    mer_tensor_free(p32);
    mer_tensor_free(p64);
    mer_tensor_free(q32);
}

static void errors(void)
{
    static const int64_t A[] = {2, 3}, B[] = {4, 5};
    mer_scope *s = mer_scope_begin();
    mer_tensor *a, *b, *c = NULL;
    CHECK(mer_tensor_zeros(&a, MER_T_F32, 2, A) == 0);
    CHECK(mer_tensor_zeros(&b, MER_T_F32, 2, B) == 0);
    CHECK(mer_t_matmul(&c, a, b) == -1);
    CHECK(c == NULL);
    printf("matmul error: %s\n", mer_errmsg());
    CHECK(strncmp(mer_errmsg(), "torch: ", 7) == 0);
    CHECK(strchr(mer_errmsg(), '\n') == NULL);
    CHECK(strstr(mer_errmsg(), "2x3") != NULL && strstr(mer_errmsg(), "4x5") != NULL);
    CHECK(mer_tensor_grad(&c, a) == -1);
    CHECK(mer_tensor_backward(a) == -1); /* needs no grad */
    CHECK(strchr(mer_errmsg(), '\n') == NULL);
    mer_scope_end(s);
    if (!mer_torch_cuda_available()) {
        CHECK(mer_torch_set_device("cuda:0") == -1);
        printf("cuda error: %s\n", mer_errmsg());
        CHECK(strstr(mer_errmsg(), "cuda:0") != NULL);
    }
    CHECK(mer_torch_set_device("tpu") == -1);
    CHECK(mer_torch_set_device("cpu") == 0);
}

static void scopes(void)
{
    static const int64_t A[] = {2, 3};
    size_t live = mer_tensor_live_count();
    mer_tensor *param, *t, *early, *kept;
    mer_scope *outer, *inner;
    CHECK(mer_tensor_zeros(&param, MER_T_F32, 2, A) == 0); /* outside any scope */
    outer = mer_scope_begin();
    CHECK(mer_t_add_scalar(&kept, param, 1) == 0);
    for (int step = 0; step < 3; step++) {
        inner = mer_scope_begin();
        CHECK(mer_t_relu(&t, param) == 0 && mer_t_exp(&t, t) == 0);
        CHECK(mer_tensor_zeros(&early, MER_T_F32, 2, A) == 0);
        mer_tensor_free(early); /* freed before its scope: the scope must skip it */
        CHECK(mer_tensor_live_count() == live + 4);
        mer_scope_reset(inner);
        CHECK(mer_tensor_live_count() == live + 2);
        CHECK(mer_t_neg(&t, kept) == 0); /* the reset scope still collects */
        mer_scope_end(inner);
        CHECK(mer_tensor_live_count() == live + 2);
    }
    mer_scope_end(outer);
    CHECK(mer_tensor_live_count() == live + 1);
    mer_tensor_free(param);
    CHECK(mer_tensor_live_count() == live);
    mer_scope_end(NULL);
    mer_scope_reset(NULL);
    mer_tensor_free(NULL);
    mer_optim_free(NULL);
    mer_jit_free(NULL);
    printf("scopes: %zu live handles after every scope ended\n", mer_tensor_live_count());
}

int main(void)
{

    snprintf(dir, sizeof(dir), "%s", test_tmpdir());
    if (test_oracle("torch_mlp.py '%s'", dir) < 0) {
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
    TEST("optimizer paths") optimizer_paths();
    TEST("errors become messages") errors();
    TEST("scopes free their handles") scopes();
    return test_report();
}
