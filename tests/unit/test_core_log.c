/* Unit tests for core_log: JSON lines that always parse (quotes, control characters and broken UTF-8 escaped or
 * replaced), text lines, the level filter, and core_log_reopen moving writes to a new file after a rename. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "core/core_log.h"

static char dir[64];
static char path[128];

static char *slurp(const char *p)
{
    FILE *f = fopen(p, "rb");
    if (f == NULL)
        return calloc(1, 1);
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strdup(buf);
}

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/parley-log-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/error.log", dir);
    char err[256];
    assert_int_equal(core_log_set_file(path, err, sizeof(err)), 0);
    return 0;
}

static int teardown(void **state)
{
    core_log_close_files();
    char p[160];
    snprintf(p, sizeof(p), "%s/error.log.1", dir);
    unlink(p);
    unlink(path);
    rmdir(dir);
    return 0;
}

static void test_json_escaping(void **state)
{
    assert_int_equal(truncate(path, 0), 0);
    core_log_set_json(true);
    core_log_set_level(CORE_LOG_INFO);
    core_log_debug("below the level");
    core_log_warn("quote \" backslash \\ newline \n tab \t bell \a del \x7f é € 😀 broken \xff\xc3 end");
    char *s = slurp(path);
    assert_null(strstr(s, "below the level"));
    assert_non_null(strstr(s, "{\"time\":\""));
    assert_non_null(strstr(s, "\",\"level\":\"warn\",\"pid\":"));
    assert_non_null(strstr(s, "\"msg\":\"quote \\\" backslash \\\\ newline \\n tab \\t bell \\u0007 del \\u007f é € 😀 "
                              "broken \\ufffd\\ufffd end\"}\n"));
    /* One line: the newline of the message is escaped. */
    assert_int_equal(strchr(s, '\n') - s + 1, (long)strlen(s));
    free(s);
}

static void test_text_and_reopen(void **state)
{
    assert_int_equal(truncate(path, 0), 0);
    core_log_set_json(false);
    core_log_info("first %d", 1);
    char rotated[160];
    snprintf(rotated, sizeof(rotated), "%s/error.log.1", dir);
    assert_int_equal(rename(path, rotated), 0);
    core_log_info("second");
    assert_int_equal(core_log_reopen(), 1);
    core_log_error("third");
    char *old = slurp(rotated), *fresh = slurp(path);
    assert_non_null(strstr(old, " INFO first 1\n"));
    assert_non_null(strstr(old, " INFO second\n"));
    assert_null(strstr(old, "third"));
    assert_non_null(strstr(fresh, " ERROR third\n"));
    assert_null(strstr(fresh, "second"));
    assert_int_equal(fresh[4], '-');
    assert_non_null(strstr(fresh, "Z parleyd["));
    free(old);
    free(fresh);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_escaping),
        cmocka_unit_test(test_text_and_reopen),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
