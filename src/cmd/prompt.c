/* mer prompt: being written (issue 5). */
#include "cmd/cmd.h"
#include "mer/error.h"

int cmd_prompt(int argc, const char **argv)
{
    (void)argc;
    (void)argv;
    mer_error("not built yet");
    return cmd_fail("prompt");
}
