#ifndef CORE_LOG_H
#define CORE_LOG_H

/* The error log: one line per event on stderr, "2026-11-27T01:02:03Z parleyd[pid] LEVEL message".
 * Thread-safe (one write(2) per line). Never pass secrets or raw tokens. */

typedef enum { CORE_LOG_DEBUG, CORE_LOG_INFO, CORE_LOG_WARN, CORE_LOG_ERROR } core_log_level_t;

/** Sets the lowest level written (default INFO). Call before threads start. */
void core_log_set_level(core_log_level_t level);
/** Writes one line at LEVEL; printf-style. Lines longer than 2 KiB are cut. */
void core_log(core_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define core_log_debug(...) core_log(CORE_LOG_DEBUG, __VA_ARGS__)
#define core_log_info(...) core_log(CORE_LOG_INFO, __VA_ARGS__)
#define core_log_warn(...) core_log(CORE_LOG_WARN, __VA_ARGS__)
#define core_log_error(...) core_log(CORE_LOG_ERROR, __VA_ARGS__)

#endif
