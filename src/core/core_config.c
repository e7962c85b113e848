/* The configuration loader: one YAML file read through one declarative table of keys.
 *
 * Loading runs in four steps, and any step may stop with one error line ("FILE:LINE: key.path: what"):
 *   1. libyaml's event parser builds a small tree of nodes (scalar, mapping, sequence). Each node keeps its
 *      line, so every later error can point into the file. Aliases are refused: a config has no use for
 *      them, and refusing them rules out "billion laughs" expansion.
 *   2. Defaults are written into a zeroed core_config_t by walking the option tables below (root_opts and
 *      the tables it nests). The same rows drive step 3, so a default cannot disagree with the parser.
 *   3. The tree is applied to the struct through the tables. A row names a key, its type, where it lives
 *      (offsetof), its default, its bounds and an optional check that may also normalise the value.
 *   4. Rows that carry an environment variable (.env) are overridden from the environment through the same
 *      code and checks; then derived defaults (secret_file) are filled in.
 *
 * Adding a key means adding a field to core_config_t, one row here and its comment in conf/parley.yaml. */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>
#include "core/core_config.h"
#include "core/core_error.h"
#include "core/core_log.h"

#define MAX_INPUT (1024 * 1024) /* a config file larger than this is a mistake, and it bounds the tree */
#define MAX_DEPTH 16            /* the deepest real key is listen[].tls.cert, at depth 4 */
#define MAX_STRING 4096
#define MAX_ROWS 32 /* rows per table; sizes the "seen" set used for required keys */
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define MEMBER_LEN(T, m) ARRAY_LEN(((T *)0)->m)

/* ---- memory: out-of-memory aborts (STYLE.md), so callers never check ---- */

static void *xmalloc(size_t n)
{
    void *p = malloc(n != 0 ? n : 1);
    if (p == NULL) {
        fputs("parley: out of memory while loading the configuration\n", stderr);
        abort();
    }
    return p;
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n != 0 ? n : 1);
    if (q == NULL) {
        fputs("parley: out of memory while loading the configuration\n", stderr);
        abort();
    }
    return q;
}

static char *xmemdup(const char *s, size_t len)
{
    char *p = xmalloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

static char *xstrdup(const char *s)
{
    return xmemdup(s, strlen(s));
}

/* ---- small ASCII helpers; <ctype.h> would depend on the locale ---- */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_lower_alnum(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z');
}

static bool is_alnum(char c)
{
    return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static bool is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static void to_lower(char *s)
{
    for (; *s != '\0'; ++s)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

/* Parses a decimal integer in [s, s + len) and accepts it only within [min, max]. Only digits are allowed:
 * strtoul alone would also take leading blanks and a sign (turning "-1" into a huge value), so the digits are
 * checked first and strtoul's errno and end pointer still guard the conversion. */
static bool parse_u32(const char *s, size_t len, uint32_t min, uint32_t max, uint32_t *out)
{
    char buf[16];
    if (len == 0 || len >= sizeof(buf))
        return false;
    for (size_t i = 0; i < len; ++i)
        if (!is_digit(s[i]))
            return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    char *end;
    unsigned long v = strtoul(buf, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return false;
    *out = (uint32_t)v;
    return true;
}

/* Accepts YAML 1.1's spellings of booleans (true/false, yes/no, on/off), in any case. */
static bool parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no", "off"};
    for (size_t i = 0; i < ARRAY_LEN(yes); ++i) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

/* Removes blanks around [*s, *s + *len), for the comma- and semicolon-separated environment values. */
static void trim(const char **s, size_t *len)
{
    while (*len > 0 && (**s == ' ' || **s == '\t')) {
        ++*s;
        --*len;
    }
    while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
        --*len;
}

/* ---- the node tree ---- */

typedef enum { NODE_SCALAR, NODE_MAPPING, NODE_SEQUENCE } node_kind_t;

typedef struct st_node_t node_t;
struct st_node_t {
    node_kind_t kind;
    unsigned line;   /* 1-based; 0 for values that come from the environment */
    bool is_null;    /* a plain "", "~" or "null": the key is present but says nothing */
    char *str;       /* scalars: the value, NUL-terminated (it may also contain NULs; see len) */
    size_t len;      /* scalars: the length of str */
    node_t **kids;   /* mappings: key, value, key, value...; sequences: the items */
    size_t num_kids; /* always even for mappings: libyaml emits a value for every key */
    size_t cap_kids;
};

static node_t *node_new(node_kind_t kind, unsigned line)
{
    node_t *n = xmalloc(sizeof(*n));
    memset(n, 0, sizeof(*n));
    n->kind = kind;
    n->line = line;
    return n;
}

static void node_free(node_t *n)
{
    if (n == NULL)
        return;
    for (size_t i = 0; i < n->num_kids; ++i)
        node_free(n->kids[i]);
    free(n->kids);
    free(n->str);
    free(n);
}

static void node_add(node_t *parent, node_t *kid)
{
    if (parent->num_kids == parent->cap_kids) {
        parent->cap_kids = parent->cap_kids != 0 ? parent->cap_kids * 2 : 8;
        parent->kids = xrealloc(parent->kids, parent->cap_kids * sizeof(*parent->kids));
    }
    parent->kids[parent->num_kids++] = kid;
}

static const char *kind_name(const node_t *n)
{
    switch (n->kind) {
    case NODE_MAPPING:
        return "a mapping";
    case NODE_SEQUENCE:
        return "a list";
    default:
        return "a scalar";
    }
}

/* ---- the loader context and its one error line ---- */

typedef struct st_loader_t {
    const char *name; /* the file name (or the stand-in given to core_config_load_string) */
    char *errbuf;
    size_t errlen;
    char path[256]; /* the key path being applied, e.g. "listen[1].tls"; "PARLEY_SITES" for the environment */
    size_t path_len;
} loader_t;

/* Writes "NAME[:LINE]: [PATH: ]MESSAGE" into the caller's buffer and returns CORE_ERR_INVALID, so every error
 * site can read "return fail(...)". LINE 0 means "not tied to a line" and is left out, as the header promises.
 * Control characters (which a quoted YAML key may carry) are replaced so the result stays one line. */
__attribute__((format(printf, 3, 4))) static int fail(loader_t *ctx, unsigned line, const char *fmt, ...)
{
    if (ctx->errlen == 0)
        return CORE_ERR_INVALID;
    char msg[512], where[16] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (line != 0)
        snprintf(where, sizeof(where), ":%u", line);
    snprintf(ctx->errbuf, ctx->errlen, "%s%s: %s%s%s", ctx->name, where, ctx->path, ctx->path[0] != '\0' ? ": " : "",
             msg);
    for (char *p = ctx->errbuf; *p != '\0'; ++p)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    return CORE_ERR_INVALID;
}

/* Appends to the key path and returns the old length for path_pop. A path too long for the buffer is cut; it
 * only ever feeds error messages. */
__attribute__((format(printf, 2, 3))) static size_t path_push(loader_t *ctx, const char *fmt, ...)
{
    size_t old = ctx->path_len;
    if (old < sizeof(ctx->path) - 1) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(ctx->path + old, sizeof(ctx->path) - old, fmt, ap);
        va_end(ap);
        if (n > 0)
            ctx->path_len = old + (size_t)n < sizeof(ctx->path) ? old + (size_t)n : sizeof(ctx->path) - 1;
    }
    return old;
}

static size_t path_key(loader_t *ctx, const char *key)
{
    return path_push(ctx, "%s%s", ctx->path_len != 0 ? "." : "", key);
}

static size_t path_index(loader_t *ctx, size_t i)
{
    return path_push(ctx, "[%zu]", i);
}

static void path_pop(loader_t *ctx, size_t old)
{
    ctx->path_len = old;
    ctx->path[old] = '\0';
}

/* ---- step 1: YAML to nodes ---- */

/* Turns libyaml's error state into our error line. Syntax errors carry problem_mark; reader errors (bad UTF-8,
 * control characters) only carry a byte offset. libyaml running out of memory aborts like everything else. */
static int yaml_fail(loader_t *ctx, const yaml_parser_t *p)
{
    const char *problem = p->problem != NULL ? p->problem : "unknown error";
    switch (p->error) {
    case YAML_MEMORY_ERROR:
        fputs("parley: out of memory while parsing the configuration\n", stderr);
        abort();
    case YAML_READER_ERROR:
        return fail(ctx, 0, "YAML error at byte %zu: %s", p->problem_offset, problem);
    default:
        if (p->context != NULL)
            return fail(ctx, (unsigned)p->problem_mark.line + 1, "YAML syntax error: %s (%s)", problem, p->context);
        return fail(ctx, (unsigned)p->problem_mark.line + 1, "YAML syntax error: %s", problem);
    }
}

/* Builds the node that EV starts, reading further events for mappings and sequences. Takes ownership of EV
 * (always deletes it). On success *out is a new tree the caller frees with node_free. */
static int parse_node(loader_t *ctx, yaml_parser_t *p, yaml_event_t *ev, unsigned depth, node_t **out)
{
    unsigned line = (unsigned)ev->start_mark.line + 1;
    yaml_event_type_t type = ev->type;
    node_t *n = NULL;
    int ret = 0;

    *out = NULL;
    switch (type) {
    case YAML_SCALAR_EVENT: {
        n = node_new(NODE_SCALAR, line);
        n->len = ev->data.scalar.length;
        n->str = xmemdup((const char *)ev->data.scalar.value, n->len);
        /* Only a plain scalar can be null: a quoted "" or "null" is a string the user wrote on purpose. */
        if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
            n->is_null = n->len == 0 || strcmp(n->str, "~") == 0 || strcasecmp(n->str, "null") == 0;
        yaml_event_delete(ev);
        *out = n;
        return 0;
    }
    case YAML_ALIAS_EVENT: {
        char anchor[64];
        snprintf(anchor, sizeof(anchor), "%s", (const char *)ev->data.alias.anchor);
        yaml_event_delete(ev);
        return fail(ctx, line, "YAML aliases (*%s) are not supported; write the value out", anchor);
    }
    case YAML_MAPPING_START_EVENT:
    case YAML_SEQUENCE_START_EVENT:
        break;
    default:
        yaml_event_delete(ev);
        return fail(ctx, line, "YAML syntax error: unexpected event");
    }

    yaml_event_delete(ev);
    if (depth >= MAX_DEPTH)
        return fail(ctx, line, "YAML is nested more than %d levels deep", MAX_DEPTH);
    n = node_new(type == YAML_MAPPING_START_EVENT ? NODE_MAPPING : NODE_SEQUENCE, line);
    for (;;) {
        yaml_event_t kid_ev;
        node_t *kid;
        if (!yaml_parser_parse(p, &kid_ev)) {
            ret = yaml_fail(ctx, p);
            goto Error;
        }
        if (kid_ev.type == YAML_MAPPING_END_EVENT || kid_ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&kid_ev);
            break;
        }
        if ((ret = parse_node(ctx, p, &kid_ev, depth + 1, &kid)) != 0)
            goto Error;
        node_add(n, kid);
    }
    *out = n;
    return 0;

Error:
    node_free(n);
    return ret;
}

/* Parses YAML into a tree. An input with no document (empty, blanks, comments only) gives *root == NULL, which
 * the caller treats as "all defaults". More than one document is refused: which one would win is a guess. */
static int parse_yaml(loader_t *ctx, const char *yaml, size_t len, node_t **root)
{
    yaml_parser_t p;
    bool have_doc = false;
    int ret = 0;

    *root = NULL;
    if (!yaml_parser_initialize(&p)) {
        fputs("parley: out of memory while parsing the configuration\n", stderr);
        abort();
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)yaml, len);
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            ret = yaml_fail(ctx, &p);
            goto Exit;
        }
        yaml_event_type_t type = ev.type;
        unsigned line = (unsigned)ev.start_mark.line + 1;
        yaml_event_delete(&ev);
        if (type == YAML_STREAM_END_EVENT)
            break;
        if (type != YAML_DOCUMENT_START_EVENT)
            continue;
        if (have_doc) {
            ret = fail(ctx, line, "only one YAML document is allowed");
            goto Exit;
        }
        have_doc = true;
        if (!yaml_parser_parse(&p, &ev)) {
            ret = yaml_fail(ctx, &p);
            goto Exit;
        }
        if ((ret = parse_node(ctx, &p, &ev, 0, root)) != 0)
            goto Exit;
    }

Exit:
    yaml_parser_delete(&p);
    if (ret != 0) {
        node_free(*root);
        *root = NULL;
    }
    return ret;
}

/* ---- the option table: types and rows ---- */

typedef enum {
    OT_STRING,      /* char *; flags say whether null/"" mean NULL, "", or an error */
    OT_BOOL,        /* bool */
    OT_UINT,        /* uint16_t or uint32_t (see size) within [min, max] */
    OT_ENUM,        /* int-sized enum, or char * holding the canonical name with F_ENUM_STRING */
    OT_STRLIST,     /* char *[N] plus a size_t count */
    OT_SECTION,     /* a mapping with its own table (sub); offset moves the base for that table */
    OT_SECTION_LIST /* an array of structs, each filled from one mapping through sub */
} opt_type_t;

enum {
    F_REQUIRED = 1,   /* the key must appear in its mapping */
    F_NULLABLE = 2,   /* OT_STRING: null or "" store NULL ("off" / "none") */
    F_EMPTY_OK = 4,   /* OT_STRING: "" is a meaningful value; null stores "" too */
    F_ENUM_STRING = 8 /* OT_ENUM: the field is a char * holding the chosen name */
};

typedef struct st_opt_t opt_t;

/* A string check: NULL if VALUE is fine, else the message ("must ..."). It may normalise VALUE in place as long
 * as it only shortens it (lower-casing, stripping a trailing slash, dropping a default port). */
typedef const char *(*opt_check_t)(char *value);

struct st_opt_t {
    const char *name; /* NULL ends a table */
    opt_type_t type;
    unsigned flags;
    size_t offset;            /* of the field from the table's base; for OT_SECTION, of the section's base */
    size_t size;              /* OT_UINT: sizeof the field */
    const char *def_str;      /* OT_STRING default (copied), NULL for none */
    uint32_t def_num;         /* OT_UINT value, OT_BOOL 0/1, OT_ENUM index into names */
    uint32_t min, max;        /* OT_UINT bounds */
    const char *const *names; /* OT_ENUM choices, NULL-terminated, in the enum's order */
    opt_check_t check;        /* OT_STRING and each OT_STRLIST item */
    size_t count_offset;      /* OT_STRLIST, OT_SECTION_LIST: the size_t count, from the table's base */
    size_t max_items;         /* OT_STRLIST, OT_SECTION_LIST: the array's length */
    size_t min_items;         /* OT_STRLIST, OT_SECTION_LIST */
    size_t item_size;         /* OT_SECTION_LIST */
    const opt_t *sub;         /* OT_SECTION, OT_SECTION_LIST */
    /* OT_SECTION and OT_SECTION_LIST items: a rule across the section's keys; NULL if fine, else a message. */
    const char *(*section_check)(const void *section);
    /* OT_SECTION_LIST: a rule between item I and the items before it (e.g. unique ids); false with MSG set. */
    bool (*item_check)(const void *items, size_t i, char *msg, size_t msglen);
    /* OT_SECTION_LIST: fills the default items into the table's base; NULL means the list defaults to empty. */
    void (*set_default)(void *base);
    const char *env; /* the PARLEY_* variable that overrides this key, if any */
    /* For env rows that are not scalars: parses the variable's VALUE into the table's BASE. */
    int (*env_apply)(loader_t *ctx, void *base, const char *value);
};

/* Row builders. Each expands to designated initialisers without braces, so a table row can add fields:
 * {ROW_STRING(...), .env = "PARLEY_X"}. */
#define ROW_STRING(n, T, m, def, fl, chk)                                                                              \
    .name = (n), .type = OT_STRING, .flags = (fl), .offset = offsetof(T, m), .def_str = (def), .check = (chk)
#define ROW_BOOL(n, T, m, def) .name = (n), .type = OT_BOOL, .offset = offsetof(T, m), .def_num = (def)
#define ROW_UINT(n, T, m, def, lo, hi)                                                                                 \
    .name = (n), .type = OT_UINT, .offset = offsetof(T, m), .size = sizeof(((T *)0)->m), .def_num = (def),             \
    .min = (lo), .max = (hi)
#define ROW_ENUM(n, T, m, def, choices, fl)                                                                            \
    .name = (n), .type = OT_ENUM, .flags = (fl), .offset = offsetof(T, m), .def_num = (def), .names = (choices)
#define ROW_STRLIST(n, T, m, count, least, chk)                                                                        \
    .name = (n), .type = OT_STRLIST, .offset = offsetof(T, m), .count_offset = offsetof(T, count),                     \
    .max_items = MEMBER_LEN(T, m), .min_items = (least), .check = (chk)
#define ROW_SECTION(n, off, table, chk)                                                                                \
    .name = (n), .type = OT_SECTION, .offset = (off), .sub = (table), .section_check = (chk)
#define ROW_SECTION_LIST(n, T, m, count, least, table)                                                                 \
    .name = (n), .type = OT_SECTION_LIST, .offset = offsetof(T, m), .count_offset = offsetof(T, count),                \
    .max_items = MEMBER_LEN(T, m), .min_items = (least), .item_size = sizeof(((T *)0)->m[0]), .sub = (table)

/* OT_ENUM without F_ENUM_STRING writes an int; core_moderation_t must be int-sized for that. */
_Static_assert(sizeof(core_moderation_t) == sizeof(int), "enum fields are stored as int");

/* ---- checks used by the table ---- */

/* Checks "host[:port]" in [s, s + len): a DNS name or IPv4 address, or an IPv6 literal in brackets, then an
 * optional (or, with NEED_PORT, required) port 1..65535. *HOST_LEN gets the host's length, brackets included. */
static bool is_authority(const char *s, size_t len, bool need_port, size_t *host_len)
{
    size_t i = 0;
    uint32_t port;
    if (len == 0)
        return false;
    if (s[0] == '[') {
        for (i = 1; i < len && (is_hex(s[i]) || s[i] == ':' || s[i] == '.'); ++i)
            ;
        if (i == 1 || i >= len || s[i] != ']')
            return false;
        ++i;
    } else {
        for (; i < len && (is_alnum(s[i]) || s[i] == '.' || s[i] == '-' || s[i] == '_'); ++i)
            ;
        if (i == 0)
            return false;
    }
    *host_len = i;
    if (i == len)
        return !need_port;
    return s[i] == ':' && parse_u32(s + i + 1, len - i - 1, 1, 65535, &port);
}

/* If S starts with SCHEME (e.g. "https://"), in any case, returns what follows; else NULL. */
static char *after_scheme(char *s, const char *scheme)
{
    size_t n = strlen(scheme);
    return strncasecmp(s, scheme, n) == 0 ? s + n : NULL;
}

static const char *check_site_id(char *s)
{
    size_t len = strlen(s);
    bool ok = len >= 1 && len <= 64 && is_lower_alnum(s[0]);
    for (size_t i = 1; ok && i < len; ++i)
        ok = is_lower_alnum(s[i]) || s[i] == '_' || s[i] == '-';
    return ok ? NULL : "must match [a-z0-9][a-z0-9_-]{0,63}";
}

/* An origin is what browsers send in the Origin header: scheme://host[:port] and nothing else, lower-case, and
 * without the scheme's default port (RFC 6454 §6.2). Writing it the same way here lets CORS and the site's URL
 * checks compare strings. A trailing "/" is stripped because people paste "https://example.com/". */
static const char *check_origin(char *s)
{
    static const char *const bad = "must be http(s)://host[:port] with no path, query or fragment";
    size_t len;
    char *rest;
    bool https = false;

    to_lower(s);
    len = strlen(s);
    if (len > 0 && s[len - 1] == '/')
        s[--len] = '\0';
    if ((rest = after_scheme(s, "https://")) != NULL)
        https = true;
    else if ((rest = after_scheme(s, "http://")) == NULL)
        return bad;
    size_t alen = len - (size_t)(rest - s), hlen;
    if (memchr(rest, '@', alen) != NULL)
        return "must not contain a user name or password";
    if (!is_authority(rest, alen, false, &hlen))
        return bad;
    if (hlen < alen) {
        uint32_t port = 0;
        parse_u32(rest + hlen + 1, alen - hlen - 1, 1, 65535, &port);
        if (port == (https ? 443 : 80))
            rest[hlen] = '\0';
    }
    return NULL;
}

/* public_url is the base of links in mails, so it may carry a path (a server under /comments) but no query or
 * fragment; a trailing slash is stripped so "base + /path" never doubles it. */
static const char *check_public_url(char *s)
{
    char *rest = after_scheme(s, "https://");
    size_t hlen;
    if (rest == NULL && (rest = after_scheme(s, "http://")) == NULL)
        return "must start with http:// or https://";
    if (strpbrk(s, "?# ") != NULL)
        return "must not have a query, fragment or spaces";
    size_t alen = strcspn(rest, "/");
    if (memchr(rest, '@', alen) != NULL)
        return "must not contain a user name or password";
    if (!is_authority(rest, alen, false, &hlen))
        return "must be http(s)://host[:port][/path] with a valid host and port";
    size_t len = strlen(s), min = (size_t)(rest - s) + alen;
    while (len > min && s[len - 1] == '/')
        s[--len] = '\0';
    return NULL;
}

static const char *check_redis_url(char *s)
{
    static const char *const bad = "must be \"embedded\", redis://host:port[/db] or unix:///path[?db=N]";
    char *rest;
    uint32_t db;
    size_t hlen;

    if (strcmp(s, "embedded") == 0)
        return NULL;
    if ((rest = after_scheme(s, "redis://")) != NULL) {
        size_t alen = strcspn(rest, "/");
        if (memchr(rest, '@', alen) != NULL)
            return "must not contain a password; name its environment variable in redis.password_env";
        if (!is_authority(rest, alen, true, &hlen))
            return bad;
        const char *dbs = rest + alen;
        if (*dbs == '\0' || strcmp(dbs, "/") == 0)
            return NULL;
        return parse_u32(dbs + 1, strlen(dbs + 1), 0, 65535, &db) ? NULL : bad;
    }
    if ((rest = after_scheme(s, "unix://")) != NULL) {
        const char *q = strchr(rest, '?');
        if (rest[0] != '/' || rest[1] == '\0' || rest[1] == '?')
            return bad;
        if (q == NULL)
            return NULL;
        return strncmp(q, "?db=", 4) == 0 && parse_u32(q + 4, strlen(q + 4), 0, 65535, &db) ? NULL : bad;
    }
    return bad;
}

static const char *check_smtp_url(char *s)
{
    if (strncmp(s, "file:", 5) == 0) {
        /* The development drop: mails become files in a directory (mail_smtp.c). */
        size_t n = strlen(s + 5);
        while (n > 1 && s[5 + n - 1] == '/')
            s[5 + --n] = '\0';
        if (n == 0 || n > 3000)
            return "file: needs a directory, e.g. file:data/mail";
        return NULL;
    }
    char *rest = after_scheme(s, "smtps://");
    size_t hlen;
    if (rest == NULL && (rest = after_scheme(s, "smtp://")) == NULL)
        return "must start with smtp://, smtps:// or (for development) file:";
    size_t len = strlen(rest);
    if (len > 0 && rest[len - 1] == '/')
        rest[--len] = '\0';
    if (memchr(rest, '@', len) != NULL)
        return "must not contain credentials; name their environment variables in smtp.username_env and "
               "smtp.password_env";
    if (!is_authority(rest, len, false, &hlen))
        return "must be smtp://host[:port] or smtps://host[:port]";
    return NULL;
}

/* The *_env keys name a variable; a value that is not a variable name is most likely the secret itself, and
 * that must not live in the file. */
static const char *check_env_name(char *s)
{
    bool ok = s[0] != '\0' && !is_digit(s[0]) && strlen(s) <= 128;
    for (const char *p = s; ok && *p != '\0'; ++p)
        ok = is_alnum(*p) || *p == '_';
    return ok ? NULL : "must be the name of an environment variable ([A-Za-z_][A-Za-z0-9_]*), not the secret itself";
}

static const char *check_prefix(char *s)
{
    bool ok = strlen(s) <= 64;
    for (const char *p = s; ok && *p != '\0'; ++p)
        ok = *p > ' ' && *p < 0x7f;
    return ok ? NULL : "must be at most 64 printable ASCII characters without spaces";
}

/* A bind address: an IP literal or a name for getaddrinfo. "[::1]" is accepted and stored as "::1", which is
 * what getaddrinfo wants. */
static const char *check_listen_host(char *s)
{
    size_t len = strlen(s);
    if (s[0] == '[') {
        if (len < 3 || s[len - 1] != ']')
            return "must be an IP address or host name";
        memmove(s, s + 1, len - 2);
        s[len - 2] = '\0';
    }
    for (const char *p = s; *p != '\0'; ++p)
        if (!is_alnum(*p) && strchr(".-_:%", *p) == NULL)
            return "must be an IP address or host name";
    return NULL;
}

static const char *check_tls_pair(const void *section)
{
    const core_config_listen_t *l = section;
    if ((l->tls_cert == NULL) != (l->tls_key == NULL))
        return "cert and key must be set together";
    return NULL;
}

static const char *check_smtp_auth(const void *section)
{
    const core_config_t *cfg = section;
    if ((cfg->smtp.username_env == NULL) != (cfg->smtp.password_env == NULL))
        return "username_env and password_env must be set together";
    return NULL;
}

/* Two listeners on one address would both bind under SO_REUSEPORT and split connections between them. */
static bool listen_unique(const void *items, size_t i, char *msg, size_t msglen)
{
    const core_config_listen_t *l = items;
    for (size_t j = 0; j < i; ++j) {
        if (l[j].port == l[i].port && strcmp(l[j].host, l[i].host) == 0) {
            bool v6 = strchr(l[i].host, ':') != NULL;
            snprintf(msg, msglen, "%s%s%s:%u is listed twice", v6 ? "[" : "", l[i].host, v6 ? "]" : "",
                     (unsigned)l[i].port);
            return false;
        }
    }
    return true;
}

static bool site_unique(const void *items, size_t i, char *msg, size_t msglen)
{
    const core_config_site_t *s = items;
    for (size_t j = 0; j < i; ++j) {
        if (strcmp(s[j].id, s[i].id) == 0) {
            snprintf(msg, msglen, "site id \"%s\" is used twice", s[i].id);
            return false;
        }
    }
    return true;
}

/* ---- the tables ---- */

static void apply_defaults(const opt_t *opts, void *base);
static void free_opts(const opt_t *opts, void *base);
static int env_listen(loader_t *ctx, void *base, const char *value);
static int env_sites(loader_t *ctx, void *base, const char *value);

static const char *const moderation_names[] = {
    [CORE_MODERATION_NONE] = "none",   [CORE_MODERATION_ALL] = "all",      [CORE_MODERATION_LINKS] = "links",
    [CORE_MODERATION_FIRST] = "first", [CORE_MODERATION_FIRST + 1] = NULL,
};

/* Indexed by core_log_level_t, so the names and the logger cannot drift apart. */
static const char *const log_level_names[] = {
    [CORE_LOG_DEBUG] = "debug", [CORE_LOG_INFO] = "info",    [CORE_LOG_WARN] = "warn",
    [CORE_LOG_ERROR] = "error", [CORE_LOG_ERROR + 1] = NULL,
};

static const char *const log_format_names[] = {"text", "json", NULL};

/* listen[].tls: both fields live flat in core_config_listen_t, so the section's offset is 0. */
static const opt_t tls_opts[] = {
    {ROW_STRING("cert", core_config_listen_t, tls_cert, NULL, F_NULLABLE, NULL)},
    {ROW_STRING("key", core_config_listen_t, tls_key, NULL, F_NULLABLE, NULL)},
    {NULL},
};

static const opt_t listen_opts[] = {
    {ROW_STRING("host", core_config_listen_t, host, "127.0.0.1", 0, check_listen_host)},
    {ROW_UINT("port", core_config_listen_t, port, 0, 1, 65535), .flags = F_REQUIRED},
    {ROW_SECTION("tls", 0, tls_opts, check_tls_pair)},
    {NULL},
};

static const opt_t site_opts[] = {
    {ROW_STRING("id", core_config_site_t, id, NULL, F_REQUIRED, check_site_id)},
    {ROW_STRLIST("origins", core_config_site_t, origins, num_origins, 1, check_origin), .flags = F_REQUIRED},
    {ROW_ENUM("moderation", core_config_site_t, moderation, CORE_MODERATION_FIRST, moderation_names, 0)},
    {ROW_UINT("max_depth", core_config_site_t, max_depth, 5, 1, 10)},
    {ROW_UINT("min_shares", core_config_site_t, min_shares, 0, 0, UINT32_MAX)},
    {ROW_UINT("edit_window_s", core_config_site_t, edit_window_s, 900, 0, 86400)},
    {ROW_BOOL("gravatar", core_config_site_t, gravatar, false)},
    {NULL},
};

/* redis and smtp are anonymous structs inside core_config_t: their sections keep the root as base (offset 0)
 * and the rows reach in with offsetof(core_config_t, redis.url). */
static const opt_t redis_opts[] = {
    {ROW_STRING("url", core_config_t, redis.url, "embedded", 0, check_redis_url), .env = "PARLEY_REDIS_URL"},
    {ROW_STRING("prefix", core_config_t, redis.prefix, "parley:", 0, check_prefix)},
    {ROW_UINT("timeout_ms", core_config_t, redis.timeout_ms, 2000, 10, 60000)},
    {ROW_UINT("connections", core_config_t, redis.connections, 2, 1, 8)},
    {ROW_STRING("password_env", core_config_t, redis.password_env, NULL, F_NULLABLE, check_env_name)},
    {NULL},
};

static const opt_t smtp_opts[] = {
    {ROW_STRING("url", core_config_t, smtp.url, NULL, F_NULLABLE, check_smtp_url), .env = "PARLEY_SMTP_URL"},
    {ROW_STRING("from", core_config_t, smtp.from, "Parley <parley@localhost>", 0, NULL)},
    {ROW_STRING("username_env", core_config_t, smtp.username_env, NULL, F_NULLABLE, check_env_name)},
    {ROW_STRING("password_env", core_config_t, smtp.password_env, NULL, F_NULLABLE, check_env_name)},
    {ROW_UINT("retry_initial_s", core_config_t, smtp.retry_initial_s, 30, 1, 3600)},
    {ROW_UINT("retry_max_age_s", core_config_t, smtp.retry_max_age_s, 86400, 10, 604800)},
    {ROW_BOOL("require_tls", core_config_t, smtp.require_tls, false)},
    {ROW_STRING("ca_file", core_config_t, smtp.ca_file, NULL, F_NULLABLE, NULL)},
    {NULL},
};

/* Defaults per rate-limit class: requests per window, window in seconds. Every class in CORE_LIMIT_CLASSES needs
 * a row here; a missing one fails to compile (limit_<name>_opts is undefined). */
#define LIMIT_DEFAULTS(X) X(read, 600, 60) X(write, 60, 60) X(share, 30, 60) X(auth, 30, 60)
#define X(cls, req, win)                                                                                               \
    static const opt_t limit_##cls##_opts[] = {                                                                        \
        {ROW_UINT("requests", core_config_limit_t, requests, req, 0, 1000000)},                                        \
        {ROW_UINT("window_s", core_config_limit_t, window_s, win, 1, 86400)},                                          \
        {NULL},                                                                                                        \
    };
LIMIT_DEFAULTS(X)
#undef X

/* A plain check, as for comment authors: one @, a local part without spaces or brackets, a dotted domain. Lower-
 * cased so that comparisons with addresses typed at registration work. */
static const char *check_email(char *s)
{
    to_lower(s);
    char *at = strchr(s, '@');
    if (at == NULL || at == s || strchr(at + 1, '@') != NULL || strchr(at + 1, '.') == NULL || at[1] == '.' ||
        s[strlen(s) - 1] == '.' || strlen(s) > 254)
        return "must be an e-mail address";
    for (const char *p = s; *p != '\0'; ++p)
        if ((unsigned char)*p <= ' ' || *p == '<' || *p == '>' || *p == '"' || *p == ',' || *p == ';' || *p == 0x7f)
            return "must be an e-mail address";
    return NULL;
}

static const char *check_accounts(const void *section)
{
    const core_config_t *cfg = section;
    if (cfg->accounts.argon2_memory_kib < 8 * cfg->accounts.argon2_lanes)
        return "argon2_memory_kib must be at least 8 per lane";
    if (cfg->accounts.session_max_s < cfg->accounts.session_idle_s)
        return "session_max_s must be at least session_idle_s";
    return NULL;
}

/* Reserved user names are compared case-insensitively, so they are kept lower-cased. */
static const char *check_reserved(char *s)
{
    to_lower(s);
    size_t n = strlen(s);
    if (n < 1 || n > 30)
        return "must be 1 to 30 characters";
    return NULL;
}

static const opt_t accounts_opts[] = {
    {ROW_STRLIST("admin_emails", core_config_t, accounts.admin_emails, accounts.num_admin_emails, 0, check_email)},
    {ROW_UINT("password_min_chars", core_config_t, accounts.password_min_chars, 12, 8, 128)},
    {ROW_UINT("argon2_memory_kib", core_config_t, accounts.argon2_memory_kib, 19456, 64, 1048576)},
    {ROW_UINT("argon2_passes", core_config_t, accounts.argon2_passes, 2, 1, 64)},
    {ROW_UINT("argon2_lanes", core_config_t, accounts.argon2_lanes, 1, 1, 16)},
    {ROW_UINT("hash_threads", core_config_t, accounts.hash_threads, 0, 0, 64)},
    {ROW_UINT("hash_queue", core_config_t, accounts.hash_queue, 256, 1, 100000)},
    {ROW_UINT("verify_ttl_s", core_config_t, accounts.verify_ttl_s, 86400, 1, 604800)},
    {ROW_UINT("reset_ttl_s", core_config_t, accounts.reset_ttl_s, 3600, 1, 86400)},
    {ROW_UINT("session_idle_s", core_config_t, accounts.session_idle_s, 30 * 86400, 1, 365 * 86400)},
    {ROW_UINT("session_max_s", core_config_t, accounts.session_max_s, 90 * 86400, 1, 365 * 86400)},
    {ROW_UINT("free_failures", core_config_t, accounts.free_failures, 5, 1, 100)},
    {ROW_UINT("max_delay_s", core_config_t, accounts.max_delay_s, 300, 1, 3600)},
    {ROW_UINT("mails_per_hour", core_config_t, accounts.mails_per_hour, 3, 1, 1000)},
    {ROW_UINT("register_per_hour", core_config_t, accounts.register_per_hour, 10, 0, 1000000)},
    {ROW_STRLIST("reserved_names", core_config_t, accounts.reserved_names, accounts.num_reserved_names, 0,
                 check_reserved)},
    {NULL},
};

/* Anti-spam for comments: visitor-level limits and the form token's age window. */
static const opt_t comments_opts[] = {
    {ROW_UINT("min_form_age_s", core_config_t, comments.min_form_age_s, 3, 0, 3600)},
    {ROW_UINT("max_form_age_s", core_config_t, comments.max_form_age_s, 86400, 60, 604800)},
    {ROW_UINT("per_minute", core_config_t, comments.per_minute, 5, 0, 1000000)},
    {ROW_UINT("per_hour", core_config_t, comments.per_hour, 30, 0, 1000000)},
    {ROW_UINT("per_thread_per_minute", core_config_t, comments.per_thread_per_minute, 3, 0, 1000000)},
    {ROW_UINT("min_interval_s", core_config_t, comments.min_interval_s, 15, 0, 3600)},
    {NULL},
};

static const opt_t privacy_opts[] = {
    {ROW_UINT("retention_s", core_config_t, privacy.retention_s, 365 * 86400, 0, UINT32_MAX)},
    {ROW_UINT("sweep_interval_s", core_config_t, privacy.sweep_interval_s, 3600, 1, 86400)},
    {ROW_UINT("manage_ttl_s", core_config_t, privacy.manage_ttl_s, 86400, 60, 604800)},
    {ROW_UINT("mails_per_hour", core_config_t, privacy.mails_per_hour, 3, 1, 1000)},
    {NULL},
};

static const opt_t limits_opts[] = {
#define X(cls)                                                                                                         \
    {ROW_SECTION(#cls, offsetof(core_config_t, limits) + CORE_LIMIT_##cls * sizeof(core_config_limit_t),               \
                 limit_##cls##_opts, NULL)},
    CORE_LIMIT_CLASSES(X)
#undef X
        {NULL},
};

/* The quick start listens on 127.0.0.1:8080 with no config at all. */
static void default_listen(void *base)
{
    core_config_t *cfg = base;
    apply_defaults(listen_opts, &cfg->listen[0]);
    cfg->listen[0].port = 8080;
    cfg->num_listen = 1;
}

/* With no `sites` key, one site "demo" that allows the quick start's own origins, so the bundled demo page
 * works out of the box. A `sites` key (or PARLEY_SITES) replaces it entirely. */
static void default_sites(void *base)
{
    core_config_t *cfg = base;
    core_config_site_t *s = &cfg->sites[0];
    apply_defaults(site_opts, s);
    s->id = xstrdup("demo");
    s->origins[0] = xstrdup("http://127.0.0.1:8080");
    s->origins[1] = xstrdup("http://localhost:8080");
    s->num_origins = 2;
    cfg->num_sites = 1;
}

static const opt_t root_opts[] = {
    {ROW_SECTION_LIST("listen", core_config_t, listen, num_listen, 1, listen_opts), .item_check = listen_unique,
     .set_default = default_listen, .env = "PARLEY_LISTEN", .env_apply = env_listen},
    {ROW_UINT("threads", core_config_t, threads, 0, 0, 1024), .env = "PARLEY_THREADS"},
    {ROW_STRING("public_url", core_config_t, public_url, "http://127.0.0.1:8080", 0, check_public_url),
     .env = "PARLEY_PUBLIC_URL"},
    {ROW_STRING("data_dir", core_config_t, data_dir, "data", 0, NULL), .env = "PARLEY_DATA_DIR"},
    {ROW_STRING("secret_file", core_config_t, secret_file, NULL, F_NULLABLE, NULL)},
    {ROW_STRING("static_dir", core_config_t, static_dir, NULL, F_NULLABLE, NULL)},
    {ROW_STRING("access_log", core_config_t, access_log, "-", F_EMPTY_OK, NULL)},
    {ROW_STRING("access_log_format", core_config_t, access_log_format, NULL, F_NULLABLE, NULL)},
    {ROW_ENUM("log_level", core_config_t, log_level, CORE_LOG_INFO, log_level_names, F_ENUM_STRING)},
    {ROW_ENUM("log_format", core_config_t, log_format, 0, log_format_names, F_ENUM_STRING)},
    {ROW_STRING("error_log", core_config_t, error_log, "", F_EMPTY_OK, NULL)},
    {ROW_BOOL("trust_proxy", core_config_t, trust_proxy, false)},
    {ROW_STRING("admin_token_env", core_config_t, admin_token_env, "PARLEY_ADMIN_TOKEN", 0, check_env_name)},
    {ROW_SECTION("redis", 0, redis_opts, NULL)},
    {ROW_SECTION("smtp", 0, smtp_opts, check_smtp_auth)},
    {ROW_SECTION("limits", 0, limits_opts, NULL)},
    {ROW_SECTION("comments", 0, comments_opts, NULL)},
    {ROW_SECTION("accounts", 0, accounts_opts, check_accounts)},
    {ROW_SECTION("privacy", 0, privacy_opts, NULL)},
    {ROW_SECTION_LIST("sites", core_config_t, sites, num_sites, 1, site_opts), .item_check = site_unique,
     .set_default = default_sites, .env = "PARLEY_SITES", .env_apply = env_sites},
    {NULL},
};

_Static_assert(ARRAY_LEN(root_opts) <= MAX_ROWS, "raise MAX_ROWS");

/* ---- step 2 and cleanup: walking a table over a struct ---- */

static size_t *count_at(const opt_t *opt, void *base)
{
    return (size_t *)((char *)base + opt->count_offset);
}

static void store_uint(const opt_t *opt, void *field, uint32_t v)
{
    if (opt->size == sizeof(uint16_t))
        *(uint16_t *)field = (uint16_t)v;
    else
        *(uint32_t *)field = v;
}

/* Writes every row's default into BASE, which must be zeroed (string defaults are copied, never freed here). */
static void apply_defaults(const opt_t *opts, void *base)
{
    for (const opt_t *opt = opts; opt->name != NULL; ++opt) {
        void *field = (char *)base + opt->offset;
        switch (opt->type) {
        case OT_STRING:
            *(char **)field = opt->def_str != NULL ? xstrdup(opt->def_str) : NULL;
            break;
        case OT_BOOL:
            *(bool *)field = opt->def_num != 0;
            break;
        case OT_UINT:
            store_uint(opt, field, opt->def_num);
            break;
        case OT_ENUM:
            if (opt->flags & F_ENUM_STRING)
                *(char **)field = xstrdup(opt->names[opt->def_num]);
            else
                *(int *)field = (int)opt->def_num;
            break;
        case OT_STRLIST:
            *count_at(opt, base) = 0;
            break;
        case OT_SECTION:
            apply_defaults(opt->sub, field);
            break;
        case OT_SECTION_LIST:
            *count_at(opt, base) = 0;
            if (opt->set_default != NULL)
                opt->set_default(base);
            break;
        }
    }
}

/* Empties a list row, freeing its items, so a list from the file or the environment replaces the default. */
static void clear_list(const opt_t *opt, void *base)
{
    char *field = (char *)base + opt->offset;
    size_t *count = count_at(opt, base);
    for (size_t i = 0; i < *count; ++i) {
        if (opt->type == OT_STRLIST)
            free(((char **)field)[i]);
        else
            free_opts(opt->sub, field + i * opt->item_size);
    }
    memset(field, 0, opt->max_items * (opt->type == OT_STRLIST ? sizeof(char *) : opt->item_size));
    *count = 0;
}

/* Frees every string the table owns in BASE. Items past a list's count were never filled, so they are skipped. */
static void free_opts(const opt_t *opts, void *base)
{
    for (const opt_t *opt = opts; opt->name != NULL; ++opt) {
        void *field = (char *)base + opt->offset;
        switch (opt->type) {
        case OT_STRING:
            free(*(char **)field);
            break;
        case OT_ENUM:
            if (opt->flags & F_ENUM_STRING)
                free(*(char **)field);
            break;
        case OT_STRLIST:
        case OT_SECTION_LIST:
            clear_list(opt, base);
            break;
        case OT_SECTION:
            free_opts(opt->sub, field);
            break;
        default:
            break;
        }
    }
}

/* ---- step 3: applying nodes through the table ---- */

/* Appends S to BUF (capacity LEN, *USED bytes in use), cutting it if it does not fit; BUF stays terminated. */
static void append(char *buf, size_t len, size_t *used, const char *s)
{
    size_t n = strlen(s);
    if (*used + 1 >= len)
        return;
    if (n > len - *used - 1)
        n = len - *used - 1;
    memcpy(buf + *used, s, n);
    *used += n;
    buf[*used] = '\0';
}

/* What a row accepts, as the start of an error message ("must be ..."). */
static void describe(const opt_t *opt, char *buf, size_t len)
{
    switch (opt->type) {
    case OT_STRING:
        snprintf(buf, len, "must be a string");
        break;
    case OT_BOOL:
        snprintf(buf, len, "must be true or false");
        break;
    case OT_UINT:
        snprintf(buf, len, "must be an integer from %" PRIu32 " to %" PRIu32, opt->min, opt->max);
        break;
    case OT_ENUM: {
        size_t used = 0;
        append(buf, len, &used, "must be one of");
        for (size_t i = 0; opt->names[i] != NULL; ++i) {
            append(buf, len, &used, i != 0 ? ", " : " ");
            append(buf, len, &used, opt->names[i]);
        }
        break;
    }
    case OT_STRLIST:
        snprintf(buf, len, "must be a list of strings");
        break;
    case OT_SECTION:
        snprintf(buf, len, "must be a mapping of keys");
        break;
    case OT_SECTION_LIST:
        snprintf(buf, len, "must be a list of mappings");
        break;
    }
}

static int wrong_value(loader_t *ctx, const opt_t *opt, const node_t *v)
{
    char what[128];
    describe(opt, what, sizeof(what));
    /* For a scalar row given a bad scalar, "not a scalar" would be wrong; say what kind only when it differs. */
    if (v->kind != NODE_SCALAR || opt->type == OT_STRLIST || opt->type == OT_SECTION || opt->type == OT_SECTION_LIST)
        return fail(ctx, v->line, "%s, not %s", what, kind_name(v));
    return fail(ctx, v->line, "%s", what);
}

/* Turns a scalar into an owned string for OPT, applying the row's null/empty rules, the rules every string
 * shares (no NUL or control characters, so values cannot break log lines or mail headers; bounded length) and
 * the row's check. *out may be NULL for F_NULLABLE rows. */
static int scalar_string(loader_t *ctx, const opt_t *opt, const node_t *v, char **out)
{
    *out = NULL;
    if (v->is_null || v->len == 0) {
        if (opt->flags & F_NULLABLE)
            return 0;
        if (!(opt->flags & F_EMPTY_OK))
            return fail(ctx, v->line, "must not be empty");
        *out = xstrdup("");
        return 0;
    }
    if (v->len > MAX_STRING)
        return fail(ctx, v->line, "is longer than %d bytes", MAX_STRING);
    for (size_t i = 0; i < v->len; ++i)
        if ((unsigned char)v->str[i] < 0x20 || v->str[i] == 0x7f)
            return fail(ctx, v->line, "must not contain control characters");
    char *s = xmemdup(v->str, v->len);
    const char *msg = opt->check != NULL ? opt->check(s) : NULL;
    if (msg != NULL) {
        free(s);
        return fail(ctx, v->line, "%s", msg);
    }
    *out = s;
    return 0;
}

static bool env_is_set(const char *name)
{
    const char *v = name != NULL ? getenv(name) : NULL;
    return v != NULL && v[0] != '\0';
}

static int apply_mapping(loader_t *ctx, const opt_t *opts, void *base, const node_t *map, unsigned line);

/* A list must not end up empty; an empty list in the file is still fine when the environment fills it. */
static int check_min_items(loader_t *ctx, const opt_t *opt, size_t n, unsigned line)
{
    if (n >= opt->min_items || env_is_set(opt->env))
        return 0;
    if (opt->env != NULL)
        return fail(ctx, line, "must list at least one item (or set %s)", opt->env);
    return fail(ctx, line, "must list at least one item");
}

/* Applies value V to OPT's field in BASE. KEY_LINE is the line of the key that names it, used for errors that
 * concern the whole section or list rather than one value. */
static int apply_value(loader_t *ctx, const opt_t *opt, void *base, unsigned key_line, const node_t *v)
{
    char *field = (char *)base + opt->offset;
    int ret;

    switch (opt->type) {
    case OT_STRING: {
        char *s;
        if (v->kind != NODE_SCALAR)
            return wrong_value(ctx, opt, v);
        if ((ret = scalar_string(ctx, opt, v, &s)) != 0)
            return ret;
        free(*(char **)field);
        *(char **)field = s;
        return 0;
    }
    case OT_BOOL: {
        bool b;
        if (v->kind != NODE_SCALAR || strlen(v->str) != v->len || !parse_bool(v->str, &b))
            return wrong_value(ctx, opt, v);
        *(bool *)field = b;
        return 0;
    }
    case OT_UINT: {
        uint32_t n;
        if (v->kind != NODE_SCALAR || !parse_u32(v->str, v->len, opt->min, opt->max, &n))
            return wrong_value(ctx, opt, v);
        store_uint(opt, field, n);
        return 0;
    }
    case OT_ENUM: {
        if (v->kind != NODE_SCALAR)
            return wrong_value(ctx, opt, v);
        for (size_t i = 0; opt->names[i] != NULL; ++i) {
            if (strcmp(v->str, opt->names[i]) != 0 || strlen(opt->names[i]) != v->len)
                continue;
            if (opt->flags & F_ENUM_STRING) {
                free(*(char **)field);
                *(char **)field = xstrdup(opt->names[i]);
            } else {
                *(int *)field = (int)i;
            }
            return 0;
        }
        return wrong_value(ctx, opt, v);
    }
    case OT_STRLIST: {
        size_t *count = count_at(opt, base), n = v->kind == NODE_SEQUENCE ? v->num_kids : 0;
        if (v->kind != NODE_SEQUENCE && !v->is_null)
            return wrong_value(ctx, opt, v);
        if (n > opt->max_items)
            return fail(ctx, v->kids[opt->max_items]->line, "has %zu items; at most %zu are allowed", n,
                        opt->max_items);
        clear_list(opt, base);
        for (size_t i = 0; i < n; ++i) {
            const node_t *item = v->kids[i];
            size_t mark = path_index(ctx, i);
            char *s = NULL;
            if (item->kind != NODE_SCALAR)
                ret = fail(ctx, item->line, "must be a string, not %s", kind_name(item));
            else
                ret = scalar_string(ctx, opt, item, &s);
            path_pop(ctx, mark);
            if (ret != 0)
                return ret;
            ((char **)field)[(*count)++] = s;
        }
        return check_min_items(ctx, opt, n, key_line);
    }
    case OT_SECTION: {
        const char *msg;
        if (v->kind != NODE_MAPPING && !v->is_null)
            return wrong_value(ctx, opt, v);
        if ((ret = apply_mapping(ctx, opt->sub, field, v->kind == NODE_MAPPING ? v : NULL, key_line)) != 0)
            return ret;
        if (opt->section_check != NULL && (msg = opt->section_check(field)) != NULL)
            return fail(ctx, key_line, "%s", msg);
        return 0;
    }
    case OT_SECTION_LIST: {
        size_t *count = count_at(opt, base), n = v->kind == NODE_SEQUENCE ? v->num_kids : 0;
        if (v->kind != NODE_SEQUENCE && !v->is_null)
            return wrong_value(ctx, opt, v);
        if (n > opt->max_items)
            return fail(ctx, v->kids[opt->max_items]->line, "has %zu items; at most %zu are allowed", n,
                        opt->max_items);
        clear_list(opt, base);
        for (size_t i = 0; i < n; ++i) {
            const node_t *item = v->kids[i];
            void *p = field + i * opt->item_size;
            size_t mark = path_index(ctx, i);
            char msg[160];
            const char *why;
            /* Count the item before filling it, so a failure half-way still frees what it holds. */
            apply_defaults(opt->sub, p);
            *count = i + 1;
            if (item->kind != NODE_MAPPING && !item->is_null)
                ret = fail(ctx, item->line, "must be a mapping of keys, not %s", kind_name(item));
            else
                ret = apply_mapping(ctx, opt->sub, p, item->kind == NODE_MAPPING ? item : NULL, item->line);
            if (ret == 0 && opt->section_check != NULL && (why = opt->section_check(p)) != NULL)
                ret = fail(ctx, item->line, "%s", why);
            if (ret == 0 && opt->item_check != NULL && !opt->item_check(field, i, msg, sizeof(msg)))
                ret = fail(ctx, item->line, "%s", msg);
            path_pop(ctx, mark);
            if (ret != 0)
                return ret;
        }
        return check_min_items(ctx, opt, n, key_line);
    }
    }
    return 0;
}

static const opt_t *find_opt(const opt_t *opts, const char *name, size_t len)
{
    for (const opt_t *opt = opts; opt->name != NULL; ++opt)
        if (strlen(opt->name) == len && memcmp(opt->name, name, len) == 0)
            return opt;
    return NULL;
}

/* Applies mapping MAP (NULL: an empty one) to BASE through OPTS. Keys must be known and appear once; required
 * rows must be present. LINE is blamed for a missing required key. */
static int apply_mapping(loader_t *ctx, const opt_t *opts, void *base, const node_t *map, unsigned line)
{
    bool seen[MAX_ROWS] = {false};
    size_t num_kids = map != NULL ? map->num_kids : 0;
    int ret;

    for (size_t i = 0; i + 1 < num_kids; i += 2) {
        const node_t *k = map->kids[i], *v = map->kids[i + 1];
        const opt_t *opt;
        size_t mark;

        if (k->kind != NODE_SCALAR)
            return fail(ctx, k->line, "keys must be plain names, not %s", kind_name(k));
        mark = path_key(ctx, k->str);
        for (size_t j = 0; j < i; j += 2) {
            const node_t *prev = map->kids[j];
            if (prev->kind == NODE_SCALAR && prev->len == k->len && memcmp(prev->str, k->str, k->len) == 0)
                return fail(ctx, k->line, "duplicate key (first on line %u)", prev->line);
        }
        if ((opt = find_opt(opts, k->str, k->len)) == NULL) {
            /* "password: hunter2" next to a password_env row: say why it is not accepted. */
            char alt[80];
            snprintf(alt, sizeof(alt), "%s_env", k->str);
            if (k->len < 64 && find_opt(opts, alt, strlen(alt)) != NULL)
                return fail(ctx, k->line,
                            "unknown key (secrets are never written in the config: set %s to the name of an "
                            "environment variable that holds it)",
                            alt);
            return fail(ctx, k->line, "unknown key");
        }
        seen[opt - opts] = true;
        if ((ret = apply_value(ctx, opt, base, k->line, v)) != 0)
            return ret;
        path_pop(ctx, mark);
    }
    for (const opt_t *opt = opts; opt->name != NULL; ++opt) {
        if ((opt->flags & F_REQUIRED) && !seen[opt - opts]) {
            path_key(ctx, opt->name);
            return fail(ctx, line, "required key is missing");
        }
    }
    return 0;
}

/* ---- step 4: the environment ---- */

/* PARLEY_LISTEN="8080,127.0.0.1:8081,[::1]:8080": the cleartext listeners. TLS listeners from the file are
 * kept, because a certificate cannot be given in one variable; a bare port binds the default host. */
static int env_listen(loader_t *ctx, void *base, const char *value)
{
    core_config_t *cfg = base;
    size_t kept = 0;

    for (size_t i = 0; i < cfg->num_listen; ++i) {
        if (cfg->listen[i].tls_cert != NULL)
            cfg->listen[kept++] = cfg->listen[i];
        else
            free_opts(listen_opts, &cfg->listen[i]);
    }
    memset(&cfg->listen[kept], 0, (CORE_CONFIG_MAX_LISTEN - kept) * sizeof(cfg->listen[0]));
    cfg->num_listen = kept;

    for (const char *p = value;;) {
        const char *comma = strchr(p, ','), *s = p, *host, *port;
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p), host_len;
        core_config_listen_t *l;
        uint32_t n;
        char msg[160];

        trim(&s, &len);
        if (len == 0)
            return fail(ctx, 0, "has an empty entry");
        if (cfg->num_listen == CORE_CONFIG_MAX_LISTEN)
            return fail(ctx, 0, "gives more than %d listeners (TLS listeners from the file count too)",
                        CORE_CONFIG_MAX_LISTEN);
        l = &cfg->listen[cfg->num_listen++];
        apply_defaults(listen_opts, l);
        if (parse_u32(s, len, 1, 65535, &n)) {
            l->port = (uint16_t)n;
        } else {
            if (s[0] == '[') {
                const char *close = memchr(s, ']', len);
                host = s + 1;
                host_len = close != NULL ? (size_t)(close - host) : 0;
                port = close != NULL && close + 1 < s + len && close[1] == ':' ? close + 2 : NULL;
            } else {
                const char *colon = memrchr(s, ':', len);
                host = s;
                host_len = colon != NULL ? (size_t)(colon - s) : 0;
                /* A bare IPv6 address has several colons and no way to tell the port from the address. */
                port = colon != NULL && memchr(s, ':', host_len) == NULL ? colon + 1 : NULL;
            }
            if (port == NULL || host_len == 0 || !parse_u32(port, len - (size_t)(port - s), 1, 65535, &n))
                return fail(ctx, 0, "\"%.*s\" is not PORT, HOST:PORT or [IPV6]:PORT (port 1 to 65535)", (int)len, s);
            free(l->host);
            l->host = xmemdup(host, host_len);
            l->port = (uint16_t)n;
            const char *why = check_listen_host(l->host);
            if (why != NULL)
                return fail(ctx, 0, "host in \"%.*s\" %s", (int)len, s, why);
        }
        if (!listen_unique(cfg->listen, cfg->num_listen - 1, msg, sizeof(msg)))
            return fail(ctx, 0, "%s", msg);
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    return 0;
}

/* PARLEY_SITES="blog=https://blog.example,https://www.example;docs=https://docs.example": replaces all sites;
 * every other site key takes its default. */
static int env_sites(loader_t *ctx, void *base, const char *value)
{
    const opt_t *sites_opt = find_opt(root_opts, "sites", 5);
    core_config_t *cfg = base;

    clear_list(sites_opt, cfg);
    for (const char *p = value;;) {
        const char *semi = strchr(p, ';'), *s = p, *eq, *end, *id;
        size_t len = semi != NULL ? (size_t)(semi - p) : strlen(p), id_len;
        core_config_site_t *site;
        const char *why;
        char msg[160];

        trim(&s, &len);
        if (len == 0)
            return fail(ctx, 0, "has an empty entry");
        if ((eq = memchr(s, '=', len)) == NULL)
            return fail(ctx, 0, "\"%.*s\" is not ID=ORIGIN[,ORIGIN...]", (int)len, s);
        if (cfg->num_sites == CORE_CONFIG_MAX_SITES)
            return fail(ctx, 0, "names more than %d sites", CORE_CONFIG_MAX_SITES);
        site = &cfg->sites[cfg->num_sites++];
        apply_defaults(site_opts, site);
        end = s + len;
        id = s;
        id_len = (size_t)(eq - s);
        trim(&id, &id_len);
        site->id = xmemdup(id, id_len);
        if ((why = check_site_id(site->id)) != NULL)
            return fail(ctx, 0, "site id \"%s\" %s", site->id, why);

        for (const char *o = eq + 1;;) {
            const char *comma = memchr(o, ',', (size_t)(end - o)), *os = o;
            size_t olen = (comma != NULL ? comma : end) - o;
            trim(&os, &olen);
            if (olen == 0)
                return fail(ctx, 0, "site \"%s\" has an empty origin", site->id);
            if (site->num_origins == CORE_CONFIG_MAX_ORIGINS)
                return fail(ctx, 0, "site \"%s\" has more than %d origins", site->id, CORE_CONFIG_MAX_ORIGINS);
            char *origin = xmemdup(os, olen);
            site->origins[site->num_origins++] = origin;
            if ((why = check_origin(origin)) != NULL)
                return fail(ctx, 0, "site \"%s\": origin \"%.*s\" %s", site->id, (int)olen, os, why);
            if (comma == NULL)
                break;
            o = comma + 1;
        }
        if (!site_unique(cfg->sites, cfg->num_sites - 1, msg, sizeof(msg)))
            return fail(ctx, 0, "%s", msg);
        if (semi == NULL)
            break;
        p = semi + 1;
    }
    return 0;
}

/* Applies every row's PARLEY_* variable that is set and not empty (an empty variable counts as unset, as
 * container tooling often exports empty values). Scalars go through apply_value like a YAML value, so they get
 * the same checks and messages, with the variable's name in place of the key path. */
static int apply_env(loader_t *ctx, const opt_t *opts, void *base)
{
    int ret = 0;
    for (const opt_t *opt = opts; opt->name != NULL && ret == 0; ++opt) {
        if (opt->type == OT_SECTION) {
            ret = apply_env(ctx, opt->sub, (char *)base + opt->offset);
            continue;
        }
        if (!env_is_set(opt->env))
            continue;
        const char *value = getenv(opt->env);
        size_t saved_len = ctx->path_len;
        char saved[sizeof(ctx->path)];
        memcpy(saved, ctx->path, sizeof(saved));
        path_pop(ctx, 0);
        path_push(ctx, "%s", opt->env);
        if (opt->env_apply != NULL) {
            ret = opt->env_apply(ctx, base, value);
        } else {
            node_t n = {.kind = NODE_SCALAR, .line = 0, .len = strlen(value)};
            n.str = xmemdup(value, n.len);
            ret = apply_value(ctx, opt, base, 0, &n);
            free(n.str);
        }
        memcpy(ctx->path, saved, sizeof(saved));
        ctx->path_len = saved_len;
    }
    return ret;
}

/* ---- the API ---- */

int core_config_load_string(const char *yaml, size_t len, const char *name, core_config_t **out, char *errbuf,
                            size_t errlen)
{
    loader_t ctx = {.name = name != NULL ? name : "<string>", .errbuf = errbuf, .errlen = errbuf != NULL ? errlen : 0};
    core_config_t *cfg = NULL;
    node_t *root = NULL;
    int ret;

    *out = NULL;
    if (ctx.errlen != 0)
        errbuf[0] = '\0';
    if (len > MAX_INPUT) {
        ret = fail(&ctx, 0, "is larger than %d bytes", MAX_INPUT);
        goto Exit;
    }
    if ((ret = parse_yaml(&ctx, yaml != NULL ? yaml : "", yaml != NULL ? len : 0, &root)) != 0)
        goto Exit;
    if (root != NULL && root->kind != NODE_MAPPING && !root->is_null) {
        ret = fail(&ctx, root->line, "the top level must be a mapping of keys, not %s", kind_name(root));
        goto Exit;
    }

    cfg = xmalloc(sizeof(*cfg));
    memset(cfg, 0, sizeof(*cfg));
    apply_defaults(root_opts, cfg);
    if ((ret = apply_mapping(&ctx, root_opts, cfg, root != NULL && root->kind == NODE_MAPPING ? root : NULL, 1)) != 0)
        goto Exit;
    if ((ret = apply_env(&ctx, root_opts, cfg)) != 0)
        goto Exit;

    /* Derived after the overrides, so PARLEY_DATA_DIR moves the secret along with the data. */
    if (cfg->secret_file == NULL) {
        const char *leaf = cfg->data_dir[strlen(cfg->data_dir) - 1] == '/' ? "secret" : "/secret";
        size_t dir_len = strlen(cfg->data_dir), leaf_len = strlen(leaf);
        cfg->secret_file = xmalloc(dir_len + leaf_len + 1);
        memcpy(cfg->secret_file, cfg->data_dir, dir_len);
        memcpy(cfg->secret_file + dir_len, leaf, leaf_len + 1);
    }
    *out = cfg;
    cfg = NULL;

Exit:
    node_free(root);
    core_config_free(cfg);
    return ret;
}

int core_config_load(const char *path, core_config_t **out, char *errbuf, size_t errlen)
{
    loader_t ctx = {.name = path, .errbuf = errbuf, .errlen = errbuf != NULL ? errlen : 0};
    FILE *fp;
    char *buf = NULL;
    size_t len = 0;
    int ret;

    *out = NULL;
    if ((fp = fopen(path, "rb")) == NULL)
        return fail(&ctx, 0, "cannot open: %s", strerror(errno));
    /* Read one byte past the limit, so an oversized file is told apart from one of exactly MAX_INPUT bytes. */
    buf = xmalloc(MAX_INPUT + 1);
    len = fread(buf, 1, MAX_INPUT + 1, fp);
    if (ferror(fp)) {
        ret = fail(&ctx, 0, "cannot read: %s", strerror(errno));
        goto Exit;
    }
    if (len > MAX_INPUT) {
        ret = fail(&ctx, 0, "is larger than %d bytes", MAX_INPUT);
        goto Exit;
    }
    ret = core_config_load_string(buf, len, path, out, errbuf, errlen);

Exit:
    fclose(fp);
    free(buf);
    return ret;
}

void core_config_free(core_config_t *cfg)
{
    if (cfg == NULL)
        return;
    free_opts(root_opts, cfg);
    free(cfg);
}

const core_config_site_t *core_config_find_site(const core_config_t *cfg, const char *id, size_t len)
{
    if (cfg == NULL || id == NULL)
        return NULL;
    for (size_t i = 0; i < cfg->num_sites; ++i) {
        const char *s = cfg->sites[i].id;
        if (strlen(s) == len && memcmp(s, id, len) == 0)
            return &cfg->sites[i];
    }
    return NULL;
}
