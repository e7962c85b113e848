#include <stdio.h>
#include <sys/time.h>
#include <time.h>
#include "core/core_time.h"

uint64_t core_now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

size_t core_iso8601(uint64_t ms, bool with_ms, char out[CORE_ISO8601_MAX])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t n = strftime(out, CORE_ISO8601_MAX, "%Y-%m-%dT%H:%M:%S", &tm);
    int m = with_ms ? snprintf(out + n, CORE_ISO8601_MAX - n, ".%03uZ", (unsigned)(ms % 1000))
                    : snprintf(out + n, CORE_ISO8601_MAX - n, "Z");
    return n + (m > 0 ? (size_t)m : 0);
}
