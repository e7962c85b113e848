#ifndef CORE_TOKEN_H
#define CORE_TOKEN_H

#include <stddef.h>
#include <stdint.h>

/* Randomness, hashes and HMAC over OpenSSL 3, and their text encodings. Thread-safe. */

#define CORE_TOKEN_BYTES 32 /**< 256-bit tokens */
#define CORE_SHA256_LEN 32

/** Fills BUF with LEN bytes from OpenSSL's CSPRNG; aborts if the RNG fails (it never should). */
void core_random_bytes(void *buf, size_t len);
/** SHA-256 of DATA into OUT (32 bytes). */
void core_sha256(const void *data, size_t len, uint8_t out[CORE_SHA256_LEN]);
/** HMAC-SHA256 of DATA under KEY into OUT (32 bytes). */
void core_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len, uint8_t out[CORE_SHA256_LEN]);
/** Writes 2*LEN lower-case hex digits and a NUL into OUT (room for 2*LEN+1). Returns 2*LEN. */
size_t core_hex_encode(const uint8_t *in, size_t len, char *out);
/** Unpadded base64url of IN into OUT (room for 4*ceil(LEN/3)+1), NUL-terminated. Returns the length written. */
size_t core_base64url_encode(const uint8_t *in, size_t len, char *out);
/** Decodes unpadded base64url; returns the number of bytes or -1 on a bad character or if OUTCAP is too small. */
long core_base64url_decode(const char *in, size_t len, uint8_t *out, size_t outcap);
/**
 * A signed, expiring token for links in mails (one-click moderation, unsubscribe, manage-my-comments):
 * base64url(expires (8 bytes, big endian) || payload) "." base64url(HMAC-SHA256(key, purpose "\n" expires ||
 * payload) cut to 128 bits). PURPOSE separates uses, so a token made for one cannot serve another. The payload is
 * readable by whoever holds the token: put no secrets in it. Returns the length written into OUT (NUL-terminated),
 * or 0 when CAP is too small.
 */
size_t core_signed_make(const uint8_t *key, size_t keylen, const char *purpose, const void *payload, size_t len,
                        uint64_t expires, char *out, size_t cap);
/**
 * Checks a token made by core_signed_make for PURPOSE: the MAC (constant time), then NOW <= expires. On success
 * copies the payload into OUT (CAP bytes) and returns its length; returns -1 for a forged, expired, malformed or
 * too long token.
 */
long core_signed_open(const uint8_t *key, size_t keylen, const char *purpose, const char *token, size_t len,
                      uint64_t now, void *out, size_t cap);
/** Value of one hex digit (either case), or -1. */
int core_hex_value(int c);
/** Constant-time comparison of two equal-length buffers; 1 when equal. */
int core_memeq_ct(const void *a, const void *b, size_t len);

/**
 * Loads the server secret (64 hex digits = 32 bytes) from PATH into OUT, creating the file with a fresh random
 * secret and mode 0600 (and its directory, 0700) when it does not exist. A file readable by group or others is
 * refused. Returns 0 or CORE_ERR_INVALID with a message in ERRBUF.
 */
int core_secret_load(const char *path, uint8_t out[CORE_TOKEN_BYTES], char *errbuf, size_t errlen);

#endif
