#include "mer/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fixed thread-local buffer: recording an error never allocates, so it cannot fail. */
static _Thread_local char errbuf[2048];

int mer_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, sizeof(errbuf), fmt, ap);
    va_end(ap);
    return -1;
}

int mer_error_prefix(const char *fmt, ...)
{
    char prefix[1024];
    char old[sizeof(errbuf)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    size_t n;
    memcpy(old, errbuf, sizeof(old));
    n = strlen(prefix);
    if (n > sizeof(errbuf) - 3)
        n = sizeof(errbuf) - 3;
    memcpy(errbuf, prefix, n);
    memcpy(errbuf + n, ": ", 2);
    /* Truncation keeps the start of the old message: the file and place come first. */
    snprintf(errbuf + n + 2, sizeof(errbuf) - n - 2, "%.*s", (int)(sizeof(errbuf) - n - 3), old);
    return -1;
}

const char *mer_errmsg(void)
{
    return errbuf;
}

void mer_error_clear(void)
{
    errbuf[0] = '\0';
}

static _Thread_local char warnbuf[MER_WARN_MAX][512];
static _Thread_local size_t n_warn, n_warn_dropped;

void mer_warn(const char *fmt, ...)
{
    va_list ap;
    if (n_warn == MER_WARN_MAX) {
        n_warn_dropped++;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(warnbuf[n_warn++], sizeof(warnbuf[0]), fmt, ap);
    va_end(ap);
}

size_t mer_warn_count(void)
{
    return n_warn;
}

size_t mer_warn_dropped(void)
{
    return n_warn_dropped;
}

const char *mer_warn_get(size_t i)
{
    return i < n_warn ? warnbuf[i] : "";
}

void mer_warn_clear(void)
{
    n_warn = n_warn_dropped = 0;
}

void mer_bug_impl(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "BUG: %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}
