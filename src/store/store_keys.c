#include <assert.h>
#include <string.h>
#include "store/store_internal.h"

static const char *const patterns[] = {
#define X(name, pattern, type, ttl, meaning) pattern,
#include "store/store_keys.def"
#undef X
};

h2o_iovec_t store_key_build(h2o_mem_pool_t *pool, const char *prefix, store_key_t key, size_t nparts,
                            const h2o_iovec_t *parts)
{
    const char *pat = patterns[key];
    size_t plen = strlen(prefix), len = plen, used = 0;
    for (const char *p = pat; *p != '\0'; ++p)
        len += *p == '%' ? parts[used++].len : 1;
    assert(used == nparts);
    char *out = h2o_mem_alloc_pool(pool, len + 1), *o = out;
    memcpy(o, prefix, plen);
    o += plen;
    used = 0;
    for (const char *p = pat; *p != '\0'; ++p) {
        if (*p == '%') {
            memcpy(o, parts[used].base, parts[used].len);
            o += parts[used++].len;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    return h2o_iovec_init(out, len);
}

uint64_t store_parse_u64(const char *s, size_t len)
{
    uint64_t v = 0;
    for (size_t i = 0; i < len && i < 20 && s[i] >= '0' && s[i] <= '9'; ++i)
        v = v * 10 + (uint64_t)(s[i] - '0');
    return v;
}

int store_reply_u64(const redisReply *reply, uint64_t *out)
{
    *out = 0;
    if (reply->type == REDIS_REPLY_STRING)
        *out = store_parse_u64(reply->str, reply->len);
    else if (reply->type != REDIS_REPLY_NIL)
        return -1;
    return 0;
}
