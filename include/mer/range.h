/*
 * range.h: a numeric range written as text, shared by the config schema (config.c) and the
 * option table (opt.h), so a key and an option say and check their bounds the same way.
 *
 *     struct mer_range r = mer_range_parse("[1,32]");
 *     if (!mer_range_contains(&r, v)) {
 *         char what[64];
 *         mer_range_describe(&r, what, sizeof(what));   // "in [1, 32]"
 *         return mer_error("expected an integer %s, got %d", what, v);
 *     }
 *
 * The text is "[lo,hi]" with ( or ) for an open end and an empty lo or hi for no bound:
 * "[0,)" is >= 0, "(0,)" is > 0, "[0,1)" is 0 <= v < 1. A malformed range is a bug (it is
 * written in the source): MER_ASSERT aborts.
 */
#ifndef MER_RANGE_H
#define MER_RANGE_H

#include <stddef.h>

struct mer_range {
    int has_lo, has_hi, lo_open, hi_open;
    double lo, hi;
};

struct mer_range mer_range_parse(const char *text);
/* 1 if v lies in r (NaN never does). */
int mer_range_contains(const struct mer_range *r, double v);
/* ">= 1", "> 0", "in [0, 1)", "<= 5" into buf; "" for no bound. */
void mer_range_describe(const struct mer_range *r, char *buf, size_t size);

#endif
