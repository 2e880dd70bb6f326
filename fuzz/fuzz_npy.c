/* The .npy reader of `verify --input NAME=FILE.npy` (src/cli/npy.c): any bytes give
 * LSC_OK with an array whose size is its shape times its dtype, or one error line. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    npy_array a;
    lsc_error err;
    if (npy_parse(data, size, "fuzz.npy", &a, &err) != LSC_OK) {
        fuzz_check_message(&err);
        if (a.data || a.bytes)
            abort();
        return 0;
    }
    uint64_t count = 1;
    for (int i = 0; i < a.rank; i++) {
        if (a.dims[i] < 0)
            abort();
        count *= (uint64_t)a.dims[i];
    }
    size_t elem = a.type == 1 || a.type == 6 ? 4 : a.type == 7 || a.type == 11 ? 8 : 1;
    if (a.rank < 0 || a.rank > LSC_MAX_RANK || count * elem != a.bytes || !a.data || a.bytes > size ||
        !strcmp(npy_type_name(a.type), "?") || (a.bytes && memcmp(a.data, data + size - a.bytes, a.bytes)))
        abort();
    npy_array_free(&a);
    return 0;
}
