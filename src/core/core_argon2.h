#ifndef CORE_ARGON2_H
#define CORE_ARGON2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Password hashing with argon2id over libargon2, stored as PHC strings (security checklist Part 2 B):
 *
 *     $argon2id$v=19$m=19456,t=2,p=1$<salt, 16 bytes, unpadded base64>$<hash, 32 bytes, unpadded base64>
 *
 * The parameters live in the string, so the cost can be raised in the config and old hashes upgraded at the next
 * successful login (core_argon2_needs_rehash).
 *
 * THREADING: every function here except core_argon2_needs_rehash costs about 50 ms of CPU and 19 MiB of memory at
 * the default cost. They must never run on an event-loop thread: call them from the helper threads only. They are
 * thread-safe (libargon2 writes no global state and wipes its own buffers; the salt comes from OpenSSL's thread-safe
 * RNG).
 *
 * Passwords are bytes: pass the output of core_password_normalize, never the raw client input, so the ligature
 * and full-width forms of a password verify alike. */

/** Cost parameters. */
typedef struct {
    uint32_t m_kib; /**< memory in KiB; at least 8 * p */
    uint32_t t;     /**< passes over memory; at least 1 */
    uint32_t p;     /**< lanes (and threads); at least 1 */
} core_argon2_params_t;

/** OWASP's first argon2id row: 19 MiB, 2 passes, 1 lane. */
#define CORE_ARGON2_PARAMS_DEFAULT ((core_argon2_params_t){.m_kib = 19456, .t = 2, .p = 1})

/* Bounds for configured costs and for costs read back from a stored hash. The upper ones keep a corrupted or
 * hostile record from making one verification allocate gigabytes or run for minutes. */
#define CORE_ARGON2_M_KIB_MAX 1048576u /**< 1 GiB */
#define CORE_ARGON2_T_MAX 64u
#define CORE_ARGON2_P_MAX 16u
#define CORE_ARGON2_SALT_BYTES 16 /**< 128-bit salt */
#define CORE_ARGON2_HASH_BYTES 32
#define CORE_ARGON2_PW_MAX_BYTES 4096 /**< longer inputs are refused rather than hashed (checklist B.11) */
#define CORE_ARGON2_PHC_MAX 128       /**< a PHC buffer this large fits every string within the bounds above */

/**
 * Returns true when PARAMS is within the bounds above (m_kib >= 8 * p, t >= 1, 1 <= p, each at most its max).
 * The config loader should refuse other values.
 */
bool core_argon2_params_are_valid(const core_argon2_params_t *params);

/**
 * Hashes PW (LEN bytes) with argon2id under PARAMS and a fresh 128-bit salt, writing the NUL-terminated PHC string
 * into PHC (PHC_CAP bytes; CORE_ARGON2_PHC_MAX is always enough). Blocks for the full cost: never on a loop thread.
 *
 * Returns 0, CORE_ERR_INVALID when PARAMS is out of bounds, LEN exceeds CORE_ARGON2_PW_MAX_BYTES or PHC_CAP is too
 * small (PHC then holds ""), or CORE_ERR_INTERNAL when libargon2 fails (out of memory for the lanes, for instance).
 */
int core_argon2_hash(const char *pw, size_t len, const core_argon2_params_t *params, char *phc, size_t phc_cap);

/**
 * Checks PW (LEN bytes) against the stored PHC string in constant time (libargon2 compares the hashes with a
 * constant-time loop). Costs what the stored parameters say: never on a loop thread.
 *
 * Returns 0 when it matches, CORE_ERR_UNAUTHORIZED when it does not, CORE_ERR_INVALID when PHC is not an argon2id
 * v=19 PHC string within the bounds above or LEN exceeds CORE_ARGON2_PW_MAX_BYTES, and CORE_ERR_INTERNAL when
 * libargon2 fails for another reason. A login answers every non-zero result with the same 401.
 */
int core_argon2_verify(const char *phc, const char *pw, size_t len);

/**
 * Returns true when the stored PHC string should be replaced after a successful login: its m, t or p is lower than
 * in PARAMS, it is not argon2id v=19, its salt or hash is shorter than ours, or it does not parse. Equal or stronger
 * parameters return false, so lowering the config never churns hashes. Cheap: safe on any thread.
 */
bool core_argon2_needs_rehash(const char *phc, const core_argon2_params_t *params);

/**
 * Hashes a fixed dummy password under PARAMS and discards the result, so a login for an unknown account takes as
 * long as a wrong password for a known one (no account enumeration by timing). Never on a loop thread.
 */
void core_argon2_dummy(const core_argon2_params_t *params);

#endif
