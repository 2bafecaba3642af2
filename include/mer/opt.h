/*
 * opt.h: a declarative command-line option parser (after git's parse-options).
 *
 * One table both parses and prints --help:
 *
 *     static const char *const usage[] = {"mer info [options] <path>...", NULL};
 *     int verify = 1; const char *out = NULL;
 *     struct mer_option opts[] = {
 *         MER_OPT_BOOL(0, "verify", &verify, "check the content checksum"),
 *         MER_OPT_STRING('o', "out", &out, "file", "write here"),
 *         MER_OPT_END(),
 *     };
 *     int n = mer_opt_parse(argc, argv, opts, usage);
 *     if (n < 0)
 *         return mer_opt_exit_code(n);   // 0 after --help, 2 after a usage error
 *     // argv[0..n-1] now hold the positional arguments
 *
 * Accepted forms: -x, -x VALUE, -xVALUE, --name, --name VALUE, --name=VALUE,
 * --no-name for booleans, "--" ends options. A usage error prints one line
 * "mer <cmd>: <what>" plus a "hint:" line to stderr. A boolean that is on before parsing
 * (its default) shows as --[no-]name in --help, since --no-name is the form to give.
 */
#ifndef MER_OPT_H
#define MER_OPT_H

#include <stddef.h>
#include <stdio.h>

enum mer_opt_type {
    MER_OPT_T_END,
    MER_OPT_T_BOOL,   /* int *: set to 1 (--name) or 0 (--no-name) */
    MER_OPT_T_INT,    /* int *: a decimal integer */
    MER_OPT_T_DOUBLE, /* double *: a finite number */
    MER_OPT_T_STRING, /* const char **: borrowed from argv */
    MER_OPT_T_LIST,   /* struct mer_strlist *: repeated, each value appended */
    MER_OPT_T_SHARD,  /* struct mer_shard *: "i/n" with 0 <= i < n */
};

/* Values of a repeatable option; borrowed strings, array owned (mer_strlist_release). */
struct mer_strlist {
    const char **items;
    size_t n;
};
#define MER_STRLIST_INIT                                                                           \
    {                                                                                              \
        NULL, 0                                                                                    \
    }
void mer_strlist_release(struct mer_strlist *l);
int mer_strlist_push(struct mer_strlist *l, const char *s);

/* A shard of a job: this process does items with (index % count == index_). */
struct mer_shard {
    int index;
    int count;
};
#define MER_SHARD_ALL                                                                              \
    {                                                                                              \
        0, 1                                                                                       \
    }

struct mer_option {
    enum mer_opt_type type;
    int short_name;
    const char *long_name;
    void *value;
    const char *argh; /* name of the value in --help, e.g. "file" */
    const char *help;
    const char *range; /* INT, DOUBLE: allowed values as range.h writes them ("[1,32]",
                          "(0,)"), NULL: any; a value outside is a usage error */
};

#define MER_OPT_END()                                                                              \
    {                                                                                              \
        MER_OPT_T_END, 0, NULL, NULL, NULL, NULL, NULL                                             \
    }
#define MER_OPT_BOOL(s, l, v, h)                                                                   \
    {                                                                                              \
        MER_OPT_T_BOOL, (s), (l), (v), NULL, (h), NULL                                             \
    }
#define MER_OPT_INT(s, l, v, h)                                                                    \
    {                                                                                              \
        MER_OPT_T_INT, (s), (l), (v), "n", (h), NULL                                               \
    }
#define MER_OPT_DOUBLE(s, l, v, h)                                                                 \
    {                                                                                              \
        MER_OPT_T_DOUBLE, (s), (l), (v), "x", (h), NULL                                            \
    }
/* An integer or number option with a range, the one check of its value:
 *     MER_OPT_INT_RANGE(0, "jobs", &jobs, "[1,32]", "parallel processes")
 * "--jobs 0" is then "mer train: option '--jobs': expected an integer in [1, 32], got '0'". */
#define MER_OPT_INT_RANGE(s, l, v, r, h)                                                           \
    {                                                                                              \
        MER_OPT_T_INT, (s), (l), (v), "n", (h), (r)                                                \
    }
#define MER_OPT_DOUBLE_RANGE(s, l, v, r, h)                                                        \
    {                                                                                              \
        MER_OPT_T_DOUBLE, (s), (l), (v), "x", (h), (r)                                             \
    }
#define MER_OPT_STRING(s, l, v, a, h)                                                              \
    {                                                                                              \
        MER_OPT_T_STRING, (s), (l), (v), (a), (h), NULL                                            \
    }
#define MER_OPT_LIST(s, l, v, a, h)                                                                \
    {                                                                                              \
        MER_OPT_T_LIST, (s), (l), (v), (a), (h), NULL                                              \
    }
#define MER_OPT_SHARD(s, l, v, h)                                                                  \
    {                                                                                              \
        MER_OPT_T_SHARD, (s), (l), (v), "i/n", (h), NULL                                           \
    }

#define MER_OPT_HELP  (-2) /* --help was printed */
#define MER_OPT_USAGE (-1) /* a usage error was printed */

/*
 * Parses argv[1..argc-1] (argv[0] is the command name, used in messages).
 * Returns the number of positional arguments, moved to argv[0..n-1], or
 * MER_OPT_HELP / MER_OPT_USAGE.
 */
int mer_opt_parse(int argc, const char **argv, const struct mer_option *opts,
                  const char *const *usage);

/* 0 for MER_OPT_HELP, 2 for MER_OPT_USAGE. */
int mer_opt_exit_code(int parse_result);

/* Prints the usage lines and the option table to f. */
void mer_opt_print_usage(FILE *f, const char *const *usage, const struct mer_option *opts);

/* Prints "mer <cmd>: <message>" and a hint to stderr; returns 2 (usage error). */
int mer_usage_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Parses "i/n"; returns 0 or -1 with mer_error set (the message quotes the whole text). */
int mer_shard_parse(struct mer_shard *s, const char *text);

#endif
