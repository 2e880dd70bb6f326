/* lsc_encode_mapped (codec/encode.h): a tensor read from a file mapping, whose pages
 * the scan drops as it goes, encodes to the same bytes as lsc_encode of the same
 * tensor in ordinary memory: every element size, both orientations, -0.0 kept or
 * not, 8-bit with zero points, and weights larger than the release span (8 MiB) so
 * that pages are dropped mid-scan. The mapping reads the same afterwards. */
#include <stdio.h>
#include <unistd.h>

#include "check.h"
#include "codec/encode.h"
#include "codec_util.h"
#include "common/file_io.h"

static void run_case(const char *dir, lsc_dtype dtype, uint32_t d0, uint32_t d1, int transposed, int bit_exact,
                     int zero_points, uint64_t *seed)
{
    unsigned size = (unsigned)lsc_dtype_size((int)dtype);
    uint64_t n = (uint64_t)d0 * d1;
    uint8_t *data = malloc(n * size), *zp = NULL;
    fill_random(data, n, dtype, 0.1, 0.3, seed);
    char path[512];
    snprintf(path, sizeof path, "%s/mapped-%d-%u.bin", dir, (int)dtype, (unsigned)(*seed % 100000));
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(data, size, n, f) == n);
    if (f)
        fclose(f);
    lsc_map map = {0};
    lsc_error err;
    CHECK(lsc_map_file(path, &map, &err) == LSC_OK);

    lsc_encode_options o;
    lsc_encode_options_default(&o);
    o.transposed = transposed;
    o.bit_exact = bit_exact;
    if (zero_points) {
        uint32_t rows = transposed ? d1 : d0;
        zp = malloc(rows);
        for (uint32_t r = 0; r < rows; r++)
            zp[r] = (uint8_t)rng_next(seed);
        o.zero_points = zp;
    }
    lsc_tensor t = {.dtype = dtype, .rank = 2, .dims = {d0, d1}, .data = data};
    void *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    lsc_encode_stats sa, sb;
    CHECK(lsc_encode(&t, &o, &a, &na, &sa, &err) == LSC_OK);
    t.data = map.data;
    CHECK(lsc_encode_mapped(&t, &o, &b, &nb, &sb, &err) == LSC_OK);
    CHECKF(na == nb && a && b && memcmp(a, b, na) == 0, "dtype %d %ux%u transposed %d bit_exact %d zp %d",
           (int)dtype, d0, d1, transposed, bit_exact, zero_points);
    CHECK(sa.nnz == sb.nnz && sa.signed_zeros == sb.signed_zeros);
    CHECK(map.size == n * size && memcmp(map.data, data, map.size) == 0);
    lsc_free(a);
    lsc_free(b);
    lsc_unmap(&map);
    unlink(path);
    free(zp);
    free(data);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ".";
    uint64_t seed = 7;
    const lsc_dtype types[] = {LSC_DTYPE_FLOAT32, LSC_DTYPE_FLOAT16, LSC_DTYPE_FLOAT64, LSC_DTYPE_UINT8};
    for (unsigned i = 0; i < sizeof types / sizeof *types; i++)
        for (int transposed = 0; transposed < 2; transposed++) {
            int is8 = types[i] == LSC_DTYPE_UINT8;
            run_case(dir, types[i], 67, 45, transposed, 0, 0, &seed);
            run_case(dir, types[i], 1500, 1700, transposed, !is8 && transposed, 0, &seed);
            if (is8)
                run_case(dir, types[i], 3000, 1100, transposed, 0, 1, &seed);
        }
    return check_exit();
}
