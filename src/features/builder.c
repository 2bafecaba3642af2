/* The feature-store builder (builder.h): rows made on worker threads, taken in sample order,
 * pooled, gathered into checkpoint chunks under <output>.partial/, and assembled into the
 * store at the end. */
#include "features/builder_impl.h"
#include "mer/error.h"
#include "mer/fs.h"
#include "mer/names.h"
#include "mer/progress.h"
#include "mer/utf8.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_CHUNK_SAMPLES 256
#define CHUNK_MAX_BYTES       ((size_t)64 << 20) /* a chunk is written once it holds this much */
#define WARN_SKIPS            (MER_WARN_MAX - 4) /* skipped samples warned about by name */

static const char *const pool_names[] = {
#define MER_POOL_NAME(id, name) name,
    MER_POOL_LIST(MER_POOL_NAME)
#undef MER_POOL_NAME
};

const char *mer_pool_name(enum mer_pool pool)
{
    return (unsigned)pool < MER_POOL_N ? pool_names[pool] : "?";
}

int mer_pool_parse(const char *s, unsigned allowed, enum mer_pool *pool)
{
    char list[128] = "";
    size_t len = 0, n = 0, shown = 0;
    allowed = allowed ? allowed : (1u << MER_POOL_N) - 1;
    for (int i = 0; i < MER_POOL_N; i++)
        if (allowed & (1u << i)) {
            if (!strcmp(s, pool_names[i])) {
                *pool = (enum mer_pool)i;
                return 0;
            }
            n++;
        }
    for (int i = 0; i < MER_POOL_N && len < sizeof(list); i++)
        if (allowed & (1u << i)) {
            const char *sep = !shown ? "" : shown == n - 1 ? " or " : ", ";
            int w = snprintf(list + len, sizeof(list) - len, "%s%s", sep, pool_names[i]);
            shown++;
            len += w > 0 ? (size_t)w : 0;
        }
    return mer_error("--pool '%s': expected %s", s, list);
}

struct mer_build_params mer_build_default_params(void)
{
    struct mer_build_params p;
    memset(&p, 0, sizeof(p));
    p.pool = MER_POOL_MEAN;
    p.dtype = MER_DTYPE_F32;
    p.shard.count = 1;
    p.jobs = 1;
    return p;
}

int mer_rows_skip(struct mer_rows *r, int reason, const char *fmt, ...)
{
    va_list ap;
    r->reason = reason + 1;
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
    va_end(ap);
    return 0;
}

/* ---- pooling ---- */

int64_t mer_pool_cols(enum mer_pool pool, int64_t d)
{
    return pool == MER_POOL_MEAN_STD ? 2 * d : d;
}

int mer_pool_acc_init(struct mer_pool_acc *a, enum mer_pool pool, int64_t d)
{
    size_t n = (size_t)d + 1;
    memset(a, 0, sizeof(*a));
    a->pool = pool;
    a->d = d;
    if (pool == MER_POOL_MAX)
        a->max = malloc(n * sizeof(float));
    else
        a->sum = calloc(n, sizeof(double));
    if (pool == MER_POOL_MEAN_STD)
        a->sumsq = calloc(n, sizeof(double));
    if ((pool == MER_POOL_MAX && !a->max) || (pool != MER_POOL_MAX && !a->sum) ||
        (pool == MER_POOL_MEAN_STD && !a->sumsq)) {
        mer_pool_acc_release(a);
        return mer_error("out of memory");
    }
    return 0;
}

void mer_pool_acc_add(struct mer_pool_acc *a, const float *row)
{
    if (a->pool == MER_POOL_MAX && !a->t)
        memcpy(a->max, row, (size_t)a->d * sizeof(float));
    else if (a->pool == MER_POOL_MAX)
        for (int64_t j = 0; j < a->d; j++) {
            if (row[j] > a->max[j] || isnan(row[j]))
                a->max[j] = isnan(a->max[j]) ? a->max[j] : row[j];
        }
    else
        for (int64_t j = 0; j < a->d; j++)
            a->sum[j] += row[j];
    if (a->sumsq)
        for (int64_t j = 0; j < a->d; j++)
            a->sumsq[j] += (double)row[j] * row[j];
    a->t++;
}

void mer_pool_acc_finish(const struct mer_pool_acc *a, float *out)
{
    double t = a->t ? (double)a->t : 1;
    for (int64_t j = 0; j < a->d; j++)
        out[j] = a->pool == MER_POOL_MAX ? (a->t ? a->max[j] : 0) : (float)(a->sum[j] / t);
    if (a->sumsq)
        for (int64_t j = 0; j < a->d; j++) {
            double mean = a->sum[j] / t, var = a->sumsq[j] / t - mean * mean;
            out[a->d + j] = (float)sqrt(var > 0 ? var : 0);
        }
}

void mer_pool_acc_release(struct mer_pool_acc *a)
{
    free(a->sum);
    free(a->sumsq);
    free(a->max);
    memset(a, 0, sizeof(*a));
}

/* Pools r's frames as pool says (unless the producer did) into one row. */
static int pool_rows(struct mer_rows *r, enum mer_pool pool)
{
    struct mer_pool_acc a;
    int64_t cols = mer_pool_cols(pool, r->d);
    float *out;
    if (r->pooled || pool == MER_POOL_NONE || (r->t == 1 && cols == r->d))
        return 0;
    if (mer_pool_acc_init(&a, pool, r->d) < 0)
        return -1;
    for (int64_t i = 0; i < r->t; i++)
        mer_pool_acc_add(&a, r->data + i * r->d);
    out = cols == r->d ? r->data : malloc((size_t)cols * sizeof(float));
    if (out)
        mer_pool_acc_finish(&a, out);
    mer_pool_acc_release(&a);
    if (!out)
        return mer_error("out of memory");
    if (out != r->data) {
        free(r->data);
        r->data = out;
    }
    r->t = 1;
    r->d = cols;
    return 0;
}

/* ---- checkpoint chunks ---- */

/* The rows gathered for the next chunk: samples todo[first, first + count) of which some were
 * written (ids, offsets) and the others skipped. */
struct chunk {
    size_t first, count;
    float *v;
    size_t rows, cap;
    int64_t *offsets; /* [written + 1] */
    size_t n_off_cap;
    struct mer_strv ids;
    cJSON *skipped; /* [[name, reason, message], ...] */
    double seconds;
};

struct build {
    const struct mer_build_params *p;
    const struct mer_build_source *src;
    struct mer_build_report *r;
    struct mer_samples todo;
    char *partial; /* <output>.partial */
    int lock_fd;
    size_t n_chunks; /* finished chunk files */
    int64_t dim;     /* of the stored rows, once known */
    char *dim_of;    /* the sample that fixed it */
    struct chunk c;
    struct mer_progress bar;
    struct mer_rows *pending; /* [batch_size] samples waiting for the source's batch call */
    int *pending_status;
    size_t n_pending, pending_first;
};

static char *chunk_path(const struct build *b, size_t k)
{
    char name[64];
    snprintf(name, sizeof(name), "chunk-%05zu.safetensors", k);
    return mer_path_join(b->partial, name);
}

static void chunk_reset(struct chunk *c, size_t first)
{
    mer_strv_release(&c->ids);
    cJSON_Delete(c->skipped);
    c->skipped = cJSON_CreateArray();
    c->first = first;
    c->count = c->rows = 0;
    c->seconds = 0;
    if (c->offsets)
        c->offsets[0] = 0;
}

static void chunk_release(struct chunk *c)
{
    mer_strv_release(&c->ids);
    cJSON_Delete(c->skipped);
    free(c->v);
    free(c->offsets);
    memset(c, 0, sizeof(*c));
}

static int chunk_append(struct chunk *c, const char *name, const float *rows, size_t t, size_t d)
{
    size_t n = c->ids.n;
    if (c->rows + t > c->cap) {
        size_t cap = c->cap ? c->cap : 256;
        float *grown;
        while (cap < c->rows + t)
            cap *= 2;
        if (!(grown = realloc(c->v, cap * d * sizeof(float) + 1)))
            return mer_error("out of memory");
        c->v = grown;
        c->cap = cap;
    }
    if (n + 2 > c->n_off_cap) {
        size_t cap = c->n_off_cap ? 2 * c->n_off_cap : 512;
        int64_t *grown = realloc(c->offsets, cap * sizeof(int64_t));
        if (!grown)
            return mer_error("out of memory");
        c->offsets = grown;
        c->n_off_cap = cap;
        if (!n)
            c->offsets[0] = 0;
    }
    if (mer_strv_push(&c->ids, name, strlen(name)) < 0)
        return -1;
    memcpy(c->v + c->rows * d, rows, t * d * sizeof(float));
    c->rows += t;
    c->offsets[n + 1] = (int64_t)c->rows;
    return 0;
}

/* For the tests of resume and locking: MER_TEST_SIGNAL_AFTER_CHUNKS="<n> KILL|STOP" sends the
 * process that signal once it has written n chunks (a kill -9, or a stop holding the lock, at
 * a known place). */
static void test_hook(const struct build *b)
{
    const char *e = getenv("MER_TEST_SIGNAL_AFTER_CHUNKS");
    char sig[8] = "";
    unsigned long n;
    if (e && sscanf(e, "%lu %7s", &n, sig) == 2 && n == b->n_chunks)
        raise(!strcmp(sig, "STOP") ? SIGSTOP : SIGKILL);
}

/* Writes the chunk as a safetensors file (atomically), in the store's dtype. */
static int chunk_write(struct build *b)
{
    struct chunk *c = &b->c;
    mer_st_writer *w = mer_st_writer_new();
    char *path = chunk_path(b, b->n_chunks), *skipped = cJSON_PrintUnformatted(c->skipped);
    int64_t shape[2] = {(int64_t)c->rows, b->dim}, oshape[1] = {(int64_t)c->ids.n + 1};
    int64_t zero = 0;
    void *half = NULL;
    size_t count = c->rows * (size_t)b->dim;
    int ret = -1;
    if (!w || !path || !skipped ||
        (b->p->dtype == MER_DTYPE_F16 && !(half = malloc(2 * count + 1)))) {
        mer_error("out of memory");
        goto done;
    }
    if (half)
        mer_f32_to_f16_n(half, c->v, count);
    if (mer_st_writer_add(w, "features", b->p->dtype, 2, shape, half ? half : (void *)c->v) < 0 ||
        mer_st_writer_add(w, "offsets", MER_DTYPE_I64, 1, oshape, c->ids.n ? c->offsets : &zero) <
            0 ||
        mer_st_writer_set_meta(w, "mer.kind", "chunk") < 0 ||
        mer_st_writer_set_strings(w, "mer.ids", (const char *const *)c->ids.v, c->ids.n) < 0 ||
        mer_st_writer_set_meta(w, "mer.skipped", skipped) < 0 ||
        mer_st_writer_set_meta_num(w, "mer.first", (double)c->first) < 0 ||
        mer_st_writer_set_meta_num(w, "mer.count", (double)c->count) < 0 ||
        mer_st_writer_set_meta_num(w, "mer.seconds", c->seconds) < 0 ||
        mer_st_writer_set_meta(w, "mer.dim_of", b->dim_of ? b->dim_of : "") < 0 ||
        mer_st_writer_write(w, path) < 0)
        goto done;
    b->n_chunks++;
    chunk_reset(c, c->first + c->count);
    test_hook(b);
    ret = 0;
done:
    free(half);
    free(path);
    free(skipped);
    mer_st_writer_free(w);
    return ret;
}

/* Counts a skipped sample (and warns, unless it was counted before a resume). */
static int count_skip(struct build *b, const char *name, int reason, const char *msg, int warn)
{
    cJSON *e = cJSON_CreateArray();
    if (!e)
        return mer_error("out of memory");
    cJSON_AddItemToArray(e, cJSON_CreateString(name));
    cJSON_AddItemToArray(e, cJSON_CreateNumber(reason));
    cJSON_AddItemToArray(e, cJSON_CreateString(msg));
    if (warn) {
        cJSON_AddItemToArray(b->c.skipped, e);
        /* the first ones by name; the summary, which counts them all, must fit in the list */
        if (b->r->skipped < WARN_SKIPS)
            mer_warn("%s (skipped)", msg);
    } else {
        cJSON_Delete(e);
    }
    b->r->skipped++;
    if (reason >= 0 && reason < MER_BUILD_MAX_REASONS)
        b->r->by_reason[reason]++;
    return 0;
}

/* Takes back what an interrupted run finished: the chunks in order, each continuing the last. */
static int load_chunks(struct build *b, size_t *next)
{
    *next = 0;
    for (;;) {
        char *path = chunk_path(b, b->n_chunks);
        mer_st_file *f = NULL;
        int64_t first, count;
        double seconds;
        const char *dim_of;
        const struct mer_st_tensor *feat;
        cJSON *skipped = NULL, *e;
        int got = path ? mer_st_open_existing(&f, path, MER_ST_VERIFY | MER_ST_REQUIRE_MER) : -1;
        free(path);
        if (got <= 0)
            return got < 0 ? -1 : 0;
        feat = mer_st_find(f, "features");
        dim_of = mer_st_meta(f, "mer.dim_of");
        if (!feat || feat->ndim != 2 || !dim_of ||
            mer_st_meta_int(f, "mer.first", 0, MER_ST_META_INT_MAX, &first) < 0 ||
            mer_st_meta_int(f, "mer.count", 0, MER_ST_META_INT_MAX, &count) < 0 ||
            mer_st_meta_number(f, "mer.seconds", 0, 1e300, &seconds) < 0 ||
            (size_t)first != *next || (size_t)(first + count) > b->todo.names.n ||
            !(skipped = cJSON_Parse(mer_st_meta(f, "mer.skipped") ? mer_st_meta(f, "mer.skipped")
                                                                  : "")) ||
            !cJSON_IsArray(skipped) || cJSON_GetArraySize(skipped) > count) {
            cJSON_Delete(skipped);
            mer_error("'%s': chunk %zu does not continue the run (remove it, or use --force)",
                      b->partial, b->n_chunks);
            mer_st_close(f);
            return -1;
        }
        if (feat->shape[0] && !b->dim_of) {
            b->dim = feat->shape[1];
            b->dim_of = strdup(dim_of);
        }
        cJSON_ArrayForEach(e, skipped)
        {
            const cJSON *reason = cJSON_GetArrayItem(e, 1);
            count_skip(b, "", cJSON_IsNumber(reason) ? (int)reason->valuedouble : 0, "", 0);
        }
        b->r->written += (size_t)(count - cJSON_GetArraySize(skipped));
        b->r->seconds += seconds;
        b->r->resumed += (size_t)count;
        cJSON_Delete(skipped);
        mer_st_close(f);
        *next = (size_t)(first + count);
        b->n_chunks++;
    }
}

/* ---- taking one sample's rows ---- */

/* s if it is valid UTF-8 (it goes into a JSON header), else a placeholder. */
static const char *json_text(const char *s)
{
    return mer_utf8_check(s, strlen(s)) == strlen(s) ? s : "(not valid UTF-8)";
}

static int chunk_full(const struct build *b)
{
    size_t limit = b->p->chunk_samples ? b->p->chunk_samples : DEFAULT_CHUNK_SAMPLES;
    return b->c.count >= limit || b->c.rows * (size_t)b->dim * sizeof(float) >= CHUNK_MAX_BYTES;
}

/* -1 (fatal) if a value would not survive float16. */
static int check_half_range(const char *path, const struct mer_rows *r)
{
    for (int64_t i = 0; i < r->t * r->d; i++)
        if (isfinite(r->data[i]) && fabsf(r->data[i]) > 65504.0f)
            return mer_error("'%s': value %g at row %lld, column %lld is beyond the float16 range "
                             "(65504); store as f32",
                             path, (double)r->data[i], (long long)(i / r->d),
                             (long long)(i % r->d));
    return 0;
}

/* A usable sample's rows into the chunk; a skip (or the dimension differing from the first
 * sample's) counted and warned, or an error with strict. */
static int take_rows(struct build *b, size_t i, struct mer_rows *r, int status)
{
    const char *name = b->todo.names.v[i], *path = b->todo.paths.v[i];
    if (status < 0)
        return mer_error("%s", r->msg);
    b->c.count++;
    b->c.seconds += r->seconds;
    b->r->seconds += r->seconds;
    if (!r->reason && pool_rows(r, b->p->pool) < 0)
        return -1;
    if (!r->reason && r->t < 1)
        return mer_error("'%s': no rows were made for it", path);
    if (!r->reason && b->dim_of && r->d != b->dim)
        mer_rows_skip(r, 0, "'%s': dimension %lld, but the first sample ('%s') has %lld", path,
                      (long long)r->d, b->dim_of, (long long)b->dim);
    if (r->reason) {
        if (b->p->strict && !r->missing)
            return mer_error("%s", r->msg);
        return count_skip(b, json_text(name), r->reason - 1, json_text(r->msg), 1);
    }
    if (!b->dim_of) {
        b->dim = r->d;
        if (!(b->dim_of = strdup(name)))
            return mer_error("out of memory");
    }
    if (b->p->dtype == MER_DTYPE_F16 && check_half_range(path, r) < 0)
        return -1;
    if (chunk_append(&b->c, name, r->data, (size_t)r->t, (size_t)r->d) < 0)
        return -1;
    b->r->written++;
    return 0;
}

/* Makes sample i's rows (any thread): 1, 0 skipped, -1 fatal with r->msg set. */
static int make_one(const struct build *b, size_t i, struct mer_rows *r)
{
    const char *name = b->todo.names.v[i], *path = b->todo.paths.v[i];
    int got;
    memset(r, 0, sizeof(*r));
    if (mer_utf8_check(name, strlen(name)) != strlen(name)) {
        /* A store's sample names are JSON text (mer.ids): such a name could not be written. */
        char shown[4 * 256 + 1];
        return mer_rows_skip(r, b->src->bad_name_reason,
                             "'%s': the file name is not valid UTF-8 (sample names are text; "
                             "rename it)",
                             mer_name_escape(path, shown, sizeof(shown)));
    }
    got = b->src->produce(b->src->ctx, name, path, r);
    if (got < 0)
        snprintf(r->msg, sizeof(r->msg), "%s", mer_errmsg());
    else if (got == 0 && !r->reason)
        mer_rows_skip(r, 0, "%s", mer_errmsg());
    if (got != 1) {
        free(r->data);
        r->data = NULL;
    }
    return got < 0 ? -1 : got;
}

static void show_progress(struct build *b, size_t done)
{
    double dt = mer_now() - b->bar.t_start;
    if (b->r->seconds > 0 && dt > 0)
        mer_progress_note(&b->bar, "%.0fx realtime, %zu skipped", b->r->seconds / dt,
                          b->r->skipped);
    else if (b->r->skipped)
        mer_progress_note(&b->bar, "%zu skipped", b->r->skipped);
    mer_progress_update(&b->bar, (int64_t)done);
}

/* After sample i: the rows taken, a full chunk written, progress shown. */
static int after_sample(struct build *b, size_t i, struct mer_rows *r, int status)
{
    int ret = take_rows(b, i, r, status);
    free(r->data);
    r->data = NULL;
    if (ret == 0 && chunk_full(b))
        ret = chunk_write(b);
    if (ret == 0)
        show_progress(b, i + 1);
    return ret;
}

/* The waiting samples through the source's batch call, then taken one by one. */
static int flush_pending(struct build *b)
{
    size_t n = b->n_pending;
    int ret = 0;
    b->n_pending = 0;
    if (n && b->src->batch(b->src->ctx, b->pending, n) < 0)
        ret = -1;
    for (size_t k = 0; k < n; k++) {
        if (ret == 0)
            ret = after_sample(b, b->pending_first + k, &b->pending[k], b->pending_status[k]);
        free(b->pending[k].data);
        b->pending[k].data = NULL;
    }
    return ret;
}

/* Sample i's rows as made: taken now, or (with a batch call) when the batch is full. */
static int take_sample(struct build *b, size_t i, struct mer_rows *r, int status)
{
    if (!b->src->batch || status < 0) /* an error ends the run: the batch is dropped */
        return after_sample(b, i, r, status);
    if (!b->n_pending)
        b->pending_first = i;
    b->pending[b->n_pending] = *r;
    b->pending_status[b->n_pending++] = status;
    r->data = NULL;
    if (b->n_pending == (b->src->batch_size ? b->src->batch_size : 1) || i + 1 == b->todo.names.n)
        return flush_pending(b);
    return 0;
}

/* ---- worker threads: rows made ahead, taken in sample order from a bounded ring ---- */

struct slot {
    struct mer_rows rows;
    int status, ready;
};

struct queue {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    const struct build *b;
    struct slot *slots;
    size_t cap, next, taken, end;
    int stop;
};

static void *worker(void *arg)
{
    struct queue *q = arg;
    for (;;) {
        struct mer_rows r;
        size_t i;
        int status;
        pthread_mutex_lock(&q->mu);
        while (!q->stop && q->next < q->end && q->next >= q->taken + q->cap)
            pthread_cond_wait(&q->cv, &q->mu);
        if (q->stop || q->next >= q->end) {
            pthread_mutex_unlock(&q->mu);
            return NULL;
        }
        i = q->next++;
        pthread_mutex_unlock(&q->mu);
        status = make_one(q->b, i, &r);
        pthread_mutex_lock(&q->mu);
        q->slots[i % q->cap].rows = r;
        q->slots[i % q->cap].status = status;
        q->slots[i % q->cap].ready = 1;
        pthread_cond_broadcast(&q->cv);
        pthread_mutex_unlock(&q->mu);
    }
}

static int run_threads(struct build *b, size_t start, size_t n_threads)
{
    struct queue q = {
        .b = b, .cap = 2 * n_threads, .next = start, .taken = start, .end = b->todo.names.n};
    pthread_t *th = calloc(n_threads, sizeof(*th));
    size_t started = 0;
    int ret = 0;
    q.slots = calloc(q.cap, sizeof(*q.slots));
    if (!th || !q.slots) {
        free(th);
        free(q.slots);
        return mer_error("out of memory");
    }
    pthread_mutex_init(&q.mu, NULL);
    pthread_cond_init(&q.cv, NULL);
    for (; started < n_threads; started++)
        if (pthread_create(&th[started], NULL, worker, &q) != 0)
            break;
    if (!started)
        ret = mer_error("cannot start a worker thread: %s", strerror(errno));
    for (size_t i = start; ret == 0 && i < q.end; i++) {
        struct slot *s = &q.slots[i % q.cap];
        struct mer_rows r;
        int status;
        pthread_mutex_lock(&q.mu);
        while (!s->ready)
            pthread_cond_wait(&q.cv, &q.mu);
        r = s->rows;
        status = s->status;
        s->ready = 0;
        q.taken = i + 1;
        pthread_cond_broadcast(&q.cv);
        pthread_mutex_unlock(&q.mu);
        ret = take_sample(b, i, &r, status);
    }
    pthread_mutex_lock(&q.mu);
    q.stop = 1;
    pthread_cond_broadcast(&q.cv);
    pthread_mutex_unlock(&q.mu);
    for (size_t t = 0; t < started; t++)
        pthread_join(th[t], NULL);
    for (size_t k = 0; k < q.cap; k++)
        if (q.slots[k].ready)
            free(q.slots[k].rows.data);
    pthread_mutex_destroy(&q.mu);
    pthread_cond_destroy(&q.cv);
    free(q.slots);
    free(th);
    return ret;
}

static int run_samples(struct build *b, size_t start)
{
    size_t left = b->todo.names.n - start;
    size_t jobs = b->p->jobs > 1 ? (size_t)b->p->jobs : 1;
    if (jobs > 1 && left > 1)
        return run_threads(b, start, jobs < left ? jobs : left);
    for (size_t i = start; i < b->todo.names.n; i++) {
        struct mer_rows r;
        int status = make_one(b, i, &r);
        if (take_sample(b, i, &r, status) < 0)
            return -1;
    }
    return 0;
}

/* ---- the partial directory: lock, fingerprint, clean-up ---- */

enum clear_what { CLEAR_ALL, CLEAR_ALL_BUT_LOCK, CLEAR_TEMPORARIES };

/* Removes files of the partial directory (ours alone while we hold its lock): all of them,
 * all but the lock, or only the temporaries a killed writer left (<file>.tmp.<pid>). */
static void clear_partial(const struct build *b, enum clear_what what)
{
    DIR *d = opendir(b->partial);
    struct dirent *e;
    if (!d)
        return;
    while ((e = readdir(d))) {
        char *path;
        if (e->d_name[0] == '.' || (what == CLEAR_ALL_BUT_LOCK && !strcmp(e->d_name, "lock")) ||
            (what == CLEAR_TEMPORARIES && !strstr(e->d_name, ".tmp.")))
            continue;
        if ((path = mer_path_join(b->partial, e->d_name)))
            unlink(path);
        free(path);
    }
    closedir(d);
}

static int lock_partial(struct build *b)
{
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    char *path = mer_path_join(b->partial, "lock");
    if (!path)
        return mer_error("out of memory");
    b->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    free(path);
    if (b->lock_fd < 0)
        return mer_error("'%s': cannot create its lock: %s", b->partial, strerror(errno));
    if (fcntl(b->lock_fd, F_SETLK, &fl) == 0)
        return 0;
    fl.l_type = F_WRLCK;
    if (fcntl(b->lock_fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
        mer_error("'%s' is being written by another mer (pid %d)", b->r->path, (int)fl.l_pid);
    else
        mer_error("'%s' is being written by another mer", b->r->path);
    close(b->lock_fd); /* not ours: nothing in the directory may be touched */
    b->lock_fd = -1;
    return -1;
}

/* The samples and options of this run, as one line. */
static char *fingerprint(const struct build *b)
{
    struct mer_xxh64 h;
    const char *opts = b->src->options ? b->src->options : "";
    mer_xxh64_init(&h, 0);
    for (size_t i = 0; i < b->todo.names.n; i++)
        mer_xxh64_update(&h, b->todo.names.v[i], strlen(b->todo.names.v[i]) + 1);
    mer_xxh64_update(&h, opts, strlen(opts) + 1);
    return mer_strfmt("xxh64:%016" PRIx64 " samples %zu pool %s dtype %s\n", mer_xxh64_digest(&h),
                      b->todo.names.n, mer_pool_name(b->p->pool), mer_dtype_name(b->p->dtype));
}

/* Opens <output>.partial for this run: locked, cleared with --force, and holding the
 * fingerprint; *start is where an interrupted run with the same fingerprint stopped. */
static int open_partial(struct build *b, size_t *start)
{
    char *want = NULL, *have = NULL, *fpath = NULL;
    int ret = -1;
    *start = 0;
    if (!(b->partial = mer_strfmt("%s.partial", b->r->path)) || mer_mkdir_p(b->partial) < 0 ||
        lock_partial(b) < 0)
        goto done;
    if (!(want = fingerprint(b)) || !(fpath = mer_path_join(b->partial, "fingerprint"))) {
        mer_error("out of memory");
        goto done;
    }
    if (b->p->force || !mer_path_exists(fpath)) {
        clear_partial(b, CLEAR_ALL_BUT_LOCK);
        if (mer_write_file_atomic(fpath, want, strlen(want)) < 0)
            goto done;
    } else {
        if (mer_read_file(fpath, &have, NULL) < 0)
            goto done;
        if (strcmp(have, want)) {
            mer_error("'%s' holds an interrupted run with other samples or options (use --force "
                      "to start over)",
                      b->partial);
            goto done;
        }
        clear_partial(b, CLEAR_TEMPORARIES);
    }
    ret = load_chunks(b, start);
done:
    free(want);
    free(have);
    free(fpath);
    return ret;
}

/* ---- the store, from the chunks ---- */

struct assembly {
    mer_st_file **files;
    const void **pieces;
    size_t *bytes;
    int64_t *offsets; /* [written + 1] */
    struct mer_strv ids;
};

static void assembly_release(struct assembly *a, size_t n)
{
    for (size_t k = 0; a->files && k < n; k++)
        mer_st_close(a->files[k]);
    free(a->files);
    free(a->pieces);
    free(a->bytes);
    free(a->offsets);
    mer_strv_release(&a->ids);
}

/* Chunk k's ids and rows into the assembly; *frames set if a sample has more than one row. */
static int add_chunk(struct build *b, struct assembly *a, size_t k, int *frames)
{
    char *path = chunk_path(b, k);
    const struct mer_st_tensor *feat, *off;
    cJSON *ids = NULL, *e;
    int ret = -1;
    if (!path || mer_st_open(&a->files[k], path, MER_ST_VERIFY | MER_ST_REQUIRE_MER) < 0)
        goto done;
    feat = mer_st_find(a->files[k], "features");
    off = mer_st_find(a->files[k], "offsets");
    ids =
        cJSON_Parse(mer_st_meta(a->files[k], "mer.ids") ? mer_st_meta(a->files[k], "mer.ids") : "");
    if (!feat || !off || !cJSON_IsArray(ids) || feat->dtype != b->p->dtype ||
        (feat->shape[0] && feat->shape[1] != b->dim) || off->numel != cJSON_GetArraySize(ids) + 1 ||
        a->ids.n + (size_t)(off->numel - 1) > b->r->written) {
        mer_error("'%s': not a chunk of this run", path);
        goto done;
    }
    a->pieces[k] = feat->data;
    a->bytes[k] = feat->nbytes;
    for (int64_t i = 0; i < off->numel - 1; i++) {
        int64_t lo, hi, base = a->offsets[a->ids.n];
        memcpy(&lo, (const char *)off->data + 8 * i, 8);
        memcpy(&hi, (const char *)off->data + 8 * (i + 1), 8);
        *frames |= hi - lo > 1;
        a->offsets[a->ids.n + 1] = base + (hi - lo);
        e = cJSON_GetArrayItem(ids, (int)i);
        if (!cJSON_IsString(e) ||
            mer_strv_push(&a->ids, e->valuestring, strlen(e->valuestring)) < 0)
            goto done;
    }
    ret = 0;
done:
    cJSON_Delete(ids);
    free(path);
    return ret;
}

static int assemble(struct build *b)
{
    struct assembly a = {0};
    size_t n = b->n_chunks;
    int frames = 0, ret = -1;
    a.files = calloc(n + 1, sizeof(*a.files));
    a.pieces = calloc(n + 1, sizeof(*a.pieces));
    a.bytes = calloc(n + 1, sizeof(*a.bytes));
    a.offsets = calloc(b->r->written + 1, sizeof(*a.offsets));
    if (!a.files || !a.pieces || !a.bytes || !a.offsets) {
        mer_error("out of memory");
        goto done;
    }
    for (size_t k = 0; k < n; k++)
        if (add_chunk(b, &a, k, &frames) < 0)
            goto done;
    if (a.ids.n != b->r->written) {
        mer_error("'%s': the chunks hold %zu samples, expected %zu", b->partial, a.ids.n,
                  b->r->written);
        goto done;
    }
    b->r->dim = b->dim;
    b->r->frame_level = frames;
    {
        struct mer_features_out o = {
            .ids = (const char *const *)a.ids.v,
            .n = a.ids.n,
            .dim = b->dim,
            .offsets = frames ? a.offsets : NULL,
            .dtype = b->p->dtype,
            .provenance = b->p->provenance,
            .pieces = (const void *const *)a.pieces,
            .piece_bytes = a.bytes,
            .n_pieces = n,
            .extra = b->p->extra,
            .n_extra = b->p->n_extra,
        };
        ret = mer_store_write_features(b->r->path, &o);
    }
done:
    assembly_release(&a, n);
    return ret;
}

/* ---- the run ---- */

/* A directory store (parts + index.json): with --shard, or when -o names a directory. */
static int wants_dir(const struct mer_build_params *p)
{
    size_t len = strlen(p->out);
    return p->shard.count > 1 || (len && p->out[len - 1] == '/') || mer_is_dir(p->out);
}

/* Creates the directory that will hold path, if it names one. */
static int make_parent(const char *path)
{
    char *dir = mer_strfmt("%s", path), *slash = dir ? strrchr(dir, '/') : NULL;
    int ret = dir ? 0 : mer_error("out of memory");
    if (slash && slash != dir) {
        *slash = '\0';
        ret = mer_mkdir_p(dir);
    }
    free(dir);
    return ret;
}

/* Decides the file to write; an existing one is an error, or with shards a finished part. */
static int prepare_output(const struct mer_build_params *p, struct mer_build_report *r)
{
    char *part = NULL;
    if (wants_dir(p)) {
        if (mer_mkdir_p(p->out) < 0 || !(part = mer_store_part_path(p->out, p->shard.index)))
            return part ? -1 : mer_error("out of memory");
        snprintf(r->path, sizeof(r->path), "%s", part);
        free(part);
        /* A part is written atomically, so one that exists is complete: resume past it. */
        r->skipped_existing = mer_path_exists(r->path) && !p->force;
        return 0;
    }
    snprintf(r->path, sizeof(r->path), "%s", p->out);
    if (mer_path_exists(r->path) && !p->force)
        return mer_error("'%s' exists (use --force to overwrite it)", r->path);
    return make_parent(r->path);
}

/* Keeps this shard's samples: round robin, so every shard gets a similar mix. */
static int take_shard(struct build *b, struct mer_samples *all)
{
    for (size_t i = (size_t)b->p->shard.index; i < all->names.n; i += (size_t)b->p->shard.count)
        if (mer_strv_push(&b->todo.names, all->names.v[i], strlen(all->names.v[i])) < 0 ||
            mer_strv_push(&b->todo.paths, all->paths.v[i], strlen(all->paths.v[i])) < 0)
            return -1;
    return 0;
}

/* "skipped 3 of 60 samples that could not be read: 1 truncated, 2 no audio stream" (the count
 * per reason for a source that has several). */
static void warn_summary(const struct build *b)
{
    char by[512] = "";
    size_t len = 0, n = b->src->n_reasons < MER_BUILD_MAX_REASONS ? b->src->n_reasons
                                                                  : MER_BUILD_MAX_REASONS;
    for (size_t k = 0; n > 1 && k < n; k++)
        if (b->r->by_reason[k] && len < sizeof(by)) {
            int w = snprintf(by + len, sizeof(by) - len, "%s%zu %s", len ? ", " : ": ",
                             b->r->by_reason[k], b->src->reasons[k]);
            len += w > 0 ? (size_t)w : 0;
        }
    mer_warn("skipped %zu of %zu samples that could not be read%s%s", b->r->skipped,
             b->todo.names.n, by,
             b->r->skipped > WARN_SKIPS ? " (the first ones are named above)" : "");
}

static int build(struct build *b)
{
    size_t start = 0, batch = b->src->batch_size ? b->src->batch_size : 1;
    if (b->src->batch) {
        b->pending = calloc(batch, sizeof(*b->pending));
        b->pending_status = calloc(batch, sizeof(*b->pending_status));
        if (!b->pending || !b->pending_status)
            return mer_error("out of memory");
    }
    if (open_partial(b, &start) < 0)
        return -1;
    chunk_reset(&b->c, start);
    mer_progress_start(&b->bar, b->src->label, (int64_t)b->todo.names.n, b->src->nouns->unit);
    if (run_samples(b, start) < 0)
        return -1;
    if ((b->c.count || !b->n_chunks) && chunk_write(b) < 0)
        return -1;
    mer_progress_finish(&b->bar);
    if (!b->r->written && b->todo.names.n) {
        b->n_chunks = 0; /* nothing worth resuming */
        return mer_error("'%s': none of the %zu samples could be read", b->p->input,
                         b->todo.names.n);
    }
    if (assemble(b) < 0)
        return -1;
    if (b->r->skipped)
        warn_summary(b);
    return 0;
}

int mer_build_store(const struct mer_build_params *p, struct mer_samples *samples,
                    const struct mer_build_source *src, struct mer_build_report *r)
{
    struct build b = {.p = p, .src = src, .r = r, .lock_fd = -1};
    struct mer_build_sel sel = {.input = p->input,
                                .list = p->ids_file ? p->ids_file : p->labels_csv,
                                .is_labels = !p->ids_file,
                                .strict = p->strict,
                                .nouns = src->nouns};
    double t0 = mer_now();
    int ret = -1;
    memset(r, 0, sizeof(*r));
    if (prepare_output(p, r) < 0)
        goto done;
    if (!r->skipped_existing) {
        if (mer_build_select(samples, &sel, &r->missing, &r->extra) < 0 ||
            take_shard(&b, samples) < 0 || build(&b) < 0)
            goto done;
    }
    if (wants_dir(p) && mer_store_write_index(p->out, p->shard.count) < 0)
        goto done;
    ret = 0;
done:
    if (b.partial && b.lock_fd >= 0) {
        /* Kept after a failure only when it holds finished chunks, for a rerun to resume. */
        if (ret == 0 || !b.n_chunks) {
            clear_partial(&b, CLEAR_ALL);
            rmdir(b.partial);
        } else {
            clear_partial(&b, CLEAR_TEMPORARIES);
        }
    }
    if (b.lock_fd >= 0)
        close(b.lock_fd);
    chunk_release(&b.c);
    for (size_t k = 0; k < b.n_pending; k++)
        free(b.pending[k].data);
    free(b.pending);
    free(b.pending_status);
    mer_samples_release(&b.todo);
    free(b.partial);
    free(b.dim_of);
    r->elapsed = mer_now() - t0;
    return ret;
}
