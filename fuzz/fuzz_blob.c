/* The per-weight blob parser (lsc_weight_open), as the ONNX Runtime kernels call
 * it on bytes read from a bundle: any content gives LSC_OK or an error. The input
 * is opened as is (checksum checked), then, if only the checksum was wrong, again
 * with the checksum repaired so mutations reach the structural checks. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "onnx-lsc/lsc.h"

static void open_one(const uint8_t *blob, size_t size)
{
    lsc_weight *w = NULL;
    lsc_error err;
    if (lsc_weight_open(blob, size, "fuzz", &w, &err) == LSC_OK) {
        lsc_weight_info info;
        lsc_weight_get_info(w, &info);
        if (info.blob_size != size || info.rank < 0 || info.rank > LSC_MAX_RANK)
            abort();
    } else {
        fuzz_check_message(&err); /* every failure carries a one-line message */
    }
    lsc_weight_close(&w);
    if (w)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lsc_weight *w = NULL;
    lsc_error err;
    lsc_status st = lsc_weight_open(data, size, NULL, &w, &err);
    lsc_weight_close(&w);
    if (st != LSC_ERR_CHECKSUM)
        return 0;
    uint8_t *copy = malloc(size);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    fuzz_fix_blob_checksum(copy, size);
    open_one(copy, size);
    free(copy);
    return 0;
}
