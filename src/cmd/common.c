/* common.c: the error and warning lines every command prints (declared in cmd.h). */
#include "cmd/cmd.h"
#include "mer/error.h"

#include <stdio.h>

int cmd_fail(const char *cmd)
{
    const char *msg = mer_errmsg();
    /* Every error path records a message; an empty one is a bug, reported as one. */
    fprintf(stderr, "mer %s: %s\n", cmd, *msg ? msg : "internal error: no message recorded");
    return 1;
}

void cmd_warnings(const char *cmd)
{
    for (size_t i = 0; i < mer_warn_count(); i++)
        fprintf(stderr, "mer %s: warning: %s\n", cmd, mer_warn_get(i));
    if (mer_warn_dropped())
        fprintf(stderr, "mer %s: warning: %zu more warnings not shown\n", cmd, mer_warn_dropped());
    mer_warn_clear();
}
