/* core_time: the ISO 8601 text every answer, feed and export uses, and the clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/time.h>
#include <cmocka.h>
#include "core/core_time.h"

static void test_iso8601(void **state)
{
    (void)state;
    char out[CORE_ISO8601_MAX];
    assert_int_equal(core_iso8601(0, true, out), 24);
    assert_string_equal(out, "1970-01-01T00:00:00.000Z");
    assert_int_equal(core_iso8601(0, false, out), 20);
    assert_string_equal(out, "1970-01-01T00:00:00Z");
    assert_int_equal(core_iso8601(1795766619123ULL, true, out), 24);
    assert_string_equal(out, "2026-11-27T08:03:39.123Z");
    core_iso8601(1795766619999ULL, false, out); /* seconds are cut, never rounded up */
    assert_string_equal(out, "2026-11-27T08:03:39Z");
    core_iso8601(951782400007ULL, true, out); /* a leap day, milliseconds zero-padded */
    assert_string_equal(out, "2000-02-29T00:00:00.007Z");
}

static void test_now(void **state)
{
    (void)state;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    uint64_t before = (uint64_t)tv.tv_sec * 1000, now = core_now_ms();
    assert_true(now >= before && now < before + 5000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_iso8601), cmocka_unit_test(test_now)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
