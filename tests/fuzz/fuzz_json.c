/* libFuzzer target: the JSON body parser and field readers, as every POST handler uses them. Invariants: no crash,
 * no leak, a successful parse yields an object whose string fields respect the requested bounds, and the
 * hand-written writer (core_json_dump_*) gives exactly jansson's compact bytes for it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/core_error.h"
#include "core/core_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile size_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const keys[] = {"site", "url", "network", "body", "n", NULL};
    core_json_err_t err;
    json_t *obj;
    if (core_json_parse_object((const char *)data, size, &obj, &err) != 0) {
        if (err.code != CORE_ERR_BAD_JSON)
            abort();
        return 0;
    }
    if (!json_is_object(obj))
        abort();
    const char *s;
    size_t len;
    if (core_json_get_string(obj, "url", false, 16, &s, &len, &err) == 0 && s != NULL) {
        if (core_utf8_length(s, len) > 16 || strlen(s) != len)
            abort();
        sink += len;
    }
    long long n;
    if (core_json_get_int(obj, "n", false, -5, 5, 0, &n, &err) == 0 && (n < -5 || n > 5))
        abort();
    bool b;
    core_json_get_bool(obj, "flag", false, false, &b, &err);
    sink += (size_t)core_json_only_keys(obj, keys, &err);
    size_t want_n = json_dumpb(obj, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
    size_t got_n = core_json_dump_size(obj);
    char *want = malloc(want_n + 1), *got = malloc(got_n + 1);
    if (want == NULL || got == NULL || got_n != want_n ||
        json_dumpb(obj, want, want_n, JSON_COMPACT | JSON_ENCODE_ANY) != want_n ||
        core_json_dump_write(obj, got) != got_n || memcmp(want, got, got_n) != 0)
        abort();
    free(want);
    free(got);
    json_decref(obj);
    return 0;
}
