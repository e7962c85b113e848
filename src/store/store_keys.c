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
