/* A sweep's members: expanded from the grid, named, recorded in sweep.json (sweep.h). */
#include "mer/sweep.h"
#include "sweep/sweep_impl.h"

#include "mer/config.h"
#include "mer/error.h"
#include "mer/fs.h"
#include "mer/rundir.h"
#include "mer/store.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define MAX_MEMBERS 100000 /* far above any sweep one would run; stops a typo's 10^9 */

const char *const mer_sweep_state_names[4] = {"new", "interrupted", "failed", "finished"};

/* ---- names ---- */

/* The shortest dotted suffix of axis a's key that no other key axis shares ("mode" for
 * model.prior.mode beside loss.lambda_inter): readable names that stay unique. */
static const char *short_key(const struct grid *g, size_t a)
{
    const char *key = g->axes[a].key, *best = key;
    for (const char *p = key + strlen(key); p > key; p--) {
        int unique = 1;
        if (p[-1] != '.')
            continue;
        for (size_t o = 0; o < g->n_axes && unique; o++) {
            const char *ok = g->axes[o].key;
            size_t lo, ls = strlen(p);
            if (o == a || !ok)
                continue;
            lo = strlen(ok);
            if (lo >= ls && !strcmp(ok + lo - ls, p) && (lo == ls || ok[lo - ls - 1] == '.'))
                unique = 0;
        }
        if (unique)
            return p;
        best = key;
    }
    return best;
}

/* Appends a value made filesystem-safe: list and quote marks dropped, ',' as '+', any other
 * unsafe byte as '-'; "" reads "empty". */
static void append_safe(char *buf, size_t size, size_t *len, const char *v)
{
    size_t start = *len;
    for (; *v && *len + 1 < size; v++) {
        unsigned char c = (unsigned char)*v;
        if (strchr("[]{}\"' ", c))
            continue;
        buf[(*len)++] = isalnum(c) || strchr("._+-=", c) ? (char)c : c == ',' ? '+' : '-';
    }
    if (*len == start)
        *len += (size_t)snprintf(buf + *len, size - *len, "empty");
    if (*len >= size)
        *len = size - 1;
    buf[*len] = '\0';
}

static uint64_t hash_text(const char *s)
{
    return mer_xxh64(s, strlen(s), 0);
}

/* Member m's name from its values pick[axis]: "mode=none_lambda_inter=0_seed=0"; axes of one
 * value say nothing and are left out; a name longer than MER_SWEEP_NAME_MAX is cut and ends in
 * the hash of the whole. New string, NULL on out of memory. */
static char *member_name(const struct grid *g, const size_t *pick)
{
    char buf[4096];
    size_t len = 0;
    buf[0] = '\0';
    for (size_t a = 0; a < g->n_axes && len + 1 < sizeof(buf); a++) {
        const struct grid_axis *ax = &g->axes[a];
        if (ax->n < 2)
            continue;
        if (len)
            buf[len++] = '_';
        if (ax->key) {
            len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s=", short_key(g, a));
            if (len >= sizeof(buf))
                len = sizeof(buf) - 1;
        }
        append_safe(buf, sizeof(buf), &len, ax->v[pick[a]].text);
    }
    if (!len)
        return strdup("base");
    if (len > MER_SWEEP_NAME_MAX)
        return mer_strfmt("%.*s-%08x", MER_SWEEP_NAME_MAX - 9, buf,
                          (unsigned)(hash_text(buf) & 0xffffffffu));
    return strdup(buf);
}

/* ---- expansion ---- */

static void member_release(struct mer_sweep_member *m)
{
    free(m->name);
    free(m->setting);
    mer_strv_release(&m->sets);
}

/* Member m's value of each axis, the first axis slowest. */
static void pick_of(const struct grid *g, size_t m, size_t *pick)
{
    for (size_t a = g->n_axes; a-- > 0;) {
        pick[a] = m % g->axes[a].n;
        m /= g->axes[a].n;
    }
}

static int count_members(const struct grid *g, size_t *n)
{
    *n = 1;
    for (size_t a = 0; a < g->n_axes; a++) {
        if (g->axes[a].n == 0)
            return mer_error("'%s':%zu: axis has no values", g->path, g->axes[a].line);
        if (*n > MAX_MEMBERS / g->axes[a].n)
            return mer_error("'%s': more than %d members", g->path, MAX_MEMBERS);
        *n *= g->axes[a].n;
    }
    return 0;
}

/* Two members that resolve to the same config are one run twice: the error names the grid's
 * line where they differ. hashes[m] is member m's resolved config's hash. */
static int check_duplicates(const struct grid *g, const struct mer_sweep *s, const uint64_t *hashes,
                            size_t *pa, size_t *pb)
{
    for (size_t i = 0; i < s->n_members; i++)
        for (size_t j = i + 1; j < s->n_members; j++) {
            if (hashes[i] != hashes[j])
                continue;
            pick_of(g, i, pa);
            pick_of(g, j, pb);
            size_t line = g->axes[0].line;
            for (size_t a = 0; a < g->n_axes; a++)
                if (pa[a] != pb[a]) {
                    line = g->axes[a].v[pb[a]].line;
                    break;
                }
            return mer_error("'%s':%zu: members '%s' and '%s' are the same run (their "
                             "overrides resolve to the same config)",
                             g->path, line, s->members[i].name, s->members[j].name);
        }
    return 0;
}

/* Names made safe can collide ("a b" and "a-b"): each of those gets its overrides' hash. */
static int unique_names(struct mer_sweep *s)
{
    int *clash = calloc(s->n_members + 1, sizeof(int));
    if (!clash)
        return mer_error("out of memory");
    for (size_t i = 0; i < s->n_members; i++)
        for (size_t j = i + 1; j < s->n_members; j++)
            if (!strcmp(s->members[i].name, s->members[j].name))
                clash[i] = clash[j] = 1;
    for (size_t i = 0; i < s->n_members; i++) {
        struct mer_xxh64 h;
        char *name;
        if (!clash[i])
            continue;
        mer_xxh64_init(&h, 0);
        for (size_t k = 0; k < s->members[i].sets.n; k++)
            mer_xxh64_update(&h, s->members[i].sets.v[k], strlen(s->members[i].sets.v[k]) + 1);
        name = mer_strfmt("%s-%08x", s->members[i].name,
                          (unsigned)(mer_xxh64_digest(&h) & 0xffffffffu));
        if (!name) {
            free(clash);
            return mer_error("out of memory");
        }
        free(s->members[i].name);
        s->members[i].name = name;
    }
    free(clash);
    return 0;
}

/* The resolved config's checksum, "xxh64:<16 hex>"; new string or NULL with the error set. */
static char *config_checksum(const char *path, const char *const *sets, size_t n, uint64_t *raw)
{
    mer_config *cfg = NULL;
    char *json = NULL, *sum = NULL;
    if (mer_config_load(&cfg, path, sets, n) < 0)
        return NULL;
    if (!(json = mer_config_to_json(cfg)))
        mer_error("out of memory");
    else {
        uint64_t h = hash_text(json);
        if (raw)
            *raw = h;
        if (!(sum = mer_strfmt("xxh64:%016llx", (unsigned long long)h)))
            mer_error("out of memory");
    }
    free(json);
    mer_config_free(cfg);
    return sum;
}

static int expand(struct mer_sweep *s, const struct grid *g)
{
    size_t n, *pick = calloc(g->n_axes + 1, sizeof(size_t)),
              *other = calloc(g->n_axes + 1, sizeof(size_t));
    uint64_t *hashes = NULL;
    int ret = -1;
    if (!pick || !other || count_members(g, &n) < 0)
        goto done;
    if (!(s->members = calloc(n, sizeof(*s->members))) || !(hashes = calloc(n, sizeof(*hashes))))
        goto oom;
    for (size_t m = 0; m < n; m++, s->n_members++) {
        struct mer_sweep_member *mem = &s->members[m];
        char *sum;
        pick_of(g, m, pick);
        for (size_t a = 0; a < g->n_axes; a++)
            for (size_t k = 0; k < g->axes[a].v[pick[a]].sets.n; k++) {
                const char *set = g->axes[a].v[pick[a]].sets.v[k];
                if (mer_strv_push(&mem->sets, set, strlen(set)) < 0)
                    goto oom;
            }
        if (!(mem->name = member_name(g, pick)) ||
            (g->has_settings &&
             !(mem->setting = strdup(g->axes[g->settings_axis].v[pick[g->settings_axis]].text))))
            goto oom;
        if (!(sum = config_checksum(s->config_path, (const char *const *)mem->sets.v, mem->sets.n,
                                    &hashes[m])))
            goto done;
        free(sum);
    }
    if (check_duplicates(g, s, hashes, pick, other) < 0 || unique_names(s) < 0)
        goto done;
    ret = 0;
    goto done;
oom:
    mer_error("out of memory");
done:
    free(hashes);
    free(pick);
    free(other);
    return ret;
}

int mer_sweep_load(struct mer_sweep *s, const char *grid_path, const char *config_path)
{
    struct grid g;
    mer_config *base = NULL;
    size_t len;
    int ret = -1;
    memset(&g, 0, sizeof(g));
    *s = (struct mer_sweep)MER_SWEEP_INIT;
    if (mer_config_load(&base, config_path, NULL, 0) < 0 ||
        mer_grid_parse(&g, grid_path, base) < 0 ||
        mer_read_file(grid_path, &s->grid_text, &len) < 0)
        goto done;
    if (!(s->grid_path = realpath(grid_path, NULL)) ||
        !(s->config_path = realpath(config_path, NULL))) {
        mer_error("'%s': cannot resolve the path", s->grid_path ? config_path : grid_path);
        goto done;
    }
    if (!(s->config_checksum = config_checksum(s->config_path, NULL, 0, NULL)) || expand(s, &g) < 0)
        goto done;
    ret = 0;
done:
    if (ret < 0)
        mer_sweep_release(s);
    mer_grid_release(&g);
    mer_config_free(base);
    return ret;
}

void mer_sweep_release(struct mer_sweep *s)
{
    for (size_t i = 0; s->members && i < s->n_members; i++)
        member_release(&s->members[i]);
    free(s->members);
    free(s->grid_path);
    free(s->grid_text);
    free(s->config_path);
    free(s->config_checksum);
    *s = (struct mer_sweep)MER_SWEEP_INIT;
}

/* ---- sweep.json ---- */

static cJSON *sets_json(const struct mer_strv *sets)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t k = 0; a && k < sets->n; k++)
        cJSON_AddItemToArray(a, cJSON_CreateString(sets->v[k]));
    return a;
}

static cJSON *sweep_json(const struct mer_sweep *s)
{
    cJSON *root = cJSON_CreateObject(), *members = cJSON_CreateArray();
    if (!root || !members) {
        cJSON_Delete(members);
        cJSON_Delete(root);
        return NULL;
    }
    cJSON_AddStringToObject(root, "mer.format", "sweep");
    cJSON_AddNumberToObject(root, "mer.version", 1);
    cJSON_AddStringToObject(root, "grid", s->grid_path);
    cJSON_AddStringToObject(root, "grid_text", s->grid_text);
    cJSON_AddStringToObject(root, "config", s->config_path);
    cJSON_AddStringToObject(root, "config_checksum", s->config_checksum);
    for (size_t i = 0; i < s->n_members; i++) {
        cJSON *m = cJSON_CreateObject();
        if (!m)
            break;
        cJSON_AddStringToObject(m, "name", s->members[i].name);
        cJSON_AddItemToObject(m, "overrides", sets_json(&s->members[i].sets));
        if (s->members[i].setting)
            cJSON_AddStringToObject(m, "setting", s->members[i].setting);
        cJSON_AddItemToArray(members, m);
    }
    cJSON_AddItemToObject(root, "members", members);
    return root;
}

static char *json_string(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? strdup(v->valuestring) : NULL;
}

static int from_json(struct mer_sweep *s, const cJSON *root, const char *path)
{
    const cJSON *members = cJSON_GetObjectItemCaseSensitive(root, "members"), *m;
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "mer.format");
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, "sweep") || !cJSON_IsArray(members) ||
        !(s->grid_path = json_string(root, "grid")) ||
        !(s->grid_text = json_string(root, "grid_text")) ||
        !(s->config_path = json_string(root, "config")) ||
        !(s->config_checksum = json_string(root, "config_checksum")))
        return mer_error("'%s': not a sweep record (mer.format \"sweep\", grid, config, members)",
                         path);
    if (!(s->members = calloc((size_t)cJSON_GetArraySize(members) + 1, sizeof(*s->members))))
        return mer_error("out of memory");
    cJSON_ArrayForEach(m, members)
    {
        struct mer_sweep_member *mem = &s->members[s->n_members++];
        const cJSON *sets = cJSON_GetObjectItemCaseSensitive(m, "overrides"), *x;
        if (!(mem->name = json_string(m, "name")) || !cJSON_IsArray(sets))
            return mer_error("'%s': member %zu has no name or overrides", path, s->n_members - 1);
        mem->setting = json_string(m, "setting"); /* NULL without named settings */
        cJSON_ArrayForEach(x, sets)
        {
            if (!cJSON_IsString(x))
                return mer_error("'%s': member '%s': an override is not a string", path, mem->name);
            if (mer_strv_push(&mem->sets, x->valuestring, strlen(x->valuestring)) < 0)
                return -1;
        }
    }
    return 0;
}

int mer_sweep_read(struct mer_sweep *s, const char *dir)
{
    char *path = mer_path_join(dir, "sweep.json");
    cJSON *root = NULL;
    int ret = -1;
    *s = (struct mer_sweep)MER_SWEEP_INIT;
    if (!path)
        mer_error("out of memory");
    else if ((root = mer_read_json(path)))
        ret = from_json(s, root, path);
    if (ret < 0)
        mer_sweep_release(s);
    cJSON_Delete(root);
    free(path);
    return ret;
}

/* What differs between two sweeps, or NULL when they are the same. */
static const char *sweep_difference(const struct mer_sweep *a, const struct mer_sweep *b)
{
    if (strcmp(a->config_checksum, b->config_checksum))
        return "the base config differs";
    if (a->n_members != b->n_members)
        return "the members differ";
    for (size_t i = 0; i < a->n_members; i++) {
        const struct mer_sweep_member *x = &a->members[i], *y = &b->members[i];
        if (strcmp(x->name, y->name) || x->sets.n != y->sets.n)
            return "the members differ";
        for (size_t k = 0; k < x->sets.n; k++)
            if (strcmp(x->sets.v[k], y->sets.v[k]))
                return "the members differ";
    }
    return NULL;
}

int mer_sweep_record(const struct mer_sweep *s, const char *dir)
{
    char *path = mer_path_join(dir, "sweep.json");
    struct mer_sweep old = MER_SWEEP_INIT;
    cJSON *root = NULL;
    int ret = -1;
    if (!path) {
        mer_error("out of memory");
        goto done;
    }
    if (mer_path_exists(path)) {
        const char *why;
        if (mer_sweep_read(&old, dir) < 0)
            goto done;
        if ((why = sweep_difference(&old, s)))
            mer_error("'%s': the sweep there was made from grid '%s' and config '%s', not from "
                      "grid '%s' and config '%s' (%s)",
                      path, old.grid_path, old.config_path, s->grid_path, s->config_path, why);
        else
            ret = 0;
        goto done;
    }
    if (mer_mkdir_p(dir) < 0)
        goto done;
    if (!(root = sweep_json(s)))
        mer_error("out of memory");
    else
        ret = mer_write_json_atomic(path, root);
done:
    mer_sweep_release(&old);
    cJSON_Delete(root);
    free(path);
    return ret;
}

int mer_sweep_check_config(const struct mer_sweep *s)
{
    char *sum = config_checksum(s->config_path, NULL, 0, NULL);
    int ret = sum ? 0 : -1;
    if (sum && strcmp(sum, s->config_checksum))
        ret = mer_error("'%s': the base config changed since the sweep was recorded (%s, now %s)",
                        s->config_path, s->config_checksum, sum);
    free(sum);
    return ret;
}

/* ---- members' files ---- */

static int member_has(const struct mer_sweep *s, const char *dir, size_t i, const char *file)
{
    char *path = mer_strfmt("%s/%s/%s", dir, s->members[i].name, file);
    int yes = path && mer_path_exists(path);
    free(path);
    return yes;
}

int mer_sweep_started(const struct mer_sweep *s, const char *dir, size_t i)
{
    return member_has(s, dir, i, "config.json");
}

static char *exit_path(const struct mer_sweep *s, const char *dir, size_t i)
{
    return mer_strfmt("%s/logs/%s.exit", dir, s->members[i].name);
}

enum mer_sweep_state mer_sweep_state(const struct mer_sweep *s, const char *dir, size_t i)
{
    char *path, *text = NULL;
    size_t len;
    int failed = 0;
    if (mer_sweep_started(s, dir, i) && member_has(s, dir, i, "metrics.json"))
        return MER_SWEEP_FINISHED;
    path = exit_path(s, dir, i);
    if (path && mer_path_exists(path) && mer_read_file(path, &text, &len) == 0)
        failed = strncmp(text, "0\n", 2) != 0;
    mer_error_clear();
    free(text);
    free(path);
    if (failed)
        return MER_SWEEP_FAILED;
    return mer_sweep_started(s, dir, i) ? MER_SWEEP_INTERRUPTED : MER_SWEEP_NEW;
}

int mer_sweep_member_folds(const struct mer_sweep *s, size_t i)
{
    const struct mer_sweep_member *m = &s->members[i];
    mer_config *cfg = NULL;
    long long folds;
    if (mer_config_load(&cfg, s->config_path, (const char *const *)m->sets.v, m->sets.n) < 0)
        return -1;
    folds = mer_config_int(cfg, "train.folds");
    mer_config_free(cfg);
    if (folds < 1 || folds > INT_MAX)
        return mer_error("member %zu (%s): train.folds is %lld", i, m->name, folds);
    return (int)folds;
}

int mer_sweep_fold_finished(const struct mer_sweep *s, const char *dir, size_t i, int k)
{
    char *run = mer_path_join(dir, s->members[i].name);
    struct mer_fold_status st = {0};
    int done = run && mer_run_fold_status(run, k, &st) == 0 && st.finished;
    mer_error_clear();
    free(run);
    return done;
}

int mer_sweep_train_argv(const struct mer_sweep *s, const char *dir, size_t i, int resume,
                         struct mer_strv *argv)
{
    const struct mer_sweep_member *m = &s->members[i];
    char *out = mer_path_join(dir, m->name);
    int ret = -1;
    if (!out || mer_strv_push(argv, "train", 5) < 0 || mer_strv_push(argv, "--config", 8) < 0 ||
        mer_strv_push(argv, s->config_path, strlen(s->config_path)) < 0)
        goto done;
    for (size_t k = 0; k < m->sets.n; k++)
        if (mer_strv_push(argv, "--set", 5) < 0 ||
            mer_strv_push(argv, m->sets.v[k], strlen(m->sets.v[k])) < 0)
            goto done;
    if (mer_strv_push(argv, "--out", 5) < 0 || mer_strv_push(argv, out, strlen(out)) < 0 ||
        (resume && mer_strv_push(argv, "--resume", 8) < 0))
        goto done;
    ret = 0;
done:
    free(out);
    return ret;
}

int mer_sweep_member_prepare(const struct mer_sweep *s, const char *dir, size_t i)
{
    const struct mer_sweep_member *m = &s->members[i];
    char *run = mer_path_join(dir, m->name), *logs = mer_path_join(dir, "logs");
    char *path = run ? mer_path_join(run, "sweep-member.json") : NULL;
    cJSON *root = cJSON_CreateObject();
    int ret = -1;
    if (!run || !logs || !path || !root) {
        mer_error("out of memory");
        goto done;
    }
    if (mer_mkdir_p(run) < 0 || mer_mkdir_p(logs) < 0)
        goto done;
    cJSON_AddNumberToObject(root, "index", (double)i);
    cJSON_AddStringToObject(root, "name", m->name);
    cJSON_AddStringToObject(root, "config", s->config_path);
    cJSON_AddItemToObject(root, "overrides", sets_json(&m->sets));
    if (m->setting)
        cJSON_AddStringToObject(root, "setting", m->setting);
    ret = mer_write_json_atomic(path, root);
done:
    cJSON_Delete(root);
    free(path);
    free(logs);
    free(run);
    return ret;
}

char *mer_sweep_log_path(const struct mer_sweep *s, const char *dir, size_t i)
{
    return mer_strfmt("%s/logs/%s.log", dir, s->members[i].name);
}

int mer_sweep_record_exit(const struct mer_sweep *s, const char *dir, size_t i, int wait_status)
{
    char text[32], *path = exit_path(s, dir, i);
    int ret;
    if (WIFEXITED(wait_status))
        snprintf(text, sizeof(text), "%d\n", WEXITSTATUS(wait_status));
    else if (WIFSIGNALED(wait_status))
        snprintf(text, sizeof(text), "signal %d\n", WTERMSIG(wait_status));
    else
        snprintf(text, sizeof(text), "status %d\n", wait_status);
    ret = path ? mer_write_file_atomic(path, text, strlen(text)) : mer_error("out of memory");
    free(path);
    return ret;
}

const char *mer_sweep_exit_text(const struct mer_sweep *s, const char *dir, size_t i, char *buf,
                                size_t size)
{
    char *path = exit_path(s, dir, i), *text = NULL;
    size_t len;
    buf[0] = '\0';
    if (path && mer_path_exists(path) && mer_read_file(path, &text, &len) == 0) {
        text[strcspn(text, "\n")] = '\0';
        snprintf(buf, size, "%s%s", isdigit((unsigned char)text[0]) ? "exit " : "", text);
    }
    mer_error_clear();
    free(text);
    free(path);
    return buf;
}

const char *mer_sweep_last_line(const char *path, char *buf, size_t size)
{
    char tail[8192];
    FILE *f = fopen(path, "rb");
    size_t n = 0;
    buf[0] = '\0';
    if (f) {
        if (fseek(f, 0, SEEK_END) == 0) {
            long end = ftell(f);
            if (end > (long)sizeof(tail) - 1)
                fseek(f, end - (long)sizeof(tail) + 1, SEEK_SET);
            else
                rewind(f);
        }
        n = fread(tail, 1, sizeof(tail) - 1, f);
        fclose(f);
    }
    tail[n] = '\0';
    /* the last line with text; progress bars redraw with '\r', so that ends a line too */
    while (n > 0 && (tail[n - 1] == '\n' || tail[n - 1] == '\r' || tail[n - 1] == ' '))
        tail[--n] = '\0';
    char *start = tail + n;
    while (start > tail && start[-1] != '\n' && start[-1] != '\r')
        start--;
    snprintf(buf, size, "%s", start);
    return buf;
}

const char *mer_sweep_last_log_line(const struct mer_sweep *s, const char *dir, size_t i, char *buf,
                                    size_t size)
{
    char *path = mer_sweep_log_path(s, dir, i);
    buf[0] = '\0';
    if (path)
        mer_sweep_last_line(path, buf, size);
    free(path);
    return buf;
}

/* ---- command lines ---- */

char *mer_sweep_array_spec(const size_t *idx, size_t n)
{
    size_t cap = n * 24 + 1, len = 0;
    char *s = malloc(cap);
    if (!s)
        return NULL;
    s[0] = '\0';
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j + 1 < n && idx[j + 1] == idx[j] + 1)
            j++;
        len += (size_t)snprintf(s + len, cap - len, j > i ? "%s%zu-%zu" : "%s%zu", len ? "," : "",
                                idx[i], idx[j]);
        i = j + 1;
    }
    return s;
}

char *mer_sweep_shell_quote(const char *w)
{
    size_t n = 0, len = strlen(w);
    int safe = len > 0;
    char *q;
    for (const char *p = w; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("_@%+=:,./-", *p))
            safe = 0;
    if (safe)
        return strdup(w);
    if (!(q = malloc(4 * len + 3)))
        return NULL;
    q[n++] = '\'';
    for (const char *p = w; *p; p++) {
        if (*p == '\'') {
            memcpy(q + n, "'\\''", 4);
            n += 4;
        } else
            q[n++] = *p;
    }
    q[n++] = '\'';
    q[n] = '\0';
    return q;
}
