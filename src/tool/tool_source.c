/* Reading import files: WordPress WXR and Disqus XML through libxml2's streaming reader (xmlTextReader), Parley's
 * own export through jansson. Nothing here talks to Redis or knows Parley's stored form; see tool.h.
 *
 * XML safety: the reader is created with XML_PARSE_NONET and without XML_PARSE_NOENT, XML_PARSE_DTDLOAD or any
 * validation option, so entities are never substituted and no external DTD is fetched; on top of that the process's
 * external-entity loader is replaced by one that refuses every request, so even a path libxml2 would take to load an
 * external entity (file:, http:, or a parameter entity in the internal subset) gets nothing. Text is collected with
 * xmlTextReaderReadString, which keeps text and CDATA and skips entity references, so an unexpanded reference just
 * drops out. libxml2's own limits (no XML_PARSE_HUGE) cap entity amplification and node sizes.
 *
 * Memory: a WXR thread is handed over and freed when its <item> closes; Disqus posts may come in any order (and
 * before their thread), so a Disqus file is held as one parsed copy until its end. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libxml/parser.h>
#include <libxml/xmlreader.h>
#include "core/core_error.h"
#include "tool/tool.h"

#define WP_NS_PREFIX "http://wordpress.org/export/"
#define DSQ_NS "http://disqus.com/disqus-internals"

/* --- small helpers --- */

static char *dup_str(const char *s)
{
    char *d = strdup(s != NULL ? s : "");
    if (d == NULL)
        abort();
    return d;
}

/* Takes a libxml2 string: returns a malloc'ed copy with leading and trailing ASCII white space trimmed. */
static char *take_trimmed(xmlChar *x)
{
    const char *s = x != NULL ? (const char *)x : "";
    size_t len = strlen(s);
    while (len > 0 && isspace((unsigned char)s[len - 1]))
        --len;
    while (len > 0 && isspace((unsigned char)*s))
        ++s, --len;
    char *d = strndup(s, len);
    if (d == NULL)
        abort();
    xmlFree(x);
    return d;
}

static void set_str(char **dst, char *s)
{
    free(*dst);
    *dst = s;
}

static tool_comment_t *add_comment(tool_thread_t *t, size_t seq)
{
    if (t->num_comments == t->cap_comments) {
        t->cap_comments = t->cap_comments != 0 ? t->cap_comments * 2 : 8;
        t->comments = realloc(t->comments, sizeof(*t->comments) * t->cap_comments);
        if (t->comments == NULL)
            abort();
    }
    tool_comment_t *c = &t->comments[t->num_comments++];
    memset(c, 0, sizeof(*c));
    c->id = dup_str("");
    c->author = dup_str("");
    c->email = dup_str("");
    c->website = dup_str("");
    c->body = dup_str("");
    c->status = TOOL_STATUS_APPROVED;
    c->seq = seq;
    return c;
}

void tool_thread_clear(tool_thread_t *t)
{
    for (size_t i = 0; i < t->num_comments; ++i) {
        tool_comment_t *c = &t->comments[i];
        free(c->id);
        free(c->parent);
        free(c->author);
        free(c->email);
        free(c->website);
        free(c->body);
        json_decref(c->stored);
    }
    free(t->comments);
    free(t->url);
    free(t->title);
    json_decref(t->votes);
    memset(t, 0, sizeof(*t));
}

static void thread_init(tool_thread_t *t)
{
    memset(t, 0, sizeof(*t));
    t->url = dup_str("");
    t->title = dup_str("");
}

/* --- dates --- */

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; ++i) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static int64_t days_from_civil(int y, int m, int d)
{
    /* Days since 1970-01-01 in the proleptic Gregorian calendar (after H. Hinnant's algorithm). */
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

uint64_t tool_parse_date(const char *s)
{
    if (s == NULL)
        return 0;
    while (isspace((unsigned char)*s))
        ++s;
    size_t len = strlen(s);
    while (len > 0 && isspace((unsigned char)s[len - 1]))
        --len;
    int y, mo, d, h, mi, se;
    if (len < 19 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' || digits(s + 8, 2, &d) ||
        (s[10] != ' ' && s[10] != 'T') || digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi) ||
        s[16] != ':' || digits(s + 17, 2, &se))
        return 0;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap) || h > 23 ||
        mi > 59 || se > 60)
        return 0;
    size_t i = 19;
    int ms = 0;
    if (i < len && s[i] == '.') {
        int scale = 100;
        for (++i; i < len && isdigit((unsigned char)s[i]); ++i) {
            ms += (s[i] - '0') * scale;
            scale /= 10;
        }
    }
    int64_t offset_s = 0;
    if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
        ++i;
    } else if (i < len && (s[i] == '+' || s[i] == '-')) {
        int oh, om;
        if (len - i != 6 || digits(s + i + 1, 2, &oh) || s[i + 3] != ':' || digits(s + i + 4, 2, &om) || oh > 23 ||
            om > 59)
            return 0;
        offset_s = (int64_t)(oh * 3600 + om * 60) * (s[i] == '+' ? 1 : -1);
        i = len;
    }
    if (i != len || (s[10] == ' ' && (i != 19)))
        return 0; /* a WordPress date has nothing after the seconds */
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + (se > 59 ? 59 : se) - offset_s;
    if (secs <= 0)
        return 0;
    return (uint64_t)secs * 1000 + (uint64_t)ms;
}

tool_status_t tool_wxr_status(const char *s)
{
    if (strcmp(s, "1") == 0 || strcmp(s, "approve") == 0 || strcmp(s, "approved") == 0)
        return TOOL_STATUS_APPROVED;
    if (strcmp(s, "0") == 0 || strcmp(s, "hold") == 0 || strcmp(s, "pending") == 0)
        return TOOL_STATUS_PENDING;
    if (strcmp(s, "spam") == 0)
        return TOOL_STATUS_SPAM;
    if (strcmp(s, "trash") == 0 || strcmp(s, "post-trashed") == 0)
        return TOOL_STATUS_DELETED;
    return TOOL_STATUS_UNKNOWN;
}

/* --- a string -> index map (open addressing), for parent ids and Disqus thread ids --- */

struct st_idmap_t {
    size_t cap; /* a power of two, at least twice the entries */
    size_t used;
    const char **keys;
    size_t *vals;
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s != '\0'; ++s)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void idmap_grow(struct st_idmap_t *m)
{
    struct st_idmap_t old = *m;
    m->cap = old.cap != 0 ? old.cap * 2 : 64;
    m->keys = calloc(m->cap, sizeof(*m->keys));
    m->vals = calloc(m->cap, sizeof(*m->vals));
    if (m->keys == NULL || m->vals == NULL)
        abort();
    m->used = 0;
    for (size_t i = 0; i < old.cap; ++i) {
        if (old.keys[i] == NULL)
            continue;
        size_t h = hash_str(old.keys[i]) & (m->cap - 1);
        while (m->keys[h] != NULL)
            h = (h + 1) & (m->cap - 1);
        m->keys[h] = old.keys[i];
        m->vals[h] = old.vals[i];
        ++m->used;
    }
    free(old.keys);
    free(old.vals);
}

/* The value of KEY, or SIZE_MAX. KEY is borrowed by the map when inserted with idmap_put. */
static size_t idmap_get(const struct st_idmap_t *m, const char *key)
{
    if (m->cap == 0)
        return SIZE_MAX;
    for (size_t h = hash_str(key) & (m->cap - 1); m->keys[h] != NULL; h = (h + 1) & (m->cap - 1))
        if (strcmp(m->keys[h], key) == 0)
            return m->vals[h];
    return SIZE_MAX;
}

/* Inserts KEY -> VAL unless KEY is there (the first one wins). KEY must outlive the map. */
static void idmap_put(struct st_idmap_t *m, const char *key, size_t val)
{
    if (2 * (m->used + 1) > m->cap)
        idmap_grow(m);
    size_t h = hash_str(key) & (m->cap - 1);
    for (; m->keys[h] != NULL; h = (h + 1) & (m->cap - 1))
        if (strcmp(m->keys[h], key) == 0)
            return;
    m->keys[h] = key;
    m->vals[h] = val;
    ++m->used;
}

static void idmap_free(struct st_idmap_t *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof(*m));
}

/* --- order --- */

static const tool_thread_t *sort_thread; /* qsort has no context argument; the tools are single-threaded */

static int by_date(const void *a, const void *b)
{
    const tool_comment_t *x = &sort_thread->comments[*(const size_t *)a],
                         *y = &sort_thread->comments[*(const size_t *)b];
    if (x->created_ms != y->created_ms)
        return x->created_ms < y->created_ms ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void tool_thread_order(const tool_thread_t *t, size_t *order)
{
    size_t n = t->num_comments;
    size_t *bydate = malloc(sizeof(size_t) * (n + 1)), *parent = malloc(sizeof(size_t) * (n + 1)),
           *stack = malloc(sizeof(size_t) * (n + 1));
    unsigned char *placed = calloc(n + 1, 1);
    if (bydate == NULL || parent == NULL || stack == NULL || placed == NULL)
        abort();
    for (size_t i = 0; i < n; ++i)
        bydate[i] = i;
    sort_thread = t;
    qsort(bydate, n, sizeof(size_t), by_date);
    sort_thread = NULL;
    struct st_idmap_t ids = {0};
    for (size_t i = 0; i < n; ++i)
        idmap_put(&ids, t->comments[i].id, i);
    for (size_t i = 0; i < n; ++i) {
        parent[i] = t->comments[i].parent != NULL ? idmap_get(&ids, t->comments[i].parent) : SIZE_MAX;
        if (parent[i] == i)
            parent[i] = SIZE_MAX;
    }
    idmap_free(&ids);
    size_t o = 0;
    for (size_t j = 0; j < n; ++j) {
        /* Place the chain of unplaced ancestors first, the oldest ancestor first; a cycle is cut where it closes
         * (marking before placing stops the walk there). */
        size_t depth = 0;
        for (size_t a = bydate[j]; a != SIZE_MAX && !placed[a]; a = parent[a]) {
            placed[a] = 1;
            stack[depth++] = a;
        }
        while (depth > 0)
            order[o++] = stack[--depth];
    }
    free(stack);
    free(placed);
    free(parent);
    free(bydate);
}

/* --- XML --- */

struct st_xml_t {
    xmlTextReaderPtr r;
    char *err; /* the first error libxml2 reported, with its line */
    size_t errlen;
    bool failed;
};

static xmlParserInputPtr refuse_entity(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
    /* Never read what a document points to: no external entity, DTD or parameter entity, from anywhere. */
    (void)url;
    (void)id;
    (void)ctxt;
    return NULL;
}

static void on_xml_error(void *arg, xmlErrorPtr e)
{
    struct st_xml_t *x = arg;
    if (e == NULL || e->level < XML_ERR_ERROR || x->failed)
        return;
    x->failed = true;
    char msg[256];
    snprintf(msg, sizeof(msg), "%s", e->message != NULL ? e->message : "malformed XML");
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        msg[--n] = '\0';
    snprintf(x->err, x->errlen, "line %d: %s", e->line, msg);
}

static void silent(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

static bool is_name(xmlTextReaderPtr r, const char *local, const char *ns_prefix)
{
    const xmlChar *l = xmlTextReaderConstLocalName(r);
    if (l == NULL || strcmp((const char *)l, local) != 0)
        return false;
    const xmlChar *ns = xmlTextReaderConstNamespaceUri(r);
    if (ns_prefix == NULL)
        return true;
    return ns != NULL && strncmp((const char *)ns, ns_prefix, strlen(ns_prefix)) == 0;
}

/* The text of the element the reader is on (text and CDATA of its subtree, entity references left out). */
static char *element_text(xmlTextReaderPtr r)
{
    if (xmlTextReaderIsEmptyElement(r))
        return dup_str("");
    return take_trimmed(xmlTextReaderReadString(r));
}

/* Like element_text but keeps the white space inside: comment bodies have meaningful line breaks. */
static char *element_body(xmlTextReaderPtr r)
{
    if (xmlTextReaderIsEmptyElement(r))
        return dup_str("");
    xmlChar *x = xmlTextReaderReadString(r);
    char *d = dup_str(x != NULL ? (const char *)x : "");
    xmlFree(x);
    return d;
}

static char *dsq_id(xmlTextReaderPtr r)
{
    xmlChar *v = xmlTextReaderGetAttributeNs(r, BAD_CAST "id", BAD_CAST DSQ_NS);
    if (v == NULL)
        v = xmlTextReaderGetAttribute(r, BAD_CAST "dsq:id");
    return take_trimmed(v);
}

static bool is_true(const char *s)
{
    return strcmp(s, "true") == 0 || strcmp(s, "1") == 0;
}

struct st_read_t {
    tool_thread_cb on_thread;
    tool_user_cb on_user;
    void *ctx;
    size_t seq;
};

/* WXR: rss > channel > item (a post) > wp:comment. */
static int read_wxr(struct st_xml_t *x, struct st_read_t *rd)
{
    xmlTextReaderPtr r = x->r;
    tool_thread_t t;
    bool in_item = false;
    tool_comment_t *c = NULL;
    int item_depth = -1, comment_depth = -1, rc = 0, ret;
    thread_init(&t);
    while ((ret = xmlTextReaderRead(r)) == 1) {
        int type = xmlTextReaderNodeType(r), depth = xmlTextReaderDepth(r);
        if (type == XML_READER_TYPE_END_ELEMENT) {
            if (c != NULL && depth == comment_depth) {
                c = NULL;
            } else if (in_item && depth == item_depth) {
                in_item = false;
                if (t.num_comments != 0 && rd->on_thread != NULL)
                    rc = rd->on_thread(rd->ctx, &t);
                tool_thread_clear(&t);
                thread_init(&t);
                if (rc != 0)
                    break;
            }
            continue;
        }
        if (type != XML_READER_TYPE_ELEMENT)
            continue;
        if (!in_item) {
            if (is_name(r, "item", NULL) && !xmlTextReaderIsEmptyElement(r)) {
                in_item = true;
                item_depth = depth;
            }
            continue;
        }
        if (c == NULL) {
            if (depth != item_depth + 1)
                continue;
            if (is_name(r, "comment", WP_NS_PREFIX)) {
                if (!xmlTextReaderIsEmptyElement(r)) {
                    c = add_comment(&t, rd->seq++);
                    comment_depth = depth;
                }
            } else if (is_name(r, "title", NULL) && xmlTextReaderConstNamespaceUri(r) == NULL) {
                set_str(&t.title, element_text(r));
            } else if (is_name(r, "link", NULL) && xmlTextReaderConstNamespaceUri(r) == NULL) {
                set_str(&t.url, element_text(r));
            } else if (is_name(r, "comment_status", WP_NS_PREFIX)) {
                char *v = element_text(r);
                t.locked = strcmp(v, "closed") == 0;
                free(v);
            }
            continue;
        }
        if (depth != comment_depth + 1 || xmlTextReaderConstNamespaceUri(r) == NULL ||
            strncmp((const char *)xmlTextReaderConstNamespaceUri(r), WP_NS_PREFIX, strlen(WP_NS_PREFIX)) != 0)
            continue;
        const char *name = (const char *)xmlTextReaderConstLocalName(r);
        if (strcmp(name, "comment_id") == 0) {
            set_str(&c->id, element_text(r));
        } else if (strcmp(name, "comment_parent") == 0) {
            char *p = element_text(r);
            if (p[0] == '\0' || strcmp(p, "0") == 0) {
                free(p);
                p = NULL;
            }
            set_str(&c->parent, p);
        } else if (strcmp(name, "comment_author") == 0) {
            set_str(&c->author, element_text(r));
        } else if (strcmp(name, "comment_author_email") == 0) {
            set_str(&c->email, element_text(r));
        } else if (strcmp(name, "comment_author_url") == 0) {
            set_str(&c->website, element_text(r));
        } else if (strcmp(name, "comment_date_gmt") == 0) {
            char *v = element_text(r);
            uint64_t ms = tool_parse_date(v);
            if (ms != 0)
                c->created_ms = ms; /* the GMT date wins over the local one, whatever their order */
            free(v);
        } else if (strcmp(name, "comment_date") == 0) {
            char *v = element_text(r);
            if (c->created_ms == 0)
                c->created_ms = tool_parse_date(v); /* local time read as UTC: only when there is no GMT date */
            free(v);
        } else if (strcmp(name, "comment_content") == 0) {
            set_str(&c->body, element_body(r));
        } else if (strcmp(name, "comment_approved") == 0) {
            char *v = element_text(r);
            c->status = tool_wxr_status(v);
            free(v);
        } else if (strcmp(name, "comment_type") == 0) {
            char *v = element_text(r);
            c->pingback = strcmp(v, "pingback") == 0 || strcmp(v, "trackback") == 0;
            free(v);
        }
    }
    tool_thread_clear(&t);
    if (rc != 0)
        return rc;
    return ret < 0 || x->failed ? CORE_ERR_INVALID : 0;
}

/* Disqus: disqus > thread (dsq:id, link, title, isClosed) and post (dsq:id, message, createdAt, isDeleted, isSpam,
 * author > name/email, thread dsq:id, parent dsq:id), posts anywhere after or before their thread. */
struct st_dsq_t {
    tool_thread_t *threads;
    char **ids; /* thread dsq:ids, owned */
    size_t num, cap;
    struct st_idmap_t map;
};

static size_t dsq_thread(struct st_dsq_t *d, char *id /* taken */)
{
    size_t i = idmap_get(&d->map, id);
    if (i != SIZE_MAX) {
        free(id);
        return i;
    }
    if (d->num == d->cap) {
        d->cap = d->cap != 0 ? d->cap * 2 : 64;
        d->threads = realloc(d->threads, sizeof(*d->threads) * d->cap);
        d->ids = realloc(d->ids, sizeof(*d->ids) * d->cap);
        if (d->threads == NULL || d->ids == NULL)
            abort();
        /* The map borrows the id strings; they stay where they are (only the array of pointers moves). */
    }
    thread_init(&d->threads[d->num]);
    d->ids[d->num] = id;
    idmap_put(&d->map, id, d->num);
    return d->num++;
}

static int read_disqus(struct st_xml_t *x, struct st_read_t *rd)
{
    xmlTextReaderPtr r = x->r;
    struct st_dsq_t d = {0};
    int ret, rc = 0;
    enum { NONE, THREAD, POST } in = NONE;
    size_t cur = 0; /* the thread being read */
    int top = -1;   /* depth of the element being read */
    char *author_name = NULL, *author_email = NULL, *post_thread = NULL, *post_parent = NULL, *post_id = NULL;
    char *message = NULL, *created = NULL;
    bool deleted = false, spam = false;
    bool in_author = false;
    while ((ret = xmlTextReaderRead(r)) == 1) {
        int type = xmlTextReaderNodeType(r), depth = xmlTextReaderDepth(r);
        if (type == XML_READER_TYPE_END_ELEMENT) {
            if (in_author && depth == top + 1) {
                in_author = false;
            } else if (in != NONE && depth == top) {
                if (in == POST) {
                    /* A post without a thread reference goes into a thread of its own that has no URL: the importer
                     * skips it as a bad URL. */
                    size_t ti = dsq_thread(&d, post_thread != NULL ? post_thread : dup_str(""));
                    post_thread = NULL;
                    tool_thread_t *t = &d.threads[ti];
                    tool_comment_t *c = add_comment(t, rd->seq++);
                    set_str(&c->id, post_id != NULL ? post_id : dup_str(""));
                    c->parent = post_parent != NULL && post_parent[0] != '\0' ? post_parent : NULL;
                    if (c->parent == NULL)
                        free(post_parent);
                    set_str(&c->author, author_name != NULL ? author_name : dup_str(""));
                    set_str(&c->email, author_email != NULL ? author_email : dup_str(""));
                    set_str(&c->body, message != NULL ? message : dup_str(""));
                    c->created_ms = created != NULL ? tool_parse_date(created) : 0;
                    free(created);
                    c->status = deleted ? TOOL_STATUS_DELETED : spam ? TOOL_STATUS_SPAM : TOOL_STATUS_APPROVED;
                    post_id = post_parent = author_name = author_email = message = created = NULL;
                }
                in = NONE;
            }
            continue;
        }
        if (type != XML_READER_TYPE_ELEMENT)
            continue;
        if (in == NONE) {
            if (depth != 1 || xmlTextReaderIsEmptyElement(r))
                continue;
            if (is_name(r, "thread", NULL)) {
                in = THREAD;
                cur = dsq_thread(&d, dsq_id(r));
                top = depth;
            } else if (is_name(r, "post", NULL)) {
                in = POST;
                top = depth;
                post_id = dsq_id(r);
                deleted = spam = false;
            }
            continue;
        }
        if (in == THREAD) {
            if (depth != top + 1)
                continue;
            tool_thread_t *t = &d.threads[cur];
            if (is_name(r, "link", NULL)) {
                set_str(&t->url, element_text(r));
            } else if (is_name(r, "title", NULL)) {
                set_str(&t->title, element_text(r));
            } else if (is_name(r, "isClosed", NULL)) {
                char *v = element_text(r);
                t->locked = is_true(v);
                free(v);
            }
            continue;
        }
        /* in == POST */
        if (in_author && depth == top + 2) {
            if (is_name(r, "name", NULL))
                set_str(&author_name, element_text(r));
            else if (is_name(r, "email", NULL))
                set_str(&author_email, element_text(r));
            continue;
        }
        if (depth != top + 1)
            continue;
        if (is_name(r, "message", NULL)) {
            set_str(&message, element_body(r));
        } else if (is_name(r, "createdAt", NULL)) {
            set_str(&created, element_text(r));
        } else if (is_name(r, "isDeleted", NULL)) {
            char *v = element_text(r);
            deleted = is_true(v);
            free(v);
        } else if (is_name(r, "isSpam", NULL)) {
            char *v = element_text(r);
            spam = is_true(v);
            free(v);
        } else if (is_name(r, "author", NULL)) {
            in_author = !xmlTextReaderIsEmptyElement(r);
        } else if (is_name(r, "thread", NULL)) {
            set_str(&post_thread, dsq_id(r));
        } else if (is_name(r, "parent", NULL)) {
            set_str(&post_parent, dsq_id(r));
        }
    }
    free(author_name);
    free(author_email);
    free(post_thread);
    free(post_parent);
    free(post_id);
    free(message);
    free(created);
    if (ret < 0 || x->failed)
        rc = CORE_ERR_INVALID;
    for (size_t i = 0; i < d.num; ++i) {
        if (rc == 0 && d.threads[i].num_comments != 0 && rd->on_thread != NULL)
            rc = rd->on_thread(rd->ctx, &d.threads[i]);
        tool_thread_clear(&d.threads[i]);
        free(d.ids[i]);
    }
    free(d.threads);
    free(d.ids);
    idmap_free(&d.map);
    return rc;
}

/* --- Parley's own export (tool_export.c writes it) --- */

static char *json_str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return dup_str(s);
}

static tool_status_t parley_status(const char *s)
{
    if (strcmp(s, "approved") == 0)
        return TOOL_STATUS_APPROVED;
    if (strcmp(s, "pending") == 0)
        return TOOL_STATUS_PENDING;
    if (strcmp(s, "spam") == 0)
        return TOOL_STATUS_SPAM;
    if (strcmp(s, "deleted") == 0)
        return TOOL_STATUS_DELETED;
    return TOOL_STATUS_UNKNOWN;
}

static int read_parley(const char *path, struct st_read_t *rd, char *errbuf, size_t errlen)
{
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL) {
        snprintf(errbuf, errlen, "line %d: %s", je.line, je.text);
        return CORE_ERR_INVALID;
    }
    int rc = 0;
    json_t *threads = json_object_get(root, "threads"), *users = json_object_get(root, "users");
    if (!json_is_object(root) || json_integer_value(json_object_get(root, "parley_export")) != 1 ||
        !json_is_array(threads) || (users != NULL && !json_is_array(users))) {
        snprintf(errbuf, errlen, "not a Parley export (version 1): needs \"parley_export\": 1 and a \"threads\" list");
        json_decref(root);
        return CORE_ERR_INVALID;
    }
    size_t i, k;
    json_t *jt, *jc, *ju;
    json_array_foreach(threads, i, jt)
    {
        json_t *comments = json_object_get(jt, "comments");
        if (!json_is_object(jt) || !json_is_array(comments)) {
            snprintf(errbuf, errlen, "threads[%zu]: needs \"url\" and a \"comments\" list", i);
            rc = CORE_ERR_INVALID;
            break;
        }
        tool_thread_t t;
        thread_init(&t);
        set_str(&t.url, json_str(jt, "url"));
        set_str(&t.title, json_str(jt, "title"));
        t.locked = json_is_true(json_object_get(jt, "locked"));
        t.created_ms = (uint64_t)json_integer_value(json_object_get(jt, "created"));
        json_t *votes = json_object_get(jt, "votes");
        t.votes = json_is_object(votes) ? json_incref(votes) : NULL;
        json_array_foreach(comments, k, jc)
        {
            json_int_t id = json_integer_value(json_object_get(jc, "id"));
            if (!json_is_object(jc) || id <= 0) {
                snprintf(errbuf, errlen, "threads[%zu].comments[%zu]: needs a positive \"id\"", i, k);
                rc = CORE_ERR_INVALID;
                break;
            }
            tool_comment_t *c = add_comment(&t, rd->seq++);
            char num[24];
            snprintf(num, sizeof(num), "%lld", (long long)id);
            set_str(&c->id, dup_str(num));
            json_int_t parent = json_integer_value(json_object_get(jc, "parent"));
            if (parent > 0) {
                snprintf(num, sizeof(num), "%lld", (long long)parent);
                c->parent = dup_str(num);
            }
            set_str(&c->author, json_str(jc, "author"));
            set_str(&c->email, json_str(jc, "email"));
            set_str(&c->website, json_str(jc, "website"));
            set_str(&c->body, json_str(jc, "body"));
            c->created_ms = (uint64_t)json_integer_value(json_object_get(jc, "created"));
            const char *st = json_string_value(json_object_get(jc, "status"));
            c->status = parley_status(st != NULL ? st : "");
            c->stored = json_incref(jc);
        }
        if (rc == 0 && (t.num_comments != 0 || t.locked) && rd->on_thread != NULL)
            rc = rd->on_thread(rd->ctx, &t);
        tool_thread_clear(&t);
        if (rc != 0)
            break;
    }
    json_array_foreach(users, i, ju)
    {
        if (rc != 0)
            break;
        if (!json_is_object(ju) || !json_is_string(json_object_get(ju, "id"))) {
            snprintf(errbuf, errlen, "users[%zu]: needs an \"id\"", i);
            rc = CORE_ERR_INVALID;
            break;
        }
        if (rd->on_user != NULL)
            rc = rd->on_user(rd->ctx, ju);
    }
    json_decref(root);
    return rc;
}

/* --- the entry point --- */

static int sniff_json(const char *path, bool *is_json, char *errbuf, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(errbuf, errlen, "cannot open: %s", strerror(errno));
        return CORE_ERR_INVALID;
    }
    int ch;
    do {
        ch = fgetc(f);
    } while (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n');
    fclose(f);
    if (ch == EOF) {
        snprintf(errbuf, errlen, "the file is empty");
        return CORE_ERR_INVALID;
    }
    *is_json = ch == '{';
    return 0;
}

int tool_read(const char *path, tool_format_t format, tool_thread_cb on_thread, tool_user_cb on_user, void *ctx,
              tool_format_t *found, char *errbuf, size_t errlen)
{
    struct st_read_t rd = {on_thread, on_user, ctx, 0};
    bool is_json = false;
    if (sniff_json(path, &is_json, errbuf, errlen) != 0)
        return CORE_ERR_INVALID;
    if (format == TOOL_FORMAT_PARLEY || (format == TOOL_FORMAT_AUTO && is_json)) {
        if (found != NULL)
            *found = TOOL_FORMAT_PARLEY;
        return read_parley(path, &rd, errbuf, errlen);
    }
    xmlSetExternalEntityLoader(refuse_entity);
    xmlSetGenericErrorFunc(NULL, silent);
    struct st_xml_t x = {NULL, errbuf, errlen, false};
    errbuf[0] = '\0';
    x.r = xmlReaderForFile(path, NULL, XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_COMPACT);
    if (x.r == NULL) {
        snprintf(errbuf, errlen, "cannot read as XML");
        return CORE_ERR_INVALID;
    }
    xmlTextReaderSetStructuredErrorHandler(x.r, on_xml_error, &x);
    /* The root element decides the format (and must match --format when one is given). */
    int ret;
    while ((ret = xmlTextReaderRead(x.r)) == 1 && xmlTextReaderNodeType(x.r) != XML_READER_TYPE_ELEMENT)
        ;
    int rc;
    tool_format_t got = TOOL_FORMAT_AUTO;
    if (ret != 1) {
        if (!x.failed)
            snprintf(errbuf, errlen, "no XML root element");
        rc = CORE_ERR_INVALID;
    } else if (is_name(x.r, "rss", NULL)) {
        got = TOOL_FORMAT_WXR;
    } else if (is_name(x.r, "disqus", NULL)) {
        got = TOOL_FORMAT_DISQUS;
    } else {
        snprintf(errbuf, errlen, "root element <%s> is neither WordPress WXR (<rss>) nor Disqus (<disqus>)",
                 (const char *)xmlTextReaderConstName(x.r));
    }
    if (got == TOOL_FORMAT_AUTO) {
        rc = CORE_ERR_INVALID;
    } else if (format != TOOL_FORMAT_AUTO && format != got) {
        snprintf(errbuf, errlen, "the file is %s, not the format asked for", got == TOOL_FORMAT_WXR ? "WXR" : "Disqus");
        rc = CORE_ERR_INVALID;
    } else {
        if (found != NULL)
            *found = got;
        rc = got == TOOL_FORMAT_WXR ? read_wxr(&x, &rd) : read_disqus(&x, &rd);
        if (rc == CORE_ERR_INVALID && errbuf[0] == '\0')
            snprintf(errbuf, errlen, "malformed XML");
    }
    xmlFreeTextReader(x.r);
    return rc;
}
