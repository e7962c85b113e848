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
    char *host;      /**< TCP host, or NULL for a unix socket */
    uint16_t port;
    char *unix_path; /**< unix socket path, or NULL */
    uint32_t db;
    char *password;  /**< from redis.password_env, or NULL */
} store_target_t;

/** Process-wide counters, read by /metrics. */
typedef struct st_store_stats_t {
    _Atomic uint64_t commands;   /**< commands sent */
    _Atomic uint64_t errors;     /**< error replies and lost connections */
    _Atomic uint64_t timeouts;   /**< calls answered 503 because Redis did not reply in time */
    _Atomic uint64_t reconnects; /**< successful connects after the first */
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
