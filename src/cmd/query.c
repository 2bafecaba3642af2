/* mer query: requests JSONL -> a Gemini-compatible endpoint -> responses JSONL (appended). */
#include "cmd/cmd.h"
#include "mer/error.h"
#include "mer/opt.h"
#include "mer/progress.h"
#include "mer/query.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const usage[] = {
    "GEMINI_API_KEY=<key> mer query [options] <requests.jsonl> -o <responses.jsonl>",
    NULL,
};

/* 1 after the first SIGINT/SIGTERM (send nothing more, let transfers finish), 2 after the
 * second (drop them too). */
static volatile sig_atomic_t stop_level;

static void on_signal(int sig)
{
    (void)sig;
    stop_level = stop_level ? 2 : 1;
}

static void catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = SIG_IGN; /* a peer closing a TLS connection must not kill us */
    sigaction(SIGPIPE, &sa, NULL);
}

static void print_summary(const struct mer_query_params *p, const struct mer_query_report *r)
{
    printf("'%s': %zu keys", p->requests, r->keys);
    if (p->shard.count > 1)
        printf(", %zu in shard %d/%d", r->in_shard, p->shard.index, p->shard.count);
    printf("; %zu answered before", r->done_before);
    if (r->skipped_failed)
        printf(", %zu failed before (not resent)", r->skipped_failed);
    printf("; to send %zu: %zu answered, %zu failed", r->todo, r->answered, r->failed);
    if (r->unsent)
        printf(", %zu not answered (interrupted)", r->unsent);
    printf("; %zu requests (%zu retries) -> '%s'\n", r->requests, r->retries, p->responses);
    if (r->n_reasons) {
        printf("failed:");
        for (size_t i = 0; i < r->n_reasons; i++)
            printf("%s %s %zu", i ? "," : "", r->reasons[i].label, r->reasons[i].count);
        putchar('\n');
    }
}

int cmd_query(int argc, const char **argv)
{
    struct mer_query_params p = mer_query_default_params();
    struct mer_query_report r;
    const char *key = getenv("GEMINI_API_KEY");
    int quiet = 0, ret;
    double timeout = p.timeout_s, connect_timeout = p.connect_timeout_s;
    struct mer_option opts[] = {
        MER_OPT_STRING('o', "out", &p.responses, "file", "responses JSONL (appended to)"),
        MER_OPT_STRING(0, "endpoint", &p.endpoint, "url",
                       "generateContent URL; {model} is replaced (default: Google's)"),
        MER_OPT_STRING(0, "model", &p.model, "name", "model name (default gemini-2.5-flash)"),
        MER_OPT_INT_RANGE(0, "concurrency", &p.concurrency, "[1,1024]",
                          "requests in flight (default 4)"),
        MER_OPT_DOUBLE_RANGE(0, "rpm", &p.rpm, "[0,)",
                             "requests per minute, retries included (0 = no limit)"),
        MER_OPT_INT_RANGE(0, "retries", &p.retries, "[0,)", "retries per key (default 5)"),
        MER_OPT_DOUBLE_RANGE(0, "backoff-ms", &p.backoff_ms, "[0,)",
                             "first retry's backoff ceiling (1000)"),
        MER_OPT_DOUBLE_RANGE(0, "backoff-cap-ms", &p.backoff_cap_ms, "[0,)",
                             "backoff ceiling cap (60000)"),
        /* (bounded so that the milliseconds fit curl's long) */
        MER_OPT_DOUBLE_RANGE(0, "timeout", &timeout, "(0,1e6]",
                             "seconds per request, all of it (300)"),
        MER_OPT_DOUBLE_RANGE(0, "connect-timeout", &connect_timeout, "(0,1e6]",
                             "seconds to connect (10)"),
        MER_OPT_BOOL(0, "retry-failed", &p.retry_failed,
                     "resend keys whose last try ended in an error line (default on)"),
        MER_OPT_SHARD(0, "shard", &p.shard, "send every n-th key of the input, from the i-th"),
        MER_OPT_BOOL('q', "quiet", &quiet, "no progress output"),
        MER_OPT_END(),
    };
    int n = mer_opt_parse(argc, argv, opts, usage);
    if (n < 0)
        return mer_opt_exit_code(n);
    if (n != 1)
        return mer_usage_error("query", "expected one requests file, got %d", n);
    if (!p.responses)
        return mer_usage_error("query", "-o <responses.jsonl> is required");
    p.timeout_s = timeout;
    p.connect_timeout_s = connect_timeout;
    if (mer_query_check_params(&p) < 0)
        return mer_usage_error("query", "%s", mer_errmsg());
    if (!key || !*key) {
        mer_error("GEMINI_API_KEY is not set (the API key is read from the environment only)");
        return cmd_fail("query");
    }
    p.requests = argv[0];
    p.api_key = key;
    p.stop = &stop_level;
    mer_progress_quiet(quiet);
    catch_signals();
    ret = mer_query_run(&p, &r);
    if (r.dropped_bytes)
        fprintf(stderr, "mer query: warning: '%s': removed an incomplete last line (%zu bytes)\n",
                p.responses, r.dropped_bytes);
    if (ret < 0)
        return cmd_fail("query");
    print_summary(&p, &r);
    if (r.unsent) {
        mer_error("interrupted: %zu keys not answered (a rerun sends them)", r.unsent);
        return cmd_fail("query");
    }
    if (r.failed) {
        mer_error("%zu of %zu keys failed (their error lines are in '%s'; a rerun retries them)",
                  r.failed, r.todo, p.responses);
        return cmd_fail("query");
    }
    return 0;
}
