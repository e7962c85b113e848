/* The error table: statuses, codes and messages line up, codes are unique, lookups round-trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>
#include "core/core_error.h"

static void test_known_rows(void **state)
{
    assert_int_equal(core_error_status(CORE_ERR_BAD_JSON), 400);
    assert_string_equal(core_error_code(CORE_ERR_BAD_JSON), "bad_json");
    assert_int_equal(core_error_status(CORE_ERR_UNKNOWN_SITE), 404);
    assert_int_equal(core_error_status(CORE_ERR_METHOD_NOT_ALLOWED), 405);
    assert_int_equal(core_error_status(CORE_ERR_TOO_LARGE), 413);
    assert_int_equal(core_error_status(CORE_ERR_UNSUPPORTED_MEDIA_TYPE), 415);
    assert_int_equal(core_error_status(CORE_ERR_INVALID), 422);
    assert_int_equal(core_error_status(CORE_ERR_RATE_LIMITED), 429);
    assert_int_equal(core_error_status(CORE_ERR_UNAVAILABLE), 503);
    assert_string_equal(core_error_code(CORE_ERR_FOREIGN_URL), "foreign_url");
    assert_int_equal(core_error_status(CORE_ERR_FOREIGN_URL), 403);
}

static void test_every_row_is_sane(void **state)
{
    for (int i = 1; i <= CORE_ERR__COUNT; ++i) {
        int err = -i;
        int st = core_error_status(err);
        assert_true(st >= 400 && st <= 599);
        const char *code = core_error_code(err);
        assert_true(strlen(code) > 0);
        for (const char *p = code; *p; ++p)
            assert_true((*p >= 'a' && *p <= 'z') || *p == '_');
        const char *msg = core_error_message(err);
        assert_true(strlen(msg) > 5);
        assert_true(msg[strlen(msg) - 1] == '.'); /* full sentences */
        assert_int_equal(core_error_from_code(code), err);
        for (int j = 1; j < i; ++j)
            assert_string_not_equal(code, core_error_code(-j));
    }
}

static void test_out_of_range_is_internal(void **state)
{
    assert_int_equal(core_error_status(0), 500);
    assert_int_equal(core_error_status(1), 500);
    assert_int_equal(core_error_status(-CORE_ERR__COUNT - 1), 500);
    assert_int_equal(core_error_status(-100000), 500);
    assert_string_equal(core_error_code(-100000), "internal");
    assert_int_equal(core_error_from_code("no_such_code"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_rows),
        cmocka_unit_test(test_every_row_is_sane),
        cmocka_unit_test(test_out_of_range_is_internal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
