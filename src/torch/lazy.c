/*
 * The lazy libtorch loader of the mer binary: every function of torch.h is a trampoline to
 * the same function in libmer_torch.so (the shim built as a plugin), which mer_torch_load
 * dlopens. Commands that never touch torch never pay for loading it.
 */
#include "mer/error.h"
#include "mer/fs.h"
#include "mer/torch.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MER_TORCH_API(ret, name, params, args) static ret(*p_##name) params;
#define MER_TORCH_VOID(name, params, args)     static void(*p_##name) params;
#include "api.def"
#undef MER_TORCH_API
#undef MER_TORCH_VOID

/* $MER_TORCH_LIBRARY, else libmer_torch.so in the binary's own directory. */
static int plugin_path(char *buf, size_t size)
{
    const char *env = getenv("MER_TORCH_LIBRARY");
    char self[4096], *slash;
    if (env && *env)
        return snprintf(buf, size, "%s", env) < (int)size ? 0 : -1;
    if (mer_self_exe(self, sizeof(self)) < 0)
        return -1;
    slash = strrchr(self, '/');
    *slash = '\0';
    return snprintf(buf, size, "%s/libmer_torch.so", self) < (int)size ? 0 : -1;
}

int mer_torch_load(void)
{
    static int loaded;
    char path[4200];
    void *h;
    if (loaded)
        return 0;
    if (plugin_path(path, sizeof(path)) < 0)
        return mer_error("cannot locate libmer_torch.so (set MER_TORCH_LIBRARY)");
    h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        return mer_error("cannot load the libtorch plugin: %s", dlerror());
#define MER_TORCH_API(ret, name, params, args)                                                     \
    if (!(*(void **)&p_##name = dlsym(h, #name)))                                                  \
        return mer_error("'%s' lacks %s (built from another mer?)", path, #name);
#define MER_TORCH_VOID(name, params, args) MER_TORCH_API(void, name, params, args)
#include "api.def"
#undef MER_TORCH_API
#undef MER_TORCH_VOID
    loaded = 1;
    return 0;
}

/* A call before mer_torch_load is a bug of the command table (a missing MER_CMD_TORCH). */
#define MER_TORCH_API(ret, name, params, args)                                                     \
    ret name params                                                                                \
    {                                                                                              \
        MER_ASSERT(p_##name != NULL);                                                              \
        return p_##name args;                                                                      \
    }
#define MER_TORCH_VOID(name, params, args)                                                         \
    void name params                                                                               \
    {                                                                                              \
        MER_ASSERT(p_##name != NULL);                                                              \
        p_##name args;                                                                             \
    }
#include "api.def"
