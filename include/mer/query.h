/*
 * query.h: sends model requests to a Gemini-compatible generateContent endpoint and appends
 * the answers to a responses JSONL (what `mer query` runs).
 *
 * Input: one request per line, either the Batch API input form
 * {"key": K, "request": GenerateContentRequest} or a GenerateContentRequest with an extra
 * top-level "key" (stripped before sending). Output: the Batch API output form, one line per
 * key, {"key": K, "response": <the endpoint's JSON body>} or, once a key has finally failed,
 * {"key": K, "error": {"code": HTTP status or 0, "message": ..., "status": ...}}. Each line
 * goes out in one write(2) and is fsync'd as soon as its answer arrives, so a killed run
 * loses only requests in flight; a rerun sends only keys without a "response" line.
 *
 * Transport: libcurl's multi interface (p.concurrency transfers at once), a requests-per-
 * minute limit (a token bucket holding one token, so requests are evenly spaced), retries
 * with exponential backoff and full jitter on 429, 500, 502, 503, 504, timeouts, dropped
 * connections and 200s whose body is not a JSON object; Retry-After (seconds or HTTP-date)
 * on 429/503, or else a google.rpc.RetryInfo "retryDelay" in the error body, replaces the
 * backoff. The API key goes only into the request header.
 *
 *     struct mer_query_params p = mer_query_default_params();
 *     p.requests = "requests.jsonl"; p.responses = "responses.jsonl"; p.api_key = key;
 *     struct mer_query_report r;
 *     if (mer_query_run(&p, &r) < 0) ...;   // error set; r.failed keys have error lines
 */
#ifndef MER_QUERY_H
#define MER_QUERY_H

#include "mer/opt.h"

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define MER_QUERY_DEFAULT_ENDPOINT                                                                 \
    "https://generativelanguage.googleapis.com/v1beta/models/{model}:generateContent"
#define MER_QUERY_DEFAULT_MODEL "gemini-2.5-flash"

struct mer_query_params {
    const char *requests;        /* input JSONL */
    const char *responses;       /* output JSONL, created or appended to */
    const char *endpoint;        /* URL; "{model}" is replaced by model */
    const char *model;           /* e.g. "gemini-2.5-flash" */
    const char *api_key;         /* borrowed; sent as x-goog-api-key, never written anywhere else */
    int concurrency;             /* transfers in flight at once, e.g. 4 */
    double rpm;                  /* requests per minute, retries included; 0 = no limit */
    int retries;                 /* retries per key after the first attempt, e.g. 5 */
    double backoff_ms;           /* base of the exponential backoff, e.g. 1000 */
    double backoff_cap_ms;       /* its cap, e.g. 60000 */
    double timeout_s;            /* whole transfer, e.g. 300 */
    double connect_timeout_s;    /* e.g. 10 */
    int retry_failed;            /* resend keys whose only line so far is an error line */
    struct mer_shard shard;      /* every shard.count-th key of the input, from shard.index */
    volatile sig_atomic_t *stop; /* if not NULL: 1 = send no more, 2 = abort transfers too */
};

struct mer_query_params mer_query_default_params(void);
/* 0 if the numbers in p make sense (concurrency, timeouts, ...); -1 with the error set. */
int mer_query_check_params(const struct mer_query_params *p);

/* How a run went. Failure reasons are counted by label ("HTTP 429", "timeout", ...). */
#define MER_QUERY_MAX_REASONS 16
struct mer_query_report {
    size_t keys;           /* keys in the input (all shards) */
    size_t in_shard;       /* of those, this shard's */
    size_t done_before;    /* this shard's keys answered by an earlier run */
    size_t skipped_failed; /* keys with an earlier error line, not resent (!retry_failed) */
    size_t todo;           /* keys this run set out to answer */
    size_t requests;       /* HTTP requests sent, retries included */
    size_t retries;        /* of those, retries */
    size_t answered;       /* keys answered by this run */
    size_t failed;         /* keys given up on by this run (error line written) */
    size_t unsent;         /* keys not finished because of p.stop */
    size_t dropped_bytes;  /* bytes of an incomplete last line removed from the responses file */
    size_t n_reasons;
    struct {
        char label[32];
        size_t count;
    } reasons[MER_QUERY_MAX_REASONS];
};

/*
 * Runs the whole job. 0 when it ran to the end (some keys may have failed: r->failed);
 * -1 with the error set when it could not start (bad input line, unusable responses file,
 * bad endpoint) or could not write an answer. Bad input is found before any request is sent.
 */
int mer_query_run(const struct mer_query_params *p, struct mer_query_report *r);

/* Pure helpers, exported for tests. */

/* The delay before retry number `retry` (1 = first retry): full jitter,
 * u * min(cap_ms, base_ms * 2^(retry-1)) for u in [0, 1). */
double mer_query_backoff_ms(int retry, double base_ms, double cap_ms, double u);

/* Seconds a Retry-After value asks to wait ("120" or an HTTP-date, read against now);
 * 0 for a date in the past; -1 if the value is neither. */
double mer_query_retry_after(const char *value, time_t now);

/* Seconds of a google.protobuf.Duration in its JSON form ("34s", "1.5s"); -1 if malformed. */
double mer_query_duration(const char *text);

/* 1 if an HTTP status is worth retrying (429, 500, 502, 503, 504), else 0. */
int mer_query_status_retryable(long status);

/* New string: endpoint with every "{model}" replaced by model (free with free()); NULL on out
 * of memory. */
char *mer_query_endpoint_url(const char *endpoint, const char *model);

#endif
