#include "codec/layout.h"

#include "codec/blob.h"
#include "common/checked.h"

static int ceil_bits_to_bytes(uint64_t count, uint64_t width, uint64_t *bytes)
{
    uint64_t bits;
    if (lsc_mul_overflow_u64(count, width, &bits))
        return 1;
    *bytes = bits / 8 + (bits % 8 != 0);
    return 0;
}

int lsc_blob_layout_add_zero_points(lsc_blob_layout *layout, uint32_t rows)
{
    layout->zero_points = rows;
    return lsc_add_overflow_u64(layout->total, rows, &layout->total);
}

int lsc_blob_layout_compute(int rank, unsigned elem_size, uint32_t rows, uint32_t cols,
                            uint32_t block_h, uint32_t block_w, unsigned index_bits, uint64_t nnz,
                            uint64_t n_entries, lsc_blob_layout *out)
{
    out->n_brows = lsc_ceil_div_u64(rows, block_h);
    out->n_bcols = lsc_ceil_div_u64(cols, block_w);
    out->blocks = out->n_brows * out->n_bcols; /* < 2^64: each factor < 2^32 */
    out->ptr_entry_bits = lsc_bits_u64(n_entries);
    out->ptr_value_bits = lsc_bits_u64(nnz);
    out->header = LSC_BLOB_FIXED_HEADER + 8u * (unsigned)rank;
    if (lsc_mul_overflow_u64(nnz, elem_size, &out->values))
        return 1;
    out->zero_points = 0;
    out->bitmap = out->blocks / 8 + (out->blocks % 8 != 0);
    if (ceil_bits_to_bytes(out->n_brows - 1, out->ptr_entry_bits + out->ptr_value_bits,
                           &out->pointers))
        return 1;
    if (ceil_bits_to_bytes(n_entries, index_bits, &out->entries))
        return 1;
    uint64_t t = out->header;
    if (lsc_add_overflow_u64(t, out->values, &t) ||
        lsc_add_overflow_u64(t, out->bitmap, &t) ||
        lsc_add_overflow_u64(t, out->pointers, &t) || lsc_add_overflow_u64(t, out->entries, &t))
        return 1;
    out->total = t;
    return 0;
}
