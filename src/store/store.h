#ifndef STORE_H
#define STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <h2o.h>
#include "core/core_config.h"
#include "core/core_networks.h"

/* The store: Parley's only door to Redis. One store_t per worker thread, living on that thread's h2o loop, owning
 * one async hiredis connection that reconnects with backoff. Everything above this module sees typed operations
 * (store_share_*, store_limit_*), never hiredis.
 *
 * Call contract (libuv's): an operation that returns a negative CORE_ERR_* never calls its callback; one that
 * returns 0 calls it exactly once, never synchronously -- unless the request it serves is disposed first (the client
 * reset the stream or went away): then the late reply is dropped and the callback is not called. Callbacks get
 * err == 0 or CORE_ERR_UNAVAILABLE (Redis down, timed out, or answered an error). Result memory is allocated from
 * the request's pool. */

typedef struct st_store_t store_t;

/** Where Redis is, resolved from redis.url. */
typedef struct st_store_target_t {
    char *host; /**< TCP host, or NULL for a unix socket */
    uint16_t port;
    char *unix_path; /**< unix socket path, or NULL */
    uint32_t db;
    char *password; /**< from redis.password_env, or NULL */
} store_target_t;

/** Process-wide counters, read by /metrics. */
typedef struct st_store_stats_t {
    _Atomic uint64_t commands;       /**< commands sent */
    _Atomic uint64_t errors;         /**< error replies and lost connections */
    _Atomic uint64_t timeouts;       /**< calls answered 503 because Redis did not reply in time */
    _Atomic uint64_t reconnects;     /**< successful connects after the first */
    _Atomic uint64_t latency_us_sum; /**< sum of per-call latency, for the average */
    _Atomic uint64_t latency_count;
} store_stats_t;
extern store_stats_t store_stats;

/**
 * Parses redis.url (or, when it is "embedded", uses the unix socket SOCK_PATH) into TARGET; the password comes from
 * the environment variable redis.password_env. Returns 0 or CORE_ERR_INVALID with a message in ERRBUF. Strings are
 * malloc'ed; release with store_target_clear.
 */
int store_target_init(store_target_t *target, const core_config_t *cfg, const char *sock_path, char *errbuf,
                      size_t errlen);
void store_target_clear(store_target_t *target);

/** Creates a store on LOOP and starts connecting. TARGET and CFG must outlive it. */
store_t *store_create(h2o_evloop_t *loop, const core_config_t *cfg, const store_target_t *target);
/** True once connected (AUTH, SELECT and script loads queued) and until the connection drops. */
bool store_is_ready(store_t *store);
/** Starts a graceful close: pending commands are flushed, no reconnect follows. */
void store_close(store_t *store);
/** True when the connection is fully closed after store_close (the loop may then exit). */
bool store_is_closed(store_t *store);
/** Frees a closed store. */
void store_destroy(store_t *store);

/* --- health --- */
typedef void (*store_ping_cb)(h2o_req_t *req, int err, void *data);
/** Sends PING; the callback gets 0 on PONG. */
int store_ping(store_t *store, h2o_req_t *req, store_ping_cb cb, void *data);

/* --- share counts --- */
typedef struct st_store_share_counts_t {
    uint64_t networks[CORE_NETWORK__COUNT];
    uint64_t total;
} store_share_counts_t;

/** One URL of a site: the site id and the hex hash of its canonical URL (the key's hash tag). */
typedef struct st_store_share_ref_t {
    h2o_iovec_t site;
    h2o_iovec_t url_hash;
    h2o_iovec_t canonical; /**< stored in the hash so exports can recover the URL */
} store_share_ref_t;

typedef void (*store_share_cb)(h2o_req_t *req, int err, const store_share_counts_t *counts, size_t n, void *data);
/** Reads the counts of N URLs (pipelined, one round trip). counts[i] belongs to refs[i]; absent URLs are zero. */
int store_share_get(store_t *store, h2o_req_t *req, const store_share_ref_t *refs, size_t n, store_share_cb cb,
                    void *data);

/** Like store_share_get but reads only each URL's total (counts[i].networks stay zero); cheaper for listings. */
int store_share_totals(store_t *store, h2o_req_t *req, const store_share_ref_t *refs, size_t n, store_share_cb cb,
                       void *data);

typedef void (*store_share_hit_cb)(h2o_req_t *req, int err, bool counted, const store_share_counts_t *counts,
                                   void *data);
/**
 * Counts one share click of NETWORK by VISITOR unless that visitor was already counted for this URL and network
 * today (SEEN_TTL_S = seconds to the next UTC midnight); atomic in one script. Returns the counts after the click.
 */
int store_share_hit(store_t *store, h2o_req_t *req, const store_share_ref_t *ref, core_network_t network,
                    h2o_iovec_t visitor, uint32_t seen_ttl_s, store_share_hit_cb cb, void *data);

/* --- rate limits --- */
typedef void (*store_limit_cb)(h2o_req_t *req, int err, bool allowed, uint32_t retry_after_s, void *data);
/** Counts one request of class NAME from client KEY against LIMIT per WINDOW_S seconds. */
int store_limit_hit(store_t *store, h2o_req_t *req, const char *name, h2o_iovec_t client, uint32_t limit,
                    uint32_t window_s, store_limit_cb cb, void *data);

/* --- comments --- */

/** One rate limit to count in a batch (see store_comment_precheck). */
typedef struct st_store_limit_spec_t {
    const char *name;   /**< class name, part of the key */
    h2o_iovec_t client; /**< who is counted */
    uint32_t limit;     /**< allowed per window; 0 = not counted */
    uint32_t window_s;
} store_limit_spec_t;

/** What must be known before a comment is created; read in one pipelined round trip. */
typedef struct st_store_precheck_t {
    int limited;            /**< index of the first limit exceeded, or -1 */
    uint32_t retry_after_s; /**< for that limit */
    bool banned;            /**< the e-mail or the visitor is banned on the site */
    bool email_known;       /**< the e-mail has an approved comment on the site */
    bool locked;            /**< the thread is locked */
    uint64_t id;            /**< the id allocated for the new comment */
    h2o_iovec_t parent;     /**< the parent's JSON (pool copy), or {NULL,0} when absent or not asked */
} store_precheck_t;

typedef void (*store_precheck_cb)(h2o_req_t *req, int err, const store_precheck_t *res, void *data);
/**
 * Counts LIMITS, checks bans of EMAIL_HASH and VISITOR on the site, whether EMAIL_HASH is known (approved before),
 * whether the thread is locked, reads PARENT (0 = none) and allocates the next comment id -- one round trip.
 * Ids burnt by a refused comment leave harmless gaps.
 */
int store_comment_precheck(store_t *store, h2o_req_t *req, const store_share_ref_t *thread,
                           const store_limit_spec_t *limits, size_t num_limits, h2o_iovec_t email_hash,
                           h2o_iovec_t visitor, uint64_t parent, store_precheck_cb cb, void *data);

typedef enum {
    STORE_CREATE_OK,
    STORE_CREATE_LOCKED,    /**< the thread was locked meanwhile */
    STORE_CREATE_DUPLICATE, /**< same e-mail and body already in the thread */
    STORE_CREATE_PARENT     /**< the parent vanished or is no longer approved */
} store_create_result_t;

/** PUBLIC_JSON (pool copy) is the comment's public form without its closing brace (see lua/prelude.lua). */
typedef void (*store_create_cb)(h2o_req_t *req, int err, store_create_result_t result, h2o_iovec_t public_json,
                                void *data);
/**
 * Stores comment ID (JSON, already complete) in THREAD with STATUS and indexes it (one Lua script), then adds it
 * to the site's moderation queue for STATUS (a second, pipelined command: the queue lives in the site's slot).
 */
int store_comment_create(store_t *store, h2o_req_t *req, const store_share_ref_t *thread, uint64_t id, uint64_t parent,
                         const char *status, h2o_iovec_t json, h2o_iovec_t dupe_hash, h2o_iovec_t title,
                         uint64_t created_ms, store_create_cb cb, void *data);

/** One page of a thread (see lua/comments_page.lua). All strings are pool copies. */
typedef struct st_store_page_t {
    bool exists;     /**< the thread has been created */
    h2o_iovec_t url; /**< canonical URL as stored */
    h2o_iovec_t title;
    uint64_t count; /**< approved comments */
    bool locked;
    h2o_iovec_t next;     /**< cursor of the next page, {NULL,0} when this is the last */
    h2o_iovec_t ver;      /**< the thread's version when read ({NULL,0} for a thread never written) */
    uint64_t *ids;        /**< the page's comments: roots in order, then replies (parents first), then pending */
    uint64_t *parents;    /**< parent of ids[i] (0 = top level) */
    h2o_iovec_t *publics; /**< public JSON of ids[i], without its closing brace (see lua/prelude.lua) */
    size_t num_comments;
} store_page_t;

typedef void (*store_page_cb)(h2o_req_t *req, int err, const store_page_t *page, void *data);
/** Reads a page: SORT "oldest"|"newest"|"top", CURSOR ("" = first page), LIMIT roots, VIEWER ("" = nobody). */
int store_comments_page(store_t *store, h2o_req_t *req, const store_share_ref_t *thread, const char *sort,
                        h2o_iovec_t cursor, uint32_t limit, h2o_iovec_t viewer, store_page_cb cb, void *data);

/** Approved comment counts of N threads (HGET count), for /counts. counts[i] is refs[i]'s. */
typedef void (*store_counts_cb)(h2o_req_t *req, int err, const uint64_t *counts, size_t n, void *data);
int store_comment_counts(store_t *store, h2o_req_t *req, const store_share_ref_t *refs, size_t n, store_counts_cb cb,
                         void *data);

/* --- generic results: a Redis reply copied into the request's pool --- */
typedef enum { STORE_NIL, STORE_INT, STORE_STR, STORE_ARR, STORE_ERR } store_value_type_t;
typedef struct st_store_value_t {
    store_value_type_t type;
    long long integer;
    h2o_iovec_t str;                /**< STR and ERR */
    struct st_store_value_t *items; /**< ARR */
    size_t num_items;
} store_value_t;
/** Callback of the operations below: VALUES[i] is the reply to the operation's i-th command. */
typedef void (*store_values_cb)(h2o_req_t *req, int err, const store_value_t *values, size_t n, void *data);

/** Thread keys used by the operations below. */
typedef enum {
    STORE_UPDATE_APPROVE,
    STORE_UPDATE_SPAM,
    STORE_UPDATE_PENDING,
    STORE_UPDATE_DELETE,
    STORE_UPDATE_EDIT
} store_update_action_t;

/**
 * Runs lua/comment_update.lua on comment ID of THREAD. EDIT_HASH non-empty means an author acting with a token:
 * it must match and the comment must be created at or after WINDOW_START_MS. For EDIT, HTML/BODY/NEW_STATUS are the
 * new text and the status moderation gives it. values[0] = {result, old status, new status, e-mail hash, JSON,
 * public JSON without its closing brace}.
 */
int store_comment_update(store_t *store, h2o_req_t *req, const store_share_ref_t *thread, uint64_t id,
                         store_update_action_t action, h2o_iovec_t edit_hash, uint64_t window_start_ms,
                         h2o_iovec_t html, h2o_iovec_t body, const char *new_status, store_values_cb cb, void *data);
/**
 * Moves queue member "url-hash:id" of SITE from OLD_STATUS's moderation queue to NEW_STATUS's (score = created), and
 * when APPROVE_EHASH is non-empty records that e-mail hash as approved (releases it from "first" moderation).
 */
int store_modq_move(store_t *store, h2o_req_t *req, h2o_iovec_t site, h2o_iovec_t member, const char *old_status,
                    const char *new_status, uint64_t created_ms, h2o_iovec_t approve_ehash, store_values_cb cb,
                    void *data);
/** values[0] = {'ok'|'missing', likes, dislikes}. VALUE is 1, -1 or 0. */
int store_comment_vote(store_t *store, h2o_req_t *req, const store_share_ref_t *thread, uint64_t id, h2o_iovec_t voter,
                       int value, store_values_cb cb, void *data);
/** values[0] = {public JSON without its closing brace or '', cursor}. */
int store_comment_locate(store_t *store, h2o_req_t *req, const store_share_ref_t *thread, uint64_t id,
                         uint32_t page_size, store_values_cb cb, void *data);
/** values[0] = {thread fields (flat), JSON of the newest N visible comments, newest first}. */
int store_comments_recent(store_t *store, h2o_req_t *req, const store_share_ref_t *thread, uint32_t n,
                          store_values_cb cb, void *data);
/** values[0] = the thread's version (STR, or NIL if never written), values[1] = 1 if VIEWER has pending comments. */
int store_thread_version(store_t *store, h2o_req_t *req, const store_share_ref_t *thread, h2o_iovec_t viewer,
                         store_values_cb cb, void *data);
/** Locks (or unlocks) THREAD. values[0] = HSET's reply. */
int store_thread_lock(store_t *store, h2o_req_t *req, const store_share_ref_t *thread, bool locked, store_values_cb cb,
                      void *data);
/** Bans KIND ("e" e-mail hash, "v" visitor) HASH on SITE for SECONDS. */
int store_ban(store_t *store, h2o_req_t *req, h2o_iovec_t site, const char *kind, h2o_iovec_t hash, uint32_t seconds,
              store_values_cb cb, void *data);
/**
 * Reads up to LIMIT entries of SITE's STATUS queue, newest first, older than BEFORE_MS (0 = from the newest), then
 * (second round trip, done inside) each entry's comment JSON and thread URL. values = for each entry i:
 * values[3i] = member "url-hash:id", values[3i+1] = comment JSON (or NIL), values[3i+2] = thread URL; and a last
 * value holding the score of the last entry (the next cursor) or NIL.
 */
int store_modq_list(store_t *store, h2o_req_t *req, h2o_iovec_t site, const char *status, uint64_t before_ms,
                    uint32_t limit, store_values_cb cb, void *data);

/* --- the embedded Redis (redis.url: embedded) --- */
#include <sys/types.h>

/**
 * Starts a private redis-server under DATA_DIR (created 0700 if missing): unix socket DATA_DIR/redis.sock (0700),
 * no TCP port, appendonly yes, appendfsync always, log in DATA_DIR/redis.log. It dies with parleyd (PDEATHSIG).
 * Waits up to 15 s until it answers PING (AOF loading included). On success returns 0, the child's pid and the
 * absolute socket path in SOCK_PATH; else CORE_ERR_UNAVAILABLE and a message in ERRBUF.
 */
int store_embedded_start(const char *data_dir, char *sock_path, size_t sock_cap, pid_t *pid, char *errbuf,
                         size_t errlen);
/** Stops the embedded Redis: SIGTERM (it finishes its AOF writes), then SIGKILL after 10 s. */
void store_embedded_stop(pid_t pid);

#endif
