#include <string.h>
#include "core/core_networks.h"

static const char *const ids[] = {
#define X(id, label) #id,
#include "core/core_networks.def"
#undef X
};

static const char *const labels[] = {
#define X(id, label) label,
#include "core/core_networks.def"
#undef X
};

const char *core_network_id(core_network_t n)
{
    return ids[n];
}

const char *core_network_label(core_network_t n)
{
    return labels[n];
}

int core_network_find(const char *id, size_t len)
{
    for (int i = 0; i < CORE_NETWORK__COUNT; ++i)
        if (strlen(ids[i]) == len && memcmp(ids[i], id, len) == 0)
            return i;
    return -1;
}
