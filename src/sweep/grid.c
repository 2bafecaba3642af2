/* A grid file: axes and named settings, each value checked against the base config (sweep.h). */
#include "sweep/sweep_impl.h"

#include "mer/config.h"
#include "mer/error.h"
#include "mer/fs.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

static char *trim(char *s, size_t *len)
{
    while (*len > 0 && isspace((unsigned char)s[0]))
        s++, (*len)--;
    while (*len > 0 && isspace((unsigned char)s[*len - 1]))
        (*len)--;
    return s;
}

/* Where a '#' comment starts (outside quotes), or len. */
static size_t comment_start(const char *s, size_t len)
{
    int quoted = 0;
    for (size_t i = 0; i < len; i++) {
        if (quoted && s[i] == '\\')
            i++;
        else if (s[i] == '"')
            quoted = !quoted;
        else if (s[i] == '#' && !quoted)
            return i;
    }
    return len;
}

/* "seed" is train.seed: the key every sweep varies. */
static const char *full_key(const char *key)
{
    return strcmp(key, "seed") ? key : "train.seed";
}

/* Checks "key=value" against the base config; the error names the grid's line and the key. */
static int check_set(struct grid *g, size_t line, const char *key, const char *value)
{
    char *set = mer_strfmt("%s=%s", key, value);
    int ret = -1;
    if (!set)
        return mer_error("out of memory");
    if (mer_config_set(g->scratch, set) == 0)
        ret = 0;
    else {
        /* config.h's message starts "--set k=v: "; the grid's line says it instead */
        const char *msg = mer_errmsg();
        size_t n = strlen(set);
        if (!strncmp(msg, "--set ", 6) && !strncmp(msg + 6, set, n) &&
            !strncmp(msg + 6 + n, ": ", 2))
            msg += 6 + n + 2;
        char *copy = strdup(msg);
        mer_error("'%s':%zu: key '%s': %s", g->path, line, key, copy ? copy : "invalid value");
        free(copy);
    }
    free(set);
    return ret;
}

/* Only characters safe in a file name start a setting's name, and it cannot start with . - */
static int name_ok(const char *s, size_t n)
{
    if (n == 0 || s[0] == '.' || s[0] == '-')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("._+-", s[i]))
            return 0;
    return 1;
}

static struct grid_axis *axis_new(struct grid *g)
{
    struct grid_axis *a;
    if (g->n_axes == g->cap_axes) {
        size_t cap = g->cap_axes ? 2 * g->cap_axes : 8;
        struct grid_axis *p = realloc(g->axes, cap * sizeof(*p));
        if (!p)
            return NULL;
        g->axes = p;
        g->cap_axes = cap;
    }
    a = &g->axes[g->n_axes++];
    memset(a, 0, sizeof(*a));
    return a;
}

static struct grid_value *value_new(struct grid_axis *a)
{
    struct grid_value *v;
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 8;
        struct grid_value *p = realloc(a->v, cap * sizeof(*p));
        if (!p)
            return NULL;
        a->v = p;
        a->cap = cap;
    }
    v = &a->v[a->n++];
    memset(v, 0, sizeof(*v));
    return v;
}

/* The axis whose key is key, or the settings axis holding key; NULL if none. */
static const struct grid_axis *key_owner(const struct grid *g, const char *key, size_t *line)
{
    for (size_t i = 0; i < g->n_axes; i++) {
        const struct grid_axis *a = &g->axes[i];
        if (a->key && !strcmp(a->key, key)) {
            *line = a->line;
            return a;
        }
        for (size_t j = 0; !a->key && j < a->n; j++)
            for (size_t k = 0; k < a->v[j].sets.n; k++)
                if (!strncmp(a->v[j].sets.v[k], key, strlen(key)) &&
                    a->v[j].sets.v[k][strlen(key)] == '=') {
                    *line = a->v[j].line;
                    return a;
                }
    }
    return NULL;
}

/* One value of an axis (an "a..b" range is every integer from a to b). */
static int add_values(struct grid *g, struct grid_axis *a, const char *text, size_t line)
{
    long long lo, hi;
    char *end, *end2;
    errno = 0;
    lo = strtoll(text, &end, 10);
    if (end != text && !strncmp(end, "..", 2) && (hi = strtoll(end + 2, &end2, 10), 1) &&
        end2 != end + 2 && *end2 == '\0' && errno == 0) {
        if (hi < lo)
            return mer_error("'%s':%zu: range '%s' is empty", g->path, line, text);
        if (hi - lo >= 100000)
            return mer_error("'%s':%zu: range '%s' has too many values", g->path, line, text);
        for (long long x = lo; x <= hi; x++) {
            char buf[32];
            snprintf(buf, sizeof(buf), "%lld", x);
            if (add_values(g, a, buf, line) < 0)
                return -1;
        }
        return 0;
    }
    for (size_t j = 0; j < a->n; j++)
        if (!strcmp(a->v[j].text, text))
            return mer_error("'%s':%zu: value '%s' is given twice", g->path, line, text);
    if (check_set(g, line, a->key, text) < 0)
        return -1;
    struct grid_value *v = value_new(a);
    char *set = mer_strfmt("%s=%s", a->key, text);
    if (!v || !set || !(v->text = strdup(text)) || mer_strv_push(&v->sets, set, strlen(set)) < 0) {
        free(set);
        return mer_error("out of memory");
    }
    free(set);
    v->line = line;
    return 0;
}

/* "key = v1, v2, ..." */
static int parse_axis(struct grid *g, const char *s, size_t len, size_t line)
{
    const char *eq = memchr(s, '=', len);
    struct mer_strv vals = MER_STRV_INIT;
    struct grid_axis *a;
    size_t klen, other;
    char *key, *k;
    int ret = -1;
    if (!eq)
        return mer_error("'%s':%zu: expected 'key = value, ...' or 'setting <name>: ...'", g->path,
                         line);
    klen = (size_t)(eq - s);
    k = trim((char *)s, &klen);
    if (!(key = mer_strfmt("%.*s", (int)klen, k)))
        return mer_error("out of memory");
    if (klen == 0) {
        mer_error("'%s':%zu: no key before '='", g->path, line);
        goto done;
    }
    if (!mer_config_has_key(full_key(key))) { /* the config's own message, with its hint */
        check_set(g, line, full_key(key), "0");
        goto done;
    }
    if (key_owner(g, full_key(key), &other)) {
        mer_error("'%s':%zu: key '%s' is already varied on line %zu", g->path, line, full_key(key),
                  other);
        goto done;
    }
    if (!(a = axis_new(g)) || !(a->key = strdup(full_key(key))) ||
        mer_strv_split_top(eq + 1, len - (size_t)(eq + 1 - s), ',', &vals) < 0) {
        mer_error("out of memory");
        goto done;
    }
    a->line = line;
    if (vals.n == 1 && !*vals.v[0]) {
        mer_error("'%s':%zu: axis '%s' has no values", g->path, line, a->key);
        goto done;
    }
    for (size_t i = 0; i < vals.n; i++) {
        if (!*vals.v[i]) {
            mer_error("'%s':%zu: axis '%s' has an empty value (value %zu)", g->path, line, a->key,
                      i + 1);
            goto done;
        }
        if (add_values(g, a, vals.v[i], line) < 0)
            goto done;
    }
    ret = 0;
done:
    mer_strv_release(&vals);
    free(key);
    return ret;
}

/* One "key = value" of a setting, checked and appended to v->sets. */
static int setting_assignment(struct grid *g, struct grid_value *v, const char *text, size_t line)
{
    const char *eq = strchr(text, '=');
    size_t klen = eq ? (size_t)(eq - text) : 0, vlen;
    char *k = trim((char *)text, &klen), *key, *val, *set;
    size_t other;
    int ret = -1;
    if (!eq || klen == 0)
        return mer_error("'%s':%zu: setting '%s': expected 'key = value', got '%s'", g->path, line,
                         v->text, text);
    vlen = strlen(eq + 1);
    val = trim((char *)eq + 1, &vlen);
    key = mer_strfmt("%.*s", (int)klen, k);
    set = key ? mer_strfmt("%s=%.*s", full_key(key), (int)vlen, val) : NULL;
    if (!set) {
        mer_error("out of memory");
        goto done;
    }
    for (size_t i = 0; i < v->sets.n; i++)
        if (!strncmp(v->sets.v[i], set, strlen(full_key(key)) + 1)) {
            mer_error("'%s':%zu: setting '%s' sets '%s' twice", g->path, line, v->text,
                      full_key(key));
            goto done;
        }
    if (key_owner(g, full_key(key), &other) && key_owner(g, full_key(key), &other)->key) {
        mer_error("'%s':%zu: key '%s' is already varied on line %zu", g->path, line, full_key(key),
                  other);
        goto done;
    }
    if (check_set(g, line, full_key(key), set + strlen(full_key(key)) + 1) < 0 ||
        mer_strv_push(&v->sets, set, strlen(set)) < 0)
        goto done;
    ret = 0;
done:
    free(set);
    free(key);
    return ret;
}

/* "setting <name>: key = value; key = value" (none at all is the base config's row). */
static int parse_setting(struct grid *g, const char *s, size_t len, size_t line)
{
    const char *colon = memchr(s, ':', len);
    struct mer_strv parts = MER_STRV_INIT;
    struct grid_value *v;
    struct grid_axis *set_axis;
    size_t nlen = colon ? (size_t)(colon - s) : 0;
    const char *name = trim((char *)s, &nlen);
    int ret = -1;
    if (!colon)
        return mer_error("'%s':%zu: expected 'setting <name>: key = value; ...'", g->path, line);
    if (!name_ok(name, nlen))
        return mer_error("'%s':%zu: setting name '%.*s': expected letters, digits, '.', '_', "
                         "'+' or '-'",
                         g->path, line, (int)nlen, name);
    if (!g->has_settings) {
        struct grid_axis *a = axis_new(g);
        if (!a)
            return mer_error("out of memory");
        a->line = line;
        g->settings_axis = g->n_axes - 1;
        g->has_settings = 1;
    }
    set_axis = &g->axes[g->settings_axis];
    for (size_t j = 0; j < set_axis->n; j++)
        if (strlen(set_axis->v[j].text) == nlen && !strncmp(set_axis->v[j].text, name, nlen))
            return mer_error("'%s':%zu: setting '%.*s' is already defined on line %zu", g->path,
                             line, (int)nlen, name, set_axis->v[j].line);
    if (!(v = value_new(set_axis)) || !(v->text = mer_strfmt("%.*s", (int)nlen, name)) ||
        mer_strv_split_top(colon + 1, len - (size_t)(colon + 1 - s), ';', &parts) < 0) {
        mer_error("out of memory");
        goto done;
    }
    v->line = line;
    for (size_t i = 0; i < parts.n; i++) {
        if (!*parts.v[i] && (parts.n == 1 || i + 1 == parts.n))
            continue; /* "setting base:" and a final ';' */
        if (setting_assignment(g, v, parts.v[i], line) < 0)
            goto done;
    }
    ret = 0;
done:
    mer_strv_release(&parts);
    return ret;
}

static int one_line(void *ctx, const char *path, struct mer_text_line *l)
{
    struct grid *g = ctx;
    size_t len = comment_start(l->text, l->body);
    char *s = trim(l->text, &len);
    (void)path;
    if (len == 0)
        return 0;
    if (len > 8 && !strncmp(s, "setting", 7) && isspace((unsigned char)s[7]))
        return parse_setting(g, s + 8, len - 8, l->lineno);
    return parse_axis(g, s, len, l->lineno);
}

int mer_grid_parse(struct grid *g, const char *path, mer_config *base)
{
    g->path = path;
    g->scratch = base;
    if (mer_read_lines(path, 1 << 20, one_line, g) < 0)
        return -1;
    if (g->n_axes == 0)
        return mer_error("'%s': no axes (expected lines 'key = value, ...')", path);
    return 0;
}

void mer_grid_release(struct grid *g)
{
    for (size_t i = 0; i < g->n_axes; i++) {
        for (size_t j = 0; j < g->axes[i].n; j++) {
            free(g->axes[i].v[j].text);
            mer_strv_release(&g->axes[i].v[j].sets);
        }
        free(g->axes[i].v);
        free(g->axes[i].key);
    }
    free(g->axes);
    memset(g, 0, sizeof(*g));
}
