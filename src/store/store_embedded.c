/* The embedded Redis: the quick start's "no Redis to install" default. A private redis-server child on a unix
 * socket inside the data directory, with AOF and fsync on every write, so a comment answered 201 survives a crash. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <hiredis/hiredis.h>
#include "core/core_error.h"
#include "core/core_log.h"
#include "store/store.h"

static int mkdir_p(const char *path)
{
    char buf[PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof(buf))
        return -1;
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; ++i) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0700) != 0 && errno != EEXIST)
                return -1;
            buf[i] = c;
        }
    }
    return 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static int answers_ping(const char *sock)
{
    struct timeval tv = {0, 500000};
    redisContext *c = redisConnectUnixWithTimeout(sock, tv);
    int ok = 0;
    if (c != NULL && c->err == 0) {
        redisReply *r = redisCommand(c, "PING");
        ok = r != NULL && r->type == REDIS_REPLY_STATUS;
        if (r != NULL)
            freeReplyObject(r);
    }
    if (c != NULL)
        redisFree(c);
    return ok;
}

int store_embedded_start(const char *data_dir, char *sock_path, size_t sock_cap, pid_t *pid, char *errbuf,
                         size_t errlen)
{
    char dir[PATH_MAX], logfile[PATH_MAX + 16];
    if (mkdir_p(data_dir) != 0 || realpath(data_dir, dir) == NULL) {
        snprintf(errbuf, errlen, "data_dir %s: %s", data_dir, strerror(errno));
        return CORE_ERR_UNAVAILABLE;
    }
    int n = snprintf(sock_path, sock_cap, "%s/redis.sock", dir);
    /* sun_path holds 108 bytes; a longer path cannot be bound. */
    if (n < 0 || (size_t)n >= sock_cap || n >= 100) {
        snprintf(errbuf, errlen, "data_dir %s: path too long for a unix socket", dir);
        return CORE_ERR_UNAVAILABLE;
    }
    snprintf(logfile, sizeof(logfile), "%s/redis.log", dir);
    if (answers_ping(sock_path)) {
        snprintf(errbuf, errlen, "a Redis already answers on %s (another parleyd using data_dir %s?)", sock_path, dir);
        return CORE_ERR_UNAVAILABLE;
    }

    pid_t parent = getpid();
    pid_t child = fork();
    if (child < 0) {
        snprintf(errbuf, errlen, "fork: %s", strerror(errno));
        return CORE_ERR_UNAVAILABLE;
    }
    if (child == 0) {
        /* Die with parleyd even if it is killed with SIGKILL, so no orphan keeps the AOF open. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(1);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, STDIN_FILENO);
            dup2(devnull, STDOUT_FILENO);
        }
        char *argv[] = {"redis-server",
                        "--port",
                        "0",
                        "--unixsocket",
                        sock_path,
                        "--unixsocketperm",
                        "700",
                        "--dir",
                        dir,
                        "--appendonly",
                        "yes",
                        "--appendfsync",
                        "always",
                        "--save",
                        "",
                        "--daemonize",
                        "no",
                        "--logfile",
                        logfile,
                        "--bind",
                        "127.0.0.1",
                        NULL};
        execvp("redis-server", argv);
        execv("/usr/bin/redis-server", argv);
        _exit(127);
    }
    for (int waited = 0; waited < 15000; waited += 20) {
        int status;
        if (waitpid(child, &status, WNOHANG) == child) {
            snprintf(errbuf, errlen, "the embedded redis-server exited at start (status %d); see %s",
                     WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), logfile);
            return CORE_ERR_UNAVAILABLE;
        }
        if (answers_ping(sock_path)) {
            *pid = child;
            core_log_info("embedded redis-server (pid %d) ready on %s, AOF fsync always", (int)child, sock_path);
            return 0;
        }
        sleep_ms(20);
    }
    store_embedded_stop(child);
    snprintf(errbuf, errlen, "the embedded redis-server did not answer within 15 s; see %s", logfile);
    return CORE_ERR_UNAVAILABLE;
}

void store_embedded_stop(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    for (int waited = 0; waited < 10000; waited += 20) {
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return;
        sleep_ms(20);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

int store_embedded_running(const char *data_dir, char *sock_path, size_t sock_cap)
{
    char dir[PATH_MAX];
    if (realpath(data_dir, dir) == NULL)
        return 0;
    int n = snprintf(sock_path, sock_cap, "%s/redis.sock", dir);
    if (n < 0 || (size_t)n >= sock_cap || n >= 100)
        return 0;
    return answers_ping(sock_path);
}
