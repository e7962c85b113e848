/* libFuzzer target for core_url_canonicalize and core_url_origin_host.
 *
 * Besides "no crash, no sanitizer report", it checks the properties the rest of Parley relies on when it uses the
 * canonical form as a Redis key: it starts with "https://", its length field is right, its host field is the
 * authority that follows "https://", and canonicalising it again gives the same bytes (a fixed point). Any
 * violation aborts, which libFuzzer reports as a crash with the input saved. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/core_url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Written on every run so the compiler cannot drop the calls or the results. */
static volatile size_t sink;

static void check(const core_url_t *u)
{
    if (u->canonical_len != strlen(u->canonical) || u->canonical_len > CORE_URL_MAX_INPUT)
        abort();
    if (u->canonical_len < 9 || memcmp(u->canonical, "https://", 8) != 0)
        abort();
    if (u->host_len != strlen(u->host) || u->host_len == 0 || 8 + u->host_len >= u->canonical_len ||
        memcmp(u->canonical + 8, u->host, u->host_len) != 0 || u->canonical[8 + u->host_len] != '/')
        abort();

    core_url_t again;
    if (core_url_canonicalize(u->canonical, u->canonical_len, &again) != 0)
        abort();
    if (again.canonical_len != u->canonical_len || memcmp(again.canonical, u->canonical, u->canonical_len) != 0)
        abort();
    if (again.host_len != u->host_len || memcmp(again.host, u->host, u->host_len) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A heap copy of exactly SIZE bytes, without a NUL, so AddressSanitizer catches any read past LEN. */
    char *in = malloc(size != 0 ? size : 1);
    if (in == NULL)
        abort();
    if (size != 0)
        memcpy(in, data, size);

    core_url_t u;
    if (core_url_canonicalize(in, size, &u) == 0) {
        check(&u);
        sink += u.canonical_len;
    } else if (u.canonical_len != 0 || u.canonical[0] != '\0') {
        abort();
    }

    /* An origin that is accepted must give the host that the same text gets as a URL. */
    char host[sizeof(u.host)];
    size_t host_len = 0;
    if (core_url_origin_host(in, size, host, &host_len) == 0) {
        core_url_t as_url;
        if (host_len != strlen(host) || core_url_canonicalize(in, size, &as_url) != 0 || strcmp(host, as_url.host) != 0)
            abort();
        sink += host_len;
    }

    free(in);
    return 0;
}
