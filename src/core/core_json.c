#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "core/core_error.h"
#include "core/core_json.h"

#define MAX_DEPTH 32

static int fail(core_json_err_t *err, int code, const char *field, const char *fmt, const char *detail, long long n)
{
    err->code = code;
    err->field = field;
    /* The formats below are fixed strings chosen in this file; "%s"/"%lld" select which argument is used. A long
     * detail (jansson's error text is up to 160 bytes) is cut to fit: the message is for humans, not parsed. */
    int w;
    if (detail != NULL)
        w = snprintf(err->message, sizeof(err->message), "%s%s", fmt, detail);
    else if (n >= 0)
        w = snprintf(err->message, sizeof(err->message), "%s%lld", fmt, n);
    else
        w = snprintf(err->message, sizeof(err->message), "%s", fmt);
    if (w < 0)
        err->message[0] = '\0';
    return code;
}

static int depth_of(json_t *v, int depth)
{
    if (depth > MAX_DEPTH)
        return depth;
    int deepest = depth;
    if (json_is_object(v)) {
        const char *k;
        json_t *c;
        json_object_foreach(v, k, c)
        {
            int d = depth_of(c, depth + 1);
            if (d > deepest)
                deepest = d;
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *c;
        json_array_foreach(v, i, c)
        {
            int d = depth_of(c, depth + 1);
            if (d > deepest)
                deepest = d;
        }
    }
    return deepest;
}

int core_json_parse_object(const char *body, size_t len, json_t **out, core_json_err_t *err)
{
    json_error_t jerr;
    *out = NULL;
    if (body == NULL || len == 0)
        return fail(err, CORE_ERR_BAD_JSON, NULL, "The request body is empty; send a JSON object.", NULL, -1);
    /* jansson bounds its own recursion (2048 levels); we refuse anything deeper than MAX_DEPTH afterwards. */
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return fail(err, CORE_ERR_BAD_JSON, NULL, "The request body is not valid JSON: ", jerr.text, -1);
    if (!json_is_object(root)) {
        json_decref(root);
        return fail(err, CORE_ERR_BAD_JSON, NULL, "The request body must be a JSON object.", NULL, -1);
    }
    if (depth_of(root, 1) > MAX_DEPTH) {
        json_decref(root);
        return fail(err, CORE_ERR_BAD_JSON, NULL, "The request body is nested too deeply.", NULL, -1);
    }
    *out = root;
    return 0;
}

size_t core_utf8_length(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; ++i)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            ++n;
    return n;
}

int core_json_get_string(json_t *obj, const char *key, bool required, size_t max_chars, const char **out, size_t *len,
                         core_json_err_t *err)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (len != NULL)
        *len = 0;
    if (v == NULL || json_is_null(v)) {
        if (required)
            return fail(err, CORE_ERR_INVALID, key, "This field is required.", NULL, -1);
        return 0;
    }
    if (!json_is_string(v))
        return fail(err, CORE_ERR_INVALID, key, "This field must be a string.", NULL, -1);
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (max_chars != 0 && core_utf8_length(s, n) > max_chars)
        return fail(err, CORE_ERR_INVALID, key, "This field is too long; the most allowed is ", NULL,
                    (long long)max_chars);
    *out = s;
    if (len != NULL)
        *len = n;
    return 0;
}

int core_json_get_int(json_t *obj, const char *key, bool required, long long min, long long max, long long def,
                      long long *out, core_json_err_t *err)
{
    json_t *v = json_object_get(obj, key);
    *out = def;
    if (v == NULL || json_is_null(v)) {
        if (required)
            return fail(err, CORE_ERR_INVALID, key, "This field is required.", NULL, -1);
        return 0;
    }
    if (!json_is_integer(v))
        return fail(err, CORE_ERR_INVALID, key, "This field must be an integer.", NULL, -1);
    long long n = json_integer_value(v);
    if (n < min || n > max) {
        char range[64];
        snprintf(range, sizeof(range), "%lld to %lld.", min, max);
        return fail(err, CORE_ERR_INVALID, key, "This field must be an integer from ", range, -1);
    }
    *out = n;
    return 0;
}

int core_json_get_bool(json_t *obj, const char *key, bool required, bool def, bool *out, core_json_err_t *err)
{
    json_t *v = json_object_get(obj, key);
    *out = def;
    if (v == NULL || json_is_null(v)) {
        if (required)
            return fail(err, CORE_ERR_INVALID, key, "This field is required.", NULL, -1);
        return 0;
    }
    if (!json_is_boolean(v))
        return fail(err, CORE_ERR_INVALID, key, "This field must be true or false.", NULL, -1);
    *out = json_is_true(v);
    return 0;
}

int core_json_only_keys(json_t *obj, const char *const *allowed, core_json_err_t *err)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v)
    {
        bool known = false;
        for (size_t i = 0; allowed[i] != NULL && !known; ++i)
            known = strcmp(allowed[i], k) == 0;
        if (!known) {
            /* Point the field at the table entry would be wrong (it is unknown); borrow the key from OBJ, which
             * outlives the error reply. */
            return fail(err, CORE_ERR_INVALID, k, "This field is not recognised.", NULL, -1);
        }
    }
    return 0;
}

/* --- output: jansson's compact form, written by hand --- */

/* jansson's json_dumpb calls a callback per character run and checks UTF-8 per code point; callgrind measured 60
 * instructions per byte of a stored comment, done twice (size, then write). Strings held by jansson are already
 * valid UTF-8, so writing is byte work: escape '"', '\\' and the controls below 0x20 exactly as jansson does
 * (\b \f \n \r \t, else \u00XX in upper-case hex), copy the rest. */
static size_t real_text(double d, char buf[32])
{
    int n = snprintf(buf, 32, "%.17g", d);
    if (n < 0 || n >= 32)
        return 0;
    size_t len = (size_t)n;
    if (strpbrk(buf, ".e") == NULL && strpbrk(buf, "ni") == NULL && len + 2 < 32) { /* not nan/inf */
        memcpy(buf + len, ".0", 3);
        len += 2;
    }
    char *e = strchr(buf, 'e');
    if (e != NULL) { /* "1e+20" -> "1e20", "1e-05" -> "1e-5", as jansson writes them */
        char *p = e + 1, *q = e + 1;
        if (*p == '+')
            ++p;
        else if (*p == '-')
            *q++ = *p++;
        while (*p == '0' && p[1] != '\0')
            ++p;
        memmove(q, p, strlen(p) + 1);
        len = strlen(buf);
    }
    return len;
}

/* Length of the run at S (at most N bytes) that needs no escape: no '"', no '\\', no control character. Eight
 * bytes at a time: a byte is below 0x20 when subtracting 0x20 borrows into its top bit while its own top bit is
 * clear, and equal to C when its XOR with C is below 1 by the same test; the first such byte ends the run. Most of a
 * comment's bytes are in long plain runs, and this loop was a tenth of a comment write's instructions bytewise. */
static size_t plain_run(const char *s, size_t n)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, s + i, 8);
        uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
        uint64_t hit = ((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((b - ones) & ~b);
        if ((hit & highs) != 0)
            break;
    }
    for (; i < n; ++i) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\' || c < 0x20)
            break;
    }
    return i;
}

static size_t string_size(const char *s, size_t n)
{
    size_t out = n + 2;
    for (size_t i = plain_run(s, n); i < n; i += 1 + plain_run(s + i + 1, n - i - 1)) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            out += 1;
        else
            out += (c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t') ? 1 : 5;
    }
    return out;
}

static size_t string_write(const char *s, size_t n, char *out)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0, run = 0;
    out[o++] = '"';
    for (size_t i = plain_run(s, n); i < n; i += 1 + plain_run(s + i + 1, n - i - 1)) {
        unsigned char c = (unsigned char)s[i];
        memcpy(out + o, s + run, i - run);
        o += i - run;
        run = i + 1;
        out[o++] = '\\';
        switch (c) {
        case '"':
        case '\\':
            out[o++] = (char)c;
            break;
        case '\b':
            out[o++] = 'b';
            break;
        case '\f':
            out[o++] = 'f';
            break;
        case '\n':
            out[o++] = 'n';
            break;
        case '\r':
            out[o++] = 'r';
            break;
        case '\t':
            out[o++] = 't';
            break;
        default:
            memcpy(out + o, "u00", 3);
            out[o + 3] = hex[c >> 4];
            out[o + 4] = hex[c & 15];
            o += 5;
        }
    }
    memcpy(out + o, s + run, n - run);
    o += n - run;
    out[o++] = '"';
    return o;
}

size_t core_u64_text(uint64_t v, char *out)
{
    char rev[20];
    size_t n = 0, o = 0;
    do
        rev[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    while (n > 0)
        out[o++] = rev[--n];
    return o;
}

size_t core_json_string_size(const char *s, size_t n)
{
    return string_size(s, n);
}

size_t core_json_string_write(const char *s, size_t n, char *out)
{
    return string_write(s, n, out);
}

/* OUT NULL: only count. */
static size_t dump(const json_t *v, char *out)
{
    char buf[32];
    size_t o = 0;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *k;
        json_t *c;
        bool first = true;
        if (out != NULL)
            out[o] = '{';
        ++o;
        json_object_foreach((json_t *)v, k, c)
        {
            if (!first) {
                if (out != NULL)
                    out[o] = ',';
                ++o;
            }
            first = false;
            size_t kl = strlen(k);
            o += out != NULL ? string_write(k, kl, out + o) : string_size(k, kl);
            if (out != NULL)
                out[o] = ':';
            ++o;
            o += dump(c, out != NULL ? out + o : NULL);
        }
        if (out != NULL)
            out[o] = '}';
        return o + 1;
    }
    case JSON_ARRAY: {
        if (out != NULL)
            out[o] = '[';
        ++o;
        for (size_t i = 0, n = json_array_size(v); i < n; ++i) {
            if (i != 0) {
                if (out != NULL)
                    out[o] = ',';
                ++o;
            }
            o += dump(json_array_get(v, i), out != NULL ? out + o : NULL);
        }
        if (out != NULL)
            out[o] = ']';
        return o + 1;
    }
    case JSON_STRING:
        return out != NULL ? string_write(json_string_value(v), json_string_length(v), out)
                           : string_size(json_string_value(v), json_string_length(v));
    case JSON_INTEGER: { /* by hand: snprintf cost 700 instructions a number, a comment has a dozen */
        json_int_t i = json_integer_value(v);
        if (i < 0)
            buf[o++] = '-';
        o += core_u64_text(i < 0 ? 0ULL - (unsigned long long)i : (unsigned long long)i, buf + o);
        break;
    }
    case JSON_REAL:
        o = real_text(json_real_value(v), buf);
        break;
    case JSON_TRUE:
        memcpy(buf, "true", o = 4);
        break;
    case JSON_FALSE:
        memcpy(buf, "false", o = 5);
        break;
    case JSON_NULL:
        memcpy(buf, "null", o = 4);
        break;
    }
    if (out != NULL)
        memcpy(out, buf, o);
    return o;
}

size_t core_json_dump_size(const json_t *v)
{
    return dump(v, NULL);
}

size_t core_json_dump_write(const json_t *v, char *out)
{
    return dump(v, out);
}
