/* The retention thread: every privacy.sweep_interval_s it scrubs, in every thread, guest comments older than
 * privacy.retention_s of their author's e-mail, its keyed hash and the visitor hash (lua/comment_scrub.lua). It has
 * its own blocking connection (store_sync), walks the comment hashes with SCAN and each hash with HSCAN in small
 * steps, so Redis is never blocked for long, and sleeps in 100 ms slices so a stop is prompt. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>
#include "core/core_time.h"
#include "core/core_error.h"
#include "core/core_log.h"
#include "store/store.h"

static struct {
    pthread_t thread;
    bool started;
    atomic_bool stop;
    store_sync_t *sync;
    uint64_t retention_ms;
    uint32_t interval_s;
} ret;

/* Sleeps up to MS, returning early (false) when asked to stop. */
static bool nap(uint64_t ms)
{
    for (uint64_t slept = 0; slept < ms; slept += 100) {
        if (atomic_load(&ret.stop))
            return false;
        usleep(100 * 1000);
    }
    return !atomic_load(&ret.stop);
}

static void *retention_main(void *arg)
{
    (void)arg;
    /* The first sweep soon after the start (at most a minute), then every interval. */
    uint64_t wait = ret.interval_s < 60 ? (uint64_t)ret.interval_s * 1000 : 60000;
    while (nap(wait)) {
        uint64_t now = core_now_ms(), scrubbed = 0;
        uint64_t cutoff = ret.retention_ms == 0 ? 0 : (now > ret.retention_ms ? now - ret.retention_ms : 0);
        if (store_sync_retention_sweep(ret.sync, cutoff, &scrubbed) != 0)
            core_log_warn("retention: the sweep stopped early (Redis unavailable); it runs again in %u s",
                          ret.interval_s);
        else if (scrubbed > 0)
            core_log_info("retention: removed the e-mail and visitor hash of %llu guest comment(s) older than %llu s",
                          (unsigned long long)scrubbed, (unsigned long long)(ret.retention_ms / 1000));
        wait = (uint64_t)ret.interval_s * 1000;
    }
    return NULL;
}

int store_retention_start(const core_config_t *cfg, const store_target_t *target, char *errbuf, size_t errlen)
{
    /* Even with retention off (0 = keep for ever) the thread runs: its first complete sweep fills the e-mail index
     * for comments stored before it existed, and later sweeps then return at once. */
    ret.retention_ms = (uint64_t)cfg->privacy.retention_s * 1000;
    ret.interval_s = cfg->privacy.sweep_interval_s;
    atomic_store(&ret.stop, false);
    ret.sync = store_sync_open(target, cfg->redis.prefix);
    int err = pthread_create(&ret.thread, NULL, retention_main, NULL);
    if (err != 0) {
        store_sync_close(ret.sync);
        ret.sync = NULL;
        snprintf(errbuf, errlen, "retention thread: %s", strerror(err));
        return CORE_ERR_UNAVAILABLE;
    }
    ret.started = true;
    return 0;
}

void store_retention_stop(void)
{
    if (!ret.started)
        return;
    atomic_store(&ret.stop, true);
    pthread_join(ret.thread, NULL);
    store_sync_close(ret.sync);
    ret.sync = NULL;
    ret.started = false;
}
