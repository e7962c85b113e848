/* The HTTP/2 twin of post_flood.c: POSTs whose bodies differ, over h2c (prior knowledge) with libnghttp2, the way
 * h2load drives every other bench case (-c 50 -m 10) but with "{n}" in TEMPLATE replaced by each request's number.
 * CONNS connections each keep STREAMS requests in flight. Prints one line like post_flood:
 * "rps=… p50_ms=… p99_ms=… done=… codes={…}".
 *   post_h2 HOST PORT PATH TEMPLATE TOTAL [CONNS=50] [STREAMS=10]
 * Bench tool, not part of parleyd; built by tests/bench/run with the system compiler (-lnghttp2). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <nghttp2/nghttp2.h>
#include "loader.h"

#define MAX_CONNS 512

struct stream {
    char body[8192];
    size_t len, off;
    double sent_at;
    int status;
};

struct conn {
    int fd;
    nghttp2_session *s;
    int active;
};

static const char *host, *path, *tpl;
static char authority[300];
static long total, next_n, done_n;
static int streams_per_conn;
static long codes[600];
static double *lat;

static void write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
            struct pollfd pfd = {fd, POLLOUT, 0};
            poll(&pfd, 1, 1000);
            continue;
        }
        if (w <= 0) {
            perror("write");
            exit(1);
        }
        p += w;
        n -= (size_t)w;
    }
}

static void flush(struct conn *c)
{
    const uint8_t *data;
    ssize_t n;
    while ((n = nghttp2_session_mem_send(c->s, &data)) > 0)
        write_all(c->fd, data, (size_t)n);
    if (n < 0) {
        fprintf(stderr, "nghttp2_session_mem_send: %s\n", nghttp2_strerror((int)n));
        exit(1);
    }
}

static ssize_t read_body(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                         nghttp2_data_source *src, void *user)
{
    (void)s, (void)id, (void)user;
    struct stream *st = src->ptr;
    size_t n = st->len - st->off < len ? st->len - st->off : len;
    memcpy(buf, st->body + st->off, n);
    st->off += n;
    if (st->off == st->len)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

static void submit(struct conn *c)
{
    struct stream *st = calloc(1, sizeof(*st));
    if (st == NULL)
        abort();
    st->len = body_of(tpl, next_n++, st->body, sizeof(st->body));
    char clen[24];
    int cl = snprintf(clen, sizeof(clen), "%zu", st->len);
#define NV(k, v, vl) {(uint8_t *)(k), (uint8_t *)(v), sizeof(k) - 1, (vl), NGHTTP2_NV_FLAG_NONE}
    nghttp2_nv nva[] = {
        NV(":method", "POST", 4),
        NV(":scheme", "http", 4),
        NV(":authority", authority, strlen(authority)),
        NV(":path", path, strlen(path)),
        NV("content-type", "application/json", 16),
        NV("content-length", clen, (size_t)cl),
        NV("user-agent", "Mozilla/5.0 (bench)", 19),
    };
#undef NV
    nghttp2_data_provider prd = {.source.ptr = st, .read_callback = read_body};
    st->sent_at = now_ms();
    if (nghttp2_submit_request(c->s, NULL, nva, sizeof(nva) / sizeof(nva[0]), &prd, st) < 0)
        abort();
    c->active++;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nl, const uint8_t *value,
                     size_t vl, uint8_t flags, void *user)
{
    (void)flags, (void)user;
    if (f->hd.type == NGHTTP2_HEADERS && nl == 7 && memcmp(name, ":status", 7) == 0) {
        struct stream *st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
        if (st != NULL && vl == 3)
            st->status = (value[0] - '0') * 100 + (value[1] - '0') * 10 + (value[2] - '0');
    }
    return 0;
}

static int on_close(nghttp2_session *s, int32_t id, uint32_t err, void *user)
{
    (void)err;
    struct conn *c = user;
    struct stream *st = nghttp2_session_get_stream_user_data(s, id);
    if (st == NULL)
        return 0;
    lat[done_n] = now_ms() - st->sent_at;
    codes[st->status > 0 && st->status < 600 ? st->status : 0]++;
    done_n++;
    c->active--;
    free(st);
    if (next_n < total)
        submit(c);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: post_h2 HOST PORT PATH TEMPLATE TOTAL [CONNS=50] [STREAMS=10]\n");
        return 2;
    }
    host = argv[1];
    int port = atoi(argv[2]);
    path = argv[3];
    tpl = argv[4];
    total = atol(argv[5]);
    int nconns = argc > 6 ? atoi(argv[6]) : 50;
    streams_per_conn = argc > 7 ? atoi(argv[7]) : 10;
    if (nconns < 1 || nconns > MAX_CONNS || streams_per_conn < 1 || total < 1)
        return 2;
    snprintf(authority, sizeof(authority), "%s:%d", host, port);
    lat = calloc((size_t)total, sizeof(double));
    static struct conn conns[MAX_CONNS];
    nghttp2_session_callbacks *cbs;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_close);
    int ep = epoll_create1(0);
    double t0 = now_ms();
    for (int i = 0; i < nconns; ++i) {
        struct conn *c = &conns[i];
        if ((c->fd = loader_connect(host, port)) < 0)
            return 1;
        nghttp2_session_client_new(&c->s, cbs, c);
        nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 1000},
                                       {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 24}};
        nghttp2_submit_settings(c->s, NGHTTP2_FLAG_NONE, iv, 2);
        for (int k = 0; k < streams_per_conn && next_n < total; ++k)
            submit(c);
        flush(c);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    }
    uint8_t buf[65536];
    while (done_n < total) {
        struct epoll_event evs[64];
        int n = epoll_wait(ep, evs, 64, 10000);
        if (n <= 0) {
            fprintf(stderr, "stalled at %ld of %ld\n", done_n, total);
            break;
        }
        for (int i = 0; i < n; ++i) {
            struct conn *c = evs[i].data.ptr;
            ssize_t r = read(c->fd, buf, sizeof(buf));
            if (r <= 0) {
                fprintf(stderr, "connection closed after %ld\n", done_n);
                return 1;
            }
            if (nghttp2_session_mem_recv(c->s, buf, (size_t)r) < 0)
                return 1;
            flush(c);
        }
    }
    double secs = (now_ms() - t0) / 1e3;
    report(done_n, secs, lat, done_n, codes);
    return 0;
}
