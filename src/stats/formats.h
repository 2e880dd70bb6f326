/* Exact byte counts of the classic sparse formats and the entropy bound, from the
 * facts one scan of a weight gathers (stats_scan.h). Every formula is written out
 * in docs/stats-schema.md ("Byte accounting"); keep the two in step. */
#ifndef LSC_STATS_FORMATS_H
#define LSC_STATS_FORMATS_H

#include <stdint.h>

#include "onnx-lsc/lsc.h"

static inline uint64_t stats_ceil_div(uint64_t a, uint64_t b)
{
    return a / b + (a % b != 0);
}

/* Widths the relative index is priced at (the best width is searched in 1..this). */
#define STATS_RI_MAX_BITS 32

/* What one pass over a weight learns; the formats need nothing else. */
typedef struct stats_facts {
    uint64_t rows, cols;         /* the 2-D matrix as LSC encodes it (docs/format.md 1.4) */
    uint64_t elements, nnz;      /* nnz: elements other than +0.0 and -0.0 */
    unsigned elem_size;          /* bytes per element of the dtype */
    uint64_t zero_rows, zero_cols;
    uint64_t signed_zeros;       /* -0.0 elements (zeros, not counted in nnz) */
    uint64_t coo_index_varint_bytes; /* sum of varint sizes of the tensor-order linear indices */
    /* [b] = sum over the non-zeros, in row-major matrix order, of floor(gap / 2^b),
     * gap = zeros since the previous non-zero (the first: since the start). */
    uint64_t ri_fillers[STATS_RI_MAX_BITS + 1];
} stats_facts;

typedef enum stats_format {
    STATS_FMT_COO_RAW,      /* ONNX SparseTensorProto, int64 indices in raw_data */
    STATS_FMT_COO_VARINT,   /* ONNX SparseTensorProto, indices in packed int64_data */
    STATS_FMT_CSR32,        /* CSR, int32 row pointers and column indices */
    STATS_FMT_CSR16,        /* CSR, int32 row pointers, uint16 column indices (cols <= 65536) */
    STATS_FMT_BITMAP,       /* compressed-tensors sparse-bitmask: packed rows + int64 row offsets */
    STATS_FMT_RI_DC,        /* Deep Compression relative index: 8 bits conv, 5 bits fc */
    STATS_FMT_RI_EIE,       /* EIE-style 4-bit relative index */
    STATS_FMT_RI_BEST,      /* relative index at the best width for the layer */
    STATS_N_FORMATS
} stats_format;

typedef struct stats_format_size {
    int applicable;         /* 0: the format cannot hold this layer (CSR16 with wide rows) */
    unsigned index_bits;    /* relative-index formats: the width used */
    uint64_t value_bytes;   /* the non-zero values */
    uint64_t meta_bytes;    /* everything else (indices, pointers, fillers, protobuf framing) */
} stats_format_size;

/* What the ONNX SparseTensorProto needs beyond the facts: the tensor as stored. */
typedef struct stats_tensor_desc {
    int dtype;              /* ONNX data type code */
    int rank;
    const int64_t *dims;
    uint64_t name_len;      /* values.name carries the initializer's name */
    int conv;               /* 1: a Conv weight (Deep Compression uses 8 bits, else 5) */
} stats_tensor_desc;

/* Short key (JSON, CSV) and label (table, HTML) of a format. */
const char *stats_format_key(stats_format f);
const char *stats_format_label(stats_format f);

/* Bytes of a protobuf varint holding v. */
unsigned stats_varint_size(uint64_t v);

/* Fills sizes[STATS_N_FORMATS]. */
void stats_formats_compute(const stats_facts *facts, const stats_tensor_desc *desc,
                           stats_format_size sizes[STATS_N_FORMATS]);

/* Serialized size of the SparseTensorProto (values in raw_data; indices in raw_data
 * when varint_bytes is 0, else in int64_data whose varints total varint_bytes). */
uint64_t stats_sparse_tensor_proto_size(const stats_tensor_desc *desc, uint64_t nnz,
                                        unsigned elem_size, int packed, uint64_t varint_bytes);

/* Relative index at width b: meta-data bytes (index stream + filler values). */
uint64_t stats_ri_meta_bytes(const stats_facts *facts, unsigned b);

/* log2 C(n, k) in bits; exact summation for small min(k, n-k), lgamma otherwise. */
double stats_entropy_bits(uint64_t n, uint64_t k);

#endif /* LSC_STATS_FORMATS_H */
