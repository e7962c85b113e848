#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "core/core_error.h"
#include "core/core_log.h"

#define LINE_MAX_BYTES 2048
#define MAX_FILES 8

static core_log_level_t min_level = CORE_LOG_INFO;
static bool json_lines;
static const char *const level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
static const char *const json_level_names[] = {"debug", "info", "warn", "error"};
/* Where error-log lines go: stderr, or the registered file of error_log. Set before threads start. */
static _Atomic int log_fd = STDERR_FILENO;

static struct {
    char path[4096];
    int fd;
    int mode;
} files[MAX_FILES];
static size_t num_files;

void core_log_set_level(core_log_level_t level)
{
    min_level = level;
}

void core_log_set_json(bool json)
{
    json_lines = json;
}

int core_log_file_open(const char *path, int mode, char *errbuf, size_t errlen)
{
    if (num_files == MAX_FILES || strlen(path) >= sizeof(files[0].path)) {
        snprintf(errbuf, errlen, "%s: too many log files, or the path is too long", path);
        return -1;
    }
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, (mode_t)mode);
    if (fd < 0) {
        snprintf(errbuf, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    memcpy(files[num_files].path, path, strlen(path) + 1);
    files[num_files].fd = fd;
    files[num_files].mode = mode;
    ++num_files;
    return fd;
}

int core_log_set_file(const char *path, char *errbuf, size_t errlen)
{
    if (path == NULL || path[0] == '\0' || strcmp(path, "-") == 0)
        return 0;
    int fd = core_log_file_open(path, 0640, errbuf, errlen);
    if (fd < 0)
        return CORE_ERR_INVALID;
    atomic_store(&log_fd, fd);
    return 0;
}

size_t core_log_reopen(void)
{
    size_t done = 0;
    for (size_t i = 0; i < num_files; ++i) {
        int fd = open(files[i].path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, (mode_t)files[i].mode);
        /* dup2 replaces what files[i].fd refers to in one step (the old file is closed by it), so threads writing
         * to that number never see it closed; dup2 does not carry O_CLOEXEC over, hence dup3. */
        if (fd < 0 || dup3(fd, files[i].fd, O_CLOEXEC) < 0) {
            int e = errno;
            if (fd >= 0)
                close(fd);
            core_log_warn("log file %s: cannot reopen (%s); still writing to the old file", files[i].path, strerror(e));
            continue;
        }
        close(fd);
        ++done;
    }
    return done;
}

void core_log_close_files(void)
{
    atomic_store(&log_fd, STDERR_FILENO);
    for (size_t i = 0; i < num_files; ++i)
        close(files[i].fd);
    num_files = 0;
}

/* Appends S (LEN bytes) to OUT at *N as the inside of a JSON string: quotes, backslashes and control characters
 * escaped, and any byte that is not part of well-formed UTF-8 replaced by U+FFFD, so that every line parses even
 * when a message carries bytes from outside (an SMTP reply, a path). Stops before CAP. */
static void json_escape(char *out, size_t *n, size_t cap, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        size_t el = 0, adv = 1;
        if (c == '"' || c == '\\') {
            esc[0] = '\\', esc[1] = (char)c, el = 2;
        } else if (c == '\n') {
            esc[0] = '\\', esc[1] = 'n', el = 2;
        } else if (c == '\t') {
            esc[0] = '\\', esc[1] = 't', el = 2;
        } else if (c < 0x20 || c == 0x7f) {
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4], esc[5] = hex[c & 15], el = 6;
        } else if (c < 0x80) {
            esc[0] = (char)c, el = 1;
        } else {
            /* The length of a well-formed sequence starting here (RFC 3629 table), or 0. */
            size_t want = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
            bool ok = want != 0 && i + want <= len;
            for (size_t k = 1; ok && k < want; ++k)
                ok = ((unsigned char)s[i + k] & 0xc0) == 0x80;
            if (ok && want >= 3) {
                unsigned char c1 = (unsigned char)s[i + 1];
                ok = !(c == 0xe0 && c1 < 0xa0) && !(c == 0xed && c1 > 0x9f) && !(c == 0xf0 && c1 < 0x90) &&
                     !(c == 0xf4 && c1 > 0x8f);
            }
            if (ok) {
                memcpy(esc, s + i, want);
                el = adv = want;
            } else {
                memcpy(esc, "\\ufffd", 6), el = 6;
            }
        }
        if (*n + el >= cap)
            return;
        memcpy(out + *n, esc, el);
        *n += el;
        i += adv;
    }
}

void core_log(core_log_level_t level, const char *fmt, ...)
{
    if (level < min_level)
        return;
    char msg[LINE_MAX_BYTES], line[LINE_MAX_BYTES * 2 + 128];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    size_t mlen = k < 0 ? 0 : ((size_t)k >= sizeof(msg) ? sizeof(msg) - 1 : (size_t)k);

    struct timeval tv;
    gettimeofday(&tv, NULL);
    time_t now = tv.tv_sec;
    struct tm tm;
    gmtime_r(&now, &tm);
    size_t n;
    if (json_lines) {
        n = strftime(line, sizeof(line), "{\"time\":\"%Y-%m-%dT%H:%M:%S", &tm);
        k = snprintf(line + n, sizeof(line) - n, ".%03dZ\",\"level\":\"%s\",\"pid\":%d,\"msg\":\"",
                     (int)(tv.tv_usec / 1000), json_level_names[level], (int)getpid());
        n += k > 0 ? (size_t)k : 0;
        json_escape(line, &n, sizeof(line) - 3, msg, mlen);
        line[n++] = '"';
        line[n++] = '}';
    } else {
        n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%SZ", &tm);
        k = snprintf(line + n, sizeof(line) - n, " parleyd[%d] %s ", (int)getpid(), level_names[level]);
        n += k > 0 ? (size_t)k : 0;
        memcpy(line + n, msg, mlen);
        n += mlen;
    }
    line[n++] = '\n';
    /* One write per line keeps lines from several threads whole. */
    ssize_t w = write(atomic_load(&log_fd), line, n);
    (void)w;
}
