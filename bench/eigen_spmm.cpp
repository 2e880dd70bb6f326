/* The Eigen peer: what a user of Eigen writes for W X with a pruned W. Eigen's
 * sparse x dense product runs on one thread (its only OpenMP path, row-major sparse
 * times a column-major right-hand side, is not compiled in: no -fopenmp). For
 * N > 1, X is row-major: then Eigen broadcasts each weight and FMAs a row of X in
 * SIMD packets (with a column-major X it does N scalar sparse dot products). */
#include <Eigen/SparseCore>

#include <climits>
#include <cstdio>
#include <new>

#include "eigen_spmm.h"

typedef Eigen::SparseMatrix<float, Eigen::RowMajor, int> sparse_rows;
typedef Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> dense_rows;

struct eigen_spmm {
    sparse_rows w;
};

/* Built with -mavx2 -mfma when the compiler can (as a user targeting this CPU
 * would): such a build must not run on a CPU without them. */
static bool cpu_ok()
{
#if defined(__AVX2__) && defined(__GNUC__)
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return true;
#endif
}

#define STR2(x) #x
#define STR(x) STR2(x)

extern "C" const char *eigen_spmm_version(void)
{
    return cpu_ok() ? STR(EIGEN_WORLD_VERSION) "." STR(EIGEN_MAJOR_VERSION) "." STR(
                          EIGEN_MINOR_VERSION)
                    : NULL;
}

extern "C" eigen_spmm *eigen_spmm_create(const csr *m)
{
    if (!cpu_ok() || m->nnz > INT_MAX || m->rows > INT_MAX || m->cols > INT_MAX)
        return NULL;
    try {
        /* csr's unsigned indices stay below 2^31: read them as Eigen's int indices */
        Eigen::Map<const sparse_rows> view((int)m->rows, (int)m->cols, (int)m->nnz,
                                           reinterpret_cast<const int *>(m->rowptr),
                                           reinterpret_cast<const int *>(m->colidx), m->vals);
        return new eigen_spmm{ sparse_rows(view) };
    } catch (const std::bad_alloc &) {
        std::fprintf(stderr, "eigen_spmm: out of memory\n");
        return NULL;
    }
}

extern "C" void eigen_spmm_run(const eigen_spmm *e, const float *x, size_t n, float *y)
{
    if (n == 1) {
        Eigen::Map<Eigen::VectorXf>(y, e->w.rows()).noalias() =
            e->w * Eigen::Map<const Eigen::VectorXf>(x, e->w.cols());
        return;
    }
    Eigen::Map<dense_rows>(y, e->w.rows(), (Eigen::Index)n).noalias() =
        e->w * Eigen::Map<const dense_rows>(x, e->w.cols(), (Eigen::Index)n);
}

extern "C" void eigen_spmm_free(eigen_spmm *e)
{
    delete e;
}
