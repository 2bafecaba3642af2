/* --classes, as import-labels and prompt take it (cmd.h). */
#include "cmd/cmd.h"
#include "mer/error.h"
#include "mer/names.h"

#include <string.h>

int cmd_parse_classes(char *s, const char **out, int max)
{
    int n = 0;
    for (char *tok = s, *comma; tok; tok = comma ? comma + 1 : NULL) {
        char *end;
        if ((comma = strchr(tok, ',')))
            *comma = '\0';
        while (*tok == ' ')
            tok++;
        end = tok + strlen(tok);
        while (end > tok && end[-1] == ' ')
            *--end = '\0';
        if (!*tok)
            return mer_error("--classes: empty class name");
        if (n == max)
            return mer_error("--classes: more than %d classes", max);
        if (mer_name_check("class", tok) < 0) /* class names name columns and files */
            return mer_error_prefix("--classes");
        for (int k = 0; k < n; k++)
            if (!strcmp(out[k], tok))
                return mer_error("--classes: class '%s' is listed twice", tok);
        out[n++] = tok;
    }
    return n;
}
