/* lsc_jobs_run (src/lib/common/jobs.h): commits in index order, at most `threads`
 * items in work, the cost budget respected, the lowest failure reported and
 * nothing committed from it on, for several thread counts and budgets. */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "common/jobs.h"

#define N 40

typedef struct fake {
    pthread_mutex_t lock;
    uint64_t cost[N];
    uint64_t in_work_cost, max_cost;
    unsigned in_work, max_in_work;
    size_t committed[N], n_committed;
    size_t fail_work[2], fail_commit; /* N = none */
    int over_budget;
    uint64_t budget;
    int wait_for_two; /* item 0 waits (up to ~6 s) until another item is in work */
} fake;

static void pause_a_little(size_t k)
{
    struct timespec ts = {0, (long)(50000 + (k * 7919) % 200000)};
    nanosleep(&ts, NULL);
}

static lsc_status work(void *ctx, size_t k, lsc_error *error)
{
    fake *f = ctx;
    pthread_mutex_lock(&f->lock);
    f->in_work++;
    f->in_work_cost += f->cost[k];
    if (f->in_work > f->max_in_work)
        f->max_in_work = f->in_work;
    if (f->budget && f->in_work > 1 && f->in_work_cost > f->budget)
        f->over_budget = 1;
    pthread_mutex_unlock(&f->lock);
    pause_a_little(k);
    /* Whether two items ever overlap must not depend on the scheduler: on a loaded
     * machine the sleeps alone were once not enough. */
    for (int waited = 0; k == 0 && f->wait_for_two && waited < 100000; waited++) {
        pthread_mutex_lock(&f->lock);
        unsigned seen = f->max_in_work;
        pthread_mutex_unlock(&f->lock);
        if (seen >= 2)
            break;
        pause_a_little(1);
    }
    pthread_mutex_lock(&f->lock);
    f->in_work--;
    f->in_work_cost -= f->cost[k];
    pthread_mutex_unlock(&f->lock);
    if (k == f->fail_work[0] || k == f->fail_work[1])
        return lsc_fail(error, LSC_ERR_BAD_MODEL, "work failed at %zu", k);
    return LSC_OK;
}

static lsc_status commit(void *ctx, size_t k, lsc_error *error)
{
    fake *f = ctx;
    if (k == f->fail_commit)
        return lsc_fail(error, LSC_ERR_IO, "commit failed at %zu", k);
    f->committed[f->n_committed++] = k; /* never concurrent: no lock */
    return LSC_OK;
}

static void setup(fake *f, uint64_t budget)
{
    memset(f, 0, sizeof *f);
    pthread_mutex_init(&f->lock, NULL);
    for (size_t k = 0; k < N; k++)
        f->cost[k] = 1 + (k * 37) % 10;
    f->fail_work[0] = f->fail_work[1] = f->fail_commit = N;
    f->budget = budget;
}

static lsc_status go(fake *f, unsigned threads, lsc_error *error)
{
    lsc_jobs jobs = {.n = N, .threads = threads, .cost = f->cost, .budget = f->budget,
                     .work = work, .commit = commit, .ctx = f};
    lsc_status st = lsc_jobs_run(&jobs, error);
    pthread_mutex_destroy(&f->lock);
    return st;
}

int main(void)
{
    fake f;
    lsc_error error;
    const unsigned thread_counts[] = {1, 2, 3, 8};
    for (size_t t = 0; t < sizeof thread_counts / sizeof *thread_counts; t++) {
        unsigned threads = thread_counts[t];
        /* All succeed: every item committed once, in order; never more than `threads` in work. */
        setup(&f, 0);
        f.wait_for_two = threads > 1;
        CHECK(go(&f, threads, &error) == LSC_OK);
        CHECKF(f.n_committed == N, "%u threads: %zu committed", threads, f.n_committed);
        for (size_t k = 0; k < f.n_committed; k++)
            CHECKF(f.committed[k] == k, "%u threads: commit %zu was item %zu", threads, k, f.committed[k]);
        CHECKF(f.max_in_work <= threads, "%u threads: %u in work at once", threads, f.max_in_work);
        CHECKF(threads == 1 || f.max_in_work >= 2, "%u threads: never two items in work", threads);

        /* A budget of 12: items in work together never cost more, and all still run. */
        setup(&f, 12);
        CHECK(go(&f, threads, &error) == LSC_OK);
        CHECK(f.n_committed == N && !f.over_budget);

        /* A budget below every cost: one item at a time. */
        setup(&f, 1);
        f.cost[3] = 1000;
        CHECK(go(&f, threads, &error) == LSC_OK);
        CHECKF(f.n_committed == N && f.max_in_work == 1, "%u threads: %u in work under budget 1", threads,
               f.max_in_work);

        /* Work fails at 9 and 23: 9 is reported, exactly 0..8 committed. */
        setup(&f, 0);
        f.fail_work[0] = 23;
        f.fail_work[1] = 9;
        memset(&error, 0, sizeof error);
        CHECK(go(&f, threads, &error) == LSC_ERR_BAD_MODEL);
        CHECKF(strcmp(error.message, "work failed at 9") == 0, "%u threads: '%s'", threads, error.message);
        CHECKF(f.n_committed == 9, "%u threads: %zu committed before the failure", threads, f.n_committed);

        /* Commit fails at 5 while work fails at 30: the commit failure (first) is reported. */
        setup(&f, 0);
        f.fail_commit = 5;
        f.fail_work[0] = 30;
        memset(&error, 0, sizeof error);
        CHECK(go(&f, threads, &error) == LSC_ERR_IO);
        CHECKF(strcmp(error.message, "commit failed at 5") == 0, "%u threads: '%s'", threads, error.message);
        CHECK(f.n_committed == 5);
    }
    /* Nothing to do. */
    lsc_jobs empty = {.n = 0, .threads = 4, .work = work, .commit = commit, .ctx = &f};
    CHECK(lsc_jobs_run(&empty, &error) == LSC_OK);
    CHECK(lsc_jobs_threads(0, 100) >= 1 && lsc_jobs_threads(8, 3) == 3 && lsc_jobs_threads(5, 0) == 1);
    return check_exit();
}
