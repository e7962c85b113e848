/* Tokens and hashes: known vectors for SHA-256 and HMAC, encodings round-trip, the secret file is created 0600
 * and refused when readable by others. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "core/core_error.h"
#include "core/core_token.h"

static void test_sha256_vector(void **state)
{
    uint8_t d[32];
    char hex[65];
    core_sha256("abc", 3, d);
    core_hex_encode(d, 32, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_hmac_vector(void **state)
{
    /* RFC 4231 test case 2 */
    uint8_t d[32];
    char hex[65];
    core_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, d);
    core_hex_encode(d, 32, hex);
    assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

/* The per-thread keyed contexts (a few slots, least recently used re-keyed) against OpenSSL's one-shot HMAC():
 * keys interleaved, more keys than slots, a key longer than a slot keeps, a key that is a prefix of another. */
static void test_hmac_key_slots(void **state)
{
    static const char long_key[] =
        "a key of more than sixty-four bytes, which no slot keeps, so it is re-keyed each call";
    const struct {
        const char *key;
        size_t len;
    } keys[] = {{"Jefe", 4},
                {"secret", 6},
                {"secret-2", 8},
                {"sec", 3},
                {"day key", 7},
                {"k6", 2},
                {long_key, sizeof(long_key) - 1}};
    const size_t nkeys = sizeof(keys) / sizeof(keys[0]);
    for (size_t round = 0; round < 200; ++round) {
        size_t k = (round * 7 + round / 3) % nkeys; /* an order with repeats, runs and every key */
        char msg[64];
        int n = snprintf(msg, sizeof(msg), "message %zu", round);
        uint8_t got[32], want[32];
        unsigned int wlen = 0;
        core_hmac_sha256(keys[k].key, keys[k].len, msg, (size_t)n, got);
        assert_non_null(
            HMAC(EVP_sha256(), keys[k].key, (int)keys[k].len, (const unsigned char *)msg, (size_t)n, want, &wlen));
        assert_int_equal(wlen, 32);
        assert_memory_equal(got, want, 32);
    }
}

static void test_base64url_roundtrip(void **state)
{
    uint8_t in[40], out[40];
    char enc[64];
    for (size_t len = 0; len <= 33; ++len) {
        for (size_t i = 0; i < len; ++i)
            in[i] = (uint8_t)(i * 37 + len);
        size_t n = core_base64url_encode(in, len, enc);
        assert_int_equal(n, strlen(enc));
        assert_null(strchr(enc, '='));
        assert_null(strchr(enc, '+'));
        assert_null(strchr(enc, '/'));
        assert_int_equal(core_base64url_decode(enc, n, out, sizeof(out)), (long)len);
        assert_memory_equal(in, out, len);
    }
    assert_int_equal(core_base64url_decode("ab$d", 4, out, sizeof(out)), -1);
    assert_int_equal(core_base64url_decode("a", 1, out, sizeof(out)), -1);
    assert_int_equal(core_base64url_decode("AAAAAAAA", 8, out, 5), -1);
}

static void test_random_differs(void **state)
{
    uint8_t a[32], b[32];
    core_random_bytes(a, sizeof(a));
    core_random_bytes(b, sizeof(b));
    assert_false(core_memeq_ct(a, b, sizeof(a)));
    assert_true(core_memeq_ct(a, a, sizeof(a)));
}

/* Tokens come from a per-thread pool of bytes drawn from OpenSSL: 100 tokens (three pools and more, with odd sizes
 * between so that a token straddles a refill) are all different, and so are sizes up to and past the pooled
 * maximum. A forked child must not hand out the bytes its parent will: the child's next token is compared with the
 * parent's next one (without the fork generation they are equal). */
static void test_random_pool(void **state)
{
    enum { N = 100 };
    static uint8_t tok[N][32];
    for (int i = 0; i < N; ++i) {
        core_random_bytes(tok[i], sizeof(tok[i]));
        uint8_t odd[7];
        core_random_bytes(odd, i % 7 + 1);
        for (int j = 0; j < i; ++j)
            assert_false(core_memeq_ct(tok[i], tok[j], 32));
    }
    uint8_t big1[300], big2[300], mid1[64], mid2[64];
    core_random_bytes(big1, sizeof(big1));
    core_random_bytes(big2, sizeof(big2));
    core_random_bytes(mid1, sizeof(mid1));
    core_random_bytes(mid2, sizeof(mid2));
    assert_false(core_memeq_ct(big1, big2, sizeof(big1)));
    assert_false(core_memeq_ct(mid1, mid2, sizeof(mid1)));

    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        uint8_t c[32];
        core_random_bytes(c, sizeof(c));
        _exit(write(fds[1], c, sizeof(c)) == (ssize_t)sizeof(c) ? 0 : 1);
    }
    uint8_t mine[32], theirs[32];
    core_random_bytes(mine, sizeof(mine));
    assert_int_equal(read(fds[0], theirs, sizeof(theirs)), (ssize_t)sizeof(theirs));
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(fds[0]);
    close(fds[1]);
    assert_false(core_memeq_ct(mine, theirs, sizeof(mine)));
}

static void test_secret_file(void **state)
{
    char dir[] = "/tmp/parley-secret-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128], err[256];
    snprintf(path, sizeof(path), "%s/sub/secret", dir);
    uint8_t s1[32], s2[32];
    assert_int_equal(core_secret_load(path, s1, err, sizeof(err)), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(core_secret_load(path, s2, err, sizeof(err)), 0);
    assert_memory_equal(s1, s2, 32); /* stable across restarts */
    chmod(path, 0644);
    assert_int_equal(core_secret_load(path, s2, err, sizeof(err)), CORE_ERR_INVALID);
    assert_non_null(strstr(err, "chmod 600"));
    chmod(path, 0600);
    FILE *f = fopen(path, "w");
    fputs("not hex at all, not hex at all, not hex at all, not hex at all!!\n", f);
    fclose(f);
    assert_int_equal(core_secret_load(path, s2, err, sizeof(err)), CORE_ERR_INVALID);
    unlink(path);
    snprintf(path, sizeof(path), "%s/sub", dir);
    rmdir(path);
    rmdir(dir);
}

static void test_signed_tokens(void **state)
{
    const uint8_t key[] = "0123456789abcdef0123456789abcdef";
    char tok[256], out[64];
    size_t n = core_signed_make(key, 32, "moderate", "blog\nabc:7\napprove", 19, 2000, tok, sizeof(tok));
    assert_true(n > 0);
    assert_int_equal(n, strlen(tok));
    assert_int_equal(core_signed_open(key, 32, "moderate", tok, n, 1999, out, sizeof(out)), 19);
    assert_memory_equal(out, "blog\nabc:7\napprove", 19);
    assert_int_equal(core_signed_open(key, 32, "moderate", tok, n, 2000, out, sizeof(out)), 19); /* last second */
    assert_int_equal(core_signed_open(key, 32, "moderate", tok, n, 2001, out, sizeof(out)), -1); /* expired */
    assert_int_equal(core_signed_open(key, 32, "unsubscribe", tok, n, 1, out, sizeof(out)), -1); /* other use */
    const uint8_t other[] = "fedcba9876543210fedcba9876543210";
    assert_int_equal(core_signed_open(other, 32, "moderate", tok, n, 1, out, sizeof(out)), -1); /* other key */
    /* Any changed character breaks it: the payload and expiry are covered by the MAC. */
    for (size_t i = 0; i < n; ++i) {
        if (tok[i] == '.')
            continue;
        char t2[256];
        memcpy(t2, tok, n);
        t2[i] = t2[i] == 'A' ? 'B' : 'A';
        assert_int_equal(core_signed_open(key, 32, "moderate", t2, n, 1, out, sizeof(out)), -1);
    }
    assert_int_equal(core_signed_open(key, 32, "moderate", tok, n - 1, 1, out, sizeof(out)), -1);
    assert_int_equal(core_signed_open(key, 32, "moderate", "nodot", 5, 1, out, sizeof(out)), -1);
    assert_int_equal(core_signed_open(key, 32, "moderate", tok, n, 1, out, 5), -1); /* payload too long */
    assert_int_equal(core_signed_make(key, 32, "moderate", "x", 1, 1, tok, 10), 0); /* buffer too small */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_vector),  cmocka_unit_test(test_hmac_vector),
        cmocka_unit_test(test_hmac_key_slots), cmocka_unit_test(test_base64url_roundtrip),
        cmocka_unit_test(test_random_differs), cmocka_unit_test(test_random_pool),
        cmocka_unit_test(test_secret_file),    cmocka_unit_test(test_signed_tokens),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
