#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <unicase.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>
#include <zxcvbn.h>
#include "core/core_error.h"
#include "core/core_password.h"

/* zxcvbn returns log2(guesses); 10^10 guesses are 10 * log2(10) bits. */
#define MIN_BITS (CORE_PASSWORD_MIN_GUESSES_LOG10 * 3.32192809488736234787)

/* A word shorter than this would refuse too much ("al" is in many passwords), so the issue sets 3. */
#define MIN_PERSONAL_CHARS 3

/* Username, local part, its part before '+', and pieces of the local part; a fixed cap keeps this allocation-free. */
#define MAX_USER_WORDS 12

/* Thread safety of zxcvbn, checked for Debian's libzxcvbn 2.5: the dictionary is compiled in (zxcvbn.h defines
 * ZxcvbnInit as a macro that returns 1 unless USE_DICT_FILE is set, and the shared library exports only ZxcvbnMatch
 * and ZxcvbnFreeInfo), the object has empty .data and .bss sections, and ZxcvbnMatch keeps all of its state in
 * locals and malloc'ed nodes. It is therefore re-entrant and needs no mutex. Its only shared input is the ctype
 * table of the current locale, which is read-only. */

static void set_why(char *why, size_t whylen, const char *text)
{
    if (whylen > 0)
        snprintf(why, whylen, "%s", text);
}

void core_password_free(char *p, size_t len)
{
    if (p == NULL)
        return;
    OPENSSL_cleanse(p, len);
    free(p);
}

int core_password_normalize(const char *pw, size_t len, char **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (len > CORE_PASSWORD_MAX_INPUT_BYTES || (pw == NULL && len > 0))
        return CORE_ERR_INVALID;
    const uint8_t *s = (const uint8_t *)pw;
    /* U+0000 is valid UTF-8 but would cut the C string that zxcvbn and the callers see. */
    if (len > 0 && (u8_check(s, len) != NULL || memchr(s, 0, len) != NULL))
        return CORE_ERR_INVALID;

    /* u8_normalize writes into a buffer we own when the result fits, so the secret exists only in memory we wipe.
     * Three times the input plus slack covers every ordinary password; the rare larger result comes back in a
     * buffer of libunistring's, which is copied and wiped below. One byte stays free for the NUL. */
    size_t cap = len * 3 + 16;
    uint8_t *buf = malloc(cap);
    if (buf == NULL)
        abort();
    size_t n = cap - 1;
    uint8_t *r = buf;
    if (len > 0)
        r = u8_normalize(UNINORM_NFKC, s, len, buf, &n);
    else
        n = 0;
    if (r == NULL) {
        core_password_free((char *)buf, cap);
        if (errno == ENOMEM)
            abort();
        return CORE_ERR_INVALID;
    }
    if (r != buf) {
        /* The partial output left in BUF is secret too. */
        core_password_free((char *)buf, cap);
        if (n > CORE_PASSWORD_MAX_NORMALIZED_BYTES) {
            core_password_free((char *)r, n);
            return CORE_ERR_INVALID;
        }
        buf = malloc(n + 1);
        if (buf == NULL)
            abort();
        memcpy(buf, r, n);
        core_password_free((char *)r, n);
    }
    buf[n] = '\0';
    /* u8_normalize writes nothing past the N bytes it reports, so wiping N bytes at free time wipes every secret
     * byte even though the buffer may be larger. */
    *out = (char *)buf;
    *out_len = n;
    return 0;
}

/* Case-folds S (N bytes) with NFKC into a malloc'ed NUL-terminated string. Returns NULL for invalid UTF-8, which
 * can only come from a caller that skipped validation of the user name or e-mail; such a word is then ignored. */
static char *fold(const char *s, size_t n, size_t *outlen)
{
    if (u8_check((const uint8_t *)s, n) != NULL)
        return NULL;
    size_t m = 0;
    uint8_t *f = u8_casefold((const uint8_t *)s, n, NULL, UNINORM_NFKC, NULL, &m);
    if (f == NULL) {
        if (errno == ENOMEM)
            abort();
        return NULL;
    }
    char *z = malloc(m + 1);
    if (z == NULL)
        abort();
    memcpy(z, f, m);
    z[m] = '\0';
    /* When S is the password, F is a copy of it. */
    core_password_free((char *)f, m);
    *outlen = m;
    return z;
}

static bool is_personal(const char *w, size_t wlen)
{
    return w != NULL && u8_mbsnlen((const uint8_t *)w, wlen) >= MIN_PERSONAL_CHARS;
}

static bool contains(const char *hay, size_t haylen, const char *needle, size_t nlen)
{
    return memmem(hay, haylen, needle, nlen) != NULL;
}

/* Says in one sentence what zxcvbn found, naming the kind of pattern that covers most of the password. */
static const char *weak_reason(const ZxcMatch_t *info)
{
    enum { K_WORD, K_USER, K_REPEAT, K_SEQUENCE, K_KEYBOARD, K_DATE, K_COUNT };
    static const char *const text[K_COUNT] = {
        [K_WORD] = "This password is too easy to guess: it is a common password or word. Add more words or characters.",
        /* Parenthesised so clang knows the split literal is one element. */
        [K_USER] = ("This password is too easy to guess: it is close to your user name or e-mail address. Add more "
                    "words or characters."),
        [K_REPEAT] =
            "This password is too easy to guess: it repeats characters or words. Add more words or characters.",
        [K_SEQUENCE] = "This password is too easy to guess: it is a sequence like abcd or 1234. Add more words or "
                       "characters.",
        [K_KEYBOARD] = "This password is too easy to guess: it is a keyboard pattern like qwerty. Add more words or "
                       "characters.",
        [K_DATE] = "This password is too easy to guess: it is mostly a date or a year. Add more words or characters.",
    };
    int covered[K_COUNT] = {0};
    for (const ZxcMatch_t *p = info; p != NULL; p = p->Next) {
        int type = (int)p->Type;
        int len = p->Length < 0 ? -p->Length : p->Length;
        if (type >= MULTIPLE_MATCH) {
            covered[K_REPEAT] += len;
            continue;
        }
        switch (type) {
        case DICTIONARY_MATCH:
        case DICT_LEET_MATCH:
            covered[K_WORD] += len;
            break;
        case USER_MATCH:
        case USER_LEET_MATCH:
            covered[K_USER] += len;
            break;
        case REPEATS_MATCH:
            covered[K_REPEAT] += len;
            break;
        case SEQUENCE_MATCH:
            covered[K_SEQUENCE] += len;
            break;
        case SPATIAL_MATCH:
            covered[K_KEYBOARD] += len;
            break;
        case DATE_MATCH:
        case YEAR_MATCH:
            covered[K_DATE] += len;
            break;
        default: /* brute force and the long-password tail say nothing a person can act on */
            break;
        }
    }
    int best = -1;
    for (int k = 0; k < K_COUNT; ++k)
        if (covered[k] > 0 && (best < 0 || covered[k] > covered[best]))
            best = k;
    if (best < 0)
        return "This password is too easy to guess. Add more words or characters.";
    return text[best];
}

/* Adds W to the NULL-terminated zxcvbn user dictionary WORDS when there is room and it is long enough. */
static void add_word(const char **words, size_t *nwords, const char *w, size_t wlen)
{
    if (w != NULL && *nwords + 1 < MAX_USER_WORDS && is_personal(w, wlen)) {
        words[*nwords] = w;
        words[++*nwords] = NULL;
    }
}

int core_password_check(const char *pw, size_t len, const char *username, const char *email, uint32_t min_chars,
                        char *why, size_t whylen)
{
    char *norm = NULL, *pwfold = NULL, *ufold = NULL, *lfold = NULL, *pieces = NULL;
    size_t nlen = 0, pwfoldlen = 0, ufoldlen = 0, lfoldlen = 0;
    const char *words[MAX_USER_WORDS] = {NULL};
    size_t nwords = 0;
    char reason[64];
    int ret = CORE_ERR_INVALID;

    if (whylen > 0)
        why[0] = '\0';
    if (min_chars < CORE_PASSWORD_MIN_CHARS_FLOOR)
        min_chars = CORE_PASSWORD_MIN_CHARS_FLOOR;
    if (min_chars > CORE_PASSWORD_MAX_CHARS)
        min_chars = CORE_PASSWORD_MAX_CHARS;

    if (len > CORE_PASSWORD_MAX_INPUT_BYTES) {
        set_why(why, whylen, "Use at most 128 characters.");
        goto Exit;
    }
    if (core_password_normalize(pw, len, &norm, &nlen) != 0) {
        if (pw == NULL || u8_check((const uint8_t *)pw, len) != NULL)
            set_why(why, whylen, "The password is not valid text (UTF-8). Type it again.");
        else if (memchr(pw, 0, len) != NULL)
            set_why(why, whylen, "Do not use control characters in your password.");
        else
            set_why(why, whylen, "Use at most 128 characters.");
        goto Exit;
    }

    /* Control characters (newline, tab, escape) cannot be typed reliably into a password field, so a password
     * holding one would most likely lock its owner out. NIST asks for all printing characters to be allowed, so
     * only the Cc category is refused. */
    size_t nchars = 0;
    for (const uint8_t *s = (const uint8_t *)norm, *end = s + nlen; s < end; ++nchars) {
        ucs4_t uc;
        s += u8_mbtouc(&uc, s, (size_t)(end - s));
        if (uc_is_general_category(uc, UC_CATEGORY_Cc)) {
            set_why(why, whylen, "Do not use control characters in your password.");
            goto Exit;
        }
    }
    if (nchars > CORE_PASSWORD_MAX_CHARS) {
        set_why(why, whylen, "Use at most 128 characters.");
        goto Exit;
    }
    if (nchars < min_chars) {
        snprintf(reason, sizeof(reason), "Use at least %u characters.", (unsigned)min_chars);
        set_why(why, whylen, reason);
        goto Exit;
    }

    /* NFKC case folding on both sides makes "ALICE", "alice" and full-width "ａｌｉｃｅ" the same word. */
    pwfold = fold(norm, nlen, &pwfoldlen);
    if (pwfold == NULL) {
        set_why(why, whylen, "The password is not valid text (UTF-8). Type it again.");
        goto Exit;
    }
    if (username != NULL)
        ufold = fold(username, strlen(username), &ufoldlen);
    if (is_personal(ufold, ufoldlen) && contains(pwfold, pwfoldlen, ufold, ufoldlen)) {
        set_why(why, whylen, "Do not use your user name in your password.");
        goto Exit;
    }
    add_word(words, &nwords, ufold, ufoldlen);

    if (email != NULL) {
        const char *at = strrchr(email, '@');
        lfold = fold(email, at != NULL ? (size_t)(at - email) : strlen(email), &lfoldlen);
    }
    if (lfold != NULL) {
        /* "alice+news@example.org" is Alice's address too, so the part before the tag counts on its own. */
        const char *plus = memchr(lfold, '+', lfoldlen);
        size_t baselen = plus != NULL ? (size_t)(plus - lfold) : lfoldlen;
        if ((is_personal(lfold, lfoldlen) && contains(pwfold, pwfoldlen, lfold, lfoldlen)) ||
            (is_personal(lfold, baselen) && contains(pwfold, pwfoldlen, lfold, baselen))) {
            set_why(why, whylen, "Do not use your e-mail address in your password.");
            goto Exit;
        }
        add_word(words, &nwords, lfold, lfoldlen);
        /* "john.smith" also makes "smith" a word zxcvbn should know; the pieces are not refused outright because
         * short names are common words, but they lower the estimate. */
        pieces = malloc(lfoldlen + 1);
        if (pieces == NULL)
            abort();
        memcpy(pieces, lfold, lfoldlen + 1);
        char *start = pieces;
        for (char *c = pieces;; ++c) {
            bool sep = *c == '.' || *c == '+' || *c == '_' || *c == '-' || *c == '\0';
            if (!sep)
                continue;
            bool last = *c == '\0';
            *c = '\0';
            if ((size_t)(c - start) < lfoldlen)
                add_word(words, &nwords, start, (size_t)(c - start));
            if (last)
                break;
            start = c + 1;
        }
    }

    ZxcMatch_t *info = NULL;
    double bits = ZxcvbnMatch(norm, words, &info);
    if (bits < MIN_BITS) {
        set_why(why, whylen, weak_reason(info));
        ZxcvbnFreeInfo(info);
        goto Exit;
    }
    ZxcvbnFreeInfo(info);
    ret = 0;

Exit:
    core_password_free(norm, nlen);
    core_password_free(pwfold, pwfoldlen);
    free(ufold);
    free(lfold);
    free(pieces);
    return ret;
}
