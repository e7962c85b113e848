/* Reading import files (tool_source.c): dates, statuses, the import order, and the readers on the sample files in
 * tests/import/ (WXR, ISO-8859-1, XXE, Disqus) and on broken ones. No Redis. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "core/core_error.h"
#include "tool/tool.h"

static void test_dates(void **state)
{
    (void)state;
    assert_int_equal(tool_parse_date("2019-03-05 11:00:00"), 1551783600000ull);
    assert_int_equal(tool_parse_date(" 2019-03-05 11:00:00\n"), 1551783600000ull);
    assert_int_equal(tool_parse_date("2019-03-05T11:00:00Z"), 1551783600000ull);
    assert_int_equal(tool_parse_date("2019-03-05T11:00:00"), 1551783600000ull);
    assert_int_equal(tool_parse_date("2019-03-05T11:00:00.250Z"), 1551783600250ull);
    assert_int_equal(tool_parse_date("2019-03-05T13:00:00+02:00"), 1551783600000ull);
    assert_int_equal(tool_parse_date("2019-03-05T06:30:00-04:30"), 1551783600000ull);
    assert_int_equal(tool_parse_date("2020-02-29 00:00:00"), 1582934400000ull);
    assert_int_equal(tool_parse_date("1970-01-01T00:00:01Z"), 1000);
    static const char *const bad[] = {"",
                                      "yesterday",
                                      "0000-00-00 00:00:00",
                                      "2019-13-01 00:00:00",
                                      "2019-02-29 00:00:00",
                                      "2019-04-31 00:00:00",
                                      "2019-03-05 24:00:00",
                                      "2019-03-05 11:00",
                                      "2019-03-05 11:00:00Z",
                                      "2019-03-05T11:00:00+2",
                                      "2019-03-05T11:00:00 junk",
                                      "1969-12-31T23:59:59Z",
                                      "2019/03/05 11:00:00",
                                      NULL};
    for (size_t i = 0; bad[i] != NULL; ++i)
        assert_int_equal(tool_parse_date(bad[i]), 0);
    assert_int_equal(tool_parse_date(NULL), 0);
}

static void test_statuses(void **state)
{
    (void)state;
    assert_int_equal(tool_wxr_status("1"), TOOL_STATUS_APPROVED);
    assert_int_equal(tool_wxr_status("approve"), TOOL_STATUS_APPROVED);
    assert_int_equal(tool_wxr_status("0"), TOOL_STATUS_PENDING);
    assert_int_equal(tool_wxr_status("hold"), TOOL_STATUS_PENDING);
    assert_int_equal(tool_wxr_status("spam"), TOOL_STATUS_SPAM);
    assert_int_equal(tool_wxr_status("trash"), TOOL_STATUS_DELETED);
    assert_int_equal(tool_wxr_status("post-trashed"), TOOL_STATUS_DELETED);
    assert_int_equal(tool_wxr_status("maybe"), TOOL_STATUS_UNKNOWN);
    assert_int_equal(tool_wxr_status(""), TOOL_STATUS_UNKNOWN);
}

/* A thread of N comments with ids "1".."N", PARENTS[i] (0 = none) and DATES[i]. */
static void make(tool_thread_t *t, size_t n, const int *parents, const uint64_t *dates)
{
    memset(t, 0, sizeof(*t));
    t->comments = calloc(n, sizeof(*t->comments));
    t->num_comments = t->cap_comments = n;
    for (size_t i = 0; i < n; ++i) {
        char id[24];
        snprintf(id, sizeof(id), "%zu", i + 1);
        t->comments[i].id = strdup(id);
        if (parents[i] != 0) {
            snprintf(id, sizeof(id), "%d", parents[i]);
            t->comments[i].parent = strdup(id);
        }
        t->comments[i].author = strdup("");
        t->comments[i].email = strdup("");
        t->comments[i].website = strdup("");
        t->comments[i].body = strdup("");
        t->comments[i].created_ms = dates[i];
        t->comments[i].seq = i;
    }
}

static void test_order(void **state)
{
    (void)state;
    tool_thread_t t;
    size_t order[8];
    /* 1 is a reply to 3, which is a reply to 2; 1 is oldest: its ancestors go first, oldest ancestor first. */
    {
        int parents[] = {3, 0, 2, 0};
        uint64_t dates[] = {100, 300, 200, 50};
        make(&t, 4, parents, dates);
        tool_thread_order(&t, order);
        size_t want[] = {3, 1, 2, 0}; /* "4" (50), then "2" before "3" before "1" */
        assert_memory_equal(order, want, sizeof(want));
        tool_thread_clear(&t);
    }
    /* A cycle (1 -> 2 -> 1) and a parent that is not there: every comment placed once, dates decide. */
    {
        int parents[] = {2, 1, 99};
        uint64_t dates[] = {10, 20, 5};
        make(&t, 3, parents, dates);
        tool_thread_order(&t, order);
        size_t want[] = {2, 1, 0};
        assert_memory_equal(order, want, sizeof(want));
        tool_thread_clear(&t);
    }
    /* Equal dates keep the file's order; a comment naming itself as parent is top level. */
    {
        int parents[] = {0, 2, 0};
        uint64_t dates[] = {7, 7, 7};
        make(&t, 3, parents, dates);
        tool_thread_order(&t, order);
        size_t want[] = {0, 1, 2};
        assert_memory_equal(order, want, sizeof(want));
        tool_thread_clear(&t);
    }
}

static char *sample(const char *name)
{
    const char *root = getenv("PARLEY_SOURCE_DIR");
    static char path[4096];
    snprintf(path, sizeof(path), "%s/tests/import/%s", root != NULL ? root : ".", name);
    return path;
}

struct st_seen_t {
    size_t threads, comments;
    char title[256], url[256], first_author[256], first_body[512];
    size_t pingbacks, with_parent;
};

static int on_thread(void *ctx, tool_thread_t *t)
{
    struct st_seen_t *s = ctx;
    if (s->threads++ == 0) {
        snprintf(s->title, sizeof(s->title), "%s", t->title);
        snprintf(s->url, sizeof(s->url), "%s", t->url);
        snprintf(s->first_author, sizeof(s->first_author), "%s", t->comments[0].author);
        snprintf(s->first_body, sizeof(s->first_body), "%s", t->comments[0].body);
    }
    s->comments += t->num_comments;
    for (size_t i = 0; i < t->num_comments; ++i) {
        s->pingbacks += t->comments[i].pingback;
        s->with_parent += t->comments[i].parent != NULL;
    }
    return 0;
}

static void test_read_wxr(void **state)
{
    (void)state;
    struct st_seen_t s = {0};
    char err[256];
    tool_format_t f;
    assert_int_equal(tool_read(sample("wordpress.xml"), TOOL_FORMAT_AUTO, on_thread, NULL, &s, &f, err, sizeof(err)),
                     0);
    assert_int_equal(f, TOOL_FORMAT_WXR);
    assert_int_equal(s.threads, 4); /* the page without comments is not delivered */
    assert_int_equal(s.comments, 16);
    assert_int_equal(s.pingbacks, 2);
    assert_int_equal(s.with_parent, 3);
    assert_string_equal(s.title, "Hello world!");
    assert_string_equal(s.url, "https://blog.example/2019/03/hello-world/?utm_source=feed");
    assert_string_equal(s.first_author, "Bob Reply");
}

static void test_read_latin1_and_xxe(void **state)
{
    (void)state;
    struct st_seen_t s = {0};
    char err[256];
    assert_int_equal(tool_read(sample("latin1.xml"), TOOL_FORMAT_WXR, on_thread, NULL, &s, NULL, err, sizeof(err)), 0);
    assert_string_equal(s.title, "Caf\xc3\xa9 \xc3\xbc"
                                 "ber Stra\xc3\x9f"
                                 "e");
    assert_string_equal(s.first_author, "Ren\xc3\xa9"
                                        "e M\xc3\xbcller");
    memset(&s, 0, sizeof(s));
    assert_int_equal(tool_read(sample("xxe.xml"), TOOL_FORMAT_AUTO, on_thread, NULL, &s, NULL, err, sizeof(err)), 0);
    assert_string_equal(s.first_body, "before [] [] after");
    assert_string_equal(s.first_author, "Mallory");
    assert_null(strstr(s.title, "root"));
}

static void test_read_disqus(void **state)
{
    (void)state;
    struct st_seen_t s = {0};
    char err[256];
    tool_format_t f;
    assert_int_equal(tool_read(sample("disqus.xml"), TOOL_FORMAT_AUTO, on_thread, NULL, &s, &f, err, sizeof(err)), 0);
    assert_int_equal(f, TOOL_FORMAT_DISQUS);
    assert_int_equal(s.threads, 4);
    assert_int_equal(s.comments, 11);
    assert_int_equal(s.with_parent, 3);
    assert_string_equal(s.title, "First & Disqus"); /* the thread of the first post, which came before it */
    assert_string_equal(s.first_author, "Carla");
}

static void test_read_broken(void **state)
{
    (void)state;
    char dir[] = "/tmp/parley-tool-XXXXXX", path[256], err[256];
    assert_non_null(mkdtemp(dir));
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"<?xml version=\"1.0\"?><rss><channel><item><title>x</title>", "line "},
        {"", "the file is empty"},
        {" \n", "the file is empty"},
        {"<?xml version=\"1.0\"?>", "line "},
        {"<?xml version=\"1.0\"?><feed/>", "root element <feed> is neither"},
        {"{\"parley_export\": 2, \"threads\": []}", "not a Parley export"},
        {"{\"parley_export\": 1, \"threads\": [{\"url\": \"x\", \"comments\": [{\"id\": 0}]}]}", "needs a positive"},
        {"{ broken", "line 1: "},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
        snprintf(path, sizeof(path), "%s/f%zu", dir, i);
        FILE *fp = fopen(path, "w");
        assert_non_null(fp);
        fputs(cases[i].text, fp);
        fclose(fp);
        err[0] = '\0';
        assert_int_equal(tool_read(path, TOOL_FORMAT_AUTO, NULL, NULL, NULL, NULL, err, sizeof(err)), CORE_ERR_INVALID);
        assert_non_null(strstr(err, cases[i].want));
        unlink(path);
    }
    snprintf(path, sizeof(path), "%s/missing", dir);
    assert_int_equal(tool_read(path, TOOL_FORMAT_AUTO, NULL, NULL, NULL, NULL, err, sizeof(err)), CORE_ERR_INVALID);
    assert_non_null(strstr(err, "cannot open"));
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_statuses),
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_read_wxr),
        cmocka_unit_test(test_read_latin1_and_xxe),
        cmocka_unit_test(test_read_disqus),
        cmocka_unit_test(test_read_broken),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
