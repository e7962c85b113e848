#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <argon2.h>
#include "core/core_argon2.h"
#include "core/core_error.h"
#include "core/core_token.h"

/* What a stored PHC string says about itself. SALTLEN and HASHLEN are decoded byte counts. */
struct st_phc_t {
    uint32_t v, m, t, p;
    size_t saltlen, hashlen;
};

/* Reads a decimal uint32 without sign or leading zeros (the PHC format forbids them, and refusing them keeps one
 * hash from having several spellings). Advances *S past the digits. */
static bool parse_u32(const char **s, uint32_t *out)
{
    const char *p = *s;
    uint64_t v = 0;
    if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] >= '0' && p[1] <= '9'))
        return false;
    for (; *p >= '0' && *p <= '9'; ++p) {
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > UINT32_MAX)
            return false;
    }
    *out = (uint32_t)v;
    *s = p;
    return true;
}

static bool expect(const char **s, const char *lit)
{
    size_t n = strlen(lit);
    if (strncmp(*s, lit, n) != 0)
        return false;
    *s += n;
    return true;
}

/* Reads a run of unpadded standard base64 (the alphabet libargon2 writes) and returns its decoded length, or 0 for
 * an empty run or a length no encoding produces (4k + 1). */
static size_t parse_b64(const char **s)
{
    const char *p = *s;
    while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '+' || *p == '/')
        ++p;
    size_t n = (size_t)(p - *s);
    if (n == 0 || n % 4 == 1)
        return 0;
    *s = p;
    return n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1);
}

/* Parses "$argon2id$v=19$m=M,t=T,p=P$SALT$HASH" exactly; any other shape, including argon2i/argon2d strings, a
 * missing version or trailing bytes, fails. */
static bool parse_phc(const char *s, struct st_phc_t *out)
{
    if (s == NULL)
        return false;
    if (!expect(&s, "$argon2id$v=") || !parse_u32(&s, &out->v) || !expect(&s, "$m=") || !parse_u32(&s, &out->m) ||
        !expect(&s, ",t=") || !parse_u32(&s, &out->t) || !expect(&s, ",p=") || !parse_u32(&s, &out->p) ||
        !expect(&s, "$"))
        return false;
    out->saltlen = parse_b64(&s);
    if (out->saltlen == 0 || !expect(&s, "$"))
        return false;
    out->hashlen = parse_b64(&s);
    return out->hashlen > 0 && *s == '\0';
}

bool core_argon2_params_are_valid(const core_argon2_params_t *params)
{
    return params->p >= 1 && params->p <= CORE_ARGON2_P_MAX && params->t >= 1 && params->t <= CORE_ARGON2_T_MAX &&
           params->m_kib >= 8 * params->p && params->m_kib <= CORE_ARGON2_M_KIB_MAX;
}

int core_argon2_hash(const char *pw, size_t len, const core_argon2_params_t *params, char *phc, size_t phc_cap)
{
    if (phc_cap > 0)
        phc[0] = '\0';
    if (!core_argon2_params_are_valid(params) || len > CORE_ARGON2_PW_MAX_BYTES)
        return CORE_ERR_INVALID;
    /* argon2_encodedlen counts the terminating NUL. */
    size_t need = argon2_encodedlen(params->t, params->m_kib, params->p, CORE_ARGON2_SALT_BYTES, CORE_ARGON2_HASH_BYTES,
                                    Argon2_id);
    if (need > phc_cap)
        return CORE_ERR_INVALID;

    uint8_t salt[CORE_ARGON2_SALT_BYTES];
    core_random_bytes(salt, sizeof(salt));
    int rc = argon2id_hash_encoded(params->t, params->m_kib, params->p, pw, len, salt, sizeof(salt),
                                   CORE_ARGON2_HASH_BYTES, phc, phc_cap);
    if (rc != ARGON2_OK) {
        phc[0] = '\0';
        return CORE_ERR_INTERNAL;
    }
    return 0;
}

int core_argon2_verify(const char *phc, const char *pw, size_t len)
{
    struct st_phc_t h;
    /* Parsing first bounds the work a stored string can ask for before libargon2 allocates m KiB for it. */
    if (!parse_phc(phc, &h) || h.v != ARGON2_VERSION_13 || len > CORE_ARGON2_PW_MAX_BYTES)
        return CORE_ERR_INVALID;
    core_argon2_params_t stored = {.m_kib = h.m, .t = h.t, .p = h.p};
    if (!core_argon2_params_are_valid(&stored) || h.saltlen < ARGON2_MIN_SALT_LENGTH || h.hashlen < ARGON2_MIN_OUTLEN)
        return CORE_ERR_INVALID;

    int rc = argon2id_verify(phc, pw, len);
    switch (rc) {
    case ARGON2_OK:
        return 0;
    case ARGON2_VERIFY_MISMATCH:
        return CORE_ERR_UNAUTHORIZED;
    case ARGON2_MEMORY_ALLOCATION_ERROR:
    case ARGON2_THREAD_FAIL:
        return CORE_ERR_INTERNAL;
    default: /* every other code is libargon2 refusing the string itself */
        return CORE_ERR_INVALID;
    }
}

bool core_argon2_needs_rehash(const char *phc, const core_argon2_params_t *params)
{
    struct st_phc_t h;
    if (!parse_phc(phc, &h) || h.v != ARGON2_VERSION_13)
        return true;
    return h.m < params->m_kib || h.t < params->t || h.p < params->p || h.saltlen < CORE_ARGON2_SALT_BYTES ||
           h.hashlen < CORE_ARGON2_HASH_BYTES;
}

void core_argon2_dummy(const core_argon2_params_t *params)
{
    /* Fixed inputs are fine: the result is thrown away, only the time it takes matters. The password is as long as
     * a typical one so the (tiny) length-dependent part of the work is alike too. */
    static const char pw[] = "parley dummy password for timing";
    static const uint8_t salt[CORE_ARGON2_SALT_BYTES] = "parley-dummy-slt";
    uint8_t out[CORE_ARGON2_HASH_BYTES];
    if (!core_argon2_params_are_valid(params))
        return;
    (void)argon2id_hash_raw(params->t, params->m_kib, params->p, pw, sizeof(pw) - 1, salt, sizeof(salt), out,
                            sizeof(out));
}
