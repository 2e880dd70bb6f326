#include <stdlib.h>
#include <string.h>

#include "csr.h"

int csr_from_dense(csr *m, const float *w, uint32_t rows, uint32_t cols)
{
    uint64_t nnz = 0;
    for (size_t i = 0; i < (size_t)rows * cols; i++)
        nnz += w[i] != 0.0f;
    m->rows = rows;
    m->cols = cols;
    m->nnz = nnz;
    m->rowptr = malloc(((size_t)rows + 1) * sizeof(uint32_t));
    m->colidx = malloc((nnz ? nnz : 1) * sizeof(uint32_t));
    m->vals = malloc((nnz ? nnz : 1) * sizeof(float));
    if (!m->rowptr || !m->colidx || !m->vals)
        return -1;
    uint64_t k = 0;
    for (uint32_t r = 0; r < rows; r++) {
        m->rowptr[r] = (uint32_t)k;
        for (uint32_t c = 0; c < cols; c++) {
            float v = w[(size_t)r * cols + c];
            if (v != 0.0f) {
                m->colidx[k] = c;
                m->vals[k++] = v;
            }
        }
    }
    m->rowptr[rows] = (uint32_t)k;
    return 0;
}

void csr_free(csr *m)
{
    free(m->rowptr);
    free(m->colidx);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

size_t csr_bytes(const csr *m)
{
    return ((size_t)m->rows + 1) * 4 + m->nnz * 8;
}

void csr_spmm_scalar(const csr *m, const float *x, size_t ldx, size_t n, float *y, size_t ldy,
                     uint32_t r0, uint32_t r1)
{
    for (uint32_t r = r0; r < r1; r++) {
        float *yr = y + r * ldy;
        if (n == 1) {
            float s0 = 0, s1 = 0;
            uint32_t k = m->rowptr[r], e = m->rowptr[r + 1];
            for (; k + 2 <= e; k += 2) {
                s0 += m->vals[k] * x[m->colidx[k] * ldx];
                s1 += m->vals[k + 1] * x[m->colidx[k + 1] * ldx];
            }
            if (k < e)
                s0 += m->vals[k] * x[m->colidx[k] * ldx];
            yr[0] = s0 + s1;
            continue;
        }
        memset(yr, 0, n * sizeof(float));
        for (uint32_t k = m->rowptr[r]; k < m->rowptr[r + 1]; k++) {
            const float *xr = x + m->colidx[k] * ldx;
            float v = m->vals[k];
            for (size_t j = 0; j < n; j++)
                yr[j] += v * xr[j];
        }
    }
}
