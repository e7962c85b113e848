#ifndef CORE_PASSWORD_H
#define CORE_PASSWORD_H

#include <stddef.h>
#include <stdint.h>

/* The password policy (security checklist Part 2 A, issue 4): any Unicode, NFKC-normalised, counted in code points,
 * between min_chars (never below 8) and 128, and refused when zxcvbn estimates fewer than 10^10 guesses or when it
 * contains the user name or the e-mail's local part. Pure functions with no global state: thread-safe.
 * core_password_check takes about 0.1 ms for ordinary input and up to about 6 ms for 128 repeated characters
 * (zxcvbn, measured on the dev machine), so it belongs on the helper threads with the argon2 calls, not on a loop;
 * core_password_normalize is cheap. */

#define CORE_PASSWORD_MIN_CHARS_FLOOR 8         /**< min_chars below this is raised to it (NIST 800-63B 5.1.1.2) */
#define CORE_PASSWORD_MIN_CHARS_DEFAULT 12      /**< the issue's default; the config may raise it */
#define CORE_PASSWORD_MAX_CHARS 128             /**< code points after NFKC (ASVS 2.1.2) */
#define CORE_PASSWORD_MAX_INPUT_BYTES 1024      /**< raw input cap: 128 code points take at most 512 bytes of UTF-8 */
#define CORE_PASSWORD_MAX_NORMALIZED_BYTES 4096 /**< NFKC may expand a code point up to 18 times */
#define CORE_PASSWORD_MIN_GUESSES_LOG10 10      /**< zxcvbn must estimate at least 10^10 guesses */
#define CORE_PASSWORD_WHY_MAX 160               /**< a why buffer this large never truncates a reason */

/**
 * Validates PW (LEN bytes, need not be NUL-terminated) as UTF-8 and returns its NFKC form, so that visually equal
 * inputs (the "ﬁ" ligature and "fi", full-width and ASCII letters) hash the same. Use it on every password before
 * hashing or verifying.
 *
 * On success *OUT is a malloc'ed, NUL-terminated string of *OUT_LEN bytes; the caller must release it with
 * core_password_free(*OUT, *OUT_LEN), which wipes it. On failure *OUT is NULL and nothing needs freeing.
 *
 * Returns 0, or CORE_ERR_INVALID when PW is not valid UTF-8 (overlong forms, surrogates and code points beyond
 * U+10FFFF included), contains U+0000, is longer than CORE_PASSWORD_MAX_INPUT_BYTES, or normalises to more than
 * CORE_PASSWORD_MAX_NORMALIZED_BYTES. It does not apply the policy: a login must accept what an earlier policy
 * accepted.
 */
int core_password_normalize(const char *pw, size_t len, char **out, size_t *out_len);

/** Wipes LEN bytes of P with OPENSSL_cleanse and frees it. P may be NULL. */
void core_password_free(char *p, size_t len);

/**
 * Applies the policy to a new password (registration, change, reset). PW is the raw input (LEN bytes); it is
 * normalised here, so call it with what the client sent, then core_password_normalize the same input for hashing.
 *
 * USERNAME and EMAIL are NUL-terminated and may be NULL. The password is refused when it contains, compared
 * case-insensitively after NFKC case folding, the user name or the e-mail's local part (the part before the last
 * '@', and its part before a '+' tag); each only when it is at least 3 characters long. They and the pieces of the
 * local part are also given to zxcvbn as user dictionary words.
 *
 * MIN_CHARS is clamped to [CORE_PASSWORD_MIN_CHARS_FLOOR, CORE_PASSWORD_MAX_CHARS].
 *
 * Returns 0 when the password is acceptable, or CORE_ERR_INVALID with a sentence for the person in WHY (always
 * NUL-terminated when WHYLEN > 0; WHY may be NULL when WHYLEN is 0). The sentence never quotes the password.
 * Checks in this order: valid UTF-8 and no control characters, maximum then minimum length, user name, e-mail,
 * and last the guess estimate.
 */
int core_password_check(const char *pw, size_t len, const char *username, const char *email, uint32_t min_chars,
                        char *why, size_t whylen);

#endif
