/* The classic formats' byte counts (docs/stats-schema.md, "Byte accounting"). */
#include "formats.h"

#include <math.h>

#define ONNX_INT64 7

static const char *const keys[STATS_N_FORMATS] = {
    "coo_int64_raw", "coo_int64_varint", "csr_int32", "csr_int16",
    "bitmap",        "ri_deep_compression", "ri_eie4", "ri_best",
};
static const char *const labels[STATS_N_FORMATS] = {
    "COO raw", "COO varint", "CSR32", "CSR16", "bitmap", "DC-RI", "EIE-RI", "best RI",
};

const char *stats_format_key(stats_format f)
{
    return (unsigned)f < STATS_N_FORMATS ? keys[f] : "?";
}

const char *stats_format_label(stats_format f)
{
    return (unsigned)f < STATS_N_FORMATS ? labels[f] : "?";
}

unsigned stats_varint_size(uint64_t v)
{
    unsigned n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* A length-delimited field: tag (fields 1..15 take one byte), length, payload. */
static uint64_t bytes_field(uint64_t len)
{
    return 1 + stats_varint_size(len) + len;
}

/* A TensorProto of one dimension `count` (non-packed repeated dims, field 1), with
 * data_type (field 2), the name (field 8) if not empty, and the payload field. */
static uint64_t tensor_proto_size(uint64_t count, int dtype, uint64_t name_len,
                                  uint64_t payload_field)
{
    uint64_t size = 1 + stats_varint_size(count);
    size += 1 + stats_varint_size((uint64_t)dtype);
    if (name_len)
        size += bytes_field(name_len);
    return size + payload_field;
}

uint64_t stats_sparse_tensor_proto_size(const stats_tensor_desc *desc, uint64_t nnz,
                                        unsigned elem_size, int packed, uint64_t varint_bytes)
{
    /* values: raw_data (field 9) always present, even when empty */
    uint64_t values = tensor_proto_size(nnz, desc->dtype, desc->name_len,
                                        bytes_field(nnz * elem_size));
    /* indices: raw_data (field 9), or packed int64_data (field 7), absent when empty */
    uint64_t payload = packed ? (nnz ? bytes_field(varint_bytes) : 0) : bytes_field(nnz * 8);
    uint64_t indices = tensor_proto_size(nnz, ONNX_INT64, 0, payload);
    uint64_t size = bytes_field(values) + bytes_field(indices);
    for (int i = 0; i < desc->rank; i++) /* dims: field 3, not packed */
        size += 1 + stats_varint_size((uint64_t)desc->dims[i]);
    return size;
}

uint64_t stats_ri_meta_bytes(const stats_facts *f, unsigned b)
{
    uint64_t fillers = f->ri_fillers[b];
    uint64_t entries = f->nnz + fillers;
    return stats_ceil_div(entries * b, 8) + fillers * f->elem_size;
}

static stats_format_size sized(uint64_t value_bytes, uint64_t meta_bytes)
{
    stats_format_size s = {1, 0, value_bytes, meta_bytes};
    return s;
}

static stats_format_size ri(const stats_facts *f, unsigned b)
{
    stats_format_size s = sized(f->nnz * f->elem_size, stats_ri_meta_bytes(f, b));
    s.index_bits = b;
    return s;
}

void stats_formats_compute(const stats_facts *f, const stats_tensor_desc *desc,
                           stats_format_size sizes[STATS_N_FORMATS])
{
    uint64_t values = f->nnz * f->elem_size;
    uint64_t coo_raw = stats_sparse_tensor_proto_size(desc, f->nnz, f->elem_size, 0, 0);
    uint64_t coo_var = stats_sparse_tensor_proto_size(desc, f->nnz, f->elem_size, 1,
                                                      f->coo_index_varint_bytes);
    sizes[STATS_FMT_COO_RAW] = sized(values, coo_raw - values);
    sizes[STATS_FMT_COO_VARINT] = sized(values, coo_var - values);
    sizes[STATS_FMT_CSR32] = sized(values, (f->rows + 1) * 4 + f->nnz * 4);
    sizes[STATS_FMT_CSR16] = sized(values, (f->rows + 1) * 4 + f->nnz * 2);
    sizes[STATS_FMT_CSR16].applicable = f->cols <= 65536;
    sizes[STATS_FMT_BITMAP] = sized(values, f->rows * stats_ceil_div(f->cols, 8) + f->rows * 8);
    sizes[STATS_FMT_RI_DC] = ri(f, desc->conv ? 8 : 5);
    sizes[STATS_FMT_RI_EIE] = ri(f, 4);
    unsigned best = 1;
    for (unsigned b = 2; b <= STATS_RI_MAX_BITS; b++)
        if (stats_ri_meta_bytes(f, b) < stats_ri_meta_bytes(f, best))
            best = b;
    sizes[STATS_FMT_RI_BEST] = ri(f, best);
}

double stats_entropy_bits(uint64_t n, uint64_t k)
{
    if (k > n)
        return 0.0;
    uint64_t m = k < n - k ? k : n - k;
    if (m == 0)
        return 0.0;
    if (m <= 4096) {
        /* C(n, m) = prod_{i=1..m} (n - m + i) / i; each factor 1 + (n - m) / i */
        double nats = 0.0;
        for (uint64_t i = 1; i <= m; i++)
            nats += log1p((double)(n - m) / (double)i);
        return nats / log(2.0);
    }
    double nats = lgamma((double)n + 1.0) - lgamma((double)k + 1.0) - lgamma((double)(n - k) + 1.0);
    return nats / log(2.0);
}
