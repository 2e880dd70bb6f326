/* Unit tests of the stats calculators on synthetic matrices, each against a naive
 * re-implementation here: the scan (nnz, empty rows/columns, -0.0, relative-index
 * fillers, COO varints, kept blocks) in every dtype and orientation, the formats'
 * byte counts, the entropy bound, the PNG writer and the name shortening. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "rng.h"
#include "formats.h"
#include "report_png.h"
#include "stats.h"
#include "stats_scan.h"
#include "text.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    return xorshift64(&rng_state);
}

static void test_varint(void)
{
    CHECK(stats_varint_size(0) == 1);
    CHECK(stats_varint_size(127) == 1);
    CHECK(stats_varint_size(128) == 2);
    CHECK(stats_varint_size(16383) == 2);
    CHECK(stats_varint_size(16384) == 3);
    CHECK(stats_varint_size(UINT64_MAX) == 10);
    CHECK(stats_varint_size((uint64_t)1 << 63) == 10);
    CHECK(stats_varint_size(((uint64_t)1 << 63) - 1) == 9);
}

static void test_entropy(void)
{
    CHECK(fabs(stats_entropy_bits(10, 3) - log2(120.0)) < 1e-12);
    CHECK(stats_entropy_bits(10, 0) == 0.0 && stats_entropy_bits(10, 10) == 0.0);
    CHECK(fabs(stats_entropy_bits(1000, 990) - stats_entropy_bits(1000, 10)) < 1e-9);
    CHECK(fabs(stats_entropy_bits(1000000000ull, 1) - log2(1e9)) < 1e-9);
    /* the exact sum and lgamma agree where one method hands over to the other */
    for (uint64_t k = 4090; k <= 4100; k++) {
        double a = stats_entropy_bits(100000000ull, k);
        double b = (lgamma(1e8 + 1) - lgamma((double)k + 1) - lgamma(1e8 - (double)k + 1)) / log(2.0);
        CHECKF(fabs(a - b) / b < 1e-9, "k=%llu: %.12g vs %.12g", (unsigned long long)k, a, b);
    }
}

/* Element (r, c) of the matrix as the scan sees it. */
static uint64_t tensor_index(uint64_t r, uint64_t c, uint64_t rows, uint64_t cols, int transposed)
{
    return transposed ? c * rows + r : r * cols + c;
    (void)cols;
}

typedef struct naive {
    uint64_t nnz, zero_rows, zero_cols, signed_zeros, varint, kept;
    uint64_t fillers[STATS_RI_MAX_BITS + 1];
} naive;

static naive naive_scan(const uint8_t *nz, const uint8_t *minus, uint64_t rows, uint64_t cols,
                        int transposed, uint32_t bh, uint32_t bw)
{
    naive n = {0};
    uint64_t nbr = (rows + bh - 1) / bh, nbc = (cols + bw - 1) / bw;
    uint8_t *kept = calloc(nbr * nbc, 1);
    int64_t prev = -1;
    for (uint64_t r = 0; r < rows; r++) {
        int any = 0;
        for (uint64_t c = 0; c < cols; c++) {
            uint64_t t = tensor_index(r, c, rows, cols, transposed);
            n.signed_zeros += minus[t];
            if (!nz[t])
                continue;
            any = 1;
            n.nnz++;
            uint64_t pos = r * cols + c;
            uint64_t gap = pos - (uint64_t)(prev + 1);
            prev = (int64_t)pos;
            for (unsigned b = 1; b <= STATS_RI_MAX_BITS; b++) {
                /* walk: a filler every 2^b zeros */
                uint64_t g = gap, f = 0;
                while (g >= ((uint64_t)1 << b)) {
                    g -= (uint64_t)1 << b;
                    f++;
                }
                n.fillers[b] += f;
                if (!f)
                    break;
            }
            uint64_t v = t;
            n.varint++;
            while (v >= 128) {
                v >>= 7;
                n.varint++;
            }
            kept[(r / bh) * nbc + c / bw] = 1;
        }
        n.zero_rows += !any;
    }
    for (uint64_t c = 0; c < cols; c++) {
        int any = 0;
        for (uint64_t r = 0; r < rows; r++)
            any |= nz[tensor_index(r, c, rows, cols, transposed)];
        n.zero_cols += !any;
    }
    for (uint64_t i = 0; i < nbr * nbc; i++)
        n.kept += kept[i];
    free(kept);
    return n;
}

static void put_element(uint8_t *p, unsigned size, int kind, uint64_t random)
{
    memset(p, 0, size);
    if (kind == 1) {
        p[size - 1] = 0x80; /* -0.0 */
    } else if (kind == 2) {
        for (unsigned i = 0; i < size; i++)
            p[i] = (uint8_t)(random >> (8 * (i % 8)));
        if (!(p[0] | (p[size - 1] & 0x7f)))
            p[0] = 1; /* not a zero, whatever the random bits */
    }
}

static void test_scan_case(int dtype, uint64_t rows, uint64_t cols, int transposed, unsigned density_pct,
                           uint32_t bh, uint32_t bw)
{
    unsigned size = (unsigned)lsc_dtype_size(dtype);
    uint64_t n = rows * cols;
    uint8_t *data = malloc(n * size), *nz = calloc(n, 1), *minus = calloc(n, 1);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t x = rnd();
        int kind = x % 100 < density_pct ? 2 : (x >> 8) % 4 == 0 ? 1 : 0;
        /* a dead band of rows and a dead column, as pruning leaves them */
        uint64_t r = transposed ? i % rows : i / cols, c = transposed ? i / rows : i % cols;
        if (r % 7 == 3 || c == cols / 2)
            kind = kind == 2 ? 0 : kind;
        put_element(data + i * size, size, kind, rnd());
        nz[i] = kind == 2;
        minus[i] = kind == 1;
    }
    lsc_tensor t = {(lsc_dtype)dtype, 2, {0}, data};
    t.dims[0] = (int64_t)(transposed ? cols : rows);
    t.dims[1] = (int64_t)(transposed ? rows : cols);
    stats_scan s;
    lsc_error err = {0};
    lsc_status st = stats_scan_tensor(&t, transposed, bh, bw, 1, &s, &err);
    CHECKF(st == LSC_OK, "%s", err.message);
    naive want = naive_scan(nz, minus, rows, cols, transposed, bh, bw);
    const stats_facts *f = &s.facts;
    CHECK(f->rows == rows && f->cols == cols && f->elements == n && f->elem_size == size);
    CHECKF(f->nnz == want.nnz, "nnz %llu vs %llu", (unsigned long long)f->nnz, (unsigned long long)want.nnz);
    CHECK(f->zero_rows == want.zero_rows);
    CHECK(f->zero_cols == want.zero_cols);
    CHECK(f->signed_zeros == want.signed_zeros);
    CHECK(f->coo_index_varint_bytes == want.varint);
    CHECK(s.kept_blocks == want.kept);
    CHECK(s.blocks == ((rows + bh - 1) / bh) * ((cols + bw - 1) / bw));
    for (unsigned b = 1; b <= STATS_RI_MAX_BITS; b++)
        CHECKF(f->ri_fillers[b] == want.fillers[b], "b=%u: %llu vs %llu", b,
               (unsigned long long)f->ri_fillers[b], (unsigned long long)want.fillers[b]);
    /* maps: a cell is 0 iff it holds nothing */
    CHECK(s.map.cells && s.elements.cells && s.map.width <= STATS_MAP_MAX && s.elements.height <= STATS_MAP_MAX);
    if (s.elements.cells && s.elements.per_cell_h == 1 && s.elements.per_cell_w == 1)
        for (uint64_t r = 0; r < rows; r++)
            for (uint64_t c = 0; c < cols; c++)
                CHECK((s.elements.cells[r * cols + c] != 0) == nz[tensor_index(r, c, rows, cols, transposed)]);

    /* the formats from these facts, against their definitions */
    int64_t dims[2] = {t.dims[0], t.dims[1]};
    stats_tensor_desc desc = {dtype, 2, dims, 5, 0};
    stats_format_size z[STATS_N_FORMATS];
    stats_formats_compute(f, &desc, z);
    uint64_t vb = want.nnz * size;
    CHECK(z[STATS_FMT_CSR32].meta_bytes == (rows + 1) * 4 + want.nnz * 4);
    CHECK(z[STATS_FMT_CSR16].meta_bytes == (rows + 1) * 4 + want.nnz * 2);
    CHECK(z[STATS_FMT_CSR16].applicable == (cols <= 65536));
    CHECK(z[STATS_FMT_BITMAP].meta_bytes == rows * ((cols + 7) / 8) + rows * 8);
    CHECK(z[STATS_FMT_RI_EIE].index_bits == 4 && z[STATS_FMT_RI_DC].index_bits == 5);
    CHECK(z[STATS_FMT_RI_EIE].meta_bytes ==
          ((want.nnz + want.fillers[4]) * 4 + 7) / 8 + want.fillers[4] * size);
    for (int k = 0; k < STATS_N_FORMATS; k++)
        CHECK(z[k].value_bytes == vb);
    for (unsigned b = 1; b <= STATS_RI_MAX_BITS; b++)
        CHECK(z[STATS_FMT_RI_BEST].meta_bytes <= stats_ri_meta_bytes(f, b));
    stats_scan_free(&s);
    free(data);
    free(nz);
    free(minus);
}

static void test_scan(void)
{
    test_scan_case(LSC_DTYPE_FLOAT32, 37, 71, 0, 10, 4, 8);
    test_scan_case(LSC_DTYPE_FLOAT32, 37, 71, 1, 10, 3, 5);
    test_scan_case(LSC_DTYPE_FLOAT16, 64, 130, 0, 2, 1, 1);
    test_scan_case(LSC_DTYPE_BFLOAT16, 130, 64, 1, 50, 16, 16);
    test_scan_case(LSC_DTYPE_FLOAT64, 9, 300, 0, 1, 9, 300);
    test_scan_case(LSC_DTYPE_FLOAT32, 1, 1000, 0, 0, 1, 7);
    test_scan_case(LSC_DTYPE_FLOAT32, 400, 500, 0, 1, 2, 2);   /* maps down-sampled */
    test_scan_case(LSC_DTYPE_FLOAT32, 3, 70000, 0, 1, 1, 64);  /* wide: no CSR16 */
}

static void test_sparse_tensor_proto(void)
{
    /* hand-encoded: values {dims:[2], data_type:1, name:"w", raw_data:8 B} = 2+2+3+10 = 17;
     * indices raw {dims:[2], data_type:7, raw_data:16 B} = 2+2+18 = 22;
     * sparse = (2+17) + (2+22) + dims 3x4 (2+2) = 47 */
    int64_t dims[2] = {3, 4};
    stats_tensor_desc d = {1, 2, dims, 1, 0};
    CHECK(stats_sparse_tensor_proto_size(&d, 2, 4, 0, 0) == 47);
    /* packed indices 1 and 300 -> varints 1 + 2 = 3 B: {dims, type, int64_data 2+3} = 9 */
    CHECK(stats_sparse_tensor_proto_size(&d, 2, 4, 1, 3) == 47 - 22 + 9);
    /* nnz 0: values keep an empty raw_data (2 B), packed indices vanish */
    CHECK(stats_sparse_tensor_proto_size(&d, 0, 4, 1, 0) == (2 + 2 + 2 + 3 + 2) + (2 + 4) + 4);
}

static void test_png(void)
{
    CHECK(stats_crc32((const uint8_t *)"123456789", 9) == 0xcbf43926u);
    char *uri = stats_data_uri((const uint8_t *)"Man", 3);
    CHECK(uri && strcmp(uri, "data:image/png;base64,TWFu") == 0);
    free(uri);
    uri = stats_data_uri((const uint8_t *)"Ma", 2);
    CHECK(uri && strcmp(uri, "data:image/png;base64,TWE=") == 0);
    free(uri);
    uint8_t pal[768] = {0}, px[6] = {0, 1, 2, 3, 4, 5};
    size_t size = 0;
    uint8_t *png = stats_png_encode(px, 3, 2, pal, &size);
    CHECK(png && size == 8 + 25 + 780 + 12 + (2 + 5 + 8 + 4) + 12);
    CHECK(png && memcmp(png, "\x89PNG\r\n\x1a\n", 8) == 0);
    /* every chunk's CRC */
    for (size_t pos = 8; png && pos + 12 <= size;) {
        uint32_t len = (uint32_t)png[pos] << 24 | (uint32_t)png[pos + 1] << 16 | (uint32_t)png[pos + 2] << 8 | png[pos + 3];
        uint32_t crc = (uint32_t)png[pos + 8 + len] << 24 | (uint32_t)png[pos + 9 + len] << 16 |
                       (uint32_t)png[pos + 10 + len] << 8 | png[pos + 11 + len];
        CHECK(crc == stats_crc32(png + pos + 4, len + 4));
        pos += 12 + len;
    }
    free(png);
}

static void test_short_name(void)
{
    char buf[16];
    text_short_name(buf, 10, "features.10.weight");
    CHECK(strcmp(buf, "fea...ight") == 0);
    text_short_name(buf, 10, "fc1.weight");
    CHECK(strcmp(buf, "fc1.weight") == 0);
    text_short_name(buf, 10, "a\tb");
    CHECK(strcmp(buf, "a?b") == 0);
    text_short_name(buf, 10, "");
    CHECK(strcmp(buf, "(empty)") == 0);
}

int main(void)
{
    test_varint();
    test_entropy();
    test_scan();
    test_sparse_tensor_proto();
    test_png();
    test_short_name();
    return check_exit();
}
