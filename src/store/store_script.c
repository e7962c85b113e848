#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include "core/core_token.h"
#include "store/store_internal.h"

/* Generated at build time from the files in lua/ by src/embed.cmake. */
#define X(name)                                                                                                        \
    extern const char store_lua_##name[];                                                                              \
    extern const size_t store_lua_##name##_len;
STORE_SCRIPTS(X)
#undef X
extern const char store_lua_prelude[];
extern const size_t store_lua_prelude_len;

/* Scripts that render the public form of a comment get lua/prelude.lua in front of them. */
static int needs_prelude(int script)
{
    return script == STORE_SCRIPT_comment_create || script == STORE_SCRIPT_comment_update ||
           script == STORE_SCRIPT_comment_vote || script == STORE_SCRIPT_comment_import;
}

static struct {
    const char *src;
    size_t len;
    char sha[41];
} scripts[STORE_SCRIPT__COUNT];

void store_script_init(void)
{
#define X(name)                                                                                                        \
    scripts[STORE_SCRIPT_##name].src = store_lua_##name;                                                               \
    scripts[STORE_SCRIPT_##name].len = store_lua_##name##_len;
    STORE_SCRIPTS(X)
#undef X
    for (int i = 0; i < STORE_SCRIPT__COUNT; ++i) {
        if (needs_prelude(i)) {
            size_t n = store_lua_prelude_len + 1 + scripts[i].len;
            char *joined = malloc(n + 1);
            if (joined == NULL)
                abort();
            memcpy(joined, store_lua_prelude, store_lua_prelude_len);
            joined[store_lua_prelude_len] = '\n';
            memcpy(joined + store_lua_prelude_len + 1, scripts[i].src, scripts[i].len);
            joined[n] = '\0';
            scripts[i].src = joined; /* lives for the process */
            scripts[i].len = n;
        }
        uint8_t md[20];
        unsigned int n = sizeof(md);
        EVP_Digest(scripts[i].src, scripts[i].len, md, &n, EVP_sha1(), NULL);
        core_hex_encode(md, sizeof(md), scripts[i].sha);
    }
}

const char *store_script_source(store_script_t script, size_t *len)
{
    *len = scripts[script].len;
    return scripts[script].src;
}

const char *store_script_sha(store_script_t script)
{
    return scripts[script].sha;
}

int store_script_head(store_script_t script, bool as_eval, int nkeys, const char **a, size_t *l, char nk[12])
{
    a[0] = as_eval ? "EVAL" : "EVALSHA";
    l[0] = as_eval ? 4 : 7;
    if (as_eval) {
        a[1] = store_script_source(script, &l[1]);
    } else {
        a[1] = store_script_sha(script);
        l[1] = 40;
    }
    int n = snprintf(nk, 12, "%d", nkeys);
    a[2] = nk;
    l[2] = (size_t)n;
    return 3;
}

int store_script_argv(store_script_t script, bool as_eval, int nkeys, int nargs, const char *const *argv,
                      const size_t *lens, const char **a, size_t *l, char nk[12])
{
    int total = nkeys + nargs;
    if (nkeys < 0 || nargs < 0 || total > STORE_SCRIPT_MAX_ARGS)
        abort(); /* programmer error: scripts take few arguments */
    store_script_head(script, as_eval, nkeys, a, l, nk);
    for (int i = 0; i < total; ++i) {
        a[3 + i] = argv[i];
        l[3 + i] = lens[i];
    }
    return 3 + total;
}

void store_script_load_all(redisAsyncContext *ac)
{
    for (int i = 0; i < STORE_SCRIPT__COUNT; ++i) {
        const char *argv[] = {"SCRIPT", "LOAD", scripts[i].src};
        size_t lens[] = {6, 4, scripts[i].len};
        redisAsyncCommandArgv(ac, NULL, NULL, 3, argv, lens);
    }
}
