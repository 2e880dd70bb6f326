/* lsc_encode / lsc_encode_plan: dense tensor -> blob (docs/format.md part 1).
 * scan.c finds the values, search.c picks the shape and width, this file lays the
 * blob out: block row by block row, values sorted into scan order by a counting sort
 * on their block column (rows arrive in order, so the sort is stable and in-block
 * order comes for free). */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "codec/bitstream.h"
#include "codec/dtype.h"
#include "codec/blob.h"
#include "codec/encode.h"
#include "codec/scan.h"
#include "codec/search.h"
#include "common/checked.h"
#include "common/error.h"
#include "common/file_io.h"

void lsc_encode_options_default(lsc_encode_options *options)
{
    memset(options, 0, sizeof *options);
    options->size_slack_ppm = LSC_DEFAULT_SIZE_SLACK_PPM;
}

static void fill_stats(const lsc_matrix_shape *shape, const lsc_sparse *m, const lsc_plan *plan,
                       lsc_encode_stats *st)
{
    memset(st, 0, sizeof *st);
    st->rows = shape->rows;
    st->cols = shape->cols;
    st->block_h = plan->block_h;
    st->block_w = plan->block_w;
    st->index_bits = plan->index_bits;
    st->elements = shape->elements;
    st->nnz = m->nnz;
    st->signed_zeros = m->signed_zeros;
    st->blocks = plan->layout.blocks;
    st->kept_blocks = plan->kept_blocks;
    st->value_entries = m->nnz;
    st->jump_entries = plan->n_entries - m->nnz;
    st->dense_bytes = shape->elements * shape->elem_size;
    st->value_bytes = plan->layout.values;
    st->header_bytes = plan->layout.header + plan->layout.zero_points;
    st->bitmap_bytes = plan->layout.bitmap;
    st->pointer_bytes = plan->layout.pointers;
    st->index_bytes = plan->layout.entries;
    st->meta_bytes = st->header_bytes + st->bitmap_bytes + st->pointer_bytes + st->index_bytes;
    st->blob_bytes = st->value_bytes + st->meta_bytes;
}

/* An 8-bit tensor is coded as each element minus its encoded row's zero point
 * (mod 256, docs/format.md 1.9), so that its zeros are the byte 0 like +0.0 elsewhere.
 * *delta (free it) holds that copy; *coded is the tensor to encode. */
static lsc_status delta_tensor(const lsc_tensor *tensor, const lsc_encode_options *options,
                               const lsc_matrix_shape *shape, lsc_tensor *coded, uint8_t **delta,
                               lsc_error *error)
{
    *coded = *tensor;
    *delta = NULL;
    int any = 0;
    for (uint32_t r = 0; options->zero_points && r < shape->rows && !any; r++)
        any = options->zero_points[r] != 0;
    if (!any) /* all zero: codes are deltas already, and no section is written */
        return LSC_OK;
    uint64_t rows = shape->rows, cols = shape->cols;
    uint64_t n = rows * cols;
    uint8_t *d = malloc((size_t)(n ? n : 1));
    if (!d)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory for a %u x %u 8-bit matrix", shape->rows,
                        shape->cols);
    const uint8_t *src = tensor->data, *zp = options->zero_points;
    for (uint64_t i = 0; i < rows * cols; i++)
        d[i] = (uint8_t)(src[i] - zp[options->transposed ? i % rows : i / cols]);
    coded->data = d;
    *delta = d;
    return LSC_OK;
}

/* Shared front half of encode and plan: checks, value positions, search. *coded is
 * the tensor whose values go into the blob (8-bit: deltas in *delta, to free). */
static lsc_status prepare(const lsc_tensor *tensor, const lsc_encode_options *options, int release_input,
                          lsc_matrix_shape *shape, lsc_sparse *m, lsc_plan *plan, lsc_tensor *coded,
                          uint8_t **delta, lsc_error *error)
{
    memset(m, 0, sizeof *m);
    *delta = NULL;
    if (!tensor)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "lsc_encode: tensor is NULL");
    LSC_TRY(lsc_matrix_shape_of(tensor, options->transposed, shape, error));
    if (!tensor->data)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "lsc_encode: tensor data is NULL");
    if (options->zero_points && !lsc_dtype_is_8bit(tensor->dtype))
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "lsc_encode: zero points given for a float tensor");
    LSC_TRY(delta_tensor(tensor, options, shape, coded, delta, error));
    if (*delta && release_input) { /* read whole into the copy: the scan reads that */
        lsc_map_release(tensor->data, (size_t)(shape->elements * shape->elem_size));
        release_input = 0;
    }
    tensor = coded;
    lsc_search_limits limits = {options->index_bits, options->block_h, options->block_w,
                                options->min_block_rows, options->size_slack_ppm, 0};
    lsc_status st = lsc_sparse_build(tensor, shape, options->bit_exact, release_input, m, error);
    if (st == LSC_OK)
        st = lsc_search_plan(m, tensor->rank, shape->elem_size, &limits, plan, error);
    /* The same bytes for every candidate: added after the search. */
    if (st == LSC_OK && *delta && lsc_blob_layout_add_zero_points(&plan->layout, shape->rows))
        st = lsc_fail(error, LSC_ERR_TOO_LARGE, "lsc_encode: a blob of a %u x %u matrix overflows 64 bits",
                      shape->rows, shape->cols);
    if (st != LSC_OK) {
        lsc_sparse_free(m);
        free(*delta);
        *delta = NULL;
    }
    return st;
}

lsc_status lsc_encode_plan(const lsc_tensor *tensor, const lsc_encode_options *options,
                           lsc_encode_stats *stats, lsc_error *error)
{
    lsc_encode_options defaults;
    if (!options) {
        lsc_encode_options_default(&defaults);
        options = &defaults;
    }
    if (!stats)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "lsc_encode_plan: stats is NULL");
    lsc_matrix_shape shape;
    lsc_sparse m;
    lsc_plan plan;
    lsc_tensor coded;
    uint8_t *delta;
    LSC_TRY(prepare(tensor, options, 0, &shape, &m, &plan, &coded, &delta, error));
    fill_stats(&shape, &m, &plan, stats);
    lsc_sparse_free(&m);
    free(delta);
    return LSC_OK;
}

typedef struct placed {
    uint64_t pos; /* scan position in the block row */
    uint64_t src; /* element index in the tensor */
} placed;

typedef struct writer {
    const lsc_matrix_shape *shape;
    const lsc_sparse *m;
    const lsc_plan *plan;
    const uint8_t *data;
    int data_in_row_order; /* data holds the values in compressed-row order (m->values) */
    uint8_t *values, *bitmap, *pointers;
    lsc_bitwriter entries;
    uint64_t n_entries, n_values, kept;
    uint64_t *count;  /* per block column: values, then the next free slot */
    uint64_t *rank;   /* per block column: its number among the kept blocks of the row */
    uint64_t *touched;
    placed *items;
} writer;

static inline uint32_t block_col(uint32_t c, uint32_t bw, int pow2, unsigned shift, uint32_t *lc)
{
    uint32_t bc = pow2 ? c >> shift : c / bw;
    *lc = c - bc * bw;
    return bc;
}

/* Copies the values of items[0..n) in scan order. A transposed weight's values sit a
 * dense row apart (a cache miss and often a TLB miss each): loads are started a
 * few items ahead, and the fixed size E (a constant in each inlined copy) keeps
 * the copy a plain load and store. */
#define GATHER_AHEAD 16

static inline __attribute__((always_inline)) void gather_values(uint8_t *dst, const uint8_t *data,
                                                                const placed *items, uint64_t n, unsigned E)
{
    for (uint64_t i = 0; i < n; i++) {
        if (i + GATHER_AHEAD < n)
            __builtin_prefetch(data + items[i + GATHER_AHEAD].src * E);
        memcpy(dst + i * E, data + items[i].src * E, E);
    }
}

/* SRI: full jumps of H units first, then the value entry with the remainder. */
static inline void put_gap(writer *w, uint64_t gap)
{
    unsigned b = w->plan->index_bits, log_h = b - 1;
    uint64_t H = UINT64_C(1) << log_h;
    for (uint64_t units = gap >> log_h; units;) {
        uint64_t n = units < H ? units : H;
        lsc_put_bits(&w->entries, H + n - 1, b);
        units -= n;
        w->n_entries++;
    }
    lsc_put_bits(&w->entries, gap & (H - 1), b);
    w->n_entries++;
}

/* A block row that is one whole-width block, with the values in row order: they are
 * in scan order already (row by row, columns increasing), so no sort, no position
 * list, and the values go in with one copy. */
static void write_whole_width_row(writer *w, uint64_t brow)
{
    const lsc_sparse *m = w->m;
    uint64_t bh = w->plan->block_h, bw = w->plan->block_w;
    uint64_t r0 = brow * bh, r1 = r0 + bh < m->rows ? r0 + bh : m->rows;
    uint64_t k0 = m->row_ptr[r0], k1 = m->row_ptr[r1], next = 0;
    if (k0 == k1)
        return;
    w->bitmap[brow >> 3] |= (uint8_t)(1u << (brow & 7));
    w->kept++;
    for (uint64_t r = r0; r < r1; r++)
        for (uint64_t k = m->row_ptr[r], base = (r - r0) * bw; k < m->row_ptr[r + 1]; k++) {
            put_gap(w, base + m->col[k] - next);
            next = base + m->col[k] + 1;
        }
    unsigned E = w->shape->elem_size;
    memcpy(w->values + w->n_values * E, w->data + k0 * E, (size_t)(k1 - k0) * E);
    w->n_values += k1 - k0;
}

static void write_block_row(writer *w, uint64_t brow)
{
    const lsc_sparse *m = w->m;
    uint32_t bh = w->plan->block_h, bw = w->plan->block_w;
    int pow2 = (bw & (bw - 1)) == 0;
    unsigned shift = (unsigned)__builtin_ctz(bw);
    uint64_t r0 = brow * bh, r1 = r0 + bh < m->rows ? r0 + bh : m->rows;
    uint64_t S = (uint64_t)bh * bw, n_bcols = w->plan->layout.n_bcols;
    uint32_t lc, min_bc = UINT32_MAX, max_bc = 0;

    for (uint64_t k = m->row_ptr[r0]; k < m->row_ptr[r1]; k++) {
        uint32_t bc = block_col(m->col[k], bw, pow2, shift, &lc);
        if (w->count[bc]++ == 0)
            w->touched[bc >> 6] |= UINT64_C(1) << (bc & 63);
        min_bc = bc < min_bc ? bc : min_bc;
        max_bc = bc > max_bc ? bc : max_bc;
    }
    uint64_t slot = 0, kept_in_row = 0;
    for (uint32_t wd = min_bc >> 6; wd <= max_bc >> 6 && min_bc != UINT32_MAX; wd++) {
        uint64_t word = w->touched[wd];
        w->touched[wd] = 0;
        while (word) {
            uint32_t bc = wd * 64 + (uint32_t)__builtin_ctzll(word);
            word &= word - 1;
            uint64_t bit = brow * n_bcols + bc;
            w->bitmap[bit >> 3] |= (uint8_t)(1u << (bit & 7));
            w->rank[bc] = kept_in_row++;
            uint64_t n = w->count[bc];
            w->count[bc] = slot;
            slot += n;
        }
    }
    for (uint64_t r = r0; r < r1; r++)
        for (uint64_t k = m->row_ptr[r]; k < m->row_ptr[r + 1]; k++) {
            uint32_t c = m->col[k];
            uint32_t bc = block_col(c, bw, pow2, shift, &lc);
            placed *p = &w->items[w->count[bc]++];
            p->pos = w->rank[bc] * S + (r - r0) * bw + lc;
            p->src = w->data_in_row_order ? k : lsc_matrix_source_index(w->shape, (uint32_t)r, c);
        }
    for (uint32_t bc = min_bc; bc <= max_bc && min_bc != UINT32_MAX; bc++)
        w->count[bc] = 0;
    w->kept += kept_in_row;

    uint64_t next = 0;
    unsigned E = w->shape->elem_size;
    for (uint64_t i = 0; i < slot; i++) {
        put_gap(w, w->items[i].pos - next);
        next = w->items[i].pos + 1;
    }
    uint8_t *dst = w->values + w->n_values * E;
    switch (E) {
    case 1: gather_values(dst, w->data, w->items, slot, 1); break;
    case 2: gather_values(dst, w->data, w->items, slot, 2); break;
    case 4: gather_values(dst, w->data, w->items, slot, 4); break;
    default: gather_values(dst, w->data, w->items, slot, 8); break;
    }
    w->n_values += slot;
}

static lsc_status write_blob(const lsc_tensor *tensor, const lsc_encode_options *options,
                             const lsc_matrix_shape *shape, const lsc_sparse *m, const lsc_plan *plan,
                             int data_in_row_order, uint8_t *blob, lsc_error *error)
{
    const lsc_blob_layout *L = &plan->layout;
    memcpy(blob, LSC_BLOB_MAGIC, 4);
    blob[4] = LSC_BLOB_VERSION;
    lsc_blob_view fields = {
        .dtype = tensor->dtype,
        .index_bits = plan->index_bits,
        .flags = (options->transposed ? LSC_BLOB_FLAG_TRANSPOSED : 0) |
                 (L->zero_points ? LSC_BLOB_FLAG_ZERO_POINTS : 0) |
                 (options->bit_exact && shape->elem_size > 1 ? LSC_BLOB_FLAG_SIGNED_ZEROS : 0) |
                 (options->typed_field ? LSC_BLOB_FLAG_TYPED_FIELD : 0),
        .rows = shape->rows,
        .cols = shape->cols,
        .block_h = plan->block_h,
        .block_w = plan->block_w,
    };
    lsc_blob_store_fields(blob, &fields);
    lsc_store_le64(blob + 32, m->nnz);
    lsc_store_le64(blob + 40, plan->n_entries);
    blob[48] = (uint8_t)tensor->rank;
    for (int i = 0; i < tensor->rank; i++)
        lsc_store_le64(blob + LSC_BLOB_FIXED_HEADER + 8 * i, (uint64_t)tensor->dims[i]);

    uint64_t max_row_nnz = 0;
    for (uint64_t r0 = 0; r0 < m->rows; r0 += plan->block_h) {
        uint64_t r1 = r0 + plan->block_h < m->rows ? r0 + plan->block_h : m->rows;
        uint64_t n = m->row_ptr[r1] - m->row_ptr[r0];
        max_row_nnz = n > max_row_nnz ? n : max_row_nnz;
    }
    writer w = {
        .shape = shape,
        .m = m,
        .plan = plan,
        .data = m->values ? m->values : tensor->data,
        .data_in_row_order = data_in_row_order || m->values,
        .values = blob + L->header,
        .bitmap = blob + L->header + L->values + L->zero_points,
        .pointers = blob + L->header + L->values + L->zero_points + L->bitmap,
        .entries = {blob + L->header + L->values + L->zero_points + L->bitmap + L->pointers, 0},
        .count = calloc((size_t)L->n_bcols, sizeof(uint64_t)),
        .rank = malloc((size_t)L->n_bcols * sizeof(uint64_t)),
        .touched = calloc((size_t)L->n_bcols / 64 + 1, sizeof(uint64_t)),
        .items = malloc((size_t)(max_row_nnz ? max_row_nnz : 1) * sizeof(placed)),
    };
    lsc_status st = LSC_OK;
    if (!w.count || !w.rank || !w.touched || !w.items) {
        st = lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory encoding a %u x %u matrix", shape->rows,
                      shape->cols);
        goto done;
    }
    if (L->zero_points)
        memcpy(blob + L->header + L->values, options->zero_points, (size_t)L->zero_points);
    lsc_bitwriter ptr = {w.pointers, 0};
    for (uint64_t brow = 0; brow < L->n_brows; brow++) {
        if (brow > 0) {
            lsc_put_bits(&ptr, w.n_entries, L->ptr_entry_bits);
            lsc_put_bits(&ptr, w.n_values, L->ptr_value_bits);
        }
        if (L->n_bcols == 1 && w.data_in_row_order)
            write_whole_width_row(&w, brow);
        else
            write_block_row(&w, brow);
    }
    if (w.n_entries != plan->n_entries || w.n_values != m->nnz || w.kept != plan->kept_blocks) {
        st = lsc_fail(error, LSC_ERR_INTERNAL,
                      "encoder wrote %llu entries / %llu values / %llu blocks, planned %llu / %llu / %llu",
                      (unsigned long long)w.n_entries, (unsigned long long)w.n_values,
                      (unsigned long long)w.kept, (unsigned long long)plan->n_entries,
                      (unsigned long long)m->nnz, (unsigned long long)plan->kept_blocks);
        goto done;
    }
    lsc_store_le64(blob + 8, XXH64(blob, (size_t)L->total, 0));
done:
    free(w.count);
    free(w.rank);
    free(w.touched);
    free(w.items);
    return st;
}

/* Allocates and writes the planned blob. */
static lsc_status write_planned(const lsc_tensor *tensor, const lsc_encode_options *options,
                                const lsc_matrix_shape *shape, const lsc_sparse *m, const lsc_plan *plan,
                                int data_in_row_order, void **blob_out, size_t *blob_size, lsc_error *error)
{
    if (plan->layout.total > SIZE_MAX)
        return lsc_fail(error, LSC_ERR_TOO_LARGE, "blob of %llu bytes does not fit in memory",
                        (unsigned long long)plan->layout.total);
    uint8_t *blob = calloc(1, (size_t)plan->layout.total);
    if (!blob)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory for a blob of %llu bytes",
                        (unsigned long long)plan->layout.total);
    lsc_status st = write_blob(tensor, options, shape, m, plan, data_in_row_order, blob, error);
    if (st != LSC_OK) {
        free(blob);
        return st;
    }
    *blob_out = blob;
    *blob_size = (size_t)plan->layout.total;
    return LSC_OK;
}

lsc_status lsc_encode_sparse(const lsc_tensor *header, const lsc_encode_options *options,
                             const lsc_sparse *m, void **blob_out, size_t *blob_size, lsc_error *error)
{
    *blob_out = NULL;
    *blob_size = 0;
    lsc_matrix_shape shape;
    LSC_TRY(lsc_matrix_shape_of(header, options->transposed, &shape, error));
    if (shape.rows != m->rows || shape.cols != m->cols)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "lsc_encode_sparse: %u x %u positions for a %u x %u matrix",
                        m->rows, m->cols, shape.rows, shape.cols);
    lsc_search_limits limits = {options->index_bits, options->block_h, options->block_w, 1, 0, 0};
    lsc_plan plan;
    LSC_TRY(lsc_search_plan(m, header->rank, shape.elem_size, &limits, &plan, error));
    return write_planned(header, options, &shape, m, &plan, 1, blob_out, blob_size, error);
}

static lsc_status encode_tensor(const lsc_tensor *tensor, const lsc_encode_options *options, int release_input,
                                void **blob_out, size_t *blob_size, lsc_encode_stats *stats, lsc_error *error)
{
    lsc_encode_options defaults;
    if (!options) {
        lsc_encode_options_default(&defaults);
        options = &defaults;
    }
    if (!blob_out || !blob_size)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "lsc_encode: blob_out or blob_size is NULL");
    *blob_out = NULL;
    *blob_size = 0;
    lsc_matrix_shape shape;
    lsc_sparse m;
    lsc_plan plan;
    lsc_tensor coded;
    uint8_t *delta;
    LSC_TRY(prepare(tensor, options, release_input, &shape, &m, &plan, &coded, &delta, error));
    lsc_status st = write_planned(&coded, options, &shape, &m, &plan, 0, blob_out, blob_size, error);
    if (st == LSC_OK && stats)
        fill_stats(&shape, &m, &plan, stats);
    lsc_sparse_free(&m);
    free(delta);
    return st;
}

lsc_status lsc_encode(const lsc_tensor *tensor, const lsc_encode_options *options, void **blob_out,
                      size_t *blob_size, lsc_encode_stats *stats, lsc_error *error)
{
    return encode_tensor(tensor, options, 0, blob_out, blob_size, stats, error);
}

lsc_status lsc_encode_mapped(const lsc_tensor *tensor, const lsc_encode_options *options, void **blob_out,
                             size_t *blob_size, lsc_encode_stats *stats, lsc_error *error)
{
    return encode_tensor(tensor, options, 1, blob_out, blob_size, stats, error);
}
