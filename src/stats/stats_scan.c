/* The scan: a bit per matrix element (non-zero or not), built in the tensor's own
 * order, then read in row-major matrix order word by word, so the cost follows
 * the non-zeros, not the zeros. */
#include "stats_scan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An element of `size` little-endian bytes: 0 zero, 1 -0.0, 2 non-zero. An 8-bit
 * element is its code minus its zero point (lsc_model_layer_load): only 0 is zero. */
static inline int classify(const uint8_t *p, unsigned size)
{
    if (size == 1)
        return p[0] ? 2 : 0;
    uint8_t top = p[size - 1];
    uint8_t low = 0;
    for (unsigned i = 0; i + 1 < size; i++)
        low |= p[i];
    if (low | (top & 0x7f))
        return 2;
    return top ? 1 : 0;
}

typedef struct mask {
    uint64_t rows, cols, words_per_row;
    uint64_t *bits;
} mask;

/* One matrix row of a non-transposed tensor: 64 elements per mask word. On
 * little-endian hosts an element is one integer load, its sign bit the top bit. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ROW_KERNEL(name, type, sign)                                                     \
    static uint64_t name(const uint8_t *row, uint64_t cols, uint64_t *words)             \
    {                                                                                    \
        uint64_t minus = 0;                                                              \
        for (uint64_t c0 = 0; c0 < cols; c0 += 64) {                                     \
            uint64_t n = cols - c0 < 64 ? cols - c0 : 64, word = 0;                       \
            const uint8_t *p = row + c0 * sizeof(type);                                  \
            for (uint64_t i = 0; i < n; i++) {                                           \
                type v;                                                                  \
                memcpy(&v, p + i * sizeof(type), sizeof v);                              \
                word |= (uint64_t)((v & (type) ~(sign)) != 0) << i;                      \
                minus += v == (type)(sign);                                              \
            }                                                                            \
            words[c0 >> 6] = word;                                                       \
        }                                                                                \
        return minus;                                                                    \
    }
ROW_KERNEL(row_16, uint16_t, 0x8000u)
ROW_KERNEL(row_32, uint32_t, 0x80000000u)
ROW_KERNEL(row_64, uint64_t, 0x8000000000000000ull)

/* A transposed tensor: 64 tensor rows (matrix columns c0..c0+63) read side by side,
 * each sequentially, so that every mask word is built once. */
#define COL_KERNEL(name, type, sign)                                                     \
    static uint64_t name(const uint8_t *data, const mask *m)                             \
    {                                                                                    \
        uint64_t minus = 0;                                                              \
        for (uint64_t c0 = 0; c0 < m->cols; c0 += 64) {                                  \
            uint64_t n = m->cols - c0 < 64 ? m->cols - c0 : 64;                           \
            const uint8_t *base = data + c0 * m->rows * sizeof(type);                    \
            for (uint64_t r = 0; r < m->rows; r++) {                                     \
                uint64_t word = 0;                                                       \
                for (uint64_t i = 0; i < n; i++) {                                       \
                    type v;                                                              \
                    memcpy(&v, base + (i * m->rows + r) * sizeof(type), sizeof v);       \
                    word |= (uint64_t)((v & (type) ~(sign)) != 0) << i;                  \
                    minus += v == (type)(sign);                                          \
                }                                                                        \
                m->bits[r * m->words_per_row + (c0 >> 6)] = word;                        \
            }                                                                            \
        }                                                                                \
        return minus;                                                                    \
    }
COL_KERNEL(col_16, uint16_t, 0x8000u)
COL_KERNEL(col_32, uint32_t, 0x80000000u)
COL_KERNEL(col_64, uint64_t, 0x8000000000000000ull)
#define HAVE_ROW_KERNELS 1
#endif

static uint64_t row_generic(const uint8_t *row, uint64_t cols, unsigned size, uint64_t *words)
{
    uint64_t minus = 0;
    for (uint64_t c = 0; c < cols; c++) {
        int k = classify(row + c * size, size);
        minus += k == 1;
        words[c >> 6] |= (uint64_t)(k >> 1) << (c & 63);
    }
    return minus;
}

/* Sets the bit of every non-zero; counts -0.0 elements. */
static void fill_mask(const lsc_tensor *t, unsigned size, int transposed, mask *m,
                      uint64_t *signed_zeros)
{
    const uint8_t *data = t->data;
    uint64_t minus = 0;
    if (!transposed) {
        for (uint64_t r = 0; r < m->rows; r++) {
            const uint8_t *row = data + r * m->cols * size;
            uint64_t *words = m->bits + r * m->words_per_row;
#ifdef HAVE_ROW_KERNELS
            minus += size == 4   ? row_32(row, m->cols, words)
                     : size == 2 ? row_16(row, m->cols, words)
                     : size == 8 ? row_64(row, m->cols, words)
                                 : row_generic(row, m->cols, size, words);
#else
            minus += row_generic(row, m->cols, size, words);
#endif
        }
    } else {
#ifdef HAVE_ROW_KERNELS
        if (size == 2 || size == 4 || size == 8) {
            *signed_zeros = size == 4 ? col_32(data, m) : size == 2 ? col_16(data, m) : col_64(data, m);
            return;
        }
#endif
        /* tensor row c (a matrix column) holds matrix rows 0..rows-1 */
        for (uint64_t c = 0; c < m->cols; c++) {
            const uint8_t *trow = data + c * m->rows * size;
            uint64_t bit = (uint64_t)1 << (c & 63), w = c >> 6;
            for (uint64_t r = 0; r < m->rows; r++) {
                int k = classify(trow + r * size, size);
                minus += k == 1;
                if (k == 2)
                    m->bits[r * m->words_per_row + w] |= bit;
            }
        }
    }
    *signed_zeros = minus;
}

static uint64_t count_range(const uint64_t *words, uint64_t start, uint64_t len)
{
    uint64_t n = 0;
    while (len) {
        uint64_t w = words[start >> 6] >> (start & 63);
        uint64_t take = 64 - (start & 63);
        if (take > len)
            take = len;
        if (take < 64)
            w &= ((uint64_t)1 << take) - 1;
        n += (uint64_t)__builtin_popcountll(w);
        start += take;
        len -= take;
    }
    return n;
}

/* A map of at most STATS_MAP_MAX cells a side over rows x cols items (blocks or
 * elements), its cells zeroed. */
static lsc_status map_init(uint64_t rows, uint64_t cols, stats_map *map, lsc_error *error)
{
    uint64_t sh = stats_ceil_div(rows, STATS_MAP_MAX), sw = stats_ceil_div(cols, STATS_MAP_MAX);
    map->height = (uint32_t)stats_ceil_div(rows, sh);
    map->width = (uint32_t)stats_ceil_div(cols, sw);
    map->per_cell_h = (uint32_t)sh;
    map->per_cell_w = (uint32_t)sw;
    map->cells = calloc((size_t)map->width * map->height, 1);
    if (!map->cells)
        return lsc_error_set(error, LSC_ERR_NO_MEMORY, "out of memory for a sparsity map");
    return LSC_OK;
}

static lsc_status make_map(const uint64_t *blocks, uint64_t n_brows, uint64_t n_bcols,
                           uint64_t bwords, stats_map *map, lsc_error *error)
{
    if (map_init(n_brows, n_bcols, map, error) != LSC_OK)
        return LSC_ERR_NO_MEMORY;
    uint64_t sh = map->per_cell_h, sw = map->per_cell_w;
    for (uint64_t y = 0; y < map->height; y++) {
        uint64_t r0 = y * sh, r1 = r0 + sh < n_brows ? r0 + sh : n_brows;
        for (uint64_t x = 0; x < map->width; x++) {
            uint64_t c0 = x * sw, len = c0 + sw < n_bcols ? sw : n_bcols - c0, kept = 0;
            for (uint64_t r = r0; r < r1; r++)
                kept += count_range(blocks + r * bwords, c0, len);
            uint64_t all = (r1 - r0) * len;
            map->cells[y * map->width + x] = (uint8_t)((kept * 255 + all / 2) / all);
        }
    }
    return LSC_OK;
}

static lsc_status element_map_init(uint64_t rows, uint64_t cols, stats_map *map, uint32_t **counts,
                                   lsc_error *error)
{
    if (map_init(rows, cols, map, error) != LSC_OK)
        return LSC_ERR_NO_MEMORY;
    *counts = calloc((size_t)map->width * map->height, sizeof **counts);
    if (!*counts)
        return lsc_error_set(error, LSC_ERR_NO_MEMORY, "out of memory for a sparsity map");
    return LSC_OK;
}

static void element_map_finish(uint64_t rows, uint64_t cols, stats_map *map, const uint32_t *counts)
{
    for (uint64_t y = 0; y < map->height; y++) {
        uint64_t h = (y + 1) * map->per_cell_h <= rows ? map->per_cell_h : rows - y * map->per_cell_h;
        for (uint64_t x = 0; x < map->width; x++) {
            uint64_t w = (x + 1) * map->per_cell_w <= cols ? map->per_cell_w : cols - x * map->per_cell_w;
            uint64_t n = counts[y * map->width + x];
            map->cells[y * map->width + x] = n ? (uint8_t)(64 + 191 * n / (h * w)) : 0;
        }
    }
}

lsc_status stats_scan_tensor(const lsc_tensor *t, int transposed, uint32_t block_h,
                             uint32_t block_w, int want_map, stats_scan *out, lsc_error *error)
{
    memset(out, 0, sizeof *out);
    stats_facts *f = &out->facts;
    lsc_status st = lsc_tensor_matrix_dims(t, transposed, &f->rows, &f->cols, error);
    if (st != LSC_OK)
        return st;
    unsigned size = (unsigned)lsc_dtype_size(t->dtype);
    f->elements = f->rows * f->cols;
    f->elem_size = size;
    if (!block_h || !block_w)
        block_h = block_w = 1;

    mask m = {f->rows, f->cols, stats_ceil_div(f->cols, 64), NULL};
    uint64_t n_brows = stats_ceil_div(f->rows, block_h), n_bcols = stats_ceil_div(f->cols, block_w);
    uint64_t bwords = stats_ceil_div(n_bcols, 64);
    m.bits = calloc((size_t)(m.rows * m.words_per_row), sizeof *m.bits);
    uint64_t *col_any = calloc((size_t)m.words_per_row, sizeof *col_any);
    uint64_t *blocks = calloc((size_t)(n_brows * bwords), sizeof *blocks);
    if (!m.bits || !col_any || !blocks) {
        free(m.bits);
        free(col_any);
        free(blocks);
        return lsc_error_set(error, LSC_ERR_NO_MEMORY, "out of memory for the scan of a %llu x %llu matrix",
                    (unsigned long long)f->rows, (unsigned long long)f->cols);
    }
    fill_mask(t, size, transposed, &m, &f->signed_zeros);
    uint32_t *counts = NULL;
    st = LSC_OK;
    if (want_map)
        st = element_map_init(f->rows, f->cols, &out->elements, &counts, error);
    uint64_t esh = out->elements.per_cell_h, esw = out->elements.per_cell_w;

    uint64_t next = 0; /* the position right after the previous non-zero */
    for (uint64_t r = 0; r < m.rows; r++) {
        const uint64_t *words = m.bits + r * m.words_per_row;
        uint64_t *brow = blocks + (r / block_h) * bwords;
        uint64_t row_nnz = 0;
        for (uint64_t w = 0; w < m.words_per_row; w++) {
            uint64_t word = words[w];
            if (!word)
                continue;
            col_any[w] |= word;
            row_nnz += (uint64_t)__builtin_popcountll(word);
            do {
                uint64_t c = w * 64 + (uint64_t)__builtin_ctzll(word);
                uint64_t pos = r * m.cols + c, gap = pos - next;
                next = pos + 1;
                for (unsigned b = 1; b <= STATS_RI_MAX_BITS && (gap >> b); b++)
                    f->ri_fillers[b] += gap >> b;
                f->coo_index_varint_bytes += stats_varint_size(transposed ? c * m.rows + r : pos);
                uint64_t bc = c / block_w;
                brow[bc >> 6] |= (uint64_t)1 << (bc & 63);
                if (counts)
                    counts[(r / esh) * out->elements.width + c / esw]++;
                word &= word - 1;
            } while (word);
        }
        f->nnz += row_nnz;
        f->zero_rows += row_nnz == 0;
    }
    uint64_t live_cols = 0;
    for (uint64_t w = 0; w < m.words_per_row; w++)
        live_cols += (uint64_t)__builtin_popcountll(col_any[w]);
    f->zero_cols = f->cols - live_cols;
    out->blocks = n_brows * n_bcols;
    for (uint64_t i = 0; i < n_brows * bwords; i++)
        out->kept_blocks += (uint64_t)__builtin_popcountll(blocks[i]);

    if (counts)
        element_map_finish(f->rows, f->cols, &out->elements, counts);
    if (st == LSC_OK && want_map)
        st = make_map(blocks, n_brows, n_bcols, bwords, &out->map, error);
    free(counts);
    free(m.bits);
    free(col_any);
    free(blocks);
    if (st != LSC_OK)
        stats_scan_free(out);
    return st;
}

void stats_scan_free(stats_scan *scan)
{
    if (!scan)
        return;
    free(scan->map.cells);
    free(scan->elements.cells);
    scan->map.cells = scan->elements.cells = NULL;
}
