/* The sizes of a blob's header and sections (docs/format.md 1.3), from its header
 * fields. One function so that the encoder, the search and the parser can never
 * disagree about where a byte goes. */
#ifndef LSC_CODEC_LAYOUT_H
#define LSC_CODEC_LAYOUT_H

#include <stdint.h>

typedef struct lsc_blob_layout {
    uint64_t n_brows, n_bcols, blocks;
    unsigned ptr_entry_bits, ptr_value_bits; /* we, wv */
    uint64_t header;   /* 56 + 8 * rank */
    uint64_t values;   /* nnz * E */
    uint64_t zero_points; /* rows with the ZERO_POINTS flag (lsc_blob_layout_add_zero_points), else 0 */
    uint64_t bitmap;   /* ceil(blocks / 8) */
    uint64_t pointers; /* ceil((n_brows - 1) * (we + wv) / 8) */
    uint64_t entries;  /* ceil(n_entries * index_bits / 8) */
    uint64_t total;
} lsc_blob_layout;

/* Fills *out. Preconditions: rows, cols, block_h, block_w >= 1, rank 0..8.
 * Returns 0, or 1 when a size overflows 64 bits. */
int lsc_blob_layout_compute(int rank, unsigned elem_size, uint32_t rows, uint32_t cols,
                            uint32_t block_h, uint32_t block_w, unsigned index_bits, uint64_t nnz,
                            uint64_t n_entries, lsc_blob_layout *out);

/* Adds the zero-point section of an 8-bit blob with the ZERO_POINTS flag (rows
 * bytes after the values); 1 on overflow. */
int lsc_blob_layout_add_zero_points(lsc_blob_layout *layout, uint32_t rows);

/* Whether the kernels' fastest path serves this layout: whole-width block rows
 * (block_w = cols) whose scan space fits 16 bits (block_h * cols <= 65536), at a
 * width whose eight entries of a half group each fit in two bytes (b = 1..10, 12,
 * 16). The x86 decoder (kernels/x86/rowpos_avx2.h) has a copy per width of exactly
 * these; the search prefers them (search.c). */
static inline int lsc_layout_whole_rows_fast(uint32_t block_h, uint32_t block_w, uint32_t cols,
                                             unsigned index_bits)
{
    if (block_w != cols || (uint64_t)block_h * cols > 65536 || index_bits < 1 || index_bits > 16)
        return 0;
    for (unsigned j = 0; j < 8; j++)
        if ((j * index_bits) % 8 + index_bits > 16)
            return 0;
    return 1;
}

#endif /* LSC_CODEC_LAYOUT_H */
