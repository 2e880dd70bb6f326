/* The two decoders of kernels/decode.h against each other, block row by block row:
 * the branchy one (block rows whose scan space exceeds 2^31 positions, which no
 * test matrix reaches through lsc_spmm) and the positions path (portable positions
 * decoder in chunks of varied size, then lsc_dec_map and lsc_dec_segment). Every
 * value's (column, row in block row) must agree, for random matrices, block shapes
 * and every index width. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "codec/blob.h"
#include "kernels/decode.h"
#include "onnx-lsc/lsc.h"

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static size_t compared;

static void check_weight(const lsc_weight *w, const char *label)
{
    const lsc_blob_view *v = &w->view;
    uint32_t *kept = malloc((size_t)v->n_bcols * sizeof *kept);
    uint32_t *ca = malloc((size_t)v->nnz * sizeof *ca + 4), *la = malloc((size_t)v->nnz * 4 + 4);
    uint32_t pos[300], cb[300], lb[300];
    if (!kept || !ca || !la)
        abort();
    for (uint32_t br = 0; br < v->n_brows; br++) {
        lsc_brow_decoder a, b;
        uint64_t va, vb;
        lsc_dec_init(&a, v, br, &va);
        lsc_dec_init(&b, v, br, &vb);
        CHECK(va == vb);
        uint64_t na = 0, nb = 0, n_vals = b.n_values;
        uint32_t got;
        while ((got = lsc_dec_chunk(&a, ca + na, la + na, 1 + (uint32_t)(rnd() % 200))) != 0)
            na += got;
        CHECKF(na == n_vals, "%s: block row %u: branchy decoder gave %llu values, pointers say %llu",
               label, br, (unsigned long long)na, (unsigned long long)n_vals);
        if (!lsc_dec_set_kept(&b, kept)) {
            CHECKF(n_vals == 0, "%s: block row %u: positions path refused a small row", label, br);
            continue;
        }
        int bad = 0;
        while (b.entries_left && !bad) {
            uint32_t cap = 1 + (uint32_t)(rnd() % 300);
            got = lsc_dec_pos_scalar(&b, pos, cap, 1 + rnd() % 300);
            CHECK(got <= cap);
            lsc_dec_map(&b, pos, cb, v->block_h == 1 ? NULL : lb, got);
            for (uint32_t i = 0; i < got && !bad; i++, nb++) {
                uint32_t lr, off;
                uint64_t end;
                lsc_dec_segment(&b, pos[i], &lr, &off, &end);
                uint32_t lr_map = v->block_h == 1 ? 0 : lb[i];
                if (nb >= na || cb[i] != ca[nb] || lr_map != (v->block_h == 1 ? 0 : la[nb]) ||
                    pos[i] + off != ca[nb] || lr != lr_map || pos[i] >= end || end - pos[i] > v->block_w) {
                    CHECKF(0, "%s: block row %u value %llu: branchy (%u, %u), mapped (%u, %u), "
                              "segment (%u, %u)", label, br, (unsigned long long)nb,
                           nb < na ? ca[nb] : 0, nb < na ? la[nb] : 0, cb[i], lr_map,
                           pos[i] + off, lr);
                    bad = 1;
                }
                compared++;
            }
        }
        CHECKF(bad || nb == na, "%s: block row %u: positions path gave %llu values, branchy %llu",
               label, br, (unsigned long long)nb, (unsigned long long)na);
    }
    free(kept);
    free(ca);
    free(la);
}

int main(void)
{
    for (int iter = 0; iter < 200; iter++) {
        uint32_t rows = 1 + (uint32_t)(rnd() % 40), cols = 1 + (uint32_t)(rnd() % 700);
        double density = (double[]){ 0.003, 0.02, 0.1, 0.4, 0.9 }[rnd() % 5];
        float *m = calloc((size_t)rows * cols, sizeof *m);
        if (!m)
            abort();
        for (size_t i = 0; i < (size_t)rows * cols; i++)
            if ((double)(rnd() >> 11) * (1.0 / 9007199254740992.0) < density)
                m[i] = 1.0f + (float)(rnd() % 7);
        lsc_tensor t = { .dtype = LSC_DTYPE_FLOAT32, .rank = 2, .dims = { rows, cols }, .data = m };
        lsc_encode_options o;
        lsc_encode_options_default(&o);
        o.index_bits = 1 + (unsigned)(iter % 16);
        if (iter % 5) {
            o.block_h = 1 + (uint32_t)(rnd() % rows);
            o.block_w = (uint32_t[]){ 1, 2, 9, 16, 64, cols, 1 + (uint32_t)(rnd() % cols) }[rnd() % 7];
            if (o.block_w > cols)
                o.block_w = cols;
        }
        void *blob;
        size_t size;
        lsc_error err;
        lsc_weight *w;
        char label[128];
        snprintf(label, sizeof label, "%ux%u d=%g blk %ux%u b=%u", rows, cols, density, o.block_h,
                 o.block_w, o.index_bits);
        if (lsc_encode(&t, &o, &blob, &size, NULL, &err) != LSC_OK ||
            lsc_weight_open(blob, size, "t", &w, &err) != LSC_OK) {
            CHECKF(0, "%s: %s", label, err.message);
            free(m);
            continue;
        }
        check_weight(w, label);
        lsc_weight_close(&w);
        lsc_free(blob);
        free(m);
    }
    printf("%zu values compared\n", compared);
    return check_exit();
}
