#include "mer/strmap.h"
#include "mer/error.h"

#include <stdlib.h>
#include <string.h>

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

void mer_strmap_release(struct mer_strmap *m)
{
    if (!m)
        return;
    free(m->slots);
    m->slots = NULL;
    m->keys = NULL;
    m->cap = 0;
}

int mer_strmap_build(struct mer_strmap *m, const char *const *keys, size_t n, size_t *dup)
{
    size_t cap = 16;
    while (cap < 2 * n + 1)
        cap *= 2;
    m->keys = keys;
    m->cap = cap;
    m->slots = malloc(cap * sizeof(*m->slots));
    if (!m->slots)
        return mer_error("out of memory");
    memset(m->slots, 0xff, cap * sizeof(*m->slots)); /* all -1 */
    for (size_t i = 0; i < n; i++) {
        size_t s = (size_t)hash_str(keys[i]) & (cap - 1);
        for (; m->slots[s] >= 0; s = (s + 1) & (cap - 1))
            if (!strcmp(keys[m->slots[s]], keys[i])) {
                if (dup)
                    *dup = i;
                mer_error("duplicate name '%s'", keys[i]);
                mer_strmap_release(m);
                return -1;
            }
        m->slots[s] = (int64_t)i;
    }
    return 0;
}

int64_t mer_strmap_get(const struct mer_strmap *m, const char *key)
{
    if (!m->cap)
        return -1;
    for (size_t s = (size_t)hash_str(key) & (m->cap - 1); m->slots[s] >= 0;
         s = (s + 1) & (m->cap - 1))
        if (!strcmp(m->keys[m->slots[s]], key))
            return m->slots[s];
    return -1;
}
