#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/rand.h>
#include "core/core_error.h"
#include "core/core_log.h"
#include "core/core_token.h"

/* SHA-256 and HMAC-SHA256 sit on every write's path (thread keys, visitor and e-mail hashes, form tokens), and
 * OpenSSL 3's one-shot calls (EVP_Digest with EVP_sha256(), HMAC()) fetch the algorithm from the provider on every
 * call: callgrind counted 7,500 instructions per SHA-256 of a URL and 20,000 per HMAC, most of it the fetch. So the
 * algorithms are fetched once per process and each thread keeps its own contexts (a context is not shareable across
 * threads), freed by a thread-key destructor when the thread ends. Each thread keeps HMAC_SLOTS keyed contexts, the
 * least recently used one re-keyed for a new key: EVP_MAC_init with no key resets a context to its keyed state (the
 * pads are not recomputed), and a comment's write alternates two keys (the secret, the visitor day key), which with
 * one context cost two re-keys (about 12,000 instructions) per comment. */
#define HMAC_SLOTS 4
struct st_core_hmac_slot_t {
    EVP_MAC_CTX *mac;
    size_t keylen; /* the key this context holds, (size_t)-1 = none */
    uint64_t used; /* tick of its last use */
    uint8_t key[64];
};

/* Randomness is drawn from OpenSSL RNG_POOL bytes at a time per thread and handed out in order, each byte wiped as
 * it leaves: one RAND_bytes call costs about a microsecond whatever its size up to a few KiB (OpenSSL 3's DRBG
 * re-keys after every call), and a comment write asks for one 32-byte edit token. A forked child never hands out
 * what its parent drew: fork bumps a generation (pthread_atfork) that makes every thread's pool stale. */
#define RNG_POOL 1024
#define RNG_POOLED_MAX 64 /* larger requests go straight to OpenSSL */

struct st_core_crypto_tls_t {
    EVP_MD_CTX *md;
    uint64_t tick;
    struct st_core_hmac_slot_t slots[HMAC_SLOTS];
    unsigned rng_gen; /* fork generation the pool was drawn in */
    size_t rng_left;  /* unread bytes at the end of rng */
    uint8_t rng[RNG_POOL];
};

static pthread_once_t crypto_once = PTHREAD_ONCE_INIT;
static pthread_key_t crypto_key;
static EVP_MD *sha256_md;
static EVP_MAC *hmac_mac;
static volatile unsigned rng_generation = 1; /* bumped in a forked child; pools of another generation are stale */

static void crypto_tls_free(void *p)
{
    struct st_core_crypto_tls_t *t = p;
    EVP_MD_CTX_free(t->md);
    for (int i = 0; i < HMAC_SLOTS; ++i)
        EVP_MAC_CTX_free(t->slots[i].mac);
    OPENSSL_cleanse(t, sizeof(*t));
    free(t);
}

static void rng_after_fork(void)
{
    ++rng_generation;
}

static void crypto_init(void)
{
    if (pthread_atfork(NULL, NULL, rng_after_fork) != 0)
        abort();
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    hmac_mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (sha256_md == NULL || hmac_mac == NULL || pthread_key_create(&crypto_key, crypto_tls_free) != 0)
        abort();
}

static struct st_core_crypto_tls_t *crypto_tls(void)
{
    pthread_once(&crypto_once, crypto_init);
    struct st_core_crypto_tls_t *t = pthread_getspecific(crypto_key);
    if (t == NULL) {
        if ((t = calloc(1, sizeof(*t))) == NULL || (t->md = EVP_MD_CTX_new()) == NULL)
            abort();
        for (int i = 0; i < HMAC_SLOTS; ++i) {
            if ((t->slots[i].mac = EVP_MAC_CTX_new(hmac_mac)) == NULL)
                abort();
            t->slots[i].keylen = (size_t)-1;
        }
        if (pthread_setspecific(crypto_key, t) != 0)
            abort();
    }
    return t;
}

static void rng_draw(void *buf, size_t len)
{
    if (RAND_bytes(buf, (int)len) != 1) {
        core_log_error("OpenSSL RNG failed; aborting rather than issuing weak tokens");
        abort();
    }
}

void core_random_bytes(void *buf, size_t len)
{
    if (len > RNG_POOLED_MAX) {
        rng_draw(buf, len);
        return;
    }
    struct st_core_crypto_tls_t *t = crypto_tls();
    if (t->rng_gen != rng_generation || t->rng_left < len) {
        rng_draw(t->rng, sizeof(t->rng));
        t->rng_gen = rng_generation;
        t->rng_left = sizeof(t->rng);
    }
    uint8_t *from = t->rng + sizeof(t->rng) - t->rng_left;
    memcpy(buf, from, len);
    OPENSSL_cleanse(from, len);
    t->rng_left -= len;
}

void core_sha256(const void *data, size_t len, uint8_t out[CORE_SHA256_LEN])
{
    struct st_core_crypto_tls_t *t = crypto_tls();
    unsigned int n = CORE_SHA256_LEN;
    if (EVP_DigestInit_ex2(t->md, sha256_md, NULL) != 1 || EVP_DigestUpdate(t->md, data, len) != 1 ||
        EVP_DigestFinal_ex(t->md, out, &n) != 1)
        abort();
}

void core_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len, uint8_t out[CORE_SHA256_LEN])
{
    struct st_core_crypto_tls_t *t = crypto_tls();
    struct st_core_hmac_slot_t *slot = &t->slots[0];
    int ok = 0, found = 0;
    for (int i = 0; i < HMAC_SLOTS && !found; ++i) {
        struct st_core_hmac_slot_t *c = &t->slots[i];
        if (c->keylen == keylen && memcmp(key, c->key, keylen) == 0) {
            slot = c;
            found = 1;
        } else if (c->used < slot->used) {
            slot = c; /* the least recently used, re-keyed if no slot holds KEY */
        }
    }
    slot->used = ++t->tick;
    if (found) {
        ok = EVP_MAC_init(slot->mac, NULL, 0, NULL);
    } else {
        OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0), OSSL_PARAM_END};
        ok = EVP_MAC_init(slot->mac, key, keylen, params);
        if (keylen <= sizeof(slot->key)) {
            memcpy(slot->key, key, keylen);
            slot->keylen = keylen;
        } else {
            slot->keylen = (size_t)-1; /* not kept: re-keyed on every call */
        }
    }
    size_t n = 0;
    if (ok != 1 || EVP_MAC_update(slot->mac, data, len) != 1 ||
        EVP_MAC_final(slot->mac, out, &n, CORE_SHA256_LEN) != 1 || n != CORE_SHA256_LEN)
        abort();
}

size_t core_hex_encode(const uint8_t *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; ++i) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
    return 2 * len;
}

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t core_base64url_encode(const uint8_t *in, size_t len, char *out)
{
    size_t o = 0, i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64url[v >> 18];
        out[o++] = b64url[(v >> 12) & 63];
        out[o++] = b64url[(v >> 6) & 63];
        out[o++] = b64url[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = b64url[v >> 18];
        out[o++] = b64url[(v >> 12) & 63];
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = b64url[v >> 18];
        out[o++] = b64url[(v >> 12) & 63];
        out[o++] = b64url[(v >> 6) & 63];
    }
    out[o] = '\0';
    return o;
}

static int b64val(char c)
{
    const char *p = c ? strchr(b64url, c) : NULL;
    return p ? (int)(p - b64url) : -1;
}

long core_base64url_decode(const char *in, size_t len, uint8_t *out, size_t outcap)
{
    if (len % 4 == 1)
        return -1;
    size_t need = len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0);
    if (need > outcap)
        return -1;
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < len; ++i) {
        int v = b64val(in[i]);
        if (v < 0)
            return -1;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    return (long)o;
}

int core_memeq_ct(const void *a, const void *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}

int core_hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int core_secret_load(const char *path, uint8_t out[CORE_TOKEN_BYTES], char *errbuf, size_t errlen)
{
    char hex[2 * CORE_TOKEN_BYTES + 2];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        /* Create the directory chain (0700), then the file exclusively so two starting processes cannot race. */
        char dir[4096];
        size_t n = strlen(path);
        if (n < sizeof(dir)) {
            memcpy(dir, path, n + 1);
            for (size_t i = 1; i < n; ++i)
                if (dir[i] == '/') {
                    dir[i] = '\0';
                    mkdir(dir, 0700);
                    dir[i] = '/';
                }
        }
        uint8_t fresh[CORE_TOKEN_BYTES];
        core_random_bytes(fresh, sizeof(fresh));
        core_hex_encode(fresh, sizeof(fresh), hex);
        hex[2 * CORE_TOKEN_BYTES] = '\n';
        int wfd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (wfd >= 0) {
            ssize_t w = write(wfd, hex, 2 * CORE_TOKEN_BYTES + 1);
            close(wfd);
            if (w != 2 * CORE_TOKEN_BYTES + 1) {
                snprintf(errbuf, errlen, "secret_file %s: cannot write", path);
                return CORE_ERR_INVALID;
            }
            core_log_info("created a new secret in %s", path);
        } else if (errno != EEXIST) {
            snprintf(errbuf, errlen, "secret_file %s: %s", path, strerror(errno));
            return CORE_ERR_INVALID;
        }
        OPENSSL_cleanse(fresh, sizeof(fresh));
        fd = open(path, O_RDONLY | O_CLOEXEC);
    }
    if (fd < 0) {
        snprintf(errbuf, errlen, "secret_file %s: %s", path, strerror(errno));
        return CORE_ERR_INVALID;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || (st.st_mode & 077) != 0) {
        close(fd);
        snprintf(errbuf, errlen, "secret_file %s: must not be readable by group or others (chmod 600)", path);
        return CORE_ERR_INVALID;
    }
    ssize_t r = read(fd, hex, sizeof(hex));
    close(fd);
    if (r < 2 * CORE_TOKEN_BYTES) {
        snprintf(errbuf, errlen, "secret_file %s: want 64 hex digits", path);
        return CORE_ERR_INVALID;
    }
    for (size_t i = 0; i < CORE_TOKEN_BYTES; ++i) {
        int hi = core_hex_value(hex[2 * i]), lo = core_hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            snprintf(errbuf, errlen, "secret_file %s: want 64 hex digits", path);
            return CORE_ERR_INVALID;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    OPENSSL_cleanse(hex, sizeof(hex));
    return 0;
}

#define SIGNED_MAC 16
#define SIGNED_MAX_PAYLOAD 512

static void signed_mac(const uint8_t *key, size_t keylen, const char *purpose, const uint8_t *body, size_t len,
                       uint8_t mac[CORE_SHA256_LEN])
{
    size_t pl = strlen(purpose);
    uint8_t msg[64 + 1 + 8 + SIGNED_MAX_PAYLOAD];
    if (pl > 64)
        pl = 64;
    memcpy(msg, purpose, pl);
    msg[pl] = '\n';
    memcpy(msg + pl + 1, body, len);
    core_hmac_sha256(key, keylen, msg, pl + 1 + len, mac);
}

size_t core_signed_make(const uint8_t *key, size_t keylen, const char *purpose, const void *payload, size_t len,
                        uint64_t expires, char *out, size_t cap)
{
    uint8_t body[8 + SIGNED_MAX_PAYLOAD], mac[CORE_SHA256_LEN];
    if (len > SIGNED_MAX_PAYLOAD)
        return 0;
    for (int i = 0; i < 8; ++i)
        body[i] = (uint8_t)(expires >> (56 - 8 * i));
    memcpy(body + 8, payload, len);
    size_t need = (8 + len + 2) / 3 * 4 + 1 + (SIGNED_MAC + 2) / 3 * 4 + 1;
    if (cap < need)
        return 0;
    signed_mac(key, keylen, purpose, body, 8 + len, mac);
    size_t n = core_base64url_encode(body, 8 + len, out);
    out[n++] = '.';
    n += core_base64url_encode(mac, SIGNED_MAC, out + n);
    return n;
}

long core_signed_open(const uint8_t *key, size_t keylen, const char *purpose, const char *token, size_t len,
                      uint64_t now, void *out, size_t cap)
{
    const char *dot = memchr(token, '.', len);
    uint8_t body[8 + SIGNED_MAX_PAYLOAD + 3], mac[SIGNED_MAC + 3], want[CORE_SHA256_LEN];
    if (dot == NULL)
        return -1;
    long bl = core_base64url_decode(token, (size_t)(dot - token), body, sizeof(body));
    long ml = core_base64url_decode(dot + 1, (size_t)(token + len - dot - 1), mac, sizeof(mac));
    if (bl < 8 || bl > 8 + SIGNED_MAX_PAYLOAD || ml != SIGNED_MAC)
        return -1;
    signed_mac(key, keylen, purpose, body, (size_t)bl, want);
    if (!core_memeq_ct(want, mac, SIGNED_MAC))
        return -1;
    uint64_t expires = 0;
    for (int i = 0; i < 8; ++i)
        expires = expires << 8 | body[i];
    if (now > expires || (size_t)(bl - 8) > cap)
        return -1;
    memcpy(out, body + 8, (size_t)(bl - 8));
    return bl - 8;
}
