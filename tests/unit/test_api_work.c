/* The helper threads (api_work.c) against a real h2o loop and context: results come back on the loop thread, a
 * request disposed while its job runs never sees DONE but its argument is freed exactly once, the queue bound
 * refuses without side effects, and a stop drops what still waits.
 *
 * The requests are fakes: api_work_submit only uses r->env and r->req->pool, so an h2o_req_t whose pool is
 * initialised stands in for one, and clearing that pool is exactly what h2o does when it disposes a request
 * (the client went away). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "core/core_error.h"
#include "api/api.h"

/* LeakSanitizer asks for this hook at exit (an Asan build; otherwise it is never called). libh2o 2.2.5's
 * h2o_context_dispose closes the context's multithread queue but never frees it (tests/api/lib/lsan.supp says the
 * same for parleyd); every other allocation must still be freed. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:h2o_multithread_create_queue\n";
}

struct st_fixture_t {
    h2o_globalconf_t gc;
    h2o_evloop_t *loop;
    h2o_context_t ctx;
    api_env_t env;
};

struct st_fake_req_t {
    h2o_req_t req;
    api_req_t r;
};

struct st_job_arg_t {
    int in, out;
    bool gated;      /* WORK waits at the gate */
    pthread_t on;    /* the thread WORK ran on */
    api_req_t *seen; /* the request DONE was given */
};

/* What the callbacks saw; the test runs one loop on this thread, so plain globals are enough for the loop side. */
static struct {
    pthread_t loop_thread;
    int done_calls, free_calls, done_wrong_thread, done_bad_result, done_wrong_req;
    int free_wrong_thread;
    pthread_t free_expected_thread;
    _Atomic int work_calls;
} seen;

/* The gate holds gated jobs on their helper until the test opens it. */
static struct {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    bool open;
    int started;
} gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 0};

static void gate_reset(void)
{
    pthread_mutex_lock(&gate.mutex);
    gate.open = false;
    gate.started = 0;
    pthread_mutex_unlock(&gate.mutex);
}

static void gate_open(void)
{
    pthread_mutex_lock(&gate.mutex);
    gate.open = true;
    pthread_cond_broadcast(&gate.cond);
    pthread_mutex_unlock(&gate.mutex);
}

/* Waits until N gated jobs have reached the gate (at most 5 s). */
static void gate_wait_started(int n)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    pthread_mutex_lock(&gate.mutex);
    while (gate.started < n)
        if (pthread_cond_timedwait(&gate.cond, &gate.mutex, &until) != 0)
            break;
    int started = gate.started;
    pthread_mutex_unlock(&gate.mutex);
    assert_int_equal(started, n);
}

static void on_work(void *p)
{
    struct st_job_arg_t *a = p;
    a->on = pthread_self();
    atomic_fetch_add(&seen.work_calls, 1);
    if (a->gated) {
        pthread_mutex_lock(&gate.mutex);
        ++gate.started;
        pthread_cond_broadcast(&gate.cond);
        while (!gate.open)
            pthread_cond_wait(&gate.cond, &gate.mutex);
        pthread_mutex_unlock(&gate.mutex);
    }
    a->out = a->in * a->in;
}

static void on_done(api_req_t *r, void *p)
{
    struct st_job_arg_t *a = p;
    ++seen.done_calls;
    if (!pthread_equal(pthread_self(), seen.loop_thread) || pthread_equal(a->on, seen.loop_thread))
        ++seen.done_wrong_thread;
    if (a->out != a->in * a->in)
        ++seen.done_bad_result;
    if (r != a->seen)
        ++seen.done_wrong_req;
}

static void on_free(void *p)
{
    ++seen.free_calls;
    if (!pthread_equal(pthread_self(), seen.free_expected_thread))
        ++seen.free_wrong_thread;
    free(p);
}

static struct st_job_arg_t *new_arg(int in, bool gated)
{
    struct st_job_arg_t *a = calloc(1, sizeof(*a));
    assert_non_null(a);
    a->in = in;
    a->gated = gated;
    return a;
}

static struct st_fake_req_t *new_req(struct st_fixture_t *f)
{
    struct st_fake_req_t *fr = calloc(1, sizeof(*fr));
    assert_non_null(fr);
    h2o_mem_init_pool(&fr->req.pool);
    fr->r.req = &fr->req;
    fr->r.env = &f->env;
    return fr;
}

/* What h2o does when it disposes a request: the pool goes, and with it the shared chunks' dispose hooks run. */
static void dispose_req(struct st_fake_req_t *fr)
{
    h2o_mem_clear_pool(&fr->req.pool);
    free(fr);
}

static int submit(struct st_fake_req_t *fr, struct st_job_arg_t *a)
{
    a->seen = &fr->r;
    return api_work_submit(&fr->r, on_work, on_done, a, on_free);
}

/* Runs the loop until the worker has no job outstanding (at most 5 s). */
static void drain(struct st_fixture_t *f)
{
    for (int i = 0; i < 500 && api_work_outstanding(&f->env) > 0; ++i)
        h2o_evloop_run(f->loop, 10);
    assert_int_equal(api_work_outstanding(&f->env), 0);
}

static int setup(void **state)
{
    struct st_fixture_t *f = calloc(1, sizeof(*f));
    h2o_config_init(&f->gc);
    h2o_config_register_host(&f->gc, h2o_iovec_init(H2O_STRLIT("default")), 65535); /* h2o_context_init wants one */
    f->loop = h2o_evloop_create();
    h2o_context_init(&f->ctx, f->loop, &f->gc);
    api_work_attach(&f->env, &f->ctx);
    memset(&seen, 0, sizeof(seen));
    seen.loop_thread = pthread_self();
    seen.free_expected_thread = pthread_self();
    gate_reset();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct st_fixture_t *f = *state;
    api_work_stop();
    api_work_detach(&f->env);
    assert_null(f->env.work);
    h2o_context_dispose(&f->ctx);
    h2o_evloop_run(f->loop, 0);
    h2o_evloop_destroy(f->loop);
    h2o_config_dispose(&f->gc);
    free(f);
    assert_int_equal(atomic_load(&api_work_stats.queued), 0);
    return 0;
}

/* (a) Results computed on helpers come back to the loop thread, one DONE and one FREE_FN per job. */
static void test_results_on_loop_thread(void **state)
{
    struct st_fixture_t *f = *state;
    assert_int_equal(api_work_start(2, 1000), 0);
    uint64_t done_before = atomic_load(&api_work_stats.done);
    struct st_fake_req_t *reqs[100];
    for (int i = 0; i < 100; ++i) {
        reqs[i] = new_req(f);
        assert_int_equal(submit(reqs[i], new_arg(i, false)), 0);
    }
    /* Never synchronously: nothing came back before the loop ran. */
    assert_int_equal(seen.done_calls, 0);
    assert_int_equal(seen.free_calls, 0);
    drain(f);
    assert_int_equal(seen.done_calls, 100);
    assert_int_equal(seen.free_calls, 100);
    assert_int_equal(seen.done_wrong_thread, 0);
    assert_int_equal(seen.done_bad_result, 0);
    assert_int_equal(seen.done_wrong_req, 0);
    assert_int_equal(seen.free_wrong_thread, 0);
    assert_int_equal(atomic_load(&api_work_stats.done) - done_before, 100);
    for (int i = 0; i < 100; ++i)
        dispose_req(reqs[i]);
}

/* (b) A request that goes away while its job runs never sees DONE; its argument is freed once. One whose job has
 * not started yet does not even cost the work. */
static void test_disposed_request(void **state)
{
    struct st_fixture_t *f = *state;
    assert_int_equal(api_work_start(1, 10), 0);
    struct st_fake_req_t *running = new_req(f), *waiting = new_req(f), *alive = new_req(f);
    assert_int_equal(submit(running, new_arg(3, true)), 0);
    gate_wait_started(1);
    assert_int_equal(submit(waiting, new_arg(4, false)), 0);
    assert_int_equal(submit(alive, new_arg(5, false)), 0);
    dispose_req(running);
    dispose_req(waiting);

    /* Detaching with jobs out is refused: a late result would reach freed memory. */
    api_work_detach(&f->env);
    assert_non_null(f->env.work);
    assert_int_equal(api_work_outstanding(&f->env), 3);

    gate_open();
    drain(f);
    assert_int_equal(seen.done_calls, 1); /* only `alive` */
    assert_int_equal(seen.done_wrong_req, 0);
    assert_int_equal(seen.free_calls, 3);
    assert_int_equal(seen.free_wrong_thread, 0);
    assert_int_equal(atomic_load(&seen.work_calls), 2); /* `waiting` was skipped */
    dispose_req(alive);

    /* A request disposed after its result came back: the guard points nowhere, nothing happens twice. */
    struct st_fake_req_t *late = new_req(f);
    assert_int_equal(submit(late, new_arg(6, false)), 0);
    drain(f);
    dispose_req(late);
    assert_int_equal(seen.done_calls, 2);
    assert_int_equal(seen.free_calls, 4);
}

/* (c) With the one helper busy and MAX_QUEUED = 2, two jobs may wait and the next is refused, untouched. */
static void test_queue_bound(void **state)
{
    struct st_fixture_t *f = *state;
    assert_int_equal(api_work_start(1, 2), 0);
    uint64_t rejected_before = atomic_load(&api_work_stats.rejected);
    struct st_fake_req_t *fr = new_req(f);
    assert_int_equal(submit(fr, new_arg(1, true)), 0);
    gate_wait_started(1);
    assert_int_equal(submit(fr, new_arg(2, false)), 0);
    assert_int_equal(submit(fr, new_arg(3, false)), 0);
    assert_int_equal(atomic_load(&api_work_stats.queued), 2);
    struct st_job_arg_t *refused = new_arg(4, false);
    assert_int_equal(submit(fr, refused), CORE_ERR_UNAVAILABLE);
    assert_int_equal(atomic_load(&api_work_stats.rejected) - rejected_before, 1);
    assert_int_equal(api_work_outstanding(&f->env), 3);
    free(refused); /* still ours: the refused submit neither freed it nor called anything */

    gate_open();
    drain(f);
    assert_int_equal(seen.done_calls, 3);
    assert_int_equal(seen.free_calls, 3);
    /* Room again once the queue drained. */
    assert_int_equal(submit(fr, new_arg(5, false)), 0);
    drain(f);
    assert_int_equal(seen.done_calls, 4);
    dispose_req(fr);
}

static void *open_gate_later(void *unused)
{
    usleep(200 * 1000);
    gate_open();
    return NULL;
}

/* (d) Stopping drops the jobs that still wait (FREE_FN on the stopping thread, no DONE); the running one finishes
 * and its result still reaches the loop. Submits after the stop are refused. */
static void test_stop_drops_queued(void **state)
{
    struct st_fixture_t *f = *state;
    assert_int_equal(api_work_start(1, 10), 0);
    struct st_fake_req_t *fr = new_req(f);
    assert_int_equal(submit(fr, new_arg(1, true)), 0);
    gate_wait_started(1);
    for (int i = 2; i <= 4; ++i)
        assert_int_equal(submit(fr, new_arg(i, false)), 0);

    pthread_t opener;
    assert_int_equal(pthread_create(&opener, NULL, open_gate_later, NULL), 0);
    api_work_stop(); /* the gate opens while the helper is being joined */
    pthread_join(opener, NULL);
    assert_int_equal(seen.free_calls, 3);
    assert_int_equal(seen.done_calls, 0);
    assert_int_equal(atomic_load(&seen.work_calls), 1);
    assert_int_equal(atomic_load(&api_work_stats.queued), 0);

    struct st_job_arg_t *refused = new_arg(9, false);
    assert_int_equal(submit(fr, refused), CORE_ERR_UNAVAILABLE);
    free(refused);

    drain(f);
    assert_int_equal(seen.done_calls, 1);
    assert_int_equal(seen.free_calls, 4);
    assert_int_equal(seen.done_wrong_thread, 0);
    dispose_req(fr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_results_on_loop_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disposed_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_drops_queued, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
