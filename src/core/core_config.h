#ifndef CORE_CONFIG_H
#define CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The configuration: one YAML file (see conf/parley.yaml, which documents every key and its default),
 * read through one declarative table in core_config.c, then PARLEY_* environment overrides.
 * A loaded config is immutable and shared read-only by all threads. All strings are owned by the
 * config and freed by core_config_free. */

#define CORE_CONFIG_MAX_LISTEN 8
#define CORE_CONFIG_MAX_SITES 64
#define CORE_CONFIG_MAX_ORIGINS 16

typedef enum {
    CORE_MODERATION_NONE,
    CORE_MODERATION_ALL,
    CORE_MODERATION_LINKS,
    CORE_MODERATION_FIRST
} core_moderation_t;

/* Route classes for rate limits; the http route table tags each route with one. */
#define CORE_LIMIT_CLASSES(X) X(read) X(write) X(share) X(auth)
typedef enum {
#define X(name) CORE_LIMIT_##name,
    CORE_LIMIT_CLASSES(X)
#undef X
        CORE_LIMIT__COUNT
} core_limit_class_t;

typedef struct st_core_config_limit_t {
    uint32_t requests; /**< allowed requests per window and client IP; 0 disables the limit */
    uint32_t window_s; /**< window length in seconds (1..86400) */
} core_config_limit_t;

typedef struct st_core_config_listen_t {
    char *host;     /**< address to bind, default "127.0.0.1" ("0.0.0.0" / "::" for all) */
    uint16_t port;  /**< 1..65535 */
    char *tls_cert; /**< PEM certificate chain path; NULL for cleartext (HTTP/1.1 + h2c) */
    char *tls_key;  /**< PEM private key path; set iff tls_cert is */
} core_config_listen_t;

typedef struct st_core_config_site_t {
    char *id;                               /**< [a-z0-9][a-z0-9_-]{0,63} */
    char *origins[CORE_CONFIG_MAX_ORIGINS]; /**< "scheme://host[:port]", lower-case, no path */
    size_t num_origins;                     /**< >= 1 */
    core_moderation_t moderation;           /**< default FIRST */
    uint32_t max_depth;                     /**< reply nesting 1..10, default 5 */
    uint32_t min_shares;                    /**< share counts below this are hidden by the widget, default 0 */
    uint32_t edit_window_s;                 /**< anonymous authors may edit/delete this long, default 900 */
    bool gravatar;                          /**< avatars from Gravatar instead of Parley's identicons, default false */
} core_config_site_t;

typedef struct st_core_config_t {
    core_config_listen_t listen[CORE_CONFIG_MAX_LISTEN];
    size_t num_listen;       /**< >= 1; default one cleartext listener on 127.0.0.1:8080 */
    uint32_t threads;        /**< worker threads; 0 (default) = two per core */
    char *public_url;        /**< base of links in mails, no trailing slash; default "http://127.0.0.1:8080" */
    char *data_dir;          /**< embedded Redis data and default secret location; default "data" */
    char *secret_file;       /**< HMAC key file, created 0600 on first run; default "<data_dir>/secret" */
    char *static_dir;        /**< served under /static/; NULL (default) = off */
    char *access_log;        /**< path, "-" = stdout (default), "" = off */
    char *access_log_format; /**< h2o log format; NULL (default) = Apache combined */
    char *log_level;         /**< debug | info (default) | warn | error */
    char *log_format;        /**< error log lines: "text" (default) or "json" */
    char *error_log;         /**< error log file (reopened on SIGHUP); "" or "-" (default "") = stderr */
    bool trust_proxy;        /**< take the client IP from X-Forwarded-For (last hop); default false */
    char *admin_token_env;   /**< env var holding the admin bearer token; default "PARLEY_ADMIN_TOKEN" */
    struct {
        char *url;            /**< "embedded" (default), "redis://host:port[/db]" or "unix:///path[?db=N]" */
        char *prefix;         /**< key prefix, default "parley:" */
        uint32_t timeout_ms;  /**< per-command timeout, 10..60000, default 2000 */
        uint32_t connections; /**< connections per worker thread, 1..8, default 2 */
        char *password_env;   /**< env var holding the Redis password; NULL = none */
    } redis;
    struct {
        char *url;                /**< "smtp://host:port" or "smtps://…"; NULL = mail disabled */
        char *from;               /**< From address, default "Parley <parley@localhost>" */
        char *username_env;       /**< env var with the SMTP user name; NULL = no AUTH */
        char *password_env;       /**< env var with the SMTP password */
        uint32_t retry_initial_s; /**< first retry delay after a temporary failure, doubling per attempt up to 1 h;
                                       1..3600, default 30 */
        uint32_t retry_max_age_s; /**< a mail still failing this long after it was queued becomes a dead letter;
                                       10..604800, default 86400 */
        bool require_tls;         /**< smtp://: fail (and retry later) unless STARTTLS succeeds; default false (STARTTLS
                                       whenever the relay offers it) */
        char *ca_file;            /**< PEM CA bundle to verify the relay's certificate; NULL = the system's */
    } smtp;
    core_config_limit_t limits[CORE_LIMIT__COUNT];
    struct {
        uint32_t min_form_age_s;        /**< a form token younger than this marks spam, default 3 */
        uint32_t max_form_age_s;        /**< a form token older than this marks spam, default 86400 */
        uint32_t per_minute;            /**< comments per visitor per minute, default 5 (0 = no limit) */
        uint32_t per_hour;              /**< comments per visitor per hour, default 30 */
        uint32_t per_thread_per_minute; /**< comments per visitor and thread per minute, default 3 */
        uint32_t min_interval_s;        /**< seconds between two comments of one visitor, default 15 (0 = off) */
    } comments;
    struct {
        char *admin_emails[16]; /**< moderators: mailed for each pending comment (with one-click links); later the
                                     accounts that get the admin role. Lower-cased, validated. Default none */
        size_t num_admin_emails;
        uint32_t password_min_chars; /**< 8..128, default 12 */
        uint32_t argon2_memory_kib;  /**< default 19456 (19 MiB) */
        uint32_t argon2_passes;      /**< default 2 */
        uint32_t argon2_lanes;       /**< default 1 */
        uint32_t hash_threads;       /**< helper threads for argon2; 0 (default) = half the cores, at least 1 */
        uint32_t hash_queue;         /**< jobs waiting for a helper beyond which logins get 503; default 256 */
        uint32_t verify_ttl_s;       /**< life of an e-mail verification link, default 86400 */
        uint32_t reset_ttl_s;        /**< life of a password reset link, default 3600 */
        uint32_t session_idle_s;     /**< a session unused this long ends, default 30 days */
        uint32_t session_max_s;      /**< a session ends this long after login whatever its use, default 90 days */
        uint32_t free_failures;      /**< failed logins of one account before delays start, default 5 */
        uint32_t max_delay_s;        /**< the longest delay between two attempts after failures, default 300 */
        uint32_t mails_per_hour;     /**< reset / verification mails per account per hour, default 3 */
        uint32_t register_per_hour;  /**< registrations per client IP per hour, default 10 */
        char *reserved_names[32];    /**< user names nobody may take besides the built-in ones and the site ids */
        size_t num_reserved_names;
    } accounts;
    struct {
        uint32_t retention_s;      /**< guest comments older than this lose their e-mail and visitor hash; default
                                        365 days, 0 = keep for ever */
        uint32_t sweep_interval_s; /**< how often the retention sweep runs, 1..86400, default 3600 */
        uint32_t manage_ttl_s;     /**< life of a "manage my comments" link, 60..604800, default 86400 */
        uint32_t mails_per_hour;   /**< "manage my comments" mails per address per hour, 1..1000, default 3 */
    } privacy;
    core_config_site_t sites[CORE_CONFIG_MAX_SITES];
    size_t num_sites; /**< >= 1 */
} core_config_t;

/**
 * Loads PATH, applies defaults and the PARLEY_* environment overrides (PARLEY_LISTEN, PARLEY_REDIS_URL,
 * PARLEY_SMTP_URL, PARLEY_PUBLIC_URL, PARLEY_SITES, PARLEY_DATA_DIR, PARLEY_THREADS) and validates the result.
 * On success returns 0 and *out (caller frees with core_config_free). On failure returns CORE_ERR_INVALID and
 * writes one human-readable line into errbuf, of the form "FILE:LINE: key.path: what is wrong" (":LINE" is left
 * out for errors not tied to a line, e.g. from the environment). Unknown keys are errors.
 */
int core_config_load(const char *path, core_config_t **out, char *errbuf, size_t errlen);
/** Same as core_config_load, from a YAML string; NAME stands in for the file name in messages. */
int core_config_load_string(const char *yaml, size_t len, const char *name, core_config_t **out, char *errbuf,
                            size_t errlen);
/** Frees a config and all its strings. NULL is fine. */
void core_config_free(core_config_t *cfg);
/** Finds a site by id (length-delimited); NULL if none. */
const core_config_site_t *core_config_find_site(const core_config_t *cfg, const char *id, size_t len);

#endif
