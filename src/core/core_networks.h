#ifndef CORE_NETWORKS_H
#define CORE_NETWORKS_H

#include <stddef.h>

typedef enum {
#define X(id, label) CORE_NETWORK_##id,
#include "core/core_networks.def"
#undef X
    CORE_NETWORK__COUNT
} core_network_t;

/** The API id of a network ("x", "facebook" …); static storage. */
const char *core_network_id(core_network_t n);
/** Human label ("Hacker News"); static storage. */
const char *core_network_label(core_network_t n);
/** Finds a network by exact id (LEN bytes); returns its index or -1. */
int core_network_find(const char *id, size_t len);

#endif
