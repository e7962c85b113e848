#include <string.h>
#include "core/core_error.h"

struct st_error_row_t {
    int status;
    const char *code;
    const char *message;
};

static const struct st_error_row_t rows[] = {
#define X(name, status, code, message) {status, code, message},
#include "core/core_errors.def"
#undef X
};

static const struct st_error_row_t *row_of(int err)
{
    int idx = -err - 1;
    if (err >= 0 || idx >= CORE_ERR__COUNT)
        return &rows[-CORE_ERR_INTERNAL - 1];
    return &rows[idx];
}

int core_error_status(int err)
{
    return row_of(err)->status;
}

const char *core_error_code(int err)
{
    return row_of(err)->code;
}

const char *core_error_message(int err)
{
    return row_of(err)->message;
}

int core_error_from_code(const char *code)
{
    for (int i = 0; i < CORE_ERR__COUNT; ++i)
        if (strcmp(rows[i].code, code) == 0)
            return -(i + 1);
    return 0;
}
