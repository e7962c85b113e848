/* Listeners and workers. All listening sockets are opened up front (one per worker and listener, SO_REUSEPORT) so
 * that a busy port is reported before any thread starts; the kernel then spreads connections over the workers.
 * Each worker owns an h2o loop, an h2o context and a Redis connection, and touches nothing of another worker's.
 *
 * Stopping: the main thread sets `stop`; each worker notices within 100 ms, closes its listeners, asks h2o to shut
 * down (GOAWAY on HTTP/2, no keep-alive on HTTP/1.1), lets in-flight requests finish for up to 2 s, waits up to
 * 2 s more for its hashing jobs to come back from the helper threads (api_work.c), then closes its Redis connection
 * gracefully (pending commands are flushed). */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include "core/core_time.h"
#include "core/core_error.h"
#include "core/core_log.h"
#include "http/http.h"

#define DRAIN_MS 2000
#define STORE_CLOSE_MS 1000
#define WORK_DRAIN_MS 2000

struct st_http_worker_t;

struct st_listener_t {
    struct st_http_worker_t *worker;
    h2o_accept_ctx_t accept_ctx;
    h2o_socket_t *sock;
};

struct st_http_worker_t {
    h2o_context_t ctx;
    http_server_t *srv;
    h2o_evloop_t *loop;
    api_env_t env;
    struct st_listener_t listeners[CORE_CONFIG_MAX_LISTEN];
    size_t num_conns;
};

struct st_http_server_t {
    const core_config_t *cfg;
    const store_target_t *target;
    const uint8_t *secret;
    size_t secret_len;
    h2o_globalconf_t globalconf;
    h2o_logconf_t *access_log; /* the compiled access_log_format; NULL = no access log */
    int access_log_fd;         /* stdout, or a file registered with core_log_file_open (reopened on SIGHUP) */
    SSL_CTX *ssl[CORE_CONFIG_MAX_LISTEN];
    size_t num_workers;
    int *fds; /* [worker * num_listen + listener] */
    struct st_http_worker_t *workers;
    _Atomic int stop;
};

api_env_t *http_worker_env(h2o_context_t *ctx)
{
    return &H2O_STRUCT_FROM_MEMBER(struct st_http_worker_t, ctx, ctx)->env;
}

static int open_listener(const core_config_listen_t *l, char *errbuf, size_t errlen)
{
    struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE, .ai_socktype = SOCK_STREAM},
                    *res;
    char port[8];
    snprintf(port, sizeof(port), "%u", l->port);
    int gai = getaddrinfo(l->host, port, &hints, &res);
    if (gai != 0) {
        snprintf(errbuf, errlen, "listen %s:%u: %s", l->host, l->port, gai_strerror(gai));
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), on = 1;
    if (fd < 0)
        goto Error;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0)
        goto Error;
    if (res->ai_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
    /* Accepted sockets inherit TCP_NODELAY: small JSON answers must not wait for Nagle. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, SOMAXCONN) != 0)
        goto Error;
    if (fcntl(fd, F_SETFL, O_NONBLOCK) != 0)
        goto Error;
    freeaddrinfo(res);
    return fd;
Error:
    snprintf(errbuf, errlen, "listen %s:%u: %s", l->host, l->port, strerror(errno));
    if (fd >= 0)
        close(fd);
    freeaddrinfo(res);
    return -1;
}

static SSL_CTX *make_ssl_ctx(const core_config_listen_t *l, char *errbuf, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL)
        abort();
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (SSL_CTX_use_certificate_chain_file(ctx, l->tls_cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, l->tls_key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
        char e[256];
        ERR_error_string_n(ERR_get_error(), e, sizeof(e));
        snprintf(errbuf, errlen, "listen %s:%u: TLS certificate %s / key %s: %s", l->host, l->port, l->tls_cert,
                 l->tls_key, e);
        SSL_CTX_free(ctx);
        return NULL;
    }
    /* h2o_alpn_protocols is h2 (and drafts) plus http/1.1; h2o_http2_alpn_protocols lacks http/1.1, so a client
     * offering only http/1.1 would get no ALPN answer at all. */
    h2o_ssl_register_alpn_protocols(ctx, h2o_alpn_protocols);
    return ctx;
}

/* The access log. Not h2o's own logger (h2o_access_log_register), whose file handle hides its descriptor: this one
 * writes to a descriptor that core_log_reopen can swap under it on SIGHUP. The line itself is h2o's, from the same
 * compiled format (h2o_log_request), one write(2) per request so lines from several workers never mix. */
struct st_access_logger_t {
    h2o_logger_t super;
    h2o_logconf_t *conf;
    int fd;
};

static void on_access_log(h2o_logger_t *self, h2o_req_t *req)
{
    struct st_access_logger_t *l = (struct st_access_logger_t *)self;
    char buf[4096];
    size_t len = sizeof(buf);
    char *line = h2o_log_request(l->conf, req, &len, buf);
    ssize_t w = write(l->fd, line, len);
    (void)w;
    if (line != buf)
        free(line);
}

/* Everything a path needs besides its handler: security headers, metrics, the access log. */
static void decorate_path(http_server_t *srv, h2o_pathconf_t *pc)
{
    http_headers_register(pc);
    http_metrics_register(pc);
    if (srv->access_log != NULL) {
        struct st_access_logger_t *l = (void *)h2o_create_logger(pc, sizeof(*l));
        l->super.log_access = on_access_log;
        l->conf = srv->access_log;
        l->fd = srv->access_log_fd;
    }
}

int http_server_create(http_server_t **out, const core_config_t *cfg, const store_target_t *target,
                       const uint8_t *secret, size_t secret_len, char *errbuf, size_t errlen)
{
    http_server_t *srv = calloc(1, sizeof(*srv));
    if (srv == NULL)
        abort();
    srv->cfg = cfg;
    srv->target = target;
    srv->secret = secret;
    srv->secret_len = secret_len;
    /* Two workers per core by default: a comment write waits for two Redis round trips (each behind an AOF fsync),
     * and while one loop waits or runs a long turn another can use the core. Measured on 2 cores (tests/bench/run):
     * comment POSTs 7.8-8.9k/s with 2 workers, 8.8-9.6k/s with 4; GETs the same within noise. */
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    srv->num_workers = cfg->threads != 0 ? cfg->threads : 2 * (size_t)(cores > 0 ? cores : 1);

    h2o_globalconf_t *gc = &srv->globalconf;
    h2o_config_init(gc);
    /* No version banner; h2o sends no Server header when the name is empty. */
    gc->server_name = h2o_iovec_init(H2O_STRLIT(""));
    /* h2o's own limit answers with a plain-text 413 (HTTP/1.1) or a stream reset (HTTP/2); ours answers JSON.
     * Bodies between 64 KiB and this cap get the JSON 413, bigger ones h2o's. */
    gc->max_request_entity_size = 1024 * 1024;
    gc->http2.idle_timeout = 60000;
    h2o_hostconf_t *host = h2o_config_register_host(gc, h2o_iovec_init(H2O_STRLIT("default")), 65535);

    if (cfg->access_log != NULL && cfg->access_log[0] != '\0') {
        /* h2o's default: Apache combined. */
        const char *fmt = cfg->access_log_format != NULL
                              ? cfg->access_log_format
                              : "%h %l %u %t \"%r\" %s %b \"%{Referer}i\" \"%{User-agent}i\"";
        char e[256] = "";
        if ((srv->access_log = h2o_logconf_compile(fmt, H2O_LOGCONF_ESCAPE_APACHE, e)) == NULL) {
            snprintf(errbuf, errlen, "access_log_format: %s", e);
            goto Error;
        }
        if (strcmp(cfg->access_log, "-") == 0) {
            srv->access_log_fd = STDOUT_FILENO;
        } else if ((srv->access_log_fd = core_log_file_open(cfg->access_log, 0644, e, sizeof(e))) < 0) {
            snprintf(errbuf, errlen, "access_log %s", e);
            goto Error;
        }
    }
    /* Before any worker: the handlers read the asset table without locks, and a broken widget file is better
     * refused here than served. */
    if (http_assets_init(errbuf, errlen) != 0)
        goto Error;
    if (cfg->static_dir != NULL) {
        h2o_pathconf_t *pc = h2o_config_register_path(host, "/static", 0);
        h2o_file_register(pc, cfg->static_dir, NULL, NULL, H2O_FILE_FLAG_SEND_COMPRESSED);
        decorate_path(srv, pc);
    }
    h2o_pathconf_t *pc = h2o_config_register_path(host, "/", 0);
    http_route_register(pc, srv);
    h2o_compress_args_t gz = {.min_size = 1024, .gzip = {.quality = 1}, .brotli = {.quality = -1}};
    h2o_compress_register(pc, &gz);
    decorate_path(srv, pc);

    for (size_t l = 0; l < cfg->num_listen; ++l)
        if (cfg->listen[l].tls_cert != NULL && (srv->ssl[l] = make_ssl_ctx(&cfg->listen[l], errbuf, errlen)) == NULL)
            goto Error;
    srv->fds = malloc(sizeof(int) * srv->num_workers * cfg->num_listen);
    if (srv->fds == NULL)
        abort();
    for (size_t i = 0; i < srv->num_workers * cfg->num_listen; ++i)
        srv->fds[i] = -1;
    for (size_t w = 0; w < srv->num_workers; ++w)
        for (size_t l = 0; l < cfg->num_listen; ++l)
            if ((srv->fds[w * cfg->num_listen + l] = open_listener(&cfg->listen[l], errbuf, errlen)) < 0)
                goto Error;
    srv->workers = calloc(srv->num_workers, sizeof(*srv->workers));
    if (srv->workers == NULL)
        abort();
    *out = srv;
    return 0;
Error:
    http_server_destroy(srv);
    return CORE_ERR_INVALID;
}

size_t http_server_num_workers(http_server_t *srv)
{
    return srv->num_workers;
}

static void on_conn_close(void *data)
{
    struct st_http_worker_t *w = data;
    --w->num_conns;
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    struct st_listener_t *l = listener->data;
    if (err != NULL)
        return;
    /* Bounded so one busy listener cannot starve the loop. */
    for (int i = 0; i < 16; ++i) {
        h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
        if (sock == NULL)
            break;
        ++l->worker->num_conns;
        sock->on_close.cb = on_conn_close;
        sock->on_close.data = l->worker;
        h2o_accept(&l->accept_ctx, sock);
    }
}

/* h2o_context_dispose asserts that none of the context's timeouts still holds an entry; shutdown itself links a few
 * (GOAWAY follow-ups, deferred closes), so the loop runs until they have fired. */
static bool context_timeouts_idle(h2o_context_t *ctx)
{
    h2o_timeout_t *all[] = {&ctx->zero_timeout,
                            &ctx->one_sec_timeout,
                            &ctx->hundred_ms_timeout,
                            &ctx->handshake_timeout,
                            &ctx->http1.req_timeout,
                            &ctx->http2.idle_timeout,
                            &ctx->http2.graceful_shutdown_timeout};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); ++i)
        if (!h2o_linklist_is_empty(&all[i]->_entries))
            return false;
    return true;
}

void http_server_run_worker(http_server_t *srv, size_t idx)
{
    const core_config_t *cfg = srv->cfg;
    struct st_http_worker_t *w = &srv->workers[idx];
    w->srv = srv;
    w->loop = h2o_evloop_create();
    h2o_context_init(&w->ctx, w->loop, &srv->globalconf);
    api_work_attach(&w->env, &w->ctx);
    w->env.cfg = cfg;
    w->env.secret = srv->secret;
    w->env.secret_len = srv->secret_len;
    w->env.store = store_create(w->loop, cfg, srv->target);
    w->env.pages = api_pagecache_create(4 * 1024 * 1024);

    for (size_t l = 0; l < cfg->num_listen; ++l) {
        struct st_listener_t *li = &w->listeners[l];
        li->worker = w;
        li->accept_ctx.ctx = &w->ctx;
        li->accept_ctx.hosts = srv->globalconf.hosts;
        li->accept_ctx.ssl_ctx = srv->ssl[l];
        li->sock = h2o_evloop_socket_create(w->loop, srv->fds[idx * cfg->num_listen + l], H2O_SOCKET_FLAG_DONT_READ);
        srv->fds[idx * cfg->num_listen + l] = -1; /* the socket owns it now */
        li->sock->data = li;
        h2o_socket_read_start(li->sock, on_accept);
    }

    while (!atomic_load(&srv->stop))
        h2o_evloop_run(w->loop, 100);

    for (size_t l = 0; l < cfg->num_listen; ++l) {
        h2o_socket_read_stop(w->listeners[l].sock);
        h2o_socket_close(w->listeners[l].sock);
    }
    h2o_context_request_shutdown(&w->ctx);
    uint64_t start = core_now_ms();
    while (w->num_conns > 0 && core_now_ms() - start < DRAIN_MS)
        h2o_evloop_run(w->loop, 50);
    /* Hashing jobs come back before the store closes (a result may still lead to a Redis call for a live request).
     * Detaching makes later submits answer 503; a worker whose jobs do not come back in time keeps its receiver and
     * its context, since a late result would otherwise reach freed memory. */
    start = core_now_ms();
    while (api_work_outstanding(&w->env) > 0 && core_now_ms() - start < WORK_DRAIN_MS)
        h2o_evloop_run(w->loop, 10);
    api_work_detach(&w->env); /* a no-op while jobs are outstanding */
    store_close(w->env.store);
    start = core_now_ms();
    while (!store_is_closed(w->env.store) && core_now_ms() - start < STORE_CLOSE_MS)
        h2o_evloop_run(w->loop, 10);
    start = core_now_ms();
    while (!context_timeouts_idle(&w->ctx) && core_now_ms() - start < 1200)
        h2o_evloop_run(w->loop, 10);
    api_work_detach(&w->env); /* late jobs may have come back meanwhile */
    size_t work_left = api_work_outstanding(&w->env);
    if (w->num_conns == 0 && w->env.work == NULL && store_is_closed(w->env.store) && context_timeouts_idle(&w->ctx)) {
        /* A clean stop frees everything; otherwise the process is about to exit and the memory stays reachable. */
        store_destroy(w->env.store);
        w->env.store = NULL;
        api_pagecache_destroy(w->env.pages);
        w->env.pages = NULL;
        h2o_context_dispose(&w->ctx);
        h2o_evloop_run(w->loop, 0);
        h2o_evloop_destroy(w->loop);
        w->loop = NULL;
    } else {
        core_log_warn("worker %zu: stopped with %zu connection(s) still open, %zu hashing job(s) outstanding", idx,
                      w->num_conns, work_left);
    }
}

void http_server_request_stop(http_server_t *srv)
{
    atomic_store(&srv->stop, 1);
}

void http_server_destroy(http_server_t *srv)
{
    if (srv == NULL)
        return;
    if (srv->fds != NULL && srv->cfg != NULL)
        for (size_t i = 0; i < srv->num_workers * srv->cfg->num_listen; ++i)
            if (srv->fds[i] >= 0)
                close(srv->fds[i]);
    bool clean = true;
    for (size_t w = 0; srv->workers != NULL && w < srv->num_workers; ++w)
        clean &= srv->workers[w].loop == NULL;
    if (!clean)
        return; /* a worker still holds live connections; leave its memory alone until exit */
    for (size_t l = 0; l < CORE_CONFIG_MAX_LISTEN; ++l)
        if (srv->ssl[l] != NULL)
            SSL_CTX_free(srv->ssl[l]);
    h2o_config_dispose(&srv->globalconf);
    http_assets_dispose();
    /* The loggers only borrow the compiled format; the file is closed by core_log_close_files at exit. */
    if (srv->access_log != NULL)
        h2o_logconf_dispose(srv->access_log);
    free(srv->fds);
    free(srv->workers);
    free(srv);
}
