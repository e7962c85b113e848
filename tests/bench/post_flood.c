/* A small HTTP/1.1 load generator for POSTs whose bodies must differ (comments: the same body twice is refused as a
 * duplicate, so h2load's fixed -d body cannot drive them), light enough that the loader does not eat the CPU it
 * measures (node's http2 client costs about as much per request as parleyd itself on a 2-core machine).
 * CONNS keep-alive connections each keep DEPTH requests pipelined; every "{n}" in TEMPLATE becomes the request's
 * number. Prints one line: "rps=… p50_ms=… p99_ms=… done=… codes={…}"; SIGTERM stops it early
 * and prints that line for what was done (a background flood).
 *   post_flood HOST PORT PATH TEMPLATE TOTAL [CONNS=64] [DEPTH=4]
 * Bench tool, not part of parleyd; built by tests/bench/run with the system compiler. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "loader.h"

#define MAX_DEPTH 64

struct conn {
    int fd;
    char in[65536];
    size_t in_len;
    double sent_at[MAX_DEPTH]; /* send times of the requests in flight, oldest first */
    int inflight;
};

static const char *host, *path, *tpl;
static long total, next_n, done_n, lat_cap; /* latencies kept: the last LAT_CAP */
static int depth;
static long codes[600];
static double *lat;
static volatile sig_atomic_t stop;

static void on_term(int sig)
{
    (void)sig;
    stop = 1;
}

/* Appends request number N to BUF (room CAP); returns its length. */
static size_t build(char *buf, size_t cap, long n)
{
    char body[8192];
    size_t bl = body_of(tpl, n, body, sizeof(body));
    int hl = snprintf(buf, cap,
                      "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nUser-Agent: Mozilla/5.0 "
                      "(bench)\r\nContent-Length: %zu\r\n\r\n",
                      path, host, bl);
    if (hl < 0 || (size_t)hl + bl > cap)
        return 0;
    memcpy(buf + hl, body, bl);
    return (size_t)hl + bl;
}

static void fill(struct conn *c)
{
    char buf[65536];
    size_t len = 0;
    while (c->inflight < depth && next_n < total) {
        size_t n = build(buf + len, sizeof(buf) - len, next_n);
        if (n == 0)
            break;
        len += n;
        c->sent_at[c->inflight++] = now_ms();
        ++next_n;
    }
    for (size_t off = 0; off < len;) {
        ssize_t w = write(c->fd, buf + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            perror("write");
            exit(1);
        }
        off += (size_t)w;
    }
}

/* Consumes complete responses from c->in; returns how many. */
static int parse(struct conn *c)
{
    int got = 0;
    for (;;) {
        char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
        if (end == NULL)
            break;
        size_t head = (size_t)(end - c->in) + 4, clen = 0;
        for (size_t i = 0; i + 18 < head; ++i)
            if (c->in[i] == '\r' && strncasecmp(c->in + i, "\r\ncontent-length: ", 18) == 0) {
                clen = strtoul(c->in + i + 18, NULL, 10);
                break;
            }
        if (c->in_len < head + clen)
            break;
        int status = (int)strtol(c->in + 9, NULL, 10);
        if (status >= 0 && status < 600)
            ++codes[status];
        lat[done_n++ % lat_cap] = now_ms() - c->sent_at[0];
        memmove(c->sent_at, c->sent_at + 1, sizeof(double) * (size_t)(--c->inflight));
        memmove(c->in, c->in + head + clen, c->in_len - head - clen);
        c->in_len -= head + clen;
        ++got;
    }
    return got;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: post_flood HOST PORT PATH TEMPLATE TOTAL [CONNS] [DEPTH]\n");
        return 2;
    }
    host = argv[1];
    int port = (int)strtol(argv[2], NULL, 10), nconns = argc > 6 ? (int)strtol(argv[6], NULL, 10) : 64;
    path = argv[3];
    tpl = argv[4];
    total = strtol(argv[5], NULL, 10);
    depth = argc > 7 ? (int)strtol(argv[7], NULL, 10) : 4;
    if (depth < 1 || depth > MAX_DEPTH || nconns < 1 || total < 1)
        return 2;
    lat_cap = total < 1000000 ? total : 1000000;
    lat = calloc((size_t)lat_cap, sizeof(double));
    struct conn *conns = calloc((size_t)nconns, sizeof(*conns));
    int ep = epoll_create1(0);
    signal(SIGTERM, on_term);
    double t0 = now_ms();
    for (int i = 0; i < nconns; ++i) {
        struct conn *c = &conns[i];
        if ((c->fd = loader_connect(host, port)) < 0)
            return 1;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
        fill(c);
    }
    while (done_n < total && !stop) {
        struct epoll_event evs[64];
        int n = epoll_wait(ep, evs, 64, 10000);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            fprintf(stderr, "post_flood: stalled at %ld of %ld\n", done_n, total);
            break;
        }
        for (int i = 0; i < n; ++i) {
            struct conn *c = evs[i].data.ptr;
            ssize_t r = read(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len);
            if (r <= 0) {
                fprintf(stderr, "post_flood: connection closed\n");
                return 1;
            }
            c->in_len += (size_t)r;
            if (parse(c) > 0)
                fill(c);
        }
    }
    double secs = (now_ms() - t0) / 1e3;
    long kept = done_n < lat_cap ? done_n : lat_cap;
    report(done_n, secs, lat, kept, codes);
    return 0;
}
