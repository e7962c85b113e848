/* Unit tests for core_config: defaults, every key, every error path (with its exact "file:line: key: " prefix),
 * the PARLEY_* environment overrides, loading from real files, and the sample conf/parley.yaml. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/core_config.h"
#include "core/core_error.h"

static const char *const env_vars[] = {"PARLEY_LISTEN", "PARLEY_REDIS_URL", "PARLEY_SMTP_URL", "PARLEY_PUBLIC_URL",
                                       "PARLEY_SITES",  "PARLEY_DATA_DIR",  "PARLEY_THREADS"};

/* Every test starts and ends with no PARLEY_* override set, whatever the calling environment holds. */
static int clean_env(void **state)
{
    for (size_t i = 0; i < sizeof(env_vars) / sizeof(env_vars[0]); ++i)
        unsetenv(env_vars[i]);
    return 0;
}

static core_config_t *load_ok_at(const char *yaml, int line)
{
    char err[512] = "";
    core_config_t *cfg = NULL;
    int ret = core_config_load_string(yaml, strlen(yaml), "t.yaml", &cfg, err, sizeof(err));
    if (ret != 0)
        fail_msg("line %d: unexpected error: %s", line, err);
    assert_non_null(cfg);
    return cfg;
}

/* Loads YAML, expects failure and an error that starts with PREFIX; returns nothing because the config is NULL. */
static void expect_error_at(const char *yaml, const char *prefix, int line)
{
    char err[512] = "";
    core_config_t *cfg = NULL;
    int ret = core_config_load_string(yaml, strlen(yaml), "t.yaml", &cfg, err, sizeof(err));
    if (ret == 0) {
        core_config_free(cfg);
        fail_msg("line %d: expected an error starting with \"%s\", but the config loaded", line, prefix);
    }
    assert_int_equal(ret, CORE_ERR_INVALID);
    assert_null(cfg);
    if (strncmp(err, prefix, strlen(prefix)) != 0)
        fail_msg("line %d: expected an error starting with\n  \"%s\"\ngot\n  \"%s\"", line, prefix, err);
    /* One line, as the header promises. */
    assert_null(strchr(err, '\n'));
}

#define LOAD_OK(yaml) load_ok_at((yaml), __LINE__)
#define EXPECT_ERROR(yaml, prefix) expect_error_at((yaml), (prefix), __LINE__)

/* Appends formatted text to a growing test buffer (used to build long lists). */
static void appendf(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void appendf(char *buf, size_t cap, const char *fmt, ...)
{
    size_t used = strlen(buf);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, cap - used, fmt, ap);
    va_end(ap);
}

/* ---- defaults ---- */

static void check_all_defaults(const core_config_t *cfg)
{
    assert_int_equal(cfg->num_listen, 1);
    assert_string_equal(cfg->listen[0].host, "127.0.0.1");
    assert_int_equal(cfg->listen[0].port, 8080);
    assert_null(cfg->listen[0].tls_cert);
    assert_null(cfg->listen[0].tls_key);
    assert_int_equal(cfg->threads, 0);
    assert_string_equal(cfg->public_url, "http://127.0.0.1:8080");
    assert_string_equal(cfg->data_dir, "data");
    assert_string_equal(cfg->secret_file, "data/secret");
    assert_null(cfg->static_dir);
    assert_string_equal(cfg->access_log, "-");
    assert_null(cfg->access_log_format);
    assert_string_equal(cfg->log_level, "info");
    assert_string_equal(cfg->log_format, "text");
    assert_string_equal(cfg->error_log, "");
    assert_false(cfg->trust_proxy);
    assert_string_equal(cfg->admin_token_env, "PARLEY_ADMIN_TOKEN");
    assert_string_equal(cfg->redis.url, "embedded");
    assert_string_equal(cfg->redis.prefix, "parley:");
    assert_int_equal(cfg->redis.timeout_ms, 2000);
    assert_int_equal(cfg->redis.connections, 2);
    assert_null(cfg->redis.password_env);
    assert_null(cfg->smtp.url);
    assert_int_equal(cfg->privacy.retention_s, 365 * 86400);
    assert_int_equal(cfg->privacy.sweep_interval_s, 3600);
    assert_int_equal(cfg->privacy.manage_ttl_s, 86400);
    assert_int_equal(cfg->privacy.mails_per_hour, 3);
    assert_string_equal(cfg->smtp.from, "Parley <parley@localhost>");
    assert_null(cfg->smtp.username_env);
    assert_null(cfg->smtp.password_env);
    assert_int_equal(cfg->limits[CORE_LIMIT_read].requests, 600);
    assert_int_equal(cfg->limits[CORE_LIMIT_read].window_s, 60);
    assert_int_equal(cfg->limits[CORE_LIMIT_write].requests, 60);
    assert_int_equal(cfg->limits[CORE_LIMIT_write].window_s, 60);
    assert_int_equal(cfg->limits[CORE_LIMIT_share].requests, 30);
    assert_int_equal(cfg->limits[CORE_LIMIT_share].window_s, 60);
    assert_int_equal(cfg->num_sites, 1);
    assert_string_equal(cfg->sites[0].id, "demo");
    assert_int_equal(cfg->sites[0].num_origins, 2);
    assert_string_equal(cfg->sites[0].origins[0], "http://127.0.0.1:8080");
    assert_string_equal(cfg->sites[0].origins[1], "http://localhost:8080");
    assert_int_equal(cfg->sites[0].moderation, CORE_MODERATION_FIRST);
    assert_int_equal(cfg->sites[0].max_depth, 5);
    assert_int_equal(cfg->sites[0].min_shares, 0);
}

static void test_defaults_empty(void **state)
{
    core_config_t *cfg = LOAD_OK("");
    check_all_defaults(cfg);
    core_config_free(cfg);
}

static void test_defaults_comments_and_nulls(void **state)
{
    static const char *const docs[] = {
        "# only a comment\n\n   \n", "---\n", "---\n...\n", "~\n", "redis:\nsmtp:\nlimits:\n  read:\n", "{}\n",
    };
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); ++i) {
        core_config_t *cfg = LOAD_OK(docs[i]);
        check_all_defaults(cfg);
        core_config_free(cfg);
    }
}

static void test_null_string_argument(void **state)
{
    char err[64];
    core_config_t *cfg = NULL;
    assert_int_equal(core_config_load_string(NULL, 0, NULL, &cfg, err, sizeof(err)), 0);
    check_all_defaults(cfg);
    core_config_free(cfg);
    /* No error buffer: the failure is still reported by the return value. */
    assert_int_equal(core_config_load_string("threads: x", 10, "t.yaml", &cfg, NULL, 0), CORE_ERR_INVALID);
    assert_null(cfg);
    /* A tiny buffer is filled and terminated, never overrun. */
    assert_int_equal(core_config_load_string("threads: x", 10, "t.yaml", &cfg, err, 8), CORE_ERR_INVALID);
    assert_string_equal(err, "t.yaml:");
}

/* ---- every key ---- */

static void test_full_config(void **state)
{
    core_config_t *cfg = LOAD_OK("listen:\n"
                                 "  - host: 0.0.0.0\n"
                                 "    port: 80\n"
                                 "  - host: \"[::1]\"\n"
                                 "    port: 443\n"
                                 "    tls:\n"
                                 "      cert: /etc/parley/cert.pem\n"
                                 "      key: /etc/parley/key.pem\n"
                                 "threads: 4\n"
                                 "public_url: https://comments.example.com/parley/\n"
                                 "data_dir: /var/lib/parley/\n"
                                 "static_dir: /srv/static\n"
                                 "access_log: \"\"\n"
                                 "access_log_format: '%h %r %s'\n"
                                 "log_level: debug\n"
                                 "trust_proxy: yes\n"
                                 "admin_token_env: MY_ADMIN\n"
                                 "redis:\n"
                                 "  url: redis://10.0.0.5:6380/2\n"
                                 "  prefix: \"blog:\"\n"
                                 "  timeout_ms: 500\n"
                                 "  password_env: REDIS_PW\n"
                                 "smtp:\n"
                                 "  url: smtps://mail.example.com:465\n"
                                 "  from: Comments <noreply@example.com>\n"
                                 "  username_env: SMTP_USER\n"
                                 "  password_env: SMTP_PW\n"
                                 "limits:\n"
                                 "  read: {requests: 100, window_s: 10}\n"
                                 "  write: {requests: 0, window_s: 86400}\n"
                                 "  share:\n"
                                 "    requests: 5\n"
                                 "sites:\n"
                                 "  - id: blog\n"
                                 "    origins: [https://blog.example.com, http://blog.example.com]\n"
                                 "    moderation: links\n"
                                 "    max_depth: 10\n"
                                 "    min_shares: 3\n"
                                 "  - id: docs_2\n"
                                 "    origins:\n"
                                 "      - https://docs.example.com\n"
                                 "    moderation: none\n");
    assert_int_equal(cfg->num_listen, 2);
    assert_string_equal(cfg->listen[0].host, "0.0.0.0");
    assert_int_equal(cfg->listen[0].port, 80);
    assert_null(cfg->listen[0].tls_cert);
    assert_string_equal(cfg->listen[1].host, "::1");
    assert_int_equal(cfg->listen[1].port, 443);
    assert_string_equal(cfg->listen[1].tls_cert, "/etc/parley/cert.pem");
    assert_string_equal(cfg->listen[1].tls_key, "/etc/parley/key.pem");
    assert_int_equal(cfg->threads, 4);
    assert_string_equal(cfg->public_url, "https://comments.example.com/parley");
    assert_string_equal(cfg->data_dir, "/var/lib/parley/");
    assert_string_equal(cfg->secret_file, "/var/lib/parley/secret");
    assert_string_equal(cfg->static_dir, "/srv/static");
    assert_string_equal(cfg->access_log, "");
    assert_string_equal(cfg->access_log_format, "%h %r %s");
    assert_string_equal(cfg->log_level, "debug");
    assert_true(cfg->trust_proxy);
    assert_string_equal(cfg->admin_token_env, "MY_ADMIN");
    assert_string_equal(cfg->redis.url, "redis://10.0.0.5:6380/2");
    assert_string_equal(cfg->redis.prefix, "blog:");
    assert_int_equal(cfg->redis.timeout_ms, 500);
    assert_string_equal(cfg->redis.password_env, "REDIS_PW");
    assert_string_equal(cfg->smtp.url, "smtps://mail.example.com:465");
    assert_string_equal(cfg->smtp.from, "Comments <noreply@example.com>");
    assert_string_equal(cfg->smtp.username_env, "SMTP_USER");
    assert_string_equal(cfg->smtp.password_env, "SMTP_PW");
    assert_int_equal(cfg->limits[CORE_LIMIT_read].requests, 100);
    assert_int_equal(cfg->limits[CORE_LIMIT_read].window_s, 10);
    assert_int_equal(cfg->limits[CORE_LIMIT_write].requests, 0);
    assert_int_equal(cfg->limits[CORE_LIMIT_write].window_s, 86400);
    assert_int_equal(cfg->limits[CORE_LIMIT_share].requests, 5);
    assert_int_equal(cfg->limits[CORE_LIMIT_share].window_s, 60); /* a key left out keeps its default */
    assert_int_equal(cfg->num_sites, 2);
    assert_string_equal(cfg->sites[0].id, "blog");
    assert_int_equal(cfg->sites[0].num_origins, 2);
    assert_string_equal(cfg->sites[0].origins[0], "https://blog.example.com");
    assert_string_equal(cfg->sites[0].origins[1], "http://blog.example.com");
    assert_int_equal(cfg->sites[0].moderation, CORE_MODERATION_LINKS);
    assert_int_equal(cfg->sites[0].max_depth, 10);
    assert_int_equal(cfg->sites[0].min_shares, 3);
    assert_string_equal(cfg->sites[1].id, "docs_2");
    assert_int_equal(cfg->sites[1].num_origins, 1);
    assert_int_equal(cfg->sites[1].moderation, CORE_MODERATION_NONE);
    assert_int_equal(cfg->sites[1].max_depth, 5);
    core_config_free(cfg);
}

static void test_explicit_secret_file_and_nulls(void **state)
{
    core_config_t *cfg = LOAD_OK("secret_file: /run/secrets/parley\n"
                                 "static_dir: \"\"\n"
                                 "access_log: ~\n"
                                 "smtp:\n  url: \"\"\n");
    assert_string_equal(cfg->secret_file, "/run/secrets/parley");
    assert_null(cfg->static_dir);             /* "" means off for optional strings */
    assert_string_equal(cfg->access_log, ""); /* null access_log means off, like "" */
    assert_null(cfg->smtp.url);
    core_config_free(cfg);
}

static void test_find_site(void **state)
{
    core_config_t *cfg = LOAD_OK("sites:\n"
                                 "  - {id: a, origins: [http://a.test]}\n"
                                 "  - {id: ab, origins: [http://ab.test]}\n");
    const core_config_site_t *s = core_config_find_site(cfg, "ab", 2);
    assert_non_null(s);
    assert_string_equal(s->id, "ab");
    s = core_config_find_site(cfg, "abc", 1); /* length-delimited: "a" */
    assert_non_null(s);
    assert_string_equal(s->id, "a");
    assert_null(core_config_find_site(cfg, "abc", 3));
    assert_null(core_config_find_site(cfg, "", 0));
    assert_null(core_config_find_site(NULL, "a", 1));
    core_config_free(cfg);
}

/* ---- YAML-level errors ---- */

static void test_yaml_syntax_error(void **state)
{
    EXPECT_ERROR("redis:\n  url: embedded\n prefix: x\n", "t.yaml:3: YAML syntax error: ");
    EXPECT_ERROR("threads: 1\nsites: [a, b\n", "t.yaml:3: YAML syntax error: ");
    EXPECT_ERROR("a: b: c\n", "t.yaml:1: YAML syntax error: mapping values are not allowed");
    EXPECT_ERROR("threads: \"1\n", "t.yaml:2: YAML syntax error: ");
}

static void test_yaml_reader_error(void **state)
{
    /* Invalid UTF-8 is caught by libyaml's reader, which knows a byte offset but no line. */
    EXPECT_ERROR("data_dir: \xff\xfe\n", "t.yaml: YAML error at byte 10: ");
}

static void test_yaml_multiple_documents(void **state)
{
    EXPECT_ERROR("threads: 1\n---\nthreads: 2\n", "t.yaml:2: only one YAML document is allowed");
}

static void test_yaml_alias(void **state)
{
    EXPECT_ERROR("data_dir: &d data\nstatic_dir: *d\n", "t.yaml:2: YAML aliases (*d) are not supported");
}

static void test_yaml_too_deep(void **state)
{
    char yaml[256] = "a: ";
    for (int i = 0; i < 40; ++i)
        appendf(yaml, sizeof(yaml), "[");
    EXPECT_ERROR(yaml, "t.yaml:1: YAML is nested more than 16 levels deep");
}

static void test_too_large(void **state)
{
    size_t len = 1024 * 1024 + 1;
    char *yaml = malloc(len + 1), err[256];
    core_config_t *cfg = NULL;
    assert_non_null(yaml);
    memset(yaml, '#', len);
    yaml[len] = '\0';
    assert_int_equal(core_config_load_string(yaml, len, "big.yaml", &cfg, err, sizeof(err)), CORE_ERR_INVALID);
    assert_string_equal(err, "big.yaml: is larger than 1048576 bytes");
    free(yaml);
}

/* ---- node kinds ---- */

static void test_top_level_not_mapping(void **state)
{
    EXPECT_ERROR("- a\n- b\n", "t.yaml:1: the top level must be a mapping of keys, not a list");
    EXPECT_ERROR("hello\n", "t.yaml:1: the top level must be a mapping of keys, not a scalar");
}

static void test_wrong_node_kind(void **state)
{
    EXPECT_ERROR("redis: embedded\n", "t.yaml:1: redis: must be a mapping of keys, not a scalar");
    EXPECT_ERROR("redis: [a]\n", "t.yaml:1: redis: must be a mapping of keys, not a list");
    EXPECT_ERROR("listen:\n  host: x\n", "t.yaml:2: listen: must be a list of mappings, not a mapping");
    EXPECT_ERROR("listen: 8080\n", "t.yaml:1: listen: must be a list of mappings");
    EXPECT_ERROR("listen: [8080]\n", "t.yaml:1: listen[0]: must be a mapping of keys, not a scalar");
    EXPECT_ERROR("public_url: [http://a]\n", "t.yaml:1: public_url: must be a string, not a list");
    EXPECT_ERROR("redis:\n  timeout_ms: {a: 1}\n",
                 "t.yaml:2: redis.timeout_ms: must be an integer from 10 to 60000, not a mapping");
    EXPECT_ERROR("trust_proxy: [true]\n", "t.yaml:1: trust_proxy: must be true or false, not a list");
    EXPECT_ERROR("sites:\n  - id: a\n    origins: http://a.test\n",
                 "t.yaml:3: sites[0].origins: must be a list of strings");
    EXPECT_ERROR("sites:\n  - id: a\n    origins:\n      - {x: 1}\n",
                 "t.yaml:4: sites[0].origins[0]: must be a string, not a mapping");
    EXPECT_ERROR("limits:\n  read: 5\n", "t.yaml:2: limits.read: must be a mapping of keys, not a scalar");
    EXPECT_ERROR("? [a]\n: b\n", "t.yaml:1: keys must be plain names, not a list");
}

/* ---- keys ---- */

static void test_unknown_key(void **state)
{
    EXPECT_ERROR("threads: 1\ncolour: red\n", "t.yaml:2: colour: unknown key");
    EXPECT_ERROR("redis:\n  host: x\n", "t.yaml:2: redis.host: unknown key");
    EXPECT_ERROR("sites:\n  - id: a\n    origins: [http://a.test]\n  - id: b\n    origins: [http://b.test]\n"
                 "    colour: red\n",
                 "t.yaml:6: sites[1].colour: unknown key");
    EXPECT_ERROR("listen:\n  - port: 1\n    tls:\n      chain: x\n", "t.yaml:4: listen[0].tls.chain: unknown key");
    EXPECT_ERROR("limits:\n  admin: {requests: 1}\n", "t.yaml:2: limits.admin: unknown key");
    /* accounts has only admin_emails so far: anything else in it is refused, not ignored. */
    EXPECT_ERROR("accounts:\n  password_min: 12\n", "t.yaml:2: accounts.password_min: unknown key");
    EXPECT_ERROR("accounts:\n  admin_emails: [\"mod@example.com\", \"nope\"]\n",
                 "t.yaml:2: accounts.admin_emails[1]: must be an e-mail address");
    /* Keys are case-sensitive. */
    EXPECT_ERROR("Threads: 1\n", "t.yaml:1: Threads: unknown key");
}

static void test_inline_secret_hint(void **state)
{
    EXPECT_ERROR("redis:\n  password: hunter2\n",
                 "t.yaml:2: redis.password: unknown key (secrets are never written in the config: set password_env");
    EXPECT_ERROR("smtp:\n  username: me\n", "t.yaml:2: smtp.username: unknown key (secrets are never written");
    EXPECT_ERROR("admin_token: abc\n", "t.yaml:1: admin_token: unknown key (secrets are never written");
}

static void test_duplicate_key(void **state)
{
    EXPECT_ERROR("threads: 1\nthreads: 2\n", "t.yaml:2: threads: duplicate key (first on line 1)");
    EXPECT_ERROR("redis:\n  url: embedded\n  prefix: a\n  url: embedded\n",
                 "t.yaml:4: redis.url: duplicate key (first on line 2)");
    EXPECT_ERROR("sites:\n  - id: a\n    id: b\n", "t.yaml:3: sites[0].id: duplicate key (first on line 2)");
    EXPECT_ERROR("redis: {}\nredis: {}\n", "t.yaml:2: redis: duplicate key (first on line 1)");
}

static void test_required_key_missing(void **state)
{
    EXPECT_ERROR("listen:\n  - host: 127.0.0.1\n", "t.yaml:2: listen[0].port: required key is missing");
    EXPECT_ERROR("listen:\n  -\n", "t.yaml:2: listen[0].port: required key is missing");
    EXPECT_ERROR("sites:\n  - origins: [http://a.test]\n", "t.yaml:2: sites[0].id: required key is missing");
    EXPECT_ERROR("sites:\n  - id: a\n", "t.yaml:2: sites[0].origins: required key is missing");
}

/* ---- scalar values ---- */

static void test_bad_integer(void **state)
{
    static const char *const bad[] = {"abc",        "-1",   "+1", "1.5", "0x10", "1e3", "1_000", "99999999999999999999",
                                      "4294967296", "\"\"", "~",  "1 2"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
        char yaml[64];
        snprintf(yaml, sizeof(yaml), "threads: %s\n", bad[i]);
        EXPECT_ERROR(yaml, "t.yaml:1: threads: must be an integer from 0 to 1024");
    }
    EXPECT_ERROR("sites:\n  - id: a\n    origins: [http://a.test]\n    min_shares: 4294967296\n",
                 "t.yaml:4: sites[0].min_shares: must be an integer from 0 to 4294967295");
}

static void test_integer_range(void **state)
{
    EXPECT_ERROR("redis:\n  timeout_ms: 5\n", "t.yaml:2: redis.timeout_ms: must be an integer from 10 to 60000");
    EXPECT_ERROR("redis:\n  timeout_ms: 60001\n", "t.yaml:2: redis.timeout_ms: must be an integer from 10 to 60000");
    EXPECT_ERROR("threads: 1025\n", "t.yaml:1: threads: must be an integer from 0 to 1024");
    EXPECT_ERROR("redis:\n  connections: 0\n", "t.yaml:2: redis.connections: must be an integer from 1 to 8");
    EXPECT_ERROR("redis:\n  connections: 9\n", "t.yaml:2: redis.connections: must be an integer from 1 to 8");
    EXPECT_ERROR("listen:\n  - port: 0\n", "t.yaml:2: listen[0].port: must be an integer from 1 to 65535");
    EXPECT_ERROR("listen:\n  - port: 8080\n  - port: 65536\n",
                 "t.yaml:3: listen[1].port: must be an integer from 1 to 65535");
    EXPECT_ERROR("sites:\n  - id: a\n    origins: [http://a.test]\n    max_depth: 0\n",
                 "t.yaml:4: sites[0].max_depth: must be an integer from 1 to 10");
    EXPECT_ERROR("limits:\n  share:\n    window_s: 0\n",
                 "t.yaml:3: limits.share.window_s: must be an integer from 1 to 86400");
    EXPECT_ERROR("limits:\n  write:\n    requests: 1000001\n",
                 "t.yaml:3: limits.write.requests: must be an integer from 0 to 1000000");

    /* The bounds themselves are accepted, quoted numbers too. */
    core_config_t *cfg = LOAD_OK("redis:\n  timeout_ms: 10\nthreads: \"1024\"\nlisten:\n  - port: 65535\n"
                                 "  - port: 1\n");
    assert_int_equal(cfg->redis.timeout_ms, 10);
    assert_int_equal(cfg->threads, 1024);
    assert_int_equal(cfg->listen[0].port, 65535);
    assert_int_equal(cfg->listen[1].port, 1);
    core_config_free(cfg);
    cfg = LOAD_OK("redis:\n  timeout_ms: 60000\n  connections: 8\n");
    assert_int_equal(cfg->redis.timeout_ms, 60000);
    assert_int_equal(cfg->redis.connections, 8);
    core_config_free(cfg);
}

static void test_bool(void **state)
{
    static const char *const yes[] = {"true", "yes", "on", "True", "YES", "On"};
    static const char *const no[] = {"false", "no", "off", "FALSE", "No"};
    char yaml[64];
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); ++i) {
        snprintf(yaml, sizeof(yaml), "trust_proxy: %s\n", yes[i]);
        core_config_t *cfg = LOAD_OK(yaml);
        assert_true(cfg->trust_proxy);
        core_config_free(cfg);
    }
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); ++i) {
        snprintf(yaml, sizeof(yaml), "trust_proxy: %s\n", no[i]);
        core_config_t *cfg = LOAD_OK(yaml);
        assert_false(cfg->trust_proxy);
        core_config_free(cfg);
    }
    EXPECT_ERROR("trust_proxy: maybe\n", "t.yaml:1: trust_proxy: must be true or false");
    EXPECT_ERROR("trust_proxy: 1\n", "t.yaml:1: trust_proxy: must be true or false");
    EXPECT_ERROR("trust_proxy:\n", "t.yaml:1: trust_proxy: must be true or false");
    EXPECT_ERROR("trust_proxy: \"true\\0x\"\n", "t.yaml:1: trust_proxy: must be true or false");
}

static void test_enum(void **state)
{
    static const char *const mods[] = {"none", "all", "links", "first"};
    static const char *const levels[] = {"debug", "info", "warn", "error"};
    char yaml[160];
    for (size_t i = 0; i < 4; ++i) {
        snprintf(yaml, sizeof(yaml), "log_level: %s\nsites:\n  - {id: a, origins: [http://a.test], moderation: %s}\n",
                 levels[i], mods[i]);
        core_config_t *cfg = LOAD_OK(yaml);
        assert_string_equal(cfg->log_level, levels[i]);
        assert_int_equal(cfg->sites[0].moderation, (int)i);
        core_config_free(cfg);
    }
    EXPECT_ERROR("sites:\n  - id: a\n    origins: [http://a.test]\n    moderation: sometimes\n",
                 "t.yaml:4: sites[0].moderation: must be one of none, all, links, first");
    EXPECT_ERROR("log_level: verbose\n", "t.yaml:1: log_level: must be one of debug, info, warn, error");
    EXPECT_ERROR("log_level: INFO\n", "t.yaml:1: log_level: must be one of debug, info, warn, error");
    EXPECT_ERROR("log_level: ~\n", "t.yaml:1: log_level: must be one of");
    core_config_t *cfg = LOAD_OK("log_format: json\nerror_log: /tmp/x.log\nprivacy:\n  manage_ttl_s: 60\n");
    assert_string_equal(cfg->log_format, "json");
    assert_string_equal(cfg->error_log, "/tmp/x.log");
    assert_int_equal(cfg->privacy.manage_ttl_s, 60);
    core_config_free(cfg);
    EXPECT_ERROR("log_format: xml\n", "t.yaml:1: log_format: must be one of text, json");
    EXPECT_ERROR("privacy:\n  manage_ttl_s: 59\n", "t.yaml:2: privacy.manage_ttl_s: must be an integer from 60");
    EXPECT_ERROR("privacy:\n  mails_per_hour: 0\n", "t.yaml:2: privacy.mails_per_hour: must be an integer from 1");
}

static void test_empty_required_string(void **state)
{
    EXPECT_ERROR("data_dir: \"\"\n", "t.yaml:1: data_dir: must not be empty");
    EXPECT_ERROR("data_dir:\n", "t.yaml:1: data_dir: must not be empty");
    EXPECT_ERROR("redis:\n  prefix: ''\n", "t.yaml:2: redis.prefix: must not be empty");
    EXPECT_ERROR("listen:\n  - host: \"\"\n    port: 1\n", "t.yaml:2: listen[0].host: must not be empty");
    EXPECT_ERROR("sites:\n  - id: a\n    origins: [\"\"]\n", "t.yaml:3: sites[0].origins[0]: must not be empty");
    EXPECT_ERROR("admin_token_env: ~\n", "t.yaml:1: admin_token_env: must not be empty");
}

static void test_string_content(void **state)
{
    /* Control characters could split log lines or inject mail headers. */
    EXPECT_ERROR("smtp:\n  from: \"a\\r\\nBcc: x@y\"\n", "t.yaml:2: smtp.from: must not contain control characters");
    EXPECT_ERROR("data_dir: \"a\\0b\"\n", "t.yaml:1: data_dir: must not contain control characters");
    char *yaml = malloc(5000);
    assert_non_null(yaml);
    memcpy(yaml, "data_dir: ", 10);
    memset(yaml + 10, 'x', 4097);
    yaml[4107] = '\0';
    EXPECT_ERROR(yaml, "t.yaml:1: data_dir: is longer than 4096 bytes");
    free(yaml);
    EXPECT_ERROR("redis:\n  prefix: \"my app:\"\n", "t.yaml:2: redis.prefix: must be at most 64 printable");
    /* A quoted key with a newline still gives a one-line message. */
    EXPECT_ERROR("\"a\\nb\": 1\n", "t.yaml:1: a?b: unknown key");
}

static void test_env_name_keys(void **state)
{
    EXPECT_ERROR("redis:\n  password_env: \"s3cr3t!\"\n",
                 "t.yaml:2: redis.password_env: must be the name of an environment variable");
    EXPECT_ERROR("admin_token_env: 1TOKEN\n", "t.yaml:1: admin_token_env: must be the name of an environment");
    EXPECT_ERROR("smtp:\n  username_env: a-b\n  password_env: P\n",
                 "t.yaml:2: smtp.username_env: must be the name of an environment variable");
}

/* ---- lists ---- */

static void test_too_many_items(void **state)
{
    char yaml[8192] = "listen:\n";
    for (int i = 0; i < 9; ++i)
        appendf(yaml, sizeof(yaml), "  - port: %d\n", 8000 + i);
    EXPECT_ERROR(yaml, "t.yaml:10: listen: has 9 items; at most 8 are allowed");

    yaml[0] = '\0';
    appendf(yaml, sizeof(yaml), "sites:\n");
    for (int i = 0; i < 65; ++i)
        appendf(yaml, sizeof(yaml), "  - {id: s%d, origins: [http://s%d.test]}\n", i, i);
    EXPECT_ERROR(yaml, "t.yaml:66: sites: has 65 items; at most 64 are allowed");

    yaml[0] = '\0';
    appendf(yaml, sizeof(yaml), "sites:\n  - id: a\n    origins:\n");
    for (int i = 0; i < 17; ++i)
        appendf(yaml, sizeof(yaml), "      - http://o%d.test\n", i);
    EXPECT_ERROR(yaml, "t.yaml:20: sites[0].origins: has 17 items; at most 16 are allowed");

    /* Exactly the maximum is fine. */
    yaml[0] = '\0';
    appendf(yaml, sizeof(yaml), "listen:\n");
    for (int i = 0; i < 8; ++i)
        appendf(yaml, sizeof(yaml), "  - port: %d\n", 8000 + i);
    core_config_t *cfg = LOAD_OK(yaml);
    assert_int_equal(cfg->num_listen, 8);
    core_config_free(cfg);
}

static void test_empty_lists(void **state)
{
    EXPECT_ERROR("sites: []\n", "t.yaml:1: sites: must list at least one item (or set PARLEY_SITES)");
    EXPECT_ERROR("sites:\n", "t.yaml:1: sites: must list at least one item (or set PARLEY_SITES)");
    EXPECT_ERROR("threads: 1\nlisten: []\n", "t.yaml:2: listen: must list at least one item (or set PARLEY_LISTEN)");
    EXPECT_ERROR("sites:\n  - id: a\n    origins: []\n", "t.yaml:3: sites[0].origins: must list at least one item");
}

static void test_listen_duplicate(void **state)
{
    EXPECT_ERROR("listen:\n  - port: 8080\n  - host: 127.0.0.1\n    port: 8080\n",
                 "t.yaml:3: listen[1]: 127.0.0.1:8080 is listed twice");
    EXPECT_ERROR("listen:\n  - {host: \"::1\", port: 1}\n  - {host: \"[::1]\", port: 1}\n",
                 "t.yaml:3: listen[1]: [::1]:1 is listed twice");
    EXPECT_ERROR("listen:\n  - {host: \"a b\", port: 1}\n", "t.yaml:2: listen[0].host: must be an IP address");
}

/* ---- sites ---- */

static void test_site_id(void **state)
{
    static const char *const bad[] = {"Demo",
                                      "-x",
                                      "_x",
                                      "a.b",
                                      "a b",
                                      "d\xc3\xa9mo",
                                      "a1234567890123456789012345678901234567890123456789012345678901234"};
    char yaml[256];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
        snprintf(yaml, sizeof(yaml), "sites:\n  - id: \"%s\"\n    origins: [http://a.test]\n", bad[i]);
        EXPECT_ERROR(yaml, "t.yaml:2: sites[0].id: must match [a-z0-9][a-z0-9_-]{0,63}");
    }
    /* 64 characters is the longest id. */
    core_config_t *cfg = LOAD_OK("sites:\n  - id: a123456789012345678901234567890123456789012345678901234567890123\n"
                                 "    origins: [http://a.test]\n  - id: 0-_\n    origins: [http://b.test]\n");
    assert_int_equal(strlen(cfg->sites[0].id), 64);
    assert_string_equal(cfg->sites[1].id, "0-_");
    core_config_free(cfg);
}

static void test_duplicate_site_ids(void **state)
{
    EXPECT_ERROR("sites:\n  - id: blog\n    origins: [http://a.test]\n  - id: docs\n    origins: [http://b.test]\n"
                 "  - id: blog\n    origins: [http://c.test]\n",
                 "t.yaml:6: sites[2]: site id \"blog\" is used twice");
}

static void test_origin_errors(void **state)
{
    static const struct {
        const char *origin, *message;
    } cases[] = {
        {"ftp://a.test", "must be http(s)://host[:port] with no path, query or fragment"},
        {"a.test", "must be http(s)://host[:port]"},
        {"//a.test", "must be http(s)://host[:port]"},
        {"http://", "must be http(s)://host[:port]"},
        {"http://a.test/path", "must be http(s)://host[:port]"},
        {"http://a.test/path/", "must be http(s)://host[:port]"},
        {"http://a.test?q=1", "must be http(s)://host[:port]"},
        {"http://a.test#top", "must be http(s)://host[:port]"},
        {"http://a.test:0", "must be http(s)://host[:port]"},
        {"http://a.test:65536", "must be http(s)://host[:port]"},
        {"http://a.test:", "must be http(s)://host[:port]"},
        {"http://a.test:8x", "must be http(s)://host[:port]"},
        {"http://:8080", "must be http(s)://host[:port]"},
        {"http://[::1", "must be http(s)://host[:port]"},
        {"http://a test", "must be http(s)://host[:port]"},
        {"http://user:pw@a.test", "must not contain a user name or password"},
    };
    char yaml[256], prefix[160];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
        snprintf(yaml, sizeof(yaml), "sites:\n  - id: a\n    origins:\n      - http://ok.test\n      - \"%s\"\n",
                 cases[i].origin);
        snprintf(prefix, sizeof(prefix), "t.yaml:5: sites[0].origins[1]: %s", cases[i].message);
        EXPECT_ERROR(yaml, prefix);
    }
}

static void test_origin_normalised(void **state)
{
    core_config_t *cfg = LOAD_OK("sites:\n  - id: a\n    origins:\n"
                                 "      - HTTPS://Example.COM/\n"
                                 "      - https://example.com:443\n"
                                 "      - http://example.com:80/\n"
                                 "      - http://example.com:8443\n"
                                 "      - https://[::1]:8443\n"
                                 "      - http://127.0.0.1:8080\n");
    const core_config_site_t *s = &cfg->sites[0];
    assert_int_equal(s->num_origins, 6);
    assert_string_equal(s->origins[0], "https://example.com");
    assert_string_equal(s->origins[1], "https://example.com");
    assert_string_equal(s->origins[2], "http://example.com");
    assert_string_equal(s->origins[3], "http://example.com:8443");
    assert_string_equal(s->origins[4], "https://[::1]:8443");
    assert_string_equal(s->origins[5], "http://127.0.0.1:8080");
    core_config_free(cfg);
}

/* ---- cross-field rules and URLs ---- */

static void test_tls_pair(void **state)
{
    EXPECT_ERROR("listen:\n  - port: 443\n    tls:\n      cert: c.pem\n",
                 "t.yaml:3: listen[0].tls: cert and key must be set together");
    EXPECT_ERROR("listen:\n  - port: 80\n  - port: 443\n    tls:\n      key: k.pem\n",
                 "t.yaml:4: listen[1].tls: cert and key must be set together");
    EXPECT_ERROR("listen:\n  - port: 443\n    tls: {cert: c.pem, key: ~}\n",
                 "t.yaml:3: listen[0].tls: cert and key must be set together");
    core_config_t *cfg = LOAD_OK("listen:\n  - port: 443\n    tls: {cert: c.pem, key: k.pem}\n"
                                 "  - port: 80\n    tls: {}\n");
    assert_string_equal(cfg->listen[0].tls_cert, "c.pem");
    assert_string_equal(cfg->listen[0].tls_key, "k.pem");
    assert_null(cfg->listen[1].tls_cert);
    core_config_free(cfg);
}

static void test_smtp(void **state)
{
    EXPECT_ERROR("smtp:\n  username_env: U\n", "t.yaml:1: smtp: username_env and password_env must be set together");
    EXPECT_ERROR("smtp:\n  url: http://mail.test\n",
                 "t.yaml:2: smtp.url: must start with smtp://, smtps:// or (for development) file:");
    EXPECT_ERROR("smtp:\n  url: \"file:\"\n", "t.yaml:2: smtp.url: file: needs a directory");
    EXPECT_ERROR("smtp:\n  url: smtp://u:p@mail.test\n", "t.yaml:2: smtp.url: must not contain credentials");
    EXPECT_ERROR("smtp:\n  url: smtp://mail.test/x\n", "t.yaml:2: smtp.url: must be smtp://host[:port]");
    core_config_t *cfg = LOAD_OK("smtp:\n  url: \"file:data/mail/\"\n");
    assert_string_equal(cfg->smtp.url, "file:data/mail");
    core_config_free(cfg);
    cfg = LOAD_OK("smtp:\n  url: smtp://127.0.0.1:2525/\n");
    assert_string_equal(cfg->smtp.url, "smtp://127.0.0.1:2525");
    core_config_free(cfg);
}

static void test_public_url(void **state)
{
    EXPECT_ERROR("public_url: ftp://a.test\n", "t.yaml:1: public_url: must start with http:// or https://");
    EXPECT_ERROR("public_url: a.test\n", "t.yaml:1: public_url: must start with http:// or https://");
    EXPECT_ERROR("public_url: http://a.test/?x=1\n", "t.yaml:1: public_url: must not have a query");
    EXPECT_ERROR("public_url: http://a.test/#x\n", "t.yaml:1: public_url: must not have a query");
    EXPECT_ERROR("public_url: http:///x\n", "t.yaml:1: public_url: must be http(s)://host[:port][/path]");
    EXPECT_ERROR("public_url: http://a.test:99999\n", "t.yaml:1: public_url: must be http(s)://host[:port][/path]");
    EXPECT_ERROR("public_url: http://u@a.test\n", "t.yaml:1: public_url: must not contain a user name");

    static const struct {
        const char *in, *out;
    } ok[] = {
        {"https://a.test/", "https://a.test"},
        {"https://a.test//", "https://a.test"},
        {"http://a.test:8080/c/", "http://a.test:8080/c"},
        {"https://a.test", "https://a.test"},
    };
    char yaml[128];
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); ++i) {
        snprintf(yaml, sizeof(yaml), "public_url: \"%s\"\n", ok[i].in);
        core_config_t *cfg = LOAD_OK(yaml);
        assert_string_equal(cfg->public_url, ok[i].out);
        core_config_free(cfg);
    }
}

static void test_redis_url(void **state)
{
    static const char *const bad[] = {
        "redis://a.test",          "redis://a.test:0",     "redis://:6379",        "redis://a.test:6379/x",
        "redis://a.test:6379/1/2", "rediss://a.test:6379", "unix://relative.sock", "unix:///",
        "unix:///s.sock?db=x",     "unix:///s.sock?x=1",   "http://a.test:6379",   "Embedded"};
    char yaml[128];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
        snprintf(yaml, sizeof(yaml), "redis:\n  url: \"%s\"\n", bad[i]);
        EXPECT_ERROR(yaml, "t.yaml:2: redis.url: must be \"embedded\", redis://host:port[/db] or unix:///path[?db=N]");
    }
    EXPECT_ERROR("redis:\n  url: redis://:pw@a.test:6379\n", "t.yaml:2: redis.url: must not contain a password");

    static const char *const good[] = {"embedded",
                                       "redis://127.0.0.1:6379",
                                       "redis://a.test:6379/15",
                                       "redis://[::1]:6379/",
                                       "unix:///run/redis.sock",
                                       "unix:///run/r.sock?db=3"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); ++i) {
        snprintf(yaml, sizeof(yaml), "redis:\n  url: \"%s\"\n", good[i]);
        core_config_t *cfg = LOAD_OK(yaml);
        assert_string_equal(cfg->redis.url, good[i]);
        core_config_free(cfg);
    }
}

/* ---- files ---- */

static char *write_temp(const char *content)
{
    char *path = strdup("/tmp/parley-test-config-XXXXXX");
    assert_non_null(path);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t len = strlen(content);
    assert_int_equal(write(fd, content, len), (ssize_t)len);
    close(fd);
    return path;
}

static void test_load_missing_file(void **state)
{
    char err[256];
    core_config_t *cfg = NULL;
    assert_int_equal(core_config_load("/nonexistent/parley.yaml", &cfg, err, sizeof(err)), CORE_ERR_INVALID);
    assert_null(cfg);
    assert_string_equal(err, "/nonexistent/parley.yaml: cannot open: No such file or directory");
}

static void test_load_unreadable(void **state)
{
    char err[256];
    core_config_t *cfg = NULL;
    /* A directory opens but cannot be read; a missing read permission gives "cannot open" (not testable as root). */
    assert_int_equal(core_config_load("/tmp", &cfg, err, sizeof(err)), CORE_ERR_INVALID);
    assert_null(cfg);
    assert_string_equal(err, "/tmp: cannot read: Is a directory");
}

static void test_load_real_file(void **state)
{
    char err[512], prefix[256];
    core_config_t *cfg = NULL;
    char *path = write_temp("threads: 2\nsites:\n  - id: a\n    origins: [https://a.test]\n");
    assert_int_equal(core_config_load(path, &cfg, err, sizeof(err)), 0);
    assert_int_equal(cfg->threads, 2);
    assert_string_equal(cfg->sites[0].origins[0], "https://a.test");
    core_config_free(cfg);
    unlink(path);
    free(path);

    path = write_temp("threads: 2\n\n# a comment\nredis:\n  timeout_ms: 1\n");
    assert_int_equal(core_config_load(path, &cfg, err, sizeof(err)), CORE_ERR_INVALID);
    snprintf(prefix, sizeof(prefix), "%s:5: redis.timeout_ms: must be an integer from 10 to 60000", path);
    assert_string_equal(err, prefix);
    unlink(path);
    free(path);
}

static void test_load_empty_file(void **state)
{
    char err[256];
    core_config_t *cfg = NULL;
    char *path = write_temp("");
    assert_int_equal(core_config_load(path, &cfg, err, sizeof(err)), 0);
    check_all_defaults(cfg);
    core_config_free(cfg);
    unlink(path);
    free(path);
}

/* The sample config must load, and must be what the quick start describes. */
static void test_sample_config(void **state)
{
    const char *root = getenv("PARLEY_SOURCE_DIR");
    char path[1024], err[512];
    core_config_t *cfg = NULL;
    if (root != NULL) {
        snprintf(path, sizeof(path), "%s/conf/parley.yaml", root);
    } else {
        /* Run outside ctest: find the file from this source file's location (tests/unit/). */
        const char *slash = strrchr(__FILE__, '/');
        int dirlen = slash != NULL ? (int)(slash - __FILE__) : 1;
        snprintf(path, sizeof(path), "%.*s/../../conf/parley.yaml", dirlen, slash != NULL ? __FILE__ : ".");
    }
    if (core_config_load(path, &cfg, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    /* The sample spells out the defaults, except the quick start's mail drop (smtp.url, default off). */
    assert_string_equal(cfg->smtp.url, "file:data/mail");
    free(cfg->smtp.url);
    cfg->smtp.url = NULL;
    check_all_defaults(cfg);
    core_config_free(cfg);
}

/* ---- environment overrides ---- */

static void test_env_scalars(void **state)
{
    setenv("PARLEY_REDIS_URL", "redis://127.0.0.1:6390/1", 1);
    setenv("PARLEY_SMTP_URL", "smtp://127.0.0.1:2525", 1);
    setenv("PARLEY_PUBLIC_URL", "https://c.example/", 1);
    setenv("PARLEY_DATA_DIR", "/var/lib/p", 1);
    setenv("PARLEY_THREADS", "3", 1);
    core_config_t *cfg = LOAD_OK("redis:\n  url: embedded\nthreads: 8\ndata_dir: d\n");
    assert_string_equal(cfg->redis.url, "redis://127.0.0.1:6390/1");
    assert_string_equal(cfg->smtp.url, "smtp://127.0.0.1:2525");
    assert_string_equal(cfg->public_url, "https://c.example");
    assert_string_equal(cfg->data_dir, "/var/lib/p");
    assert_string_equal(cfg->secret_file, "/var/lib/p/secret"); /* follows the overridden data_dir */
    assert_int_equal(cfg->threads, 3);
    core_config_free(cfg);

    /* An explicit secret_file is kept. */
    cfg = LOAD_OK("secret_file: /s\n");
    assert_string_equal(cfg->secret_file, "/s");
    core_config_free(cfg);
}

static void test_env_empty_is_unset(void **state)
{
    for (size_t i = 0; i < sizeof(env_vars) / sizeof(env_vars[0]); ++i)
        setenv(env_vars[i], "", 1);
    core_config_t *cfg = LOAD_OK("");
    check_all_defaults(cfg);
    core_config_free(cfg);
}

static void test_env_scalar_errors(void **state)
{
    setenv("PARLEY_THREADS", "many", 1);
    EXPECT_ERROR("", "t.yaml: PARLEY_THREADS: must be an integer from 0 to 1024");
    unsetenv("PARLEY_THREADS");
    setenv("PARLEY_REDIS_URL", "redis://x", 1);
    EXPECT_ERROR("", "t.yaml: PARLEY_REDIS_URL: must be \"embedded\", redis://host:port[/db]");
    unsetenv("PARLEY_REDIS_URL");
    setenv("PARLEY_SMTP_URL", "mail.test", 1);
    EXPECT_ERROR("", "t.yaml: PARLEY_SMTP_URL: must start with smtp://, smtps:// or (for development) file:");
    unsetenv("PARLEY_SMTP_URL");
    setenv("PARLEY_PUBLIC_URL", "c.example", 1);
    EXPECT_ERROR("", "t.yaml: PARLEY_PUBLIC_URL: must start with http:// or https://");
    unsetenv("PARLEY_PUBLIC_URL");
    setenv("PARLEY_DATA_DIR", "a\tb", 1);
    EXPECT_ERROR("", "t.yaml: PARLEY_DATA_DIR: must not contain control characters");
    unsetenv("PARLEY_DATA_DIR");
    /* File errors come first: the environment is applied after the file. */
    setenv("PARLEY_THREADS", "many", 1);
    EXPECT_ERROR("threads: x\n", "t.yaml:1: threads: ");
}

static void test_env_listen(void **state)
{
    setenv("PARLEY_LISTEN", "9000", 1);
    core_config_t *cfg = LOAD_OK("");
    assert_int_equal(cfg->num_listen, 1);
    assert_string_equal(cfg->listen[0].host, "127.0.0.1");
    assert_int_equal(cfg->listen[0].port, 9000);
    core_config_free(cfg);

    /* Replaces cleartext listeners, keeps TLS ones. */
    setenv("PARLEY_LISTEN", "0.0.0.0:8080, [::1]:8081 ,localhost:8082", 1);
    cfg = LOAD_OK("listen:\n  - port: 80\n  - port: 443\n    tls: {cert: c.pem, key: k.pem}\n  - port: 81\n");
    assert_int_equal(cfg->num_listen, 4);
    assert_int_equal(cfg->listen[0].port, 443);
    assert_string_equal(cfg->listen[0].tls_cert, "c.pem");
    assert_string_equal(cfg->listen[1].host, "0.0.0.0");
    assert_int_equal(cfg->listen[1].port, 8080);
    assert_null(cfg->listen[1].tls_cert);
    assert_string_equal(cfg->listen[2].host, "::1");
    assert_int_equal(cfg->listen[2].port, 8081);
    assert_string_equal(cfg->listen[3].host, "localhost");
    assert_int_equal(cfg->listen[3].port, 8082);
    core_config_free(cfg);

    /* Fills a list the file left empty. */
    setenv("PARLEY_LISTEN", "127.0.0.1:8080", 1);
    cfg = LOAD_OK("listen: []\n");
    assert_int_equal(cfg->num_listen, 1);
    core_config_free(cfg);
}

static void test_env_listen_errors(void **state)
{
    static const char *const bad[] = {"0",         "65536", "host",      "host:", ":8080", "::1:8080",
                                      "[::1]8080", "[::1]", "[::1:8080", "a:b",   "8080 x"};
    char prefix[160];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
        setenv("PARLEY_LISTEN", bad[i], 1);
        snprintf(prefix, sizeof(prefix), "t.yaml: PARLEY_LISTEN: \"%s\" is not PORT, HOST:PORT or [IPV6]:PORT", bad[i]);
        EXPECT_ERROR("", prefix);
    }
    setenv("PARLEY_LISTEN", "8080,", 1);
    EXPECT_ERROR("", "t.yaml: PARLEY_LISTEN: has an empty entry");
    setenv("PARLEY_LISTEN", "8080,127.0.0.1:8080", 1);
    EXPECT_ERROR("", "t.yaml: PARLEY_LISTEN: 127.0.0.1:8080 is listed twice");
    setenv("PARLEY_LISTEN", "a$b:80", 1);
    EXPECT_ERROR("", "t.yaml: PARLEY_LISTEN: host in \"a$b:80\" must be an IP address or host name");
    setenv("PARLEY_LISTEN", "1,2,3,4,5,6,7,8,9", 1);
    EXPECT_ERROR("", "t.yaml: PARLEY_LISTEN: gives more than 8 listeners");
    /* A cleartext entry on the address of a kept TLS listener is a duplicate too. */
    setenv("PARLEY_LISTEN", "443", 1);
    EXPECT_ERROR("listen:\n  - port: 443\n    tls: {cert: c, key: k}\n",
                 "t.yaml: PARLEY_LISTEN: 127.0.0.1:443 is listed twice");
}

static void test_env_sites(void **state)
{
    setenv("PARLEY_SITES", "blog=https://Blog.Example/,http://blog.example:8080; docs = https://docs.example", 1);
    core_config_t *cfg = LOAD_OK("sites:\n  - id: old\n    origins: [http://old.test]\n    moderation: none\n");
    assert_int_equal(cfg->num_sites, 2);
    assert_string_equal(cfg->sites[0].id, "blog");
    assert_int_equal(cfg->sites[0].num_origins, 2);
    assert_string_equal(cfg->sites[0].origins[0], "https://blog.example");
    assert_string_equal(cfg->sites[0].origins[1], "http://blog.example:8080");
    assert_int_equal(cfg->sites[0].moderation, CORE_MODERATION_FIRST); /* defaults, not the file's */
    assert_int_equal(cfg->sites[0].max_depth, 5);
    assert_string_equal(cfg->sites[1].id, "docs");
    assert_int_equal(cfg->sites[1].num_origins, 1);
    assert_string_equal(cfg->sites[1].origins[0], "https://docs.example");
    assert_null(core_config_find_site(cfg, "old", 3));
    core_config_free(cfg);

    /* Fills a list the file left empty. */
    cfg = LOAD_OK("sites: []\n");
    assert_int_equal(cfg->num_sites, 2);
    core_config_free(cfg);
}

static void test_env_sites_errors(void **state)
{
    static const struct {
        const char *value, *prefix;
    } cases[] = {
        {"blog", "t.yaml: PARLEY_SITES: \"blog\" is not ID=ORIGIN[,ORIGIN...]"},
        {"Blog=http://a.test", "t.yaml: PARLEY_SITES: site id \"Blog\" must match [a-z0-9][a-z0-9_-]{0,63}"},
        {"=http://a.test", "t.yaml: PARLEY_SITES: site id \"\" must match"},
        {"a=ftp://a.test", "t.yaml: PARLEY_SITES: site \"a\": origin \"ftp://a.test\" must be http(s)://host[:port]"},
        {"a=http://a.test/x", "t.yaml: PARLEY_SITES: site \"a\": origin \"http://a.test/x\" must be"},
        {"a=", "t.yaml: PARLEY_SITES: site \"a\" has an empty origin"},
        {"a=http://a.test,", "t.yaml: PARLEY_SITES: site \"a\" has an empty origin"},
        {"a=http://a.test;", "t.yaml: PARLEY_SITES: has an empty entry"},
        {"a=http://a.test;b=http://b.test;a=http://c.test", "t.yaml: PARLEY_SITES: site id \"a\" is used twice"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
        setenv("PARLEY_SITES", cases[i].value, 1);
        EXPECT_ERROR("", cases[i].prefix);
    }

    static char many[4096];
    many[0] = '\0';
    for (int i = 0; i < 65; ++i)
        appendf(many, sizeof(many), "%ss%d=http://s%d.test", i != 0 ? ";" : "", i, i);
    setenv("PARLEY_SITES", many, 1);
    EXPECT_ERROR("", "t.yaml: PARLEY_SITES: names more than 64 sites");

    many[0] = '\0';
    appendf(many, sizeof(many), "a=");
    for (int i = 0; i < 17; ++i)
        appendf(many, sizeof(many), "%shttp://o%d.test", i != 0 ? "," : "", i);
    setenv("PARLEY_SITES", many, 1);
    EXPECT_ERROR("", "t.yaml: PARLEY_SITES: site \"a\" has more than 16 origins");
}

#define T(f) cmocka_unit_test_setup_teardown(f, clean_env, clean_env)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_defaults_empty),
        T(test_defaults_comments_and_nulls),
        T(test_null_string_argument),
        T(test_full_config),
        T(test_explicit_secret_file_and_nulls),
        T(test_find_site),
        T(test_yaml_syntax_error),
        T(test_yaml_reader_error),
        T(test_yaml_multiple_documents),
        T(test_yaml_alias),
        T(test_yaml_too_deep),
        T(test_too_large),
        T(test_top_level_not_mapping),
        T(test_wrong_node_kind),
        T(test_unknown_key),
        T(test_inline_secret_hint),
        T(test_duplicate_key),
        T(test_required_key_missing),
        T(test_bad_integer),
        T(test_integer_range),
        T(test_bool),
        T(test_enum),
        T(test_empty_required_string),
        T(test_string_content),
        T(test_env_name_keys),
        T(test_too_many_items),
        T(test_empty_lists),
        T(test_listen_duplicate),
        T(test_site_id),
        T(test_duplicate_site_ids),
        T(test_origin_errors),
        T(test_origin_normalised),
        T(test_tls_pair),
        T(test_smtp),
        T(test_public_url),
        T(test_redis_url),
        T(test_load_missing_file),
        T(test_load_unreadable),
        T(test_load_real_file),
        T(test_load_empty_file),
        T(test_sample_config),
        T(test_env_scalars),
        T(test_env_empty_is_unset),
        T(test_env_scalar_errors),
        T(test_env_listen),
        T(test_env_listen_errors),
        T(test_env_sites),
        T(test_env_sites_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
