#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include "core/core_log.h"

static core_log_level_t min_level = CORE_LOG_INFO;
static const char *const level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

void core_log_set_level(core_log_level_t level)
{
    min_level = level;
}

void core_log(core_log_level_t level, const char *fmt, ...)
{
    if (level < min_level)
        return;
    char line[2048];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    size_t n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%SZ", &tm);
    int k = snprintf(line + n, sizeof(line) - n, " parleyd[%d] %s ", (int)getpid(), level_names[level]);
    if (k > 0)
        n += (size_t)k;
    va_list ap;
    va_start(ap, fmt);
    k = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
    va_end(ap);
    n = k < 0 ? n : (n + (size_t)k >= sizeof(line) - 1 ? sizeof(line) - 2 : n + (size_t)k);
    line[n++] = '\n';
    /* One write per line keeps lines from several threads whole. */
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w;
}
