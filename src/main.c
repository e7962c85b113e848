/* parleyd: argv, signals, threads, start and graceful stop.
 *
 * Start-up order matters: the config is validated first (and alone with --check-config); then the secret, the
 * embedded Redis (when redis.url is "embedded"), and every listening socket, so that anything that can fail does so
 * before a thread exists. Signals are blocked in every thread and taken synchronously by the main thread with
 * sigwait, so no handler ever runs inside h2o or hiredis. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include "core/core_config.h"
#include "core/core_log.h"
#include "core/core_token.h"
#include "store/store.h"
#include "store/store_internal.h"
#include "api/api.h"
#include "mail/mail.h"
#include "http/http.h"

struct st_thread_arg_t {
    http_server_t *srv;
    size_t idx;
};

static void *worker_main(void *p)
{
    struct st_thread_arg_t *a = p;
    http_server_run_worker(a->srv, a->idx);
    return NULL;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: parleyd [-c FILE] [--check-config] [--version]\n"
               "       parleyd import [-c FILE] [--site ID] [--format auto|wxr|disqus|parley] FILE\n"
               "       parleyd export [-c FILE] [--site ID] [--format parley|wxr] [-o FILE] [--with-secrets]\n"
               "  -c FILE          configuration (default conf/parley.yaml)\n"
               "  --check-config   validate the configuration and exit (0 = valid)\n"
               "  --version        print the version and exit\n");
}

static core_log_level_t level_of(const char *s)
{
    if (s == NULL)
        return CORE_LOG_INFO;
    if (strcmp(s, "debug") == 0)
        return CORE_LOG_DEBUG;
    if (strcmp(s, "warn") == 0)
        return CORE_LOG_WARN;
    if (strcmp(s, "error") == 0)
        return CORE_LOG_ERROR;
    return CORE_LOG_INFO;
}

/* Runs parleyd-tool from parleyd's own directory (else from PATH) with the same arguments; returns only on failure. */
static int exec_tool(char **argv)
{
    char self[PATH_MAX], path[PATH_MAX + 16];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash != NULL) {
            *slash = '\0';
            snprintf(path, sizeof(path), "%s/parleyd-tool", self);
            execv(path, argv);
        }
    }
    execvp("parleyd-tool", argv);
    fprintf(stderr, "parleyd %s: cannot run parleyd-tool (installed next to parleyd or on PATH): %s\n", argv[1],
            strerror(errno));
    return 1;
}

int main(int argc, char **argv)
{
    api_json_hooks_install(); /* before any jansson call: request bodies parse into their request's pool */
    /* The command-line tools (src/tool) run instead of the server, from their own binary (tool_main.c). */
    if (argc > 1 && (strcmp(argv[1], "import") == 0 || strcmp(argv[1], "export") == 0))
        return exec_tool(argv);
    const char *conf_path = "conf/parley.yaml";
    int check_only = 0;
    for (int i = 1; i < argc; ++i) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            conf_path = argv[++i];
        } else if (strcmp(argv[i], "--check-config") == 0) {
            check_only = 1;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("parleyd %s\n", PARLEY_VERSION);
            return 0;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }

    char err[1024];
    core_config_t *cfg;
    if (core_config_load(conf_path, &cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "parleyd: %s\n", err);
        return 1;
    }
    if (check_only) {
        printf("%s: configuration is valid\n", conf_path);
        core_config_free(cfg);
        return 0;
    }
    core_log_set_level(level_of(cfg->log_level));
    core_log_set_json(strcmp(cfg->log_format, "json") == 0);
    if (core_log_set_file(cfg->error_log, err, sizeof(err)) != 0) {
        fprintf(stderr, "parleyd: error_log %s\n", err);
        core_config_free(cfg);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);

    int rc = 1;
    pid_t redis_pid = 0;
    http_server_t *srv = NULL;
    store_target_t target = {0};
    uint8_t secret[CORE_TOKEN_BYTES];
    pthread_t *threads = NULL;
    struct st_thread_arg_t *args = NULL;
    size_t started = 0;
    int mail_ready = 0;

    if (core_secret_load(cfg->secret_file, secret, err, sizeof(err)) != 0)
        goto Exit;
    char sock[512] = "";
    if (strcmp(cfg->redis.url, "embedded") == 0 &&
        store_embedded_start(cfg->data_dir, sock, sizeof(sock), &redis_pid, err, sizeof(err)) != 0)
        goto Exit;
    if (store_target_init(&target, cfg, sock, err, sizeof(err)) != 0)
        goto Exit;
    store_script_init();
    mail_global_init(); /* curl_global_init is not thread-safe: before any thread exists */
    mail_ready = 1;
    api_shares_init(cfg);
    api_admin_init(cfg);
    if (http_server_create(&srv, cfg, &target, secret, sizeof(secret), err, sizeof(err)) != 0)
        goto Exit;

    /* Block the signals we wait for before creating threads, so every thread inherits the mask. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    /* The helper threads for password hashing: after the signal mask (they block every signal anyway), before the
     * workers, which attach to them as they start. */
    if (api_work_start(cfg->accounts.hash_threads, cfg->accounts.hash_queue) != 0) {
        snprintf(err, sizeof(err), "cannot start the helper threads for password hashing");
        goto Exit;
    }

    /* The mailer thread reads the outbox in Redis, so it starts once Redis and the target are known; after the
     * signal mask, so that it inherits it; before the workers, so a failure needs no join. */
    if (mail_outbox_start(cfg, &target, err, sizeof(err)) != 0)
        goto Exit;
    if (store_retention_start(cfg, &target, err, sizeof(err)) != 0)
        goto Exit;

    size_t n = http_server_num_workers(srv);
    threads = calloc(n, sizeof(*threads));
    args = calloc(n, sizeof(*args));
    if (threads == NULL || args == NULL)
        abort();
    for (; started < n; ++started) {
        args[started] = (struct st_thread_arg_t){srv, started};
        if (pthread_create(&threads[started], NULL, worker_main, &args[started]) != 0) {
            snprintf(err, sizeof(err), "pthread_create: %s", strerror(errno));
            http_server_request_stop(srv);
            goto Join;
        }
    }
    for (size_t l = 0; l < cfg->num_listen; ++l)
        core_log_info("parleyd %s listening on %s://%s:%u/ (%zu worker threads)", PARLEY_VERSION,
                      cfg->listen[l].tls_cert != NULL ? "https" : "http", cfg->listen[l].host, cfg->listen[l].port, n);
    core_log_info(
        "open %s/demo (an article with the share bar and the comments), or try: curl '%s/api/v1/shares?site=%s"
        "&url=%s/story' (the README lists the API); stop with Ctrl-C",
        cfg->public_url, cfg->public_url, cfg->sites[0].id, cfg->sites[0].origins[0]);
    if (cfg->smtp.url != NULL && strncmp(cfg->smtp.url, "file:", 5) == 0)
        core_log_info("mail is not sent but written to %s/ (smtp.url): open the newest .eml to follow its link",
                      cfg->smtp.url + 5);

    for (;;) {
        int sig = 0;
        if (sigwait(&sigs, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            /* logrotate renamed (or removed) the files: open them again by name; see core_log.h for why this is
             * safe while workers write. */
            size_t reopened = core_log_reopen();
            core_log_info("SIGHUP: reopened %zu log file(s)", reopened);
            continue;
        }
        core_log_info("%s: stopping (in-flight requests finish first)", sig == SIGTERM ? "SIGTERM" : "SIGINT");
        break;
    }
    http_server_request_stop(srv);
    err[0] = '\0';
Join:
    for (size_t i = 0; i < started; ++i)
        pthread_join(threads[i], NULL);
    rc = err[0] == '\0' ? 0 : 1;
Exit:
    if (rc != 0 && err[0] != '\0')
        core_log_error("%s", err);
    /* After the workers are joined: each has detached (or, stuck, keeps its context for good); queued jobs drop. */
    api_work_stop();
    http_server_destroy(srv);
    free(threads);
    free(args);
    /* Before the embedded Redis goes away: a mail in flight is settled in Redis or stays pending there. */
    mail_outbox_stop();
    store_retention_stop();
    if (mail_ready)
        mail_global_dispose();
    store_embedded_stop(redis_pid);
    store_target_clear(&target);
    OPENSSL_cleanse(secret, sizeof(secret));
    core_config_free(cfg);
    if (rc == 0)
        core_log_info("stopped");
    core_log_close_files();
    return rc;
}
