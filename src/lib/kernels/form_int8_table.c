/* The table kind of the integer batch-1 form (form_int8.h): built from the rows kind
 * and the blob's zero points, once; and whether this CPU runs it. */
#include <stdlib.h>

#include "common/cpu.h"
#include "kernels/form_int8.h"
#include "kernels/kernels_config.h"

void lsc_int8_table_free(lsc_int8_table *t)
{
    if (!t)
        return;
    free(t->lo);
    free(t->hi);
    free(t->u);
    free(t->z);
    free(t->wsum);
    free(t);
}

int lsc_int8_have_table(unsigned flags)
{
#if LSC_HAVE_AVX512_TABLE
    return (flags & LSC_CPU_AVX512) && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("avx512vnni");
#else
    (void)flags;
    return 0;
#endif
}

void lsc_int8_table_scalar(const lsc_int8_form *f, const int32_t *x, int32_t *y, uint32_t r0, uint32_t r1)
{
    const lsc_int8_table *t = f->table;
    for (uint32_t r = r0; r < r1; r++) {
        uint32_t acc = 0;
        for (uint64_t i = f->row_ptr[r]; i < f->row_ptr[r + 1]; i++)
            acc += (uint32_t)((int32_t)t->u[i] - t->z[r]) * (uint32_t)x[(uint32_t)t->hi[i] << 7 | t->lo[i]];
        y[r] = (int32_t)acc;
    }
}

int lsc_int8_table_build(lsc_int8_form *f, const lsc_blob_view *v)
{
    size_t n = (size_t)f->row_ptr[f->rows];
    lsc_int8_table *t = calloc(1, sizeof *t);
    if (!t)
        return 0;
    t->chunks = (v->cols + 127) / 128;
    t->lo = malloc(n + 1);
    t->hi = malloc(n + 1);
    t->u = malloc(n + 1);
    t->z = malloc(((size_t)f->rows + 1) * sizeof *t->z);
    t->wsum = malloc(((size_t)f->rows + 1) * sizeof *t->wsum);
    if (!t->lo || !t->hi || !t->u || !t->z || !t->wsum) {
        lsc_int8_table_free(t);
        return 0;
    }
    for (uint32_t r = 0; r < f->rows; r++) {
        /* u = code as uint8 (int8: + 128), z the zero point alike: w = u - z */
        uint8_t zp = v->zero_points ? v->zero_points[r] : 0;
        t->z[r] = v->dtype == LSC_DTYPE_INT8 ? zp ^ 0x80 : zp;
        uint32_t sum = 0;
        for (uint64_t i = f->row_ptr[r]; i < f->row_ptr[r + 1]; i++) {
            int w = f->val_bytes == 1 ? ((const int8_t *)f->vals)[i] : ((const int16_t *)f->vals)[i];
            uint32_t c = f->col_bytes == 2 ? ((const uint16_t *)f->cols)[i] : ((const uint32_t *)f->cols)[i];
            t->lo[i] = (uint8_t)(c & 127);
            t->hi[i] = (uint8_t)(c >> 7);
            t->u[i] = (uint8_t)(w + t->z[r]);
            sum += (uint32_t)w;
        }
        t->wsum[r] = (int32_t)sum;
    }
    f->table = t;
    f->total += sizeof *t + 3 * (n + 1) + 2 * ((size_t)f->rows + 1) * sizeof(int32_t);
    return 1;
}
