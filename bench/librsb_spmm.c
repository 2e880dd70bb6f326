/* The librsb peer: rsb_mtx_alloc_from_csr_const + rsb_spmm, librsb's defaults (no
 * rsb_tune_spmm: a user's first call, like the other columns). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rsb.h>

#include "librsb_spmm.h"

struct librsb_spmm {
    struct rsb_mtx_t *m;
};

static int init_state; /* 0 not tried, 1 ready, -1 failed */
static rsb_int_t threads_set;

/* librsb threads are OpenMP (libgomp) threads. With no wait policy set, on this shared
 * 2-core machine every call after the first 2-thread one took ~30 ms instead of
 * 0.4-0.7 ms (sleeping workers woken late); "active" spins and steals the core the
 * other kernels need. Passive is what our pool does (workers park on a condition
 * variable), and libgomp reads the policy only when it loads: hence a restart. */
void librsb_spmm_prepare(char **argv)
{
    if (getenv("OMP_WAIT_POLICY"))
        return;
    setenv("OMP_WAIT_POLICY", "passive", 1);
    execv("/proc/self/exe", argv);
    fprintf(stderr, "librsb: cannot restart with OMP_WAIT_POLICY=passive: %s\n",
            strerror(errno));
}

static void report(const char *what, rsb_err_t e)
{
    char msg[256];
    rsb_strerror_r(e, msg, sizeof msg);
    fprintf(stderr, "librsb: %s: %s\n", what, msg);
}

const char *librsb_spmm_version(void)
{
    if (!init_state) {
        rsb_err_t e = rsb_lib_init(RSB_NULL_INIT_OPTIONS);
        init_state = e == RSB_ERR_NO_ERROR ? 1 : -1;
        if (e != RSB_ERR_NO_ERROR)
            report("rsb_lib_init", e);
    }
    static char version[80];
    snprintf(version, sizeof version, "%s (OMP_WAIT_POLICY=%s)", RSB_LIBRSB_VER_STRING,
             getenv("OMP_WAIT_POLICY") ? getenv("OMP_WAIT_POLICY") : "unset");
    return init_state == 1 ? version : NULL;
}

librsb_spmm *librsb_spmm_create(const csr *m)
{
    if (!librsb_spmm_version() || m->nnz > INT_MAX || m->rows > INT_MAX || m->cols > INT_MAX)
        return NULL;
    librsb_spmm *r = malloc(sizeof *r);
    if (!r)
        return NULL;
    rsb_err_t e = RSB_ERR_NO_ERROR;
    /* csr's unsigned indices stay below 2^31: read them as librsb's int indices */
    r->m = rsb_mtx_alloc_from_csr_const(m->vals, (const rsb_coo_idx_t *)m->rowptr,
                                        (const rsb_coo_idx_t *)m->colidx, (rsb_nnz_idx_t)m->nnz,
                                        RSB_NUMERICAL_TYPE_FLOAT, (rsb_coo_idx_t)m->rows,
                                        (rsb_coo_idx_t)m->cols, 1, 1,
                                        RSB_FLAG_DEFAULT_MATRIX_FLAGS, &e);
    if (!r->m) {
        report("rsb_mtx_alloc_from_csr_const", e);
        free(r);
        return NULL;
    }
    return r;
}

void librsb_spmm_run(const librsb_spmm *r, const float *x, size_t n, float *y, unsigned threads)
{
    const float one = 1.0f, zero = 0.0f;
    rsb_err_t e;
    if (threads_set != (rsb_int_t)threads) {
        threads_set = (rsb_int_t)threads;
        if ((e = rsb_lib_set_opt(RSB_IO_WANT_EXECUTING_THREADS, &threads_set)) !=
            RSB_ERR_NO_ERROR) {
            report("threads", e);
            exit(1);
        }
    }
    e = rsb_spmm(RSB_TRANSPOSITION_N, &one, r->m, (rsb_coo_idx_t)n, RSB_FLAG_WANT_ROW_MAJOR_ORDER,
                 x, (rsb_nnz_idx_t)n, &zero, y, (rsb_nnz_idx_t)n);
    if (e != RSB_ERR_NO_ERROR) {
        report("rsb_spmm", e);
        exit(1);
    }
}

void librsb_spmm_free(librsb_spmm *r)
{
    if (r) {
        rsb_mtx_free(r->m);
        free(r);
    }
}
