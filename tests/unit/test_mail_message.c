/* Message rendering: well-formed headers with CRLF everywhere, encoded-word subjects and display names that
 * decode back, quoted-printable bodies that decode back to the exact UTF-8 text, multipart boundaries, the
 * RFC 8058 pair, header injection refused or neutralised, no line over 998 octets, fresh Message-IDs; and the
 * account templates built on it (subjects, links that survive quoted-printable wrapping, no injection through a
 * user name). The decoders here are deliberately independent of src/mail so that a symmetric bug cannot hide. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "core/core_error.h"
#include "mail/mail.h"

#define T0 ((time_t)1700000000) /* Tue, 14 Nov 2023 22:13:20 UTC */

static char *render_ok(const mail_message_t *m, size_t *len)
{
    char *out = NULL;
    size_t n = 0;
    assert_int_equal(mail_message_render(m, T0, &out, &n), 0);
    assert_non_null(out);
    assert_int_equal(strlen(out), n);
    if (len != NULL)
        *len = n;
    return out;
}

static mail_message_t basic(void)
{
    return (mail_message_t){.from = "Parley <parley@localhost>",
                            .to = "alice@example.org",
                            .subject = "Verify your e-mail address",
                            .text = "Hello.\nClick the link.\n",
                            .message_id_domain = "comments.example.org"};
}

/* The header block, up to and excluding the empty line. Caller frees. */
static char *header_block(const char *msg)
{
    const char *end = strstr(msg, "\r\n\r\n");
    assert_non_null(end);
    return strndup(msg, (size_t)(end - msg) + 2);
}

static const char *body_of(const char *msg)
{
    const char *end = strstr(msg, "\r\n\r\n");
    assert_non_null(end);
    return end + 4;
}

/* Unfolded value of the first header NAME (case-sensitive, as we write it) in the header block of MSG, or NULL.
 * Unfolding removes each CRLF that precedes white space (RFC 5322 §2.2.3). Caller frees. */
static char *header(const char *msg, const char *name)
{
    char *head = header_block(msg), *ret = NULL;
    size_t nlen = strlen(name);
    for (char *line = head; *line != '\0';) {
        char *eol = strstr(line, "\r\n");
        if (strncmp(line, name, nlen) == 0 && line[nlen] == ':' && line[nlen + 1] == ' ') {
            char *v = line + nlen + 2, *e = eol;
            while (e[2] == ' ' || e[2] == '\t')
                e = strstr(e + 2, "\r\n");
            ret = malloc((size_t)(e - v) + 1);
            size_t o = 0;
            for (char *p = v; p < e; ++p) {
                if (p[0] == '\r' && p[1] == '\n') {
                    ++p;
                    continue;
                }
                ret[o++] = *p;
            }
            ret[o] = '\0';
            break;
        }
        line = eol + 2;
    }
    free(head);
    return ret;
}

static int count_lines_starting(const char *msg, const char *prefix)
{
    int n = strncmp(msg, prefix, strlen(prefix)) == 0;
    for (const char *p = strstr(msg, "\r\n"); p != NULL; p = strstr(p + 2, "\r\n"))
        n += strncmp(p + 2, prefix, strlen(prefix)) == 0;
    return n;
}

static void assert_crlf_only(const char *msg, size_t len)
{
    for (size_t i = 0; i < len; ++i) {
        if (msg[i] == '\n')
            assert_true(i > 0 && msg[i - 1] == '\r');
        if (msg[i] == '\r')
            assert_true(i + 1 < len && msg[i + 1] == '\n');
    }
    assert_true(len >= 2 && msg[len - 2] == '\r' && msg[len - 1] == '\n');
}

static size_t longest_line(const char *msg)
{
    size_t longest = 0;
    for (const char *p = msg; *p != '\0';) {
        const char *eol = strstr(p, "\r\n");
        size_t n = eol != NULL ? (size_t)(eol - p) : strlen(p);
        if (n > longest)
            longest = n;
        if (eol == NULL)
            break;
        p = eol + 2;
    }
    return longest;
}

/* ---- tiny independent decoders ----------------------------------------------------------------------------- */

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Appends the base64 decoding of IN[0..LEN) to OUT at *O; fails the test on a malformed input. */
static void b64_decode(const char *in, size_t len, char *out, size_t *o)
{
    assert_int_equal(len % 4, 0);
    for (size_t i = 0; i < len; i += 4) {
        int v[4];
        for (int k = 0; k < 4; ++k)
            v[k] = in[i + k] == '=' ? 0 : b64_value(in[i + k]);
        for (int k = 0; k < 4; ++k)
            assert_true(v[k] >= 0);
        uint32_t w = ((uint32_t)v[0] << 18) | ((uint32_t)v[1] << 12) | ((uint32_t)v[2] << 6) | (uint32_t)v[3];
        out[(*o)++] = (char)(w >> 16);
        if (in[i + 2] != '=')
            out[(*o)++] = (char)(w >> 8);
        if (in[i + 3] != '=')
            out[(*o)++] = (char)w;
    }
}

/* Decodes an unstructured header value made only of "=?UTF-8?B?…?=" words separated by single spaces (what the
 * renderer writes), checking each word's length limit and that each holds whole UTF-8 characters. Caller frees. */
static char *decode_encoded_words(const char *v)
{
    char *out = calloc(1, strlen(v) + 1);
    size_t o = 0;
    const char *p = v;
    for (;;) {
        assert_int_equal(strncmp(p, "=?UTF-8?B?", 10), 0);
        const char *end = strstr(p + 10, "?=");
        assert_non_null(end);
        assert_true(end + 2 - p <= 75); /* RFC 2047 §2 */
        size_t start = o;
        b64_decode(p + 10, (size_t)(end - p - 10), out, &o);
        /* A word never ends inside a character: its last lead byte starts a complete sequence. */
        if (o > start) {
            size_t k = o - 1;
            while (k > start && ((unsigned char)out[k] & 0xc0) == 0x80)
                --k;
            unsigned char lead = (unsigned char)out[k];
            size_t need = lead < 0x80 ? 1 : lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
            assert_int_equal(o - k, need);
        }
        p = end + 2;
        if (*p == '\0')
            break;
        assert_int_equal(*p, ' ');
        ++p;
    }
    out[o] = '\0';
    return out;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1; /* RFC 2045 says upper case; a lower-case digit is an encoder bug here */
}

/* Quoted-printable decoding of IN[0..LEN): "=XX" is a byte, "=" CRLF a soft break, CRLF a hard break (kept).
 * Also checks the encoder's side of the rules: lines of at most 76 characters, no literal trailing white space,
 * only printable ASCII. Caller frees. */
static char *qp_decode(const char *in, size_t len)
{
    char *out = malloc(len + 1);
    size_t o = 0, col = 0;
    for (size_t i = 0; i < len; ++i) {
        if (in[i] == '\r') {
            assert_true(i + 1 < len && in[i + 1] == '\n');
            assert_true(i == 0 || (in[i - 1] != ' ' && in[i - 1] != '\t'));
            out[o++] = '\r';
            out[o++] = '\n';
            ++i;
            col = 0;
            continue;
        }
        assert_true((in[i] >= 33 && in[i] <= 126) || in[i] == ' ' || in[i] == '\t');
        ++col;
        if (in[i] == '=') {
            if (i + 2 < len && in[i + 1] == '\r' && in[i + 2] == '\n') {
                assert_true(col <= 76);
                i += 2;
                col = 0;
                continue;
            }
            assert_true(i + 2 < len);
            int hi = hexval(in[i + 1]), lo = hexval(in[i + 2]);
            assert_true(hi >= 0 && lo >= 0);
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
            col += 2;
        } else {
            out[o++] = in[i];
        }
        assert_true(col <= 76);
    }
    out[o] = '\0';
    return out;
}

/* TEXT as the decoded body should read: LF and CRLF line ends as CRLF, and a final line break. */
static char *expected_body(const char *text)
{
    char *out = malloc(2 * strlen(text) + 3);
    size_t o = 0;
    for (const char *p = text; *p; ++p) {
        if (*p == '\n' && (p == text || p[-1] != '\r'))
            out[o++] = '\r';
        out[o++] = *p;
    }
    if (o > 0 && out[o - 1] != '\n') {
        out[o++] = '\r';
        out[o++] = '\n';
    }
    out[o] = '\0';
    return out;
}

/* ---- tests -------------------------------------------------------------------------------------------------- */

static void test_headers_well_formed(void **state)
{
    mail_message_t m = basic();
    size_t len;
    char *msg = render_ok(&m, &len);
    char *v;

    assert_int_equal(strncmp(msg, "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n", 39), 0);
    assert_non_null(v = header(msg, "From"));
    assert_string_equal(v, "Parley <parley@localhost>");
    free(v);
    assert_non_null(v = header(msg, "To"));
    assert_string_equal(v, "<alice@example.org>");
    free(v);
    assert_non_null(v = header(msg, "Subject"));
    assert_string_equal(v, "Verify your e-mail address");
    free(v);
    assert_non_null(v = header(msg, "MIME-Version"));
    assert_string_equal(v, "1.0");
    free(v);
    assert_non_null(v = header(msg, "Auto-Submitted"));
    assert_string_equal(v, "auto-generated");
    free(v);
    assert_non_null(v = header(msg, "Content-Type"));
    assert_string_equal(v, "text/plain; charset=utf-8");
    free(v);
    assert_non_null(v = header(msg, "Content-Transfer-Encoding"));
    assert_string_equal(v, "quoted-printable");
    free(v);
    assert_non_null(v = header(msg, "Message-ID"));
    assert_int_equal(strlen(v), 1 + 32 + 1 + strlen("comments.example.org") + 1);
    assert_int_equal(v[0], '<');
    assert_int_equal(strspn(v + 1, "0123456789abcdef"), 32);
    assert_string_equal(v + 33, "@comments.example.org>");
    free(v);
    assert_null(header(msg, "List-Unsubscribe"));
    assert_null(header(msg, "List-Unsubscribe-Post"));

    /* Every header line is "Name: value" with a printable-ASCII name, or a folded continuation. */
    char *head = header_block(msg);
    for (char *line = head; *line != '\0'; line = strstr(line, "\r\n") + 2) {
        if (*line == ' ')
            continue;
        size_t name = strspn(line, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-");
        assert_true(name > 0);
        assert_int_equal(line[name], ':');
        assert_int_equal(line[name + 1], ' ');
    }
    for (const char *p = head; *p; ++p)
        assert_true((*p >= 0x20 && *p < 0x7f) || *p == '\r' || *p == '\n');
    free(head);

    assert_crlf_only(msg, len);
    free(msg);
}

static void test_crlf_everywhere(void **state)
{
    mail_message_t m = basic();
    m.subject = "Grüße";
    m.text = "unix\nwindows\r\nlone\rcr\n\n\nend";
    m.html = "<p>a</p>\r\n<p>b</p>\n";
    m.list_unsubscribe = "https://example.org/u?t=1";
    size_t len;
    char *msg = render_ok(&m, &len);
    assert_crlf_only(msg, len);
    assert_non_null(strstr(msg, "lone=0Dcr\r\n"));
    free(msg);
}

static void test_subject_encoded_word(void **state)
{
    static const char *const subjects[] = {
        "Neue Antwort auf „Grüße aus Zürich“",
        "日本語の件名、複数のエンコードワードに分かれます。絵文字も👍🏽",
        "An ASCII subject that is much too long to fit on one header line of seventy-eight characters",
        "Looks like =?UTF-8?B?aGk=?= but is not",
        "x",
    };
    for (size_t i = 0; i < sizeof(subjects) / sizeof(subjects[0]); ++i) {
        mail_message_t m = basic();
        m.subject = subjects[i];
        char *msg = render_ok(&m, NULL);
        char *v = header(msg, "Subject");
        assert_non_null(v);
        if (strcmp(subjects[i], "x") == 0) {
            assert_string_equal(v, "x"); /* short plain ASCII stays readable */
        } else {
            char *d = decode_encoded_words(v);
            assert_string_equal(d, subjects[i]);
            free(d);
        }
        assert_true(longest_line(msg) <= 78);
        free(v);
        free(msg);
    }
}

static void test_display_names(void **state)
{
    mail_message_t m = basic();
    char *msg, *v, *d;

    m.from = "\"Doe, John \\\"JD\\\"\" <john@example.org>";
    msg = render_ok(&m, NULL);
    v = header(msg, "From");
    assert_string_equal(v, "\"Doe, John \\\"JD\\\"\" <john@example.org>");
    free(v);
    free(msg);

    m.from = "Zoë Ünal <zoe@example.org>";
    msg = render_ok(&m, NULL);
    v = header(msg, "From");
    const char *lt = strstr(v, " <zoe@example.org>");
    assert_non_null(lt);
    assert_string_equal(lt, " <zoe@example.org>");
    char *words = strndup(v, (size_t)(lt - v));
    d = decode_encoded_words(words);
    assert_string_equal(d, "Zoë Ünal");
    free(d);
    free(words);
    free(v);
    free(msg);

    m.from = "<bare@example.org>";
    m.to = "  Bob   <bob@example.org>  ";
    msg = render_ok(&m, NULL);
    v = header(msg, "From");
    assert_string_equal(v, "<bare@example.org>");
    free(v);
    v = header(msg, "To");
    assert_string_equal(v, "Bob <bob@example.org>");
    free(v);
    free(msg);
}

static void test_qp_round_trip(void **state)
{
    char long_line[3000];
    memset(long_line, 'a', sizeof(long_line) - 1);
    long_line[sizeof(long_line) - 1] = '\0';
    char long_utf8[2400];
    for (size_t i = 0; i + 2 < sizeof(long_utf8); i += 2)
        memcpy(long_utf8 + i, "é", 2);
    long_utf8[sizeof(long_utf8) - 2] = '\n';
    long_utf8[sizeof(long_utf8) - 1] = '\0';

    const char *texts[] = {
        "Hallo Zoë,\n\nJürgen hat geantwortet: «très bien» 👍\n",
        "equals = signs == and =?UTF-8?B?x?= and =3D literal\n",
        "trailing spaces   \ntrailing tab\t\n\tleading tab\n  \n",
        "no final newline",
        "windows\r\nline\r\nends\r\n",
        "lone\rcarriage\rreturns\r",
        ".\n..\n.leading dot\nFrom the start\n",
        "",
        long_line,
        long_utf8,
        "x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x\n",
        "control \x01\x7f chars\n",
    };
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); ++i) {
        mail_message_t m = basic();
        m.text = texts[i];
        size_t len;
        char *msg = render_ok(&m, &len);
        const char *body = body_of(msg);
        char *dec = qp_decode(body, len - (size_t)(body - msg));
        char *want = expected_body(texts[i]);
        assert_string_equal(dec, want);
        assert_true(longest_line(body) <= 76);
        free(want);
        free(dec);
        free(msg);
    }
}

static void test_multipart_alternative(void **state)
{
    mail_message_t m = basic();
    m.text = "Plain «text»\n.\n";
    m.html = "<p>HTML «text» with --boundary-looking --=_parley_ lines</p>\n";
    size_t len;
    char *msg = render_ok(&m, &len);
    char *ct = header(msg, "Content-Type");
    const char *prefix = "multipart/alternative; boundary=\"";
    assert_int_equal(strncmp(ct, prefix, strlen(prefix)), 0);
    char *boundary = strndup(ct + strlen(prefix), strlen(ct) - strlen(prefix) - 1);
    assert_int_equal(ct[strlen(ct) - 1], '"');
    assert_int_equal(strncmp(boundary, "=_parley_", 9), 0);
    assert_int_equal(strlen(boundary), 9 + 24);
    assert_null(header(msg, "Content-Transfer-Encoding")); /* only on the parts */

    char delim[64], close[64];
    snprintf(delim, sizeof(delim), "--%s\r\n", boundary);
    snprintf(close, sizeof(close), "\r\n--%s--\r\n", boundary);
    assert_int_equal(count_lines_starting(msg, delim), 2);
    assert_string_equal(msg + len - strlen(close), close); /* the closing delimiter ends the message */

    /* Part 1: text/plain; part 2: text/html; each decodes to its source (minus the CRLF owned by the delimiter). */
    const char *p1 = strstr(msg, delim) + strlen(delim);
    const char *p2 = strstr(p1, delim) + strlen(delim);
    assert_int_equal(strncmp(p1, "Content-Type: text/plain; charset=utf-8\r\n", 41), 0);
    assert_int_equal(strncmp(p2, "Content-Type: text/html; charset=utf-8\r\n", 40), 0);
    const char *b1 = body_of(p1), *b2 = body_of(p2);
    const char *e1 = strstr(b1, delim) - 2, *e2 = msg + len - strlen(close);
    char *d1 = qp_decode(b1, (size_t)(e1 - b1)), *d2 = qp_decode(b2, (size_t)(e2 - b2));
    assert_string_equal(d1, "Plain «text»\r\n.");
    assert_string_equal(d2, "<p>HTML «text» with --boundary-looking --=_parley_ lines</p>");
    free(d1);
    free(d2);

    /* A new boundary for every message. */
    char *msg2 = render_ok(&m, NULL);
    char *ct2 = header(msg2, "Content-Type");
    assert_string_not_equal(ct, ct2);
    free(ct2);
    free(msg2);
    free(boundary);
    free(ct);
    free(msg);
}

static void test_list_unsubscribe(void **state)
{
    mail_message_t m = basic();
    m.list_unsubscribe = "https://comments.example.org/api/v1/unsubscribe?t=abc.DEF_123-x%2F";
    char *msg = render_ok(&m, NULL);
    char *v = header(msg, "List-Unsubscribe");
    assert_string_equal(v, "<https://comments.example.org/api/v1/unsubscribe?t=abc.DEF_123-x%2F>");
    free(v);
    v = header(msg, "List-Unsubscribe-Post");
    assert_string_equal(v, "List-Unsubscribe=One-Click");
    free(v);
    free(msg);

    static const char *const bad[] = {
        "https://x.example/u\r\nBcc: evil@example.org",
        "https://x.example/u>, <mailto:evil@example.org",
        "https://x.example/u t",
        "javascript:alert(1)",
        "mailto:unsub@example.org",
        "https://x.example/ü",
        "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
        char *out = NULL;
        size_t len = 0;
        m.list_unsubscribe = bad[i];
        assert_int_equal(mail_message_render(&m, T0, &out, &len), CORE_ERR_INVALID);
        assert_null(out);
    }
}

static void test_header_injection(void **state)
{
    mail_message_t m = basic();
    m.subject = "Hello\r\nBcc: evil@example.org\r\n\r\nbody";
    char *msg = render_ok(&m, NULL);
    assert_int_equal(count_lines_starting(msg, "Bcc:"), 0);
    char *v = header(msg, "Subject");
    assert_string_equal(v, "Hello Bcc: evil@example.org body");
    free(v);
    free(msg);

    /* Other C0 controls, DEL and C1 controls (U+0085 NEL) are neutralised too, also in encoded-words. */
    m.subject = "Grüße\x0b\x7f\xc2\x85X-Evil: 1\n";
    msg = render_ok(&m, NULL);
    v = header(msg, "Subject");
    char *d = decode_encoded_words(v);
    assert_string_equal(d, "Grüße X-Evil: 1");
    free(d);
    free(v);
    assert_int_equal(count_lines_starting(msg, "X-Evil"), 0);
    free(msg);

    /* Addresses are refused, not repaired. */
    static const char *const bad_addr[] = {
        "alice@example.org\r\nBcc: evil@example.org",
        "Alice\r\n <alice@example.org>",
        "alice@example.org\n",
        "alice@example.org>",
        "<alice@example.org",
        "Alice <alice@example.org> <evil@example.org>",
        "Alice <alice@example.org>>",
        "Alice <<alice@example.org>",
        "Al>ice <alice@example.org>",
        "alice@example.org, evil@example.org",
        "alice@example.org evil@example.org",
        "alice@exa mple.org",
        "\"unterminated <alice@example.org>",
        "alice",
        "@example.org",
        "alice@",
        "al..ice@example.org",
        "zoë@example.org",
        "alice@-example.org",
        "alice@example.org\t",
        "",
    };
    for (size_t i = 0; i < sizeof(bad_addr) / sizeof(bad_addr[0]); ++i) {
        char *out = NULL;
        size_t len = 0;
        mail_message_t t = basic();
        t.to = bad_addr[i];
        assert_int_equal(mail_message_render(&t, T0, &out, &len), CORE_ERR_INVALID);
        t = basic();
        t.from = bad_addr[i];
        assert_int_equal(mail_message_render(&t, T0, &out, &len), CORE_ERR_INVALID);
        assert_null(out);
    }

    /* The Message-ID domain must be a host name. */
    char *out = NULL;
    size_t len = 0;
    m = basic();
    m.message_id_domain = "example.org>\r\nBcc: evil@example.org";
    assert_int_equal(mail_message_render(&m, T0, &out, &len), CORE_ERR_INVALID);
    m.message_id_domain = "";
    assert_int_equal(mail_message_render(&m, T0, &out, &len), CORE_ERR_INVALID);

    /* Text that is not UTF-8, and missing fields. */
    m = basic();
    m.text = "caf\xe9\n";
    assert_int_equal(mail_message_render(&m, T0, &out, &len), CORE_ERR_INVALID);
    m = basic();
    m.subject = "\xc0\xaf overlong slash";
    assert_int_equal(mail_message_render(&m, T0, &out, &len), CORE_ERR_INVALID);
    m = basic();
    m.html = "\xed\xa0\x80 surrogate";
    assert_int_equal(mail_message_render(&m, T0, &out, &len), CORE_ERR_INVALID);
    m = basic();
    m.text = NULL;
    assert_int_equal(mail_message_render(&m, T0, &out, &len), CORE_ERR_INVALID);
    m = basic();
    m.to = NULL;
    assert_int_equal(mail_message_render(&m, T0, &out, &len), CORE_ERR_INVALID);
    assert_null(out);
}

static void test_no_line_over_998(void **state)
{
    size_t n = 5000;
    char *word = malloc(n + 1), *utf8 = malloc(2 * n + 1), *name = malloc(n + 64);
    memset(word, 'w', n);
    word[n] = '\0';
    for (size_t i = 0; i < n; ++i)
        memcpy(utf8 + 2 * i, "ß", 2);
    utf8[2 * n] = '\0';
    snprintf(name, n + 64, "%s <long@example.org>", word);

    mail_message_t m = basic();
    m.subject = utf8;
    m.text = word;
    m.html = utf8;
    m.from = name;
    size_t len;
    char *msg = render_ok(&m, &len);
    assert_true(longest_line(msg) <= 998);
    assert_true(longest_line(body_of(msg)) <= 76);
    assert_crlf_only(msg, len);
    char *v = header(msg, "Subject"), *d = decode_encoded_words(v);
    assert_string_equal(d, utf8);
    free(d);
    free(v);

    m.subject = word; /* a 5000-character ASCII word cannot be folded at white space; it is encoded instead */
    free(msg);
    msg = render_ok(&m, &len);
    assert_true(longest_line(msg) <= 998);
    v = header(msg, "Subject");
    d = decode_encoded_words(v);
    assert_string_equal(d, word);
    free(d);
    free(v);
    free(msg);
    free(word);
    free(utf8);
    free(name);
}

static void test_message_ids_differ(void **state)
{
    mail_message_t m = basic();
    m.message_id_domain = NULL; /* falls back to the From domain */
    char *a = render_ok(&m, NULL), *b = render_ok(&m, NULL);
    char *ia = header(a, "Message-ID"), *ib = header(b, "Message-ID");
    assert_string_not_equal(ia, ib);
    assert_non_null(strstr(ia, "@localhost>"));
    assert_non_null(strstr(ib, "@localhost>"));
    free(ia);
    free(ib);
    free(a);
    free(b);
}

static void test_dot_lines_left_to_the_transport(void **state)
{
    /* The renderer does not dot-stuff: that is SMTP's job (libcurl does it during DATA), and stuffing here would
     * double the dots. The body keeps its leading dots as written. */
    mail_message_t m = basic();
    m.text = ".\n.leading\n";
    char *msg = render_ok(&m, NULL);
    assert_string_equal(body_of(msg), ".\r\n.leading\r\n");
    free(msg);
}

static void test_addr_spec(void **state)
{
    char out[64];
    assert_int_equal(mail_message_addr_spec("Parley <parley@localhost>", out, sizeof(out)), 0);
    assert_string_equal(out, "parley@localhost");
    assert_int_equal(mail_message_addr_spec("bob@example.org", out, sizeof(out)), 0);
    assert_string_equal(out, "bob@example.org");
    assert_int_equal(mail_message_addr_spec("\"B <o> b\" <bob@example.org>", out, sizeof(out)), 0);
    assert_string_equal(out, "bob@example.org");
    assert_int_equal(mail_message_addr_spec("bob@example.org", out, 15), CORE_ERR_INVALID);
    assert_int_equal(mail_message_addr_spec("bob@example.org", out, 16), 0);
    assert_int_equal(mail_message_addr_spec("bob@example.org\r\n", out, sizeof(out)), CORE_ERR_INVALID);
}

/* ---- account templates (mail_templates.c) ------------------------------------------------------------------- */

/* Longer than a quoted-printable line, so the encoder has to break it with soft line breaks. */
#define LINK_VERIFY                                                                                                    \
    "https://comments.example.org/api/v1/accounts/verify?t=v1.eyJ1IjoiYWxpY2UiLCJlIjoxNzAwMDg2NDAwfQ."                 \
    "c2lnbmF0dXJlX3RoYXRfaXNfbG9uZ19lbm91Z2hfdG9fd3JhcA"
#define LINK_LOST "https://comments.example.org/lost-password"
#define LINK_REGISTER "https://comments.example.org/register?site=blog&return=https%3A%2F%2Fblog.example.org%2F"
#define LINK_RESET                                                                                                     \
    "https://comments.example.org/reset?t=v1.eyJ1IjoiYWxpY2UiLCJ0IjoicmVzZXQiLCJlIjoxNzAwMDAzNjAwfQ.c2ln_bmF0-dXJl"
#define FROM "Parley <parley@comments.example.org>"
#define TO "alice@example.org"

/* The decoded Subject (plain or encoded-words). Caller frees. */
static char *subject_of(const char *msg)
{
    char *v = header(msg, "Subject");
    assert_non_null(v);
    if (strncmp(v, "=?UTF-8?B?", 10) != 0)
        return v;
    char *d = decode_encoded_words(v);
    free(v);
    return d;
}

/* The decoded text/plain body, CRLF line ends. Caller frees. */
static char *text_of(const char *msg)
{
    char *ct = header(msg, "Content-Type");
    assert_string_equal(ct, "text/plain; charset=utf-8");
    free(ct);
    const char *body = body_of(msg);
    return qp_decode(body, strlen(body));
}

/* True when TEXT holds LINE as a whole line: a link must survive the soft line breaks exactly. */
static bool has_line(const char *text, const char *line)
{
    size_t n = strlen(line) + 5;
    char *want = malloc(n);
    snprintf(want, n, "\r\n%s\r\n", line);
    bool found = strstr(text, want) != NULL;
    free(want);
    return found;
}

/* Checks what every account mail shares and returns its decoded text (caller frees, and frees MSG). */
static char *check_account_mail(char *msg, size_t len, const char *subject)
{
    assert_crlf_only(msg, len);
    assert_true(longest_line(msg) <= 998);
    char *s = subject_of(msg);
    assert_string_equal(s, subject);
    free(s);
    char *to = header(msg, "To");
    assert_string_equal(to, "<" TO ">");
    free(to);
    char *head = header_block(msg);
    assert_int_equal(count_lines_starting(head, "Bcc:"), 0);
    assert_null(strstr(head, "List-Unsubscribe"));
    free(head);
    char *text = text_of(msg);
    free(msg);
    return text;
}

static void test_template_verify(void **state)
{
    char *msg = NULL;
    size_t len = 0;
    assert_int_equal(mail_template_verify(FROM, TO, "alice.b-2", LINK_VERIFY, 86400, T0, &msg, &len), 0);
    assert_true(longest_line(body_of(msg)) <= 76); /* the link was wrapped ... */
    assert_null(strstr(body_of(msg), LINK_VERIFY));
    char *text = check_account_mail(msg, len, "Verify your e-mail address for alice.b-2");
    assert_true(has_line(text, LINK_VERIFY)); /* ... and decodes back whole */
    assert_int_equal(strncmp(text, "Hello alice.b-2,\r\n", 18), 0);
    assert_non_null(strstr(text, "works once, within 24 hours."));
    assert_non_null(strstr(text, "If this wasn't you, ignore this mail"));
    free(text);

    /* Durations read naturally and never promise more than the link has. */
    static const struct {
        uint32_t ttl_s;
        const char *says;
    } ttls[] = {{60, "within 1 minute."},  {90, "within 1 minute."},     {1800, "within 30 minutes."},
                {3600, "within 1 hour."},  {5400, "within 90 minutes."}, {7200, "within 2 hours."},
                {9000, "within 2 hours."}, {172800, "within 48 hours."}};
    for (size_t i = 0; i < sizeof(ttls) / sizeof(ttls[0]); ++i) {
        assert_int_equal(mail_template_verify(FROM, TO, "alice", LINK_VERIFY, ttls[i].ttl_s, T0, &msg, &len), 0);
        text = check_account_mail(msg, len, "Verify your e-mail address for alice");
        assert_non_null(strstr(text, ttls[i].says));
        free(text);
    }

    /* A user name long enough to push the subject past 78 octets comes back whole through encoded-words. */
    const char *longname = "a_very_long_user_name.that-still-is-valid_and_goes_on_and_on_for_a_while";
    char want[160];
    snprintf(want, sizeof(want), "Verify your e-mail address for %s", longname);
    assert_int_equal(mail_template_verify(FROM, TO, longname, LINK_VERIFY, 86400, T0, &msg, &len), 0);
    free(check_account_mail(msg, len, want));
}

static void test_template_already(void **state)
{
    char *msg = NULL;
    size_t len = 0;
    assert_int_equal(mail_template_already(FROM, TO, LINK_LOST, NULL, T0, &msg, &len), 0);
    char *text = check_account_mail(msg, len, "You already have an account");
    assert_true(has_line(text, LINK_LOST));
    assert_non_null(strstr(text, "You already have an account with it"));
    assert_non_null(strstr(text, "Forgot your password?"));
    assert_null(strstr(text, "not verified"));
    free(text);

    assert_int_equal(mail_template_already(FROM, TO, LINK_LOST, LINK_VERIFY, T0, &msg, &len), 0);
    text = check_account_mail(msg, len, "You already have an account");
    assert_true(has_line(text, LINK_LOST));
    assert_true(has_line(text, LINK_VERIFY));
    assert_non_null(strstr(text, "not verified yet"));
    free(text);
}

static void test_template_name_taken(void **state)
{
    char *msg = NULL;
    size_t len = 0;
    assert_int_equal(mail_template_name_taken(FROM, TO, "bob", LINK_REGISTER, T0, &msg, &len), 0);
    char *text = check_account_mail(msg, len, "That user name is taken");
    assert_true(has_line(text, LINK_REGISTER));
    assert_non_null(strstr(text, "the user name \"bob\""));
    assert_non_null(strstr(text, "no account was created"));
    free(text);
}

static void test_template_reset(void **state)
{
    char *msg = NULL;
    size_t len = 0;
    assert_int_equal(mail_template_reset(FROM, TO, "alice", LINK_RESET, 3600, T0, &msg, &len), 0);
    char *text = check_account_mail(msg, len, "Reset your password");
    assert_true(has_line(text, LINK_RESET));
    assert_non_null(strstr(text, "Hello alice,"));
    assert_non_null(strstr(text, "works once, within 1 hour."));
    assert_non_null(strstr(text, "your password stays as it is"));
    free(text);

    assert_int_equal(mail_template_reset(FROM, TO, "alice", LINK_RESET, 900, T0, &msg, &len), 0);
    text = check_account_mail(msg, len, "Reset your password");
    assert_non_null(strstr(text, "within 15 minutes."));
    free(text);
}

static void test_template_password_changed(void **state)
{
    char *msg = NULL;
    size_t len = 0;
    assert_int_equal(mail_template_password_changed(FROM, TO, "alice", LINK_LOST, T0, &msg, &len), 0);
    char *text = check_account_mail(msg, len, "Your password was changed");
    assert_true(has_line(text, LINK_LOST));
    assert_non_null(strstr(text, "you were logged out elsewhere"));
    assert_non_null(strstr(text, "If this was not you, reset your password at once"));
    free(text);
}

/* A user name or link with a line break is refused outright (never rendered, *out untouched); the recipient
 * goes through mail_message_render's address check. */
static void test_template_injection(void **state)
{
    static const char *const bad_names[] = {
        "bob\r\nBcc: x@example.org", "bob\nBcc: x@example.org", "bob\r", "b\to", "", NULL};
    char *msg = NULL;
    size_t len = 0;
    for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); ++i) {
        const char *u = bad_names[i];
        assert_int_equal(mail_template_verify(FROM, TO, u, LINK_VERIFY, 86400, T0, &msg, &len), CORE_ERR_INVALID);
        assert_int_equal(mail_template_name_taken(FROM, TO, u, LINK_REGISTER, T0, &msg, &len), CORE_ERR_INVALID);
        assert_int_equal(mail_template_reset(FROM, TO, u, LINK_RESET, 3600, T0, &msg, &len), CORE_ERR_INVALID);
        assert_int_equal(mail_template_password_changed(FROM, TO, u, LINK_LOST, T0, &msg, &len), CORE_ERR_INVALID);
        /* The same values as links. */
        assert_int_equal(mail_template_verify(FROM, TO, "bob", u, 86400, T0, &msg, &len), CORE_ERR_INVALID);
        assert_int_equal(mail_template_already(FROM, TO, u, NULL, T0, &msg, &len), CORE_ERR_INVALID);
        if (u != NULL)
            assert_int_equal(mail_template_already(FROM, TO, LINK_LOST, u, T0, &msg, &len), CORE_ERR_INVALID);
    }
    assert_int_equal(
        mail_template_reset(FROM, "alice@example.org\r\nBcc: x@example.org", "alice", LINK_RESET, 3600, T0, &msg, &len),
        CORE_ERR_INVALID);
    assert_null(msg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_headers_well_formed),
        cmocka_unit_test(test_crlf_everywhere),
        cmocka_unit_test(test_subject_encoded_word),
        cmocka_unit_test(test_display_names),
        cmocka_unit_test(test_qp_round_trip),
        cmocka_unit_test(test_multipart_alternative),
        cmocka_unit_test(test_list_unsubscribe),
        cmocka_unit_test(test_header_injection),
        cmocka_unit_test(test_no_line_over_998),
        cmocka_unit_test(test_message_ids_differ),
        cmocka_unit_test(test_dot_lines_left_to_the_transport),
        cmocka_unit_test(test_addr_spec),
        cmocka_unit_test(test_template_verify),
        cmocka_unit_test(test_template_already),
        cmocka_unit_test(test_template_name_taken),
        cmocka_unit_test(test_template_reset),
        cmocka_unit_test(test_template_password_changed),
        cmocka_unit_test(test_template_injection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
