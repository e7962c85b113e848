/* Bulk access for `parleyd import` and `parleyd export` (see store.h for each call's contract).
 *
 * Why a connection of its own: the tools run without the HTTP server and its event loops, and they move many
 * comments at once, so a blocking redisContext that pipelines a batch of commands (redisAppendCommandArgv, then one
 * redisGetReply per command) is the simplest fast tool. With the embedded Redis's `appendfsync always`, Redis
 * syncs once per batch of commands it reads together, not once per comment, which is where the speed comes from.
 *
 * Import writes go through lua/comment_import.lua, one call per comment: the source id mapping (IMPORTED), the id,
 * the parent's Parley id and every thread index are decided inside Redis, so commands of one batch never wait for
 * each other's replies and a parent earlier in the batch is visible to its replies. The site-level entries live
 * under another hash tag, so they go in a second pipelined round trip once the ids are known. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include "core/core_error.h"
#include "store/store_internal.h"

#define IO_TIMEOUT_MS 10000
#define SCAN_COUNT "1000"

struct st_store_bulk_t {
    redisContext *c;
    char *prefix;
    h2o_mem_pool_t pool; /* key strings of one call; cleared at the end of each */
    int scripts_loaded;
};

static void fail(char *errbuf, size_t errlen, const char *what, const char *detail)
{
    snprintf(errbuf, errlen, "redis: %s: %s", what, detail != NULL ? detail : "no reply");
}

static redisReply *command(store_bulk_t *b, int argc, const char **argv, const size_t *lens, char *errbuf,
                           size_t errlen)
{
    redisReply *r = redisCommandArgv(b->c, argc, argv, lens);
    if (r == NULL) {
        fail(errbuf, errlen, argv[0], b->c->errstr);
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        fail(errbuf, errlen, argv[0], r->str);
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

int store_bulk_open(const store_target_t *t, const char *prefix, store_bulk_t **out, char *errbuf, size_t errlen)
{
    struct timeval tv = {IO_TIMEOUT_MS / 1000, 0};
    redisContext *c = t->unix_path != NULL ? redisConnectUnixWithTimeout(t->unix_path, tv)
                                           : redisConnectWithTimeout(t->host, t->port, tv);
    if (c == NULL)
        abort();
    if (c->err != 0) {
        snprintf(errbuf, errlen, "redis: cannot connect to %s: %s", t->unix_path != NULL ? t->unix_path : t->host,
                 c->errstr);
        redisFree(c);
        return CORE_ERR_UNAVAILABLE;
    }
    redisSetTimeout(c, tv);
    store_bulk_t *b = calloc(1, sizeof(*b));
    if (b == NULL)
        abort();
    b->c = c;
    b->prefix = strdup(prefix);
    if (b->prefix == NULL)
        abort();
    h2o_mem_init_pool(&b->pool);
    store_cmd2_t hello[2];
    char db[12];
    for (size_t i = 0, n = store_target_hello(t, hello, db); i < n; ++i) {
        redisReply *r = command(b, 2, hello[i].argv, hello[i].lens, errbuf, errlen);
        if (r == NULL)
            goto Error;
        freeReplyObject(r);
    }
    *out = b;
    return 0;
Error:
    store_bulk_close(b);
    return CORE_ERR_UNAVAILABLE;
}

void store_bulk_close(store_bulk_t *b)
{
    if (b == NULL)
        return;
    redisFree(b->c);
    h2o_mem_clear_pool(&b->pool);
    free(b->prefix);
    free(b);
}

static h2o_iovec_t thread_key(store_bulk_t *b, store_key_t key, h2o_iovec_t site, h2o_iovec_t url_hash)
{
    h2o_iovec_t parts[] = {site, url_hash};
    return store_key_build(&b->pool, b->prefix, key, 2, parts);
}

/* Appends EVALSHA of SCRIPT (ARGV = keys then arguments). A NOSCRIPT reply is handled by the reader (load_all). */
static void append_script(store_bulk_t *b, store_script_t script, int nkeys, int nargs, const char **argv,
                          const size_t *lens)
{
    const char *a[3 + STORE_SCRIPT_MAX_ARGS];
    size_t l[3 + STORE_SCRIPT_MAX_ARGS];
    char nk[12];
    int n = store_script_argv(script, false, nkeys, nargs, argv, lens, a, l, nk);
    redisAppendCommandArgv(b->c, n, a, l);
}

/* SCRIPT LOAD of the scripts the tools run, once per connection before the first batch: a pipelined EVALSHA cannot
 * be retried one by one as store_sync.c does. */
static int load_scripts(store_bulk_t *b, char *errbuf, size_t errlen)
{
    if (b->scripts_loaded)
        return 0;
    static const store_script_t used[] = {STORE_SCRIPT_comment_import, STORE_SCRIPT_user_import};
    for (size_t i = 0; i < sizeof(used) / sizeof(used[0]); ++i) {
        size_t len;
        const char *src = store_script_source(used[i], &len);
        const char *argv[] = {"SCRIPT", "LOAD", src};
        size_t lens[] = {6, 4, len};
        redisReply *r = command(b, 3, argv, lens, errbuf, errlen);
        if (r == NULL)
            return CORE_ERR_UNAVAILABLE;
        freeReplyObject(r);
    }
    b->scripts_loaded = 1;
    return 0;
}

/* Reads N pipelined replies; each goes to ON_REPLY (which may be NULL) with its index. The first error is reported,
 * but every reply is read, so the connection stays in step. */
static int read_replies(store_bulk_t *b, size_t n, int (*on_reply)(void *ctx, size_t i, redisReply *r), void *ctx,
                        const char *what, char *errbuf, size_t errlen)
{
    int rc = 0;
    for (size_t i = 0; i < n; ++i) {
        void *p = NULL;
        if (redisGetReply(b->c, &p) != REDIS_OK) {
            fail(errbuf, errlen, what, b->c->errstr);
            return CORE_ERR_UNAVAILABLE;
        }
        redisReply *r = p;
        if (rc == 0 && r->type == REDIS_REPLY_ERROR) {
            fail(errbuf, errlen, what, r->str);
            rc = CORE_ERR_UNAVAILABLE;
        } else if (rc == 0 && on_reply != NULL && on_reply(ctx, i, r) != 0) {
            fail(errbuf, errlen, what, "unexpected reply");
            rc = CORE_ERR_UNAVAILABLE;
        }
        freeReplyObject(r);
    }
    return rc;
}

static int on_import_reply(void *ctx, size_t i, redisReply *r)
{
    store_import_t *it = (store_import_t *)ctx + i;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 5 || r->element[0]->type != REDIS_REPLY_STRING ||
        r->element[1]->type != REDIS_REPLY_INTEGER || r->element[3]->type != REDIS_REPLY_INTEGER ||
        r->element[4]->type != REDIS_REPLY_STRING)
        return -1;
    /* The status the comment has now: for one imported before, a moderator may have changed it. */
    static const char *const known[] = {"approved", "pending", "spam", "deleted"};
    for (size_t k = 0; k < 4; ++k)
        if (h2o_memis(r->element[4]->str, r->element[4]->len, known[k], strlen(known[k])))
            it->status = known[k];
    const redisReply *w = r->element[0];
    if (h2o_memis(w->str, w->len, H2O_STRLIT("ok")))
        it->result = STORE_IMPORT_OK;
    else if (h2o_memis(w->str, w->len, H2O_STRLIT("exists")))
        it->result = STORE_IMPORT_EXISTS;
    else
        it->result = STORE_IMPORT_DUPLICATE;
    it->id = (uint64_t)r->element[1]->integer;
    it->created_thread = (r->element[3]->integer & 1) != 0;
    it->orphan = (r->element[3]->integer & 2) != 0;
    return 0;
}

int store_bulk_import(store_bulk_t *b, store_import_t *items, size_t n, char *errbuf, size_t errlen)
{
    if (load_scripts(b, errbuf, errlen) != 0)
        return CORE_ERR_UNAVAILABLE;
    for (size_t i = 0; i < n; ++i) {
        store_import_t *it = items + i;
        const store_share_ref_t *t = it->thread;
        static const store_key_t keys[] = {STORE_KEY_THREAD, STORE_KEY_COMMENTS,   STORE_KEY_ROOTS, STORE_KEY_ROOTS_TOP,
                                           STORE_KEY_TREE,   STORE_KEY_PENDING,    STORE_KEY_DUPES, STORE_KEY_APPROVED,
                                           STORE_KEY_PUBLIC, STORE_KEY_PENDING_BY, STORE_KEY_VOTES, STORE_KEY_IMPORTED};
        const char *argv[12 + 10];
        size_t lens[12 + 10];
        for (size_t k = 0; k < 12; ++k) {
            h2o_iovec_t key = thread_key(b, keys[k], t->site, t->url_hash);
            argv[k] = key.base;
            lens[k] = key.len;
        }
        char want[24], depth[16];
        int wl = snprintf(want, sizeof(want), "%llu", (unsigned long long)it->want_id);
        int dl = snprintf(depth, sizeof(depth), "%u", it->max_depth);
        const char *args[] = {it->source,
                              it->parent_source,
                              want,
                              depth,
                              it->json,
                              it->dupe_hash,
                              it->check_dupes ? "1" : "0",
                              t->canonical.base,
                              it->title != NULL ? it->title : "",
                              it->votes != NULL ? it->votes : ""};
        size_t alens[] = {strlen(args[0]), strlen(args[1]), (size_t)wl, (size_t)dl,
                          it->json_len,    strlen(args[5]), 1,          t->canonical.len,
                          strlen(args[8]), strlen(args[9])};
        for (size_t k = 0; k < 10; ++k) {
            argv[12 + k] = args[k];
            lens[12 + k] = alens[k];
        }
        append_script(b, STORE_SCRIPT_comment_import, 12, 10, argv, lens);
    }
    int rc = read_replies(b, n, on_import_reply, items, "comment_import.lua", errbuf, errlen);
    h2o_mem_clear_pool(&b->pool);
    if (rc != 0)
        return rc;

    /* The site-level entries, for comments stored now and for those found already imported (a run that stopped
     * between the two round trips is completed by the next). ZADD and SADD of what is there change nothing. */
    size_t sent = 0;
    for (size_t i = 0; i < n; ++i) {
        store_import_t *it = items + i;
        if (it->result == STORE_IMPORT_DUPLICATE)
            continue;
        const store_share_ref_t *t = it->thread;
        char member[96], score[24];
        int ml = snprintf(member, sizeof(member), "%.*s:%llu", (int)t->url_hash.len, t->url_hash.base,
                          (unsigned long long)it->id);
        int sl = snprintf(score, sizeof(score), "%llu", (unsigned long long)it->created_ms);
        h2o_iovec_t qparts[] = {t->site, h2o_iovec_init(it->status, strlen(it->status))};
        h2o_iovec_t q = store_key_build(&b->pool, b->prefix, STORE_KEY_MODQ, 2, qparts);
        const char *zadd[] = {"ZADD", q.base, score, member};
        size_t zl[] = {4, q.len, (size_t)sl, (size_t)ml};
        redisAppendCommandArgv(b->c, 4, zadd, zl);
        ++sent;
        if (strcmp(it->status, "approved") == 0 && it->ehash != NULL && it->ehash[0] != '\0') {
            h2o_iovec_t ae = store_key_build(&b->pool, b->prefix, STORE_KEY_APPROVED_EMAILS, 1, &t->site);
            const char *sadd[] = {"SADD", ae.base, it->ehash};
            size_t sal[] = {4, ae.len, strlen(it->ehash)};
            redisAppendCommandArgv(b->c, 3, sadd, sal);
            ++sent;
        }
        /* The comment's reference "site:url-hash:id" under its address's hash (EMAIL_COMMENTS, for "manage my
         * comments", as store_comment_create writes it) and under its author's account. */
        char entry[160];
        int el = snprintf(entry, sizeof(entry), "%.*s:%.*s", (int)t->site.len, t->site.base, ml, member);
        const struct {
            store_key_t key;
            const char *owner;
        } lists[] = {{STORE_KEY_EMAIL_COMMENTS, it->ehash}, {STORE_KEY_USER_COMMENTS, it->user}};
        for (size_t k = 0; k < sizeof(lists) / sizeof(lists[0]); ++k) {
            if (lists[k].owner == NULL || lists[k].owner[0] == '\0')
                continue;
            h2o_iovec_t owner = h2o_iovec_init(lists[k].owner, strlen(lists[k].owner));
            h2o_iovec_t lk = store_key_build(&b->pool, b->prefix, lists[k].key, 1, &owner);
            const char *sadd[] = {"SADD", lk.base, entry};
            size_t sal[] = {4, lk.len, (size_t)el};
            redisAppendCommandArgv(b->c, 3, sadd, sal);
            ++sent;
        }
    }
    rc = read_replies(b, sent, NULL, NULL, "site entries", errbuf, errlen);
    h2o_mem_clear_pool(&b->pool);
    return rc;
}

int store_bulk_thread_set(store_bulk_t *b, const store_share_ref_t *t, const char *const *fv, size_t nfv, char *errbuf,
                          size_t errlen)
{
    h2o_iovec_t th = thread_key(b, STORE_KEY_THREAD, t->site, t->url_hash);
    const char *nx[] = {"HSETNX", th.base, "url", t->canonical.base};
    size_t nxl[] = {6, th.len, 3, t->canonical.len};
    redisAppendCommandArgv(b->c, 4, nx, nxl);
    size_t sent = 1;
    if (nfv >= 2) {
        const char **argv = h2o_mem_alloc_pool(&b->pool, sizeof(*argv) * (nfv + 2));
        size_t *lens = h2o_mem_alloc_pool(&b->pool, sizeof(*lens) * (nfv + 2));
        argv[0] = "HSET";
        lens[0] = 4;
        argv[1] = th.base;
        lens[1] = th.len;
        for (size_t i = 0; i < nfv; ++i) {
            argv[2 + i] = fv[i];
            lens[2 + i] = strlen(fv[i]);
        }
        redisAppendCommandArgv(b->c, (int)(nfv + 2), argv, lens);
        ++sent;
        /* A changed thread must not be served from a page cache that validated against the old version. */
        const char *ver[] = {"HINCRBY", th.base, "ver", "1"};
        size_t verl[] = {7, th.len, 3, 1};
        redisAppendCommandArgv(b->c, 4, ver, verl);
        ++sent;
    }
    int rc = read_replies(b, sent, NULL, NULL, "thread fields", errbuf, errlen);
    h2o_mem_clear_pool(&b->pool);
    return rc;
}

int store_bulk_user_import(store_bulk_t *b, const char *id, const char *name_lc, const char *email_lc, uint64_t exp_ms,
                           uint64_t now_ms, const char *const *fv, size_t nfv, const char **result, char *errbuf,
                           size_t errlen)
{
    if (nfv > 26)
        abort(); /* programmer error: USER has fewer fields */
    h2o_iovec_t idv = h2o_iovec_init(id, strlen(id));
    h2o_iovec_t names = store_key_build(&b->pool, b->prefix, STORE_KEY_USER_NAMES, 0, NULL);
    h2o_iovec_t emails = store_key_build(&b->pool, b->prefix, STORE_KEY_USER_EMAILS, 0, NULL);
    h2o_iovec_t user = store_key_build(&b->pool, b->prefix, STORE_KEY_USER, 1, &idv);
    char exp[24], now[24];
    int el = snprintf(exp, sizeof(exp), "%llu", (unsigned long long)exp_ms);
    int nl = snprintf(now, sizeof(now), "%llu", (unsigned long long)now_ms);
    const char *argv[3 + 5 + 26] = {names.base, emails.base, user.base, id, name_lc, email_lc, exp, now};
    size_t lens[3 + 5 + 26] = {names.len,       emails.len,       user.len,   idv.len,
                               strlen(name_lc), strlen(email_lc), (size_t)el, (size_t)nl};
    for (size_t i = 0; i < nfv; ++i) {
        argv[8 + i] = fv[i];
        lens[8 + i] = strlen(fv[i]);
    }
    if (load_scripts(b, errbuf, errlen) != 0) {
        h2o_mem_clear_pool(&b->pool);
        return CORE_ERR_UNAVAILABLE;
    }
    append_script(b, STORE_SCRIPT_user_import, 3, (int)(5 + nfv), argv, lens);
    *result = "conflict";
    void *p = NULL;
    int rc = 0;
    if (redisGetReply(b->c, &p) != REDIS_OK) {
        fail(errbuf, errlen, "user_import.lua", b->c->errstr);
        rc = CORE_ERR_UNAVAILABLE;
    } else {
        redisReply *r = p;
        if (r->type != REDIS_REPLY_STATUS && r->type != REDIS_REPLY_STRING) {
            fail(errbuf, errlen, "user_import.lua", r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
            rc = CORE_ERR_UNAVAILABLE;
        } else {
            static const char *const words[] = {"ok", "exists", "conflict", "expired"};
            for (size_t i = 0; i < 4; ++i)
                if (strcmp(r->str, words[i]) == 0)
                    *result = words[i];
        }
        freeReplyObject(r);
    }
    h2o_mem_clear_pool(&b->pool);
    return rc;
}

/* Escapes the glob characters of S for a SCAN pattern, into the pool. */
static const char *glob_escape(store_bulk_t *b, const char *s, size_t len, size_t *out_len)
{
    char *out = h2o_mem_alloc_pool(&b->pool, 2 * len + 1);
    size_t o = 0;
    for (size_t i = 0; i < len; ++i) {
        if (strchr("*?[]\\", s[i]) != NULL)
            out[o++] = '\\';
        out[o++] = s[i];
    }
    out[o] = '\0';
    *out_len = o;
    return out;
}

int store_bulk_thread_list(store_bulk_t *b, const char *site, char ***hashes, size_t *n, char *errbuf, size_t errlen)
{
    /* THREAD keys of the site: prefix "th:{" site ":" <hash> "}"; the pattern is built from the key table with a
     * marker in place of the hash, so the key's spelling stays in store_keys.def. */
    h2o_iovec_t parts[] = {h2o_iovec_init(site, strlen(site)), h2o_iovec_init(H2O_STRLIT("\x01"))};
    h2o_iovec_t key = store_key_build(&b->pool, b->prefix, STORE_KEY_THREAD, 2, parts);
    const char *mark = memchr(key.base, '\x01', key.len);
    size_t head_len = (size_t)(mark - key.base), tail_len = key.len - head_len - 1, eh, et;
    const char *head = glob_escape(b, key.base, head_len, &eh), *tail = glob_escape(b, mark + 1, tail_len, &et);
    char *pattern = h2o_mem_alloc_pool(&b->pool, eh + et + 2);
    memcpy(pattern, head, eh);
    pattern[eh] = '*';
    memcpy(pattern + eh + 1, tail, et);
    pattern[eh + 1 + et] = '\0';
    size_t cap = 64, count = 0;
    char **out = malloc(sizeof(*out) * cap);
    if (out == NULL)
        abort();
    char cursor[32] = "0";
    int rc = 0;
    do {
        const char *argv[] = {"SCAN", cursor, "MATCH", pattern, "COUNT", SCAN_COUNT, "TYPE", "hash"};
        size_t lens[] = {4, strlen(cursor), 5, strlen(pattern), 5, strlen(SCAN_COUNT), 4, 4};
        redisReply *r = command(b, 8, argv, lens, errbuf, errlen);
        if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
            r->element[0]->type != REDIS_REPLY_STRING || r->element[0]->len >= sizeof(cursor) ||
            r->element[1]->type != REDIS_REPLY_ARRAY) {
            if (r != NULL) {
                fail(errbuf, errlen, "SCAN", "unexpected reply");
                freeReplyObject(r);
            }
            rc = CORE_ERR_UNAVAILABLE;
            break;
        }
        memcpy(cursor, r->element[0]->str, r->element[0]->len);
        cursor[r->element[0]->len] = '\0';
        for (size_t k = 0; k < r->element[1]->elements; ++k) {
            const redisReply *e = r->element[1]->element[k];
            if (e->type != REDIS_REPLY_STRING || e->len < head_len + tail_len + 1 ||
                memcmp(e->str, key.base, head_len) != 0)
                continue;
            size_t hl = e->len - head_len - tail_len;
            if (count == cap) {
                cap *= 2;
                out = realloc(out, sizeof(*out) * cap);
                if (out == NULL)
                    abort();
            }
            out[count] = strndup(e->str + head_len, hl);
            if (out[count] == NULL)
                abort();
            ++count;
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    h2o_mem_clear_pool(&b->pool);
    if (rc != 0) {
        for (size_t i = 0; i < count; ++i)
            free(out[i]);
        free(out);
        return rc;
    }
    *hashes = out;
    *n = count;
    return 0;
}

static json_t *hash_to_object(const redisReply *r)
{
    json_t *o = json_object();
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2) {
        const redisReply *f = r->element[i], *v = r->element[i + 1];
        if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        char *name = strndup(f->str, f->len);
        if (name == NULL)
            abort();
        json_object_set_new(o, name, json_stringn(v->str, v->len));
        free(name);
    }
    return o;
}

/* Orders objects by their "id": integers by value, strings by their bytes. */
static int by_id(const void *a, const void *b)
{
    const json_t *x = json_object_get(*(json_t *const *)a, "id"), *y = json_object_get(*(json_t *const *)b, "id");
    if (json_is_string(x) && json_is_string(y))
        return strcmp(json_string_value(x), json_string_value(y));
    json_int_t i = json_integer_value(x), j = json_integer_value(y);
    return i < j ? -1 : i > j;
}

/* A JSON array of the values of OBJ sorted by their "id". */
static json_t *sorted_values(json_t *obj)
{
    size_t n = json_object_size(obj), i = 0;
    json_t **v = malloc(sizeof(*v) * (n + 1));
    if (v == NULL)
        abort();
    const char *k;
    json_t *x;
    json_object_foreach(obj, k, x) v[i++] = x;
    qsort(v, n, sizeof(*v), by_id);
    json_t *arr = json_array();
    for (i = 0; i < n; ++i)
        json_array_append(arr, v[i]);
    free(v);
    return arr;
}

struct st_thread_read_t {
    json_t *thread, *comments, *votes;
};

static int on_thread_reply(void *ctx, size_t i, redisReply *r)
{
    struct st_thread_read_t *t = ctx;
    if (r->type != REDIS_REPLY_ARRAY)
        return -1;
    if (i == 0) {
        t->thread = hash_to_object(r);
    } else if (i == 1) {
        json_t *byid = json_object();
        for (size_t k = 0; k + 1 < r->elements; k += 2) {
            const redisReply *f = r->element[k], *v = r->element[k + 1];
            json_t *c = v->type == REDIS_REPLY_STRING ? json_loadb(v->str, v->len, 0, NULL) : NULL;
            if (c == NULL || !json_is_object(c) || f->type != REDIS_REPLY_STRING) {
                json_decref(c);
                continue;
            }
            char *name = strndup(f->str, f->len);
            if (name == NULL)
                abort();
            json_object_set_new(byid, name, c);
            free(name);
        }
        t->comments = sorted_values(byid);
        json_decref(byid);
    } else {
        t->votes = json_object();
        for (size_t k = 0; k + 1 < r->elements; k += 2) {
            const redisReply *f = r->element[k], *v = r->element[k + 1];
            if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
                continue;
            char *name = strndup(f->str, f->len);
            if (name == NULL)
                abort();
            json_object_set_new(t->votes, name, json_integer(strtol(v->str, NULL, 10)));
            free(name);
        }
    }
    return 0;
}

int store_bulk_thread_read(store_bulk_t *b, const char *site, const char *url_hash, json_t **thread, json_t **comments,
                           json_t **votes, char *errbuf, size_t errlen)
{
    h2o_iovec_t s = h2o_iovec_init(site, strlen(site)), h = h2o_iovec_init(url_hash, strlen(url_hash));
    static const store_key_t keys[] = {STORE_KEY_THREAD, STORE_KEY_COMMENTS, STORE_KEY_VOTES};
    size_t n = comments != NULL ? 3 : 1;
    for (size_t i = 0; i < n; ++i) {
        h2o_iovec_t k = thread_key(b, keys[i], s, h);
        const char *argv[] = {"HGETALL", k.base};
        size_t lens[] = {7, k.len};
        redisAppendCommandArgv(b->c, 2, argv, lens);
    }
    struct st_thread_read_t t = {NULL, NULL, NULL};
    int rc = read_replies(b, n, on_thread_reply, &t, "HGETALL", errbuf, errlen);
    h2o_mem_clear_pool(&b->pool);
    if (rc != 0 || t.thread == NULL || (n == 3 && (t.comments == NULL || t.votes == NULL))) {
        json_decref(t.thread);
        json_decref(t.comments);
        json_decref(t.votes);
        if (rc == 0)
            fail(errbuf, errlen, "HGETALL", "unexpected reply");
        return CORE_ERR_UNAVAILABLE;
    }
    *thread = t.thread;
    if (comments != NULL) {
        *comments = t.comments;
        *votes = t.votes;
    }
    return 0;
}

static int on_user_reply(void *ctx, size_t i, redisReply *r)
{
    json_t *users = ctx;
    json_t *u = json_array_get(users, i);
    if (r->type != REDIS_REPLY_ARRAY)
        return -1;
    json_t *fields = hash_to_object(r);
    json_object_update(u, fields);
    json_decref(fields);
    return 0;
}

int store_bulk_user_list(store_bulk_t *b, json_t **users, char *errbuf, size_t errlen)
{
    /* USER_NAMES lists every account (verified or not yet expired) by its lower-cased name: "id|exp". */
    h2o_iovec_t names = store_key_build(&b->pool, b->prefix, STORE_KEY_USER_NAMES, 0, NULL);
    const char *argv[] = {"HGETALL", names.base};
    size_t lens[] = {7, names.len};
    redisReply *r = command(b, 2, argv, lens, errbuf, errlen);
    if (r == NULL) {
        h2o_mem_clear_pool(&b->pool);
        return CORE_ERR_UNAVAILABLE;
    }
    json_t *byid = json_object();
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2) {
        const redisReply *v = r->element[i + 1];
        const char *bar = v->type == REDIS_REPLY_STRING ? memchr(v->str, '|', v->len) : NULL;
        if (bar == NULL || bar == v->str || (size_t)(bar - v->str) > STORE_USER_ID_LEN)
            continue;
        char id[STORE_USER_ID_LEN + 1];
        memcpy(id, v->str, (size_t)(bar - v->str));
        id[bar - v->str] = '\0';
        json_object_set_new(byid, id, json_pack("{s:s}", "id", id));
    }
    freeReplyObject(r);
    json_t *list = sorted_values(byid);
    json_decref(byid);
    size_t n = json_array_size(list);
    for (size_t i = 0; i < n; ++i) {
        const char *id = json_string_value(json_object_get(json_array_get(list, i), "id"));
        h2o_iovec_t idv = h2o_iovec_init(id, strlen(id));
        h2o_iovec_t k = store_key_build(&b->pool, b->prefix, STORE_KEY_USER, 1, &idv);
        const char *a[] = {"HGETALL", k.base};
        size_t l[] = {7, k.len};
        redisAppendCommandArgv(b->c, 2, a, l);
    }
    int rc = read_replies(b, n, on_user_reply, list, "HGETALL", errbuf, errlen);
    h2o_mem_clear_pool(&b->pool);
    if (rc != 0) {
        json_decref(list);
        return rc;
    }
    /* Drop index entries whose account is gone (an unverified one that expired): they have only an "id". */
    json_t *out = json_array();
    for (size_t i = 0; i < n; ++i) {
        json_t *u = json_array_get(list, i);
        if (json_object_size(u) > 1)
            json_array_append(out, u);
    }
    json_decref(list);
    *users = out;
    return 0;
}
