/* The per-worker Redis connection and the call machinery (see store_internal.h for the call's life).
 *
 * hiredis 0.14 has no reconnect and no timeouts, so both live here: a 100 ms tick drives reconnects with
 * exponential backoff (100 ms doubling to 5 s), and every call links an h2o timeout entry of redis.timeout_ms that
 * answers the request with 503 if Redis stays silent. While the connection is down, operations fail at once with
 * CORE_ERR_UNAVAILABLE instead of queueing. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include "core/core_error.h"
#include "core/core_json.h"
#include "core/core_log.h"
#include "store/store_evloop.h"
#include "store/store_internal.h"

#define TICK_MS 100
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

store_stats_t store_stats;
/* From a round trip on loopback (~100 us) to the default redis.timeout_ms. */
const uint64_t store_latency_bounds_us[STORE_LATENCY_BUCKETS] = {100,   250,   500,    1000,    2500,
                                                                 10000, 50000, 250000, 1000000, 2000000};

/* One connection to Redis. A worker keeps redis.connections of them: Redis reads once from each client per turn of
 * its event loop (16 KiB, or as much as the client's grown query buffer holds: reads of up to 48 KiB measured) and
 * syncs the AOF once per turn, so under a flood of writes one connection caps what a worker can hand Redis per
 * fsync (measured: 629 of 715 reads were full at 7,000 comments/s with one connection). */
struct st_store_link_t {
    store_t *store;
    redisAsyncContext *ac;
    int ready;
    int ever_connected;
    uint32_t backoff_ms;
    uint32_t wait_ms;
    h2o_timeout_entry_t tick_entry;
};

struct st_store_t {
    h2o_evloop_t *loop;
    const core_config_t *cfg;
    const store_target_t *target;
    int closing;
    size_t num_links;
    struct st_store_link_t links[STORE_MAX_CONNECTIONS];
    size_t next_link; /* round robin of the grouped calls */
    h2o_timeout_t call_timeout;
    h2o_timeout_t tick;
    struct st_group_t *groups; /* grouped script calls open in this event-loop turn (store_call_script_grouped) */
    h2o_timeout_t turn_end;    /* 0 ms: runs once the turn's I/O callbacks are done */
    h2o_timeout_entry_t turn_end_entry;
};

struct st_store_guard_t {
    store_call_t *call;
};

/* One queued command; the hiredis privdata. Script commands keep a copy of their arguments so that a NOSCRIPT
 * answer (the script cache was flushed) can be retried once as EVAL with the script's source. */
struct st_cmd_t {
    store_call_t *call;
    size_t idx;
    int script; /* store_script_t, or -1 */
    int retried;
    int nkeys;
    int nargs;
    char **argv;
    size_t *lens;
};

static void connect_now(struct st_store_link_t *l);
static void groups_flush(store_t *s);
static void groups_fail(store_t *s);
static void on_turn_end(h2o_timeout_entry_t *entry);

static uint64_t now_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000000 + (uint64_t)tv.tv_usec;
}

const char *store_prefix(store_t *store)
{
    return store->cfg->redis.prefix;
}

/* --- connections --- */

static void schedule_reconnect(struct st_store_link_t *l)
{
    store_t *s = l->store;
    if (s->closing)
        return;
    l->wait_ms = l->backoff_ms;
    l->backoff_ms = l->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : l->backoff_ms * 2;
    if (!h2o_timeout_is_linked(&l->tick_entry))
        h2o_timeout_link(s->loop, &s->tick, &l->tick_entry);
}

static void on_tick(h2o_timeout_entry_t *entry)
{
    struct st_store_link_t *l = H2O_STRUCT_FROM_MEMBER(struct st_store_link_t, tick_entry, entry);
    if (l->store->closing)
        return;
    if (l->wait_ms > TICK_MS) {
        l->wait_ms -= TICK_MS;
        h2o_timeout_link(l->store->loop, &l->store->tick, &l->tick_entry);
        return;
    }
    connect_now(l);
}

static void on_auth_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    redisReply *reply = r;
    if (reply != NULL && reply->type == REDIS_REPLY_ERROR) {
        core_log_error("redis: %s failed: %.*s", (const char *)privdata, (int)reply->len, reply->str);
        store_stats.errors++;
        redisAsyncDisconnect(ac);
    }
}

static void on_connect(const redisAsyncContext *cac, int status)
{
    redisAsyncContext *ac = (redisAsyncContext *)cac;
    struct st_store_link_t *l = ac->data;
    const store_target_t *t = l->store->target;
    if (status != REDIS_OK) {
        /* hiredis frees the context after this callback and will not call on_disconnect. */
        if (!l->ever_connected || l->backoff_ms >= BACKOFF_MAX_MS)
            core_log_warn("redis: connect failed: %s", ac->errstr);
        l->ac = NULL;
        l->ready = 0;
        store_stats.errors++;
        schedule_reconnect(l);
        return;
    }
    /* These pipeline ahead of every later command, so nothing runs before AUTH, SELECT and the scripts. */
    store_cmd2_t hello[2];
    char db[12];
    for (size_t i = 0, n = store_target_hello(t, hello, db); i < n; ++i)
        redisAsyncCommandArgv(ac, on_auth_reply, (void *)hello[i].argv[0], 2, hello[i].argv, hello[i].lens);
    store_script_load_all(ac);
    if (l->ever_connected) {
        store_stats.reconnects++;
        core_log_info("redis: reconnected");
    }
    l->ever_connected = 1;
    l->ready = 1;
    l->backoff_ms = BACKOFF_MIN_MS;
}

static void on_disconnect(const redisAsyncContext *cac, int status)
{
    struct st_store_link_t *l = cac->data;
    l->ac = NULL;
    l->ready = 0;
    if (l->store->closing)
        return;
    core_log_warn("redis: connection lost%s%s", status == REDIS_OK ? "" : ": ", status == REDIS_OK ? "" : cac->errstr);
    store_stats.errors++;
    schedule_reconnect(l);
}

static void connect_now(struct st_store_link_t *l)
{
    const store_target_t *t = l->store->target;
    redisAsyncContext *ac =
        t->unix_path != NULL ? redisAsyncConnectUnix(t->unix_path) : redisAsyncConnect(t->host, t->port);
    if (ac == NULL)
        abort();
    if (ac->err != 0 || store_evloop_attach(ac, l->store->loop) != 0) {
        core_log_warn("redis: connect failed: %s", ac->err != 0 ? ac->errstr : "cannot attach to the event loop");
        redisAsyncFree(ac);
        store_stats.errors++;
        schedule_reconnect(l);
        return;
    }
    ac->data = l;
    l->ac = ac;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
}

store_t *store_create(h2o_evloop_t *loop, const core_config_t *cfg, const store_target_t *target)
{
    store_t *s = calloc(1, sizeof(*s));
    if (s == NULL)
        abort();
    s->loop = loop;
    s->cfg = cfg;
    s->target = target;
    s->num_links = cfg->redis.connections;
    if (s->num_links < 1 || s->num_links > STORE_MAX_CONNECTIONS)
        s->num_links = 1; /* the config checks the range; a zeroed config (tests) gets one */
    h2o_timeout_init(loop, &s->call_timeout, cfg->redis.timeout_ms);
    h2o_timeout_init(loop, &s->tick, TICK_MS);
    h2o_timeout_init(loop, &s->turn_end, 0);
    s->turn_end_entry.cb = on_turn_end;
    for (size_t i = 0; i < s->num_links; ++i) {
        struct st_store_link_t *l = &s->links[i];
        l->store = s;
        l->backoff_ms = BACKOFF_MIN_MS;
        l->tick_entry.cb = on_tick;
        connect_now(l);
    }
    return s;
}

/* A ready connection, trying the one at START first (NULL when none is). */
static struct st_store_link_t *pick_link(store_t *s, size_t start)
{
    for (size_t i = 0; i < s->num_links; ++i) {
        struct st_store_link_t *l = &s->links[(start + i) % s->num_links];
        if (l->ready && l->ac != NULL)
            return l;
    }
    return NULL;
}

bool store_is_ready(store_t *store)
{
    return pick_link(store, 0) != NULL;
}

/* Stops every connection's reconnect timer and ends its context with END (disconnect: after the replies due; free:
 * at once, pending callbacks called with no reply). */
static void links_end(store_t *s, void (*end)(redisAsyncContext *))
{
    for (size_t i = 0; i < s->num_links; ++i) {
        struct st_store_link_t *l = &s->links[i];
        if (h2o_timeout_is_linked(&l->tick_entry))
            h2o_timeout_unlink(&l->tick_entry);
        if (l->ac != NULL)
            end(l->ac);
    }
}

void store_close(store_t *store)
{
    groups_flush(store); /* sent before the disconnect, which waits for their replies */
    store->closing = 1;
    links_end(store, redisAsyncDisconnect);
}

bool store_is_closed(store_t *store)
{
    for (size_t i = 0; i < store->num_links; ++i)
        if (store->links[i].ac != NULL)
            return false;
    return store->closing;
}

void store_destroy(store_t *store)
{
    groups_fail(store); /* joined after the close: never sent */
    store->closing = 1; /* no reconnect from the disconnect callbacks redisAsyncFree makes */
    links_end(store, redisAsyncFree);
    h2o_timeout_dispose(store->loop, &store->call_timeout);
    h2o_timeout_dispose(store->loop, &store->tick);
    if (h2o_timeout_is_linked(&store->turn_end_entry))
        h2o_timeout_unlink(&store->turn_end_entry);
    h2o_timeout_dispose(store->loop, &store->turn_end);
    free(store);
}

/* --- calls --- */

static void on_guard_dispose(void *p)
{
    struct st_store_guard_t *guard = p;
    if (guard->call != NULL) {
        guard->call->req = NULL;
        guard->call->guard = NULL;
    }
}

static void finish(store_call_t *call, int err)
{
    if (call->finished)
        return;
    call->finished = 1;
    if (h2o_timeout_is_linked(&call->timeout))
        h2o_timeout_unlink(&call->timeout);
    uint64_t us = now_us() - call->started_us;
    size_t b = 0;
    while (b < STORE_LATENCY_BUCKETS && us > store_latency_bounds_us[b])
        ++b;
    store_stats.latency_buckets[b]++;
    store_stats.latency_us_sum += us;
    store_stats.latency_count++;
    /* Detach the guard before answering: sending the response may dispose the request (and its pool) at once. */
    if (call->guard != NULL) {
        call->guard->call = NULL;
        call->guard = NULL;
    }
    if (call->req != NULL)
        call->on_done(call, err);
}

static void maybe_free(store_call_t *call)
{
    if (call->finished && call->pending == 0)
        free(call);
}

static void on_call_timeout(h2o_timeout_entry_t *entry)
{
    store_call_t *call = H2O_STRUCT_FROM_MEMBER(store_call_t, timeout, entry);
    store_stats.timeouts++;
    finish(call, CORE_ERR_UNAVAILABLE);
    maybe_free(call);
}

store_call_t *store_call_start(store_t *store, h2o_req_t *req, store_reply_fn on_reply, store_done_fn on_done)
{
    /* Every call of one request goes on the same connection while it stays up, so that a request's calls keep the
     * order they were made in, as with one connection. Requests spread over the connections by address. */
    uintptr_t h = (uintptr_t)req >> 6;
    struct st_store_link_t *link = pick_link(store, (size_t)(h ^ (h >> 7) ^ (h >> 17)));
    if (link == NULL)
        return NULL;
    store_call_t *call = calloc(1, sizeof(*call));
    if (call == NULL)
        abort();
    call->store = store;
    call->link = link;
    call->req = req;
    call->on_reply = on_reply;
    call->on_done = on_done;
    call->started_us = now_us();
    call->guard = h2o_mem_alloc_shared(&req->pool, sizeof(*call->guard), on_guard_dispose);
    call->guard->call = call;
    call->timeout.cb = on_call_timeout;
    h2o_timeout_link(store->loop, &store->call_timeout, &call->timeout);
    return call;
}

/* Writes LEAD, V in decimal and CRLF at OUT; returns the length. */
static size_t resp_number(char *out, char lead, size_t v)
{
    size_t o = 0;
    out[o++] = lead;
    o += core_u64_text(v, out + o);
    out[o++] = '\r';
    out[o++] = '\n';
    return o;
}

/* Sends ARGC arguments as one RESP array, formatted here: hiredis's redisAsyncCommandArgv formats through sds
 * with a printf-like sdscatfmt per argument (about a tenth of a comment write's CPU in parleyd); the bytes are
 * the same. Commands up to 4 KiB are formatted on the stack. */
static int send_argv(redisAsyncContext *ac, redisCallbackFn *fn, void *priv, int argc, const char **argv,
                     const size_t *lens)
{
    size_t need = 16;
    for (int i = 0; i < argc; ++i)
        need += lens[i] + 24;
    char stack[4096], *buf = need <= sizeof(stack) ? stack : malloc(need);
    if (buf == NULL)
        abort();
    size_t o = resp_number(buf, '*', (size_t)argc);
    for (int i = 0; i < argc; ++i) {
        o += resp_number(buf + o, '$', lens[i]);
        memcpy(buf + o, argv[i], lens[i]);
        o += lens[i];
        buf[o++] = '\r';
        buf[o++] = '\n';
    }
    int ret = redisAsyncFormattedCommand(ac, fn, priv, buf, o);
    if (buf != stack)
        free(buf);
    return ret;
}

/* A script's copy of its arguments lives in the same allocation as the command (store_call_script). */
static void free_cmd(struct st_cmd_t *cmd)
{
    free(cmd);
}

static int is_noscript(redisReply *reply)
{
    return reply != NULL && reply->type == REDIS_REPLY_ERROR && reply->len >= 8 &&
           memcmp(reply->str, "NOSCRIPT", 8) == 0;
}

static void send_script(store_call_t *call, struct st_cmd_t *cmd, int as_eval);

/* Hands REPLY (NULL: the connection is gone) to CALL as its reply number IDX, and finishes the call with its last. */
static void deliver(store_call_t *call, size_t idx, redisReply *reply)
{
    call->pending--;
    if (!call->finished) {
        int err = 0;
        if (reply == NULL)
            err = CORE_ERR_UNAVAILABLE;
        else if (call->req != NULL && call->on_reply != NULL)
            err = call->on_reply(call, idx, reply);
        if (err != 0)
            finish(call, err);
        else if (call->pending == 0)
            finish(call, 0);
    }
    maybe_free(call);
}

static void count_error(redisReply *reply)
{
    if (reply != NULL && reply->type == REDIS_REPLY_ERROR) {
        store_stats.errors++;
        core_log_warn("redis: error reply: %.*s", (int)reply->len, reply->str);
    }
}

static void on_command_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    redisReply *reply = r;
    struct st_cmd_t *cmd = privdata;
    store_call_t *call = cmd->call;

    if (cmd->script >= 0 && !cmd->retried && is_noscript(reply) && call->link->ac != NULL && !call->finished) {
        cmd->retried = 1;
        send_script(call, cmd, 1);
        return;
    }
    if (!call->finished)
        count_error(reply);
    deliver(call, cmd->idx, reply);
    free_cmd(cmd);
}

void store_call_command(store_call_t *call, int argc, const char **argv, const size_t *lens)
{
    struct st_cmd_t *cmd = calloc(1, sizeof(*cmd));
    if (cmd == NULL)
        abort();
    cmd->call = call;
    cmd->idx = call->sent++;
    cmd->script = -1;
    call->pending++;
    store_stats.commands++;
    if (call->link->ac == NULL || send_argv(call->link->ac, on_command_reply, cmd, argc, argv, lens) != REDIS_OK) {
        /* The connection is gone or disconnecting; answer like a lost connection. */
        on_command_reply(NULL, NULL, cmd);
    }
}

static void send_script(store_call_t *call, struct st_cmd_t *cmd, int as_eval)
{
    const char *argv[3 + STORE_SCRIPT_MAX_ARGS];
    size_t lens[3 + STORE_SCRIPT_MAX_ARGS];
    char nk[12];
    int n = store_script_argv((store_script_t)cmd->script, as_eval, cmd->nkeys, cmd->nargs,
                              (const char *const *)cmd->argv, cmd->lens, argv, lens, nk);
    store_stats.commands++;
    if (call->link->ac == NULL || send_argv(call->link->ac, on_command_reply, cmd, n, argv, lens) != REDIS_OK) {
        cmd->retried = 1;
        on_command_reply(NULL, NULL, cmd);
    }
}

void store_call_script(store_call_t *call, store_script_t script, int nkeys, int nargs, const char **argv,
                       const size_t *lens)
{
    int total = nkeys + nargs;
    if (total > STORE_SCRIPT_MAX_ARGS)
        abort(); /* programmer error: scripts take few arguments */
    /* One allocation for the command, its argument pointers and lengths, and a NUL-terminated copy of each argument
     * (kept for a retry as EVAL): a comment's create script has 21 arguments, and 21 mallocs showed in profiles. */
    size_t bytes = 0;
    for (int i = 0; i < total; ++i)
        bytes += lens[i] + 1;
    struct st_cmd_t *cmd = malloc(sizeof(*cmd) + (size_t)total * (sizeof(char *) + sizeof(size_t)) + bytes);
    if (cmd == NULL)
        abort();
    memset(cmd, 0, sizeof(*cmd));
    cmd->call = call;
    cmd->idx = call->sent++;
    cmd->script = (int)script;
    cmd->nkeys = nkeys;
    cmd->nargs = nargs;
    cmd->argv = (char **)(cmd + 1);
    cmd->lens = (size_t *)(cmd->argv + total);
    char *p = (char *)(cmd->lens + total);
    for (int i = 0; i < total; ++i) {
        cmd->argv[i] = p;
        memcpy(p, argv[i], lens[i]);
        p[lens[i]] = '\0';
        cmd->lens[i] = lens[i];
        p += lens[i] + 1;
    }
    call->pending++;
    send_script(call, cmd, 0);
}

/* --- grouped script calls (group commit, see store_internal.h) --- */

/* The arguments are kept as the RESP bulk strings they are sent as ("$<len>\r\n<bytes>\r\n"), keys and head once,
 * then each call's, after HEAD_ROOM bytes left free for the command's own head (array length, EVALSHA, sha, key
 * count), written in front of them at send: the whole command then goes to hiredis from this buffer without being
 * copied and formatted again (a group of 64 comments is ~100 KB). */
#define GROUP_HEAD_ROOM 160
#define GROUP_MAX_KEYS 16
/* A group's hash writes (store_call_script_grouped_hset): room for "*<count>\r\n$4\r\nHSET\r\n" before the key. */
#define SET_HEAD_ROOM 48

/* One hash a group writes before its script: HSET key field value [field value ...]. */
struct st_group_set_t {
    char *buf; /* SET_HEAD_ROOM free bytes, then the key and every call's field and value, as RESP */
    size_t used, cap;
};

struct st_group_t {
    struct st_group_t *next;
    store_t *store;
    struct st_store_link_t *link; /* the connection it was sent on */
    store_script_t script;
    const char *command; /* a plain command's name (store_call_command_grouped), or NULL: SCRIPT's group */
    int each;            /* answer elements per call; 0: the whole answer goes to every call */
    int nkeys, nhead, keach, neach;
    int retried;
    size_t n; /* calls joined */
    store_call_t *calls[STORE_GROUP_MAX];
    size_t idx[STORE_GROUP_MAX];
    size_t nargs;
    size_t key_off[GROUP_MAX_KEYS], key_len[GROUP_MAX_KEYS]; /* where each key's bytes are, to match a call's */
    size_t keys_end;                                         /* where the shared keys end in buf */
    char *buf;
    size_t used, cap;
    char *kbuf; /* the calls' own keys (KEACH each), moved in after the shared keys at send */
    size_t kused, kcap;
    int nset; /* hashes written before the script, in one MULTI/EXEC with it */
    struct st_group_set_t sets[STORE_GROUP_MAX_SETS];
};

/* Appends ARG as a RESP bulk string to *BUF (USED bytes of CAP, grown as needed); returns where its bytes start. */
static size_t resp_push(char **buf, size_t *used, size_t *cap, const char *arg, size_t len)
{
    size_t need = *used + len + 32;
    if (need > *cap) {
        *cap = need * 2;
        if ((*buf = realloc(*buf, *cap)) == NULL)
            abort();
    }
    *used += resp_number(*buf + *used, '$', len);
    size_t at = *used;
    memcpy(*buf + *used, arg, len);
    *used += len;
    (*buf)[(*used)++] = '\r';
    (*buf)[(*used)++] = '\n';
    return at;
}

static void group_push(struct st_group_t *g, const char *arg, size_t len)
{
    size_t at = resp_push(&g->buf, &g->used, &g->cap, arg, len);
    if (g->nargs < (size_t)g->nkeys) {
        g->key_off[g->nargs] = at;
        g->key_len[g->nargs] = len;
        g->keys_end = g->used;
    }
    g->nargs++;
}

/* The calls' own keys go between the shared keys and the arguments: moved in once, before the first send. */
static void group_merge_keys(struct st_group_t *g)
{
    if (g->kused == 0)
        return;
    size_t used = g->used + g->kused;
    char *buf = malloc(used);
    if (buf == NULL)
        abort();
    memcpy(buf, g->buf, g->keys_end);
    memcpy(buf + g->keys_end, g->kbuf, g->kused);
    memcpy(buf + g->keys_end + g->kused, g->buf + g->keys_end, g->used - g->keys_end);
    free(g->buf);
    free(g->kbuf);
    g->buf = buf;
    g->used = g->cap = used;
    g->kbuf = NULL;
    g->kused = g->kcap = 0;
}

static int group_has_keys(struct st_group_t *g, const char **argv, const size_t *lens)
{
    for (int i = 0; i < g->nkeys; ++i)
        if (g->key_len[i] != lens[i] || memcmp(g->buf + g->key_off[i], argv[i], lens[i]) != 0)
            return 0;
    return 1;
}

static void group_free(struct st_group_t *g)
{
    for (int j = 0; j < g->nset; ++j)
        free(g->sets[j].buf);
    free(g->buf);
    free(g->kbuf);
    free(g);
}

/* Writes a command's head ("*<argc>", then NAME as a bulk string) into the SET_HEAD_ROOM bytes before AT; returns
 * where the command starts. */
static char *set_head(char *buf, size_t at, size_t argc, const char *name, size_t namelen)
{
    char head[SET_HEAD_ROOM];
    size_t n = resp_number(head, '*', argc);
    n += resp_number(head + n, '$', namelen);
    memcpy(head + n, name, namelen);
    n += namelen;
    head[n++] = '\r';
    head[n++] = '\n';
    memcpy(buf + at - n, head, n);
    return buf + at - n;
}

/* The bulk string at *AT in a buffer of ours ("$<len>\r\n<bytes>\r\n"): its bytes and length; moves *AT past it. */
static const char *resp_next(const char **at, size_t *len)
{
    const char *p = *at + 1;
    size_t n = 0;
    while (*p != '\r')
        n = n * 10 + (size_t)(*p++ - '0');
    *len = n;
    *at = p + 2 + n + 2;
    return p + 2;
}

/* The group's transaction ran its hash writes but not its script (an error answer): the writes are taken back, so
 * that no field is left that the script never saw. The HDEL is made from the HSET's own buffer (key, then fields
 * without their values) here, on this rare path, rather than kept alongside for every call. Best effort: if the
 * link is gone, so is the chance. */
static void group_undo_sets(struct st_group_t *g)
{
    if (g->link == NULL || g->link->ac == NULL)
        return;
    for (int j = 0; j < g->nset; ++j) {
        const struct st_group_set_t *st = &g->sets[j];
        char *del = NULL;
        size_t used = SET_HEAD_ROOM, cap = 0, len;
        const char *at = st->buf + SET_HEAD_ROOM, *arg = resp_next(&at, &len);
        resp_push(&del, &used, &cap, arg, len); /* the key */
        while (at < st->buf + st->used) {
            arg = resp_next(&at, &len);
            resp_push(&del, &used, &cap, arg, len); /* a field */
            resp_next(&at, &len);                   /* its value */
        }
        char *start = set_head(del, SET_HEAD_ROOM, 2 + g->n, "HDEL", 4);
        if (redisAsyncFormattedCommand(g->link->ac, NULL, NULL, start, (size_t)(del + used - start)) == REDIS_OK)
            store_stats.commands++;
        free(del);
    }
    core_log_warn("redis: a grouped script failed after its hash writes; %zu calls' fields taken back", g->n);
}

/* EXEC's answer for a group with hash writes: the script's element, or the first hash write's error; an answer of
 * another shape (EXECABORT, none) as it is. */
static redisReply *group_exec_answer(struct st_group_t *g, redisReply *r)
{
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != (size_t)g->nset + 1)
        return r;
    for (int j = 0; j < g->nset; ++j)
        if (r->element[j]->type == REDIS_REPLY_ERROR)
            return r->element[j];
    return r->element[g->nset];
}

/* Shares REPLY out: when it is an array of EACH elements per call, call i gets its slice (element i when EACH is 1,
 * else an array of EACH elements, valid while its handler runs); else REPLY itself (an error answer; any answer when
 * EACH is 0) or NULL (no answer) to each. */
static void group_deliver(struct st_group_t *g, redisReply *reply)
{
    size_t each = (size_t)g->each;
    int shaped = each != 0 && reply != NULL && reply->type == REDIS_REPLY_ARRAY && reply->elements == g->n * each;
    count_error(reply);
    if (each != 0 && reply != NULL && !shaped && reply->type != REDIS_REPLY_ERROR) {
        store_stats.errors++;
        core_log_warn("redis: a grouped call of %zu got an answer of another shape", g->n);
    }
    for (size_t i = 0; i < g->n; ++i) {
        redisReply *r = reply, slice;
        if (shaped && each == 1) {
            r = reply->element[i];
        } else if (shaped) {
            memset(&slice, 0, sizeof(slice));
            slice.type = REDIS_REPLY_ARRAY;
            slice.elements = each;
            slice.element = reply->element + i * each;
            r = &slice;
        }
        deliver(g->calls[i], g->idx[i], r);
    }
    group_free(g);
}

static void group_send(struct st_group_t *g, int as_eval);

static void on_group_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    struct st_group_t *g = privdata;
    redisReply *reply = g->nset > 0 ? group_exec_answer(g, r) : r;
    /* With hash writes, NOSCRIPT comes inside EXEC's answer after the writes ran: the retry writes the same fields
     * again (the same bytes), then runs the script as EVAL. */
    if (!g->retried && g->command == NULL && is_noscript(reply) && g->link->ac != NULL) {
        g->retried = 1;
        group_send(g, 1);
        return;
    }
    if (reply != r && reply->type == REDIS_REPLY_ERROR)
        group_undo_sets(g);
    group_deliver(g, reply);
}

static void group_send(struct st_group_t *g, int as_eval)
{
    /* Any ready connection: the calls' other commands may travel on another one, and nothing orders them. A retry
     * as EVAL goes where the NOSCRIPT answer came from. */
    if (!as_eval)
        g->link = pick_link(g->store, g->store->next_link++);
    if (g->link == NULL || g->link->ac == NULL) {
        group_deliver(g, NULL);
        return;
    }
    /* The command's head: the array length, then EVALSHA, the sha (or EVAL and the source, a retry after NOSCRIPT,
     * which is rare and formatted apart), the key count; or a plain command's name. */
    const char *h[3];
    size_t hl[3];
    char nk[12], head[GROUP_HEAD_ROOM + 1];
    int nh = 1;
    group_merge_keys(g);
    if (g->command != NULL) {
        h[0] = g->command;
        hl[0] = strlen(g->command);
    } else {
        nh = store_script_head(g->script, as_eval, g->nkeys + (int)g->n * g->keach, h, hl, nk);
    }
    size_t headlen = resp_number(head, '*', (size_t)nh + g->nargs);
    char *extra = NULL, *cmd;
    size_t total = 0;
    for (int i = 0; i < nh; ++i)
        total += hl[i] + 25; /* "$", up to 20 digits, CRLF, the bytes, CRLF */
    if (!as_eval && total + headlen <= GROUP_HEAD_ROOM) {
        cmd = head;
    } else if ((cmd = extra = malloc(headlen + total)) == NULL) {
        abort();
    } else {
        memcpy(cmd, head, headlen);
    }
    for (int i = 0; i < nh; ++i) {
        headlen += resp_number(cmd + headlen, '$', hl[i]);
        memcpy(cmd + headlen, h[i], hl[i]);
        headlen += hl[i];
        cmd[headlen++] = '\r';
        cmd[headlen++] = '\n';
    }
    store_stats.commands++;
    store_stats.groups++;
    store_stats.grouped_calls += g->n;
    /* With hash writes: MULTI, one HSET per hash, the script, EXEC; only EXEC's answer is read (the others are +OK
     * and +QUEUED). Nothing else can come between them on the link: they are queued here, one after the other. */
    redisCallbackFn *fn = on_group_reply;
    void *priv = g;
    int ret = REDIS_OK;
    if (g->nset > 0) {
        fn = NULL;
        priv = NULL;
        ret = redisAsyncFormattedCommand(g->link->ac, NULL, NULL, "*1\r\n$5\r\nMULTI\r\n", 15);
        for (int j = 0; j < g->nset && ret == REDIS_OK; ++j) {
            struct st_group_set_t *st = &g->sets[j];
            char *start = set_head(st->buf, SET_HEAD_ROOM, 2 + 2 * g->n, "HSET", 4);
            ret = redisAsyncFormattedCommand(g->link->ac, NULL, NULL, start, (size_t)(st->buf + st->used - start));
        }
        store_stats.commands += 2 + g->nset;
    }
    if (ret != REDIS_OK) {
        free(extra);
    } else if (extra == NULL) {
        /* In place: the head goes just before the arguments. */
        char *start = g->buf + GROUP_HEAD_ROOM - headlen;
        memcpy(start, cmd, headlen);
        ret = redisAsyncFormattedCommand(g->link->ac, fn, priv, start, headlen + g->used - GROUP_HEAD_ROOM);
    } else {
        size_t n = headlen + g->used - GROUP_HEAD_ROOM;
        if ((extra = realloc(extra, n)) == NULL)
            abort();
        memcpy(extra + headlen, g->buf + GROUP_HEAD_ROOM, g->used - GROUP_HEAD_ROOM);
        ret = redisAsyncFormattedCommand(g->link->ac, fn, priv, extra, n);
        free(extra);
    }
    if (ret == REDIS_OK && g->nset > 0)
        ret = redisAsyncFormattedCommand(g->link->ac, on_group_reply, g, "*1\r\n$4\r\nEXEC\r\n", 14);
    if (ret != REDIS_OK) {
        g->retried = 1;
        group_deliver(g, NULL);
    }
}

static void groups_flush(store_t *s)
{
    while (s->groups != NULL) {
        struct st_group_t *g = s->groups;
        s->groups = g->next;
        group_send(g, 0);
    }
}

static void groups_fail(store_t *s)
{
    while (s->groups != NULL) {
        struct st_group_t *g = s->groups;
        s->groups = g->next;
        group_deliver(g, NULL);
    }
}

static void on_turn_end(h2o_timeout_entry_t *entry)
{
    groups_flush(H2O_STRUCT_FROM_MEMBER(store_t, turn_end_entry, entry));
}

static int same_command(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* CALL joins the group of this turn with the same script or command, shape and shared keys (made if there is none);
 * sent when it is full. */
static void group_join(store_call_t *call, store_script_t script, const char *command, int each, int nkeys, int nhead,
                       int keach, int neach, int nset, const int *set_keys, const char **argv, const size_t *lens)
{
    store_t *s = call->store;
    struct st_group_t **link = &s->groups, *g;
    while ((g = *link) != NULL) {
        if (g->script == script && same_command(g->command, command) && g->each == each && g->nkeys == nkeys &&
            g->nhead == nhead && g->keach == keach && g->neach == neach && g->nset == nset &&
            group_has_keys(g, argv, lens))
            break;
        link = &g->next;
    }
    if (g == NULL) {
        if (nkeys > GROUP_MAX_KEYS || nset > STORE_GROUP_MAX_SETS || (g = calloc(1, sizeof(*g))) == NULL)
            abort();
        g->used = g->keys_end = GROUP_HEAD_ROOM;
        g->store = s;
        g->script = script;
        g->command = command;
        g->each = each;
        g->nkeys = nkeys;
        g->nhead = nhead;
        g->keach = keach;
        g->neach = neach;
        g->nset = nset;
        for (int j = 0; j < nset; ++j) {
            struct st_group_set_t *st = &g->sets[j];
            if (set_keys[j] < 0 || set_keys[j] >= nkeys)
                abort();
            st->used = SET_HEAD_ROOM;
            resp_push(&st->buf, &st->used, &st->cap, argv[set_keys[j]], lens[set_keys[j]]);
        }
        for (int i = 0; i < nkeys + nhead; ++i)
            group_push(g, argv[i], lens[i]);
        *link = g;
        if (!h2o_timeout_is_linked(&s->turn_end_entry))
            h2o_timeout_link(s->loop, &s->turn_end, &s->turn_end_entry);
    }
    const char **own = argv + nkeys + nhead;
    const size_t *own_lens = lens + nkeys + nhead;
    for (int i = 0; i < keach; ++i, g->nargs++)
        resp_push(&g->kbuf, &g->kused, &g->kcap, own[i], own_lens[i]);
    for (int i = keach; i < keach + neach; ++i)
        group_push(g, own[i], own_lens[i]);
    for (int j = 0; j < nset; ++j) {
        struct st_group_set_t *st = &g->sets[j];
        const char **fv = own + keach + neach + 2 * j;
        const size_t *fvl = own_lens + keach + neach + 2 * j;
        resp_push(&st->buf, &st->used, &st->cap, fv[0], fvl[0]);
        resp_push(&st->buf, &st->used, &st->cap, fv[1], fvl[1]);
    }
    g->calls[g->n] = call;
    g->idx[g->n++] = call->sent++;
    call->pending++;
    if (g->n == STORE_GROUP_MAX) {
        *link = g->next;
        group_send(g, 0);
    }
}

void store_call_script_grouped(store_call_t *call, store_script_t script, int nkeys, int nhead, int keach, int neach,
                               const char **argv, const size_t *lens)
{
    group_join(call, script, NULL, 1, nkeys, nhead, keach, neach, 0, NULL, argv, lens);
}

void store_call_script_grouped_hset(store_call_t *call, store_script_t script, int nkeys, int nhead, int keach,
                                    int neach, int nset, const int *set_keys, const char **argv, const size_t *lens)
{
    group_join(call, script, NULL, 1, nkeys, nhead, keach, neach, nset, set_keys, argv, lens);
}

void store_call_command_grouped(store_call_t *call, const char *name, int nkeys, int neach, int each, const char **argv,
                                const size_t *lens)
{
    group_join(call, STORE_SCRIPT__COUNT, name, each, nkeys, 0, 0, neach, 0, NULL, argv, lens);
}

/* --- ping (readiness) --- */

static int on_ping_reply(store_call_t *call, size_t idx, redisReply *reply)
{
    return reply->type == REDIS_REPLY_STATUS ? 0 : CORE_ERR_UNAVAILABLE;
}

static void on_ping_done(store_call_t *call, int err)
{
    ((store_ping_cb)call->cb)(call->req, err, call->data);
}

int store_ping(store_t *store, h2o_req_t *req, store_ping_cb cb, void *data)
{
    store_call_t *call = store_call_start(store, req, on_ping_reply, on_ping_done);
    if (call == NULL)
        return CORE_ERR_UNAVAILABLE;
    call->cb = (void *)cb;
    call->data = data;
    const char *argv[] = {"PING"};
    size_t lens[] = {4};
    store_call_command(call, 1, argv, lens);
    return 0;
}
