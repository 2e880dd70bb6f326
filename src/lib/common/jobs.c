/* lsc_jobs_run: a few threads take items in index order, work on them side by side,
 * and commit them one at a time in index order (see jobs.h). */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "common/jobs.h"

#define MAX_THREADS 256u

typedef struct run_state {
    const lsc_jobs *jobs;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    size_t next_take;   /* items below it were started */
    size_t next_commit; /* items below it were committed */
    uint64_t in_work;   /* cost of the items in work */
    size_t n_in_work;
    size_t fail_k;      /* lowest failing item so far, or n */
    lsc_status fail_status;
    lsc_error fail_error;
    int stop;           /* the failure at fail_k is final */
} run_state;

unsigned lsc_jobs_threads(unsigned threads, size_t n)
{
    if (threads == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cores > 0 ? (unsigned)(cores < MAX_THREADS ? cores : MAX_THREADS) : 1;
    }
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;
    if (threads > n)
        threads = n ? (unsigned)n : 1;
    return threads;
}

static uint64_t item_cost(const lsc_jobs *j, size_t k)
{
    return j->cost ? j->cost[k] : 0;
}

/* Called with the lock held. */
static void record_failure(run_state *s, size_t k, lsc_status st, const lsc_error *error)
{
    if (k >= s->fail_k)
        return;
    s->fail_k = k;
    s->fail_status = st;
    s->fail_error = *error;
    s->fail_error.status = st;
}

static int over_budget(const run_state *s, uint64_t cost)
{
    uint64_t budget = s->jobs->budget;
    return budget && s->n_in_work > 0 && (cost > budget || s->in_work > budget - cost);
}

static void *worker(void *arg)
{
    run_state *s = arg;
    const lsc_jobs *j = s->jobs;
    lsc_error error;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        if (s->stop || s->fail_k < j->n || s->next_take >= j->n)
            break;
        size_t k = s->next_take;
        uint64_t cost = item_cost(j, k);
        if (over_budget(s, cost)) {
            pthread_cond_wait(&s->cond, &s->lock);
            continue;
        }
        s->next_take++;
        s->in_work += cost;
        s->n_in_work++;
        pthread_mutex_unlock(&s->lock);

        memset(&error, 0, sizeof error);
        lsc_status st = j->work(j->ctx, k, &error);

        pthread_mutex_lock(&s->lock);
        s->in_work -= cost;
        s->n_in_work--;
        if (st != LSC_OK)
            record_failure(s, k, st, &error);
        pthread_cond_broadcast(&s->cond);
        while (!s->stop && s->next_commit != k)
            pthread_cond_wait(&s->cond, &s->lock);
        if (s->stop)
            break;
        if (st != LSC_OK) { /* every item before k committed: k's failure is the first */
            s->stop = 1;
            pthread_cond_broadcast(&s->cond);
            break;
        }
        pthread_mutex_unlock(&s->lock);
        st = j->commit(j->ctx, k, &error);
        pthread_mutex_lock(&s->lock);
        if (st != LSC_OK) {
            record_failure(s, k, st, &error);
            s->stop = 1;
        } else {
            s->next_commit++;
        }
        pthread_cond_broadcast(&s->cond);
        if (s->stop)
            break;
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

lsc_status lsc_jobs_run(const lsc_jobs *jobs, lsc_error *error)
{
    if (!jobs || !jobs->work || !jobs->commit)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "lsc_jobs_run: no work or commit function");
    if (jobs->n == 0)
        return LSC_OK;
    run_state s;
    memset(&s, 0, sizeof s);
    s.jobs = jobs;
    s.fail_k = jobs->n;
    if (pthread_mutex_init(&s.lock, NULL) != 0)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "cannot create a mutex");
    if (pthread_cond_init(&s.cond, NULL) != 0) {
        pthread_mutex_destroy(&s.lock);
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "cannot create a condition variable");
    }
    unsigned n_threads = lsc_jobs_threads(jobs->threads, jobs->n);
    pthread_t threads[MAX_THREADS];
    unsigned started = 0;
    /* Fewer threads than asked for (pthread_create failing) only means less speed. */
    for (unsigned i = 1; i < n_threads; i++) {
        if (pthread_create(&threads[started], NULL, worker, &s) != 0)
            break;
        started++;
    }
    worker(&s);
    for (unsigned i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    pthread_cond_destroy(&s.cond);
    pthread_mutex_destroy(&s.lock);
    if (s.fail_k < jobs->n) {
        if (error)
            *error = s.fail_error;
        return s.fail_status;
    }
    if (s.next_commit != jobs->n)
        return lsc_fail(error, LSC_ERR_INTERNAL, "jobs: %zu of %zu items committed", s.next_commit,
                        jobs->n);
    return LSC_OK;
}
