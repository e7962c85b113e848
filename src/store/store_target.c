#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/core_error.h"
#include "store/store_internal.h"

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d == NULL)
        abort();
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static int parse_u32(const char *s, size_t n, uint32_t max, uint32_t *out)
{
    if (n == 0 || n > 10)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > max)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

int store_target_init(store_target_t *t, const core_config_t *cfg, const char *sock_path, char *errbuf, size_t errlen)
{
    memset(t, 0, sizeof(*t));
    const char *url = cfg->redis.url;
    if (strcmp(url, "embedded") == 0) {
        t->unix_path = dup_n(sock_path, strlen(sock_path));
    } else if (strncmp(url, "unix://", 7) == 0) {
        const char *path = url + 7, *q = strchr(path, '?');
        size_t plen = q != NULL ? (size_t)(q - path) : strlen(path);
        if (plen == 0 || path[0] != '/')
            goto Bad;
        t->unix_path = dup_n(path, plen);
        if (q != NULL) {
            if (strncmp(q, "?db=", 4) != 0 || parse_u32(q + 4, strlen(q + 4), 65535, &t->db) != 0)
                goto Bad;
        }
    } else if (strncmp(url, "redis://", 8) == 0) {
        const char *hp = url + 8, *slash = strchr(hp, '/');
        size_t hplen = slash != NULL ? (size_t)(slash - hp) : strlen(hp);
        const char *colon = NULL;
        if (hplen > 0 && hp[0] == '[') {
            const char *rb = memchr(hp, ']', hplen);
            if (rb == NULL)
                goto Bad;
            t->host = dup_n(hp + 1, (size_t)(rb - hp - 1));
            colon = rb + 1 < hp + hplen && rb[1] == ':' ? rb + 1 : NULL;
        } else {
            colon = memchr(hp, ':', hplen);
            t->host = dup_n(hp, colon != NULL ? (size_t)(colon - hp) : hplen);
        }
        if (t->host[0] == '\0' || memchr(hp, '@', hplen) != NULL)
            goto Bad;
        uint32_t port = 6379;
        if (colon != NULL && parse_u32(colon + 1, (size_t)(hp + hplen - colon - 1), 65535, &port) != 0)
            goto Bad;
        if (port == 0)
            goto Bad;
        t->port = (uint16_t)port;
        if (slash != NULL && slash[1] != '\0' && parse_u32(slash + 1, strlen(slash + 1), 65535, &t->db) != 0)
            goto Bad;
    } else {
        goto Bad;
    }
    if (cfg->redis.password_env != NULL) {
        const char *pw = getenv(cfg->redis.password_env);
        if (pw != NULL && pw[0] != '\0')
            t->password = dup_n(pw, strlen(pw));
    }
    return 0;
Bad:
    snprintf(errbuf, errlen, "redis.url: cannot parse \"%s\" (want embedded, redis://host:port[/db] or unix:///path)",
             url);
    store_target_clear(t);
    return CORE_ERR_INVALID;
}

size_t store_target_hello(const store_target_t *t, store_cmd2_t cmds[2], char db[12])
{
    size_t n = 0;
    if (t->password != NULL)
        cmds[n++] = (store_cmd2_t){{"AUTH", t->password}, {4, strlen(t->password)}};
    if (t->db != 0)
        cmds[n++] = (store_cmd2_t){{"SELECT", db}, {6, (size_t)snprintf(db, 12, "%u", t->db)}};
    return n;
}

void store_target_clear(store_target_t *t)
{
    free(t->host);
    free(t->unix_path);
    if (t->password != NULL) {
        memset(t->password, 0, strlen(t->password));
        free(t->password);
    }
    memset(t, 0, sizeof(*t));
}
