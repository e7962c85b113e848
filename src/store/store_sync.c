/* The mailer thread's synchronous view of the outbox (see store.h for the contract of each call).
 *
 * Why a second, blocking connection: the mailer has no event loop, sends one mail at a time and waits on SMTP in
 * between, so a plain redisContext with socket timeouts is the simplest correct tool. The workers' async
 * connections never see these commands, and this connection never sees theirs.
 *
 * Reliability rests on the consumer group: an entry read with XREADGROUP stays in the group's pending list (PEL)
 * until it is acknowledged, and it is acknowledged only by ack (after SMTP accepted it), retry (after it was copied
 * into the delay set) or dead (after it was copied into the dead-letter stream) -- the last two inside one Lua
 * script each. So whatever crashes when, a mail is in the stream's PEL, in the delay set or in the dead letters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include "core/core_time.h"
#include "core/core_error.h"
#include "core/core_log.h"
#include "store/store_internal.h"

#define GROUP "mailer"
#define IO_TIMEOUT_MS 5000      /* any one command; XREADGROUP BLOCK adds its block time */
#define CONNECT_TIMEOUT_MS 2000 /* a TCP connect; unix sockets answer at once */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define CLAIM_IDLE_MS "60000" /* longer than one SMTP transaction may take (mail_outbox.c bounds it below this) */
#define PROMOTE_BATCH "100"
#define MAX_SKIPS 16 /* deleted entries skipped in one call before giving the caller its turn again */

struct st_store_sync_t {
    const store_target_t *target;
    redisContext *c;
    char *keys[3]; /* OUTBOX, OUTBOX_DELAY, OUTBOX_DEAD */
    size_t key_lens[3];
    char *comments_glob; /* COMMENTS with every part "*": a SCAN pattern for all threads' comment hashes */
    char *prefix;        /* redis.prefix, for the keys the retention sweep builds */
    uint32_t backoff_ms;
    uint64_t next_try_ms;
    int has_group; /* XGROUP CREATE done on this connection */
    int warned;    /* a connect failure was logged since the last success */
};

enum { K_OUT, K_DELAY, K_DEAD };

static struct timeval ms_to_tv(uint32_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    return tv;
}

static char *dup_n(const char *p, size_t n)
{
    char *d = malloc(n + 1);
    if (d == NULL)
        abort();
    if (n != 0)
        memcpy(d, p, n);
    d[n] = '\0';
    return d;
}

/* Drops the connection after an I/O error (timeout, reset, protocol error): hiredis cannot resync a blocking
 * context, and a half-read reply would poison the next command. */
static void drop(store_sync_t *s, const char *why)
{
    if (s->c != NULL) {
        core_log_warn("redis (mailer): connection lost: %s", why);
        store_stats.errors++;
        redisFree(s->c);
        s->c = NULL;
    }
    s->has_group = 0;
    s->next_try_ms = core_now_ms() + s->backoff_ms;
    s->backoff_ms = s->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : s->backoff_ms * 2;
}

/* AUTH and SELECT on a fresh connection, as store_conn.c does for the async ones. 0 or -1. */
static int handshake(store_sync_t *s)
{
    store_cmd2_t hello[2];
    char db[12];
    for (size_t i = 0, n = store_target_hello(s->target, hello, db); i < n; ++i) {
        redisReply *r = redisCommandArgv(s->c, 2, hello[i].argv, hello[i].lens);
        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            core_log_error("redis (mailer): %s failed: %s", hello[i].argv[0], r != NULL ? r->str : s->c->errstr);
            freeReplyObject(r);
            return -1;
        }
        freeReplyObject(r);
    }
    return 0;
}

/* Makes sure there is a connection; 0, or CORE_ERR_UNAVAILABLE while Redis is down or the backoff runs. */
static int ensure_connected(store_sync_t *s)
{
    if (s->c != NULL)
        return 0;
    if (core_now_ms() < s->next_try_ms)
        return CORE_ERR_UNAVAILABLE;
    const store_target_t *t = s->target;
    struct timeval tv = ms_to_tv(CONNECT_TIMEOUT_MS);
    s->c = t->unix_path != NULL ? redisConnectUnixWithTimeout(t->unix_path, tv)
                                : redisConnectWithTimeout(t->host, t->port, tv);
    if (s->c == NULL)
        abort(); /* hiredis returns NULL only when it cannot allocate the context */
    if (s->c->err != 0) {
        /* Log the first failure and then only when the backoff is at its maximum, not every 100 ms. */
        if (!s->warned || s->backoff_ms >= BACKOFF_MAX_MS)
            core_log_warn("redis (mailer): connect failed: %s", s->c->errstr);
        s->warned = 1;
        redisFree(s->c);
        s->c = NULL;
        store_stats.errors++;
        drop(s, "connect failed");
        return CORE_ERR_UNAVAILABLE;
    }
    redisSetTimeout(s->c, ms_to_tv(IO_TIMEOUT_MS));
    if (handshake(s) != 0) {
        drop(s, "handshake failed");
        return CORE_ERR_UNAVAILABLE;
    }
    if (s->warned)
        store_stats.reconnects++;
    s->warned = 0;
    s->backoff_ms = BACKOFF_MIN_MS;
    return 0;
}

/* Runs one command. Returns the reply (caller frees; may be an error reply) or NULL after an I/O error, in which
 * case the connection is gone. */
static redisReply *run(store_sync_t *s, int argc, const char **argv, const size_t *lens)
{
    store_stats.commands++;
    redisReply *r = redisCommandArgv(s->c, argc, argv, lens);
    if (r == NULL) {
        drop(s, s->c->errstr);
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        store_stats.errors++;
        core_log_warn("redis (mailer): error reply to %s: %s", argv[0], r->str);
    }
    return r;
}

static int is_error_prefix(const redisReply *r, const char *prefix)
{
    size_t n = strlen(prefix);
    return r != NULL && r->type == REDIS_REPLY_ERROR && r->len >= n && memcmp(r->str, prefix, n) == 0;
}

/* EVALSHA of an embedded script; a NOSCRIPT answer (cache flushed, or this connection came first) is retried once
 * as EVAL with the source, which also caches it. ARGV holds NKEYS keys then the arguments. */
static redisReply *run_script(store_sync_t *s, store_script_t script, int nkeys, int nargs, const char **argv,
                              const size_t *lens)
{
    const char *a[3 + STORE_SCRIPT_MAX_ARGS];
    size_t l[3 + STORE_SCRIPT_MAX_ARGS];
    char nk[12];
    int n = store_script_argv(script, false, nkeys, nargs, argv, lens, a, l, nk);
    store_stats.commands++;
    redisReply *r = redisCommandArgv(s->c, n, a, l);
    if (is_error_prefix(r, "NOSCRIPT")) {
        freeReplyObject(r);
        n = store_script_argv(script, true, nkeys, nargs, argv, lens, a, l, nk);
        store_stats.commands++;
        r = redisCommandArgv(s->c, n, a, l);
    }
    if (r == NULL) {
        drop(s, s->c->errstr);
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        store_stats.errors++;
        core_log_warn("redis (mailer): script error: %s", r->str);
    }
    return r;
}

/* Creates the consumer group once per connection. From id 0, not $: mails that workers queued before any mailer
 * ever ran must be sent too. BUSYGROUP means it exists, which is the usual case. */
static int ensure_group(store_sync_t *s)
{
    if (s->has_group)
        return 0;
    const char *argv[] = {"XGROUP", "CREATE", s->keys[K_OUT], GROUP, "0", "MKSTREAM"};
    size_t lens[] = {6, 6, s->key_lens[K_OUT], strlen(GROUP), 1, 8};
    store_stats.commands++;
    redisReply *r = redisCommandArgv(s->c, 6, argv, lens);
    if (r == NULL) {
        drop(s, s->c->errstr);
        return CORE_ERR_UNAVAILABLE;
    }
    int ok = r->type != REDIS_REPLY_ERROR || is_error_prefix(r, "BUSYGROUP");
    if (!ok)
        core_log_warn("redis (mailer): XGROUP CREATE failed: %s", r->str);
    freeReplyObject(r);
    if (!ok)
        return CORE_ERR_UNAVAILABLE;
    s->has_group = 1;
    return 0;
}

store_sync_t *store_sync_open(const store_target_t *t, const char *prefix)
{
    store_sync_t *s = calloc(1, sizeof(*s));
    if (s == NULL)
        abort();
    s->target = t;
    s->backoff_ms = BACKOFF_MIN_MS;
    h2o_mem_pool_t pool;
    h2o_mem_init_pool(&pool);
    static const store_key_t keys[] = {STORE_KEY_OUTBOX, STORE_KEY_OUTBOX_DELAY, STORE_KEY_OUTBOX_DEAD};
    for (size_t i = 0; i < 3; ++i) {
        h2o_iovec_t k = store_key_build(&pool, prefix, keys[i], 0, NULL);
        s->keys[i] = dup_n(k.base, k.len);
        s->key_lens[i] = k.len;
    }
    h2o_iovec_t any[] = {h2o_iovec_init("*", 1), h2o_iovec_init("*", 1)};
    h2o_iovec_t glob = store_key_build(&pool, prefix, STORE_KEY_COMMENTS, 2, any);
    s->comments_glob = dup_n(glob.base, glob.len);
    s->prefix = dup_n(prefix, strlen(prefix));
    h2o_mem_clear_pool(&pool);
    ensure_connected(s);
    return s;
}

void store_sync_close(store_sync_t *s)
{
    if (s == NULL)
        return;
    if (s->c != NULL)
        redisFree(s->c);
    for (size_t i = 0; i < 3; ++i)
        free(s->keys[i]);
    free(s->comments_glob);
    free(s->prefix);
    free(s);
}

void store_sync_mail_free(store_mail_t *m)
{
    free(m->id);
    free(m->from);
    free(m->rcpt);
    if (m->msg != NULL) {
        memset(m->msg, 0, m->msg_len); /* it may carry a reset link: do not leave it in freed memory */
        free(m->msg);
    }
    memset(m, 0, sizeof(*m));
}

/* Copies one stream entry [id, [field, value, ...]] into OUT. Returns 1 when copied, 0 for an entry whose data is
 * gone ([id, nil]: XDEL'ed while pending), -1 when the reply does not look like an entry. */
static int copy_entry(const redisReply *e, store_mail_t *out)
{
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 || e->element[0]->type != REDIS_REPLY_STRING)
        return -1;
    const redisReply *f = e->element[1];
    if (f->type != REDIS_REPLY_ARRAY)
        return 0;
    memset(out, 0, sizeof(*out));
    out->id = dup_n(e->element[0]->str, e->element[0]->len);
    for (size_t i = 0; i + 1 < f->elements; i += 2) {
        const redisReply *k = f->element[i], *v = f->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        char **dst = NULL;
        if (k->len == 4 && memcmp(k->str, "from", 4) == 0)
            dst = &out->from;
        else if (k->len == 4 && memcmp(k->str, "rcpt", 4) == 0)
            dst = &out->rcpt;
        else if (k->len == 3 && memcmp(k->str, "msg", 3) == 0)
            dst = &out->msg;
        else if (k->len == 8 && memcmp(k->str, "attempts", 8) == 0)
            out->attempts = (uint32_t)store_parse_u64(v->str, v->len);
        else if (k->len == 5 && memcmp(k->str, "first", 5) == 0)
            out->first_ms = store_parse_u64(v->str, v->len);
        if (dst != NULL && *dst == NULL) {
            *dst = dup_n(v->str, v->len);
            if (dst == &out->msg)
                out->msg_len = v->len;
        }
    }
    if (out->from == NULL)
        out->from = dup_n("", 0);
    if (out->rcpt == NULL)
        out->rcpt = dup_n("", 0);
    if (out->msg == NULL)
        out->msg = dup_n("", 0);
    return 1;
}

static int ack_only(store_sync_t *s, const char *id, size_t id_len)
{
    const char *argv[] = {"XACK", s->keys[K_OUT], GROUP, id};
    size_t lens[] = {4, s->key_lens[K_OUT], strlen(GROUP), id_len};
    redisReply *r = run(s, 4, argv, lens);
    int err = r == NULL || r->type == REDIS_REPLY_ERROR ? CORE_ERR_UNAVAILABLE : 0;
    freeReplyObject(r);
    return err;
}

/* Takes the first entry of an XREADGROUP reply [[key, [entries]]] (or of XAUTOCLAIM's entry list when LIST is
 * already the entries). Returns 1 with OUT filled, 0 when there is none, 2 when the first entry was a deleted one
 * (then it has been acknowledged and the caller asks again), or CORE_ERR_UNAVAILABLE. */
static int take_first(store_sync_t *s, const redisReply *list, store_mail_t *out)
{
    if (list == NULL || list->type != REDIS_REPLY_ARRAY || list->elements == 0)
        return 0;
    const redisReply *e = list->element[0];
    int c = copy_entry(e, out);
    if (c == 1)
        return 1;
    if (c < 0)
        return CORE_ERR_UNAVAILABLE;
    if (ack_only(s, e->element[0]->str, e->element[0]->len) != 0)
        return CORE_ERR_UNAVAILABLE;
    return 2;
}

static const redisReply *xread_entries(const redisReply *r)
{
    /* XREADGROUP answers nil on a BLOCK timeout, else [[key, [entries]]]. */
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements == 0)
        return NULL;
    const redisReply *kv = r->element[0];
    if (kv->type != REDIS_REPLY_ARRAY || kv->elements != 2)
        return NULL;
    return kv->element[1];
}

/* One XREADGROUP with ID ("0" = this consumer's pending entries, ">" = new ones) and BLOCK_MS (< 0 = no BLOCK). */
static int read_group(store_sync_t *s, const char *consumer, const char *id, int block_ms, store_mail_t *out)
{
    char block[16];
    int bl = snprintf(block, sizeof(block), "%d", block_ms);
    const char *argv[] = {"XREADGROUP", "GROUP", GROUP,     consumer,       "COUNT", "1",
                          "BLOCK",      block,   "STREAMS", s->keys[K_OUT], id};
    size_t lens[] = {10, 5, strlen(GROUP), strlen(consumer), 5, 1, 5, (size_t)bl, 7, s->key_lens[K_OUT], strlen(id)};
    if (block_ms >= 0)
        redisSetTimeout(s->c, ms_to_tv(IO_TIMEOUT_MS + (uint32_t)block_ms));
    redisReply *r;
    if (block_ms >= 0) {
        r = run(s, 11, argv, lens);
    } else {
        /* Without BLOCK: drop the two BLOCK arguments. */
        const char *a2[] = {argv[0], argv[1], argv[2], argv[3], argv[4], argv[5], argv[8], argv[9], argv[10]};
        size_t l2[] = {lens[0], lens[1], lens[2], lens[3], lens[4], lens[5], lens[8], lens[9], lens[10]};
        r = run(s, 9, a2, l2);
    }
    if (s->c != NULL && block_ms >= 0)
        redisSetTimeout(s->c, ms_to_tv(IO_TIMEOUT_MS));
    if (r == NULL)
        return CORE_ERR_UNAVAILABLE;
    if (r->type == REDIS_REPLY_ERROR) {
        /* NOGROUP: the stream was deleted (FLUSHDB, or by hand); recreate the group on the next call. */
        if (is_error_prefix(r, "NOGROUP"))
            s->has_group = 0;
        freeReplyObject(r);
        return CORE_ERR_UNAVAILABLE;
    }
    int rc = take_first(s, xread_entries(r), out);
    freeReplyObject(r);
    return rc;
}

static int claim(store_sync_t *s, const char *consumer, store_mail_t *out)
{
    const char *argv[] = {"XAUTOCLAIM", s->keys[K_OUT], GROUP, consumer, CLAIM_IDLE_MS, "0-0", "COUNT", "1"};
    size_t lens[] = {10, s->key_lens[K_OUT], strlen(GROUP), strlen(consumer), strlen(CLAIM_IDLE_MS), 3, 5, 1};
    redisReply *r = run(s, 8, argv, lens);
    if (r == NULL)
        return CORE_ERR_UNAVAILABLE;
    int rc = CORE_ERR_UNAVAILABLE;
    /* [next cursor, [entries], [deleted ids] (Redis 7)]; Redis 7 drops deleted entries from the PEL itself. */
    if (r->type == REDIS_REPLY_ARRAY && r->elements >= 2)
        rc = take_first(s, r->element[1], out);
    else if (is_error_prefix(r, "NOGROUP"))
        s->has_group = 0;
    freeReplyObject(r);
    return rc;
}

static int promote(store_sync_t *s)
{
    char now[24], maxlen[24];
    int nl = snprintf(now, sizeof(now), "%llu", (unsigned long long)core_now_ms());
    int ml = snprintf(maxlen, sizeof(maxlen), "%d", STORE_OUTBOX_MAXLEN);
    const char *argv[] = {s->keys[K_DELAY], s->keys[K_OUT], now, PROMOTE_BATCH, maxlen};
    size_t lens[] = {s->key_lens[K_DELAY], s->key_lens[K_OUT], (size_t)nl, strlen(PROMOTE_BATCH), (size_t)ml};
    redisReply *r = run_script(s, STORE_SCRIPT_outbox_promote, 2, 3, argv, lens);
    int err = r == NULL || r->type == REDIS_REPLY_ERROR ? CORE_ERR_UNAVAILABLE : 0;
    freeReplyObject(r);
    return err;
}

/* How many times the group has handed entry ID out (XPENDING's delivery counter); 0 when it cannot tell. */
static uint32_t deliveries_of(store_sync_t *s, const char *id)
{
    const char *argv[] = {"XPENDING", s->keys[K_OUT], GROUP, id, id, "1"};
    size_t lens[] = {8, s->key_lens[K_OUT], strlen(GROUP), strlen(id), strlen(id), 1};
    store_stats.commands++;
    redisReply *r = redisCommandArgv(s->c, 6, argv, lens);
    uint32_t n = 0;
    if (r == NULL) {
        drop(s, s->c->errstr);
        return 0;
    }
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 && r->element[0]->type == REDIS_REPLY_ARRAY &&
        r->element[0]->elements == 4 && r->element[0]->element[3]->type == REDIS_REPLY_INTEGER)
        n = (uint32_t)r->element[0]->element[3]->integer;
    freeReplyObject(r);
    return n;
}

int store_sync_outbox_next(store_sync_t *s, const char *consumer, int block_ms, store_mail_t *out)
{
    memset(out, 0, sizeof(*out));
    int rc;
    if ((rc = ensure_connected(s)) != 0 || (rc = ensure_group(s)) != 0 || (rc = promote(s)) != 0)
        return rc;
    for (int skips = 0; skips < MAX_SKIPS; ++skips) {
        rc = read_group(s, consumer, "0", -1, out);
        if (rc == 0)
            rc = claim(s, consumer, out);
        if (rc == 0)
            rc = read_group(s, consumer, ">", block_ms, out);
        if (rc == 1)
            out->deliveries = deliveries_of(s, out->id);
        if (rc != 2)
            return rc;
    }
    return 0;
}

int store_sync_outbox_ack(store_sync_t *s, const store_mail_t *m)
{
    int rc = ensure_connected(s);
    if (rc != 0)
        return rc;
    size_t idl = strlen(m->id);
    /* XDEL before XACK: if the connection dies in between, the PEL still names the entry, and the next read of
     * the pending list sees it deleted and acknowledges it -- the mail is not sent twice. */
    const char *del[] = {"XDEL", s->keys[K_OUT], m->id};
    size_t del_l[] = {4, s->key_lens[K_OUT], idl};
    const char *ack[] = {"XACK", s->keys[K_OUT], GROUP, m->id};
    size_t ack_l[] = {4, s->key_lens[K_OUT], strlen(GROUP), idl};
    redisAppendCommandArgv(s->c, 3, del, del_l);
    redisAppendCommandArgv(s->c, 4, ack, ack_l);
    store_stats.commands += 2;
    for (int i = 0; i < 2; ++i) {
        void *p = NULL;
        if (redisGetReply(s->c, &p) != REDIS_OK) {
            drop(s, s->c->errstr);
            return CORE_ERR_UNAVAILABLE;
        }
        redisReply *r = p;
        if (r->type == REDIS_REPLY_ERROR) {
            store_stats.errors++;
            core_log_warn("redis (mailer): error reply to %s: %s", i == 0 ? "XDEL" : "XACK", r->str);
            rc = CORE_ERR_UNAVAILABLE;
        }
        freeReplyObject(r);
    }
    return rc;
}

int store_sync_outbox_retry(store_sync_t *s, const store_mail_t *m, uint64_t due_ms)
{
    int rc = ensure_connected(s);
    if (rc != 0)
        return rc;
    char due[24];
    int dl = snprintf(due, sizeof(due), "%llu", (unsigned long long)due_ms);
    const char *argv[] = {s->keys[K_OUT], s->keys[K_DELAY], GROUP, m->id, due};
    size_t lens[] = {s->key_lens[K_OUT], s->key_lens[K_DELAY], strlen(GROUP), strlen(m->id), (size_t)dl};
    redisReply *r = run_script(s, STORE_SCRIPT_outbox_retry, 2, 3, argv, lens);
    rc = r == NULL || r->type == REDIS_REPLY_ERROR ? CORE_ERR_UNAVAILABLE : 0;
    freeReplyObject(r);
    return rc;
}

int store_sync_outbox_dead(store_sync_t *s, const store_mail_t *m, const char *reason)
{
    int rc = ensure_connected(s);
    if (rc != 0)
        return rc;
    char now[24], maxlen[24];
    int nl = snprintf(now, sizeof(now), "%llu", (unsigned long long)core_now_ms());
    int ml = snprintf(maxlen, sizeof(maxlen), "%d", STORE_OUTBOX_MAXLEN);
    const char *argv[] = {s->keys[K_OUT], s->keys[K_DEAD], GROUP, m->id, reason, now, maxlen};
    size_t lens[] = {s->key_lens[K_OUT], s->key_lens[K_DEAD], strlen(GROUP), strlen(m->id),
                     strlen(reason),     (size_t)nl,          (size_t)ml};
    redisReply *r = run_script(s, STORE_SCRIPT_outbox_dead, 2, 5, argv, lens);
    rc = r == NULL || r->type == REDIS_REPLY_ERROR ? CORE_ERR_UNAVAILABLE : 0;
    freeReplyObject(r);
    return rc;
}

int store_sync_outbox_stats(store_sync_t *s, uint64_t *pending, uint64_t *delayed, uint64_t *dead)
{
    int rc = ensure_connected(s);
    if (rc != 0)
        return rc;
    const char *xl[] = {"XLEN", s->keys[K_OUT]};
    size_t xl_l[] = {4, s->key_lens[K_OUT]};
    const char *zc[] = {"ZCARD", s->keys[K_DELAY]};
    size_t zc_l[] = {5, s->key_lens[K_DELAY]};
    const char *xd[] = {"XLEN", s->keys[K_DEAD]};
    size_t xd_l[] = {4, s->key_lens[K_DEAD]};
    redisAppendCommandArgv(s->c, 2, xl, xl_l);
    redisAppendCommandArgv(s->c, 2, zc, zc_l);
    redisAppendCommandArgv(s->c, 2, xd, xd_l);
    store_stats.commands += 3;
    uint64_t v[3] = {0, 0, 0};
    for (int i = 0; i < 3; ++i) {
        void *p = NULL;
        if (redisGetReply(s->c, &p) != REDIS_OK) {
            drop(s, s->c->errstr);
            return CORE_ERR_UNAVAILABLE;
        }
        redisReply *r = p;
        if (r->type == REDIS_REPLY_INTEGER && r->integer >= 0)
            v[i] = (uint64_t)r->integer;
        else
            rc = CORE_ERR_UNAVAILABLE;
        freeReplyObject(r);
    }
    if (rc == 0) {
        *pending = v[0];
        *delayed = v[1];
        *dead = v[2];
    }
    return rc;
}

/* Keeps the e-mail index (EMAIL_COMMENTS) in step with one comment_scrub.lua answer for the thread whose COMMENTS
 * key is KEY: PAIRS holds {ehash, id, ...}; each becomes "site:url-hash:id" (the thread's hash tag gives site and
 * url-hash) removed from (CMD "SREM") or added to ("SADD") the set of its ehash. 0 or CORE_ERR_UNAVAILABLE. */
static int index_sync(store_sync_t *s, const redisReply *key, const redisReply *pairs, const char *cmd)
{
    const char *open = memchr(key->str, '{', key->len),
               *close = open != NULL ? memchr(open, '}', key->len - (size_t)(open - key->str)) : NULL;
    if (open == NULL || close == NULL || pairs->type != REDIS_REPLY_ARRAY)
        return 0;
    h2o_iovec_t tag = h2o_iovec_init(open + 1, (size_t)(close - open - 1));
    int rc = 0;
    for (size_t i = 0; rc == 0 && i + 1 < pairs->elements; i += 2) {
        const redisReply *eh = pairs->element[i], *id = pairs->element[i + 1];
        if (eh->type != REDIS_REPLY_STRING || id->type != REDIS_REPLY_STRING || eh->len == 0 || eh->len > 64 ||
            id->len > 20)
            continue;
        char entry[256];
        if (tag.len + 1 + id->len >= sizeof(entry))
            continue;
        memcpy(entry, tag.base, tag.len);
        entry[tag.len] = ':';
        memcpy(entry + tag.len + 1, id->str, id->len);
        size_t elen = tag.len + 1 + id->len;
        h2o_mem_pool_t pool;
        h2o_mem_init_pool(&pool);
        h2o_iovec_t part = h2o_iovec_init(eh->str, eh->len);
        h2o_iovec_t k = store_key_build(&pool, s->prefix, STORE_KEY_EMAIL_COMMENTS, 1, &part);
        const char *argv[] = {cmd, k.base, entry};
        size_t lens[] = {4, k.len, elen};
        redisReply *r = run(s, 3, argv, lens);
        if (r == NULL || r->type == REDIS_REPLY_ERROR)
            rc = CORE_ERR_UNAVAILABLE;
        if (r != NULL)
            freeReplyObject(r);
        h2o_mem_clear_pool(&pool);
    }
    return rc;
}

int store_sync_retention_sweep(store_sync_t *s, uint64_t cutoff_ms, uint64_t *scrubbed)
{
    *scrubbed = 0;
    if (ensure_connected(s) != 0)
        return CORE_ERR_UNAVAILABLE;
    /* Comments stored before the e-mail index existed are added to it by the first complete sweep. */
    h2o_mem_pool_t pool;
    h2o_mem_init_pool(&pool);
    h2o_iovec_t done_key = store_key_build(&pool, s->prefix, STORE_KEY_EMAIL_INDEX_DONE, 0, NULL);
    char done_buf[128];
    size_t done_len = done_key.len < sizeof(done_buf) ? done_key.len : sizeof(done_buf) - 1;
    memcpy(done_buf, done_key.base, done_len);
    done_buf[done_len] = '\0';
    h2o_mem_clear_pool(&pool);
    bool backfill;
    {
        const char *argv[] = {"EXISTS", done_buf};
        size_t lens[] = {6, done_len};
        redisReply *r = run(s, 2, argv, lens);
        if (r == NULL || r->type != REDIS_REPLY_INTEGER) {
            if (r != NULL)
                freeReplyObject(r);
            return CORE_ERR_UNAVAILABLE;
        }
        backfill = r->integer == 0;
        freeReplyObject(r);
    }
    if (cutoff_ms == 0 && !backfill)
        return 0; /* retention off and the index complete: nothing to do */
    char cursor[32] = "0", cutoff[24];
    int cl = snprintf(cutoff, sizeof(cutoff), "%llu", (unsigned long long)cutoff_ms);
    do {
        const char *argv[] = {"SCAN", cursor, "MATCH", s->comments_glob, "COUNT", "500", "TYPE", "hash"};
        size_t lens[] = {4, strlen(cursor), 5, strlen(s->comments_glob), 5, 3, 4, 4};
        redisReply *r = run(s, 8, argv, lens);
        if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
            r->element[0]->type != REDIS_REPLY_STRING || r->element[0]->len >= sizeof(cursor) ||
            r->element[1]->type != REDIS_REPLY_ARRAY) {
            if (r != NULL)
                freeReplyObject(r);
            return CORE_ERR_UNAVAILABLE;
        }
        memcpy(cursor, r->element[0]->str, r->element[0]->len);
        cursor[r->element[0]->len] = '\0';
        for (size_t k = 0; k < r->element[1]->elements; ++k) {
            const redisReply *key = r->element[1]->element[k];
            if (key->type != REDIS_REPLY_STRING)
                continue;
            /* One thread at a time, 200 comments per script call, so Redis is never blocked for long. */
            char hc[32] = "0";
            do {
                const char *a[] = {key->str, cutoff, hc, "200", backfill ? "1" : "0"};
                size_t l[] = {key->len, (size_t)cl, strlen(hc), 3, 1};
                redisReply *x = run_script(s, STORE_SCRIPT_comment_scrub, 1, 4, a, l);
                if (x == NULL || x->type != REDIS_REPLY_ARRAY || x->elements != 4 ||
                    x->element[0]->type != REDIS_REPLY_STRING || x->element[0]->len >= sizeof(hc) ||
                    x->element[1]->type != REDIS_REPLY_INTEGER || index_sync(s, key, x->element[2], "SREM") != 0 ||
                    (backfill && index_sync(s, key, x->element[3], "SADD") != 0)) {
                    if (x != NULL)
                        freeReplyObject(x);
                    freeReplyObject(r);
                    return CORE_ERR_UNAVAILABLE;
                }
                memcpy(hc, x->element[0]->str, x->element[0]->len);
                hc[x->element[0]->len] = '\0';
                *scrubbed += (uint64_t)x->element[1]->integer;
                freeReplyObject(x);
            } while (strcmp(hc, "0") != 0);
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    if (backfill) {
        const char *argv[] = {"SET", done_buf, "1"};
        size_t lens[] = {3, done_len, 1};
        redisReply *r = run(s, 3, argv, lens);
        if (r != NULL)
            freeReplyObject(r);
        core_log_info("retention: the e-mail index now holds the comments stored before it existed");
    }
    return 0;
}
