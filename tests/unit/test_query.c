/* mer query's pure parts: the backoff schedule, Retry-After, which statuses are retried, the
 * endpoint URL. (The HTTP engine is tested against the mock server: tests/cli/t510x.) */
#include "mer/query.h"
#include "testhelp.h"

#include <stdlib.h>

int main(void)
{
    TEST("full-jitter backoff: u times a doubling ceiling, capped")
    {
        CHECK_NEAR(mer_query_backoff_ms(1, 1000, 60000, 0.999), 999, 1e-9);
        CHECK_NEAR(mer_query_backoff_ms(2, 1000, 60000, 0.5), 1000, 1e-9);
        CHECK_NEAR(mer_query_backoff_ms(3, 1000, 60000, 0.5), 2000, 1e-9);
        CHECK_NEAR(mer_query_backoff_ms(6, 1000, 60000, 1.0), 32000, 1e-9);
        CHECK_NEAR(mer_query_backoff_ms(7, 1000, 60000, 1.0), 60000, 1e-9);
        CHECK_NEAR(mer_query_backoff_ms(1000, 1000, 60000, 0.25), 15000, 1e-9);
        CHECK_NEAR(mer_query_backoff_ms(0, 1000, 60000, 0.5), 500, 1e-9);
        CHECK_NEAR(mer_query_backoff_ms(4, 20, 60000, 0.0), 0, 1e-12);
    }
    TEST("Retry-After: delta-seconds")
    {
        CHECK_NEAR(mer_query_retry_after("120", 0), 120, 0);
        CHECK_NEAR(mer_query_retry_after(" 7\r\n", 0), 7, 0);
        CHECK_NEAR(mer_query_retry_after("0", 0), 0, 0);
        CHECK_NEAR(mer_query_retry_after("1.5", 0), 1.5, 0);
    }
    TEST("Retry-After: HTTP-date, in the future or past")
    {
        /* Wed, 21 Oct 2015 07:28:00 GMT = 1445412480 */
        CHECK_NEAR(mer_query_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412480 - 30), 30, 0);
        CHECK_NEAR(mer_query_retry_after(" Wed, 21 Oct 2015 07:28:00 GMT\r\n", 1445412480 + 5), 0,
                   0);
    }
    TEST("Retry-After: anything else is -1")
    {
        CHECK(mer_query_retry_after("", 0) < 0);
        CHECK(mer_query_retry_after("soon", 0) < 0);
        CHECK(mer_query_retry_after("12abc", 0) < 0);
        CHECK(mer_query_retry_after("-3", 0) < 0);
        CHECK(mer_query_retry_after("\r\n", 0) < 0);
    }
    TEST("RetryInfo durations")
    {
        CHECK_NEAR(mer_query_duration("34s"), 34, 0);
        CHECK_NEAR(mer_query_duration("1.5s"), 1.5, 0);
        CHECK_NEAR(mer_query_duration("0s"), 0, 0);
        CHECK(mer_query_duration("34") < 0);
        CHECK(mer_query_duration("s") < 0);
        CHECK(mer_query_duration("-1s") < 0);
        CHECK(mer_query_duration("3s ") < 0);
        CHECK(mer_query_duration("") < 0);
    }
    TEST("retried statuses")
    {
        static const long yes[] = {429, 500, 502, 503, 504};
        static const long no[] = {200, 400, 401, 403, 404, 409, 501, 505};
        for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
            CHECK(mer_query_status_retryable(yes[i]));
        for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
            CHECK(!mer_query_status_retryable(no[i]));
    }
    TEST("{model} in the endpoint")
    {
        char *u = mer_query_endpoint_url(MER_QUERY_DEFAULT_ENDPOINT, "gemini-2.5-flash");
        CHECK_EQ_STR(u, "https://generativelanguage.googleapis.com/v1beta/models/"
                        "gemini-2.5-flash:generateContent");
        free(u);
        u = mer_query_endpoint_url("http://h/{model}/{model}{", "m");
        CHECK_EQ_STR(u, "http://h/m/m{");
        free(u);
        u = mer_query_endpoint_url("http://h/x", "m");
        CHECK_EQ_STR(u, "http://h/x");
        free(u);
    }
    TEST("default parameters")
    {
        struct mer_query_params p = mer_query_default_params();
        CHECK_EQ_INT(p.concurrency, 4);
        CHECK_EQ_INT(p.retries, 5);
        CHECK_NEAR(p.backoff_ms, 1000, 0);
        CHECK_NEAR(p.backoff_cap_ms, 60000, 0);
        CHECK_EQ_INT(p.retry_failed, 1);
        CHECK_EQ_INT(p.shard.count, 1);
        CHECK_EQ_STR(p.model, "gemini-2.5-flash");
    }
    return test_report();
}
