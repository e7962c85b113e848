/* The mailer thread: the one reader of the outbox stream (see mail.h for the contract, store.h for the Redis side).
 *
 * Flow of one mail: a worker XADDs it (store_outbox_add); this thread reads it through the consumer group, sends
 * it with mail_smtp_send, and only then settles it in Redis: acknowledged and deleted after a 250, moved to the
 * delay set after a temporary failure, or to the dead-letter stream after a permanent one (or when it is too old).
 * Until it is settled it stays in the group's pending list, so a crash at any point sends it again on the next
 * start: delivery is at-least-once. Exactly-once is not on offer with SMTP, because the relay's 250 and our
 * acknowledgement can never be one atomic step; a rare duplicate beats a lost password-reset mail.
 *
 * Why one thread: sends are blocking and the load is small (mails per minute, not per millisecond), and a single
 * reader keeps the ordering and the retry bookkeeping simple. Several parleyd processes sharing one Redis each run
 * their own mailer under their own consumer name; entries a dead process left pending are claimed after 60 s. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "core/core_time.h"
#include "core/core_error.h"
#include "core/core_log.h"
#include "mail/mail.h"

/* BLOCK_MS bounds how long a stop waits for XREADGROUP, and how late a due retry starts. The queue gauges are
 * refreshed every STATS_EVERY_MS and when the queue goes idle. Backoff doubles up to RETRY_CAP_S between attempts.
 * SMTP_TIMEOUT_MS stays below store_sync's 60 s claim time, so no other mailer takes a mail still in flight.
 * ERROR_PAUSE_MS follows a Redis error; store_sync adds its own reconnect backoff. */
#define BLOCK_MS 500
#define STATS_EVERY_MS 10000
#define RETRY_CAP_S 3600
#define SMTP_TIMEOUT_MS 45000
#define ERROR_PAUSE_MS 250
#define CONSUMER_MAX 300

mail_stats_t mail_stats;

static struct {
    bool running;
    pthread_t thread;
    atomic_bool stop;
    const core_config_t *cfg;
    store_sync_t *sync;
    mail_smtp_conf_t smtp;
    char *username;
    char *password;
    char consumer[CONSUMER_MAX];
} outbox;

/* Sleeps MS in short steps so that a stop request is noticed within 50 ms. */
static void pause_ms(uint32_t ms)
{
    for (uint32_t slept = 0; slept < ms && !atomic_load(&outbox.stop); slept += 50) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static void refresh_gauges(void)
{
    uint64_t pending, delayed, dead;
    if (store_sync_outbox_stats(outbox.sync, &pending, &delayed, &dead) != 0)
        return;
    atomic_store(&mail_stats.pending, pending);
    atomic_store(&mail_stats.delayed, delayed);
    atomic_store(&mail_stats.dead_all, dead);
}

/* Seconds until the next attempt after ATTEMPTS earlier failures (this one excluded): initial * 2^attempts,
 * capped; computed by doubling so a large attempts count cannot overflow a shift. */
static uint64_t backoff_s(uint32_t attempts)
{
    uint64_t d = outbox.cfg->smtp.retry_initial_s;
    for (uint32_t i = 0; i < attempts && d < RETRY_CAP_S; ++i)
        d *= 2;
    return d < RETRY_CAP_S ? d : RETRY_CAP_S;
}

/* Settles one mail after an attempt. A failed settle leaves the entry pending, so it is sent again: for an
 * accepted mail that is a duplicate, which is why the warning says so. */
#define MAX_DELIVERIES 10

static void deliver(store_mail_t *m)
{
    mail_smtp_result_t res;
    char err[512];
    /* Every attempt that ends (sent, retry, dead letter) settles the entry, so a mail handed out again and again
     * is one whose attempts never end: parleyd dies while sending it. Without this cap such a mail would take the
     * mailer down on every start, for ever. */
    if (m->deliveries > MAX_DELIVERIES) {
        snprintf(err, sizeof(err), "handed out %u times without an outcome (the mailer stopped while sending it)",
                 m->deliveries);
        atomic_fetch_add(&mail_stats.dead, 1);
        core_log_warn("mail %s: %s; moved to the dead letters", m->id, err);
        if (store_sync_outbox_dead(outbox.sync, m, err) != 0)
            core_log_warn("mail %s: could not file the dead letter; it will be tried again", m->id);
        return;
    }
    int rc = mail_smtp_send(&outbox.smtp, m->from, m->rcpt, m->msg, m->msg_len, &res, err, sizeof(err));
    if (rc == 0) {
        atomic_fetch_add(&mail_stats.sent, 1);
        if (store_sync_outbox_ack(outbox.sync, m) != 0)
            core_log_warn("mail %s: sent, but the acknowledgement failed; it will be sent again", m->id);
        return;
    }
    if (atomic_load(&outbox.stop) && res.curl_code == 42 /* CURLE_ABORTED_BY_CALLBACK: our cancel */) {
        core_log_info("mail %s: sending interrupted by the stop; it stays queued", m->id);
        return;
    }
    uint64_t now = core_now_ms();
    if (res.permanent) {
        atomic_fetch_add(&mail_stats.dead, 1);
        core_log_warn("mail %s: refused for good, moved to the dead letters: %s", m->id, err);
        if (store_sync_outbox_dead(outbox.sync, m, err) != 0)
            core_log_warn("mail %s: could not file the dead letter; it will be tried again", m->id);
        return;
    }
    atomic_fetch_add(&mail_stats.failed, 1);
    uint64_t first = m->first_ms != 0 && m->first_ms <= now ? m->first_ms : now;
    if (now - first >= (uint64_t)outbox.cfg->smtp.retry_max_age_s * 1000) {
        char reason[700];
        snprintf(reason, sizeof(reason), "still failing after %u attempts over %llu s: %s", m->attempts + 1,
                 (unsigned long long)((now - first) / 1000), err);
        atomic_fetch_add(&mail_stats.dead, 1);
        core_log_warn("mail %s: giving up, moved to the dead letters: %s", m->id, reason);
        if (store_sync_outbox_dead(outbox.sync, m, reason) != 0)
            core_log_warn("mail %s: could not file the dead letter; it will be tried again", m->id);
        return;
    }
    uint64_t delay = backoff_s(m->attempts);
    core_log_warn("mail %s: temporary failure (attempt %u), retrying in %llu s: %s", m->id, m->attempts + 1,
                  (unsigned long long)delay, err);
    if (store_sync_outbox_retry(outbox.sync, m, now + delay * 1000) != 0)
        core_log_warn("mail %s: could not schedule the retry; it will be tried again now", m->id);
}

static void *mailer_main(void *arg)
{
    uint64_t last_stats = 0;
    bool busy = false; /* a mail was handled since the gauges were last refreshed */
    while (!atomic_load(&outbox.stop)) {
        uint64_t now = core_now_ms();
        if (now - last_stats >= STATS_EVERY_MS) {
            refresh_gauges();
            last_stats = now;
        }
        store_mail_t m;
        int rc = store_sync_outbox_next(outbox.sync, outbox.consumer, BLOCK_MS, &m);
        if (rc < 0) {
            pause_ms(ERROR_PAUSE_MS);
            continue;
        }
        if (rc == 0) {
            /* Idle: a good moment to make the gauges exact after a burst, without a round trip per mail. */
            if (busy) {
                refresh_gauges();
                last_stats = core_now_ms();
                busy = false;
            }
            continue;
        }
        deliver(&m);
        store_sync_mail_free(&m);
        busy = true;
    }
    return NULL;
}

static char *env_dup(const char *name)
{
    const char *v = name != NULL ? getenv(name) : NULL;
    if (v == NULL || v[0] == '\0')
        return NULL;
    size_t n = strlen(v);
    char *d = malloc(n + 1);
    if (d == NULL)
        abort();
    memcpy(d, v, n + 1);
    return d;
}

static void wipe_credentials(void)
{
    if (outbox.password != NULL) {
        memset(outbox.password, 0, strlen(outbox.password));
        free(outbox.password);
    }
    free(outbox.username);
    outbox.password = NULL;
    outbox.username = NULL;
}

int mail_outbox_start(const core_config_t *cfg, const store_target_t *target, char *errbuf, size_t errlen)
{
    if (cfg->smtp.url == NULL || outbox.running)
        return 0;
    outbox.cfg = cfg;
    atomic_store(&outbox.stop, false);
    if (cfg->smtp.username_env != NULL) {
        outbox.username = env_dup(cfg->smtp.username_env);
        outbox.password = env_dup(cfg->smtp.password_env);
        if (outbox.username == NULL || outbox.password == NULL) {
            snprintf(errbuf, errlen, "smtp: the environment variables %s and %s must both be set",
                     cfg->smtp.username_env, cfg->smtp.password_env);
            wipe_credentials();
            return CORE_ERR_INVALID;
        }
    }
    /* A consumer name that survives a restart lets the new process resend its own pending mails at once instead
     * of waiting 60 s for XAUTOCLAIM. The host name is that name for one parleyd per host. */
    char host[256];
    if (gethostname(host, sizeof(host)) != 0)
        snprintf(host, sizeof(host), "localhost");
    host[sizeof(host) - 1] = '\0';
    snprintf(outbox.consumer, sizeof(outbox.consumer), "parleyd@%s", host);

    outbox.smtp = (mail_smtp_conf_t){
        .url = cfg->smtp.url,
        .username = outbox.username,
        .password = outbox.password,
        .require_tls = cfg->smtp.require_tls,
        .ca_file = cfg->smtp.ca_file,
        .connect_timeout_ms = 10000,
        .timeout_ms = SMTP_TIMEOUT_MS,
        .cancel = &outbox.stop,
    };
    outbox.sync = store_sync_open(target, cfg->redis.prefix);
    int err = pthread_create(&outbox.thread, NULL, mailer_main, NULL);
    if (err != 0) {
        snprintf(errbuf, errlen, "mailer thread: pthread_create: %s", strerror(err));
        store_sync_close(outbox.sync);
        outbox.sync = NULL;
        wipe_credentials();
        return CORE_ERR_UNAVAILABLE;
    }
    outbox.running = true;
    core_log_info("mailer: sending the outbox to %s as consumer %s", cfg->smtp.url, outbox.consumer);
    return 0;
}

void mail_outbox_stop(void)
{
    if (!outbox.running)
        return;
    atomic_store(&outbox.stop, true);
    pthread_join(outbox.thread, NULL);
    outbox.running = false;
    store_sync_close(outbox.sync);
    outbox.sync = NULL;
    wipe_credentials();
}
