#ifndef CORE_LOG_H
#define CORE_LOG_H

#include <stdbool.h>
#include <stddef.h>

/* The error log: one line per event, on stderr or in the file named by error_log. Two formats (log_format):
 *   text  "2026-11-27T01:02:03Z parleyd[pid] LEVEL message"
 *   json  {"time":"2026-11-27T01:02:03.456Z","level":"info","pid":123,"msg":"message"}
 * Thread-safe: one write(2) per line, and a line is never split. Never pass secrets or raw tokens.
 *
 * Log files (the error log, and the access log through core_log_file_open) are reopened by core_log_reopen, which
 * main.c calls on SIGHUP, so that logrotate can rename them: each file keeps one descriptor number for the life of
 * the process, and a reopen dup2()s a freshly opened descriptor onto that number. dup2 swaps what the number refers
 * to atomically, so a writer on another thread writes its whole line either to the old file or to the new one, with
 * no lock on the write path and no descriptor that could be closed under a writer. */

typedef enum { CORE_LOG_DEBUG, CORE_LOG_INFO, CORE_LOG_WARN, CORE_LOG_ERROR } core_log_level_t;

/** Sets the lowest level written (default INFO). Call before threads start. */
void core_log_set_level(core_log_level_t level);
/** Chooses JSON lines (true) or text lines (false, the default). Call before threads start. */
void core_log_set_json(bool json);
/**
 * Sends the error log to PATH (appended, created 0640), kept for core_log_reopen; NULL, "" or "-" keeps stderr.
 * Call before threads start. Returns 0, or a negative CORE_ERR_* with a message in ERRBUF (the log stays on stderr).
 */
int core_log_set_file(const char *path, char *errbuf, size_t errlen);
/** Writes one line at LEVEL; printf-style. Messages longer than about 2 KiB are cut. */
void core_log(core_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/**
 * Opens PATH for appending (created with MODE if missing, close-on-exec) and registers it for core_log_reopen.
 * Returns the descriptor, which stays the same number for the life of the process (the caller keeps it and
 * writes to it from any thread), or -1 with a message in ERRBUF. At most 8 files. Call before threads start.
 */
int core_log_file_open(const char *path, int mode, char *errbuf, size_t errlen);
/**
 * Reopens every registered file by its path (a renamed file is left to whoever renamed it, and a new one is
 * created). A file that cannot be reopened keeps its old descriptor and is reported in the log. Returns the number
 * reopened. Main thread only (not concurrent with core_log_file_open or core_log_close_files).
 */
size_t core_log_reopen(void);
/** Closes every registered file (after every thread that writes to them has stopped); later lines go to stderr. */
void core_log_close_files(void);

#define core_log_debug(...) core_log(CORE_LOG_DEBUG, __VA_ARGS__)
#define core_log_info(...) core_log(CORE_LOG_INFO, __VA_ARGS__)
#define core_log_warn(...) core_log(CORE_LOG_WARN, __VA_ARGS__)
#define core_log_error(...) core_log(CORE_LOG_ERROR, __VA_ARGS__)

#endif
