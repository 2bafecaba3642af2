/*
 * strmap.h: string -> index map (open addressing), for joining samples by name.
 * Keys are borrowed: they must outlive the map.
 *
 *     struct mer_strmap map = MER_STRMAP_INIT;
 *     if (mer_strmap_build(&map, (const char *const *)names, n, &dup) < 0) ...;
 *     int64_t row = mer_strmap_get(&map, "sample_00000042");   // -1 if absent
 *     mer_strmap_release(&map);
 */
#ifndef MER_STRMAP_H
#define MER_STRMAP_H

#include <stddef.h>
#include <stdint.h>

struct mer_strmap {
    const char *const *keys; /* borrowed */
    int64_t *slots;          /* index into keys, -1 = empty */
    size_t cap;              /* power of two */
};
#define MER_STRMAP_INIT                                                                            \
    {                                                                                              \
        NULL, NULL, 0                                                                              \
    }

/* Indexes keys[0..n-1]. On a duplicate key: -1 with the error set and *dup (if not NULL) set
 * to the index of the second occurrence. */
int mer_strmap_build(struct mer_strmap *m, const char *const *keys, size_t n, size_t *dup);
/* Index of key, or -1. */
int64_t mer_strmap_get(const struct mer_strmap *m, const char *key);
void mer_strmap_release(struct mer_strmap *m);

#endif
