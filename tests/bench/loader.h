/* What the two comment loaders (post_flood.c over HTTP/1.1, post_h2.c over h2c) share: the clock, a request body
 * from the template with "{n}" replaced by the request's number, and the one-line report both print. Bench tools,
 * not part of parleyd. */
#ifndef BENCH_LOADER_H
#define BENCH_LOADER_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A TCP connection to HOST:PORT with Nagle off (the loaders write whole requests), or -1 after perror. */
static int loader_connect(const char *host, int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || inet_pton(AF_INET, host, &sa.sin_addr) != 1 ||
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0 ||
        connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        perror("connect");
        return -1;
    }
    return fd;
}

/* TPL with every "{n}" replaced by N, into BODY (room CAP, not NUL-terminated); returns the length. */
static size_t body_of(const char *tpl, long n, char *body, size_t cap)
{
    char num[24];
    size_t bl = 0, nl = (size_t)snprintf(num, sizeof(num), "%ld", n);
    for (const char *p = tpl; *p != '\0' && bl + nl < cap;) {
        if (strncmp(p, "{n}", 3) == 0) {
            memcpy(body + bl, num, nl);
            bl += nl;
            p += 3;
        } else {
            body[bl++] = *p++;
        }
    }
    return bl;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* "rps=… p50_ms=… p99_ms=… done=… codes={…}": DONE requests in SECS; LAT holds KEPT latencies (ms, sorted here);
 * CODES counts the answers by status (600 entries). */
static void report(long done, double secs, double *lat, long kept, const long *codes)
{
    qsort(lat, (size_t)kept, sizeof(double), cmp_double);
    printf("rps=%.0f p50_ms=%.2f p99_ms=%.2f done=%ld codes={", (double)done / secs, kept ? lat[kept / 2] : 0.0,
           kept ? lat[(long)((double)kept * 0.99)] : 0.0, done);
    const char *sep = "";
    for (int s = 0; s < 600; ++s)
        if (codes[s] != 0) {
            printf("%s\"%d\":%ld", sep, s, codes[s]);
            sep = ",";
        }
    printf("}\n");
}

#endif
