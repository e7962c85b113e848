/* A per-worker cache of rendered comment pages. An entry is the page's JSON up to its form token (which is fresh on
 * every answer), stamped with the thread's version; a reader checks the version with one cheap pipelined round trip
 * and serves the bytes. Every write script bumps the version, so a stale page is never served, by this process or
 * another. LRU within a byte budget; owned by one worker thread, so no locking. Bodies are h2o shared chunks:
 * a request that serves one links it to its pool, so eviction never frees bytes still being sent and no request
 * copies a page. */
#include <stdlib.h>
#include <string.h>
#include "api/api.h"

#define BUCKETS 1024

struct st_entry_t {
    struct st_entry_t *next_in_bucket;
    struct st_entry_t *lru_prev, *lru_next; /* most recently used at the head */
    size_t hash;
    h2o_iovec_t key, ver, body;
};

struct st_api_pagecache_t {
    struct st_entry_t *buckets[BUCKETS];
    struct st_entry_t *lru_head, *lru_tail;
    size_t bytes, max_bytes;
};

static size_t hash_of(h2o_iovec_t key)
{
    size_t h = 1469598103934665603ull;
    for (size_t i = 0; i < key.len; ++i)
        h = (h ^ (unsigned char)key.base[i]) * 1099511628211ull;
    return h;
}

static h2o_iovec_t dup_iov(h2o_iovec_t s)
{
    char *p = malloc(s.len + 1);
    if (p == NULL)
        abort();
    memcpy(p, s.base, s.len);
    p[s.len] = '\0';
    return h2o_iovec_init(p, s.len);
}

api_pagecache_t *api_pagecache_create(size_t max_bytes)
{
    api_pagecache_t *c = calloc(1, sizeof(*c));
    if (c == NULL)
        abort();
    c->max_bytes = max_bytes;
    return c;
}

static void lru_unlink(api_pagecache_t *c, struct st_entry_t *e)
{
    if (e->lru_prev != NULL)
        e->lru_prev->lru_next = e->lru_next;
    else
        c->lru_head = e->lru_next;
    if (e->lru_next != NULL)
        e->lru_next->lru_prev = e->lru_prev;
    else
        c->lru_tail = e->lru_prev;
    e->lru_prev = e->lru_next = NULL;
}

static void lru_push_front(api_pagecache_t *c, struct st_entry_t *e)
{
    e->lru_next = c->lru_head;
    if (c->lru_head != NULL)
        c->lru_head->lru_prev = e;
    c->lru_head = e;
    if (c->lru_tail == NULL)
        c->lru_tail = e;
}

static void remove_entry(api_pagecache_t *c, struct st_entry_t *e)
{
    struct st_entry_t **pp = &c->buckets[e->hash % BUCKETS];
    while (*pp != e)
        pp = &(*pp)->next_in_bucket;
    *pp = e->next_in_bucket;
    lru_unlink(c, e);
    c->bytes -= e->key.len + e->ver.len + e->body.len + sizeof(*e);
    free(e->key.base);
    free(e->ver.base);
    h2o_mem_release_shared(e->body.base);
    free(e);
}

static struct st_entry_t *find(api_pagecache_t *c, h2o_iovec_t key, size_t h)
{
    for (struct st_entry_t *e = c->buckets[h % BUCKETS]; e != NULL; e = e->next_in_bucket)
        if (e->hash == h && h2o_memis(e->key.base, e->key.len, key.base, key.len))
            return e;
    return NULL;
}

bool api_pagecache_get(api_pagecache_t *c, h2o_iovec_t key, h2o_iovec_t ver, h2o_mem_pool_t *pool, h2o_iovec_t *body)
{
    struct st_entry_t *e = find(c, key, hash_of(key));
    if (e == NULL || !h2o_memis(e->ver.base, e->ver.len, ver.base, ver.len))
        return false;
    lru_unlink(c, e);
    lru_push_front(c, e);
    h2o_mem_link_shared(pool, e->body.base);
    *body = e->body;
    return true;
}

void api_pagecache_put(api_pagecache_t *c, h2o_iovec_t key, h2o_iovec_t ver, h2o_iovec_t body)
{
    size_t h = hash_of(key), cost = key.len + ver.len + body.len + sizeof(struct st_entry_t);
    struct st_entry_t *old = find(c, key, h);
    if (old != NULL)
        remove_entry(c, old);
    if (cost > c->max_bytes / 4)
        return; /* one huge page must not flush everything else */
    while (c->bytes + cost > c->max_bytes && c->lru_tail != NULL)
        remove_entry(c, c->lru_tail);
    struct st_entry_t *e = calloc(1, sizeof(*e));
    if (e == NULL)
        abort();
    e->hash = h;
    e->key = dup_iov(key);
    e->ver = dup_iov(ver);
    e->body.base = h2o_mem_alloc_shared(NULL, body.len + 1, NULL);
    memcpy(e->body.base, body.base, body.len);
    e->body.len = body.len;
    e->next_in_bucket = c->buckets[h % BUCKETS];
    c->buckets[h % BUCKETS] = e;
    lru_push_front(c, e);
    c->bytes += cost;
}

void api_pagecache_destroy(api_pagecache_t *c)
{
    if (c == NULL)
        return;
    while (c->lru_tail != NULL)
        remove_entry(c, c->lru_tail);
    free(c);
}
