/* The HTTP engine of mer query: libcurl multi, a token bucket, retries, an fsync'd JSONL. */
#include "mer/query.h"
#include "mer/error.h"
#include "mer/fs.h"
#include "mer/progress.h"
#include "mer/rng.h"
#include "mer/strmap.h"
#include "mer/strv.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* A body larger than this is refused rather than growing without bound. */
#define MAX_BODY ((size_t)512 << 20)
/* A request line inlines its clip's base64 (mer prompt --max-inline-mb, default 20 MB). */
#define REQUEST_LINE_MAX ((size_t)1 << 30)
/* The loop wakes at least this often to look at the stop flag and the clock. */
#define MAX_WAIT_MS 100

struct mer_query_params mer_query_default_params(void)
{
    struct mer_query_params p = {0};
    p.endpoint = MER_QUERY_DEFAULT_ENDPOINT;
    p.model = MER_QUERY_DEFAULT_MODEL;
    p.concurrency = 4;
    p.retries = 5;
    p.backoff_ms = 1000;
    p.backoff_cap_ms = 60000;
    p.timeout_s = 300;
    p.connect_timeout_s = 10;
    p.retry_failed = 1;
    p.shard.index = 0;
    p.shard.count = 1;
    return p;
}

/* ---- pure helpers ---- */

double mer_query_backoff_ms(int retry, double base_ms, double cap_ms, double u)
{
    double ceiling = base_ms * ldexp(1.0, retry > 1 ? (retry < 60 ? retry - 1 : 60) : 0);
    return u * (ceiling < cap_ms ? ceiling : cap_ms);
}

double mer_query_retry_after(const char *value, time_t now)
{
    char buf[128], *end;
    size_t n;
    while (*value == ' ' || *value == '\t')
        value++;
    n = strcspn(value, "\r\n");
    while (n && (value[n - 1] == ' ' || value[n - 1] == '\t'))
        n--;
    if (!n || n >= sizeof(buf))
        return -1;
    memcpy(buf, value, n);
    buf[n] = '\0';
    if (isdigit((unsigned char)buf[0])) {
        double s = strtod(buf, &end);
        return *end || !isfinite(s) ? -1 : s;
    }
    time_t t = curl_getdate(buf, NULL);
    if (t == (time_t)-1)
        return -1;
    return t > now ? (double)(t - now) : 0;
}

double mer_query_duration(const char *text)
{
    char *end;
    double s;
    if (!isdigit((unsigned char)text[0]))
        return -1;
    s = strtod(text, &end);
    return strcmp(end, "s") || !isfinite(s) ? -1 : s;
}

int mer_query_status_retryable(long status)
{
    return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

char *mer_query_endpoint_url(const char *endpoint, const char *model)
{
    static const char pat[] = "{model}";
    size_t n = 0, plen = sizeof(pat) - 1, mlen = strlen(model);
    for (const char *s = strstr(endpoint, pat); s; s = strstr(s + plen, pat))
        n++;
    char *out = malloc(strlen(endpoint) + n * mlen + 1), *o = out;
    if (!out)
        return NULL;
    for (const char *s = endpoint; *s;) {
        if (!strncmp(s, pat, plen)) {
            memcpy(o, model, mlen);
            o += mlen;
            s += plen;
        } else {
            *o++ = *s++;
        }
    }
    *o = '\0';
    return out;
}

/* ---- the job ---- */

struct item {
    size_t line; /* 1-based line in the requests file */
    off_t off;   /* where the line starts */
    size_t len;  /* its length without the newline */
    int attempts;
    double not_before; /* mer_now() time before which a retry waits */
};

struct buf {
    char *data;
    size_t len, cap;
};

struct slot {
    CURL *easy;
    size_t item; /* index into job.items */
    int busy;
    char *body; /* the request body (owned; curl reads it in place) */
    struct buf resp;
    char retry_after[128];
};

struct job {
    const struct mer_query_params *p;
    struct mer_query_report *r;
    char **keys; /* keys[i] of items[i], owned */
    struct item *items;
    size_t n;
    struct mer_strmap map;
    size_t *queue; /* items waiting to be sent, input order first */
    size_t n_queue;
    size_t retrying; /* keys that failed once and are not finished yet */
    int in_fd, out_fd;
    CURLM *multi;
    struct slot *slots;
    size_t in_flight;
    struct curl_slist *headers; /* holds the API key: never printed */
    char *url;
    double next_token; /* rate limit: the next request may start at this time */
    struct mer_rng rng;
    struct mer_progress prog;
    char label[96];
};

/* ---- reading the requests ---- */

/* The key of a parsed request line; -1 with the error set. */
static int line_key(const cJSON *o, const char **key)
{
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(o, "key");
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(o, "request");
    if (!cJSON_IsObject(o))
        return mer_error("not a JSON object");
    if (!k)
        return mer_error("no \"key\" member");
    if (!cJSON_IsString(k))
        return mer_error("\"key\" is not a string");
    if (!*k->valuestring)
        return mer_error("\"key\" is empty");
    if (req && !cJSON_IsObject(req))
        return mer_error("\"request\" is not an object");
    *key = k->valuestring;
    return 0;
}

/* The request body of a parsed line, as text without the key (new string; NULL with the
 * error set). A line with a "request" object is the Batch API form; else the line is the
 * request itself, plus "key". A "model" member (mer prompt writes one in the requests form)
 * is dropped too: generateContent takes the model in its URL, from --model. */
static char *line_body(cJSON *o)
{
    cJSON *req = cJSON_GetObjectItemCaseSensitive(o, "request");
    char *text;
    if (req) {
        cJSON_DeleteItemFromObjectCaseSensitive(req, "model");
        text = cJSON_PrintUnformatted(req);
    } else {
        cJSON_DeleteItemFromObjectCaseSensitive(o, "key");
        cJSON_DeleteItemFromObjectCaseSensitive(o, "model");
        text = cJSON_PrintUnformatted(o);
    }
    if (!text)
        mer_error("out of memory");
    return text;
}

static int add_item(struct job *j, size_t *cap, const char *key, size_t line, off_t off, size_t len)
{
    if (j->n == *cap) {
        size_t c = *cap ? 2 * *cap : 256;
        char **k = realloc(j->keys, c * sizeof(*k));
        if (k)
            j->keys = k;
        struct item *it = k ? realloc(j->items, c * sizeof(*it)) : NULL;
        if (!it)
            return mer_error("out of memory");
        j->items = it;
        *cap = c;
    }
    if (!(j->keys[j->n] = strdup(key)))
        return mer_error("out of memory");
    j->items[j->n] = (struct item){line, off, len, 0, 0};
    j->n++;
    return 0;
}

/* The requests file as mer_read_lines reads it: the job and its items' capacity. */
struct request_reader {
    struct job *j;
    size_t items_cap;
};

static int read_request_line(void *ctx, const char *path, struct mer_text_line *l)
{
    struct request_reader *rr = ctx;
    const size_t n = l->body;
    const char *key = NULL;
    if (strspn(l->text, " \t\r\n") == l->len)
        return 0; /* blank lines are allowed, like a trailing one */
    cJSON *o = cJSON_ParseWithLength(l->text, n);
    int bad = !o ? mer_error("not JSON") : line_key(o, &key);
    if (!bad)
        bad = add_item(rr->j, &rr->items_cap, key, l->lineno, l->offset, n);
    cJSON_Delete(o);
    return bad ? mer_error_prefix("'%s':%zu", path, l->lineno) : 0;
}

/* Every line parsed once, before anything is sent: bad lines and repeated keys are errors
 * naming file:line. */
static int read_requests(struct job *j, const char *path)
{
    struct request_reader rr = {j, 0};
    size_t dup;
    int ret = mer_read_lines(path, REQUEST_LINE_MAX, read_request_line, &rr);
    if (ret == 0 && mer_strmap_build(&j->map, (const char *const *)j->keys, j->n, &dup) < 0) {
        size_t first = 0;
        while (strcmp(j->keys[first], j->keys[dup]))
            first++;
        ret = mer_error("'%s':%zu: key '%s' repeats line %zu", path, j->items[dup].line,
                        j->keys[dup], j->items[first].line);
    }
    return ret;
}

/* ---- the responses file ---- */

enum seen { SEEN_NONE, SEEN_ERROR, SEEN_RESPONSE };

/* Where the last line of the file ends (just after its last newline; 0 if it has none). */
static int end_of_last_line(int fd, off_t size, off_t *end, const char *path)
{
    char buf[65536];
    for (off_t hi = size; hi > 0;) {
        off_t lo = hi > (off_t)sizeof(buf) ? hi - (off_t)sizeof(buf) : 0;
        if (pread(fd, buf, (size_t)(hi - lo), lo) != (ssize_t)(hi - lo))
            return mer_error("'%s': %s", path, strerror(errno));
        for (off_t k = hi - lo; k > 0; k--)
            if (buf[k - 1] == '\n') {
                *end = lo + k;
                return 0;
            }
        hi = lo;
    }
    *end = 0;
    return 0;
}

/* Drops an incomplete last line (a crash mid-write of some other tool) so that appends
 * start on a line of their own. */
static int drop_partial_line(struct job *j, const char *path)
{
    struct stat st;
    off_t end;
    if (fstat(j->out_fd, &st) < 0)
        return mer_error("'%s': %s", path, strerror(errno));
    if (end_of_last_line(j->out_fd, st.st_size, &end, path) < 0)
        return -1;
    if (end == st.st_size)
        return 0;
    if (ftruncate(j->out_fd, end) < 0 || fsync(j->out_fd) < 0)
        return mer_error("'%s': cannot drop the incomplete last line: %s", path, strerror(errno));
    j->r->dropped_bytes = (size_t)(st.st_size - end);
    return 0;
}

/* Marks keys that already have a "response" (or only an "error") line. */
/* The responses file as mer_read_lines reads it. */
struct response_reader {
    struct job *j;
    enum seen *seen;
};

static int read_responses_line(void *ctx, const char *path, struct mer_text_line *l)
{
    const struct response_reader *rr = ctx;
    if (strspn(l->text, " \t\r\n") == l->len)
        return 0;
    cJSON *o = cJSON_ParseWithLength(l->text, l->len);
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(o, "key");
    int has_resp = cJSON_HasObjectItem(o, "response"),
        has_err = cJSON_HasObjectItem(o, "error") || cJSON_HasObjectItem(o, "status");
    if (!cJSON_IsString(k) || (!has_resp && !has_err)) {
        cJSON_Delete(o);
        return mer_error("'%s':%zu: not a response line ({\"key\": ..., \"response\" or "
                         "\"error\": ...}); mer query appends only to its own output",
                         path, l->lineno);
    }
    int64_t i = mer_strmap_get(&rr->j->map, k->valuestring);
    if (i >= 0 && rr->seen[i] != SEEN_RESPONSE)
        rr->seen[i] = has_resp ? SEEN_RESPONSE : SEEN_ERROR;
    cJSON_Delete(o);
    return 0;
}

static int read_responses(struct job *j, const char *path, enum seen *seen)
{
    int fd = dup(j->out_fd), ret;
    FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
    struct response_reader rr = {j, seen};
    if (!f) {
        if (fd >= 0)
            close(fd);
        return mer_error("'%s': %s", path, strerror(errno));
    }
    rewind(f);
    ret = mer_read_stream_lines(f, path, MER_LINE_MAX, read_responses_line, &rr);
    fclose(f);
    return ret;
}

/* Opens (creates) the responses file for appending, alone: a second mer query on the same
 * file would interleave with this one. */
static int open_responses(struct job *j, const char *path)
{
    j->out_fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0666);
    if (j->out_fd < 0)
        return mer_error("'%s': %s", path, strerror(errno));
    /* (O_NONBLOCK: opening a FIFO does not wait; it is refused here, not read forever.) */
    if (mer_fd_check_regular(j->out_fd, path) < 0)
        return -1;
    if (fcntl(j->out_fd, F_SETFL, O_APPEND) < 0)
        return mer_error("'%s': %s", path, strerror(errno));
    if (flock(j->out_fd, LOCK_EX | LOCK_NB) < 0)
        return mer_error("'%s': %s", path,
                         errno == EWOULDBLOCK ? "in use by another mer query (give each shard "
                                                "its own responses file)"
                                              : strerror(errno));
    return 0;
}

/* Appends one object as one line: one write(2) (looping only on a short write), then fsync.
 * A failed write is cut back off, so the file never keeps half a line. */
static int append_line(struct job *j, const cJSON *o)
{
    char *text = cJSON_PrintUnformatted(o);
    size_t n = text ? strlen(text) : 0, done = 0;
    off_t before = lseek(j->out_fd, 0, SEEK_END);
    int ret = -1;
    char *t = text ? realloc(text, n + 1) : NULL;
    if (!t) {
        free(text);
        return mer_error("out of memory");
    }
    t[n++] = '\n'; /* cJSON escapes newlines inside strings: this is the only one */
    while (done < n) {
        ssize_t w = write(j->out_fd, t + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            mer_error("'%s': %s", j->p->responses, w < 0 ? strerror(errno) : "short write");
            if (before >= 0 && ftruncate(j->out_fd, before) < 0) {
                /* nothing more to do: the error above is the one to report */
            }
            goto done;
        }
        done += (size_t)w;
    }
    if (fsync(j->out_fd) < 0) {
        mer_error("'%s': fsync: %s", j->p->responses, strerror(errno));
        goto done;
    }
    ret = 0;
done:
    free(t);
    return ret;
}

/* ---- outcomes ---- */

static void count_reason(struct mer_query_report *r, const char *label)
{
    size_t i;
    for (i = 0; i < r->n_reasons; i++)
        if (!strcmp(r->reasons[i].label, label))
            break;
    if (i == r->n_reasons) {
        if (i == MER_QUERY_MAX_REASONS)
            i--; /* the last bucket collects the rest */
        else
            snprintf(r->reasons[r->n_reasons++].label, sizeof(r->reasons[0].label), "%s", label);
    }
    r->reasons[i].count++;
}

/* What one finished transfer amounts to. */
struct outcome {
    int retry;       /* worth another attempt */
    long code;       /* HTTP status, 0 if none */
    char status[40]; /* e.g. "RESOURCE_EXHAUSTED" */
    char message[256];
    char reason[32]; /* summary bucket, e.g. "HTTP 429", "timeout" */
    double delay;    /* seconds the body's RetryInfo asks to wait, -1 if none */
    cJSON *response; /* the body, on success (owned) */
};

static const char *status_name(long code)
{
    switch (code) {
    case 400:
        return "INVALID_ARGUMENT";
    case 401:
        return "UNAUTHENTICATED";
    case 403:
        return "PERMISSION_DENIED";
    case 404:
        return "NOT_FOUND";
    case 429:
        return "RESOURCE_EXHAUSTED";
    case 500:
        return "INTERNAL";
    case 503:
        return "UNAVAILABLE";
    case 504:
        return "DEADLINE_EXCEEDED";
    default:
        return "UNKNOWN";
    }
}

/* An HTTP error: Google's {"error": {"message", "status"}} if the body has one. */
/* Google's error bodies say how long to wait in error.details[] as a google.rpc.RetryInfo
 * {"retryDelay": "34s"} (its 429s carry no Retry-After header); -1 if there is none. */
static double retry_info_delay(const cJSON *error)
{
    const cJSON *d;
    cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(error, "details"))
    {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(d, "@type");
        const cJSON *delay = cJSON_GetObjectItemCaseSensitive(d, "retryDelay");
        if (cJSON_IsString(type) && strstr(type->valuestring, "google.rpc.RetryInfo") &&
            cJSON_IsString(delay))
            return mer_query_duration(delay->valuestring);
    }
    return -1;
}

static void http_error(struct outcome *o, long code, const struct buf *body)
{
    cJSON *b = body->len ? cJSON_ParseWithLength(body->data, body->len) : NULL;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(b, "error");
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(e, "message");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(e, "status");
    o->code = code;
    o->retry = mer_query_status_retryable(code);
    snprintf(o->status, sizeof(o->status), "%s",
             cJSON_IsString(st) ? st->valuestring : status_name(code));
    if (cJSON_IsString(msg))
        snprintf(o->message, sizeof(o->message), "%s", msg->valuestring);
    else
        snprintf(o->message, sizeof(o->message), "HTTP %ld", code);
    snprintf(o->reason, sizeof(o->reason), "HTTP %ld", code);
    o->delay = retry_info_delay(e);
    cJSON_Delete(b);
}

/* A transfer that got no HTTP answer: timeouts and broken connections are retried, a bad
 * URL or a TLS verification failure is not. */
static void transport_error(struct outcome *o, CURLcode rc)
{
    int timeout = rc == CURLE_OPERATION_TIMEDOUT;
    o->retry = timeout || rc == CURLE_COULDNT_CONNECT || rc == CURLE_GOT_NOTHING ||
               rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR || rc == CURLE_PARTIAL_FILE ||
               rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_HTTP2 || rc == CURLE_HTTP2_STREAM ||
               rc == CURLE_SSL_CONNECT_ERROR;
    o->code = 0;
    snprintf(o->status, sizeof(o->status), "%s",
             timeout    ? "DEADLINE_EXCEEDED"
             : o->retry ? "UNAVAILABLE"
                        : "UNKNOWN");
    snprintf(o->message, sizeof(o->message), "%s", curl_easy_strerror(rc));
    snprintf(o->reason, sizeof(o->reason), "%s",
             timeout    ? "timeout"
             : o->retry ? "connection"
                        : "transport");
}

static void classify(struct outcome *o, CURL *easy, CURLcode rc, const struct buf *body)
{
    long code = 0;
    memset(o, 0, sizeof(*o));
    o->delay = -1;
    if (rc != CURLE_OK) {
        transport_error(o, rc);
        return;
    }
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
    if (code != 200) {
        http_error(o, code, body);
        return;
    }
    o->response = cJSON_ParseWithLength(body->data ? body->data : "", body->len);
    if (cJSON_IsObject(o->response))
        return;
    cJSON_Delete(o->response);
    o->response = NULL;
    o->retry = 1;
    o->code = 200;
    snprintf(o->status, sizeof(o->status), "DATA_LOSS");
    snprintf(o->message, sizeof(o->message), "the 200 response's body is not a JSON object");
    snprintf(o->reason, sizeof(o->reason), "malformed");
}

/* Writes the key's final line: its response, or its error. */
static int record(struct job *j, size_t i, struct outcome *o)
{
    cJSON *line = cJSON_CreateObject(), *err;
    int ret = -1;
    if (!line || !cJSON_AddStringToObject(line, "key", j->keys[i]))
        goto oom;
    if (o->response) {
        cJSON_AddItemToObject(line, "response", o->response);
        o->response = NULL;
    } else {
        if (!(err = cJSON_AddObjectToObject(line, "error")) ||
            !cJSON_AddNumberToObject(err, "code", (double)o->code) ||
            !cJSON_AddStringToObject(err, "message", o->message) ||
            !cJSON_AddStringToObject(err, "status", o->status))
            goto oom;
    }
    ret = append_line(j, line);
    cJSON_Delete(line);
    return ret;
oom:
    cJSON_Delete(line);
    return mer_error("out of memory");
}

/* ---- transfers ---- */

static size_t on_body(char *data, size_t size, size_t n, void *userdata)
{
    struct buf *b = userdata;
    size_t add = size * n;
    if (b->len + add + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->len + add + 1)
            cap *= 2;
        char *d = cap <= MAX_BODY ? realloc(b->data, cap) : NULL;
        if (!d)
            return 0; /* curl fails the transfer with CURLE_WRITE_ERROR */
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, add);
    b->len += add;
    b->data[b->len] = '\0';
    return add;
}

/* Keeps the Retry-After of the last response (a 100 Continue starts a new header block). */
static size_t on_header(char *data, size_t size, size_t n, void *userdata)
{
    struct slot *s = userdata;
    size_t len = size * n, name = sizeof("retry-after:") - 1;
    if (len >= 5 && !strncmp(data, "HTTP/", 5))
        s->retry_after[0] = '\0';
    else if (len > name && !strncasecmp(data, "retry-after:", name)) {
        size_t v =
            len - name < sizeof(s->retry_after) - 1 ? len - name : sizeof(s->retry_after) - 1;
        memcpy(s->retry_after, data + name, v);
        s->retry_after[v] = '\0';
    }
    return len;
}

/* The item's request body, read back from its line (requests are not all kept in memory:
 * inline video makes them large). */
static char *load_body(struct job *j, size_t i)
{
    const struct item *it = &j->items[i];
    char *line = malloc(it->len + 1), *body = NULL;
    cJSON *o = NULL;
    if (!line) {
        mer_error("out of memory");
        return NULL;
    }
    if (pread(j->in_fd, line, it->len, it->off) != (ssize_t)it->len)
        mer_error("'%s':%zu: cannot read the line again (did the file change?)", j->p->requests,
                  it->line);
    else if (!(o = cJSON_ParseWithLength(line, it->len)))
        mer_error("'%s':%zu: the line changed since it was checked", j->p->requests, it->line);
    else
        body = line_body(o);
    cJSON_Delete(o);
    free(line);
    return body;
}

static int setup_easy(struct job *j, struct slot *s)
{
    const struct mer_query_params *p = j->p;
    CURL *e = s->easy;
    curl_easy_reset(e);
    s->resp.len = 0;
    s->retry_after[0] = '\0';
    /* No redirects: the API key header would follow them to whatever host they name. */
    if (curl_easy_setopt(e, CURLOPT_URL, j->url) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK)
        return mer_error("--endpoint: libcurl refuses the URL");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, j->headers);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, s->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(s->body));
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &s->resp);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, s);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(p->timeout_s * 1000));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(p->connect_timeout_s * 1000));
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_USERAGENT, "mer-query/0.1");
    curl_easy_setopt(e, CURLOPT_PRIVATE, s);
    return 0;
}

/* Starts the queue's entry q on a free slot. */
static int start(struct job *j, size_t q)
{
    size_t i = j->queue[q];
    struct slot *s = NULL;
    for (int k = 0; k < j->p->concurrency && !s; k++)
        if (!j->slots[k].busy)
            s = &j->slots[k];
    MER_ASSERT(s);
    if (!(s->body = load_body(j, i)) || setup_easy(j, s) < 0)
        return -1;
    if (curl_multi_add_handle(j->multi, s->easy) != CURLM_OK)
        return mer_error("libcurl: cannot start a transfer");
    memmove(j->queue + q, j->queue + q + 1, (j->n_queue - q - 1) * sizeof(*j->queue));
    j->n_queue--;
    if (j->items[i].attempts++)
        j->r->retries++;
    j->r->requests++;
    s->item = i;
    s->busy = 1;
    j->in_flight++;
    return 0;
}

/* Starts every request that is due, as slots and the rate limit allow. */
static int start_due(struct job *j, double now)
{
    double interval = j->p->rpm > 0 ? 60.0 / j->p->rpm : 0;
    for (size_t q = 0; q < j->n_queue && j->in_flight < (size_t)j->p->concurrency;) {
        if (j->items[j->queue[q]].not_before > now) {
            q++;
            continue;
        }
        if (interval > 0 && now < j->next_token)
            break;
        if (start(j, q) < 0)
            return -1;
        /* A bucket of one token: requests are spaced evenly, never in a burst. */
        j->next_token = (j->next_token > now ? j->next_token : now) + interval;
    }
    return 0;
}

/* Milliseconds until something may be started (a retry becomes due, a token arrives). */
static long wait_ms(const struct job *j, double now)
{
    double soonest = now + MAX_WAIT_MS / 1000.0;
    if (j->in_flight < (size_t)j->p->concurrency && !(j->p->stop && *j->p->stop))
        for (size_t q = 0; q < j->n_queue; q++) {
            double t = j->items[j->queue[q]].not_before;
            if (j->p->rpm > 0 && t < j->next_token)
                t = j->next_token;
            if (t < soonest)
                soonest = t;
        }
    return soonest <= now ? 0 : (long)((soonest - now) * 1000) + 1;
}

/* Puts an item back in the queue, after its retry delay: what the server asked for (a
 * Retry-After header on 429/503, else a RetryInfo in the body), else the backoff. */
static void requeue(struct job *j, size_t i, const struct slot *s, const struct outcome *o,
                    double now)
{
    struct item *it = &j->items[i];
    double delay = -1;
    if ((o->code == 429 || o->code == 503) && s->retry_after[0])
        delay = mer_query_retry_after(s->retry_after, time(NULL));
    if (delay < 0)
        delay = o->delay;
    if (delay < 0)
        delay = mer_query_backoff_ms(it->attempts, j->p->backoff_ms, j->p->backoff_cap_ms,
                                     mer_rng_uniform(&j->rng)) /
                1000.0;
    it->not_before = now + delay;
    j->queue[j->n_queue++] = i;
    if (it->attempts == 1)
        j->retrying++; /* counted until the key is answered or given up */
}

static void release_slot(struct job *j, struct slot *s)
{
    curl_multi_remove_handle(j->multi, s->easy);
    free(s->body);
    s->body = NULL;
    s->busy = 0;
    j->in_flight--;
}

/* A transfer ended: the key is answered, failed for good, or goes back in the queue. */
static int finish(struct job *j, struct slot *s, CURLcode rc)
{
    size_t i = s->item;
    int stopping = j->p->stop && *j->p->stop, ret = 0;
    struct outcome o;
    classify(&o, s->easy, rc, &s->resp);
    if (o.retry && j->items[i].attempts <= j->p->retries && !stopping) {
        requeue(j, i, s, &o, mer_now());
    } else {
        if (j->items[i].attempts > 1)
            j->retrying--;
        if (o.retry && stopping) {
            j->r->unsent++; /* interrupted: a rerun sends it again */
        } else {
            int ok = o.response != NULL;
            ret = record(j, i, &o); /* takes o.response */
            if (ok && !ret)
                j->r->answered++;
            else if (!ret) {
                j->r->failed++;
                count_reason(j->r, o.reason);
            }
        }
    }
    cJSON_Delete(o.response);
    release_slot(j, s);
    return ret;
}

static void show_progress(struct job *j)
{
    snprintf(j->label, sizeof(j->label), "query (%zu failed, %zu retrying)", j->r->failed,
             j->retrying);
    mer_progress_update(&j->prog, (int64_t)(j->r->answered + j->r->failed));
}

/* Collects finished transfers. */
static int reap(struct job *j)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(j->multi, &left)))
        if (msg->msg == CURLMSG_DONE) {
            struct slot *s = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            if (finish(j, s, msg->data.result) < 0)
                return -1;
        }
    return 0;
}

/* Stop level 2 (a second Ctrl-C): transfers in flight are dropped, unanswered. */
static void abort_all(struct job *j)
{
    for (int k = 0; k < j->p->concurrency; k++)
        if (j->slots[k].busy) {
            if (j->items[j->slots[k].item].attempts > 1)
                j->retrying--;
            release_slot(j, &j->slots[k]);
            j->r->unsent++;
        }
}

static int run_loop(struct job *j)
{
    int running;
    mer_progress_start(&j->prog, j->label, (int64_t)j->r->todo, "keys");
    while (j->n_queue || j->in_flight) {
        int stop = j->p->stop ? *j->p->stop : 0;
        if (stop >= 2)
            abort_all(j);
        if (stop && !j->in_flight)
            break;
        if (!stop && start_due(j, mer_now()) < 0)
            return -1;
        if (curl_multi_perform(j->multi, &running) != CURLM_OK)
            return mer_error("libcurl: the transfer loop failed");
        if (reap(j) < 0)
            return -1;
        show_progress(j);
        if (j->n_queue || j->in_flight)
            curl_multi_poll(j->multi, NULL, 0, (int)wait_ms(j, mer_now()), NULL);
    }
    j->r->unsent += j->n_queue;
    mer_progress_finish(&j->prog);
    return 0;
}

/* ---- setup ---- */

/* The headers: the key goes here and nowhere else. A control character in it would let the
 * key inject headers, so it is refused (without echoing it). */
static int make_headers(struct job *j, const char *api_key)
{
    char *h;
    for (const char *c = api_key; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            return mer_error("GEMINI_API_KEY holds a control character");
    if (!(h = mer_strfmt("x-goog-api-key: %s", api_key)))
        return mer_error("out of memory");
    j->headers = curl_slist_append(NULL, h);
    memset(h, 0, strlen(h));
    free(h);
    if (j->headers)
        j->headers = curl_slist_append(j->headers, "Content-Type: application/json");
    if (j->headers) /* no "Expect: 100-continue" round trip for large bodies */
        j->headers = curl_slist_append(j->headers, "Expect:");
    return j->headers ? 0 : mer_error("out of memory");
}

static int make_slots(struct job *j)
{
    if (!(j->multi = curl_multi_init()) ||
        !(j->slots = calloc((size_t)j->p->concurrency, sizeof(*j->slots))))
        return mer_error("out of memory");
    for (int k = 0; k < j->p->concurrency; k++)
        if (!(j->slots[k].easy = curl_easy_init()))
            return mer_error("libcurl: cannot create a handle");
    curl_multi_setopt(j->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)j->p->concurrency);
    return 0;
}

/* Which keys this run sends: this shard's keys without a response line. */
static int plan_keys(struct job *j, const enum seen *seen)
{
    struct mer_query_report *r = j->r;
    if (!(j->queue = malloc((j->n ? j->n : 1) * sizeof(*j->queue))))
        return mer_error("out of memory");
    for (size_t i = (size_t)j->p->shard.index; i < j->n; i += (size_t)j->p->shard.count) {
        r->in_shard++;
        if (seen[i] == SEEN_RESPONSE)
            r->done_before++;
        else if (seen[i] == SEEN_ERROR && !j->p->retry_failed)
            r->skipped_failed++;
        else
            j->queue[j->n_queue++] = i;
    }
    r->todo = j->n_queue;
    return 0;
}

int mer_query_check_params(const struct mer_query_params *p)
{
    if (p->concurrency < 1 || p->concurrency > 1024)
        return mer_error("--concurrency: expected 1 to 1024, got %d", p->concurrency);
    if (p->rpm < 0 || p->retries < 0 || p->backoff_ms < 0 || p->backoff_cap_ms < 0)
        return mer_error("--rpm, --retries and --backoff-ms must not be negative");
    /* (bounded so that the milliseconds fit curl's long) */
    if (!(p->timeout_s > 0 && p->timeout_s <= 1e6) ||
        !(p->connect_timeout_s > 0 && p->connect_timeout_s <= 1e6))
        return mer_error("--timeout and --connect-timeout: expected 0 < seconds <= 1e6");
    if (p->shard.count < 1 || p->shard.index < 0 || p->shard.index >= p->shard.count)
        return mer_error("--shard: bad shard %d/%d", p->shard.index, p->shard.count);
    return 0;
}

static void job_release(struct job *j)
{
    if (j->slots)
        for (int k = 0; k < j->p->concurrency; k++) {
            if (j->slots[k].busy)
                curl_multi_remove_handle(j->multi, j->slots[k].easy);
            curl_easy_cleanup(j->slots[k].easy);
            free(j->slots[k].body);
            free(j->slots[k].resp.data);
        }
    free(j->slots);
    if (j->multi)
        curl_multi_cleanup(j->multi);
    curl_slist_free_all(j->headers);
    free(j->url);
    mer_strv_free(j->keys, j->n);
    free(j->items);
    free(j->queue);
    mer_strmap_release(&j->map);
    if (j->in_fd >= 0)
        close(j->in_fd);
    if (j->out_fd >= 0)
        close(j->out_fd); /* releases the lock */
}

int mer_query_run(const struct mer_query_params *p, struct mer_query_report *r)
{
    struct job j = {0};
    enum seen *seen = NULL;
    int ret = -1;
    memset(r, 0, sizeof(*r));
    j.p = p;
    j.r = r;
    j.in_fd = j.out_fd = -1;
    snprintf(j.label, sizeof(j.label), "query");
    mer_rng_seed(&j.rng, (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32));
    if (mer_query_check_params(p) < 0 || read_requests(&j, p->requests) < 0)
        goto done;
    if (!p->api_key || !*p->api_key) {
        mer_error("no API key");
        goto done;
    }
    r->keys = j.n;
    if ((j.in_fd = mer_open_regular(p->requests)) < 0)
        goto done;
    if (!(seen = calloc(j.n ? j.n : 1, sizeof(*seen)))) {
        mer_error("out of memory");
        goto done;
    }
    if (open_responses(&j, p->responses) < 0 || drop_partial_line(&j, p->responses) < 0 ||
        read_responses(&j, p->responses, seen) < 0 || plan_keys(&j, seen) < 0)
        goto done;
    if (!(j.url = mer_query_endpoint_url(p->endpoint, p->model))) {
        mer_error("out of memory");
        goto done;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        mer_error("libcurl: cannot initialise");
        goto done;
    }
    if (make_headers(&j, p->api_key) < 0 || make_slots(&j) < 0 || run_loop(&j) < 0)
        goto done;
    ret = 0;
done:
    free(seen);
    job_release(&j);
    return ret;
}
