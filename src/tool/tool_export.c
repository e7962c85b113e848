/* `parleyd export [-c FILE] [--site ID] [--format parley|wxr] [-o FILE] [--with-secrets]`
 *
 * Writes one site out, thread by thread (one thread in memory at a time), so nobody is locked in:
 *   parley  Parley's own JSON: every thread (url, title, locked, created), every comment with all its stored fields
 *           (e-mail included), the thread's votes, and the accounts (all of them: accounts are not per site);
 *           `parleyd import --format parley` restores it as it was (same ids, statuses, votes). Password hashes
 *           and the hashes of live verification and reset tokens are left out unless --with-secrets.
 *   wxr     WordPress's WXR 1.2 (RSS 2.0 with the wp: namespace), written with libxml2's xmlTextWriter: one <item>
 *           per thread and one <wp:comment> per comment, which WordPress and most comment systems import. Text is
 *           escaped rather than put in CDATA sections (equally valid, and no "]]>" to split).
 * Threads come out ordered by URL, comments by id, accounts by id, so two exports of the same data are equal. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <libxml/xmlwriter.h>
#include "core/core_time.h"
#include "core/core_error.h"
#include "tool/tool.h"

/* USER fields that are secrets: only with --with-secrets. */
static const char *const secret_fields[] = {"phc", "verify", "verify_exp", "reset", "reset_exp", NULL};

struct st_thread_out_t {
    char *hash;
    json_t *thread, *comments, *votes;
};

static int by_url(const void *a, const void *b)
{
    const struct st_thread_out_t *x = a, *y = b;
    const char *u = json_string_value(json_object_get(x->thread, "url")),
               *v = json_string_value(json_object_get(y->thread, "url"));
    return strcmp(u != NULL ? u : "", v != NULL ? v : "");
}

static uint64_t field_u64(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s != NULL ? strtoull(s, NULL, 10) : 0;
}

/* The threads' hashes, each with its THREAD fields, ordered by URL (comments are read later, one at a time). */
static int list_threads(tool_env_t *env, struct st_thread_out_t **out, size_t *n, char *err, size_t errlen)
{
    char **hashes;
    size_t num;
    if (store_bulk_thread_list(env->bulk, env->site->id, &hashes, &num, err, errlen) != 0)
        return -1;
    struct st_thread_out_t *t = calloc(num + 1, sizeof(*t));
    if (t == NULL)
        abort();
    int rc = 0;
    for (size_t i = 0; i < num; ++i) {
        t[i].hash = hashes[i];
        /* Only the thread's fields for now; its comments are read when it is written. */
        if (rc == 0 &&
            store_bulk_thread_read(env->bulk, env->site->id, hashes[i], &t[i].thread, NULL, NULL, err, errlen) != 0)
            rc = -1;
        if (t[i].thread == NULL)
            t[i].thread = json_object();
    }
    free(hashes);
    qsort(t, num, sizeof(*t), by_url);
    *out = t;
    *n = num;
    return rc;
}

static void free_threads(struct st_thread_out_t *t, size_t n)
{
    for (size_t i = 0; i < n; ++i) {
        free(t[i].hash);
        json_decref(t[i].thread);
        json_decref(t[i].comments);
        json_decref(t[i].votes);
    }
    free(t);
}

/* --- Parley JSON --- */

static int write_parley(tool_env_t *env, FILE *f, bool with_secrets, char *err, size_t errlen)
{
    struct st_thread_out_t *t;
    size_t n;
    if (list_threads(env, &t, &n, err, errlen) != 0)
        return -1;
    char now[32];
    core_iso8601(core_now_ms(), false, now);
    json_t *site = json_string(env->site->id), *when = json_string(now);
    char *s1 = json_dumps(site, JSON_ENCODE_ANY), *s2 = json_dumps(when, JSON_ENCODE_ANY);
    fprintf(f, "{\"parley_export\":1,\"site\":%s,\"exported\":%s,\n\"threads\":[", s1, s2);
    free(s1);
    free(s2);
    json_decref(site);
    json_decref(when);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; ++i) {
        json_t *th, *comments, *votes;
        if (store_bulk_thread_read(env->bulk, env->site->id, t[i].hash, &th, &comments, &votes, err, errlen) != 0) {
            rc = -1;
            break;
        }
        json_t *o = json_pack("{s:O,s:O,s:b,s:I,s:o,s:o}", "url", json_object_get(th, "url"), "title",
                              json_object_get(th, "title") != NULL ? json_object_get(th, "title") : json_null(),
                              "locked", field_u64(th, "locked") == 1, "created", (json_int_t)field_u64(th, "created"),
                              "comments", comments, "votes", votes);
        json_decref(th);
        if (o == NULL) { /* a thread without url (a stray key): nothing to restore it by */
            continue;
        }
        char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
        fprintf(f, "%s\n%s", i == 0 ? "" : ",", s);
        free(s);
        json_decref(o);
    }
    free_threads(t, n);
    if (rc != 0)
        return rc;
    json_t *users;
    if (store_bulk_user_list(env->bulk, &users, err, errlen) != 0)
        return -1;
    fprintf(f, "],\n\"users\":[");
    size_t i;
    json_t *u;
    json_array_foreach(users, i, u)
    {
        if (!with_secrets)
            for (size_t k = 0; secret_fields[k] != NULL; ++k)
                json_object_del(u, secret_fields[k]);
        char *s = json_dumps(u, JSON_COMPACT | JSON_SORT_KEYS);
        fprintf(f, "%s\n%s", i == 0 ? "" : ",", s);
        free(s);
    }
    json_decref(users);
    fprintf(f, "]}\n");
    return 0;
}

/* --- WXR --- */

static void wp_date(uint64_t ms, char out[32])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%d %H:%M:%S", &tm);
}

static const char *wp_status(const char *s, bool placeholder)
{
    if (s == NULL)
        return "0";
    if (strcmp(s, "approved") == 0)
        return placeholder ? "trash" : "1";
    if (strcmp(s, "spam") == 0)
        return "spam";
    if (strcmp(s, "deleted") == 0)
        return "trash";
    return "0";
}

#define W(call)                                                                                                        \
    do {                                                                                                               \
        if ((call) < 0)                                                                                                \
            goto Error;                                                                                                \
    } while (0)

/* Writes <NAME>VALUE</NAME> with VALUE escaped; characters XML 1.0 cannot hold (C0 controls other than tab, line
 * feed and carriage return) become U+FFFD, so any stored text makes a well-formed file. */
static int write_text_elem(xmlTextWriterPtr w, const char *name, const char *value)
{
    const char *v = value != NULL ? value : "";
    size_t n = strlen(v);
    char *clean = malloc(3 * n + 1), *o = clean;
    if (clean == NULL)
        abort();
    for (size_t i = 0; i < n; ++i) {
        unsigned char ch = (unsigned char)v[i];
        if (ch < 0x20 && ch != '\t' && ch != '\n' && ch != '\r') {
            memcpy(o, "\xEF\xBF\xBD", 3);
            o += 3;
        } else {
            *o++ = (char)ch;
        }
    }
    *o = '\0';
    int r = xmlTextWriterWriteElement(w, BAD_CAST name, BAD_CAST clean);
    free(clean);
    return r;
}

static int write_wxr(tool_env_t *env, const char *out_path, char *err, size_t errlen)
{
    struct st_thread_out_t *t;
    size_t n;
    if (list_threads(env, &t, &n, err, errlen) != 0)
        return -1;
    xmlTextWriterPtr w = xmlNewTextWriterFilename(out_path != NULL ? out_path : "-", 0);
    if (w == NULL) {
        snprintf(err, errlen, "cannot write %s", out_path != NULL ? out_path : "stdout");
        free_threads(t, n);
        return -1;
    }
    xmlTextWriterSetIndent(w, 1);
    int rc = -1;
    uint64_t next_wp_id = 1;
    char now[32];
    core_iso8601(core_now_ms(), false, now);
    W(xmlTextWriterStartDocument(w, "1.0", "UTF-8", NULL));
    W(xmlTextWriterStartElement(w, BAD_CAST "rss"));
    W(xmlTextWriterWriteAttribute(w, BAD_CAST "version", BAD_CAST "2.0"));
    W(xmlTextWriterWriteAttribute(w, BAD_CAST "xmlns:content", BAD_CAST "http://purl.org/rss/1.0/modules/content/"));
    W(xmlTextWriterWriteAttribute(w, BAD_CAST "xmlns:dc", BAD_CAST "http://purl.org/dc/elements/1.1/"));
    W(xmlTextWriterWriteAttribute(w, BAD_CAST "xmlns:wp", BAD_CAST "http://wordpress.org/export/1.2/"));
    W(xmlTextWriterStartElement(w, BAD_CAST "channel"));
    W(xmlTextWriterWriteFormatElement(w, BAD_CAST "title", "Comments of %s (Parley export)", env->site->id));
    W(xmlTextWriterWriteElement(w, BAD_CAST "link", BAD_CAST env->site->origins[0]));
    W(xmlTextWriterWriteElement(w, BAD_CAST "pubDate", BAD_CAST now));
    W(xmlTextWriterWriteElement(w, BAD_CAST "wp:wxr_version", BAD_CAST "1.2"));
    for (size_t i = 0; i < n; ++i) {
        json_t *th, *comments, *votes;
        if (store_bulk_thread_read(env->bulk, env->site->id, t[i].hash, &th, &comments, &votes, err, errlen) != 0)
            goto Error;
        json_decref(votes);
        const char *url = json_string_value(json_object_get(th, "url"));
        const char *title = json_string_value(json_object_get(th, "title"));
        if (url == NULL) {
            json_decref(th);
            json_decref(comments);
            continue;
        }
        char created[32];
        wp_date(field_u64(th, "created"), created);
        /* WordPress comment ids are unique in the whole file; Parley's are per thread: number them anew, parents
         * first (comments are ordered by id, and a parent's id is always smaller). */
        size_t nc = json_array_size(comments);
        uint64_t *wp_ids = calloc(nc + 1, sizeof(*wp_ids));
        json_int_t *ids = calloc(nc + 1, sizeof(*ids));
        if (wp_ids == NULL || ids == NULL)
            abort();
        int failed = 0;
        failed |= xmlTextWriterStartElement(w, BAD_CAST "item") < 0;
        failed |= write_text_elem(w, "title", title) < 0;
        failed |= xmlTextWriterWriteElement(w, BAD_CAST "link", BAD_CAST url) < 0;
        failed |= xmlTextWriterStartElement(w, BAD_CAST "guid") < 0 ||
                  xmlTextWriterWriteAttribute(w, BAD_CAST "isPermaLink", BAD_CAST "false") < 0 ||
                  xmlTextWriterWriteString(w, BAD_CAST url) < 0 || xmlTextWriterEndElement(w) < 0;
        failed |= xmlTextWriterWriteFormatElement(w, BAD_CAST "wp:post_id", "%zu", i + 1) < 0;
        failed |= xmlTextWriterWriteElement(w, BAD_CAST "wp:post_date_gmt", BAD_CAST created) < 0;
        failed |= xmlTextWriterWriteElement(w, BAD_CAST "wp:comment_status",
                                            BAD_CAST(field_u64(th, "locked") == 1 ? "closed" : "open")) < 0;
        failed |= xmlTextWriterWriteElement(w, BAD_CAST "wp:status", BAD_CAST "publish") < 0;
        failed |= xmlTextWriterWriteElement(w, BAD_CAST "wp:post_type", BAD_CAST "post") < 0;
        for (size_t k = 0; k < nc && !failed; ++k) {
            json_t *c = json_array_get(comments, k);
            json_int_t id = json_integer_value(json_object_get(c, "id")),
                       parent = json_integer_value(json_object_get(c, "parent"));
            wp_ids[k] = next_wp_id++;
            ids[k] = id;
            uint64_t wp_parent = 0;
            if (parent != 0) {
                /* Comments come ordered by id: find the parent by binary search among those before. */
                size_t lo = 0, hi = k;
                while (lo < hi) {
                    size_t mid = lo + (hi - lo) / 2;
                    if (ids[mid] < parent)
                        lo = mid + 1;
                    else
                        hi = mid;
                }
                if (lo < k && ids[lo] == parent)
                    wp_parent = wp_ids[lo];
            }
            const char *body = json_string_value(json_object_get(c, "body"));
            if (body == NULL || body[0] == '\0')
                body = json_string_value(json_object_get(c, "html"));
            const char *website = json_string_value(json_object_get(c, "website"));
            char date[32];
            wp_date((uint64_t)json_integer_value(json_object_get(c, "created")), date);
            failed |= xmlTextWriterStartElement(w, BAD_CAST "wp:comment") < 0;
            failed |=
                xmlTextWriterWriteFormatElement(w, BAD_CAST "wp:comment_id", "%llu", (unsigned long long)wp_ids[k]) < 0;
            failed |= write_text_elem(w, "wp:comment_author", json_string_value(json_object_get(c, "author"))) < 0;
            failed |= write_text_elem(w, "wp:comment_author_email", json_string_value(json_object_get(c, "email"))) < 0;
            failed |= write_text_elem(w, "wp:comment_author_url", website) < 0;
            failed |= xmlTextWriterWriteElement(w, BAD_CAST "wp:comment_date", BAD_CAST date) < 0;
            failed |= xmlTextWriterWriteElement(w, BAD_CAST "wp:comment_date_gmt", BAD_CAST date) < 0;
            failed |= write_text_elem(w, "wp:comment_content", body) < 0;
            failed |=
                xmlTextWriterWriteElement(w, BAD_CAST "wp:comment_approved",
                                          BAD_CAST wp_status(json_string_value(json_object_get(c, "status")),
                                                             json_is_true(json_object_get(c, "placeholder")))) < 0;
            failed |= xmlTextWriterWriteElement(w, BAD_CAST "wp:comment_type", BAD_CAST "comment") < 0;
            failed |= xmlTextWriterWriteFormatElement(w, BAD_CAST "wp:comment_parent", "%llu",
                                                      (unsigned long long)wp_parent) < 0;
            failed |= xmlTextWriterWriteElement(w, BAD_CAST "wp:comment_user_id", BAD_CAST "0") < 0;
            failed |= xmlTextWriterEndElement(w) < 0;
        }
        failed |= xmlTextWriterEndElement(w) < 0; /* item */
        free(wp_ids);
        free(ids);
        json_decref(th);
        json_decref(comments);
        if (failed)
            goto Error;
    }
    W(xmlTextWriterEndDocument(w));
    rc = 0;
Error:
    if (rc != 0 && err[0] == '\0')
        snprintf(err, errlen, "cannot write %s", out_path != NULL ? out_path : "stdout");
    xmlFreeTextWriter(w);
    free_threads(t, n);
    return rc;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: parleyd export [-c FILE] [--site ID] [--format parley|wxr] [-o FILE] [--with-secrets]\n"
               "  -c FILE          configuration (default conf/parley.yaml); PARLEY_* variables apply\n"
               "  --site ID        the site to export (needed when the configuration has several)\n"
               "  --format F       parley (default; `parleyd import` restores it) or wxr (WordPress)\n"
               "  -o FILE          write to FILE instead of standard output\n"
               "  --with-secrets   include password hashes and live token hashes of accounts (parley format)\n");
}

int tool_export_main(int argc, char **argv)
{
    const char *conf = "conf/parley.yaml", *site = NULL, *out = NULL;
    bool wxr = false, secrets = false;
    for (int i = 1; i < argc; ++i) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            conf = argv[++i];
        } else if (strcmp(argv[i], "--site") == 0 && i + 1 < argc) {
            site = argv[++i];
        } else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
            out = argv[++i];
        } else if (strcmp(argv[i], "--with-secrets") == 0) {
            secrets = true;
        } else if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
            const char *f = argv[++i];
            if (strcmp(f, "wxr") == 0 || strcmp(f, "wordpress") == 0) {
                wxr = true;
            } else if (strcmp(f, "parley") != 0) {
                fprintf(stderr, "parleyd export: unknown format \"%s\" (parley, wxr)\n", f);
                return 2;
            }
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    tool_env_t env;
    if (tool_env_open(&env, "export", conf, site) != 0)
        return 1;
    char err[1024] = "";
    int rc;
    if (wxr) {
        rc = write_wxr(&env, out, err, sizeof(err));
    } else {
        FILE *f = out != NULL ? fopen(out, "w") : stdout;
        if (f == NULL) {
            snprintf(err, sizeof(err), "cannot write %s: %s", out, strerror(errno));
            rc = -1;
        } else {
            rc = write_parley(&env, f, secrets, err, sizeof(err));
            if ((f != stdout ? fclose(f) : fflush(f)) != 0 && rc == 0) {
                snprintf(err, sizeof(err), "cannot write %s", out != NULL ? out : "stdout");
                rc = -1;
            }
        }
    }
    if (rc != 0)
        fprintf(stderr, "parleyd export: %s\n", err);
    tool_env_close(&env);
    return rc != 0 ? 1 : 0;
}
