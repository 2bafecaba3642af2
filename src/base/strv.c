/* A growable array of owned strings (strv.h). */
#include "mer/strv.h"
#include "mer/error.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

int mer_strv_push(struct mer_strv *l, const char *s, size_t len)
{
    char *copy;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 256;
        char **grown = realloc(l->v, cap * sizeof(*grown));
        if (!grown)
            return mer_error("out of memory");
        l->v = grown;
        l->cap = cap;
    }
    if (!(copy = strndup(s, len)))
        return mer_error("out of memory");
    l->v[l->n++] = copy;
    return 0;
}

void mer_strv_release(struct mer_strv *l)
{
    if (!l)
        return;
    mer_strv_free(l->v, l->n);
    memset(l, 0, sizeof(*l));
}

void mer_strv_free(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

int mer_strv_compare(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A top-level separator is one outside "..." (backslash escapes) and outside [...] / {...}. */
int mer_strv_split_top(const char *s, size_t len, char sep, struct mer_strv *out)
{
    size_t start = 0;
    int depth = 0, quoted = 0;
    for (size_t i = 0; i <= len; i++) {
        char c = i < len ? s[i] : sep;
        if (quoted) {
            if (c == '\\' && i + 1 < len)
                i++;
            else if (c == '"')
                quoted = 0;
            continue;
        }
        if (c == '"')
            quoted = 1;
        else if (c == '[' || c == '{')
            depth++;
        else if ((c == ']' || c == '}') && depth > 0)
            depth--;
        else if (c == sep && (depth == 0 || i == len)) {
            size_t n = i - start;
            const char *p = s + start;
            while (n > 0 && isspace((unsigned char)p[0]))
                p++, n--;
            while (n > 0 && isspace((unsigned char)p[n - 1]))
                n--;
            if (mer_strv_push(out, p, n) < 0)
                return -1;
            start = i + 1;
        }
    }
    return 0;
}
