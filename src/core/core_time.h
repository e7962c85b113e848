#ifndef CORE_TIME_H
#define CORE_TIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Wall-clock time, the one way every module reads and writes it. */

/** Room for core_iso8601's text and its NUL. */
#define CORE_ISO8601_MAX 32

/** Milliseconds since the Unix epoch (wall clock: stored times, expiries; not for measuring durations). */
uint64_t core_now_ms(void);
/**
 * MS as UTC ISO 8601 in OUT, NUL-terminated: "2026-11-27T08:03:39.123Z" with WITH_MS, else "2026-11-27T08:03:39Z";
 * returns the length.
 */
size_t core_iso8601(uint64_t ms, bool with_ms, char out[CORE_ISO8601_MAX]);

#endif
