#ifndef CORE_JSON_H
#define CORE_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <jansson.h>

/* JSON input helpers over jansson: parse a request body, then read typed fields with bounds. Each failure fills a
 * core_json_err_t that the API layer turns into {"error":{"code","message","field"}}. */

typedef struct st_core_json_err_t {
    int code;          /**< CORE_ERR_BAD_JSON or CORE_ERR_INVALID */
    const char *field; /**< the offending key (static or borrowed from the caller), NULL for the whole body */
    char message[160]; /**< human-readable reason */
} core_json_err_t;

/**
 * Parses BODY as one JSON object. Duplicate keys, NUL bytes in strings, nesting deeper than 32 and non-object
 * roots are refused. Returns 0 and a new reference in *out (caller json_decref's), or CORE_ERR_BAD_JSON with ERR.
 */
int core_json_parse_object(const char *body, size_t len, json_t **out, core_json_err_t *err);

/**
 * Reads string KEY of OBJ. Absent or null: *out = NULL and 0 unless REQUIRED (then CORE_ERR_INVALID "is required").
 * Not a string, or more than MAX_CHARS code points (0 = no limit): CORE_ERR_INVALID. *out is borrowed from OBJ.
 */
int core_json_get_string(json_t *obj, const char *key, bool required, size_t max_chars, const char **out, size_t *len,
                         core_json_err_t *err);
/** Reads integer KEY within [MIN, MAX]; absent: *out = DEF unless REQUIRED. */
int core_json_get_int(json_t *obj, const char *key, bool required, long long min, long long max, long long def,
                      long long *out, core_json_err_t *err);
/** Reads boolean KEY; absent: *out = DEF unless REQUIRED. */
int core_json_get_bool(json_t *obj, const char *key, bool required, bool def, bool *out, core_json_err_t *err);
/** Refuses any key of OBJ not in the NULL-terminated list ALLOWED (CORE_ERR_INVALID naming the key). */
int core_json_only_keys(json_t *obj, const char *const *allowed, core_json_err_t *err);
/** Number of UTF-8 code points in S (LEN bytes, assumed valid UTF-8). */
size_t core_utf8_length(const char *s, size_t len);

/**
 * Compact JSON text of V (any value), byte for byte what json_dumpb(V, JSON_COMPACT | JSON_ENCODE_ANY) writes
 * (keys in insertion order, raw UTF-8, the same escapes), at a tenth of its cost. Two steps so that the caller can
 * allocate exactly: core_json_dump_size gives the length, core_json_dump_write writes that many bytes to OUT (no
 * NUL) and returns the length again. Nesting depth is the caller's business (parsed input is limited to 32).
 */
size_t core_json_dump_size(const json_t *v);
size_t core_json_dump_write(const json_t *v, char *out);
/** The JSON string literal (quotes included) of N bytes of valid UTF-8 at S, escaped as core_json_dump_write escapes
 * strings: its length, and writing it to OUT (returns the length again). For writers that need no json_t. */
size_t core_json_string_size(const char *s, size_t n);
size_t core_json_string_write(const char *s, size_t n, char *out);
/** V in decimal at OUT (at most 20 bytes, no NUL); returns the length. Numbers on hot paths (JSON, RESP, ids) are
 * written with it: snprintf cost about 700 instructions a number. */
size_t core_u64_text(uint64_t v, char *out);

#endif
