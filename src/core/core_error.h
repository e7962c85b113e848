#ifndef CORE_ERROR_H
#define CORE_ERROR_H

/* Errors are negative ints (libuv style): 0 is success, CORE_ERR_<NAME> a failure from core_errors.def.
 * CORE_ERR_NOMEM does not exist on purpose: out-of-memory aborts. */

enum {
#define X(name, status, code, message) CORE_ERR_##name##_IDX,
#include "core/core_errors.def"
#undef X
    CORE_ERR__COUNT
};

enum {
#define X(name, status, code, message) CORE_ERR_##name = -(CORE_ERR_##name##_IDX + 1),
#include "core/core_errors.def"
#undef X
};

/** HTTP status for an error code; 500 for anything that is not in the table. */
int core_error_status(int err);
/** The stable JSON `code` string ("bad_json" …); "internal" for unknown codes. Static storage. */
const char *core_error_code(int err);
/** The default human message; static storage. */
const char *core_error_message(int err);
/** Looks a JSON code string up; returns its CORE_ERR_* or 0 when unknown. */
int core_error_from_code(const char *code);

#endif
