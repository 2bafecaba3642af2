#include "mer/names.h"
#include "mer/error.h"
#include "mer/utf8.h"

#include <stdio.h>
#include <string.h>

const char *mer_name_escape(const char *name, char *out, size_t out_size)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)name; *p && o + 5 < out_size; p++) {
        if (*p < 0x20 || *p >= 0x7f || *p == '\'' || *p == '\\')
            o += (size_t)snprintf(out + o, out_size - o, "\\x%02x", *p);
        else
            out[o++] = (char)*p;
    }
    out[o] = '\0';
    return out;
}

static int safe_ascii(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr("._+-=@", c) != NULL;
}

int mer_name_check(const char *kind, const char *name)
{
    char buf[4 * MER_NAME_MAX + 8], bad[8];
    size_t len = strlen(name);
    if (len == 0)
        return mer_error("%s name is empty", kind);
    if (len > MER_NAME_MAX)
        return mer_error("%s '%.40s...': longer than %d bytes", kind,
                         mer_name_escape(name, buf, sizeof(buf)), MER_NAME_MAX);
    if (mer_utf8_check(name, len) != len)
        return mer_error("%s '%s': not valid UTF-8", kind, mer_name_escape(name, buf, sizeof(buf)));
    if (name[0] == '.' || name[0] == '-')
        return mer_error("%s '%s': may not start with '%c' (names become file names)", kind,
                         mer_name_escape(name, buf, sizeof(buf)), name[0]);
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p < 0x80 && !safe_ascii(*p))
            return mer_error("%s '%s': character '%s' is not allowed (names become file names: "
                             "letters, digits, non-ASCII text and ._+-=@)",
                             kind, mer_name_escape(name, buf, sizeof(buf)),
                             mer_name_escape((const char[]){(char)*p, 0}, bad, sizeof(bad)));
    return 0;
}
