/* UTF-8 validation and positions in text (utf8.h). */
#include "mer/utf8.h"
#include "mer/error.h"

#include <string.h>

/* Length of the valid UTF-8 sequence at s (avail bytes left), or 0 if invalid. */
static size_t utf8_sequence(const unsigned char *s, size_t avail)
{
    unsigned c = s[0], cp, min;
    size_t n;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2, min = 0x80, cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
        n = 3, min = 0x800, cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4, min = 0x10000, cp = c & 0x07;
    } else {
        return 0; /* a continuation byte, C0/C1 (always overlong) or F5..FF */
    }
    if (avail < n)
        return 0;
    for (size_t k = 1; k < n; k++) {
        if ((s[k] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

size_t mer_utf8_check(const char *buf, size_t len)
{
    const unsigned char *s = (const unsigned char *)buf;
    size_t i = 0;
    while (i < len) {
        size_t n = utf8_sequence(s + i, len - i);
        if (!n)
            return i;
        i += n;
    }
    return len;
}

void mer_text_position(const char *buf, size_t off, size_t *line, size_t *column)
{
    size_t i = 0, start = 0, n;
    *line = 1;
    while (i < off) {
        n = mer_text_eol(buf, off, i); /* never looks at buf[off]: off may be the end */
        if (n) {
            i += n;
            start = i;
            ++*line;
        } else {
            i++;
        }
    }
    *column = off - start + 1;
}

int mer_text_check(const char *name, const char *buf, size_t len)
{
    size_t bad = mer_utf8_check(buf, len), line, col;
    const char *nul = memchr(buf, '\0', len);
    if (nul && (size_t)(nul - buf) < bad) {
        mer_text_position(buf, (size_t)(nul - buf), &line, &col);
        return mer_error("'%s':%zu:%zu: NUL byte in a text file", name, line, col);
    }
    if (bad < len) {
        mer_text_position(buf, bad, &line, &col);
        return mer_error("'%s':%zu:%zu: invalid UTF-8 (byte 0x%02x)", name, line, col,
                         (unsigned char)buf[bad]);
    }
    return 0;
}
