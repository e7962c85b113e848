#ifndef TOOL_H
#define TOOL_H

/* The command-line tools of parleyd: `parleyd import` and `parleyd export` (README "Import and export"). They run
 * without the HTTP server, read the same configuration, and talk to Redis through store_bulk (store.h).
 *
 * tool_source.c reads the files (WordPress WXR and Disqus XML with libxml2's streaming reader, Parley's own JSON
 * with jansson) into threads of comments, without any Redis; tool_import.c maps them onto Parley's comments and
 * stores them; tool_export.c writes a site out. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>
#include "core/core_config.h"
#include "core/core_token.h"
#include "store/store.h"

/** `parleyd import ...` (ARGV[0] is "import"). Returns the process exit code: 0 done, 1 a file or Redis error,
 * 2 bad arguments. Prints a summary on stdout and errors on stderr. */
int tool_import_main(int argc, char **argv);
/** `parleyd export ...` (ARGV[0] is "export"). Exit codes as tool_import_main. */
int tool_export_main(int argc, char **argv);

/* --- what both tools share (tool_common.c) --- */

/** A tool's view of the installation: the configuration, the chosen site, the server secret, and a Redis
 * connection. */
typedef struct st_tool_env_t {
    core_config_t *cfg;
    const core_config_site_t *site;
    uint8_t secret[CORE_TOKEN_BYTES]; /**< the server's (secret_file), for the keyed e-mail hashes */
    store_target_t target;
    pid_t redis_pid; /**< the embedded redis-server this tool started, or 0 (none, or one a parleyd runs) */
    store_bulk_t *bulk;
} tool_env_t;

/**
 * Loads CONF_PATH (with the PARLEY_* overrides), finds SITE_ID (NULL = the only site; an error when there are
 * several), loads the secret, and connects to Redis. With redis.url "embedded" it uses the redis-server of a
 * running parleyd on the same data_dir, else starts one the way parleyd does and stops it in tool_env_close.
 * Returns 0, or 1 after printing "parleyd CMD: <why>" on stderr (the exit code for the caller).
 */
int tool_env_open(tool_env_t *env, const char *cmd, const char *conf_path, const char *site_id);
/** Closes the connection, stops an embedded Redis this tool started, frees the config and wipes the secret. */
void tool_env_close(tool_env_t *env);

/* --- reading import files (tool_source.c): pure, no Redis --- */

typedef enum { TOOL_FORMAT_AUTO, TOOL_FORMAT_WXR, TOOL_FORMAT_DISQUS, TOOL_FORMAT_PARLEY } tool_format_t;

typedef enum {
    TOOL_STATUS_APPROVED,
    TOOL_STATUS_PENDING,
    TOOL_STATUS_SPAM,
    TOOL_STATUS_DELETED, /**< WordPress trash, Disqus isDeleted */
    TOOL_STATUS_UNKNOWN  /**< a value the reader does not know */
} tool_status_t;

/** One comment as the file has it. Strings are malloc'ed, NUL-terminated UTF-8 (libxml2 converts any declared
 * encoding), owned by the thread; absent ones are "" (never NULL) except PARENT. */
typedef struct st_tool_comment_t {
    char *id;     /**< source id: WordPress comment_id, Disqus post dsq:id, Parley id */
    char *parent; /**< the parent's source id, or NULL for a top-level comment */
    char *author, *email, *website;
    char *body;          /**< the text as stored there: WordPress comment text, Disqus HTML, Parley's body */
    uint64_t created_ms; /**< 0 when the date is missing or unreadable */
    tool_status_t status;
    bool pingback;  /**< a WordPress pingback or trackback */
    json_t *stored; /**< Parley format: the stored comment as exported (owned); else NULL */
    size_t seq;     /**< position in the file, for a stable order */
} tool_comment_t;

/** One thread (a post) and its comments. */
typedef struct st_tool_thread_t {
    char *url;           /**< as the file has it (canonicalised by the importer); "" when missing */
    char *title;         /**< "" when missing */
    bool locked;         /**< comments closed (WordPress comment_status closed, Disqus isClosed, Parley locked) */
    uint64_t created_ms; /**< Parley format: the thread's creation time; else 0 */
    json_t *votes;       /**< Parley format: the thread's votes ("id:voter" -> 1 | -1), owned; else NULL */
    tool_comment_t *comments;
    size_t num_comments, cap_comments;
} tool_thread_t;

/** Called once per thread that has comments, in file order; THREAD is freed after the call. Non-zero stops the
 * reading, and tool_read returns that value. */
typedef int (*tool_thread_cb)(void *ctx, tool_thread_t *thread);
/** Parley format: called once per account (a JSON object of strings); USER is released after the call. */
typedef int (*tool_user_cb)(void *ctx, json_t *user);

/**
 * Reads PATH as FORMAT (AUTO: '{' first means Parley JSON, else the XML root element decides: <rss> is WXR,
 * <disqus> is Disqus). XML is parsed with libxml2's reader with XML_PARSE_NONET, no entity substitution, no DTD
 * loading, and an external-entity loader that refuses everything, so a file can never make Parley read another file
 * or the network (XXE); references to entities that are not XML's own are dropped from the text. Disqus posts may
 * come in any order, so a Disqus file's threads are delivered at the end; WXR threads as each item closes.
 * Returns 0; CORE_ERR_INVALID with a message in ERRBUF for an unreadable, malformed or unrecognised file; or what a
 * callback returned. Callbacks may be NULL (a check of the whole file before anything is written). *FOUND (may be
 * NULL) gets the format detected.
 */
int tool_read(const char *path, tool_format_t format, tool_thread_cb on_thread, tool_user_cb on_user, void *ctx,
              tool_format_t *found, char *errbuf, size_t errlen);

/** Frees what THREAD holds (not THREAD itself) and zeroes it. */
void tool_thread_clear(tool_thread_t *thread);

/**
 * Milliseconds since the epoch of a WordPress date "YYYY-MM-DD HH:MM:SS" (read as UTC) or an ISO 8601 date-time
 * "YYYY-MM-DDTHH:MM:SS[.fraction][Z|+HH:MM|-HH:MM]" (no zone = UTC). 0 for anything else, for out-of-range fields
 * and for dates before 1970 (WordPress writes "0000-00-00 00:00:00" when it has none).
 */
uint64_t tool_parse_date(const char *s);

/** WordPress comment_approved: "1"/"approve" approved, "0"/"hold" pending, "spam", "trash"/"post-trashed" deleted. */
tool_status_t tool_wxr_status(const char *s);

/**
 * The order to import THREAD's comments in, written to ORDER (NUM_COMMENTS indices): by date (then file position),
 * except that a reply always comes after its parent. A parent that is not in the thread, or a cycle of parents,
 * does not hold a comment back (the importer then finds no parent and makes it top level).
 */
void tool_thread_order(const tool_thread_t *thread, size_t *order);

#endif
