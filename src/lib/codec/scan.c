#include "codec/scan.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "codec/dtype.h"
#include "codec/scan_avx2.h"
#include "common/checked.h"
#include "common/error.h"
#include "common/file_io.h"

lsc_status lsc_matrix_shape_of(const lsc_tensor *tensor, int transposed, lsc_matrix_shape *shape,
                               lsc_error *error)
{
    size_t elem_size = lsc_dtype_size((int)tensor->dtype);
    if (!elem_size)
        return lsc_fail(error, LSC_ERR_UNSUPPORTED, "tensor data type %d is not a float type the codec handles",
                        (int)tensor->dtype);
    if (tensor->rank < 0 || tensor->rank > LSC_MAX_RANK)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "tensor rank %d outside 0..%d", tensor->rank,
                        LSC_MAX_RANK);
    uint64_t lead = 1, rest = 1;
    for (int i = 0; i < tensor->rank; i++) {
        if (tensor->dims[i] < 0)
            return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "tensor dimension %d is negative (%lld)", i,
                            (long long)tensor->dims[i]);
        uint64_t *into = (i == 0 && tensor->rank >= 2) ? &lead : &rest;
        if (lsc_mul_overflow_u64(*into, (uint64_t)tensor->dims[i], into))
            return lsc_fail(error, LSC_ERR_TOO_LARGE, "tensor element count overflows 64 bits");
    }
    uint64_t elements, bytes;
    if (lsc_mul_overflow_u64(lead, rest, &elements) || lsc_mul_overflow_u64(elements, elem_size, &bytes) ||
        bytes > SIZE_MAX)
        return lsc_fail(error, LSC_ERR_TOO_LARGE, "tensor of %llu x %llu elements is too large",
                        (unsigned long long)lead, (unsigned long long)rest);
    if (elements == 0)
        return lsc_fail(error, LSC_ERR_UNSUPPORTED, "tensor has no elements (a dimension is 0)");
    uint64_t rows = transposed ? rest : lead, cols = transposed ? lead : rest;
    if (rows > UINT32_MAX || cols > UINT32_MAX)
        return lsc_fail(error, LSC_ERR_TOO_LARGE, "matrix of %llu x %llu: a side exceeds 2^32-1",
                        (unsigned long long)rows, (unsigned long long)cols);
    /* Keeps every padded scan space and position sum far below 2^64 (bh*bw*blocks <= 4*elements). */
    if (elements > (UINT64_C(1) << 60))
        return lsc_fail(error, LSC_ERR_TOO_LARGE, "tensor of %llu elements is too large",
                        (unsigned long long)elements);
    shape->rows = (uint32_t)rows;
    shape->cols = (uint32_t)cols;
    shape->elements = elements;
    shape->elem_size = (unsigned)elem_size;
    shape->transposed = transposed != 0;
    return LSC_OK;
}

lsc_status lsc_tensor_matrix_dims(const lsc_tensor *tensor, int transposed, uint64_t *rows,
                                  uint64_t *cols, lsc_error *error)
{
    lsc_matrix_shape shape = {0};
    LSC_TRY(lsc_matrix_shape_of(tensor, transposed, &shape, error));
    *rows = shape.rows;
    *cols = shape.cols;
    return LSC_OK;
}

void lsc_sparse_free(lsc_sparse *sparse)
{
    free(sparse->row_ptr);
    free(sparse->col);
    free(sparse->values);
    sparse->row_ptr = NULL;
    sparse->col = NULL;
    sparse->values = NULL;
}

typedef struct col_list {
    uint32_t *col;
    uint8_t *values; /* elem_size bytes per column */
    uint64_t n, cap;
} col_list;

static int col_list_grow(col_list *l, unsigned elem_size)
{
    uint64_t cap = l->cap ? l->cap * 2 : 4096;
    if (cap > SIZE_MAX / 8)
        return 1;
    uint32_t *p = realloc(l->col, (size_t)cap * sizeof *p);
    if (p)
        l->col = p;
    uint8_t *v = realloc(l->values, (size_t)cap * elem_size);
    if (v)
        l->values = v;
    if (!p || !v)
        return 1;
    l->cap = cap;
    return 0;
}

/* Pages of a mapped input are dropped every RELEASE_SPAN bytes scanned. */
#define RELEASE_SPAN (8u << 20)

/* Scans the row-major view (vrows x vcols) into CSR. One loop per element size so that
 * the loads are fixed-width; a value is kept when any bit but the sign is set (or it
 * is -0.0 under bit_exact). Without a branch per element (10% density makes it a
 * coin toss): every column and value is written and the count advances by the keep
 * flag, with room made for SCAN_SPAN columns at a time (and 8 more for the AVX2
 * loop's whole-vector stores, used for 4-byte elements when WIDE). */
#define SCAN_SPAN 4096

#define LSC_SCAN_LOOP(LOAD, SIGN, STEP, WIDE)                                                    \
    for (uint64_t r = 0; r < vrows; r++) {                                                     \
        row_ptr[r] = list.n;                                                                   \
        const uint8_t *p = data + r * vcols * (STEP);                                          \
        for (uint64_t c0 = 0; c0 < vcols; c0 += SCAN_SPAN) {                                   \
            uint64_t c1 = c0 + SCAN_SPAN < vcols ? c0 + SCAN_SPAN : vcols;                     \
            while (list.cap - list.n < c1 - c0 + 8)                                            \
                if (col_list_grow(&list, (STEP)))                                              \
                    goto no_memory;                                                            \
            if (WIDE) {                                                                        \
                list.n += lsc_scan_span4_avx2(p, c0, c1, (int)keep_signed, list.col + list.n,   \
                                              list.values + list.n * 4, &signed_zeros);        \
                p += (c1 - c0) * (STEP);                                                       \
                continue;                                                                      \
            }                                                                                  \
            uint32_t *next = list.col + list.n;                                                \
            uint8_t *next_value = list.values + list.n * (STEP);                               \
            for (uint64_t c = c0; c < c1; c++, p += (STEP)) {                                  \
                uint64_t bits = LOAD(p);                                                       \
                uint64_t negative_zero = (bits == (SIGN)) & (bits != 0);                       \
                uint64_t keep = ((bits & ~(uint64_t)(SIGN)) != 0) | (negative_zero & keep_signed); \
                signed_zeros += negative_zero;                                                 \
                *next = (uint32_t)c;                                                           \
                memcpy(next_value, p, (STEP));                                                 \
                next += keep;                                                                  \
                next_value += keep * (STEP);                                                   \
            }                                                                                  \
            list.n = (uint64_t)(next - list.col);                                              \
        }                                                                                      \
        if (release_input && (size_t)(p - released) >= RELEASE_SPAN) {                         \
            lsc_map_release(released, (size_t)(p - released));                                \
            released = p;                                                                      \
        }                                                                                      \
    }

static inline uint64_t load_u8(const uint8_t *p)
{
    return p[0];
}

/* The transposition writes to one place per encoded row at once: thousands of pages
 * apart, a TLB miss per store with 4 KiB pages. Huge pages where the system gives
 * them on request. */
static void *scatter_alloc(size_t size)
{
    size_t huge = (size_t)2 << 20;
    void *p = NULL;
    if (size < huge)
        return malloc(size);
    if (posix_memalign(&p, huge, size))
        return NULL;
    (void)madvise(p, size, MADV_HUGEPAGE); /* advice only */
    return p;
}

/* values[i] = src[k] for element size E (a constant in each inlined copy). */
static inline __attribute__((always_inline)) void copy_value(uint8_t *dst, uint64_t i, const uint8_t *src,
                                                             uint64_t k, unsigned E)
{
    memcpy(dst + i * E, src + k * E, E);
}

/* Transposes the view's CSR (list, rows vrows) into out (rows out->rows): view column
 * j becomes encoded row j; view rows arrive in increasing order, so every encoded row
 * comes out sorted. fill is out->rows words of scratch. */
static inline __attribute__((always_inline)) void transpose(const col_list *list, const uint64_t *row_ptr,
                                                            uint64_t vrows, uint64_t *fill, lsc_sparse *out,
                                                            unsigned E)
{
    for (uint64_t vr = 0; vr < vrows; vr++)
        for (uint64_t k = row_ptr[vr]; k < row_ptr[vr + 1]; k++) {
            uint64_t i = fill[list->col[k]]++;
            out->col[i] = (uint32_t)vr;
            copy_value(out->values, i, list->values, k, E);
        }
}

lsc_status lsc_sparse_build(const lsc_tensor *tensor, const lsc_matrix_shape *shape, int bit_exact,
                            int release_input, lsc_sparse *out, lsc_error *error)
{
    memset(out, 0, sizeof *out);
    uint64_t vrows = shape->transposed ? shape->cols : shape->rows;
    uint64_t vcols = shape->transposed ? shape->rows : shape->cols;
    const uint8_t *data = tensor->data, *released = data;
    uint64_t *row_ptr = malloc(((size_t)vrows + 1) * sizeof *row_ptr);
    col_list list = {0};
    uint64_t signed_zeros = 0, keep_signed = bit_exact != 0;
    if (!row_ptr)
        goto no_memory;
    switch (shape->elem_size) {
    case 1: LSC_SCAN_LOOP(load_u8, 0, 1, 0) break;
    case 2: LSC_SCAN_LOOP(lsc_load_le16, UINT64_C(1) << 15, 2, 0) break;
    case 4:
        if (lsc_scan_avx2_available())
            LSC_SCAN_LOOP(lsc_load_le32, UINT64_C(1) << 31, 4, 1)
        else
            LSC_SCAN_LOOP(lsc_load_le32, UINT64_C(1) << 31, 4, 0)
        break;
    default: LSC_SCAN_LOOP(lsc_load_le64, UINT64_C(1) << 63, 8, 0) break;
    }
    if (release_input)
        lsc_map_release(released, (size_t)(data + shape->elements * shape->elem_size - released));
    row_ptr[vrows] = list.n;
    out->rows = shape->rows;
    out->cols = shape->cols;
    out->nnz = list.n;
    out->signed_zeros = signed_zeros;
    if (!shape->transposed) {
        out->row_ptr = row_ptr;
        out->col = list.col;
        out->values = list.values;
        return LSC_OK;
    }
    unsigned E = shape->elem_size;
    out->row_ptr = calloc((size_t)shape->rows + 1, sizeof *out->row_ptr);
    out->col = scatter_alloc((size_t)(list.n ? list.n : 1) * sizeof *out->col);
    out->values = scatter_alloc((size_t)(list.n ? list.n : 1) * E);
    if (!out->row_ptr || !out->col || !out->values)
        goto no_memory;
    for (uint64_t k = 0; k < list.n; k++)
        out->row_ptr[list.col[k] + 1]++;
    for (uint64_t r = 0; r < shape->rows; r++)
        out->row_ptr[r + 1] += out->row_ptr[r];
    uint64_t *fill = malloc((size_t)shape->rows * sizeof *fill);
    if (!fill)
        goto no_memory;
    memcpy(fill, out->row_ptr, (size_t)shape->rows * sizeof *fill);
    switch (E) {
    case 1: transpose(&list, row_ptr, vrows, fill, out, 1); break;
    case 2: transpose(&list, row_ptr, vrows, fill, out, 2); break;
    case 4: transpose(&list, row_ptr, vrows, fill, out, 4); break;
    default: transpose(&list, row_ptr, vrows, fill, out, 8); break;
    }
    free(fill);
    free(row_ptr);
    free(list.col);
    free(list.values);
    return LSC_OK;

no_memory:
    free(row_ptr);
    free(list.col);
    free(list.values);
    lsc_sparse_free(out);
    return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory listing the non-zeros of a %u x %u matrix",
                    shape->rows, shape->cols);
}
