/* mer version: what mer is, and what it runs with (bug reports start here). */
#include "cmd/cmd.h"
#include "mer/opt.h"
#include "mer/torch.h"
#include "mer/version.h"

#include <cblas.h>
#include <cjson/cJSON.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <sndfile.h>
#include <stdio.h>

static const char *const usage[] = {"mer version", "mer --version", NULL};

static void print_versions(void)
{
    unsigned fmt = avformat_version();
    printf("mer %s\n", MER_VERSION);
    printf("libtorch %s (%s)\n", mer_torch_version(), mer_torch_cuda_available() ? "cuda" : "cpu");
    printf("ffmpeg %s (libavformat %u.%u.%u)\n", av_version_info(), fmt >> 16, (fmt >> 8) & 0xff,
           fmt & 0xff);
    printf("libsndfile %s\n", sf_version_string());
    printf("cjson %s\n", cJSON_Version());
    printf("openblas %s\n", openblas_get_config());
}

int cmd_version(int argc, const char **argv)
{
    struct mer_option opts[] = {MER_OPT_END()};
    int n = mer_opt_parse(argc, argv, opts, usage);
    if (n < 0)
        return mer_opt_exit_code(n);
    if (n > 0)
        return mer_usage_error("version", "unexpected argument '%s'", argv[0]);
    print_versions();
    return 0;
}
