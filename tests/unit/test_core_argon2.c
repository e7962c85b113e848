/* Argon2id hashing: round trip, wrong password, malformed PHC strings, fresh salts, the default parameters in the
 * PHC string, the rehash rule, and the dummy. Small costs (m = 256 KiB) keep the suite fast; one test pays the
 * default cost and prints how long it took. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include "core/core_argon2.h"
#include "core/core_error.h"
#include "core/core_password.h"

static const core_argon2_params_t FAST = {.m_kib = 256, .t = 1, .p = 1};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void hash_fast(const char *pw, char *phc)
{
    assert_int_equal(core_argon2_hash(pw, strlen(pw), &FAST, phc, CORE_ARGON2_PHC_MAX), 0);
}

static void test_round_trip(void **state)
{
    char phc[CORE_ARGON2_PHC_MAX];
    const char *pw = "glacier mosaic tundra pepper lantern";
    hash_fast(pw, phc);
    assert_int_equal(strncmp(phc, "$argon2id$v=19$m=256,t=1,p=1$", 29), 0);
    assert_int_equal(core_argon2_verify(phc, pw, strlen(pw)), 0);
    assert_int_equal(core_argon2_verify(phc, "glacier mosaic tundra pepper lanterN", strlen(pw)),
                     CORE_ERR_UNAUTHORIZED);
    /* A prefix is a different password: the length is part of what is hashed. */
    assert_int_equal(core_argon2_verify(phc, pw, strlen(pw) - 1), CORE_ERR_UNAUTHORIZED);
    assert_int_equal(core_argon2_verify(phc, "", 0), CORE_ERR_UNAUTHORIZED);

    /* Passwords are bytes with a length: an embedded NUL is hashed, not a terminator. */
    hash_fast("", phc);
    assert_int_equal(core_argon2_verify(phc, "", 0), 0);
    assert_int_equal(core_argon2_hash("a\0b", 3, &FAST, phc, sizeof(phc)), 0);
    assert_int_equal(core_argon2_verify(phc, "a\0b", 3), 0);
    assert_int_equal(core_argon2_verify(phc, "a\0c", 3), CORE_ERR_UNAUTHORIZED);
}

static void test_salts_differ(void **state)
{
    char a[CORE_ARGON2_PHC_MAX], b[CORE_ARGON2_PHC_MAX];
    hash_fast("same password twice", a);
    hash_fast("same password twice", b);
    assert_string_not_equal(a, b);
    /* Same parameters, different salt and therefore different hash; both verify. */
    const char *sa = strrchr(a, '$'), *sb = strrchr(b, '$');
    assert_string_not_equal(sa, sb);
    assert_int_equal(core_argon2_verify(a, "same password twice", 19), 0);
    assert_int_equal(core_argon2_verify(b, "same password twice", 19), 0);
}

static void test_phc_shape(void **state)
{
    char phc[CORE_ARGON2_PHC_MAX];
    hash_fast("shape", phc);
    /* "$argon2id$v=19$m=256,t=1,p=1$" + 22 chars of salt (16 bytes) + "$" + 43 chars of hash (32 bytes). */
    const char *salt = phc + 29;
    const char *dollar = strchr(salt, '$');
    assert_non_null(dollar);
    assert_int_equal(dollar - salt, 22);
    assert_int_equal(strlen(dollar + 1), 43);
    assert_null(strchr(salt, '=')); /* unpadded */
}

static void test_default_cost(void **state)
{
    core_argon2_params_t def = CORE_ARGON2_PARAMS_DEFAULT;
    assert_int_equal(def.m_kib, 19456);
    assert_int_equal(def.t, 2);
    assert_int_equal(def.p, 1);
    char phc[CORE_ARGON2_PHC_MAX];
    const char *pw = "correct horse battery staple";
    double t0 = now_ms();
    assert_int_equal(core_argon2_hash(pw, strlen(pw), &def, phc, sizeof(phc)), 0);
    double t1 = now_ms();
    assert_int_equal(strncmp(phc, "$argon2id$v=19$m=19456,t=2,p=1$", 31), 0);
    assert_int_equal(core_argon2_verify(phc, pw, strlen(pw)), 0);
    double t2 = now_ms();
    core_argon2_dummy(&def);
    double t3 = now_ms();
    print_message("default cost: hash %.1f ms, verify %.1f ms, dummy %.1f ms\n", t1 - t0, t2 - t1, t3 - t2);
    assert_false(core_argon2_needs_rehash(phc, &def));
}

static void test_malformed(void **state)
{
    char good[CORE_ARGON2_PHC_MAX];
    hash_fast("malformed", good);
    const char *tail = good + strlen("$argon2id$v=19$m=256,t=1,p=1");
    char buf[256];
    static const char *const heads[] = {
        "$argon2i$v=19$m=256,t=1,p=1",         /* another variant */
        "$argon2d$v=19$m=256,t=1,p=1",         /* another variant */
        "$argon2id$m=256,t=1,p=1",             /* no version */
        "$argon2id$v=16$m=256,t=1,p=1",        /* old version */
        "$argon2id$v=19$m=0256,t=1,p=1",       /* leading zero */
        "$argon2id$v=19$m=-256,t=1,p=1",       /* sign */
        "$argon2id$v=19$m=256,t=0,p=1",        /* zero passes */
        "$argon2id$v=19$m=256,t=1,p=0",        /* zero lanes */
        "$argon2id$v=19$m=4,t=1,p=1",          /* less than 8 KiB per lane */
        "$argon2id$v=19$m=4294967295,t=1,p=1", /* a record asking for 4 TiB */
        "$argon2id$v=19$m=4294967296,t=1,p=1", /* overflow */
        "$argon2id$v=19$m=256,t=1000,p=1",     /* minutes of work */
        "$argon2id$v=19$t=1,m=256,p=1",        /* order */
        "$argon2id$v=19$m=256,t=1,p=1,x=1",    /* extra field */
    };
    for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); ++i) {
        snprintf(buf, sizeof(buf), "%s%s", heads[i], tail);
        if (core_argon2_verify(buf, "malformed", 9) != CORE_ERR_INVALID)
            fail_msg("accepted %s", buf);
    }
    static const char *const whole[] = {
        "",
        "$",
        "$argon2id$",
        "argon2id$v=19$m=256,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
        "$argon2id$v=19$m=256,t=1,p=1$$aGFzaGhhc2hoYXNoaGFzaA",
        "$argon2id$v=19$m=256,t=1,p=1$c2FsdHNhbHRzYWx0$",
        "$argon2id$v=19$m=256,t=1,p=1$c2FsdHNhbHRzYWx0",
        "$argon2id$v=19$m=256,t=1,p=1$c2Fs$aGFzaGhhc2hoYXNoaGFzaA",               /* salt under 8 bytes */
        "$argon2id$v=19$m=256,t=1,p=1$c2FsdHNhbHRzYWx0$aGF",                      /* hash under 4 bytes */
        "$argon2id$v=19$m=256,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2h*YXNoaGFzaA",   /* bad character */
        "$argon2id$v=19$m=256,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA==", /* padding */
        "$argon2id$v=19$m=256,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFza",    /* 4k+1 characters */
    };
    for (size_t i = 0; i < sizeof(whole) / sizeof(whole[0]); ++i)
        if (core_argon2_verify(whole[i], "malformed", 9) != CORE_ERR_INVALID)
            fail_msg("accepted \"%s\"", whole[i]);
    assert_int_equal(core_argon2_verify(NULL, "malformed", 9), CORE_ERR_INVALID);
    /* Trailing bytes after a good string. */
    snprintf(buf, sizeof(buf), "%s ", good);
    assert_int_equal(core_argon2_verify(buf, "malformed", 9), CORE_ERR_INVALID);
    /* The unchanged string still verifies, so the cases above failed for their defect. */
    assert_int_equal(core_argon2_verify(good, "malformed", 9), 0);
}

static void test_bad_arguments(void **state)
{
    char phc[CORE_ARGON2_PHC_MAX];
    core_argon2_params_t p = FAST;
    /* A buffer one byte short of the string and its NUL is refused, and left empty. */
    assert_int_equal(core_argon2_hash("x", 1, &p, phc, strlen("$argon2id$v=19$m=256,t=1,p=1$") + 22 + 1 + 43),
                     CORE_ERR_INVALID);
    assert_string_equal(phc, "");
    assert_int_equal(core_argon2_hash("x", 1, &p, phc, strlen("$argon2id$v=19$m=256,t=1,p=1$") + 22 + 1 + 43 + 1), 0);
    p.m_kib = 4;
    assert_false(core_argon2_params_are_valid(&p));
    assert_int_equal(core_argon2_hash("x", 1, &p, phc, sizeof(phc)), CORE_ERR_INVALID);
    p = FAST;
    p.t = 0;
    assert_int_equal(core_argon2_hash("x", 1, &p, phc, sizeof(phc)), CORE_ERR_INVALID);
    p = FAST;
    p.p = CORE_ARGON2_P_MAX + 1;
    p.m_kib = 8 * p.p;
    assert_int_equal(core_argon2_hash("x", 1, &p, phc, sizeof(phc)), CORE_ERR_INVALID);
    core_argon2_dummy(&p); /* invalid parameters: does nothing, does not crash */

    /* Inputs beyond the cap are refused rather than hashed. */
    static char big[CORE_ARGON2_PW_MAX_BYTES + 1];
    memset(big, 'x', sizeof(big));
    assert_int_equal(core_argon2_hash(big, sizeof(big), &FAST, phc, sizeof(phc)), CORE_ERR_INVALID);
    hash_fast("x", phc);
    assert_int_equal(core_argon2_verify(phc, big, sizeof(big)), CORE_ERR_INVALID);
    assert_int_equal(core_argon2_verify(phc, big, CORE_ARGON2_PW_MAX_BYTES), CORE_ERR_UNAUTHORIZED);

    /* The largest parameters in bounds still fit CORE_ARGON2_PHC_MAX (checked by size, not by hashing 1 GiB). */
    assert_true(strlen("$argon2id$v=19$m=1048576,t=64,p=16$") + 22 + 1 + 43 + 1 <= CORE_ARGON2_PHC_MAX);
    core_argon2_params_t max = {.m_kib = CORE_ARGON2_M_KIB_MAX, .t = CORE_ARGON2_T_MAX, .p = CORE_ARGON2_P_MAX};
    assert_true(core_argon2_params_are_valid(&max));
}

static void test_needs_rehash(void **state)
{
    core_argon2_params_t cur = CORE_ARGON2_PARAMS_DEFAULT;
    const char *tail = "$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";
    char buf[256];
    struct {
        const char *head;
        bool expect;
    } cases[] = {
        {"$argon2id$v=19$m=19456,t=2,p=1", false}, {"$argon2id$v=19$m=65536,t=3,p=1", false},
        {"$argon2id$v=19$m=4096,t=2,p=1", true},   {"$argon2id$v=19$m=4096,t=3,p=1", true},
        {"$argon2id$v=19$m=19456,t=1,p=1", true},  {"$argon2id$v=19$m=65536,t=1,p=1", true},
        {"$argon2i$v=19$m=19456,t=2,p=1", true},   {"$argon2id$v=16$m=19456,t=2,p=1", true},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
        snprintf(buf, sizeof(buf), "%s%s", cases[i].head, tail);
        if (core_argon2_needs_rehash(buf, &cur) != cases[i].expect)
            fail_msg("%s: expected %d", buf, cases[i].expect);
    }
    /* A short salt (8 bytes) or hash (16 bytes) from an older scheme is upgraded too. */
    assert_true(core_argon2_needs_rehash("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", &cur));
    assert_true(core_argon2_needs_rehash("garbage", &cur));
    assert_true(core_argon2_needs_rehash("", &cur));
    assert_true(core_argon2_needs_rehash(NULL, &cur));

    /* A real hash under the test cost is weaker than the default and equal to itself. */
    char phc[CORE_ARGON2_PHC_MAX];
    hash_fast("rehash", phc);
    assert_true(core_argon2_needs_rehash(phc, &cur));
    assert_false(core_argon2_needs_rehash(phc, &FAST));
}

static void test_normalized_forms_verify_alike(void **state)
{
    /* "ﬁ" + full-width "ｖｅ" and plain "five": after core_password_normalize they are the same bytes, so a hash
     * made from one verifies the other. */
    const char *lig = "\xef\xac\x81\xef\xbd\x96\xef\xbd\x85 glacier mosaic";
    const char *plain = "five glacier mosaic";
    char *a = NULL, *b = NULL;
    size_t alen = 0, blen = 0;
    assert_int_equal(core_password_normalize(lig, strlen(lig), &a, &alen), 0);
    assert_int_equal(core_password_normalize(plain, strlen(plain), &b, &blen), 0);
    char phc[CORE_ARGON2_PHC_MAX];
    assert_int_equal(core_argon2_hash(a, alen, &FAST, phc, sizeof(phc)), 0);
    assert_int_equal(core_argon2_verify(phc, b, blen), 0);
    /* Without normalisation they would not. */
    assert_int_equal(core_argon2_verify(phc, lig, strlen(lig)), CORE_ERR_UNAUTHORIZED);
    core_password_free(a, alen);
    core_password_free(b, blen);
}

static void test_dummy_costs_like_verify(void **state)
{
    /* Loose bounds only (sanitizers and a busy machine skew timings): the dummy must do real work of the same
     * order as a verification, not return at once. */
    core_argon2_params_t p = {.m_kib = 4096, .t = 2, .p = 1};
    char phc[CORE_ARGON2_PHC_MAX];
    assert_int_equal(core_argon2_hash("timing", 6, &p, phc, sizeof(phc)), 0);
    double t0 = now_ms();
    for (int i = 0; i < 3; ++i)
        assert_int_equal(core_argon2_verify(phc, "wrong!", 6), CORE_ERR_UNAUTHORIZED);
    double t1 = now_ms();
    for (int i = 0; i < 3; ++i)
        core_argon2_dummy(&p);
    double t2 = now_ms();
    double verify = t1 - t0, dummy = t2 - t1;
    if (dummy < verify / 3 || dummy > verify * 3)
        fail_msg("dummy %.1f ms vs verify %.1f ms", dummy, verify);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_salts_differ),
        cmocka_unit_test(test_phc_shape),
        cmocka_unit_test(test_default_cost),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_needs_rehash),
        cmocka_unit_test(test_normalized_forms_verify_alike),
        cmocka_unit_test(test_dummy_costs_like_verify),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
