#ifndef API_H
#define API_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <h2o.h>
#include <jansson.h>
#include "core/core_config.h"
#include "core/core_json.h"
#include "store/store.h"

/* The API layer: one file per resource (api_shares.c, api_health.c …) parses and validates input, calls the store
 * and builds the reply. Handlers are called by the http route table with an api_req_t already set up; a handler
 * always answers the request exactly once, now or from a store callback.
 *
 * Replies are JSON; errors are {"error":{"code","message","field"?}} from core_errors.def. Every reply carries CORS
 * headers for an allowed Origin (see api_reply.c). */

typedef struct st_api_pagecache_t api_pagecache_t;

/** Per-worker environment shared by all requests on that worker. */
typedef struct st_api_env_t {
    const core_config_t *cfg;
    store_t *store;
    const uint8_t *secret; /**< HMAC key from secret_file */
    size_t secret_len;
    api_pagecache_t *pages;            /**< rendered comment pages (api_pagecache.c), owned by the worker */
    struct st_api_work_worker_t *work; /**< this worker's end of the helper threads (api_work.c); NULL = detached */
    long visitor_day;                  /**< UTC day (days since the epoch) of visitor_key; 0 = not derived yet */
    uint8_t visitor_key[32];           /**< today's visitor-hash key, HMAC(secret, "visitor:YYYY-MM-DD") */
} api_env_t;

typedef struct st_api_param_t {
    h2o_iovec_t name;
    h2o_iovec_t value; /**< percent-decoded, NUL-terminated */
} api_param_t;

/** One API request; lives in req->pool. */
typedef struct st_api_req_t {
    h2o_req_t *req;
    api_env_t *env;
    h2o_iovec_t client; /**< client address as text (IPv6 cut to its /64), for limits and visitor hashes */
    h2o_iovec_t origin; /**< Origin request header, or {NULL,0} */
    h2o_iovec_t path_params[4];
    size_t num_path_params;
    api_param_t *query; /**< parsed query string */
    size_t num_query;
    json_t *body;                   /**< parsed JSON object for routes that take a body, in the request's pool (the
                                         tree is never freed node by node: values added to it would leak) */
    const core_config_site_t *site; /**< set by api_site_or_reply */
} api_req_t;

typedef void (*api_handler_fn)(api_req_t *r);

/* --- api_request.c --- */

/** Sets up R for REQ: client address, Origin, query parameters. Returns 0, or CORE_ERR_BAD_REQUEST (bad query). */
int api_req_init(api_req_t *r, h2o_req_t *req, api_env_t *env);
/** Number of query parameters called NAME. */
size_t api_query_count(api_req_t *r, const char *name);
/** The first query parameter called NAME, or NULL. */
const api_param_t *api_query_get(api_req_t *r, const char *name);
/**
 * Resolves the site named ID (from the query or the body). Replies 422 (missing), 404 unknown_site, or -- for
 * requests that change state -- 403 origin_not_allowed when an Origin header is present and not one of the site's,
 * and returns NULL; else sets r->site and returns it.
 */
const core_config_site_t *api_site_or_reply(api_req_t *r, const char *id, size_t len);
/** True when ORIGIN (exact bytes) is one of SITE's origins, or of any site when SITE is NULL. */
bool api_origin_is_allowed(const core_config_t *cfg, const core_config_site_t *site, h2o_iovec_t origin);
/** Parses r->req's body as a JSON object into r->body; replies 400 bad_json and returns -1 on failure. */
int api_body_or_reply(api_req_t *r);
/** Routes jansson's allocations through the hooks that let api_body_or_reply parse a body into the request's pool;
 * call once at start, before any other jansson call (a block must be freed by the hooks that allocated it). */
void api_json_hooks_install(void);
/** A keyed hash of the client address (32 hex digits in the pool), for rate-limit keys. */
h2o_iovec_t api_client_key(api_req_t *r);
/** A daily-rotating keyed hash of client address and User-Agent: 32 hex digits in the pool. Never the raw IP. */
h2o_iovec_t api_visitor_hash(api_req_t *r);
/** Seconds until the next UTC midnight (at least 1). */
uint32_t api_seconds_to_midnight(void);
/** True when the User-Agent is missing or looks like a crawler, bot, or HTTP library. */
bool api_is_bot(api_req_t *r);

/**
 * Whether the comma-separated LIST (whitespace around items allowed) holds ITEM byte for byte. Not
 * h2o_contains_token, which lower-cases the list but not the item: methods and entity tags are case-sensitive
 * (RFC 9110, 9.1 and 8.8.3). With ETAGS, "*" matches anything and a "W/" prefix is ignored (weak comparison, as
 * If-None-Match wants, RFC 9110, 13.1.2).
 */
bool api_list_has(h2o_iovec_t list, const char *item, size_t len, bool etags);

/* --- api_work.c: helper threads for blocking CPU work (argon2 hashing) ---
 *
 * A small pool of helper threads takes jobs from one process-wide queue, runs the blocking part there and hands the
 * result back to the worker loop that submitted it through the h2o context's multithread queue. The loop never
 * blocks; a request whose client went away while its job ran simply never sees the result. Same contract as the
 * store's calls (libuv's): a submit that fails calls nothing; one that succeeds calls DONE (or drops it, see below)
 * exactly once, never synchronously. */

/** Runs on a helper thread: must not touch the request, its pool, the loop or any per-worker state. */
typedef void (*api_work_fn)(void *arg);
/** Runs on the request's worker loop, only while the request is alive; typically answers the request. */
typedef void (*api_work_done_fn)(api_req_t *r, void *arg);

/**
 * Starts THREADS helper threads (0 = half the online cores, at least 1) with at most MAX_QUEUED jobs waiting for a
 * helper (at least 1). The helpers run at a lower CPU priority (nice 10), with every signal blocked, named
 * "parley-hash". Call once, from the main thread, before the workers start (and again only after api_work_stop).
 * Returns 0, or CORE_ERR_UNAVAILABLE when pthread_create failed (the threads already made are stopped again).
 */
int api_work_start(uint32_t threads, uint32_t max_queued);
/**
 * Stops and joins the helpers: a job being worked on finishes first (its result is sent), jobs still waiting are
 * dropped and their FREE_FN runs here, on the calling thread, without DONE. Call after every worker thread has
 * returned (each detached, or left attached for good with its context never disposed). A no-op when not started.
 */
void api_work_stop(void);
/**
 * Per worker, on its own thread, after h2o_context_init: registers a receiver on CTX's multithread queue
 * (ctx->queue) so that results come back to this loop, and sets env->work. Out-of-memory aborts.
 */
void api_work_attach(api_env_t *env, h2o_context_t *ctx);
/**
 * Number of this worker's jobs not yet fully back: queued, running, or sent but not yet handled on the loop (or a
 * helper still inside the send). On stop the worker runs its loop until this is 0 (bounded wait) before detaching.
 * Worker thread only; 0 when detached.
 */
size_t api_work_outstanding(api_env_t *env);
/**
 * Unregisters the receiver and frees the worker's state; env->work becomes NULL and later submits fail. Call on the
 * worker thread before h2o_context_dispose, once api_work_outstanding is 0. When jobs are still outstanding it does
 * nothing (a late result would reach freed memory): the receiver stays, and the context must not be disposed.
 */
void api_work_detach(api_env_t *env);
/**
 * Queues WORK(ARG) for a helper. Afterwards DONE(R, ARG) runs on R's worker loop -- unless the request was disposed
 * first (the client went away), then DONE is skipped, and so is WORK when no helper had started it yet. Either way
 * FREE_FN(ARG) (NULL = free) runs afterwards, on the worker thread (or on the stopping thread for a job dropped by
 * api_work_stop). ARG is heap memory owned by the job, never the request's pool: the request may die while the helper
 * works. FREE_FN must cope with an ARG whose WORK never ran (and wipe any password it holds).
 *
 * Returns 0 (DONE or the drop always comes later, never synchronously), or CORE_ERR_UNAVAILABLE when MAX_QUEUED
 * jobs already wait, the helpers are not running or the worker is detached; then nothing is called and ARG stays
 * the caller's (not freed). Worker thread only.
 */
int api_work_submit(api_req_t *r, api_work_fn work, api_work_done_fn done, void *arg, void (*free_fn)(void *));

/** Process-wide counters for /metrics. */
typedef struct st_api_work_stats_t {
    _Atomic uint64_t queued;   /**< gauge: jobs waiting for a helper */
    _Atomic uint64_t done;     /**< jobs a helper worked on (not those skipped because their request was gone) */
    _Atomic uint64_t rejected; /**< submits refused because MAX_QUEUED jobs were waiting */
} api_work_stats_t;
extern api_work_stats_t api_work_stats;

/* --- api_pagecache.c: rendered comment pages, validated by the thread's version --- */
/** Creates a cache holding at most MAX_BYTES. */
api_pagecache_t *api_pagecache_create(size_t max_bytes);
/** Finds the body cached for KEY when its version equals VER and keeps it alive for POOL's life (no copy). */
bool api_pagecache_get(api_pagecache_t *c, h2o_iovec_t key, h2o_iovec_t ver, h2o_mem_pool_t *pool, h2o_iovec_t *body);
/** Stores (copies) BODY for KEY at version VER, evicting least recently used pages beyond the budget. */
void api_pagecache_put(api_pagecache_t *c, h2o_iovec_t key, h2o_iovec_t ver, h2o_iovec_t body);
void api_pagecache_destroy(api_pagecache_t *c);

/* --- api_reply.c --- */

/** Sends STATUS with JSON BODY (takes ownership of the reference), Cache-Control: no-store, CORS headers. */
void api_reply_json(api_req_t *r, int status, json_t *body);
/** Sends the concatenation of BUFS (memory that lives as long as the request) as JSON, without copying it. */
void api_reply_raw_bufs(api_req_t *r, int status, h2o_iovec_t *bufs, size_t n, const char *cache_control);
/** Sends BODY, already serialised JSON (pool memory), with the same headers as api_reply_json. */
void api_reply_raw_json(api_req_t *r, int status, h2o_iovec_t body, const char *cache_control);
/** Sends the error ERR (CORE_ERR_*) with an optional FIELD and MESSAGE (NULL = the table's message). */
void api_reply_error(api_req_t *r, int err, const char *field, const char *message);
/** Sends a core_json_err_t. */
void api_reply_json_error(api_req_t *r, const core_json_err_t *err);
/** Adds the CORS headers for r->origin when it is allowed (for r->site, or any site before one is known). */
void api_reply_cors(api_req_t *r);
/** Serialises V compactly into the pool. */
h2o_iovec_t api_json_dump(h2o_mem_pool_t *pool, json_t *v);

/** HTML-escaped, NUL-terminated copy of S (LEN bytes) in POOL. */
const char *api_html_escape(h2o_mem_pool_t *pool, const char *s, size_t len);
/**
 * Sends a small HTML page (for people following a link from a mail): STATUS, TITLE as <title> and <h1>, BODY_HTML
 * below it. TITLE and BODY_HTML must already be safe HTML (escape user data with api_html_escape). Sent with
 * Cache-Control: no-store and Referrer-Policy: no-referrer, since the page's address carries a signed token.
 */
void api_reply_page(api_req_t *r, int status, const char *title, const char *body_html);

/* --- handlers (one file per resource) --- */
void api_health_live(api_req_t *r);
void api_health_ready(api_req_t *r);
void api_shares_get(api_req_t *r);
void api_shares_post(api_req_t *r);
void api_counts_get(api_req_t *r);
/** Precomputes per-site origin hosts; call once after the config is loaded. */
void api_shares_init(const core_config_t *cfg);
/** True when HOST (core_url_t.host form) is the host of one of r->site's origins. */
bool api_url_host_allowed(api_req_t *r, const char *host);
/** Comments created, by the status they got (process-wide, for /metrics). */
typedef struct st_api_comment_stats_t {
    _Atomic uint64_t approved, pending, spam;
} api_comment_stats_t;
extern api_comment_stats_t api_comment_stats;
void api_comments_list(api_req_t *r);
/**
 * The first page of URL's thread on SITE as GET /api/v1/comments?site=&url= answers it with no other parameter
 * (sort oldest, the default page size, the viewer's pending comments, a fresh form token), handed to CB as buffers
 * of the request's pool instead of sent; CB gets NULL, 0 when there is no page to give (a bad or foreign URL, Redis
 * down). For the thread iframe's HTML, so the widget paints comments without asking for them. Sets r->site.
 */
/**
 * A stored comment (STORED, parsed) as its author may see it: site, url, id, parent, created, edited (null if
 * never), status (spam reads "pending", as everywhere: its author is never told), author, email, website, body,
 * html, likes, dislikes; never the internal hashes. NULL on allocation failure. For the account export and "manage
 * my comments".
 */
json_t *api_comment_for_author(h2o_iovec_t site, h2o_iovec_t url, json_t *stored);
typedef void (*api_first_page_cb)(api_req_t *r, const h2o_iovec_t *bufs, size_t n, void *data);
void api_comments_first_page(api_req_t *r, const core_config_site_t *site, h2o_iovec_t url, api_first_page_cb cb,
                             void *data);
void api_comments_create(api_req_t *r);
void api_comments_preview(api_req_t *r);
void api_comments_vote(api_req_t *r);
void api_comments_edit(api_req_t *r);
void api_comments_delete(api_req_t *r);
void api_comments_get(api_req_t *r);
void api_comments_feed(api_req_t *r);
/** The keyed hash of a lower-cased e-mail used for bans and approvals (never published). */
h2o_iovec_t api_email_hash(api_req_t *r, const char *email, size_t len);
/** Trims a comment's BODY (*LEN bytes, both updated), checks its length (1-10,000 characters) and sets *HTML to its
 * sanitised form (pool); replies 422 field "body" and returns -1 when it is empty or too long. */
int api_comment_html_or_reply(api_req_t *r, const char **body, size_t *len, h2o_iovec_t *html);
/** Reads the admin token from the environment (admin_token_env); call once at start-up. */
void api_admin_init(const core_config_t *cfg);
void api_admin_list(api_req_t *r);
void api_admin_act(api_req_t *r);
void api_admin_thread(api_req_t *r);
void api_admin_ban(api_req_t *r);
void api_admin_dead_list(api_req_t *r);
void api_admin_dead_retry(api_req_t *r);
void api_admin_edit(api_req_t *r);
void api_admin_bulk(api_req_t *r);
void api_admin_search(api_req_t *r);
void api_admin_unban(api_req_t *r);
void api_avatar_get(api_req_t *r);
void api_moderate_show(api_req_t *r);
/* --- api_notify.c: reply notifications --- */

/** Called once when an api_notify_* call has finished queueing (or found nothing to queue, or logged a failure). */
typedef void (*api_notify_done_cb)(api_req_t *r, void *data);

/**
 * Asks the author of comment ID (just stored in THREAD with `notify: true`, stored JSON COMMENT, not spam) to
 * confirm by mail that they want replies: a signed "subscribe" link (7 days) to ${public_url}/subscribe. Nobody
 * is subscribed before following it, so no one can subscribe someone else. COMMENT is only read during the call.
 * Returns 0 and calls DONE exactly once, never synchronously, once the mail is in the outbox (a failure to queue
 * it is logged, not reported); returns a negative CORE_ERR_* and never calls DONE when nothing was started (mail
 * is off, the comment is spam or asked for nothing, the message cannot be rendered, the store is unavailable).
 */
int api_notify_subscribe(api_req_t *r, const store_share_ref_t *thread, json_t *comment, api_notify_done_cb done,
                         void *data);

/**
 * Tells the parent's author about APPROVED_COMMENT (the stored JSON of a reply in THREAD that just became visible:
 * created approved, or approved by a moderator), when the parent is approved, its author confirmed `notify` and
 * has another e-mail than the reply's. Reads the parent (one round trip), then queues the mail with a signed
 * one-click unsubscribe link (1 year, List-Unsubscribe and List-Unsubscribe-Post headers). APPROVED_COMMENT is
 * only read during the call. Same return and callback contract as api_notify_subscribe; DONE also comes when the
 * parent turns out not to want a mail. THREAD's strings must live as long as the request.
 */
int api_notify_reply(api_req_t *r, const store_share_ref_t *thread, json_t *approved_comment, api_notify_done_cb done,
                     void *data);

void api_notify_subscribe_show(api_req_t *r);
void api_notify_subscribe_act(api_req_t *r);
void api_notify_unsubscribe_show(api_req_t *r);
void api_notify_unsubscribe_act(api_req_t *r);
void api_moderate_act(api_req_t *r);

/* --- api_accounts.c: accounts and sessions (README "Accounts") --- */

/** The account behind a session token; strings in the request's pool. */
typedef struct st_api_user_t {
    h2o_iovec_t id;      /**< STORE_USER_ID_LEN hex digits */
    h2o_iovec_t session; /**< SHA-256 (hex) of the token's secret part: the session's key */
    h2o_iovec_t name;
    h2o_iovec_t email;
    uint64_t created_ms;
    bool admin; /**< the e-mail is one of accounts.admin_emails (and verified, as every session's account is) */
} api_user_t;

/** ERR is 0 or CORE_ERR_UNAVAILABLE; USER is NULL when the token is unknown, expired or its account unverified. */
typedef void (*api_user_cb)(api_req_t *r, int err, const api_user_t *user, void *data);
/** Sets *TOKEN to the request's `Authorization: Bearer` value; false when there is none. */
bool api_bearer(api_req_t *r, h2o_iovec_t *token);
/**
 * Resolves the request's bearer session token (sliding its idle timeout). Returns 0 and calls CB later, or
 * CORE_ERR_UNAUTHORIZED when there is no bearer or it is not shaped like a session token (CB not called), or
 * CORE_ERR_UNAVAILABLE.
 */
int api_user_resolve(api_req_t *r, api_user_cb cb, void *data);
/** The plain e-mail check comments and accounts share (api_comments.c). */
bool api_is_email(const char *s, size_t len);
void api_accounts_register(api_req_t *r);
void api_accounts_verify(api_req_t *r);
void api_accounts_resend(api_req_t *r);
void api_accounts_login(api_req_t *r);
void api_accounts_logout(api_req_t *r);
void api_accounts_me(api_req_t *r);
void api_accounts_sessions(api_req_t *r);
void api_accounts_session_delete(api_req_t *r);
void api_accounts_password_change(api_req_t *r);
void api_accounts_forgot(api_req_t *r);
void api_accounts_password_reset(api_req_t *r);
void api_accounts_export(api_req_t *r);
void api_accounts_delete(api_req_t *r);

/* --- api_privacy.c: "manage my comments" for guest commenters, by a mail link (README "What Parley stores") --- */
void api_privacy_request(api_req_t *r);
void api_privacy_export(api_req_t *r);
void api_privacy_delete(api_req_t *r);

#endif
