/* A growable array of owned strings (strv.h). */
#include "mer/strv.h"
#include "mer/error.h"

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
