/* What `parleyd import` and `parleyd export` share: the configuration, the site, the secret and Redis.
 *
 * Redis: with a configured redis.url the tools connect to it, like another parleyd would. With the embedded default
 * they first look for the redis-server of a parleyd running on the same data_dir (its unix socket answers PING) and
 * use it, so importing into a live server is safe: every comment goes in through one Lua script, atomically, and
 * the thread's version changes so parleyd's page cache notices. When no parleyd runs, the tool starts the embedded
 * redis-server itself, exactly as parleyd does (same socket, AOF with fsync always), and stops it at the end.
 * Starting parleyd while a tool holds the embedded Redis fails cleanly ("a Redis already answers"): wait for the
 * tool to finish. */
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>
#include "core/core_log.h"
#include "store/store_internal.h" /* store_script_init, as main.c */
#include "tool/tool.h"

int tool_env_open(tool_env_t *env, const char *cmd, const char *conf_path, const char *site_id)
{
    char err[1024];
    memset(env, 0, sizeof(*env));
    if (core_config_load(conf_path, &env->cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "parleyd %s: %s\n", cmd, err);
        return 1;
    }
    /* Only warnings and errors: the tool's own output is its summary. */
    core_log_set_level(CORE_LOG_WARN);
    if (site_id != NULL) {
        env->site = core_config_find_site(env->cfg, site_id, strlen(site_id));
        if (env->site == NULL) {
            fprintf(stderr, "parleyd %s: no site \"%s\" in %s (sites:", cmd, site_id, conf_path);
            for (size_t i = 0; i < env->cfg->num_sites; ++i)
                fprintf(stderr, " %s", env->cfg->sites[i].id);
            fprintf(stderr, ")\n");
            goto Error;
        }
    } else if (env->cfg->num_sites == 1) {
        env->site = &env->cfg->sites[0];
    } else {
        fprintf(stderr, "parleyd %s: %s has %zu sites: choose one with --site ID\n", cmd, conf_path,
                env->cfg->num_sites);
        goto Error;
    }
    if (core_secret_load(env->cfg->secret_file, env->secret, err, sizeof(err)) != 0) {
        fprintf(stderr, "parleyd %s: %s\n", cmd, err);
        goto Error;
    }
    char sock[512] = "";
    if (strcmp(env->cfg->redis.url, "embedded") == 0 &&
        !store_embedded_running(env->cfg->data_dir, sock, sizeof(sock)) &&
        store_embedded_start(env->cfg->data_dir, sock, sizeof(sock), &env->redis_pid, err, sizeof(err)) != 0) {
        fprintf(stderr, "parleyd %s: %s\n", cmd, err);
        goto Error;
    }
    if (store_target_init(&env->target, env->cfg, sock, err, sizeof(err)) != 0) {
        fprintf(stderr, "parleyd %s: %s\n", cmd, err);
        goto Error;
    }
    store_script_init();
    if (store_bulk_open(&env->target, env->cfg->redis.prefix, &env->bulk, err, sizeof(err)) != 0) {
        fprintf(stderr, "parleyd %s: %s\n", cmd, err);
        goto Error;
    }
    return 0;
Error:
    tool_env_close(env);
    return 1;
}

void tool_env_close(tool_env_t *env)
{
    store_bulk_close(env->bulk);
    store_embedded_stop(env->redis_pid);
    store_target_clear(&env->target);
    core_config_free(env->cfg);
    OPENSSL_cleanse(env->secret, sizeof(env->secret));
    memset(env, 0, sizeof(*env));
}
