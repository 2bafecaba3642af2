/* Numeric ranges as text ("[1,32]", "(0,)"), for the config schema and the options; range.h. */
#include "mer/range.h"
#include "mer/error.h"

#include <stdio.h>
#include <stdlib.h>

struct mer_range mer_range_parse(const char *s)
{
    struct mer_range r = {0};
    char *end;
    MER_ASSERT(s && (*s == '[' || *s == '('));
    r.lo_open = *s++ == '(';
    if (*s != ',') {
        r.lo = strtod(s, &end);
        MER_ASSERT(end != s);
        r.has_lo = 1;
        s = end;
    }
    MER_ASSERT(*s == ',');
    if (*++s != ']' && *s != ')') {
        r.hi = strtod(s, &end);
        MER_ASSERT(end != s);
        r.has_hi = 1;
        s = end;
    }
    MER_ASSERT((*s == ']' || *s == ')') && !s[1]);
    r.hi_open = *s == ')';
    return r;
}

int mer_range_contains(const struct mer_range *r, double v)
{
    if (v != v)
        return 0;
    if (r->has_lo && (r->lo_open ? v <= r->lo : v < r->lo))
        return 0;
    return !r->has_hi || (r->hi_open ? v < r->hi : v <= r->hi);
}

void mer_range_describe(const struct mer_range *r, char *buf, size_t size)
{
    if (r->has_lo && r->has_hi)
        snprintf(buf, size, "in %c%.15g, %.15g%c", r->lo_open ? '(' : '[', r->lo, r->hi,
                 r->hi_open ? ')' : ']');
    else if (r->has_lo)
        snprintf(buf, size, "%s %.15g", r->lo_open ? ">" : ">=", r->lo);
    else if (r->has_hi)
        snprintf(buf, size, "%s %.15g", r->hi_open ? "<" : "<=", r->hi);
    else
        snprintf(buf, size, "%s", "");
}
