/* libFuzzer target: the config loader on arbitrary YAML. Invariants: no crash or leak; a failure always explains
 * itself in one line that starts with the file name; a success yields a config that passes its own invariants. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/core_config.h"
#include "core/core_error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    core_config_t *cfg = NULL;
    err[0] = '\0';
    int rc = core_config_load_string((const char *)data, size, "fuzz.yaml", &cfg, err, sizeof(err));
    if (rc != 0) {
        if (rc != CORE_ERR_INVALID || cfg != NULL || strncmp(err, "fuzz.yaml", 9) != 0 || strchr(err, '\n') != NULL)
            abort();
        return 0;
    }
    if (cfg == NULL || cfg->num_listen < 1 || cfg->num_listen > CORE_CONFIG_MAX_LISTEN || cfg->num_sites < 1 ||
        cfg->num_sites > CORE_CONFIG_MAX_SITES || cfg->redis.url == NULL || cfg->public_url == NULL)
        abort();
    for (size_t i = 0; i < cfg->num_sites; ++i) {
        if (cfg->sites[i].num_origins < 1 ||
            core_config_find_site(cfg, cfg->sites[i].id, strlen(cfg->sites[i].id)) == NULL)
            abort();
    }
    core_config_free(cfg);
    return 0;
}
