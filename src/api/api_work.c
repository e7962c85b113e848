/* Helper threads for blocking CPU work (argon2id hashing, about 50 ms each at the default cost).
 *
 * Flow: a handler on a worker loop calls api_work_submit; the job joins one process-wide FIFO (mutex + condvar)
 * and a helper thread runs job->work(arg). The helper then posts the job to the submitting worker's receiver on
 * its h2o context's multithread queue, which wakes that loop (an eventfd). on_results, on the loop, calls DONE when
 * the request is still alive, then FREE_FN.
 *
 * Request lifetime: the client may go away (an HTTP/2 RST_STREAM disposes the request at once) while a helper is
 * busy. As in store_conn.c, a small guard shared with the request's pool ties the two together: its dispose hook
 * clears job->r, and a job that comes back first clears guard->job. Both run on the worker thread, so they need no
 * lock; the helper never touches the request, the guard or job->r, only the atomic job->cancelled, which lets it
 * skip the work of a request that is already gone.
 *
 * Worker lifetime: h2o_multithread_send_message reads receiver->queue and writes the queue's eventfd *after* it has
 * linked the message and released the queue's lock. So the loop may already have handled a result while its helper
 * is still inside the send; freeing the receiver or disposing the context then would be a use-after-free and a
 * write to a closed (maybe reused) fd. Each job therefore holds two references, one dropped by the helper when the
 * send has returned and one by the loop when it has handled the result; whoever drops the last one counts the job
 * as back (worker->outstanding). A worker detaches only when that count is 0. */
#include <assert.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "core/core_error.h"
#include "core/core_log.h"
#include "api/api.h"

#define HELPER_NICE 10
#define HELPER_NAME "parley-hash"

api_work_stats_t api_work_stats;

struct st_api_work_worker_t {
    h2o_multithread_receiver_t receiver;
    _Atomic size_t outstanding; /* submitted and not yet fully back (see the top of the file) */
};

struct st_job_t;

/* Lives in the request's pool; its dispose hook runs when the request goes away. */
struct st_guard_t {
    struct st_job_t *job; /* NULL once the job came back (or was never queued) */
};

struct st_job_t {
    h2o_multithread_message_t super; /* must stay unlinked until the helper sends it */
    struct st_job_t *next;           /* FIFO link while waiting for a helper */
    struct st_api_work_worker_t *worker;
    api_req_t *r;             /* worker thread only; NULL once the request was disposed */
    struct st_guard_t *guard; /* worker thread only; NULL once detached */
    api_work_fn work;         /* read by the helper */
    api_work_done_fn done;    /* worker thread only */
    void (*free_fn)(void *);  /* worker thread only (or the stopping thread) */
    void *arg;
    atomic_bool cancelled; /* set on the worker when the request goes away; a helper then skips WORK */
    _Atomic int refs;      /* 2 while queued: one for the helper's send, one for the loop's handling */
};

/* Process-wide pool state, guarded by `mutex` (thread ids and counts are only touched by start and stop). */
static struct {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    struct st_job_t *head, *tail;
    size_t num_queued, max_queued;
    bool running, stopping;
    pthread_t *threads;
    size_t num_threads;
} pool = {.mutex = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

/* Drops one reference; the last one counts the job as back. The worker may free itself as soon as `outstanding`
 * reaches 0, so nothing of it is touched after the decrement. */
static void job_release(struct st_job_t *job)
{
    if (atomic_fetch_sub(&job->refs, 1) != 1)
        return;
    struct st_api_work_worker_t *worker = job->worker;
    free(job);
    atomic_fetch_sub(&worker->outstanding, 1);
}

static void free_arg(struct st_job_t *job)
{
    if (job->free_fn != NULL)
        job->free_fn(job->arg);
    else
        free(job->arg);
    job->arg = NULL;
}

static void on_guard_dispose(void *p)
{
    struct st_guard_t *guard = p;
    if (guard->job != NULL) {
        atomic_store(&guard->job->cancelled, true);
        guard->job->r = NULL;
        guard->job->guard = NULL;
        guard->job = NULL;
    }
}

static void on_results(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    while (!h2o_linklist_is_empty(messages)) {
        struct st_job_t *job = H2O_STRUCT_FROM_MEMBER(struct st_job_t, super.link, messages->next);
        h2o_linklist_unlink(&job->super.link);
        /* Detach the guard before answering: sending the response may dispose the request (and its pool) at once. */
        if (job->guard != NULL) {
            job->guard->job = NULL;
            job->guard = NULL;
        }
        if (job->r != NULL)
            job->done(job->r, job->arg);
        free_arg(job);
        job_release(job);
    }
}

/* The helpers must never starve the loops on a small machine: a lower priority for this thread alone (Linux nice is
 * per thread), best effort. */
static void lower_priority(void)
{
    (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), HELPER_NICE);
}

static void *helper_main(void *unused)
{
    pthread_setname_np(pthread_self(), HELPER_NAME);
    lower_priority();
    pthread_mutex_lock(&pool.mutex);
    for (;;) {
        while (pool.head == NULL && !pool.stopping)
            pthread_cond_wait(&pool.cond, &pool.mutex);
        if (pool.stopping)
            break;
        struct st_job_t *job = pool.head;
        pool.head = job->next;
        if (pool.head == NULL)
            pool.tail = NULL;
        --pool.num_queued;
        atomic_fetch_sub(&api_work_stats.queued, 1);
        pthread_mutex_unlock(&pool.mutex);

        /* Nobody waits for the result of a request that is gone: skipping its work keeps a burst of abandoned
         * logins from holding up the live ones (and a stopping worker's drain short). */
        if (!atomic_load(&job->cancelled)) {
            job->work(job->arg);
            atomic_fetch_add(&api_work_stats.done, 1);
        }
        h2o_multithread_send_message(&job->worker->receiver, &job->super);
        job_release(job);

        pthread_mutex_lock(&pool.mutex);
    }
    pthread_mutex_unlock(&pool.mutex);
    return NULL;
}

/* Joins the helpers and drops what still waits. Only called with no helper that could still be blocked elsewhere. */
static void stop_threads(void)
{
    pthread_mutex_lock(&pool.mutex);
    pool.stopping = true;
    pthread_cond_broadcast(&pool.cond);
    pthread_mutex_unlock(&pool.mutex);
    for (size_t i = 0; i < pool.num_threads; ++i)
        pthread_join(pool.threads[i], NULL);

    /* Every helper has returned, and every worker thread too (api_work_stop's precondition): the jobs, their guards
     * and the requests behind them are ours alone now. A guard of a request that is never disposed stays harmless. */
    struct st_job_t *job = pool.head;
    while (job != NULL) {
        struct st_job_t *next = job->next;
        if (job->guard != NULL)
            job->guard->job = NULL;
        free_arg(job);
        atomic_fetch_sub(&job->worker->outstanding, 1);
        atomic_fetch_sub(&api_work_stats.queued, 1);
        free(job);
        job = next;
    }
    free(pool.threads);
    pool.threads = NULL;
    pool.num_threads = 0;
    pool.head = pool.tail = NULL;
    pool.num_queued = 0;
    pool.running = false;
    pool.stopping = false;
}

int api_work_start(uint32_t threads, uint32_t max_queued)
{
    assert(!pool.running);
    if (threads == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cores >= 2 ? (uint32_t)(cores / 2) : 1;
    }
    pool.max_queued = max_queued > 0 ? max_queued : 1;
    pool.threads = calloc(threads, sizeof(*pool.threads));
    if (pool.threads == NULL)
        abort();
    pool.running = true;

    /* Created with every signal blocked, so the helpers inherit a full mask: no signal is ever delivered to them,
     * not even in the instant before they could block it themselves. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int err = 0;
    for (; pool.num_threads < threads; ++pool.num_threads) {
        err = pthread_create(&pool.threads[pool.num_threads], NULL, helper_main, NULL);
        if (err != 0)
            break;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err != 0) {
        core_log_error("helper threads: pthread_create: %s", strerror(err));
        stop_threads();
        return CORE_ERR_UNAVAILABLE;
    }
    core_log_debug("%u helper thread(s) for password hashing, at most %zu jobs waiting", threads, pool.max_queued);
    return 0;
}

void api_work_stop(void)
{
    if (pool.running)
        stop_threads();
}

void api_work_attach(api_env_t *env, h2o_context_t *ctx)
{
    struct st_api_work_worker_t *w = calloc(1, sizeof(*w));
    if (w == NULL)
        abort();
    h2o_multithread_register_receiver(ctx->queue, &w->receiver, on_results);
    env->work = w;
}

size_t api_work_outstanding(api_env_t *env)
{
    return env->work != NULL ? atomic_load(&env->work->outstanding) : 0;
}

void api_work_detach(api_env_t *env)
{
    struct st_api_work_worker_t *w = env->work;
    if (w == NULL || atomic_load(&w->outstanding) != 0)
        return;
    h2o_multithread_unregister_receiver(w->receiver.queue, &w->receiver);
    env->work = NULL;
    free(w);
}

int api_work_submit(api_req_t *r, api_work_fn work, api_work_done_fn done, void *arg, void (*free_fn)(void *))
{
    struct st_api_work_worker_t *w = r->env->work;
    if (w == NULL)
        return CORE_ERR_UNAVAILABLE;
    struct st_job_t *job = calloc(1, sizeof(*job));
    if (job == NULL)
        abort();
    job->worker = w;
    job->r = r;
    job->work = work;
    job->done = done;
    job->free_fn = free_fn;
    job->arg = arg;
    atomic_init(&job->refs, 2);
    /* The guard is made before the job is published: a helper never reads it, and the loop cannot see the result
     * before this function returns, but a refused job must leave a guard that points nowhere. */
    job->guard = h2o_mem_alloc_shared(&r->req->pool, sizeof(*job->guard), on_guard_dispose);
    job->guard->job = job;

    pthread_mutex_lock(&pool.mutex);
    bool up = pool.running && !pool.stopping, ok = up && pool.num_queued < pool.max_queued;
    if (ok) {
        atomic_fetch_add(&w->outstanding, 1);
        if (pool.tail != NULL)
            pool.tail->next = job;
        else
            pool.head = job;
        pool.tail = job;
        ++pool.num_queued;
        atomic_fetch_add(&api_work_stats.queued, 1);
        pthread_cond_signal(&pool.cond);
    }
    pthread_mutex_unlock(&pool.mutex);
    if (!ok) {
        if (up)
            atomic_fetch_add(&api_work_stats.rejected, 1);
        job->guard->job = NULL;
        free(job);
        return CORE_ERR_UNAVAILABLE;
    }
    return 0;
}
