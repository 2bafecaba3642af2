/*
 * The C model against the PyTorch reference (python/mer_model.py via tests/oracle/model_oracle.py):
 * from the same weights and batch, logits, z, every loss term and every parameter's gradient
 * agree to 1e-5, for each prior injection mode, cross-entropy variant and fusion normalisation.
 * The plain-C training step (cnet.h) is held to the same reference on every case.
 */
#include "model/cnet.h"
#include "mer/error.h"
#include "mer/model.h"
#include "mer/store.h"
#include "testhelp.h"

#include <math.h>

#define N 12
#define K 6
#define P 10
static const int64_t DIMS[3] = {20, 12, 16};
static char root[4200];

static void *load(const char *dir, const char *name, size_t bytes)
{
    return test_read_raw(dir, name, bytes);
}

static double maxdiff(const mer_tensor *t, const float *want)
{
    size_t n = (size_t)mer_tensor_numel(t);
    float *got = calloc(n, sizeof(float));
    double d = 0;
    CHECK(mer_tensor_to_host(t, got, n * sizeof(float)) == 0);
    for (size_t i = 0; i < n; i++)
        d = fmax(d, fabs((double)got[i] - (double)want[i]));
    free(got);
    return d;
}

static enum mer_prior_mode mode_of(const char *s)
{
    int m = mer_enum_lookup(s, mer_prior_mode_names, MER_N_PRIOR_MODES);
    CHECK(m >= 0);
    return m < 0 ? MER_PRIOR_NONE : (enum mer_prior_mode)m;
}

static enum mer_ce_kind ce_of(const char *s)
{
    int k = mer_enum_lookup(s, mer_ce_kind_names, MER_N_CE_KINDS);
    CHECK(k >= 0);
    return k < 0 ? MER_CE_PLAIN : (enum mer_ce_kind)k;
}

/* Gradients of every parameter vs the reference's; returns the max difference. */
static double grad_maxdiff(mer_model *m, const char *dir)
{
    char path[8600];
    mer_st_file *f = NULL;
    double worst = 0;
    snprintf(path, sizeof(path), "%s/grads.safetensors", dir);
    CHECK(mer_st_open(&f, path, 0) == 0);
    if (!f)
        return INFINITY;
    CHECK_EQ_INT(mer_st_n_tensors(f), mer_model_n_params(m));
    for (size_t i = 0; i < mer_model_n_params(m); i++) {
        const struct mer_st_tensor *t = mer_st_find(f, mer_model_param_name(m, i));
        mer_tensor *g = NULL;
        float *want;
        CHECK(t != NULL);
        if (!t)
            continue;
        want = malloc(t->nbytes);
        memcpy(want, t->data, t->nbytes);
        if (mer_tensor_grad(&g, mer_model_param(m, i)) == 0) {
            double d = maxdiff(g, want);
            if (d > 1e-5)
                fprintf(stderr, "  grad %s: maxdiff %.3g\n", mer_model_param_name(m, i), d);
            worst = fmax(worst, d);
        } else {
            /* No gradient in C: the reference's must be all zero. */
            for (size_t j = 0; j < t->nbytes / 4; j++)
                worst = fmax(worst, fabs(want[j]));
        }
        mer_tensor_free(g);
        free(want);
    }
    mer_st_close(f);
    return worst;
}

static double host_maxdiff(const float *got, const float *want, size_t n)
{
    double d = 0;
    for (size_t i = 0; i < n; i++)
        d = fmax(d, fabs((double)got[i] - (double)want[i]));
    return d;
}

/* The same case through the plain-C engine, on a second model with the same weights. */
static void run_cnet(const char *dir, const struct mer_model_config *c,
                     const struct mer_loss_config *lc, const struct mer_host_batch *hb,
                     const double *want, const float *logits, const float *z, const float *v)
{
    char path[8600];
    mer_model *m = NULL;
    struct mer_cnet *e = NULL;
    struct mer_cnet_losses l;
    double got[5], dl = 0, dz, dg;
    snprintf(path, sizeof(path), "%s/weights.safetensors", dir);
    CHECK(mer_model_new(&m, c) == 0);
    CHECK(mer_model_load_weights(m, path) == 0);
    CHECK(mer_cnet_new(&e, m, c, N + 5) == 0);
    if (!e) {
        mer_model_free(m);
        return;
    }
    CHECK(mer_cnet_step(e, hb, lc, NULL, &l, NULL) == 0);
    got[0] = l.term[MER_LOSS_CE];
    got[1] = l.term[MER_LOSS_INTER];
    got[2] = l.term[MER_LOSS_INTRA];
    got[3] = l.total;
    got[4] = l.term[MER_LOSS_VALENCE];
    for (int i = 0; i < 5; i++)
        dl = fmax(dl, fabs(got[i] - want[i]));
    dz = fmax(host_maxdiff(mer_cnet_logits(e), logits, N * K),
              host_maxdiff(mer_cnet_z(e), z, N * 8));
    CHECK((mer_cnet_valence(e) != NULL) == (v != NULL));
    if (v && mer_cnet_valence(e))
        dz = fmax(dz, host_maxdiff(mer_cnet_valence(e), v, N));
    dg = grad_maxdiff(m, dir);
    CHECK(dl < 1e-5);
    CHECK(dz < 1e-5);
    CHECK(dg < 1e-5);
    printf("%-40s outputs %.2g  losses %.2g  grads %.2g\n", "  plain-C engine", dz, dl, dg);
    mer_cnet_free(e);
    mer_model_free(m);
}

static void run_case(const char *name, const char *mode, const char *ce, const char *norm)
{
    char dir[8400], path[8600], file[16];
    struct mer_model_config c = mer_model_default_config();
    struct mer_loss_config lc = mer_loss_default_config();
    static const double counts[K] = {30, 25, 20, 12, 9, 3};
    struct mer_batch b = {0};
    struct mer_forward fw;
    struct mer_losses ls;
    mer_model *m = NULL;
    mer_scope *s;
    float *w, *mask, *logits, *z, *xs[3], *ps[3], *valence, *v = NULL;
    int64_t *y;
    double want[5], got[5] = {0}, dl = 0, dz, dg;
    FILE *f;
    snprintf(dir, sizeof(dir), "%s/%s", root, name);
    c.n_mod = 3;
    memcpy(c.dims, DIMS, sizeof(DIMS));
    c.hidden = 16;
    c.dropout = 0;
    c.n_classes = K;
    c.prior_dim = P;
    c.prior_mode = mode_of(mode);
    c.proj_dim = 8;
    c.attention_norm = (enum mer_attention_norm)mer_enum_lookup(norm, mer_attention_norm_names,
                                                                MER_N_ATTENTION_NORMS);
    c.valence_head = !strncmp(name, "valence-", 8);
    lc.lambda_valence = 0.5;
    lc.ce = ce_of(ce);
    lc.class_counts = counts;
    CHECK(mer_model_new(&m, &c) == 0);
    snprintf(path, sizeof(path), "%s/weights.safetensors", dir);
    CHECK(mer_model_load_weights(m, path) == 0);
    s = mer_scope_begin();
    b.n = N;
    for (int j = 0; j < 3; j++) {
        int64_t xshape[2] = {N, DIMS[j]}, pshape[2] = {N, P};
        snprintf(file, sizeof(file), "x%d.f32", j);
        xs[j] = load(dir, file, (size_t)(N * DIMS[j]) * 4);
        snprintf(file, sizeof(file), "p%d.f32", j);
        ps[j] = load(dir, file, N * P * 4);
        CHECK(mer_tensor_from_host(&b.x[j], xs[j], MER_T_F32, 2, xshape) == 0);
        CHECK(mer_tensor_from_host(&b.prior[j], ps[j], MER_T_F32, 2, pshape) == 0);
    }
    b.prior_w = w = load(dir, "w.f32", N * 3 * 4);
    b.modality_mask = mask = load(dir, "mask.f32", N * 3 * 4);
    b.y = y = load(dir, "y.i64", N * 8);
    b.valence = valence = load(dir, "valence.f32", N * 4);
    logits = load(dir, "logits.f32", N * K * 4);
    z = load(dir, "z.f32", N * 8 * 4);
    CHECK(mer_model_forward(m, &b, 0, &fw) == 0);
    CHECK(mer_model_losses(m, &fw, &b, &lc, &ls) == 0);
    CHECK(mer_tensor_backward(ls.total) == 0);
    snprintf(path, sizeof(path), "%s/losses.txt", dir);
    f = fopen(path, "r");
    CHECK(f &&
          fscanf(f, "%lf %lf %lf %lf %lf", &want[0], &want[1], &want[2], &want[3], &want[4]) == 5);
    if (f)
        fclose(f);
    mer_tensor_item(ls.term[MER_LOSS_CE], &got[0]);
    mer_tensor_item(ls.term[MER_LOSS_INTER], &got[1]);
    mer_tensor_item(ls.term[MER_LOSS_INTRA], &got[2]);
    mer_tensor_item(ls.total, &got[3]);
    if (ls.term[MER_LOSS_VALENCE])
        mer_tensor_item(ls.term[MER_LOSS_VALENCE], &got[4]);
    for (int i = 0; i < 5; i++)
        dl = fmax(dl, fabs(got[i] - want[i]));
    dz = fmax(maxdiff(fw.logits, logits), maxdiff(fw.z, z));
    CHECK((fw.valence != NULL) == c.valence_head);
    if (fw.valence) {
        v = load(dir, "v.f32", N * 4);
        dz = fmax(dz, maxdiff(fw.valence, v));
    }
    dg = grad_maxdiff(m, dir);
    CHECK(dl < 1e-5);
    CHECK(dz < 1e-5);
    CHECK(dg < 1e-5);
    printf("%-40s outputs %.2g  losses %.2g  grads %.2g\n", name, dz, dl, dg);
    mer_scope_end(s);
    mer_model_free(m);
    {
        struct mer_host_batch hb = {
            N, {xs[0], xs[1], xs[2]}, {ps[0], ps[1], ps[2]}, mask, w, y, valence, NULL};
        run_cnet(dir, &c, &lc, &hb, want, logits, z, v);
    }
    for (int j = 0; j < 3; j++) {
        free(xs[j]);
        free(ps[j]);
    }
    free(w);
    free(mask);
    free(y);
    free(logits);
    free(z);
    free(valence);
    free(v);
}

int main(void)
{
    char path[4400], name[128], mode[64], ce[64], norm[64];
    FILE *f;
    int cases = 0, covered[MER_N_PRIOR_MODES] = {0};
    snprintf(root, sizeof(root), "%s", test_tmpdir());
    if (test_oracle("model_oracle.py '%s'", root) < 0) {
        fprintf(stderr, "the PyTorch reference failed (is python3-torch installed?)\n");
        return 1;
    }
    mer_torch_set_threads(1);
    snprintf(path, sizeof(path), "%s/cases.txt", root);
    f = fopen(path, "r");
    CHECK(f != NULL);
    while (f && fscanf(f, "%127s %63s %63s %63s", name, mode, ce, norm) == 4) {
        TEST(name) run_case(name, mode, ce, norm);
        covered[mode_of(mode)] = 1;
        cases++;
    }
    if (f)
        fclose(f);
    TEST("the oracle's cases cover every model.prior.mode of the table")
    {
        /* as model_oracle.py makes them: every mode with plain CE and softmax, none and
         * cross_attention with every CE variant and norm, and two with the valence head */
        CHECK(cases == MER_N_PRIOR_MODES - 2 + 2 * MER_N_CE_KINDS * MER_N_ATTENTION_NORMS + 2);
        for (int m = 0; m < MER_N_PRIOR_MODES; m++) {
            if (!covered[m])
                fprintf(stderr, "no oracle case of model.prior.mode '%s'\n",
                        mer_prior_mode_names[m]);
            CHECK(covered[m]);
        }
    }
    TEST("plain-C engine: dropout draws from the seed; evaluation mode has none")
    {
        struct mer_model_config c = mer_model_default_config();
        struct mer_loss_config lc = mer_loss_default_config();
        struct mer_cnet_losses l[4];
        struct mer_rng rng;
        float x[N * 20], w[N * 3], mask[N * 3];
        int64_t y[N];
        mer_model *m = NULL;
        struct mer_cnet *e = NULL;
        c.n_mod = 1;
        c.dims[0] = 20;
        c.hidden = 16;
        c.proj_dim = 8;
        c.dropout = 0.5;
        for (int i = 0; i < N * 20; i++)
            x[i] = (float)((i * 37) % 11) / 11.0f;
        for (int i = 0; i < N * 3; i++)
            w[i] = mask[i] = 1;
        for (int i = 0; i < N; i++)
            y[i] = i % K;
        mer_torch_manual_seed(3);
        CHECK(mer_model_new(&m, &c) == 0);
        CHECK(mer_cnet_new(&e, m, &c, N) == 0);
        if (e) {
            struct mer_host_batch hb = {N, {x}, {NULL}, mask, w, y, NULL, NULL};
            for (int t = 0; t < 2; t++) {
                mer_rng_seed(&rng, 42);
                CHECK(mer_cnet_step(e, &hb, &lc, &rng, &l[t], NULL) == 0);
            }
            mer_rng_seed(&rng, 43);
            CHECK(mer_cnet_step(e, &hb, &lc, &rng, &l[2], NULL) == 0);
            CHECK(mer_cnet_step(e, &hb, &lc, NULL, &l[3], NULL) == 0);
            CHECK(l[0].total == l[1].total);
            CHECK(l[0].total != l[2].total);
            CHECK(l[0].total != l[3].total);
            hb.n = N + 1;
            CHECK(mer_cnet_step(e, &hb, &lc, NULL, &l[3], NULL) == -1);
            CHECK(strstr(mer_errmsg(), "capacity") != NULL);
        }
        mer_cnet_free(e);
        mer_model_free(m);
    }
    TEST("bad configs are refused")
    {
        struct mer_model_config c = mer_model_default_config();
        mer_model *m = NULL;
        c.n_mod = 0;
        CHECK(mer_model_new(&m, &c) == -1);
        c.n_mod = 1;
        c.dims[0] = 8;
        c.prior_dim = 4;
        c.hidden = 10;
        c.heads = 4;
        CHECK(mer_model_new(&m, &c) == -1);
        CHECK(strstr(mer_errmsg(), "divisible") != NULL);
    }
    return test_report();
}
