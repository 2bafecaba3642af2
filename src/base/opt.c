#include "mer/opt.h"
#include "mer/error.h"
#include "mer/range.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void mer_strlist_release(struct mer_strlist *l)
{
    if (!l)
        return;
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

int mer_strlist_push(struct mer_strlist *l, const char *s)
{
    const char **grown = realloc(l->items, (l->n + 1) * sizeof(*grown));
    if (!grown)
        return mer_error("out of memory");
    l->items = grown;
    l->items[l->n++] = s;
    return 0;
}

int mer_shard_parse(struct mer_shard *s, const char *text)
{
    const char *count;
    char *end;
    long i, n;
    errno = 0;
    i = strtol(text, &end, 10);
    if (end == text || *end != '/' || errno)
        return mer_error("'%s': expected a shard as i/n, e.g. 0/4", text);
    count = end + 1;
    n = strtol(count, &end, 10);
    if (end == count || *end || errno || n < 1 || n > INT_MAX || i < 0 || i >= n)
        return mer_error("'%s': expected a shard as i/n with 0 <= i < n", text);
    s->index = (int)i;
    s->count = (int)n;
    return 0;
}

int mer_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "mer %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nhint: see 'mer %s --help'\n", cmd);
    return 2;
}

int mer_opt_exit_code(int parse_result)
{
    return parse_result == MER_OPT_HELP ? 0 : 2;
}

void mer_opt_print_usage(FILE *f, const char *const *usage, const struct mer_option *opts)
{
    for (size_t i = 0; usage && usage[i]; i++)
        fprintf(f, "%s%s\n", i ? "   or: " : "usage: ", usage[i]);
    fputc('\n', f);
    for (const struct mer_option *o = opts; o->type != MER_OPT_T_END; o++) {
        /* A boolean on by default is given as --no-name: --[no-]name says so. */
        const char *neg = o->type == MER_OPT_T_BOOL && *(const int *)o->value ? "[no-]" : "";
        char left[96], sw[8] = "";
        int n;
        if (o->short_name)
            snprintf(sw, sizeof(sw), "-%c%s", o->short_name, o->long_name ? ", " : "");
        n = snprintf(left, sizeof(left), "    %s%s%s%s", sw, o->long_name ? "--" : "",
                     o->long_name ? neg : "", o->long_name ? o->long_name : "");
        if (o->argh && n > 0 && (size_t)n < sizeof(left))
            snprintf(left + n, sizeof(left) - (size_t)n, " <%s>", o->argh);
        if (strlen(left) > 28)
            fprintf(f, "%s\n%30s%s\n", left, "", o->help ? o->help : "");
        else
            fprintf(f, "%-30s%s\n", left, o->help ? o->help : "");
    }
    fprintf(f, "    %-26s%s\n", "-h, --help", "show this help");
}

/* The option's range check, the only one of its value: 0, or 2 with the usage error printed. */
static int check_range(const char *cmd, const struct mer_option *o, double v, const char *arg)
{
    struct mer_range r;
    char what[64];
    if (!o->range)
        return 0;
    r = mer_range_parse(o->range);
    if (mer_range_contains(&r, v))
        return 0;
    mer_range_describe(&r, what, sizeof(what));
    return mer_usage_error(cmd, "option '--%s': expected %s %s, got '%s'", o->long_name,
                           o->type == MER_OPT_T_INT ? "an integer" : "a number", what, arg);
}

static int parse_int(const char *cmd, const struct mer_option *o, const char *arg)
{
    char *end;
    long v;
    errno = 0;
    v = strtol(arg, &end, 10);
    if (end == arg || *end || errno || v < INT_MIN || v > INT_MAX)
        return mer_usage_error(cmd, "option '--%s': expected an integer, got '%s'", o->long_name,
                               arg);
    if (check_range(cmd, o, (double)v, arg))
        return 2;
    *(int *)o->value = (int)v;
    return 0;
}

static int parse_double(const char *cmd, const struct mer_option *o, const char *arg)
{
    char *end;
    double v;
    errno = 0;
    v = strtod(arg, &end);
    if (end == arg || *end || errno || !isfinite(v))
        return mer_usage_error(cmd, "option '--%s': expected a number, got '%s'", o->long_name,
                               arg);
    if (check_range(cmd, o, v, arg))
        return 2;
    *(double *)o->value = v;
    return 0;
}

/* Stores arg into the option's value; returns 0 or 2 (usage error printed). */
static int set_value(const char *cmd, const struct mer_option *o, const char *arg)
{
    switch (o->type) {
    case MER_OPT_T_INT:
        return parse_int(cmd, o, arg);
    case MER_OPT_T_DOUBLE:
        return parse_double(cmd, o, arg);
    case MER_OPT_T_STRING:
        *(const char **)o->value = arg;
        return 0;
    case MER_OPT_T_LIST:
        if (mer_strlist_push(o->value, arg) < 0)
            return mer_usage_error(cmd, "%s", mer_errmsg());
        return 0;
    case MER_OPT_T_SHARD:
        if (mer_shard_parse(o->value, arg) < 0)
            return mer_usage_error(cmd, "option '--%s': %s", o->long_name, mer_errmsg());
        return 0;
    default:
        MER_BUG("option type %d takes no value", (int)o->type);
    }
}

static const struct mer_option *find_long(const struct mer_option *opts, const char *name,
                                          size_t len, int *negated)
{
    *negated = 0;
    for (const struct mer_option *o = opts; o->type != MER_OPT_T_END; o++)
        if (o->long_name && strlen(o->long_name) == len && !strncmp(o->long_name, name, len))
            return o;
    if (len > 3 && !strncmp(name, "no-", 3))
        for (const struct mer_option *o = opts; o->type != MER_OPT_T_END; o++)
            if (o->type == MER_OPT_T_BOOL && o->long_name && strlen(o->long_name) == len - 3 &&
                !strncmp(o->long_name, name + 3, len - 3)) {
                *negated = 1;
                return o;
            }
    return NULL;
}

static const struct mer_option *find_short(const struct mer_option *opts, int c)
{
    for (const struct mer_option *o = opts; o->type != MER_OPT_T_END; o++)
        if (o->short_name == c)
            return o;
    return NULL;
}

/* Handles argv[*i], a long option; returns 0, 2 (usage error) or MER_OPT_HELP. */
static int parse_long(const char *cmd, int argc, const char **argv, int *i,
                      const struct mer_option *opts, const char *const *usage)
{
    const char *name = argv[*i] + 2, *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    int negated;
    const struct mer_option *o;
    if (len == 4 && !strncmp(name, "help", 4)) {
        mer_opt_print_usage(stdout, usage, opts);
        return MER_OPT_HELP;
    }
    o = find_long(opts, name, len, &negated);
    if (!o)
        return mer_usage_error(cmd, "unknown option '--%.*s'", (int)len, name);
    if (o->type == MER_OPT_T_BOOL) {
        if (eq)
            return mer_usage_error(cmd, "option '--%s' takes no value", o->long_name);
        *(int *)o->value = !negated;
        return 0;
    }
    if (negated)
        return mer_usage_error(cmd, "unknown option '--%.*s'", (int)len, name);
    if (eq)
        return set_value(cmd, o, eq + 1);
    if (*i + 1 >= argc)
        return mer_usage_error(cmd, "option '--%s' needs a value", o->long_name);
    return set_value(cmd, o, argv[++*i]);
}

/* Handles argv[*i], one or more short options ("-q", "-o FILE", "-oFILE", "-qv"). */
static int parse_short(const char *cmd, int argc, const char **argv, int *i,
                       const struct mer_option *opts, const char *const *usage)
{
    for (const char *p = argv[*i] + 1; *p; p++) {
        const struct mer_option *o;
        if (*p == 'h') {
            mer_opt_print_usage(stdout, usage, opts);
            return MER_OPT_HELP;
        }
        o = find_short(opts, *p);
        if (!o)
            return mer_usage_error(cmd, "unknown switch '-%c'", *p);
        if (o->type == MER_OPT_T_BOOL) {
            *(int *)o->value = 1;
            continue;
        }
        if (p[1])
            return set_value(cmd, o, p + 1);
        if (*i + 1 >= argc)
            return mer_usage_error(cmd, "switch '-%c' needs a value", *p);
        return set_value(cmd, o, argv[++*i]);
    }
    return 0;
}

int mer_opt_parse(int argc, const char **argv, const struct mer_option *opts,
                  const char *const *usage)
{
    /* Positionals overwrite argv from the front, so keep the command name aside. */
    const char *cmd = argv[0];
    int npos = 0, only_positional = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r = 0;
        if (only_positional || a[0] != '-' || a[1] == '\0') {
            argv[npos++] = a;
            continue;
        }
        if (!strcmp(a, "--")) {
            only_positional = 1;
            continue;
        }
        r = a[1] == '-' ? parse_long(cmd, argc, argv, &i, opts, usage)
                        : parse_short(cmd, argc, argv, &i, opts, usage);
        if (r == MER_OPT_HELP)
            return MER_OPT_HELP;
        if (r)
            return MER_OPT_USAGE;
    }
    return npos;
}
