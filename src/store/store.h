#ifndef STORE_H
#define STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <h2o.h>
#include <jansson.h>
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

/** The most Redis connections a worker may keep (redis.connections). */
#define STORE_MAX_CONNECTIONS 8

/** Where Redis is, resolved from redis.url. */
typedef struct st_store_target_t {
    char *host; /**< TCP host, or NULL for a unix socket */
    uint16_t port;
    char *unix_path; /**< unix socket path, or NULL */
    uint32_t db;
    char *password; /**< from redis.password_env, or NULL */
} store_target_t;

#define STORE_LATENCY_BUCKETS 10

/** Process-wide counters, read by /metrics. */
typedef struct st_store_stats_t {
    _Atomic uint64_t commands;       /**< commands sent */
    _Atomic uint64_t errors;         /**< error replies and lost connections */
    _Atomic uint64_t timeouts;       /**< calls answered 503 because Redis did not reply in time */
    _Atomic uint64_t reconnects;     /**< successful connects after the first */
    _Atomic uint64_t groups;         /**< grouped script calls sent (group commit, store_call_script_grouped) */
    _Atomic uint64_t grouped_calls;  /**< the calls they carried */
    _Atomic uint64_t latency_us_sum; /**< sum of per-call latency, for the average */
    _Atomic uint64_t latency_count;
    _Atomic uint64_t latency_buckets[STORE_LATENCY_BUCKETS + 1]; /**< calls per bucket (not cumulative); the last
                                                                      one is above every bound */
} store_stats_t;
/** Upper bounds (microseconds) of the Redis call latency histogram, shown as parley_redis_call_seconds. */
extern const uint64_t store_latency_bounds_us[STORE_LATENCY_BUCKETS];
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

/** One of a comment's rate limits (see store_comment_precheck): counted per visitor, and per SCOPE when given. */
typedef struct st_store_limit_spec_t {
    const char *name;  /**< class name, part of the key */
    h2o_iovec_t scope; /**< what else the counter is per (a thread's url-hash), or empty */
    uint32_t limit;    /**< allowed per window; 0 = not counted */
    uint32_t window_s;
} store_limit_spec_t;

/** The most limits store_comment_precheck counts. */
#define STORE_PRECHECK_MAX_LIMITS 8
/** What must be known before a comment is created; read in one pipelined round trip. */
typedef struct st_store_precheck_t {
    int limited;            /**< index of the first limit exceeded, or -1 */
    uint32_t retry_after_s; /**< for that limit */
    bool banned;            /**< the e-mail or the visitor is banned on the site */
    bool email_known;       /**< the e-mail has an approved comment on the site */
    uint64_t id;            /**< the id allocated for the new comment */
    h2o_iovec_t parent;     /**< the parent's JSON (pool copy), or {NULL,0} when absent or not asked */
} store_precheck_t;

typedef void (*store_precheck_cb)(h2o_req_t *req, int err, const store_precheck_t *res, void *data);
/**
 * Counts LIMITS of VISITOR (in one script call: the counters share the visitor's hash tag, COMMENT_RATE), checks bans
 * of EMAIL_HASH and VISITOR on the site, whether EMAIL_HASH is known (approved before),
 * reads PARENT (0 = none) and allocates the next comment id -- one round trip (the known-address and ban checks and
 * the id are grouped with the worker's other prechecks of the turn: SMISMEMBER, MGET, lua/comment_ids.lua). A
 * locked thread is left to the create script, which checks it anyway (a lock can come in between). Ids burnt by a
 * refused comment leave harmless gaps.
 */
int store_comment_precheck(store_t *store, h2o_req_t *req, const store_share_ref_t *thread,
                           const store_limit_spec_t *limits, size_t num_limits, h2o_iovec_t email_hash,
                           h2o_iovec_t visitor, uint64_t parent, store_precheck_cb cb, void *data);

typedef enum {
    STORE_CREATE_OK,
    STORE_CREATE_LOCKED,    /**< the thread is locked */
    STORE_CREATE_DUPLICATE, /**< same e-mail and body already in the thread */
    STORE_CREATE_PARENT     /**< the parent vanished or is no longer approved */
} store_create_result_t;

/** PUBLIC_JSON (pool copy) is the comment's public form without its closing brace (see lua/prelude.lua). */
typedef void (*store_create_cb)(h2o_req_t *req, int err, store_create_result_t result, h2o_iovec_t public_json,
                                void *data);
/**
 * Stores comment ID (JSON, already complete) in THREAD with STATUS and indexes it (one Lua script, grouped with the
 * worker's other creates in THREAD in the same event-loop turn), then adds it to the site's moderation queue for
 * STATUS (a second, pipelined script, grouped per queue: the queue lives in the site's slot), to
 * the EMAIL_COMMENTS of EMAIL_HASH (the comment's `ehash`; a third, skipped when empty) and, when USER (an account
 * id) is not empty, to that account's USER_COMMENTS (a fourth). PUBLIC_JSON is the new comment's public form without
 * its closing brace (what lua/prelude.lua's public_json would render for JSON); VISITOR the author's visitor hash
 * (pending comments are counted per visitor).
 */
int store_comment_create(store_t *store, h2o_req_t *req, const store_share_ref_t *thread, uint64_t id, uint64_t parent,
                         const char *status, h2o_iovec_t json, h2o_iovec_t dupe_hash, h2o_iovec_t title,
                         uint64_t created_ms, h2o_iovec_t email_hash, h2o_iovec_t user, h2o_iovec_t public_json,
                         h2o_iovec_t visitor, store_create_cb cb, void *data);

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

/** The stored (private) JSON of one comment and its thread's URL; {NULL,0} when absent. Pool copies. */
typedef void (*store_comment_read_cb)(h2o_req_t *req, int err, h2o_iovec_t json, h2o_iovec_t url, void *data);
int store_comment_read(store_t *store, h2o_req_t *req, const store_share_ref_t *thread, uint64_t id,
                       store_comment_read_cb cb, void *data);

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
    STORE_UPDATE_EDIT,
    STORE_UPDATE_ANONYMIZE /**< the author's account is gone: drop name, address, website and account link */
} store_update_action_t;

/**
 * Runs lua/comment_update.lua on comment ID of THREAD. EDIT_HASH non-empty means an author acting with a token:
 * it must match and the comment must be created at or after WINDOW_START_MS. For EDIT, HTML/BODY/NEW_STATUS are the
 * new text and the status moderation gives it (NULL: the status stays, as for a moderator's edit). values[0] = {result,
 * old status, new status, e-mail hash, JSON, public JSON without its closing brace}.
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
/**
 * Runs lua/comment_notify.lua: CONFIRMED true sets the comment's `notify_confirmed` flag (only when its author
 * posted with `notify: true`), false clears it. values[0] = {result ('ok'|'same'|'missing'|'denied'), comment JSON
 * after ('' when missing)}. The public form and the thread's version do not change.
 */
int store_comment_notify(store_t *store, h2o_req_t *req, const store_share_ref_t *thread, uint64_t id, bool confirmed,
                         store_values_cb cb, void *data);
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
/** Bans KIND ("e" e-mail hash, "v" visitor) HASH on SITE for SECONDS; SECONDS 0 lifts that ban (values[0] = 1 when
 * there was one, else 0). */
int store_ban(store_t *store, h2o_req_t *req, h2o_iovec_t site, const char *kind, h2o_iovec_t hash, uint32_t seconds,
              store_values_cb cb, void *data);
/**
 * Reads, in one round trip, up to LIMIT entries older than BEFORE_MS (0 = from the newest), newest first, of each of
 * the moderation queues of the N_SITES SITES and N_STATUSES STATUSES. values[i * n_statuses + j] is the queue of
 * sites[i] and statuses[j]: an array member ("url-hash:id"), score (created ms), member, score, ...
 */
int store_modq_scan(store_t *store, h2o_req_t *req, const h2o_iovec_t *sites, size_t n_sites,
                    const char *const *statuses, size_t n_statuses, uint64_t before_ms, uint32_t limit,
                    store_values_cb cb, void *data);
/** One comment to read by store_modq_fetch: its site and its queue member "url-hash:id". */
typedef struct st_store_modq_item_t {
    h2o_iovec_t site;
    h2o_iovec_t member;
} store_modq_item_t;
/**
 * Reads the N ITEMS in one round trip: values[2i] = the stored JSON of items[i]'s comment (NIL when it is gone),
 * values[2i+1] = its thread's {url, title, locked} (NILs when absent).
 */
int store_modq_fetch(store_t *store, h2o_req_t *req, const store_modq_item_t *items, size_t n, store_values_cb cb,
                     void *data);

/** The decimal number at the start of S (LEN bytes; Redis integers stored as strings); stops at the first
 * non-digit, at most 20 digits. */
uint64_t store_parse_u64(const char *s, size_t len);

/* --- accounts (store_user.c): USER, USER_NAMES, USER_EMAILS, USER_SESSIONS and LOGIN_FAILS share the hash tag
 * {acct}. Tokens never reach Redis, only their SHA-256 (hex); every token carries the account id in clear in front
 * of its secret part, so that each script knows all its keys up front. --- */

#define STORE_USER_ID_LEN 16 /**< an account id: 16 lower-case hex digits (64 random bits) */

/** values[0] = USER_NAMES entry of NAME_LC, values[1] = USER_EMAILS entry of EMAIL_LC ("id|exp", or NIL; an empty
 * name or e-mail reads NIL). Entries of expired unverified accounts come back as they are: see store_user_entry. */
int store_user_find(store_t *store, h2o_req_t *req, h2o_iovec_t name_lc, h2o_iovec_t email_lc, store_values_cb cb,
                    void *data);
/** True when index entry V is live at NOW_MS: copies its id into ID (NUL-terminated) and sets *EXP (0 = verified,
 * else when the unverified account ends). */
bool store_user_entry(const store_value_t *v, uint64_t now_ms, char id[STORE_USER_ID_LEN + 1], uint64_t *exp);

/** A registration, for store_user_register. All strings in the request's pool. */
typedef struct st_store_user_new_t {
    h2o_iovec_t id, name, name_lc, email, email_lc, phc, verify_hash;
    uint64_t now_ms, verify_exp_ms, unverified_ttl_ms;
} store_user_new_t;
/** Runs lua/user_register.lua. values[0] = {'ok'} | {'email', id, exp} | {'name'} | {'retry'}. */
int store_user_register(store_t *store, h2o_req_t *req, const store_user_new_t *u, store_values_cb cb, void *data);
/** values[0] = USER fields name, email, phc, verified, created (NILs when ID is unknown); values[1] = the failed
 * logins (n, until) of account ID, or when ID is empty of the login name whose keyed hash is LOGIN_HASH. */
int store_user_read(store_t *store, h2o_req_t *req, h2o_iovec_t id, h2o_iovec_t login_hash, store_values_cb cb,
                    void *data);
/**
 * Runs lua/user_token.lua for account ID (KIND "verify" or "reset", HASH, EXP_MS) and, when MSG is not empty,
 * queues that mail in the same pipeline (store_outbox_add's fields). values[0] = 'ok' | 'missing' | 'verified',
 * values[1] = the outbox entry id.
 */
int store_user_token(store_t *store, h2o_req_t *req, h2o_iovec_t id, const char *kind, h2o_iovec_t hash,
                     uint64_t exp_ms, const char *mail_from, const char *rcpt, h2o_iovec_t msg, store_values_cb cb,
                     void *data);
/** Runs lua/user_verify.lua. values[0] = 'ok' | 'invalid'. */
int store_user_verify(store_t *store, h2o_req_t *req, h2o_iovec_t id, h2o_iovec_t hash, uint64_t now_ms,
                      store_values_cb cb, void *data);
/** Runs lua/login_fail.lua for account ID (or login name LOGIN_HASH, as store_user_read). values[0] = {failures,
 * until ms}. */
int store_user_fail(store_t *store, h2o_req_t *req, h2o_iovec_t id, h2o_iovec_t login_hash, uint64_t now_ms,
                    uint32_t free_failures, uint64_t max_delay_ms, uint64_t window_ms, store_values_cb cb, void *data);
/** Runs lua/user_password.lua: MODE "reset" (ARG = reset token hash), "change" (ARG = the session to keep,
 * OLD_PHC = the hash the current password matched) or "rehash" (PHC replaces OLD_PHC if still current). values[0] =
 * 'ok' | 'invalid' | 'changed' | 'missing'. */
int store_user_password(store_t *store, h2o_req_t *req, h2o_iovec_t id, const char *mode, h2o_iovec_t arg,
                        h2o_iovec_t phc, h2o_iovec_t old_phc, uint64_t now_ms, store_values_cb cb, void *data);
/** Runs lua/session_create.lua. values[0] = 'ok' | 'missing'. */
int store_session_create(store_t *store, h2o_req_t *req, h2o_iovec_t id, h2o_iovec_t hash, h2o_iovec_t user_agent,
                         uint64_t now_ms, uint64_t idle_ms, uint64_t max_ms, uint32_t max_sessions, store_values_cb cb,
                         void *data);
/** Runs lua/session_touch.lua. values[0] = {'none'} | {'ok', name, email, account created, session created}. */
int store_session_touch(store_t *store, h2o_req_t *req, h2o_iovec_t id, h2o_iovec_t hash, uint64_t now_ms,
                        uint64_t idle_ms, uint64_t max_ms, uint64_t touch_ms, store_values_cb cb, void *data);
/** Runs lua/session_end.lua (MODE "one" | "id" | "others" | "all", ARG as documented there). values[0] = count. */
int store_session_end(store_t *store, h2o_req_t *req, h2o_iovec_t id, const char *mode, h2o_iovec_t arg,
                      store_values_cb cb, void *data);
/** values[0] = HGETALL of the account's sessions (field, "created|seen|agent", ...). */
int store_session_list(store_t *store, h2o_req_t *req, h2o_iovec_t id, store_values_cb cb, void *data);

/**
 * The comments of account ID (at most 10,000), in two round trips: values = for each entry i, values[3i] = the entry
 * "site:url-hash:id", values[3i+1] = the comment's stored JSON (NIL when it is gone), values[3i+2] = its thread's
 * URL.
 */
int store_user_comments(store_t *store, h2o_req_t *req, h2o_iovec_t id, store_values_cb cb, void *data);
/** Runs lua/user_delete.lua: removes account ID (NAME_LC and EMAIL_LC are its index entries) with its sessions,
 * failed logins and comment list. values[0] = 1 when it existed. */
int store_user_delete(store_t *store, h2o_req_t *req, h2o_iovec_t id, h2o_iovec_t name_lc, h2o_iovec_t email_lc,
                      store_values_cb cb, void *data);

/* --- "manage my comments" (store_privacy.c): EMAIL_COMMENTS, PRIVACY_TOKEN --- */

/**
 * One round trip before a manage-my-comments mail: counts one request against the per-address mail limit
 * (RATE "privacy-mail:<EMAIL_HASH>", one hour) and reads how many comments EMAIL_HASH has in its index.
 * values[0] = {requests this hour, ms left in the window}, values[1] = SCARD of EMAIL_COMMENTS (an integer); the
 * caller compares the count with its limit.
 */
int store_privacy_check(store_t *store, h2o_req_t *req, h2o_iovec_t email_hash, store_values_cb cb, void *data);
/**
 * Stores token TOKEN_HASH (SHA-256 hex of the token) for EMAIL_HASH and SITE ("" = every site), created NOW_MS,
 * expiring after TTL_MS, and, when MSG is not empty, queues that mail in the same pipeline (store_outbox_add's
 * fields). values[0] = HSET's reply, values[1] = PEXPIRE's, values[2] = the outbox entry id when a mail was queued.
 */
int store_privacy_token_put(store_t *store, h2o_req_t *req, h2o_iovec_t token_hash, h2o_iovec_t email_hash,
                            h2o_iovec_t site, uint64_t now_ms, uint64_t ttl_ms, const char *mail_from, const char *rcpt,
                            h2o_iovec_t msg, store_values_cb cb, void *data);
/**
 * Runs lua/privacy_token.lua: reads token TOKEN_HASH, and with TAKE deletes it in the same step. values[0] =
 * {ehash, site, ms left} or an empty array when there is no live token.
 */
int store_privacy_token_get(store_t *store, h2o_req_t *req, h2o_iovec_t token_hash, bool take, store_values_cb cb,
                            void *data);
/** The comments in EMAIL_HASH's index, as store_user_comments gives them (entry, stored JSON or NIL, thread URL). */
int store_privacy_comments(store_t *store, h2o_req_t *req, h2o_iovec_t email_hash, store_values_cb cb, void *data);
/**
 * After a deletion: removes ENTRIES ("site:url-hash:id") from EMAIL_HASH's index and EMAIL_HASH from the
 * APPROVED_EMAILS of each of SITES (so a later comment is new to "first" moderation), in one pipeline. Bans stay.
 */
int store_privacy_forget(store_t *store, h2o_req_t *req, h2o_iovec_t email_hash, const h2o_iovec_t *entries,
                         size_t num_entries, const h2o_iovec_t *sites, size_t num_sites, store_values_cb cb,
                         void *data);

/* --- the mail outbox (keys OUTBOX, OUTBOX_DELAY, OUTBOX_DEAD in store_keys.def) --- */

/** Approximate cap of the outbox and dead-letter streams (XADD MAXLEN ~): a bound on Redis memory if the relay is
 * down for a long time while mails keep coming. Beyond it the oldest entries are trimmed, pending or not. */
#define STORE_OUTBOX_MAXLEN 100000

/**
 * Worker side: appends one mail to the outbox stream (XADD MAXLEN ~ STORE_OUTBOX_MAXLEN) with the fields from
 * (ENVELOPE_FROM, bare addr-spec or "" for the null reverse-path), rcpt (RCPT, bare addr-spec), msg (MESSAGE, the
 * output of mail_message_render), attempts = 0 and first = now in ms. The mailer thread sends it later; once this
 * call's callback got err == 0 the mail is in Redis and survives a restart (as durably as Redis persists it).
 * values[0] is the new entry's id (STR). Strings are borrowed for the duration of the call (they are copied
 * into the command buffer at once). Same call contract as every other operation (see the top of this file).
 */
int store_outbox_add(store_t *store, h2o_req_t *req, const char *envelope_from, const char *rcpt, h2o_iovec_t message,
                     store_values_cb cb, void *data);

/**
 * Reads up to LIMIT dead letters, newest first, older than BEFORE (an entry id; "" = from the newest): values[0] is
 * XREVRANGE's reply, an array of [id, [field, value, ...]] with the fields of OUTBOX_DEAD.
 */
int store_outbox_dead_list(store_t *store, h2o_req_t *req, h2o_iovec_t before, uint32_t limit, store_values_cb cb,
                           void *data);
/** Runs lua/outbox_revive.lua: values[0] is the new outbox entry id, or "" when ID is no dead letter. */
int store_outbox_revive(store_t *store, h2o_req_t *req, h2o_iovec_t id, store_values_cb cb, void *data);

/* --- synchronous access for the mailer thread (store_sync.c) ---
 * A blocking hiredis connection of its own, separate from the workers' async ones, because the mailer thread has
 * no event loop and spends its time in blocking calls (XREADGROUP BLOCK, SMTP). Not thread-safe: one store_sync_t
 * belongs to one thread. Every call that talks to Redis reconnects first when the connection was lost, with
 * backoff (100 ms doubling to 5 s); while the backoff runs, calls fail at once with CORE_ERR_UNAVAILABLE instead
 * of sleeping, so the caller stays in charge of its own stop flag. */

typedef struct st_store_sync_t store_sync_t;

/** One mail read from the outbox. All strings are malloc'ed and NUL-terminated; release with store_sync_mail_free.
 * Missing fields of a hand-written entry read as "" / 0. */
typedef struct st_store_mail_t {
    char *id;            /**< stream entry id, e.g. "1700000000000-0" */
    char *from;          /**< envelope sender (bare addr-spec, may be "") */
    char *rcpt;          /**< envelope recipient (bare addr-spec) */
    char *msg;           /**< the rendered message, MSG_LEN bytes */
    size_t msg_len;      /**< length of msg without its NUL */
    uint32_t attempts;   /**< failed attempts before this one */
    uint64_t first_ms;   /**< when the mail was first enqueued (ms since the epoch; 0 if unknown) */
    uint32_t deliveries; /**< times the group has handed this entry out, this time included (0 if unknown): a
                              mail handed out again and again without an outcome keeps crashing its sender */
} store_mail_t;

/** Frees M's strings and zeroes it (M itself is the caller's). Safe on a zeroed or already freed store_mail_t. */
void store_sync_mail_free(store_mail_t *m);

/**
 * Creates a synchronous store for TARGET (must outlive it) with key prefix PREFIX (copied) and tries to connect
 * once; a failed first connect is not an error (the next call retries). store_script_init must have run. Never
 * returns NULL (out-of-memory aborts). Close with store_sync_close.
 */
store_sync_t *store_sync_open(const store_target_t *t, const char *prefix);

/**
 * Reads the next mail to send for CONSUMER (a name stable across restarts of this process, e.g. the host name) of
 * the consumer group "mailer" (created with MKSTREAM from id 0 when missing, so mails queued before the first
 * mailer ran are sent too). In order:
 *   1. moves retries that are due from OUTBOX_DELAY back into OUTBOX (lua/outbox_promote.lua);
 *   2. returns CONSUMER's own oldest pending entry (XREADGROUP ... 0): a mail read before a crash or restart, or
 *      whose acknowledgement was lost -- it is sent again, hence at-least-once;
 *   3. claims one entry idle for more than 60 s from any consumer (XAUTOCLAIM; a mailer that died for good);
 *   4. waits up to BLOCK_MS for a new entry (XREADGROUP ... BLOCK BLOCK_MS COUNT 1 ... >).
 * Entries whose data was deleted while pending are acknowledged and skipped.
 * Returns 1 and fills OUT (caller frees with store_sync_mail_free), 0 when nothing came within BLOCK_MS (OUT
 * zeroed), or CORE_ERR_UNAVAILABLE when Redis is down or answered an error (OUT zeroed). Blocks for at most
 * about BLOCK_MS plus a few round trips (each bounded by a 5 s socket timeout).
 */
int store_sync_outbox_next(store_sync_t *s, const char *consumer, int block_ms, store_mail_t *out);

/** The mail was accepted by SMTP: deletes its entry (XDEL) then acknowledges it (XACK), pipelined. If the XACK is
 * lost, step 2 of store_sync_outbox_next finds a deleted entry and just acknowledges it. 0 or CORE_ERR_UNAVAILABLE
 * (then the entry stays pending and the mail will be sent again). */
int store_sync_outbox_ack(store_sync_t *s, const store_mail_t *m);

/** A temporary failure: atomically (lua/outbox_retry.lua) puts the entry into OUTBOX_DELAY with attempts + 1 and
 * score DUE_MS, and acknowledges and deletes it in the stream. 0 or CORE_ERR_UNAVAILABLE (the entry stays
 * pending). */
int store_sync_outbox_retry(store_sync_t *s, const store_mail_t *m, uint64_t due_ms);

/** A permanent failure: atomically (lua/outbox_dead.lua) appends the entry with REASON (free text, e.g. the SMTP
 * error; never a secret) and the time to OUTBOX_DEAD, and acknowledges and deletes it in the stream. 0 or
 * CORE_ERR_UNAVAILABLE (the entry stays pending). */
int store_sync_outbox_dead(store_sync_t *s, const store_mail_t *m, const char *reason);

/** Queue sizes in one round trip: PENDING = entries in OUTBOX (new or being sent), DELAYED = mails waiting for a
 * retry, DEAD = entries in OUTBOX_DEAD. 0 or CORE_ERR_UNAVAILABLE (outputs untouched). */
int store_sync_outbox_stats(store_sync_t *s, uint64_t *pending, uint64_t *delayed, uint64_t *dead);

/** Closes the connection and frees S. NULL is fine. */
void store_sync_close(store_sync_t *s);

/* --- retention (store_retention.c, lua/comment_scrub.lua) --- */

/**
 * One sweep over every thread: guest comments created before CUTOFF_MS (0 = none) lose their e-mail, its keyed hash
 * and the visitor hash, and leave the e-mail index (EMAIL_COMMENTS). Until EMAIL_INDEX_DONE is set, the sweep also
 * adds every other comment with an e-mail hash to that index, and sets it at the end. *SCRUBBED counts the comments
 * changed. 0, or CORE_ERR_UNAVAILABLE (Redis down or answered an error; the next sweep goes on where nothing was
 * done yet, since scrubbed comments are skipped and index additions repeat harmlessly).
 */
int store_sync_retention_sweep(store_sync_t *s, uint64_t cutoff_ms, uint64_t *scrubbed);
/**
 * Starts the retention thread (its own store_sync connection): a sweep a minute after the start (or after
 * privacy.sweep_interval_s, if shorter), then every sweep_interval_s. With privacy.retention_s 0 it only fills the
 * e-mail index once. Call after
 * store_script_init, with the signals main.c takes by sigwait already blocked. 0 or CORE_ERR_UNAVAILABLE with a
 * message in ERRBUF. CFG and TARGET must outlive the thread.
 */
int store_retention_start(const core_config_t *cfg, const store_target_t *target, char *errbuf, size_t errlen);
/** Stops and joins the retention thread (within about 100 ms plus a sweep step in progress). Safe when not started. */
void store_retention_stop(void);

/* --- bulk access for the command-line tools, `parleyd import` and `parleyd export` (store_bulk.c) ---
 * A blocking hiredis connection of its own, made for throughput: commands are pipelined in batches, and comments go
 * in through lua/comment_import.lua, which keeps the same indexes as lua/comment_create.lua. Not thread-safe. Every
 * call returns 0, or CORE_ERR_UNAVAILABLE with a message in ERRBUF (Redis down, timed out or answered an error). */

typedef struct st_store_bulk_t store_bulk_t;

/** Connects to TARGET (AUTH and SELECT as the server does; 10 s per command). PREFIX is copied. 0 with *OUT (close
 * with store_bulk_close), or CORE_ERR_UNAVAILABLE. store_script_init must have run. */
int store_bulk_open(const store_target_t *target, const char *prefix, store_bulk_t **out, char *errbuf, size_t errlen);
/** Closes the connection and frees B. NULL is fine. */
void store_bulk_close(store_bulk_t *b);

typedef enum {
    STORE_IMPORT_OK,        /**< stored */
    STORE_IMPORT_EXISTS,    /**< imported before (same source id in the thread): nothing changed */
    STORE_IMPORT_DUPLICATE, /**< the same author and text is in the thread: not stored */
} store_import_result_t;

/** One comment to import. Strings are borrowed for the call; all are NUL-terminated. */
typedef struct st_store_import_t {
    const store_share_ref_t *thread; /**< site, url hash, canonical URL */
    const char *title;               /**< the thread's title, set when this comment creates the thread */
    uint32_t max_depth;              /**< the site's max_depth; 0 keeps any depth (a restore) */
    const char *source;              /**< "<format>:<source id>", unique within the thread */
    const char *parent_source;       /**< the parent's source id; "" = top level */
    uint64_t want_id;                /**< the id to keep when it is free in the thread; 0 = the next one */
    const char *json;                /**< the comment as lua/comment_create.lua stores it (id, parent, depth are set
                                          by the script) */
    size_t json_len;
    const char *dupe_hash;        /**< as api_comments.c computes it; "" = none */
    bool check_dupes;             /**< refuse a comment whose dupe_hash is in the thread already */
    const char *votes;            /**< JSON object voter -> 1 | -1, or "" */
    const char *status;           /**< approved | pending | spam | deleted: the site's moderation queue it joins */
    uint64_t created_ms;          /**< its score in that queue */
    const char *ehash;            /**< approved comments: recorded in APPROVED_EMAILS ("" = none) */
    const char *user;             /**< the account of a logged-in author, listed in its USER_COMMENTS ("" = none) */
    store_import_result_t result; /**< set by store_bulk_import */
    uint64_t id;                  /**< the comment's Parley id (also for EXISTS) */
    bool created_thread;          /**< this comment created the thread */
    bool orphan;                  /**< its parent was never imported: it became a top-level comment */
} store_import_t;

/**
 * Imports ITEMS[0..N) in this order (a parent must come before its replies; the threads may differ): the scripts
 * pipelined in one round trip, then the site-level entries (moderation queue, approved addresses, account lists) in
 * a second. Each comment is atomic and happens at most once per source id, so a run stopped half-way is completed
 * by running it again. Fills each item's result fields.
 */
int store_bulk_import(store_bulk_t *b, store_import_t *items, size_t n, char *errbuf, size_t errlen);

/** Writes thread fields FV (field, value pairs, NFV strings) and, if the thread is new, its canonical url. */
int store_bulk_thread_set(store_bulk_t *b, const store_share_ref_t *thread, const char *const *fv, size_t nfv,
                          char *errbuf, size_t errlen);

/**
 * Restores one account (lua/user_import.lua): USER gets the NFV strings FV (field, value pairs), and the name and
 * e-mail indexes point to ID. *RESULT is "ok", "exists", "conflict" or "expired" (a static string).
 */
int store_bulk_user_import(store_bulk_t *b, const char *id, const char *name_lc, const char *email_lc, uint64_t exp_ms,
                           uint64_t now_ms, const char *const *fv, size_t nfv, const char **result, char *errbuf,
                           size_t errlen);

/** The url hashes of every thread of SITE (SCAN, in no particular order): *HASHES is a malloc'ed array of malloc'ed
 * strings (free each and the array). */
int store_bulk_thread_list(store_bulk_t *b, const char *site, char ***hashes, size_t *n, char *errbuf, size_t errlen);

/**
 * Reads one thread in one round trip: *THREAD = its THREAD hash as a JSON object of strings, *COMMENTS = its stored
 * comments as a JSON array of objects ordered by id (unparsable entries are skipped), *VOTES = its VOTES hash as an
 * object of integers. The caller json_decref's all three. With COMMENTS and VOTES NULL only the THREAD hash is read.
 */
int store_bulk_thread_read(store_bulk_t *b, const char *site, const char *url_hash, json_t **thread, json_t **comments,
                           json_t **votes, char *errbuf, size_t errlen);

/** Every account: a JSON array of objects, each USER hash's fields as strings plus "id", ordered by id. */
int store_bulk_user_list(store_bulk_t *b, json_t **users, char *errbuf, size_t errlen);

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
/** True when the embedded Redis of DATA_DIR answers PING (a parleyd runs on that data): then SOCK_PATH holds its
 * socket, for the command-line tools to use it instead of starting their own. */
int store_embedded_running(const char *data_dir, char *sock_path, size_t sock_cap);

#endif
