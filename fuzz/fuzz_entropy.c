/* The entropy tier (docs/format.md part 4), both ways:
 *   - input starting with "LSCE": an entropy blob, opened as is and then with its
 *     checksum repaired (like fuzz_blob), so mutations reach the range decoder, the
 *     zstd frames and the re-layout; an accepted blob must recode to an entropy blob
 *     that opens to the same compute blob;
 *   - anything else: a small tensor (dtype, rows, cols from the first bytes, the rest
 *     as element bits; 8-bit ones with zero points from the input) through encode,
 *     entropy encode, open: the blob must come back byte for byte.
 * Headers claiming more than 2^22 elements are skipped to keep executions fast (the
 * library's own limit is linear in the blob's size; tests/codec covers its edges). */
#include <stdlib.h>
#include <string.h>

#include "codec/blob.h"
#include "codec/entropy.h"
#include "common/endian.h"
#include "fuzz_util.h"
#include "onnx-lsc/lsc.h"

static void must_reopen(const lsc_weight *w)
{
    void *coded = NULL;
    size_t coded_size = 0;
    lsc_error err;
    if (lsc_entropy_encode(w->view.base, w->view.size, &coded, &coded_size, &err) != LSC_OK) {
        if (err.status != LSC_ERR_UNSUPPORTED && err.status != LSC_ERR_NO_MEMORY)
            abort(); /* an accepted blob is a valid compute blob */
        return;
    }
    lsc_weight *again = NULL;
    if (lsc_weight_open(coded, coded_size, "again", &again, &err) != LSC_OK ||
        again->view.size != w->view.size || memcmp(again->view.base, w->view.base, w->view.size) != 0)
        abort();
    lsc_weight_close(&again);
    lsc_free(coded);
}

static void open_entropy(const uint8_t *blob, size_t size)
{
    lsc_weight *w = NULL;
    lsc_error err;
    if (lsc_weight_open(blob, size, "fuzz", &w, &err) == LSC_OK) {
        lsc_weight_info info;
        lsc_weight_get_info(w, &info);
        if (info.blob_size != size)
            abort();
        must_reopen(w);
    } else {
        fuzz_check_message(&err);
    }
    lsc_weight_close(&w);
}

static void entropy_input(const uint8_t *data, size_t size)
{
    if (size >= 64 && (uint64_t)lsc_load_le32(data + 16) * lsc_load_le32(data + 20) > (1u << 22))
        return;
    lsc_weight *w = NULL;
    lsc_error err;
    lsc_status st = lsc_weight_open(data, size, NULL, &w, &err);
    lsc_weight_close(&w);
    if (st != LSC_ERR_CHECKSUM)
        return;
    uint8_t *copy = malloc(size);
    if (!copy)
        return;
    memcpy(copy, data, size);
    fuzz_fix_blob_checksum(copy, size);
    open_entropy(copy, size);
    free(copy);
}

static void tensor_input(const uint8_t *data, size_t size)
{
    static const lsc_dtype types[8] = {LSC_DTYPE_FLOAT32, LSC_DTYPE_FLOAT16, LSC_DTYPE_BFLOAT16, LSC_DTYPE_FLOAT64,
                                       LSC_DTYPE_INT8,    LSC_DTYPE_UINT8,   LSC_DTYPE_INT8,     LSC_DTYPE_UINT8};
    if (size < 4)
        return;
    lsc_dtype t = types[(data[0] & 3) | ((data[0] >> 2) & 4)];
    int eight_bit = lsc_dtype_size((int)t) == 1;
    int bit_exact = !eight_bit && ((data[0] >> 2) & 1), transposed = (data[0] >> 3) & 1;
    uint32_t rows = 1 + data[1] % 64, cols = 1 + data[2] % 128;
    size_t E = lsc_dtype_size((int)t), n = (size_t)rows * cols;
    uint8_t *dense = calloc(n, E);
    if (!dense)
        return;
    /* Sparse: byte 3 sets the density; the rest of the input fills the kept elements. */
    for (size_t i = 0, from = 4; i < n && size > 4; i++)
        if ((data[(4 + i) % size] ^ (uint8_t)(i * 37)) < data[3])
            for (size_t b = 0; b < E; b++, from = from + 1 < size ? from + 1 : 4)
                dense[i * E + b] = data[from];
    lsc_tensor tensor = {t, 2, {rows, cols}, dense};
    lsc_encode_options eo;
    lsc_encode_options_default(&eo);
    eo.bit_exact = bit_exact;
    eo.transposed = transposed;
    /* 8-bit: a zero point per encoded row (bit 2 of byte 0: all 0), taken from the input */
    uint8_t zero_points[128] = {0};
    uint32_t zp_rows = transposed ? cols : rows;
    for (uint32_t r = 0; eight_bit && ((data[0] >> 2) & 1) && r < zp_rows; r++)
        zero_points[r] = data[(4 + r * 7) % size];
    eo.zero_points = eight_bit ? zero_points : NULL;
    void *blob = NULL, *coded = NULL;
    size_t blob_size = 0, coded_size = 0;
    lsc_error err;
    if (lsc_encode(&tensor, &eo, &blob, &blob_size, NULL, &err) != LSC_OK)
        abort();
    if (lsc_entropy_encode(blob, blob_size, &coded, &coded_size, &err) != LSC_OK)
        abort();
    lsc_weight *w = NULL;
    if (lsc_weight_open(coded, coded_size, "t", &w, &err) != LSC_OK || w->view.size != blob_size ||
        memcmp(w->view.base, blob, blob_size) != 0)
        abort();
    lsc_weight_close(&w);
    lsc_free(blob);
    lsc_free(coded);
    free(dense);
}

/* A compact blob (docs/format.md 4.8): its varint header parsed (checksum made right
 * when only that is wrong), then the entropy blob it stands for goes through every
 * check above. */
static void compact_input(const uint8_t *data, size_t size)
{
    void *full = NULL;
    size_t full_size = 0;
    lsc_error err;
    lsc_status st = lsc_entropy_expand(data, size, "t", &full, &full_size, &err);
    if (st == LSC_ERR_CHECKSUM) {
        uint8_t *copy = malloc(size);
        if (!copy)
            return;
        memcpy(copy, data, size);
        fuzz_fix_blob_checksum(copy, size);
        st = lsc_entropy_expand(copy, size, "t", &full, &full_size, &err);
        free(copy);
    }
    if (st != LSC_OK) {
        if (full)
            abort();
        fuzz_check_message(&err);
        return;
    }
    if (!lsc_entropy_is_blob(full, full_size))
        abort();
    entropy_input(full, full_size);
    free(full);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (lsc_entropy_is_compact(data, size))
        compact_input(data, size);
    else if (lsc_entropy_is_blob(data, size))
        entropy_input(data, size);
    else
        tensor_input(data, size);
    return 0;
}
