/*
 * One outgoing message, rendered as RFC 5322 text with MIME bodies.
 *
 * Two kinds of input reach a header here: addresses and URLs, which are refused when malformed (a CR or LF in
 * them can only be an attack or a bug upstream), and free text (subject, display names), which is cleaned and
 * encoded instead, because a page title with a stray newline must still produce a mail. Nothing from the caller
 * is ever copied into a header without going through one of those two doors, so no input can start a header
 * line of its own (the classic "\r\nBcc:" injection).
 *
 * Bodies are always quoted-printable: it keeps every line at most 76 octets (RFC 2045 §6.7) whatever the caller
 * wrote, so the 998-octet limit of RFC 5322 §2.1.1 can never be hit, and mostly-ASCII mail stays readable in raw
 * form. Lines of the encoded body may start with "." (a body line "." is legal here); SMTP's transparency rule
 * (RFC 5321 §4.5.2) is the transport's business: libcurl dot-stuffs every such line during DATA and the server
 * removes the extra dot, so the message arrives byte for byte as rendered (tests/mail/smtp.test.js checks it).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/core_error.h"
#include "core/core_token.h"
#include "mail/mail.h"

#define MAX_ADDR 254         /* RFC 5321 §4.5.3.1.3 path limit minus the brackets */
#define MAX_LOCAL 64         /* RFC 5321 §4.5.3.1.1 */
#define MAX_DOMAIN 253       /* RFC 1035 */
#define MAX_URL 900          /* keeps "List-Unsubscribe: <URL>" well under 998 octets */
#define HEADER_FOLD 78       /* RFC 5322 §2.1.1 "SHOULD" line length for headers we write in clear */
#define EW_BYTES 42          /* raw bytes per encoded-word: 56 base64 chars, a 68-char word (limit 75) */
#define QP_LINE 75           /* encoded characters per body line before the "=" of a soft break (76 in all) */
#define BOUNDARY_RANDOM 12   /* bytes of randomness in a multipart boundary */
#define MESSAGE_ID_RANDOM 16 /* 128 bits: collisions are not a concern at any volume */

struct st_buf_t {
    char *p;
    size_t len, cap;
};

static void buf_add(struct st_buf_t *b, const void *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (p == NULL)
            abort(); /* out-of-memory aborts (STYLE.md) */
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_adds(struct st_buf_t *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

static void buf_addc(struct st_buf_t *b, char c)
{
    buf_add(b, &c, 1);
}

/* ---- character classes --------------------------------------------------------------------------------------- */

static bool is_alnum(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* RFC 5322 atext: the characters of an unquoted local part or display-name word. */
static bool is_atext(unsigned char c)
{
    return is_alnum(c) || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static bool has_control(const char *s)
{
    for (; *s; ++s) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7f)
            return true;
    }
    return false;
}

/* Length of the well-formed UTF-8 sequence at S (1..4), or 0 when it is malformed: overlong forms, surrogates
 * and code points above U+10FFFF are refused, so what we label charset=utf-8 really is UTF-8. */
static size_t utf8_seq(const unsigned char *s)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; ++i) {
        if ((s[i] & 0xc0) != 0x80)
            return 0; /* also stops at the NUL terminator */
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

static bool is_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t n = utf8_seq(p);
        if (n == 0)
            return false;
        p += n;
    }
    return true;
}

/* ---- addresses ----------------------------------------------------------------------------------------------- */

/* A host name as SMTP and Message-ID want it: dot-separated LDH labels (IDNs arrive here as A-labels). A single
 * label is allowed because the default sender is parley@localhost. */
static bool is_domain(const char *s, size_t len)
{
    if (len == 0 || len > MAX_DOMAIN)
        return false;
    size_t label = 0;
    for (size_t i = 0; i < len; ++i) {
        unsigned char c = (unsigned char)s[i];
        if (c == '.') {
            if (label == 0 || s[i - 1] == '-')
                return false;
            label = 0;
        } else if (is_alnum(c) || c == '-') {
            if ((label == 0 && c == '-') || ++label > 63)
                return false;
        } else {
            return false;
        }
    }
    return label != 0 && s[len - 1] != '-';
}

/* Dot-atom local part @ domain. Quoted local parts and address literals are legal but refused: nobody signs up
 * with them, and every extra syntax is another way to smuggle something past a relay. */
static bool is_addr_spec(const char *s, size_t len)
{
    const char *at = memchr(s, '@', len);
    if (len > MAX_ADDR || at == NULL)
        return false;
    size_t local = (size_t)(at - s);
    if (local == 0 || local > MAX_LOCAL || s[0] == '.' || s[local - 1] == '.')
        return false;
    for (size_t i = 0; i < local; ++i) {
        if (s[i] == '.' ? s[i + 1] == '.' : !is_atext((unsigned char)s[i]))
            return false;
    }
    return is_domain(at + 1, len - local - 1);
}

/* Splits MAILBOX into an optional display name (malloc'ed into *NAME, unquoted, or NULL) and the addr-spec
 * (ADDR..ADDR+*ADDR_LEN inside MAILBOX). Anything but exactly one "addr" or "name <addr>" is refused. */
static int parse_mailbox(const char *mailbox, char **name, const char **addr, size_t *addr_len)
{
    *name = NULL;
    if (mailbox == NULL || has_control(mailbox))
        return CORE_ERR_INVALID;
    const char *s = mailbox, *e = mailbox + strlen(mailbox);
    while (s < e && *s == ' ')
        ++s;
    while (e > s && e[-1] == ' ')
        --e;
    const char *lt = memchr(s, '<', (size_t)(e - s));
    if (lt == NULL && *s != '"') {
        if (memchr(s, '>', (size_t)(e - s)) != NULL || !is_addr_spec(s, (size_t)(e - s)))
            return CORE_ERR_INVALID;
        *addr = s;
        *addr_len = (size_t)(e - s);
        return 0;
    }

    struct st_buf_t nb = {NULL, 0, 0};
    const char *p = s;
    if (*p == '"') {
        /* A quoted display name may contain anything printable, '<' and '>' included; undo its escapes. */
        for (++p; p < e && *p != '"'; ++p) {
            if (*p == '\\' && p + 1 < e)
                ++p;
            buf_addc(&nb, *p);
        }
        if (p == e)
            goto Invalid;
        for (++p; p < e && *p == ' '; ++p)
            ;
        if (p == e || *p != '<')
            goto Invalid;
        lt = p;
    } else {
        const char *ne = lt;
        while (ne > s && ne[-1] == ' ')
            --ne;
        for (const char *q = s; q < ne; ++q) {
            if (*q == '>' || *q == '"')
                goto Invalid;
        }
        buf_add(&nb, s, (size_t)(ne - s));
    }
    /* The address is everything between this '<' and a '>' that must end the mailbox. */
    if (e - lt < 2 || e[-1] != '>')
        goto Invalid;
    const char *a = lt + 1;
    size_t alen = (size_t)(e - 1 - a);
    if (memchr(a, '<', alen) != NULL || memchr(a, '>', alen) != NULL || !is_addr_spec(a, alen))
        goto Invalid;
    if (nb.len > 0 && !is_utf8(nb.p))
        goto Invalid;
    *name = nb.p; /* NULL when the name was empty ("<a@b>") */
    if (nb.len == 0) {
        free(nb.p);
        *name = NULL;
    }
    *addr = a;
    *addr_len = alen;
    return 0;
Invalid:
    free(nb.p);
    return CORE_ERR_INVALID;
}

int mail_message_addr_spec(const char *mailbox, char *out, size_t outlen)
{
    char *name;
    const char *addr;
    size_t len;
    if (parse_mailbox(mailbox, &name, &addr, &len) != 0)
        return CORE_ERR_INVALID;
    free(name);
    if (len + 1 > outlen)
        return CORE_ERR_INVALID;
    memcpy(out, addr, len);
    out[len] = '\0';
    return 0;
}

/* ---- header text --------------------------------------------------------------------------------------------- */

/* Copy of S (valid UTF-8) where each run of C0 controls, DEL and C1 controls (U+0080..U+009F, which some clients
 * treat as line breaks) becomes one space, and leading and trailing spaces are dropped. Caller frees. */
static char *clean_text(const char *s)
{
    struct st_buf_t b = {NULL, 0, 0};
    bool pending_space = false;
    buf_add(&b, "", 0);
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t n = utf8_seq(p);
        if (n == 0) { /* callers validate UTF-8 first; drop a stray byte rather than loop on it */
            ++p;
            continue;
        }
        bool ctl = *p < 0x20 || *p == 0x7f || (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f);
        if (ctl || *p == ' ') {
            pending_space = b.len > 0;
        } else {
            if (pending_space)
                buf_addc(&b, ' ');
            pending_space = false;
            buf_add(&b, p, n);
        }
        p += n;
    }
    return b.p;
}

static void base64_encode(struct st_buf_t *b, const unsigned char *in, size_t len)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        char q[4] = {tab[(v >> 18) & 63], tab[(v >> 12) & 63], i + 1 < len ? tab[(v >> 6) & 63] : '=',
                     i + 2 < len ? tab[v & 63] : '='};
        buf_add(b, q, 4);
    }
}

/* Writes TEXT (clean UTF-8) as RFC 2047 B encoded-words, folding between words. Each word holds whole
 * characters only (RFC 2047 §5: a character must not be split across words), so every word decodes alone. */
static void add_encoded_words(struct st_buf_t *b, const char *text)
{
    const unsigned char *p = (const unsigned char *)text;
    bool first = true;
    do {
        size_t n = 0;
        while (p[n] != '\0') {
            size_t c = utf8_seq(p + n);
            if (n + c > EW_BYTES)
                break;
            n += c;
        }
        if (!first)
            buf_adds(b, "\r\n "); /* folding white space between adjacent encoded-words is ignored */
        buf_adds(b, "=?UTF-8?B?");
        base64_encode(b, p, n);
        buf_adds(b, "?=");
        p += n;
        first = false;
    } while (*p != '\0');
}

/* True when TEXT can go into a header as is: printable ASCII, nothing a decoder could mistake for an
 * encoded-word, and the resulting line of USED + len octets within the recommended 78. */
static bool is_plain_header_text(const char *text, size_t used)
{
    size_t len = strlen(text);
    if (used + len > HEADER_FOLD || strstr(text, "=?") != NULL)
        return false;
    for (const char *p = text; *p; ++p) {
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
            return false;
    }
    return true;
}

static void add_unstructured(struct st_buf_t *b, const char *name, const char *text)
{
    buf_adds(b, name);
    buf_adds(b, ": ");
    if (is_plain_header_text(text, strlen(name) + 2))
        buf_adds(b, text);
    else
        add_encoded_words(b, text);
    buf_adds(b, "\r\n");
}

/* "Name: [display-name ]<addr>". A display name of atoms goes as is, other ASCII as a quoted-string, and
 * non-ASCII (or anything too long for one line) as encoded-words, which RFC 2047 §5(3) allows in a phrase. */
static int add_mailbox(struct st_buf_t *b, const char *header, const char *mailbox)
{
    char *raw, *name = NULL;
    const char *addr;
    size_t alen;
    if (parse_mailbox(mailbox, &raw, &addr, &alen) != 0)
        return CORE_ERR_INVALID;
    if (raw != NULL) {
        name = clean_text(raw);
        free(raw);
    }
    buf_adds(b, header);
    buf_adds(b, ": ");
    if (name != NULL && name[0] != '\0') {
        bool atoms = true;
        for (const char *p = name; *p; ++p)
            atoms = atoms && (*p == ' ' || is_atext((unsigned char)*p));
        if (is_plain_header_text(name, strlen(header) + 6 + alen) && atoms) {
            buf_adds(b, name);
        } else if (is_plain_header_text(name, strlen(header) + 8 + alen)) {
            buf_addc(b, '"');
            for (const char *p = name; *p; ++p) {
                if (*p == '"' || *p == '\\')
                    buf_addc(b, '\\');
                buf_addc(b, *p);
            }
            buf_addc(b, '"');
        } else {
            add_encoded_words(b, name);
        }
        buf_addc(b, ' ');
    }
    buf_addc(b, '<');
    buf_add(b, addr, alen);
    buf_adds(b, ">\r\n");
    free(name);
    return 0;
}

/* RFC 5322 §3.3 date-time in UTC, spelled out by hand because strftime's %a and %b follow the locale. */
static void add_date(struct st_buf_t *b, time_t now)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    char line[64];
    gmtime_r(&now, &tm);
    snprintf(line, sizeof(line), "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n", days[tm.tm_wday % 7], tm.tm_mday,
             months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    buf_adds(b, line);
}

static void add_random_hex(struct st_buf_t *b, size_t bytes)
{
    uint8_t r[32];
    char hex[65];
    core_random_bytes(r, bytes);
    core_hex_encode(r, bytes, hex);
    buf_adds(b, hex);
}

/* An absolute http(s) URL of visible ASCII without the characters that would end the <…> it sits in. */
static bool is_unsubscribe_url(const char *url)
{
    size_t len = strlen(url);
    if (len > MAX_URL || (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0))
        return false;
    for (const char *p = url; *p; ++p) {
        unsigned char c = (unsigned char)*p;
        if (c <= 0x20 || c >= 0x7f || c == '<' || c == '>' || c == '"')
            return false;
    }
    return true;
}

/* ---- bodies -------------------------------------------------------------------------------------------------- */

/* Quoted-printable (RFC 2045 §6.7) of TEXT with its LF or CRLF line ends turned into CRLF hard breaks; a lone CR
 * is data (=0D). White space before a hard break is encoded, because transports may strip trailing blanks.
 * The body always ends with a hard break. */
static void add_qp(struct st_buf_t *b, const char *text)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)text;
    size_t col = 0;
    while (*p != '\0') {
        if (*p == '\n' || (p[0] == '\r' && p[1] == '\n')) {
            buf_adds(b, "\r\n");
            p += *p == '\r' ? 2 : 1;
            col = 0;
            continue;
        }
        bool at_eol = p[1] == '\0' || p[1] == '\n' || (p[1] == '\r' && p[2] == '\n');
        char tok[3];
        size_t n;
        if ((*p >= 33 && *p <= 126 && *p != '=') || ((*p == ' ' || *p == '\t') && !at_eol)) {
            tok[0] = (char)*p;
            n = 1;
        } else {
            tok[0] = '=';
            tok[1] = hex[*p >> 4];
            tok[2] = hex[*p & 15];
            n = 3;
        }
        /* Break before a token that would not fit, so "=XX" is never split; the final segment of a line may use
         * the 76th column only if nothing follows, which QP_LINE leaves unused for simplicity. */
        if (col + n > QP_LINE) {
            buf_adds(b, "=\r\n");
            col = 0;
        }
        buf_add(b, tok, n);
        col += n;
        ++p;
    }
    if (col > 0 || b->len < 2 || memcmp(b->p + b->len - 2, "\r\n", 2) != 0)
        buf_adds(b, "\r\n");
}

static void add_part_headers(struct st_buf_t *b, const char *type)
{
    buf_adds(b, "Content-Type: ");
    buf_adds(b, type);
    buf_adds(b, "; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n");
}

int mail_message_render(const mail_message_t *m, time_t now, char **out, size_t *out_len)
{
    struct st_buf_t b = {NULL, 0, 0};
    char *subject = NULL, *id_name = NULL;
    const char *id_domain = m->message_id_domain, *from_addr;
    size_t id_domain_len = 0, from_len;
    int ret = CORE_ERR_INVALID;

    if (m->from == NULL || m->to == NULL || m->subject == NULL || m->text == NULL)
        goto Exit;
    if (!is_utf8(m->subject) || !is_utf8(m->text) || (m->html != NULL && !is_utf8(m->html)))
        goto Exit;
    if (m->list_unsubscribe != NULL && !is_unsubscribe_url(m->list_unsubscribe))
        goto Exit;
    if (parse_mailbox(m->from, &id_name, &from_addr, &from_len) != 0)
        goto Exit;
    if (id_domain != NULL) {
        id_domain_len = strlen(id_domain);
        if (!is_domain(id_domain, id_domain_len))
            goto Exit;
    } else {
        id_domain = (const char *)memchr(from_addr, '@', from_len) + 1; /* a dot-atom local part has no '@' */
        id_domain_len = (size_t)(from_addr + from_len - id_domain);
    }

    add_date(&b, now);
    if (add_mailbox(&b, "From", m->from) != 0 || add_mailbox(&b, "To", m->to) != 0)
        goto Exit;
    subject = clean_text(m->subject);
    add_unstructured(&b, "Subject", subject);
    buf_adds(&b, "Message-ID: <");
    add_random_hex(&b, MESSAGE_ID_RANDOM);
    buf_addc(&b, '@');
    buf_add(&b, id_domain, id_domain_len);
    buf_adds(&b, ">\r\n");
    buf_adds(&b, "MIME-Version: 1.0\r\n");
    /* RFC 3834: every Parley mail is machine-made; this keeps vacation responders from answering it. */
    buf_adds(&b, "Auto-Submitted: auto-generated\r\n");
    if (m->list_unsubscribe != NULL) {
        /* RFC 8058: the Post header tells the mailbox provider it may unsubscribe with one POST and no page, so a
         * link scanner following the GET cannot unsubscribe anybody. */
        buf_adds(&b, "List-Unsubscribe: <");
        buf_adds(&b, m->list_unsubscribe);
        buf_adds(&b, ">\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n");
    }

    if (m->html == NULL) {
        add_part_headers(&b, "text/plain");
        buf_adds(&b, "\r\n");
        add_qp(&b, m->text);
    } else {
        /* "=_" cannot occur in quoted-printable output ("=" is always followed by two hex digits or a line
         * break), so the boundary cannot collide with the parts whatever they contain (RFC 2045 §6.7 note). */
        struct st_buf_t bd = {NULL, 0, 0};
        buf_adds(&bd, "=_parley_");
        add_random_hex(&bd, BOUNDARY_RANDOM);
        buf_adds(&b, "Content-Type: multipart/alternative; boundary=\"");
        buf_adds(&b, bd.p);
        buf_adds(&b, "\"\r\n\r\n");
        buf_adds(&b, "--");
        buf_adds(&b, bd.p);
        buf_adds(&b, "\r\n");
        add_part_headers(&b, "text/plain");
        buf_adds(&b, "\r\n");
        add_qp(&b, m->text);
        buf_adds(&b, "--");
        buf_adds(&b, bd.p);
        buf_adds(&b, "\r\n");
        add_part_headers(&b, "text/html");
        buf_adds(&b, "\r\n");
        add_qp(&b, m->html);
        buf_adds(&b, "--");
        buf_adds(&b, bd.p);
        buf_adds(&b, "--\r\n");
        free(bd.p);
    }

    *out = b.p;
    *out_len = b.len;
    b.p = NULL;
    ret = 0;
Exit:
    free(b.p);
    free(subject);
    free(id_name);
    return ret;
}
