#ifndef STORE_INTERNAL_H
#define STORE_INTERNAL_H

/* Private to src/store: the call machinery every typed operation is built on, the script registry and key builder.
 *
 * A call groups one or more pipelined commands serving one request. It is heap-allocated (it may outlive the
 * request) and tied to the request by a guard in the request's pool: when h2o disposes the request (HTTP/2
 * RST_STREAM, disconnect), the guard's dispose hook clears call->req, and replies that arrive later are dropped.
 * A call finishes once: when its last reply arrives, when it times out, or when the connection is lost. */

#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include "store/store.h"

typedef struct st_store_call_t store_call_t;

/** Called for each reply (in command order) while the request is alive and the call not finished. REPLY may be an
 * error reply; return 0 to go on or a CORE_ERR_* to finish the call with that error. */
typedef int (*store_reply_fn)(store_call_t *call, size_t idx, redisReply *reply);
/** Called once when the call finishes, only while the request is alive. */
typedef void (*store_done_fn)(store_call_t *call, int err);

struct st_store_call_t {
    store_t *store;
    struct st_store_link_t *link; /**< the connection its commands go on */
    h2o_req_t *req;               /**< NULL once the request is gone */
    struct st_store_guard_t *guard;
    h2o_timeout_entry_t timeout;
    uint64_t started_us;
    size_t sent;    /**< commands sent */
    size_t pending; /**< replies outstanding */
    int finished;   /**< done delivered (or dropped) */
    int err;        /**< first error seen */
    store_reply_fn on_reply;
    store_done_fn on_done;
    void *result; /**< operation's result, pool memory */
    void *cb;     /**< the caller's callback */
    void *data;   /**< the caller's data */
};

/** Starts a call for REQ (may be NULL for internal calls). Returns NULL when the store is not ready. */
store_call_t *store_call_start(store_t *store, h2o_req_t *req, store_reply_fn on_reply, store_done_fn on_done);
/** Queues one command (binary-safe argv). */
void store_call_command(store_call_t *call, int argc, const char **argv, const size_t *lens);

/* Embedded Lua scripts, one per src/store/lua/<name>.lua. */
typedef enum {
#define STORE_SCRIPTS(X)                                                                                               \
    X(share_hit)                                                                                                       \
    X(limit_hit)                                                                                                       \
    X(comment_create)                                                                                                  \
    X(comments_page)                                                                                                   \
    X(comment_update)                                                                                                  \
    X(comment_vote)                                                                                                    \
    X(comment_locate)                                                                                                  \
    X(comment_notify)                                                                                                  \
    X(comments_recent)                                                                                                 \
    X(outbox_promote)                                                                                                  \
    X(outbox_retry)                                                                                                    \
    X(outbox_dead)                                                                                                     \
    X(outbox_revive)                                                                                                   \
    X(user_register)                                                                                                   \
    X(user_verify)                                                                                                     \
    X(user_token)                                                                                                      \
    X(user_password)                                                                                                   \
    X(user_delete)                                                                                                     \
    X(comment_scrub)                                                                                                   \
    X(privacy_token)                                                                                                   \
    X(login_fail)                                                                                                      \
    X(session_create)                                                                                                  \
    X(session_touch)                                                                                                   \
    X(session_end)                                                                                                     \
    X(comment_import)                                                                                                  \
    X(user_import)                                                                                                     \
    X(comment_ids)
#define X(name) STORE_SCRIPT_##name,
    STORE_SCRIPTS(X)
#undef X
        STORE_SCRIPT__COUNT
} store_script_t;

/** Computes the SHA1 of each embedded script; call once at start-up. */
void store_script_init(void);
/** Queues EVALSHA of SCRIPT with NKEYS keys then args (ARGV holds keys then args); NOSCRIPT is retried once as EVAL. */
void store_call_script(store_call_t *call, store_script_t script, int nkeys, int nargs, const char **argv,
                       const size_t *lens);
/** Queues SCRIPT LOAD for every script on AC (used right after connecting). */
void store_script_load_all(redisAsyncContext *ac);
/** Source and SHA1 (hex) of a script. */
const char *store_script_source(store_script_t script, size_t *len);
const char *store_script_sha(store_script_t script);
/** The most keys plus arguments a script call takes (a programmer error beyond: abort). */
#define STORE_SCRIPT_MAX_ARGS 32
/**
 * Fills A and L (room for 3 + STORE_SCRIPT_MAX_ARGS) with the command that runs SCRIPT: EVALSHA <sha>, or with
 * AS_EVAL, EVAL <source> (what a NOSCRIPT answer is retried with), then NKEYS, then ARGV (NKEYS keys, then NARGS
 * arguments). NK holds the key count's digits. Returns the number of entries. The one place the async calls
 * (store_conn.c), the mailer's connection (store_sync.c) and the tools' pipeline (store_bulk.c) build it.
 */
int store_script_argv(store_script_t script, bool as_eval, int nkeys, int nargs, const char *const *argv,
                      const size_t *lens, const char **a, size_t *l, char nk[12]);
/** The first three entries of store_script_argv alone (EVALSHA/EVAL, sha/source, key count); returns 3. */
int store_script_head(store_script_t script, bool as_eval, int nkeys, const char **a, size_t *l, char nk[12]);

/** The most calls one grouped script call gathers (store_call_script_grouped). */
#define STORE_GROUP_MAX 64
/**
 * Group commit: queues CALL's share of a script call that is sent together with the same script's calls on the same
 * keys made in the same event-loop turn. At the end of the turn (or when STORE_GROUP_MAX calls have joined) one
 * EVALSHA goes out with the NKEYS shared keys followed by each call's KEACH own keys (KEYS[NKEYS + KEACH * (i - 1) + j]
 * for call i), then the NHEAD head arguments of the group's first call, then each call's NEACH arguments, calls in the
 * order they joined; ARGV holds shared keys, head, own keys and arguments (copied here). Own keys must hash to the
 * shared keys' slot (Redis Cluster: one script, one slot). The script answers an array with one element per call, and
 * element i is the i-th call's reply (with the idx this command has in that call, as for store_call_command). An
 * error answer (or a lost connection) goes to every call of the group. The script must treat each call's arguments
 * as if they had come alone: a group is an optimisation, never a meaning.
 */
void store_call_script_grouped(store_call_t *call, store_script_t script, int nkeys, int nhead, int keach, int neach,
                               const char **argv, const size_t *lens);

/** The most hashes a grouped call writes before its script (store_call_script_grouped_hset). */
#define STORE_GROUP_MAX_SETS 2
/**
 * As store_call_script_grouped, and each call also writes one field into each of NSET hashes (NSET <=
 * STORE_GROUP_MAX_SETS), before the script and not through it: after the call's KEACH + NEACH arguments, ARGV holds
 * NSET (field, value) pairs, the j-th for the hash named by shared key SET_KEYS[j] (an index below NKEYS). The group
 * then goes out as one transaction on one link: MULTI, one HSET per hash with every call's field, the script (given
 * the other arguments only), EXEC; the script's answer is shared out as before. The script sees the fields already
 * written and must delete those of the calls it refuses. Large values (a comment's stored record) so reach Redis
 * without being copied into Lua strings and collected by Lua's garbage collector (perf: a tenth of Redis's main
 * thread under a comment flood), and without a command of their own per call. If the script fails (an error
 * answer), the fields are deleted again (best effort); NOSCRIPT retries the whole transaction with EVAL, writing
 * the same fields again.
 */
void store_call_script_grouped_hset(store_call_t *call, store_script_t script, int nkeys, int nhead, int keach,
                                    int neach, int nset, const int *set_keys, const char **argv, const size_t *lens);

/**
 * Group commit for a plain command that takes one key (or none) and then any number of arguments, where a script
 * would only add Lua's cost (copying every argument into a Lua string, building KEYS and ARGV, the collector: perf put
 * the two small precheck and queue scripts at a tenth of Redis's main thread under a comment flood): "NAME <NKEYS
 * shared keys> <each call's NEACH arguments>", calls in the order they joined, sent at the end of the turn as the
 * script groups are. The answer is shared out by EACH: an array of EACH elements per call gives call i its slice
 * (element i when EACH is 1, else an array of EACH elements, valid only while the call's handler runs), as SMISMEMBER
 * (1) and MGET (one per key) answer; with EACH 0 every call gets the whole answer (ZADD's count). Per-call arguments
 * that are keys (MGET) must hash to one slot for Redis Cluster, as a script's keys must.
 */
void store_call_command_grouped(store_call_t *call, const char *name, int nkeys, int neach, int each, const char **argv,
                                const size_t *lens);

/* Keys, from store_keys.def. */
typedef enum {
#define X(name, pattern, type, ttl, meaning) STORE_KEY_##name,
#include "store/store_keys.def"
#undef X
    STORE_KEY__COUNT
} store_key_t;

/** Builds a key (prefix + pattern with its "%" parts filled from PARTS) in POOL. NPARTS must match the pattern. */
h2o_iovec_t store_key_build(h2o_mem_pool_t *pool, const char *prefix, store_key_t key, size_t nparts,
                            const h2o_iovec_t *parts);

/** Reads a bulk-string integer reply into *OUT (NIL = 0). Returns 0, or CORE_ERR_UNAVAILABLE for any other type. */
int store_reply_u64(const redisReply *reply, uint64_t *out);

/** Starts a call whose replies are copied into the pool as store_value_t (up to CAP commands), for CB. */
store_call_t *store_values_start(store_t *store, h2o_req_t *req, size_t cap, store_values_cb cb, void *data);
/** N in decimal, in POOL. */
h2o_iovec_t store_num(h2o_mem_pool_t *pool, unsigned long long n);
/** Queues the XADD of one mail to the outbox on CALL (fields as store_outbox_add documents). */
void store_call_outbox_add(store_call_t *call, const char *envelope_from, const char *rcpt, h2o_iovec_t message);

/**
 * Reads a set of comment references "site:url-hash:id" (USER_COMMENTS, EMAIL_COMMENTS; at most 10,000 entries) and
 * then each comment, in two round trips: values[3i] = the entry, values[3i+1] = the comment's stored JSON (NIL when
 * it is gone), values[3i+2] = its thread's URL.
 */
int store_comment_refs_read(store_t *store, h2o_req_t *req, h2o_iovec_t set_key, store_values_cb cb, void *data);

/** A command of two arguments. */
typedef struct st_store_cmd2_t {
    const char *argv[2];
    size_t lens[2];
} store_cmd2_t;
/** What every new connection to T sends first, in order: AUTH when T has a password, SELECT when its db is not 0.
 * Fills CMDS (DB holds the SELECT's digits) and returns how many (0 to 2). The async connections (store_conn.c), the
 * mailer's (store_sync.c) and the tools' (store_bulk.c) all start so. */
size_t store_target_hello(const store_target_t *t, store_cmd2_t cmds[2], char db[12]);

/** The configured key prefix of a store. */
const char *store_prefix(store_t *store);

#endif
