/*
 * utf8.h: UTF-8 validation, and line:column positions in text, for every reader of text
 * (CSV, JSON configs, JSONL responses, prompt templates) and every name mer writes.
 *
 *     if (mer_text_check("labels.csv", buf, len) < 0) ...;   // 'labels.csv':3:7: invalid UTF-8
 *     if (mer_utf8_check(name, n) != n) ...;                  // offset of the first bad byte
 */
#ifndef MER_UTF8_H
#define MER_UTF8_H

#include <stddef.h>

/* Offset of the first byte of the first invalid UTF-8 sequence in buf (overlong
 * forms, surrogates and values past U+10FFFF are invalid), or len if all valid. */
size_t mer_utf8_check(const char *buf, size_t len);

/* 0 if buf is UTF-8 text without NUL bytes; else -1 with an error naming
 * 'name':line:column of the first bad byte. */
int mer_text_check(const char *name, const char *buf, size_t len);

/* 1-based line and byte column of offset off in buf (a line ends at LF, CRLF or CR). */
void mer_text_position(const char *buf, size_t off, size_t *line, size_t *column);

/* Length of the line end at b[i] ("\n", "\r\n" or a lone "\r") within len bytes, 0 if none. */
static inline size_t mer_text_eol(const char *b, size_t len, size_t i)
{
    if (i >= len)
        return 0;
    if (b[i] == '\n')
        return 1;
    if (b[i] == '\r')
        return i + 1 < len && b[i + 1] == '\n' ? 2 : 1;
    return 0;
}

#endif
