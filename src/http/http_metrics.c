/* Metrics in Prometheus text format. Counters are process-wide atomics bumped by a logger that h2o calls once per
 * finished request on every path (static files and h2o's own errors included), so nothing is missed. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include "http/http.h"
#include "mail/mail.h"

static const int statuses[] = {200, 201, 202, 204, 206, 301, 302, 304, 400, 401, 403,
                               404, 405, 409, 413, 415, 422, 429, 500, 502, 503, 0};
#define NUM_STATUSES (sizeof(statuses) / sizeof(statuses[0]))

/* Upper bounds in microseconds; the last bucket is +Inf. */
static const uint64_t buckets_us[] = {500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000};
#define NUM_BUCKETS (sizeof(buckets_us) / sizeof(buckets_us[0]) + 1)

static _Atomic uint64_t requests[HTTP_ROUTE__ALL][NUM_STATUSES];
static _Atomic uint64_t latency[HTTP_ROUTE__ALL][NUM_BUCKETS];
static _Atomic uint64_t latency_sum_us[HTTP_ROUTE__ALL];
static _Atomic uint64_t limited;

void http_metrics_count_limited(void)
{
    atomic_fetch_add_explicit(&limited, 1, memory_order_relaxed);
}

static size_t status_index(int status)
{
    for (size_t i = 0; i + 1 < NUM_STATUSES; ++i)
        if (statuses[i] == status)
            return i;
    return NUM_STATUSES - 1;
}

static void on_log(h2o_logger_t *self, h2o_req_t *req)
{
    http_route_id_t route = http_route_classify(req);
    atomic_fetch_add_explicit(&requests[route][status_index(req->res.status)], 1, memory_order_relaxed);
    int64_t us = 0;
    if (!h2o_time_compute_duration(req, &us) || us < 0)
        us = 0;
    size_t b = 0;
    while (b + 1 < NUM_BUCKETS && (uint64_t)us > buckets_us[b])
        ++b;
    atomic_fetch_add_explicit(&latency[route][b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&latency_sum_us[route], (uint64_t)us, memory_order_relaxed);
}

void http_metrics_register(h2o_pathconf_t *pathconf)
{
    h2o_logger_t *l = h2o_create_logger(pathconf, sizeof(*l));
    l->log_access = on_log;
}

struct st_out_t {
    char *buf;
    size_t len, cap;
};

static void out(struct st_out_t *o, const char *line, size_t n)
{
    if (o->len + n <= o->cap) {
        memcpy(o->buf + o->len, line, n);
        o->len += n;
    }
}

#define OUTF(o, ...)                                                                                                   \
    do {                                                                                                               \
        char line_[256];                                                                                               \
        int n_ = snprintf(line_, sizeof(line_), __VA_ARGS__);                                                          \
        if (n_ > 0)                                                                                                    \
            out((o), line_, (size_t)n_ < sizeof(line_) ? (size_t)n_ : sizeof(line_) - 1);                              \
    } while (0)

void http_metrics_handle(api_req_t *r)
{
    h2o_req_t *req = r->req;
    struct st_out_t o = {h2o_mem_alloc_pool(&req->pool, 128 * 1024), 0, 128 * 1024};

    OUTF(&o, "# HELP parley_http_requests_total HTTP requests by route and status.\n");
    OUTF(&o, "# TYPE parley_http_requests_total counter\n");
    for (size_t rt = 0; rt < HTTP_ROUTE__ALL; ++rt)
        for (size_t s = 0; s < NUM_STATUSES; ++s) {
            uint64_t v = atomic_load_explicit(&requests[rt][s], memory_order_relaxed);
            if (v == 0)
                continue;
            if (statuses[s] != 0)
                OUTF(&o, "parley_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
                     http_route_name((http_route_id_t)rt), statuses[s], (unsigned long long)v);
            else
                OUTF(&o, "parley_http_requests_total{route=\"%s\",status=\"other\"} %llu\n",
                     http_route_name((http_route_id_t)rt), (unsigned long long)v);
        }
    OUTF(&o, "# HELP parley_http_request_duration_seconds Time from request start to response end.\n");
    OUTF(&o, "# TYPE parley_http_request_duration_seconds histogram\n");
    for (size_t rt = 0; rt < HTTP_ROUTE__ALL; ++rt) {
        uint64_t cum = 0;
        const char *name = http_route_name((http_route_id_t)rt);
        for (size_t b = 0; b < NUM_BUCKETS; ++b) {
            cum += atomic_load_explicit(&latency[rt][b], memory_order_relaxed);
            if (b + 1 < NUM_BUCKETS)
                OUTF(&o, "parley_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n", name,
                     (double)buckets_us[b] / 1e6, (unsigned long long)cum);
            else
                OUTF(&o, "parley_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n", name,
                     (unsigned long long)cum);
        }
        OUTF(&o, "parley_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", name,
             (double)atomic_load_explicit(&latency_sum_us[rt], memory_order_relaxed) / 1e6);
        OUTF(&o, "parley_http_request_duration_seconds_count{route=\"%s\"} %llu\n", name, (unsigned long long)cum);
    }
    OUTF(&o, "# HELP parley_rate_limited_total Requests refused with 429.\n# TYPE parley_rate_limited_total counter\n");
    OUTF(&o, "parley_rate_limited_total %llu\n", (unsigned long long)atomic_load(&limited));
    OUTF(&o,
         "# HELP parley_redis_commands_total Commands sent to Redis.\n# TYPE parley_redis_commands_total counter\n");
    OUTF(&o, "parley_redis_commands_total %llu\n", (unsigned long long)atomic_load(&store_stats.commands));
    OUTF(&o, "# HELP parley_redis_errors_total Redis error replies, failed connects and lost connections.\n");
    OUTF(&o, "# TYPE parley_redis_errors_total counter\n");
    OUTF(&o, "parley_redis_errors_total %llu\n", (unsigned long long)atomic_load(&store_stats.errors));
    OUTF(&o, "# HELP parley_redis_timeouts_total Calls answered 503 because Redis did not reply in time.\n");
    OUTF(&o, "# TYPE parley_redis_timeouts_total counter\n");
    OUTF(&o, "parley_redis_timeouts_total %llu\n", (unsigned long long)atomic_load(&store_stats.timeouts));
    OUTF(&o, "# HELP parley_redis_reconnects_total Successful reconnects to Redis.\n");
    OUTF(&o, "# TYPE parley_redis_reconnects_total counter\n");
    OUTF(&o, "parley_redis_reconnects_total %llu\n", (unsigned long long)atomic_load(&store_stats.reconnects));
    OUTF(&o, "# HELP parley_redis_group_commits_total Script calls and commands that carried calls of one worker's "
             "event-loop turn together (comment creates, their ids, known-address and ban checks, queue entries).\n");
    OUTF(&o, "# TYPE parley_redis_group_commits_total counter\n");
    OUTF(&o, "parley_redis_group_commits_total %llu\n", (unsigned long long)atomic_load(&store_stats.groups));
    OUTF(&o, "# HELP parley_redis_grouped_calls_total The calls those group commits carried.\n");
    OUTF(&o, "# TYPE parley_redis_grouped_calls_total counter\n");
    OUTF(&o, "parley_redis_grouped_calls_total %llu\n", (unsigned long long)atomic_load(&store_stats.grouped_calls));
    OUTF(&o, "# HELP parley_redis_call_seconds Time from sending a call to its last reply.\n");
    OUTF(&o, "# TYPE parley_redis_call_seconds histogram\n");
    {
        /* The count is the buckets' total, so the +Inf bucket and _count always agree within one scrape. */
        uint64_t cum = 0;
        for (size_t b = 0; b <= STORE_LATENCY_BUCKETS; ++b) {
            cum += atomic_load_explicit(&store_stats.latency_buckets[b], memory_order_relaxed);
            if (b < STORE_LATENCY_BUCKETS)
                OUTF(&o, "parley_redis_call_seconds_bucket{le=\"%g\"} %llu\n", (double)store_latency_bounds_us[b] / 1e6,
                     (unsigned long long)cum);
            else
                OUTF(&o, "parley_redis_call_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
        }
        OUTF(&o, "parley_redis_call_seconds_sum %.6f\n", (double)atomic_load(&store_stats.latency_us_sum) / 1e6);
        OUTF(&o, "parley_redis_call_seconds_count %llu\n", (unsigned long long)cum);
    }

    OUTF(&o, "# HELP parley_mail_sent_total Mails the SMTP server accepted.\n");
    OUTF(&o, "# TYPE parley_mail_sent_total counter\n");
    OUTF(&o, "parley_mail_sent_total %llu\n", (unsigned long long)atomic_load(&mail_stats.sent));
    OUTF(&o, "# HELP parley_mail_failures_total Temporary SMTP failures (each schedules a retry).\n");
    OUTF(&o, "# TYPE parley_mail_failures_total counter\n");
    OUTF(&o, "parley_mail_failures_total %llu\n", (unsigned long long)atomic_load(&mail_stats.failed));
    OUTF(&o, "# HELP parley_mail_dead_total Mails this process moved to the dead letters.\n");
    OUTF(&o, "# TYPE parley_mail_dead_total counter\n");
    OUTF(&o, "parley_mail_dead_total %llu\n", (unsigned long long)atomic_load(&mail_stats.dead));
    OUTF(&o, "# HELP parley_mail_queue Outbox size by state, refreshed every 10 s and when the mailer goes idle.\n");
    OUTF(&o, "# TYPE parley_mail_queue gauge\n");
    OUTF(&o, "parley_mail_queue{state=\"pending\"} %llu\n", (unsigned long long)atomic_load(&mail_stats.pending));
    OUTF(&o, "parley_mail_queue{state=\"delayed\"} %llu\n", (unsigned long long)atomic_load(&mail_stats.delayed));
    OUTF(&o, "parley_mail_queue{state=\"dead\"} %llu\n", (unsigned long long)atomic_load(&mail_stats.dead_all));

    OUTF(&o, "# HELP parley_hash_jobs_queued Password-hashing jobs waiting for a helper thread.\n");
    OUTF(&o, "# TYPE parley_hash_jobs_queued gauge\n");
    OUTF(&o, "parley_hash_jobs_queued %llu\n", (unsigned long long)atomic_load(&api_work_stats.queued));
    OUTF(&o, "# HELP parley_comments_created_total Comments stored, by the status they got.\n");
    OUTF(&o, "# TYPE parley_comments_created_total counter\n");
    OUTF(&o, "parley_comments_created_total{status=\"approved\"} %llu\n",
         (unsigned long long)atomic_load(&api_comment_stats.approved));
    OUTF(&o, "parley_comments_created_total{status=\"pending\"} %llu\n",
         (unsigned long long)atomic_load(&api_comment_stats.pending));
    OUTF(&o, "parley_comments_created_total{status=\"spam\"} %llu\n",
         (unsigned long long)atomic_load(&api_comment_stats.spam));
    OUTF(&o, "# HELP parley_hash_jobs_total Password-hashing jobs the helper threads ran.\n");
    OUTF(&o, "# TYPE parley_hash_jobs_total counter\n");
    OUTF(&o, "parley_hash_jobs_total %llu\n", (unsigned long long)atomic_load(&api_work_stats.done));
    OUTF(&o,
         "# HELP parley_hash_jobs_rejected_total Password-hashing jobs refused (503) because the queue was full.\n");
    OUTF(&o, "# TYPE parley_hash_jobs_rejected_total counter\n");
    OUTF(&o, "parley_hash_jobs_rejected_total %llu\n", (unsigned long long)atomic_load(&api_work_stats.rejected));

    req->res.status = 200;
    req->res.reason = "OK";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("text/plain; version=0.0.4; charset=utf-8"));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
    req->res.content_length = o.len;
    h2o_send_inline(req, o.buf, o.len);
}
