/* The parsed, validated view of an encoded weight (docs/format.md part 1).
 * The codec fills it (blob_parse in blob.c); kernels and the decoder read it.
 * All pointers point into the caller's blob; nothing is copied. */
#ifndef LSC_CODEC_BLOB_H
#define LSC_CODEC_BLOB_H

#include <stddef.h>
#include <stdint.h>

#include "common/endian.h"
#include "onnx-lsc/lsc.h"

#define LSC_BLOB_MAGIC "LSCW"
#define LSC_BLOB_VERSION 1
#define LSC_BLOB_FIXED_HEADER 56

enum {
    LSC_BLOB_FLAG_TRANSPOSED = 1u << 0,
    LSC_BLOB_FLAG_SIGNED_ZEROS = 1u << 1,
    LSC_BLOB_FLAG_TYPED_FIELD = 1u << 2,
    LSC_BLOB_FLAG_ZERO_POINTS = 1u << 3, /* 8-bit only: a zero point per row follows the values */
    LSC_BLOB_FLAGS_KNOWN = 0xfu
};

typedef struct lsc_blob_view {
    const uint8_t *base;
    size_t size;
    lsc_dtype dtype;
    unsigned elem_size;
    unsigned index_bits;
    unsigned flags;
    uint32_t rows, cols, block_h, block_w;
    uint32_t n_brows, n_bcols;
    uint64_t nnz, n_entries;
    int rank;
    int64_t dims[LSC_MAX_RANK];
    const uint8_t *values;   /* nnz * elem_size bytes */
    const uint8_t *zero_points; /* ZERO_POINTS: rows bytes, else NULL (all zero) */
    const uint8_t *bitmap;   /* n_brows * n_bcols bits */
    const uint8_t *pointers; /* (n_brows - 1) * (ptr_entry_bits + ptr_value_bits) bits */
    unsigned ptr_entry_bits, ptr_value_bits;
    const uint8_t *entries;  /* n_entries * index_bits bits */
} lsc_blob_view;

/* The opaque public type is this view plus a label for messages. An entropy-tier
 * blob (docs/format.md part 4) is decoded when opened into `owned`, the compute-tier
 * blob the view points into; `stored_size` is the size of the blob as given. */
struct lsc_weight {
    lsc_blob_view view;
    char name[128];
    void *owned;
    size_t stored_size;
    /* An 8-bit weight after lsc_weight_dequantize: its values as float32 (owned), and
     * the view the kernels multiply with (view with these values). */
    float *dequantized;
    lsc_blob_view float_view;
    double row_l1_max; /* the largest sum of |dequantized value| over a row */
    /* lsc_weight_prepare_n1: the batch-1 form of the positions (owned; NULL: none),
     * and whether it was asked for (it is built once). */
    struct lsc_n1_form *n1_form;
    int n1_tried;
    /* lsc_weight_prepare_int8: an 8-bit weight's integer batch-1 form (owned; NULL: none) */
    struct lsc_int8_form *int8_form;
    /* lsc_weight_prepare_conv_int8: its integer direct-convolution form (owned; NULL: none) */
    struct lsc_conv_int8_form *conv_int8_form;
    /* lsc_weight_prepare_conv: a float weight's windowed-multiply form (owned; NULL: none) */
    struct lsc_win_form *win_form;
};

/* The view the kernels multiply with: a float weight's own, an 8-bit weight's
 * dequantized one (NULL if it was not dequantized). */
static inline const lsc_blob_view *lsc_weight_mul_view(const lsc_weight *w)
{
    if (w->view.elem_size == 1)
        return w->dequantized ? &w->float_view : NULL;
    return &w->view;
}

/* decode.c: 1 if lsc_weight_fill writes every element of the weight's dense tensor
 * (a transposed weight decoded by tiles), so dst needs no zeroing beforehand. */
int lsc_weight_fill_writes_all(const lsc_weight *weight);

/* Reads `width` (0..57) bits at bit offset `bit` of an LSB-first stream. The caller
 * guarantees the bits lie inside the stream; reads whole bytes only inside it. */
static inline uint64_t lsc_read_bits(const uint8_t *stream, uint64_t bit, unsigned width)
{
    if (width == 0)
        return 0;
    const uint8_t *p = stream + (bit >> 3);
    unsigned shift = (unsigned)(bit & 7);
    unsigned nbytes = (shift + width + 7) / 8;
    uint64_t v = 0;
    for (unsigned i = 0; i < nbytes; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return (v >> shift) & ((width == 64) ? ~0ull : ((1ull << width) - 1));
}

/* Where block row `brow` starts: its first SRI entry and its first value. */
static inline void lsc_blob_row_start(const lsc_blob_view *v, uint32_t brow, uint64_t *entry,
                                      uint64_t *value)
{
    if (brow == 0) {
        *entry = 0;
        *value = 0;
        return;
    }
    if (brow >= v->n_brows) {
        *entry = v->n_entries;
        *value = v->nnz;
        return;
    }
    uint64_t stride = (uint64_t)v->ptr_entry_bits + v->ptr_value_bits;
    uint64_t bit = (uint64_t)(brow - 1) * stride;
    *entry = lsc_read_bits(v->pointers, bit, v->ptr_entry_bits);
    *value = lsc_read_bits(v->pointers, bit + v->ptr_entry_bits, v->ptr_value_bits);
}

static inline int lsc_blob_block_kept(const lsc_blob_view *v, uint32_t brow, uint32_t bcol)
{
    uint64_t bit = (uint64_t)brow * v->n_bcols + bcol;
    return (v->bitmap[bit >> 3] >> (bit & 7)) & 1;
}

/* Shared by the blob and the entropy blob (docs/format.md 1.1, 4.1), whose bytes 5-7
 * (dtype, index_bits, flags) and 16-31 (rows, cols, block_h, block_w) agree: reads and
 * checks those fields into v, or writes them from v. */
lsc_status lsc_blob_read_fields(const uint8_t *p, const char *label, lsc_blob_view *v, lsc_error *error);
void lsc_blob_store_fields(uint8_t *p, const lsc_blob_view *v);

/* XXH64 of a blob (either kind) with its checksum field, bytes 8..15, read as zero. */
uint64_t lsc_blob_checksum(const uint8_t *p, size_t size);
/* Checks the checksum stored in bytes 8..15 of an entry hashed as above (a blob of
 * either kind, a dense pack, a graph or names entry): LSC_ERR_CHECKSUM names the
 * entry as "KIND 'LABEL'". */
lsc_status lsc_blob_check_checksum(const uint8_t *p, size_t size, const char *kind, const char *label,
                                   lsc_error *error);

/* Parses and fully validates a blob (header, sizes, checksum, every block row's SRI
 * stream against bitmap and pointers). `name` labels the error message. */
lsc_status lsc_blob_parse(const void *blob, size_t size, const char *name, lsc_blob_view *view,
                          lsc_error *error);

/* The two walks lsc_blob_parse makes over block row `brow` of a view whose header,
 * bitmap and pointers are valid (tests compare them): entry by entry, naming the
 * fault; and the fast one, which only says whether the row is valid. */
lsc_status lsc_blob_check_block_row(const lsc_blob_view *v, uint64_t brow, const char *label, lsc_error *error);
int lsc_blob_block_row_is_valid(const lsc_blob_view *v, uint64_t brow);

#endif /* LSC_CODEC_BLOB_H */
