/* lsc_blob_parse: every check docs/format.md part 1 asks of a reader, in an order
 * where each step only reads bytes the previous steps proved to exist. Accepted
 * blobs can then be walked by the decoder and the kernels without bounds checks. */
#include "codec/blob.h"

#include <string.h>
#define XXH_STATIC_LINKING_ONLY /* XXH64_state_t on the stack */
#include <xxhash.h>

#include "codec/bitmap.h"
#include "codec/dtype.h"
#include "codec/layout.h"
#include "codec/sri.h"
#include "codec/sri_positions.h"
#include "common/checked.h"
#include "common/error.h"

#define BAD(...) lsc_fail(error, LSC_ERR_BAD_BUNDLE, __VA_ARGS__)

/* Not inlined: with xxHash inlined too, GCC would follow XXH64_update's 32-byte
 * path into the 8-byte array below and warn (-Warray-bounds) about a branch that
 * never runs for it. */
static __attribute__((noinline)) void hash_part(XXH64_state_t *state, const void *p, size_t n)
{
    XXH64_update(state, p, n);
}

uint64_t lsc_blob_checksum(const uint8_t *p, size_t size)
{
    static const uint8_t zero[8];
    XXH64_state_t state;
    XXH64_reset(&state, 0);
    hash_part(&state, p, 8);
    hash_part(&state, zero, 8);
    hash_part(&state, p + 16, size - 16);
    return XXH64_digest(&state);
}

lsc_status lsc_blob_check_checksum(const uint8_t *p, size_t size, const char *kind, const char *label,
                                   lsc_error *error)
{
    uint64_t stored = lsc_load_le64(p + 8), actual = lsc_blob_checksum(p, size);
    if (stored != actual)
        return lsc_fail(error, LSC_ERR_CHECKSUM, "%s '%s': checksum %016llx, content hashes to %016llx", kind,
                        label, (unsigned long long)stored, (unsigned long long)actual);
    return LSC_OK;
}

/* Bits [from, stream_bits) of a stream padded to `bytes` bytes must be zero. */
static int padding_is_zero(const uint8_t *p, uint64_t bytes, uint64_t used_bits)
{
    if (used_bits == bytes * 8)
        return 1;
    return (p[bytes - 1] >> (used_bits & 7)) == 0;
}

lsc_status lsc_blob_read_fields(const uint8_t *p, const char *label, lsc_blob_view *v, lsc_error *error)
{
    v->dtype = (lsc_dtype)p[5];
    v->elem_size = (unsigned)lsc_dtype_size(p[5]);
    if (!v->elem_size)
        return BAD("blob '%s': unknown data type %u", label, p[5]);
    v->index_bits = p[6];
    if (v->index_bits < 1 || v->index_bits > LSC_INDEX_BITS_MAX)
        return BAD("blob '%s': index_bits %u outside 1..%d", label, v->index_bits, LSC_INDEX_BITS_MAX);
    v->flags = p[7];
    if (v->flags & ~(unsigned)LSC_BLOB_FLAGS_KNOWN)
        return BAD("blob '%s': reserved flag bits set (0x%02x)", label, v->flags);
    v->rows = lsc_load_le32(p + 16);
    v->cols = lsc_load_le32(p + 20);
    v->block_h = lsc_load_le32(p + 24);
    v->block_w = lsc_load_le32(p + 28);
    if (v->rows == 0 || v->cols == 0)
        return BAD("blob '%s': empty matrix %u x %u", label, v->rows, v->cols);
    if (v->block_h < 1 || v->block_h > v->rows || v->block_w < 1 || v->block_w > v->cols)
        return BAD("blob '%s': block %u x %u does not fit the %u x %u matrix", label, v->block_h,
                   v->block_w, v->rows, v->cols);
    return LSC_OK;
}

void lsc_blob_store_fields(uint8_t *p, const lsc_blob_view *v)
{
    p[5] = (uint8_t)v->dtype;
    p[6] = (uint8_t)v->index_bits;
    p[7] = (uint8_t)v->flags;
    lsc_store_le32(p + 16, v->rows);
    lsc_store_le32(p + 20, v->cols);
    lsc_store_le32(p + 24, v->block_h);
    lsc_store_le32(p + 28, v->block_w);
}

static lsc_status check_header(const uint8_t *p, size_t size, const char *label, lsc_blob_view *v,
                               lsc_error *error)
{
    if (size < LSC_BLOB_FIXED_HEADER)
        return BAD("blob '%s': %zu bytes, shorter than the %d-byte header", label, size,
                   LSC_BLOB_FIXED_HEADER);
    if (memcmp(p, LSC_BLOB_MAGIC, 4) != 0)
        return BAD("blob '%s': bad magic (not an encoded weight)", label);
    if (p[4] != LSC_BLOB_VERSION)
        return lsc_fail(error, p[4] > LSC_BLOB_VERSION ? LSC_ERR_VERSION : LSC_ERR_BAD_BUNDLE,
                        "blob '%s': format version %u, this reader knows %d", label, p[4], LSC_BLOB_VERSION);
    LSC_TRY(lsc_blob_read_fields(p, label, v, error));
    v->nnz = lsc_load_le64(p + 32);
    v->n_entries = lsc_load_le64(p + 40);
    v->rank = p[48];
    for (int i = 49; i < LSC_BLOB_FIXED_HEADER; i++)
        if (p[i])
            return BAD("blob '%s': reserved header byte %d is not zero", label, i);
    if (v->rank > LSC_MAX_RANK)
        return BAD("blob '%s': rank %d above %d", label, v->rank, LSC_MAX_RANK);
    if (size < LSC_BLOB_FIXED_HEADER + 8u * (unsigned)v->rank)
        return BAD("blob '%s': %zu bytes, shorter than its header with %d dims", label, size, v->rank);

    /* dims against rows x cols (docs/format.md 1.4). */
    uint64_t lead = 1, rest = 1;
    for (int i = 0; i < v->rank; i++) {
        v->dims[i] = (int64_t)lsc_load_le64(p + LSC_BLOB_FIXED_HEADER + 8 * i);
        if (v->dims[i] < 0)
            return BAD("blob '%s': dimension %d is negative", label, i);
        uint64_t *into = (i == 0 && v->rank >= 2) ? &lead : &rest;
        if (lsc_mul_overflow_u64(*into, (uint64_t)v->dims[i], into))
            return BAD("blob '%s': dimensions overflow 64 bits", label);
    }
    if (v->elem_size == 1 && (v->flags & LSC_BLOB_FLAG_SIGNED_ZEROS))
        return BAD("blob '%s': an 8-bit weight with the SIGNED_ZEROS flag", label);
    if (v->elem_size != 1 && (v->flags & LSC_BLOB_FLAG_ZERO_POINTS))
        return BAD("blob '%s': zero points (flag ZERO_POINTS) on a float weight", label);
    int transposed = (v->flags & LSC_BLOB_FLAG_TRANSPOSED) != 0;
    if ((transposed ? rest : lead) != v->rows || (transposed ? lead : rest) != v->cols)
        return BAD("blob '%s': dims give a %llu x %llu matrix%s, header says %u x %u", label,
                   (unsigned long long)(transposed ? rest : lead),
                   (unsigned long long)(transposed ? lead : rest), transposed ? " (transposed)" : "",
                   v->rows, v->cols);
    uint64_t elements = (uint64_t)v->rows * v->cols;
    if (v->nnz > elements)
        return BAD("blob '%s': %llu values in %llu elements", label, (unsigned long long)v->nnz,
                   (unsigned long long)elements);
    if (v->n_entries < v->nnz)
        return BAD("blob '%s': %llu entries for %llu values", label, (unsigned long long)v->n_entries,
                   (unsigned long long)v->nnz);
    return LSC_OK;
}

/* Walks block row `brow`'s entries, checking docs/format.md 1.5-1.6. Entries that
 * lie 8 bytes inside the stream (bit offsets below fast_end) are read with one load;
 * a value's row and column are only computed (a division) in a block that reaches
 * into the padding, the only place they can fall outside the matrix. */
static lsc_status check_block_row(const lsc_blob_view *v, uint64_t brow, uint64_t fast_end, const char *label,
                                  lsc_error *error)
{
    uint64_t e0, v0, e1, v1;
    lsc_blob_row_start(v, (uint32_t)brow, &e0, &v0);
    lsc_blob_row_start(v, (uint32_t)(brow + 1), &e1, &v1);
    uint64_t row_bit = brow * v->n_bcols, row_end = row_bit + v->n_bcols;
    uint64_t kept = lsc_bitmap_count(v->bitmap, row_bit, row_end);
    if (kept == 0) {
        if (e0 != e1)
            return BAD("blob '%s': block row %llu has no kept block but %llu entries", label,
                       (unsigned long long)brow, (unsigned long long)(e1 - e0));
        return LSC_OK;
    }
    if (e0 == e1)
        return BAD("blob '%s': block row %llu has %llu kept blocks but no entries", label,
                   (unsigned long long)brow, (unsigned long long)kept);
    uint64_t S = (uint64_t)v->block_h * v->block_w, space = kept * S;
    unsigned b = v->index_bits, log_h = b - 1;
    uint64_t H = UINT64_C(1) << log_h;
    uint64_t next = 0, values = 0, block_start = 0, blocks_seen = 1;
    uint64_t bcol = lsc_bitmap_next(v->bitmap, row_bit, row_end) - row_bit;
    uint64_t row0 = brow * v->block_h;
    int block_has_value = 0, last_was_value = 0;
    int row_pad = row0 + v->block_h > v->rows, pad = row_pad || (bcol + 1) * v->block_w > v->cols;
    uint64_t mask = (UINT64_C(1) << b) - 1;
    for (uint64_t i = e0, bit = e0 * b; i < e1; i++, bit += b) {
        uint64_t e = bit < fast_end ? (lsc_load_le64(v->entries + (bit >> 3)) >> (bit & 7)) & mask
                                    : lsc_read_bits(v->entries, bit, b);
        if (e >= H) {
            next += (e - H + 1) << log_h;
            last_was_value = 0;
            if (next >= space)
                return BAD("blob '%s': block row %llu: a jump runs past its kept blocks", label,
                           (unsigned long long)brow);
            continue;
        }
        uint64_t pos = next + e;
        if (pos >= space)
            return BAD("blob '%s': block row %llu: a value lies past its kept blocks", label,
                       (unsigned long long)brow);
        next = pos + 1;
        last_was_value = 1;
        if (pos >= block_start + S) {
            if (!block_has_value || pos >= block_start + 2 * S)
                return BAD("blob '%s': block row %llu: a kept block holds no value", label,
                           (unsigned long long)brow);
            block_start += S;
            blocks_seen++;
            bcol = lsc_bitmap_next(v->bitmap, row_bit + bcol + 1, row_end) - row_bit;
            block_has_value = 0;
            pad = row_pad || (bcol + 1) * v->block_w > v->cols;
        }
        if (pad) {
            uint64_t off = pos - block_start;
            uint64_t r = row0 + off / v->block_w, c = bcol * v->block_w + off % v->block_w;
            if (r >= v->rows || c >= v->cols)
                return BAD("blob '%s': block row %llu: a value lies in the padding (row %llu, column %llu)",
                           label, (unsigned long long)brow, (unsigned long long)r, (unsigned long long)c);
        }
        block_has_value = 1;
        values++;
    }
    if (!last_was_value)
        return BAD("blob '%s': block row %llu ends on a jump", label, (unsigned long long)brow);
    if (blocks_seen != kept)
        return BAD("blob '%s': block row %llu: a kept block holds no value", label,
                   (unsigned long long)brow);
    if (values != v1 - v0)
        return BAD("blob '%s': block row %llu holds %llu values, its pointers say %llu", label,
                   (unsigned long long)brow, (unsigned long long)values, (unsigned long long)(v1 - v0));
    return LSC_OK;
}

/* The same walk for a valid block row, without a branch per entry
 * (lsc_sri_positions): returns 1 when block row `brow` meets every rule that
 * check_block_row checks, 0 otherwise (check_block_row then names the fault). */
static int block_row_is_valid(const lsc_blob_view *v, uint64_t brow, uint64_t fast_end)
{
    uint64_t e0, v0, e1, v1;
    lsc_blob_row_start(v, (uint32_t)brow, &e0, &v0);
    lsc_blob_row_start(v, (uint32_t)(brow + 1), &e1, &v1);
    uint64_t row_bit = brow * v->n_bcols, row_end = row_bit + v->n_bcols;
    uint64_t kept = lsc_bitmap_count(v->bitmap, row_bit, row_end);
    if (kept == 0 || e0 == e1)
        return kept == 0 && e0 == e1;
    unsigned b = v->index_bits;
    uint64_t S = (uint64_t)v->block_h * v->block_w, space = kept * S;
    uint64_t next = 0, values = 0, block_start = 0, blocks_seen = 1;
    uint64_t bcol = lsc_bitmap_next(v->bitmap, row_bit, row_end) - row_bit;
    uint64_t row0 = brow * v->block_h;
    int block_has_value = 0;
    int row_pad = row0 + v->block_h > v->rows, pad = row_pad || (bcol + 1) * v->block_w > v->cols;
    uint64_t pos_of[LSC_SRI_CHUNK];
    for (uint64_t i = e0, bit = e0 * b; i < e1;) {
        uint64_t n = e1 - i < LSC_SRI_CHUNK ? e1 - i : LSC_SRI_CHUNK;
        size_t k = lsc_sri_positions(v->entries, bit, n, b, fast_end, &next, pos_of);
        i += n;
        bit += n * b;
        /* Positions only grow: past the kept blocks at the end of the chunk means
         * some entry went past them (a jump that ends exactly there is the row's
         * last entry, caught below, or is followed by one that goes past). */
        if (next > space)
            return 0;
        for (size_t j = 0; j < k; j++) {
            uint64_t pos = pos_of[j];
            if (pos >= block_start + S) {
                if (!block_has_value || pos >= block_start + 2 * S)
                    return 0;
                block_start += S;
                blocks_seen++;
                bcol = lsc_bitmap_next(v->bitmap, row_bit + bcol + 1, row_end) - row_bit;
                block_has_value = 0;
                pad = row_pad || (bcol + 1) * v->block_w > v->cols;
            }
            if (pad) {
                uint64_t off = pos - block_start;
                if (row0 + off / v->block_w >= v->rows || bcol * v->block_w + off % v->block_w >= v->cols)
                    return 0;
            }
            block_has_value = 1;
        }
        values += k;
    }
    /* the last entry is a value exactly when the scan stopped right after one */
    uint64_t last_bit = (e1 - 1) * b;
    uint64_t last = last_bit < fast_end ? (lsc_load_le64(v->entries + (last_bit >> 3)) >> (last_bit & 7)) &
                                              ((UINT64_C(1) << b) - 1)
                                        : lsc_read_bits(v->entries, last_bit, b);
    return last < (UINT64_C(1) << (b - 1)) && blocks_seen == kept && values == v1 - v0;
}

/* Entry bit offsets below this lie 8 bytes inside the SRI stream. */
static uint64_t entries_fast_end(const lsc_blob_view *v)
{
    uint64_t bytes = (v->n_entries * v->index_bits + 7) / 8;
    return bytes >= 8 ? (bytes - 7) * 8 : 0;
}

lsc_status lsc_blob_check_block_row(const lsc_blob_view *v, uint64_t brow, const char *label, lsc_error *error)
{
    return check_block_row(v, brow, entries_fast_end(v), label, error);
}

int lsc_blob_block_row_is_valid(const lsc_blob_view *v, uint64_t brow)
{
    return block_row_is_valid(v, brow, entries_fast_end(v));
}

static lsc_status check_pointers(const lsc_blob_view *v, const char *label, lsc_error *error)
{
    uint64_t pe = 0, pv = 0;
    for (uint64_t brow = 1; brow <= v->n_brows; brow++) {
        uint64_t e, val;
        lsc_blob_row_start(v, (uint32_t)brow, &e, &val);
        if (e < pe || val < pv || e > v->n_entries || val > v->nnz)
            return BAD("blob '%s': block-row pointer %llu out of order or range", label,
                       (unsigned long long)brow);
        pe = e;
        pv = val;
    }
    return LSC_OK;
}

static lsc_status check_values(const lsc_blob_view *v, const char *label, lsc_error *error)
{
    int signed_zeros = (v->flags & LSC_BLOB_FLAG_SIGNED_ZEROS) != 0;
    uint64_t i = 0;
    if (v->elem_size == 4) { /* the common case, without a call per value: zeros are rare */
        uint32_t bad = 0, magnitude = signed_zeros ? UINT32_MAX : UINT32_C(0x7fffffff);
        for (; i + 8 <= v->nnz && !bad; i += 8)
            for (unsigned k = 0; k < 8; k++)
                bad |= (lsc_load_le32(v->values + (i + k) * 4) & magnitude) == 0;
        i = bad ? i - 8 : i; /* the group with the zero: found below */
    }
    for (; i < v->nnz; i++) {
        int kind = lsc_elem_classify(v->values + i * v->elem_size, v->elem_size);
        if (kind == LSC_ELEM_POS_ZERO || (kind == LSC_ELEM_NEG_ZERO && !signed_zeros))
            return BAD("blob '%s': stored value %llu is a zero", label, (unsigned long long)i);
    }
    return LSC_OK;
}

lsc_status lsc_blob_parse(const void *blob, size_t size, const char *name, lsc_blob_view *v,
                          lsc_error *error)
{
    const char *label = name ? name : "";
    memset(v, 0, sizeof *v);
    if (!blob)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "blob '%s': NULL pointer", label);
    const uint8_t *p = blob;
    LSC_TRY(check_header(p, size, label, v, error));

    lsc_blob_layout L;
    if (lsc_blob_layout_compute(v->rank, v->elem_size, v->rows, v->cols, v->block_h, v->block_w,
                                v->index_bits, v->nnz, v->n_entries, &L))
        return BAD("blob '%s': section sizes overflow 64 bits", label);
    if ((v->flags & LSC_BLOB_FLAG_ZERO_POINTS) && lsc_blob_layout_add_zero_points(&L, v->rows))
        return BAD("blob '%s': section sizes overflow 64 bits", label);
    uint64_t S = (uint64_t)v->block_h * v->block_w, row_space;
    if (lsc_mul_overflow_u64(S, L.n_bcols, &row_space) || row_space > (UINT64_C(1) << 62))
        return BAD("blob '%s': block rows of %u x %u blocks are too large", label, v->block_h,
                   v->block_w);
    if (L.ptr_entry_bits > 57 || L.ptr_value_bits > 57)
        return BAD("blob '%s': block-row pointers wider than 57 bits", label);
    if (L.total != size)
        return BAD("blob '%s': %zu bytes, its header describes %llu", label, size,
                   (unsigned long long)L.total);
    LSC_TRY(lsc_blob_check_checksum(p, size, "blob", label, error));

    v->base = p;
    v->size = size;
    v->n_brows = (uint32_t)L.n_brows;
    v->n_bcols = (uint32_t)L.n_bcols;
    v->ptr_entry_bits = L.ptr_entry_bits;
    v->ptr_value_bits = L.ptr_value_bits;
    v->values = p + L.header;
    v->zero_points = L.zero_points ? v->values + L.values : NULL;
    v->bitmap = v->values + L.values + L.zero_points;
    v->pointers = v->bitmap + L.bitmap;
    v->entries = v->pointers + L.pointers;

    if (v->zero_points) {
        int any = 0;
        for (uint32_t r = 0; r < v->rows && !any; r++)
            any = v->zero_points[r] != 0;
        if (!any)
            return BAD("blob '%s': flag ZERO_POINTS with every zero point 0", label);
    }
    if (L.bitmap && !padding_is_zero(v->bitmap, L.bitmap, L.blocks))
        return BAD("blob '%s': bitmap padding bits are not zero", label);
    if (L.pointers && !padding_is_zero(v->pointers, L.pointers,
                                       (L.n_brows - 1) * (L.ptr_entry_bits + L.ptr_value_bits)))
        return BAD("blob '%s': block-row pointer padding bits are not zero", label);
    if (L.entries && !padding_is_zero(v->entries, L.entries, v->n_entries * v->index_bits))
        return BAD("blob '%s': SRI padding bits are not zero", label);
    LSC_TRY(check_values(v, label, error));
    LSC_TRY(check_pointers(v, label, error));
    uint64_t fast_end = L.entries >= 8 ? (L.entries - 7) * 8 : 0;
    for (uint64_t brow = 0; brow < v->n_brows; brow++)
        if (!block_row_is_valid(v, brow, fast_end))
            LSC_TRY(check_block_row(v, brow, fast_end, label, error));
    return LSC_OK;
}
