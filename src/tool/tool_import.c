/* `parleyd import [-c FILE] [--site ID] [--format auto|wxr|disqus|parley] FILE`
 *
 * The flow: the whole file is read once without writing anything (tool_read with no callbacks), so a malformed or
 * unreadable file is refused before Redis changes at all; then it is read again, and each thread is mapped onto
 * Parley: the post URL goes through the canonicaliser and must belong to the site's origins; comments are put in
 * date order with parents first (tool_thread_order), checked (pingbacks, trash, empty text, unreadable dates are
 * skipped with a counted reason), turned into the JSON api_comments.c stores (sanitised HTML, keyed e-mail hash,
 * avatar, duplicate hash), and queued. Queued comments of several threads go to Redis together once about
 * BATCH_COMMENTS are waiting (store_bulk_import: lua/comment_import.lua, pipelined). The script maps each source id
 * to its Parley id in the thread's IMPORTED hash, so running the same import again stores nothing ("duplicate:
 * imported before"), and a reply finds its parent there; a reply whose parent never made it in becomes a top-level
 * comment (counted). A Parley export is restored as it was: ids, statuses, votes, accounts.
 *
 * Not carried over: IP addresses and user agents (Parley stores none), WordPress user ids, Disqus user names. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <openssl/evp.h>
#include "core/core_time.h"
#include "core/core_error.h"
#include "core/core_html.h"
#include "core/core_json.h"
#include "core/core_url.h"
#include "api/api.h"
#include "tool/tool.h"

#define BATCH_COMMENTS 2000
#define MAX_BODY_BYTES (256 * 1024) /* a comment longer than this is not a comment */

/* Why a comment was not imported: one row per reason, in the order the summary prints them. */
#define SKIP_REASONS(X)                                                                                                \
    X(ALREADY, "duplicate: imported before (same source id)")                                                          \
    X(DUPLICATE, "duplicate: same author and text already in the thread")                                              \
    X(BAD_URL, "bad or missing post URL")                                                                              \
    X(FOREIGN_URL, "post URL not under the site's origins")                                                            \
    X(PINGBACK, "pingback or trackback")                                                                               \
    X(DELETED, "deleted or in the trash")                                                                              \
    X(EMPTY, "empty body")                                                                                             \
    X(TOO_LONG, "body longer than 256 KiB")                                                                            \
    X(BAD_DATE, "missing or bad date")                                                                                 \
    X(BAD_STATUS, "unknown approval status")                                                                           \
    X(NO_ID, "no comment id")

typedef enum {
#define X(name, text) SKIP_##name,
    SKIP_REASONS(X)
#undef X
        SKIP__COUNT
} skip_t;

static const char *const skip_text[] = {
#define X(name, text) text,
    SKIP_REASONS(X)
#undef X
};

static const char *const status_names[] = {"approved", "pending", "spam", "deleted"};

/* One comment waiting to be sent, with the strings its store_import_t points to. */
struct st_item_t {
    char *source, *parent_source, *json, *votes;
    char ehash[33], dupe[33], user[40];
    const char *status;
};

/* A thread whose comments wait in the batch. */
struct st_queued_t {
    store_share_ref_t ref;
    char url_hash[33];
    char *canonical, *title;
    bool locked;
    uint64_t created_ms; /* Parley format */
    size_t first, count; /* its items in the batch */
};

struct st_import_t {
    tool_env_t *env;
    tool_format_t format;
    const char *prefix; /* of source ids: "wxr", "disqus", "parley" */
    char hosts[CORE_CONFIG_MAX_ORIGINS][sizeof(((core_url_t *)0)->host)];
    size_t num_hosts;
    /* the batch */
    store_import_t *items;
    struct st_item_t *own;
    size_t num_items, cap_items;
    struct st_queued_t *threads;
    size_t num_threads, cap_threads;
    /* the summary */
    uint64_t threads_in_file, threads_created, comments_in_file, imported[4], orphans, skipped[SKIP__COUNT];
    uint64_t errors;
    uint64_t users_in_file, users_restored, users_exist, users_conflict, users_expired;
    char err[1024];
};

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (d == NULL)
        abort();
    return d;
}

/* "<prefix>:<id>" */
static char *source_id(struct st_import_t *im, const char *id)
{
    size_t n = strlen(im->prefix) + 1 + strlen(id) + 1;
    char *s = malloc(n);
    if (s == NULL)
        abort();
    snprintf(s, n, "%s:%s", im->prefix, id);
    return s;
}

/* A keyed hash of the lower-cased e-mail, as api_comments.c makes it: TAG "email\n" for bans and approvals,
 * "avatar\n" for the identicon. 32 hex digits. */
static void email_hash(struct st_import_t *im, const char *tag, const char *email, char out[33])
{
    size_t tl = strlen(tag), el = strlen(email);
    char *msg = malloc(tl + el + 1);
    if (msg == NULL)
        abort();
    memcpy(msg, tag, tl);
    for (size_t i = 0; i < el; ++i)
        msg[tl + i] = (char)tolower((unsigned char)email[i]);
    uint8_t mac[CORE_SHA256_LEN];
    core_hmac_sha256(im->env->secret, sizeof(im->env->secret), msg, tl + el, mac);
    free(msg);
    core_hex_encode(mac, 16, out);
}

/* Trims ASCII white space in place (returns the start inside S). */
static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        ++s;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* An author name as the API accepts one: control characters become spaces, at most 100 characters (cut at a
 * character boundary), "Anonymous" when nothing is left. Malloc'ed. */
static char *author_name(const char *in)
{
    char *s = xstrdup(in);
    for (char *p = s; *p != '\0'; ++p)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    char *t = trim(s);
    size_t chars = 0, i = 0;
    for (; t[i] != '\0'; ++i) {
        if (((unsigned char)t[i] & 0xc0) != 0x80 && ++chars > 100)
            break;
    }
    t[i] = '\0';
    t = trim(t);
    char *out = xstrdup(t[0] != '\0' ? t : "Anonymous");
    free(s);
    return out;
}

static bool host_allowed(struct st_import_t *im, const char *host)
{
    for (size_t i = 0; i < im->num_hosts; ++i)
        if (strcmp(im->hosts[i], host) == 0)
            return true;
    return false;
}

static void item_free(struct st_item_t *o)
{
    free(o->source);
    free(o->parent_source);
    free(o->json);
    free(o->votes);
}

/* Sends the batch, counts the results, then sets the fields of threads that need them (locks, a restore's title
 * and creation time). */
static int flush(struct st_import_t *im)
{
    int rc = 0;
    /* Bind the pointers only now: the arrays they point into may have moved while the batch grew. */
    for (size_t t = 0; t < im->num_threads; ++t) {
        struct st_queued_t *q = &im->threads[t];
        const char *site = im->env->site->id;
        q->ref.site = h2o_iovec_init(site, strlen(site));
        q->ref.url_hash = h2o_iovec_init(q->url_hash, 32);
        q->ref.canonical = h2o_iovec_init(q->canonical, strlen(q->canonical));
        for (size_t i = q->first; i < q->first + q->count; ++i) {
            store_import_t *it = &im->items[i];
            struct st_item_t *own = &im->own[i];
            it->thread = &q->ref;
            it->title = q->title;
            it->source = own->source;
            it->parent_source = own->parent_source;
            it->json = own->json;
            it->json_len = strlen(own->json);
            it->dupe_hash = im->format == TOOL_FORMAT_PARLEY ? "" : own->dupe;
            it->votes = own->votes != NULL ? own->votes : "";
            it->ehash = own->ehash;
            it->user = own->user;
        }
    }
    if (im->num_items != 0 &&
        store_bulk_import(im->env->bulk, im->items, im->num_items, im->err, sizeof(im->err)) != 0) {
        im->errors += im->num_items;
        rc = -1;
    }
    for (size_t t = 0; rc == 0 && t < im->num_threads; ++t) {
        struct st_queued_t *q = &im->threads[t];
        bool stored = false;
        for (size_t i = q->first; i < q->first + q->count; ++i) {
            store_import_t *it = &im->items[i];
            if (it->result == STORE_IMPORT_OK) {
                stored = true;
                for (size_t s = 0; s < 4; ++s)
                    if (strcmp(it->status, status_names[s]) == 0)
                        ++im->imported[s];
                im->threads_created += it->created_thread;
                im->orphans += it->orphan;
            } else {
                ++im->skipped[it->result == STORE_IMPORT_EXISTS ? SKIP_ALREADY : SKIP_DUPLICATE];
            }
        }
        /* Only when this run stored something: a second run must not undo a moderator's unlock. */
        const char *fv[6];
        size_t nfv = 0;
        char created[24];
        if (q->locked && (stored || q->count == 0)) {
            fv[nfv++] = "locked";
            fv[nfv++] = "1";
        }
        if (im->format == TOOL_FORMAT_PARLEY && (stored || q->count == 0)) {
            snprintf(created, sizeof(created), "%llu", (unsigned long long)q->created_ms);
            if (q->created_ms != 0) {
                fv[nfv++] = "created";
                fv[nfv++] = created;
            }
            if (q->title[0] != '\0') {
                fv[nfv++] = "title";
                fv[nfv++] = q->title;
            }
        }
        if (nfv != 0 && store_bulk_thread_set(im->env->bulk, &q->ref, fv, nfv, im->err, sizeof(im->err)) != 0)
            rc = -1;
    }
    for (size_t i = 0; i < im->num_items; ++i)
        item_free(&im->own[i]);
    for (size_t t = 0; t < im->num_threads; ++t) {
        free(im->threads[t].canonical);
        free(im->threads[t].title);
    }
    im->num_items = im->num_threads = 0;
    return rc;
}

static store_import_t *next_item(struct st_import_t *im, struct st_item_t **own)
{
    if (im->num_items == im->cap_items) {
        im->cap_items = im->cap_items != 0 ? im->cap_items * 2 : 256;
        im->items = realloc(im->items, sizeof(*im->items) * im->cap_items);
        im->own = realloc(im->own, sizeof(*im->own) * im->cap_items);
        if (im->items == NULL || im->own == NULL)
            abort();
    }
    memset(&im->items[im->num_items], 0, sizeof(*im->items));
    memset(&im->own[im->num_items], 0, sizeof(*im->own));
    *own = &im->own[im->num_items];
    return &im->items[im->num_items++];
}

/* Builds the stored JSON of a WXR or Disqus comment the way api_comments.c does for a new one; returns the skip
 * reason, or -1 when it is to be imported (then OWN holds its strings). */
static int map_comment(struct st_import_t *im, const tool_comment_t *c, struct st_item_t *own, uint64_t *created)
{
    if (c->id[0] == '\0')
        return SKIP_NO_ID;
    if (c->pingback)
        return SKIP_PINGBACK;
    if (c->status == TOOL_STATUS_DELETED)
        return SKIP_DELETED;
    if (c->status == TOOL_STATUS_UNKNOWN)
        return SKIP_BAD_STATUS;
    if (c->created_ms == 0)
        return SKIP_BAD_DATE;
    if (strlen(c->body) > MAX_BODY_BYTES)
        return SKIP_TOO_LONG;
    char *body_copy = xstrdup(c->body), *body = trim(body_copy);
    size_t html_len;
    char *html = core_html_sanitize(body, strlen(body), &html_len);
    if (html_len == 0) {
        free(html);
        free(body_copy);
        return SKIP_EMPTY;
    }
    char *author = author_name(c->author);
    char *email_copy = xstrdup(c->email), *email = trim(email_copy);
    size_t el = strlen(email);
    if (el > 254 || !api_is_email(email, el))
        email[0] = '\0';
    char *web_copy = xstrdup(c->website), *website = trim(web_copy);
    core_url_t wu;
    if (website[0] != '\0' && (strlen(website) > 200 || core_url_canonicalize(website, strlen(website), &wu) != 0))
        website[0] = '\0';

    own->ehash[0] = '\0';
    if (email[0] != '\0')
        email_hash(im, "email\n", email, own->ehash);
    char avatar[96], avatar_hash[33], created_iso[32];
    if (im->env->site->gravatar && email[0] != '\0') {
        uint8_t md[16];
        unsigned int mdlen = sizeof(md);
        char *lower = xstrdup(email), hex[33];
        for (char *p = lower; *p != '\0'; ++p)
            *p = (char)tolower((unsigned char)*p);
        EVP_Digest(lower, strlen(lower), md, &mdlen, EVP_md5(), NULL);
        free(lower);
        core_hex_encode(md, sizeof(md), hex);
        snprintf(avatar, sizeof(avatar), "https://www.gravatar.com/avatar/%s?d=identicon&s=80", hex);
    } else {
        /* No address: the identicon of the author's name, so people without one do not all look alike. */
        email_hash(im, "avatar\n", email[0] != '\0' ? email : author, avatar_hash);
        snprintf(avatar, sizeof(avatar), "/avatar/%s.svg", avatar_hash);
    }
    core_iso8601(c->created_ms, true, created_iso);
    const char *status = status_names[c->status];
    json_t *o = json_pack("{s:i,s:i,s:i,s:s,s:s,s:o,s:s%,s:s,s:I,s:I,s:s,s:i,s:i,s:s,s:i,s:s,s:s,s:I,s:b,s:s,s:s}",
                          "id", 0, "parent", 0, "depth", 0, "author", author, "email", email, "website",
                          website[0] != '\0' ? json_string(website) : json_null(), "html", html, html_len, "body", body,
                          "created", (json_int_t)c->created_ms, "edited", (json_int_t)0, "status", status, "likes", 0,
                          "dislikes", 0, "visitor", "", "user", 0, "edit", "", "avatar", avatar, "links",
                          (json_int_t)core_html_count_sanitized_links(html, html_len), "notify", 0, "ehash", own->ehash,
                          "created_iso", created_iso);
    if (o == NULL)
        abort(); /* only invalid UTF-8 could fail, and libxml2 hands out UTF-8 */
    own->json = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    /* Duplicate = same e-mail (or, without one, the same name) and the same text in the thread. */
    {
        const char *who = own->ehash[0] != '\0' ? own->ehash : author;
        size_t wl = strlen(who), bl = strlen(body);
        char *msg = malloc(wl + 6 + bl);
        if (msg == NULL)
            abort();
        size_t n = 0;
        if (own->ehash[0] == '\0') {
            memcpy(msg, "name:", 5);
            n = 5;
        }
        memcpy(msg + n, who, wl);
        n += wl;
        msg[n++] = '\n';
        memcpy(msg + n, body, bl);
        uint8_t d[CORE_SHA256_LEN];
        core_sha256(msg, n + bl, d);
        free(msg);
        core_hex_encode(d, 16, own->dupe);
    }
    own->status = status;
    *created = c->created_ms;
    free(author);
    free(email_copy);
    free(web_copy);
    free(html);
    free(body_copy);
    return -1;
}

/* A restored comment: its stored JSON as exported, its own votes. Returns a skip reason or -1. */
static int map_stored(struct st_import_t *im, const tool_thread_t *t, const tool_comment_t *c, struct st_item_t *own,
                      uint64_t *created)
{
    if (c->status == TOOL_STATUS_UNKNOWN)
        return SKIP_BAD_STATUS;
    own->json = json_dumps(c->stored, JSON_COMPACT);
    if (own->json == NULL)
        abort();
    own->status = status_names[c->status];
    const char *eh = json_string_value(json_object_get(c->stored, "ehash"));
    snprintf(own->ehash, sizeof(own->ehash), "%s", eh != NULL && strlen(eh) == 32 ? eh : "");
    const char *user = json_string_value(json_object_get(c->stored, "user"));
    snprintf(own->user, sizeof(own->user), "%s", user != NULL && strlen(user) == STORE_USER_ID_LEN ? user : "");
    *created = c->created_ms;
    /* Its votes: thread entries "<id>:<voter>". */
    if (t->votes != NULL) {
        json_t *mine = json_object();
        size_t il = strlen(c->id);
        const char *k;
        json_t *v;
        json_object_foreach(t->votes, k, v)
        {
            if (strncmp(k, c->id, il) == 0 && k[il] == ':' && json_is_integer(v))
                json_object_set(mine, k + il + 1, v);
        }
        if (json_object_size(mine) != 0)
            own->votes = json_dumps(mine, JSON_COMPACT);
        json_decref(mine);
    }
    return -1;
}

static int on_thread(void *ctx, tool_thread_t *t)
{
    struct st_import_t *im = ctx;
    ++im->threads_in_file;
    im->comments_in_file += t->num_comments;
    core_url_t *u = malloc(sizeof(*u));
    if (u == NULL)
        abort();
    int skip_all = -1;
    if (core_url_canonicalize(t->url, strlen(t->url), u) != 0)
        skip_all = SKIP_BAD_URL;
    else if (!host_allowed(im, u->host))
        skip_all = SKIP_FOREIGN_URL;
    if (skip_all >= 0) {
        im->skipped[skip_all] += t->num_comments;
        free(u);
        return 0;
    }
    if (im->num_threads == im->cap_threads) {
        im->cap_threads = im->cap_threads != 0 ? im->cap_threads * 2 : 64;
        im->threads = realloc(im->threads, sizeof(*im->threads) * im->cap_threads);
        if (im->threads == NULL)
            abort();
    }
    struct st_queued_t *q = &im->threads[im->num_threads++];
    memset(q, 0, sizeof(*q));
    uint8_t digest[CORE_SHA256_LEN];
    core_sha256(u->canonical, u->canonical_len, digest);
    core_hex_encode(digest, 16, q->url_hash);
    q->canonical = xstrdup(u->canonical);
    free(u);
    /* The title as the API takes one: no control characters, at most 300 bytes (cut at a character boundary). */
    q->title = xstrdup(t->title);
    for (char *p = q->title; *p != '\0'; ++p)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    size_t tl = strlen(q->title);
    if (tl > 300) {
        tl = 300;
        while (tl > 0 && ((unsigned char)q->title[tl] & 0xc0) == 0x80)
            --tl;
        q->title[tl] = '\0';
    }
    q->locked = t->locked;
    q->created_ms = t->created_ms;
    q->first = im->num_items;
    size_t *order = malloc(sizeof(size_t) * (t->num_comments + 1));
    if (order == NULL)
        abort();
    tool_thread_order(t, order);
    for (size_t k = 0; k < t->num_comments; ++k) {
        const tool_comment_t *c = &t->comments[order[k]];
        struct st_item_t *own;
        store_import_t *it = next_item(im, &own);
        uint64_t created = 0;
        int skip =
            im->format == TOOL_FORMAT_PARLEY ? map_stored(im, t, c, own, &created) : map_comment(im, c, own, &created);
        if (skip >= 0) {
            ++im->skipped[skip];
            item_free(own);
            --im->num_items;
            continue;
        }
        /* String fields are bound in flush (the arrays may still move). */
        own->source = source_id(im, c->id);
        own->parent_source = c->parent != NULL ? source_id(im, c->parent) : xstrdup("");
        it->check_dupes = im->format != TOOL_FORMAT_PARLEY;
        it->status = own->status;
        it->created_ms = created;
        it->want_id = im->format == TOOL_FORMAT_PARLEY ? strtoull(c->id, NULL, 10) : 0;
        it->max_depth = im->format == TOOL_FORMAT_PARLEY ? 0 : im->env->site->max_depth;
    }
    free(order);
    q->count = im->num_items - q->first;
    if (q->count == 0 && !(im->format == TOOL_FORMAT_PARLEY && t->locked)) {
        free(q->canonical);
        free(q->title);
        --im->num_threads;
        return 0;
    }
    return im->num_items >= BATCH_COMMENTS ? flush(im) : 0;
}

static int on_user(void *ctx, json_t *u)
{
    struct st_import_t *im = ctx;
    ++im->users_in_file;
    const char *id = json_string_value(json_object_get(u, "id"));
    const char *name_lc = json_string_value(json_object_get(u, "name_lc"));
    const char *email_lc = json_string_value(json_object_get(u, "email_lc"));
    if (strlen(id) != STORE_USER_ID_LEN || name_lc == NULL || email_lc == NULL) {
        ++im->users_conflict;
        return 0;
    }
    const char *fv[32];
    size_t nfv = 0;
    const char *k;
    json_t *v;
    json_object_foreach(u, k, v)
    {
        if (strcmp(k, "id") == 0 || !json_is_string(v) || nfv + 2 > 26)
            continue;
        fv[nfv++] = k;
        fv[nfv++] = json_string_value(v);
    }
    const char *exp = json_string_value(json_object_get(u, "exp"));
    const char *result;
    if (store_bulk_user_import(im->env->bulk, id, name_lc, email_lc, exp != NULL ? strtoull(exp, NULL, 10) : 0,
                               core_now_ms(), fv, nfv, &result, im->err, sizeof(im->err)) != 0)
        return -1;
    if (strcmp(result, "ok") == 0)
        ++im->users_restored;
    else if (strcmp(result, "exists") == 0)
        ++im->users_exist;
    else if (strcmp(result, "expired") == 0)
        ++im->users_expired;
    else
        ++im->users_conflict;
    return 0;
}

static void summary(const struct st_import_t *im, const char *path, double secs)
{
    static const char *const fmt_names[] = {"auto", "WordPress WXR", "Disqus XML", "Parley JSON"};
    uint64_t imported = im->imported[0] + im->imported[1] + im->imported[2] + im->imported[3], skipped = 0;
    for (size_t i = 0; i < SKIP__COUNT; ++i)
        skipped += im->skipped[i];
    printf("parleyd import: %s (%s) into site %s\n", path, fmt_names[im->format], im->env->site->id);
    printf("  threads:   %llu in the file with comments, %llu created\n", (unsigned long long)im->threads_in_file,
           (unsigned long long)im->threads_created);
    printf("  comments:  %llu in the file, %llu imported (%llu approved, %llu pending, %llu spam",
           (unsigned long long)im->comments_in_file, (unsigned long long)imported, (unsigned long long)im->imported[0],
           (unsigned long long)im->imported[1], (unsigned long long)im->imported[2]);
    if (im->imported[3] != 0)
        printf(", %llu deleted", (unsigned long long)im->imported[3]);
    printf("), %llu skipped\n", (unsigned long long)skipped);
    for (size_t i = 0; i < SKIP__COUNT; ++i)
        if (im->skipped[i] != 0)
            printf("  skipped:   %llu %s\n", (unsigned long long)im->skipped[i], skip_text[i]);
    if (im->orphans != 0)
        printf("  top level: %llu replies whose parent was not imported\n", (unsigned long long)im->orphans);
    if (im->format == TOOL_FORMAT_PARLEY)
        printf("  accounts:  %llu in the file, %llu restored, %llu already there, %llu name or address taken, "
               "%llu expired\n",
               (unsigned long long)im->users_in_file, (unsigned long long)im->users_restored,
               (unsigned long long)im->users_exist, (unsigned long long)im->users_conflict,
               (unsigned long long)im->users_expired);
    printf("  errors:    %llu\n", (unsigned long long)im->errors);
    printf("  time:      %.2f s\n", secs);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: parleyd import [-c FILE] [--site ID] [--format auto|wxr|disqus|parley] FILE\n"
               "  -c FILE        configuration (default conf/parley.yaml); PARLEY_* variables apply\n"
               "  --site ID      the site to import into (needed when the configuration has several)\n"
               "  --format F     wxr (WordPress), disqus, parley (a `parleyd export`); default: detected\n"
               "Run it while parleyd is stopped, or while it runs on the same Redis: both are safe. Importing the\n"
               "same file again changes nothing.\n");
}

int tool_import_main(int argc, char **argv)
{
    const char *conf = "conf/parley.yaml", *site = NULL, *path = NULL;
    tool_format_t format = TOOL_FORMAT_AUTO;
    for (int i = 1; i < argc; ++i) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            conf = argv[++i];
        } else if (strcmp(argv[i], "--site") == 0 && i + 1 < argc) {
            site = argv[++i];
        } else if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
            const char *f = argv[++i];
            if (strcmp(f, "auto") == 0)
                format = TOOL_FORMAT_AUTO;
            else if (strcmp(f, "wxr") == 0 || strcmp(f, "wordpress") == 0)
                format = TOOL_FORMAT_WXR;
            else if (strcmp(f, "disqus") == 0)
                format = TOOL_FORMAT_DISQUS;
            else if (strcmp(f, "parley") == 0)
                format = TOOL_FORMAT_PARLEY;
            else {
                fprintf(stderr, "parleyd import: unknown format \"%s\" (wxr, disqus, parley)\n", f);
                return 2;
            }
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] != '-' && path == NULL) {
            path = argv[i];
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (path == NULL) {
        usage(stderr);
        return 2;
    }
    uint64_t t0 = core_now_ms();
    struct st_import_t im;
    memset(&im, 0, sizeof(im));
    /* Read the whole file before touching Redis: a broken file changes nothing. */
    if (tool_read(path, format, NULL, NULL, NULL, &im.format, im.err, sizeof(im.err)) != 0) {
        fprintf(stderr, "parleyd import: %s: %s\n", path, im.err);
        return 1;
    }
    tool_env_t env;
    if (tool_env_open(&env, "import", conf, site) != 0)
        return 1;
    im.env = &env;
    im.prefix = im.format == TOOL_FORMAT_WXR ? "wxr" : im.format == TOOL_FORMAT_DISQUS ? "disqus" : "parley";
    for (size_t o = 0; o < env.site->num_origins; ++o) {
        size_t hl;
        if (core_url_origin_host(env.site->origins[o], strlen(env.site->origins[o]), im.hosts[im.num_hosts], &hl) == 0)
            ++im.num_hosts;
    }
    int rc = tool_read(path, im.format, on_thread, on_user, &im, NULL, im.err, sizeof(im.err));
    if (rc == 0)
        rc = flush(&im);
    else
        flush(&im); /* what was read before a callback failed; its own error is reported below */
    free(im.items);
    free(im.own);
    free(im.threads);
    if (rc != 0)
        fprintf(stderr, "parleyd import: %s: %s\n", path, im.err);
    summary(&im, path, (double)(core_now_ms() - t0) / 1000.0);
    tool_env_close(&env);
    return rc != 0 ? 1 : 0;
}
