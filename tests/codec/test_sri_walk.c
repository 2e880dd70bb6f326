/* lsc_blob_parse walks every block row's SRI stream twice over: a fast walk without a
 * branch per entry says whether the row is valid, and only when it says no does the
 * entry-by-entry walk run to name the fault. The two must agree on every row: here
 * on every single-bit change and on random multi-byte changes of the entry stream of
 * valid blobs (header, bitmap and pointers left valid, as the walks require), with
 * block rows longer than one chunk of entries, jump-heavy 2-bit entries and padded
 * blocks. */
#include <stdio.h>

#include "check.h"
#include "codec/blob.h"
#include "codec_util.h"

static unsigned rows_agree(const lsc_blob_view *v, unsigned *invalid)
{
    unsigned disagree = 0;
    for (uint64_t brow = 0; brow < v->n_brows; brow++) {
        lsc_error err;
        int reference = lsc_blob_check_block_row(v, brow, "walk", &err) == LSC_OK;
        int fast = lsc_blob_block_row_is_valid(v, brow);
        disagree += reference != fast;
        *invalid += !reference;
    }
    return disagree;
}

static uint64_t get_entry(const uint8_t *p, uint64_t i, unsigned b)
{
    uint64_t e = 0;
    for (unsigned k = 0; k < b; k++)
        e |= (uint64_t)((p[(i * b + k) >> 3] >> ((i * b + k) & 7)) & 1) << k;
    return e;
}

static void set_entry(uint8_t *p, uint64_t i, unsigned b, uint64_t e)
{
    for (unsigned k = 0; k < b; k++) {
        uint64_t bit = i * b + k;
        p[bit >> 3] = (uint8_t)((p[bit >> 3] & ~(1u << (bit & 7))) | (((e >> k) & 1) << (bit & 7)));
    }
}

static void compare_walks(uint64_t rows, uint64_t cols, double density, unsigned bh, unsigned bw,
                          unsigned bits, uint64_t seed)
{
    float *f = malloc(rows * cols * sizeof *f);
    fill_random((uint8_t *)f, rows * cols, LSC_DTYPE_FLOAT32, density, 0.0, &seed);
    lsc_tensor t = {.dtype = LSC_DTYPE_FLOAT32, .rank = 2, .dims = {(int64_t)rows, (int64_t)cols}, .data = f};
    lsc_encode_options o;
    lsc_encode_options_default(&o);
    o.block_h = bh;
    o.block_w = bw;
    o.index_bits = bits;
    void *blob;
    size_t size;
    lsc_error err;
    CHECK(lsc_encode(&t, &o, &blob, &size, NULL, &err) == LSC_OK);
    lsc_blob_view v;
    CHECK(lsc_blob_parse(blob, size, "walk", &v, &err) == LSC_OK);
    uint8_t *entries = (uint8_t *)v.entries; /* the view points into our own copy */
    uint64_t entry_bytes = (v.n_entries * v.index_bits + 7) / 8;
    unsigned invalid = 0, disagree = rows_agree(&v, &invalid);
    CHECKF(disagree == 0 && invalid == 0, "%llux%llu: the valid blob's walks disagree",
           (unsigned long long)rows, (unsigned long long)cols);
    unsigned changes = 0;
    for (uint64_t bit = 0; bit < entry_bytes * 8; bit++) {
        entries[bit >> 3] ^= (uint8_t)(1u << (bit & 7));
        disagree += rows_agree(&v, &invalid);
        entries[bit >> 3] ^= (uint8_t)(1u << (bit & 7));
        changes++;
    }
    /* Adjacent entries swapped: the same values and jumps in another order, so a
     * row can end on a jump with its value count intact. */
    for (uint64_t i = 0; i + 1 < v.n_entries; i++) {
        uint64_t a = get_entry(entries, i, v.index_bits), b = get_entry(entries, i + 1, v.index_bits);
        if (a == b)
            continue;
        set_entry(entries, i, v.index_bits, b);
        set_entry(entries, i + 1, v.index_bits, a);
        disagree += rows_agree(&v, &invalid);
        set_entry(entries, i, v.index_bits, a);
        set_entry(entries, i + 1, v.index_bits, b);
        changes++;
    }
    uint8_t *saved = malloc(entry_bytes);
    memcpy(saved, entries, entry_bytes);
    for (int trial = 0; trial < 3000; trial++) {
        for (int k = 1 + (int)(rng_next(&seed) % 4); k > 0; k--)
            entries[rng_next(&seed) % entry_bytes] = (uint8_t)rng_next(&seed);
        disagree += rows_agree(&v, &invalid);
        memcpy(entries, saved, entry_bytes);
        changes++;
    }
    CHECKF(disagree == 0, "%llux%llu %ux%u b%u: the walks disagree on %u rows", (unsigned long long)rows,
           (unsigned long long)cols, bh, bw, bits, disagree);
    CHECKF(invalid > 0, "%llux%llu: no change made a row invalid (the test tests nothing)",
           (unsigned long long)rows, (unsigned long long)cols);
    printf("%llux%llu %.0f%% %ux%u b%u: %llu entries, %u changes, %u invalid rows found by both walks\n",
           (unsigned long long)rows, (unsigned long long)cols, density * 100, bh, bw, bits,
           (unsigned long long)v.n_entries, changes, invalid);
    free(saved);
    lsc_free(blob);
    free(f);
}

int main(void)
{
    compare_walks(3, 1200, 0.35, 1, 1200, 2, 1);  /* ~630 entries a row: several chunks */
    compare_walks(5, 1203, 0.35, 2, 7, 2, 2);     /* padded rows and columns, many blocks */
    compare_walks(4, 3000, 0.10, 1, 3000, 3, 3);  /* longer jumps */
    compare_walks(6, 800, 0.02, 2, 16, 1, 4);     /* 1-bit entries: jumps only of H = 1 */
    compare_walks(2, 4000, 0.60, 1, 4000, 4, 5);
    return check_exit();
}
