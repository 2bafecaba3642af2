/* placeholder, replaced by its owner */
#include "cmd/cmd.h"
#include <stdio.h>
int cmd_import(int argc, const char **argv)
{
    (void)argc;
    fprintf(stderr, "mer %s: not implemented yet\n", argv[0]);
    return 1;
}
