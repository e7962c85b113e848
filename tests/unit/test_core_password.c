/* The password policy: lengths in code points after NFKC, the zxcvbn guess floor on common passwords and patterns,
 * the user name and e-mail rules, invalid UTF-8, and readable reasons. Runs under AddressSanitizer in CI. */
#include <ctype.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "core/core_error.h"
#include "core/core_password.h"

#define MIN CORE_PASSWORD_MIN_CHARS_DEFAULT

/* Checks PW with no user name or e-mail and the default minimum; keeps the reason for the caller to look at. */
static int check(const char *pw, char *why, size_t whylen)
{
    return core_password_check(pw, strlen(pw), NULL, NULL, MIN, why, whylen);
}

/* A reason must read as a sentence: a capital first, a full stop last, nothing else odd. */
static void assert_sentence(const char *why)
{
    size_t n = strlen(why);
    assert_true(n > 10);
    assert_true(isupper((unsigned char)why[0]));
    assert_int_equal(why[n - 1], '.');
    assert_null(strchr(why, '\n'));
}

static void assert_refused(const char *pw, const char *expect_substr)
{
    char why[CORE_PASSWORD_WHY_MAX];
    int rc = check(pw, why, sizeof(why));
    if (rc != CORE_ERR_INVALID)
        fail_msg("accepted %s", pw);
    assert_sentence(why);
    if (expect_substr != NULL && strstr(why, expect_substr) == NULL)
        fail_msg("%s: reason \"%s\" lacks \"%s\"", pw, why, expect_substr);
}

static void assert_accepted(const char *pw)
{
    char why[CORE_PASSWORD_WHY_MAX] = "unset";
    int rc = check(pw, why, sizeof(why));
    if (rc != 0)
        fail_msg("refused \"%s\": %s", pw, why);
    assert_string_equal(why, "");
}

/* Appends N code points drawn from a varied pool (ASCII letters and digits, precomposed accents, emoji) so the
 * result is strong for zxcvbn and mixes 1- to 4-byte UTF-8. A fixed LCG keeps it reproducible. */
static size_t append_mixed(char *buf, size_t cap, size_t n, uint32_t seed)
{
    static const char *const pool[] = {"a", "K", "7", "q", "Z", "3", "é", "ñ", "ü", "ß", "Ω", "ж",
                                       "😀", "🎉", "🐙", "€", "x", "R", "m", "0", "%", "ä", "Ç", "🌍"};
    size_t len = strlen(buf);
    for (size_t i = 0; i < n; ++i) {
        seed = seed * 1103515245u + 12345u;
        const char *c = pool[(seed >> 16) % (sizeof(pool) / sizeof(pool[0]))];
        size_t cl = strlen(c);
        assert_true(len + cl < cap);
        memcpy(buf + len, c, cl);
        len += cl;
    }
    buf[len] = '\0';
    return len;
}

static void test_min_length(void **state)
{
    assert_refused("vN7#qL2!xR9", "Use at least 12 characters.");
    assert_accepted("vN7#qL2!xR9w");
    /* The configured minimum can rise, never fall below 8. */
    char why[CORE_PASSWORD_WHY_MAX];
    assert_int_equal(core_password_check("vN7#qL2!xR9w", 12, NULL, NULL, 16, why, sizeof(why)), CORE_ERR_INVALID);
    assert_string_equal(why, "Use at least 16 characters.");
    assert_int_equal(core_password_check("vN7#qL2!", 8, NULL, NULL, 4, why, sizeof(why)), 0);
    assert_int_equal(core_password_check("vN7#qL2", 7, NULL, NULL, 0, why, sizeof(why)), CORE_ERR_INVALID);
    assert_string_equal(why, "Use at least 8 characters.");
}

static void test_max_length_code_points(void **state)
{
    char pw[1024] = "";
    char why[CORE_PASSWORD_WHY_MAX];
    /* 128 code points of 1 to 4 bytes each: far more than 128 bytes, still allowed. */
    size_t len = append_mixed(pw, sizeof(pw), 128, 42);
    assert_true(len > 2 * 128 - 64); /* many multi-byte code points */
    assert_int_equal(core_password_check(pw, len, NULL, NULL, MIN, why, sizeof(why)), 0);
    len = append_mixed(pw, sizeof(pw), 1, 43);
    assert_int_equal(core_password_check(pw, len, NULL, NULL, MIN, why, sizeof(why)), CORE_ERR_INVALID);
    assert_string_equal(why, "Use at most 128 characters.");

    /* Counted after NFKC: 64 times "e" + U+0301 (two code points, composing to one "é"), each followed by one
     * mixed code point, is 192 code points in and 128 after normalisation. */
    char composed[1024] = "";
    size_t n = 0;
    for (uint32_t i = 0; i < 64; ++i) {
        n = strlen(composed);
        memcpy(composed + n, "e\xcc\x81", 4);
        n = append_mixed(composed, sizeof(composed), 1, i * 7919);
    }
    assert_int_equal(core_password_check(composed, n, NULL, NULL, MIN, why, sizeof(why)), 0);
    memcpy(composed + n, "e\xcc\x81", 4);
    assert_int_equal(core_password_check(composed, n + 3, NULL, NULL, MIN, why, sizeof(why)), CORE_ERR_INVALID);
    assert_string_equal(why, "Use at most 128 characters.");

    /* Raw input beyond the byte cap is refused before any work is done. */
    char huge[CORE_PASSWORD_MAX_INPUT_BYTES + 2];
    memset(huge, 'k', sizeof(huge));
    assert_int_equal(core_password_check(huge, sizeof(huge), NULL, NULL, MIN, why, sizeof(why)), CORE_ERR_INVALID);
    assert_string_equal(why, "Use at most 128 characters.");
}

static void test_common_and_patterns_refused(void **state)
{
    assert_refused("password123456", "too easy to guess");
    assert_refused("qwertyuiop1234", "too easy to guess");
    assert_refused("aaaaaaaaaaaaaaaa", "repeats");
    assert_refused("1234567890123", "sequence");
    assert_refused("correcthorse", "common password or word");
    assert_refused("abcdefghijklmnop", "sequence");
    assert_refused("Password1234!", "too easy to guess");
    assert_refused("iloveyou2000!", "too easy to guess");
    assert_refused("trustno1trustno1", "too easy to guess");
    /* Full-width digits and letters normalise to "password123456", so they are refused as well. */
    assert_refused("\xef\xbd\x90\xef\xbd\x81\xef\xbd\x93\xef\xbd\x93\xef\xbd\x97\xef\xbd\x8f\xef\xbd\x92\xef\xbd\x84"
                   "\xef\xbc\x91\xef\xbc\x92\xef\xbc\x93\xef\xbc\x94\xef\xbc\x95\xef\xbc\x96",
                   "too easy to guess");
}

static void test_strong_accepted(void **state)
{
    assert_accepted("vN7#qL2!xR9w");
    assert_accepted("mK8vLp3qZt6w");
    assert_accepted("glacier mosaic tundra pepper lantern");
    assert_accepted("correct horse battery staple");
    assert_accepted("Umbrella-Narwhal-Quartz-57");
    assert_accepted("Je préfère le thé vert à 7h, sans sucre 🍵");
    assert_accepted("Съешь же ещё этих мягких булок");
}

static void test_username_and_email(void **state)
{
    char why[CORE_PASSWORD_WHY_MAX];
    const char *pw = "Glacier-ALICE-mosaic-tundra";
    assert_int_equal(core_password_check(pw, strlen(pw), "alice", NULL, MIN, why, sizeof(why)), CORE_ERR_INVALID);
    assert_string_equal(why, "Do not use your user name in your password.");
    assert_int_equal(core_password_check(pw, strlen(pw), "AlIcE", NULL, MIN, why, sizeof(why)), CORE_ERR_INVALID);
    assert_int_equal(core_password_check(pw, strlen(pw), NULL, "Alice@example.org", MIN, why, sizeof(why)),
                     CORE_ERR_INVALID);
    assert_string_equal(why, "Do not use your e-mail address in your password.");
    /* The tag does not hide the base of the local part. */
    assert_int_equal(core_password_check(pw, strlen(pw), "bob", "alice+news@example.org", MIN, why, sizeof(why)),
                     CORE_ERR_INVALID);
    assert_string_equal(why, "Do not use your e-mail address in your password.");
    /* Full-width letters in the password fold to the user name. */
    const char *fw = "glacier-\xef\xbd\x81\xef\xbd\x8c\xef\xbd\x89\xef\xbd\x83\xef\xbd\x85-mosaic-tundra";
    assert_int_equal(core_password_check(fw, strlen(fw), "alice", NULL, MIN, why, sizeof(why)), CORE_ERR_INVALID);
    assert_string_equal(why, "Do not use your user name in your password.");

    /* Names shorter than 3 characters are not refused (they would match too much); others that are absent pass. */
    assert_int_equal(core_password_check(pw, strlen(pw), "al", "al@example.org", MIN, why, sizeof(why)), 0);
    assert_int_equal(core_password_check(pw, strlen(pw), "bob", "carol@example.org", MIN, why, sizeof(why)), 0);
    /* The domain is not the person's: "example" in the password is fine. */
    const char *dom = "example-glacier-mosaic-tundra";
    assert_int_equal(core_password_check(dom, strlen(dom), "bob", "carol@example.org", MIN, why, sizeof(why)), 0);
}

static void test_user_words_lower_the_estimate(void **state)
{
    /* "zqvkrbt" is random to zxcvbn until it is the user's own dotted e-mail piece; with the e-mail known the
     * password is mostly that word repeated. */
    const char *pw = "zqvkrbtZQVKRBT";
    char why[CORE_PASSWORD_WHY_MAX];
    assert_int_equal(core_password_check(pw, strlen(pw), NULL, NULL, MIN, why, sizeof(why)), 0);
    assert_int_equal(core_password_check(pw, strlen(pw), NULL, "zqvkrbt.smith@example.org", MIN, why, sizeof(why)),
                     CORE_ERR_INVALID);
    assert_sentence(why);
    assert_non_null(strstr(why, "too easy to guess"));
}

static void test_invalid_utf8_and_controls(void **state)
{
    static const char *const bad[] = {
        "vN7#qL2!xR9w\xff",             /* never valid */
        "vN7#qL2!xR9w\xc0\xaf",         /* overlong "/" */
        "vN7#qL2!xR9w\xed\xa0\x80",     /* UTF-16 surrogate */
        "vN7#qL2!xR9w\xf4\x90\x80\x80", /* beyond U+10FFFF */
        "vN7#qL2!xR9w\xe2\x82",         /* truncated */
    };
    char why[CORE_PASSWORD_WHY_MAX];
    char *out = (char *)1;
    size_t outlen = 1;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
        assert_int_equal(core_password_check(bad[i], strlen(bad[i]), NULL, NULL, MIN, why, sizeof(why)),
                         CORE_ERR_INVALID);
        assert_string_equal(why, "The password is not valid text (UTF-8). Type it again.");
        assert_int_equal(core_password_normalize(bad[i], strlen(bad[i]), &out, &outlen), CORE_ERR_INVALID);
        assert_null(out);
        assert_int_equal(outlen, 0);
    }
    /* An embedded NUL would cut the string every C library sees. */
    assert_int_equal(core_password_check("vN7#qL2!\0xR9w", 13, NULL, NULL, MIN, why, sizeof(why)), CORE_ERR_INVALID);
    assert_sentence(why);
    assert_int_equal(core_password_normalize("ab\0cd", 5, &out, &outlen), CORE_ERR_INVALID);
    const char *nl = "vN7#qL2!\nxR9w-Tundra";
    assert_int_equal(core_password_check(nl, strlen(nl), NULL, NULL, MIN, why, sizeof(why)), CORE_ERR_INVALID);
    assert_string_equal(why, "Do not use control characters in your password.");
}

static void test_normalize(void **state)
{
    char *out = NULL;
    size_t outlen = 0;
    /* "ﬁ" (U+FB01) is "fi"; full-width "Ｐａｓｓ" is "Pass"; "e" + U+0301 composes to "é"; the input need not end
     * in NUL. */
    const char in[] = "\xef\xac\x81ne \xef\xbc\xb0\xef\xbd\x81\xef\xbd\x93\xef\xbd\x93 cafe\xcc\x81!!";
    assert_int_equal(core_password_normalize(in, sizeof(in) - 3, &out, &outlen), 0);
    assert_string_equal(out, "fine Pass caf\xc3\xa9");
    assert_int_equal(outlen, strlen(out));
    core_password_free(out, outlen);

    /* Two visually alike inputs normalise to the same bytes. */
    char *a = NULL, *b = NULL;
    size_t alen = 0, blen = 0;
    assert_int_equal(core_password_normalize("\xef\xac\x81ve-ox", 8, &a, &alen), 0);
    assert_int_equal(core_password_normalize("five-ox", 7, &b, &blen), 0);
    assert_int_equal(alen, blen);
    assert_memory_equal(a, b, alen);
    core_password_free(a, alen);
    core_password_free(b, blen);

    /* Empty is valid input (the policy refuses it, normalisation does not). */
    assert_int_equal(core_password_normalize("", 0, &out, &outlen), 0);
    assert_string_equal(out, "");
    core_password_free(out, outlen);

    /* U+FDFA expands to 18 code points (33 bytes) under NFKC: the result outgrows the first buffer and must still
     * come back whole. */
    char big[3 * 100];
    for (int i = 0; i < 100; ++i)
        memcpy(big + 3 * i, "\xef\xb7\xba", 3);
    assert_int_equal(core_password_normalize(big, sizeof(big), &out, &outlen), 0);
    assert_int_equal(outlen, 100 * 33);
    assert_int_equal(strlen(out), outlen);
    core_password_free(out, outlen);
    /* And a result larger than the normalised cap is refused. */
    char bigger[3 * 125];
    for (int i = 0; i < 125; ++i)
        memcpy(bigger + 3 * i, "\xef\xb7\xba", 3);
    assert_true(125 * 33 > CORE_PASSWORD_MAX_NORMALIZED_BYTES);
    assert_int_equal(core_password_normalize(bigger, sizeof(bigger), &out, &outlen), CORE_ERR_INVALID);
    assert_null(out);

    core_password_free(NULL, 0);
}

static void test_why_buffer(void **state)
{
    /* A short buffer truncates but stays terminated; a zero-length one is never written. */
    char why[8];
    assert_int_equal(core_password_check("short", 5, NULL, NULL, MIN, why, sizeof(why)), CORE_ERR_INVALID);
    assert_int_equal(strlen(why), sizeof(why) - 1);
    assert_int_equal(core_password_check("short", 5, NULL, NULL, MIN, NULL, 0), CORE_ERR_INVALID);
    /* Every reason fits CORE_PASSWORD_WHY_MAX. */
    char full[CORE_PASSWORD_WHY_MAX];
    static const char *const weak[] = {"password123456", "qwertyuiop1234", "aaaaaaaaaaaaaaaa",
                                       "1234567890123",  "correcthorse",   "19841231password"};
    for (size_t i = 0; i < sizeof(weak) / sizeof(weak[0]); ++i) {
        assert_int_equal(check(weak[i], full, sizeof(full)), CORE_ERR_INVALID);
        assert_sentence(full);
        assert_true(strlen(full) < sizeof(full) - 1);
    }
}

/* zxcvbn has no global state (see core_password.c); several threads at once must agree with one thread, and ASan
 * would see any shared buffer being freed under another thread. */
static void *check_many(void *arg)
{
    static const char *const pws[] = {"password123456", "glacier mosaic tundra pepper lantern", "qwertyuiop1234",
                                      "vN7#qL2!xR9w"};
    static const int expect[] = {CORE_ERR_INVALID, 0, CORE_ERR_INVALID, 0};
    intptr_t bad = 0;
    for (int round = 0; round < 25; ++round)
        for (size_t i = 0; i < 4; ++i)
            if (core_password_check(pws[i], strlen(pws[i]), "alice", "alice@example.org", MIN, NULL, 0) != expect[i])
                ++bad;
    return (void *)bad;
}

static void test_threads(void **state)
{
    pthread_t th[4];
    for (int i = 0; i < 4; ++i)
        assert_int_equal(pthread_create(&th[i], NULL, check_many, NULL), 0);
    for (int i = 0; i < 4; ++i) {
        void *bad = NULL;
        assert_int_equal(pthread_join(th[i], &bad), 0);
        assert_null(bad);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_min_length),
        cmocka_unit_test(test_max_length_code_points),
        cmocka_unit_test(test_common_and_patterns_refused),
        cmocka_unit_test(test_strong_accepted),
        cmocka_unit_test(test_username_and_email),
        cmocka_unit_test(test_user_words_lower_the_estimate),
        cmocka_unit_test(test_invalid_utf8_and_controls),
        cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_why_buffer),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
