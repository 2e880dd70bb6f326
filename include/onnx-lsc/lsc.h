/*
 * onnx-lsc: Layerwise Sparse Coding for pruned ONNX models.
 *
 * The one public header of libonnx-lsc. It offers, from the bottom up:
 *   - errors as values (lsc_status + lsc_error with a one-line message);
 *   - the codec: dense tensor <-> encoded weight ("blob", docs/format.md part 1);
 *   - kernels that multiply with an encoded weight without decoding it;
 *   - the bundle (.lsc file, docs/format.md part 2);
 *   - whole-model compress / decompress of ONNX files.
 *
 * Ownership: every object created by lsc_*_create/open/encode is owned by the
 * caller and released by its matching lsc_*_free/close, which accepts NULL and sets
 * the caller's pointer to NULL. The library keeps no pointer to caller memory
 * after a call returns, except where a function says so (lsc_weight_open keeps
 * the blob it was given; the caller keeps it alive until lsc_weight_close).
 *
 * Threads: there is no global mutable state. Different objects may be used from
 * different threads at once; one object is not to be used from two threads at
 * once, except const objects (an opened lsc_weight may be multiplied with from
 * any number of threads).
 */
#ifndef ONNX_LSC_LSC_H
#define ONNX_LSC_LSC_H

#include <stddef.h>
#include <stdint.h>

#include "onnx-lsc/version.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(LSC_BUILDING_LIBRARY) && defined(__GNUC__)
#define LSC_API __attribute__((visibility("default")))
#else
#define LSC_API
#endif

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

/* Every fallible call returns an lsc_status. Values are stable. */
typedef enum lsc_status {
    LSC_OK = 0,
    LSC_ERR_INVALID_ARGUMENT = 1, /* a caller bug: NULL, bad option, bad shape */
    LSC_ERR_NO_MEMORY = 2,
    LSC_ERR_IO = 3,               /* open/read/write/rename failed (errno in message) */
    LSC_ERR_NOT_ONNX = 4,         /* the model file does not parse as ONNX */
    LSC_ERR_BAD_MODEL = 5,        /* parses, but is inconsistent (shapes, types, names, graph) */
    LSC_ERR_EXTERNAL_DATA = 6,    /* external data missing, out of range, absolute, escaping */
    LSC_ERR_BAD_BUNDLE = 7,       /* bundle or blob malformed (magic, sizes, bounds, structure) */
    LSC_ERR_CHECKSUM = 8,         /* bundle or blob checksum mismatch */
    LSC_ERR_VERSION = 9,          /* written by a newer, incompatible onnx-lsc */
    LSC_ERR_UNSUPPORTED = 10,     /* valid, but a feature onnx-lsc does not handle */
    LSC_ERR_TOO_LARGE = 11,       /* a size overflows what the format or memory allows */
    LSC_ERR_INTERNAL = 12         /* a bug in onnx-lsc; please report */
} lsc_status;

#define LSC_ERROR_MESSAGE_SIZE 512

/* The detail of a failure: one line naming the file, the tensor or node, and what is
 * wrong, e.g. "model.onnx: initializer 'fc1.weight': raw_data holds 12 bytes, dims
 * need 16". Functions taking an lsc_error* fill it on failure (it may be NULL). */
typedef struct lsc_error {
    lsc_status status;
    char message[LSC_ERROR_MESSAGE_SIZE];
} lsc_error;

/* A short constant name for a status, e.g. "checksum mismatch". Never NULL. */
LSC_API const char *lsc_status_string(lsc_status status);

/* Fills *error (may be NULL) with status and a printf-style message, kept one line
 * (control bytes, such as the newlines of a foreign library's message or of a tensor
 * name, become '?'), and returns status. The library's own errors are made this way;
 * programs and plugins built on it use it for theirs. */
LSC_API lsc_status lsc_error_set(lsc_error *error, lsc_status status, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* The library's version as "MAJOR.MINOR.PATCH". */
LSC_API const char *lsc_version_string(void);

/* Frees memory the library handed to the caller (blobs, decoded tensors). NULL is ok. */
LSC_API void lsc_free(void *ptr);

/* ------------------------------------------------------------------------ */
/* Tensors and the codec                                                     */
/* ------------------------------------------------------------------------ */

/* Element types, with the ONNX TensorProto.DataType codes. UINT8 and INT8 are the
 * codes of quantized weights (docs/format.md 1.9): a zero is an element equal to its
 * row's zero point (lsc_encode_options.zero_points). */
typedef enum lsc_dtype {
    LSC_DTYPE_FLOAT32 = 1,
    LSC_DTYPE_UINT8 = 2,
    LSC_DTYPE_INT8 = 3,
    LSC_DTYPE_FLOAT16 = 10,
    LSC_DTYPE_FLOAT64 = 11,
    LSC_DTYPE_BFLOAT16 = 16
} lsc_dtype;

#define LSC_MAX_RANK 8

/* Element size in bytes, or 0 for a type the codec does not handle. */
LSC_API size_t lsc_dtype_size(int dtype);
/* Element size of any fixed-size ONNX tensor type (uint8 ... complex128), 0 for
 * strings, sub-byte and unknown types. */
LSC_API size_t lsc_onnx_type_size(int dtype);
/* The one spelling of an ONNX data type in reports: "float32", "float16", "float64",
 * "bfloat16", "uint8", "int8", "int32", "int64", else "other". Never NULL. */
LSC_API const char *lsc_dtype_string(int dtype);

/* A dense tensor in memory: row-major, elements in little-endian bit patterns. */
typedef struct lsc_tensor {
    lsc_dtype dtype;
    int rank;                     /* 0..LSC_MAX_RANK */
    int64_t dims[LSC_MAX_RANK];
    const void *data;             /* product(dims) * lsc_dtype_size(dtype) bytes */
} lsc_tensor;

/* Encoder settings. lsc_encode_options_default() fills the defaults (search all). */
typedef struct lsc_encode_options {
    int bit_exact;        /* 1: keep -0.0 (stored as values, format flag SIGNED_ZEROS) */
    int transposed;       /* 1: encode the transpose of the 2-D view (docs/format.md 1.4) */
    int typed_field;      /* 1: record that the ONNX source used a typed field (flag only) */
    unsigned index_bits;  /* 0: search 1..16; else force this width */
    uint32_t block_h;     /* 0: search; else force (block_w must be forced too) */
    uint32_t block_w;
    /* Searched block heights leave at least this many block rows, the unit of work
     * the kernels share between threads. 0: default (rows / 32, at most 64; layers
     * under 64 rows unconstrained); 1: smallest size only. Ignored when block_h is
     * forced. */
    uint32_t min_block_rows;
    /* A size/speed trade: of the encodings at most this many parts per million
     * larger than the smallest, the one the kernels multiply fastest (a cost model
     * of decoded entries, values and rows; docs/format.md 1.8, docs/benchmarks.md);
     * a whole-width encoding within twice this may replace a narrow-block one that
     * cuts rows into many more segments. Default LSC_DEFAULT_SIZE_SLACK_PPM; 0: the
     * smallest encoding. */
    uint32_t size_slack_ppm;
    /* UINT8 / INT8 tensors only: the zero point code of each row of the encoded
     * matrix (rows bytes, after `transposed`), or NULL for all zero (written only
     * when one is not). The caller keeps it alive during the call. (Carved out of
     * `reserved`.) */
    const uint8_t *zero_points;
    uint8_t reserved[16];
} lsc_encode_options;

/* The default size slack: 1.5% more bytes at most, for a faster multiply. */
#define LSC_DEFAULT_SIZE_SLACK_PPM 15000u

LSC_API void lsc_encode_options_default(lsc_encode_options *options);

/* Where the bytes of one encoded weight go (docs/format.md measures). */
typedef struct lsc_encode_stats {
    uint64_t rows, cols;
    uint32_t block_h, block_w;
    unsigned index_bits;
    uint64_t elements;            /* rows * cols */
    uint64_t nnz;                 /* stored values */
    uint64_t signed_zeros;        /* -0.0 elements met (normalised unless bit_exact) */
    uint64_t blocks, kept_blocks;
    uint64_t value_entries, jump_entries;
    uint64_t dense_bytes;         /* elements * element size */
    uint64_t value_bytes;         /* nnz * element size */
    uint64_t header_bytes;        /* blob header incl. dims (and an 8-bit weight's zero points) */
    uint64_t bitmap_bytes;
    uint64_t pointer_bytes;       /* block-row pointers */
    uint64_t index_bytes;         /* SRI entries (values and jumps) */
    uint64_t meta_bytes;          /* header + bitmap + pointers + index */
    uint64_t blob_bytes;          /* value_bytes + meta_bytes */
} lsc_encode_stats;

/* Encodes a tensor. On success *blob_out (free with lsc_free) holds *blob_size bytes
 * laid out as docs/format.md part 1, and *stats (may be NULL) says where they go.
 * The caller decides whether the blob pays (stats->blob_bytes < dense_bytes). */
LSC_API lsc_status lsc_encode(const lsc_tensor *tensor, const lsc_encode_options *options,
                              void **blob_out, size_t *blob_size, lsc_encode_stats *stats,
                              lsc_error *error);

/* The 2-D matrix a tensor is encoded as (docs/format.md 1.4): rows x cols, of its
 * transpose when `transposed`. Fails as lsc_encode would on a shape it refuses. */
LSC_API lsc_status lsc_tensor_matrix_dims(const lsc_tensor *tensor, int transposed, uint64_t *rows,
                                          uint64_t *cols, lsc_error *error);

/* Only the size search: fills *stats for the encoding lsc_encode would produce,
 * without producing it. */
LSC_API lsc_status lsc_encode_plan(const lsc_tensor *tensor, const lsc_encode_options *options,
                                   lsc_encode_stats *stats, lsc_error *error);

/* Recodes a compute-tier blob into the entropy tier (docs/format.md part 4): positions
 * and value byte planes entropy-coded, for storage (float and 8-bit weights, zero points
 * included); lsc_weight_open decodes it back into exactly the blob given. On success *out (free with lsc_free) holds *out_size bytes.
 * LSC_ERR_UNSUPPORTED: the blob is beyond the tier's limits (keep the blob as it is). */
LSC_API lsc_status lsc_entropy_encode(const void *blob, size_t blob_size, void **out, size_t *out_size,
                                      lsc_error *error);

/* Where the bytes of an entropy-tier blob go (docs/format.md 4.1, 4.3). */
typedef struct lsc_entropy_stats {
    uint64_t nnz;
    uint64_t header_bytes;     /* fixed header, dims, section table, 8-bit zero points */
    uint64_t position_bytes;   /* section 0: the positions of the stored values */
    unsigned planes;           /* element size: one value byte plane per byte */
    uint64_t plane_bytes[8];   /* most significant plane first */
    unsigned plane_method[8];  /* docs/format.md 4.3: 0 raw, 1 zstd, 2 model, 3 adaptive, 4 whole (plane 0 holds every value) */
    uint64_t total_bytes;
} lsc_entropy_stats;

/* lsc_entropy_encode that also fills *stats (may be NULL) with where the bytes go;
 * out may be NULL when only the stats are wanted (the coded blob is then freed). */
LSC_API lsc_status lsc_entropy_encode_stats(const void *blob, size_t blob_size, void **out,
                                            size_t *out_size, lsc_entropy_stats *stats,
                                            lsc_error *error);

/* The compact form of an entropy blob (docs/format.md 4.8: its header and section
 * table as varints), as compress --entropy stores it; lsc_weight_open reads either.
 * On success *out (free with lsc_free) holds *out_size bytes; LSC_ERR_UNSUPPORTED
 * when it would not be smaller. (API 0.9) */
LSC_API lsc_status lsc_entropy_compact_blob(const void *blob, size_t blob_size, void **out, size_t *out_size,
                                            lsc_error *error);

/* An encoded weight, validated and ready to decode or multiply with. */
typedef struct lsc_weight lsc_weight;

/* Facts about an opened weight. */
typedef struct lsc_weight_info {
    lsc_dtype dtype;
    int rank;
    int64_t dims[LSC_MAX_RANK];
    uint32_t rows, cols, block_h, block_w;
    unsigned index_bits;
    int transposed, signed_zeros, typed_field;
    uint64_t nnz, n_entries;
    size_t blob_size;
} lsc_weight_info;

/* Validates a blob completely (checksum, every size and bound, the SRI stream of
 * every block row) and opens it in place: the blob is not copied, the caller keeps
 * it alive and unchanged until lsc_weight_close. An entropy-tier blob (docs/format.md
 * part 4) is instead decoded once, here, into a compute-tier blob the weight owns
 * (the caller's bytes are not needed after the call); info.blob_size stays the size
 * given. `name` (may be NULL) only labels error messages. Any content whatsoever
 * gives LSC_OK or an error, never a crash. */
LSC_API lsc_status lsc_weight_open(const void *blob, size_t blob_size, const char *name,
                                   lsc_weight **weight_out, lsc_error *error);
LSC_API void lsc_weight_close(lsc_weight **weight);
LSC_API void lsc_weight_get_info(const lsc_weight *weight, lsc_weight_info *info);
/* Where an opened weight's bytes go, as lsc_encode reported them when it was made
 * (signed_zeros: 0, the blob does not record how many -0.0 were normalised). For an
 * entropy-tier blob, the compute-tier blob it was decoded into. */
LSC_API void lsc_weight_get_stats(const lsc_weight *weight, lsc_encode_stats *stats);
/* The compute-tier blob an opened weight uses, owned by the weight (the caller's blob
 * itself, or for an entropy-tier blob the one it was decoded into); *size its bytes. */
LSC_API const void *lsc_weight_blob(const lsc_weight *weight, size_t *size);

/* Writes the dense tensor (row-major, original dims and dtype) into dst, which holds
 * dst_size >= product(dims) * element size bytes. Zeros are +0.0, or -0.0 where the
 * blob stores them (bit_exact). */
LSC_API lsc_status lsc_weight_decode(const lsc_weight *weight, void *dst, size_t dst_size,
                                     lsc_error *error);

/* An 8-bit (UINT8 / INT8) weight multiplies as the dequantized float matrix
 * scale[r] * (code - zero_point[r]), r the encoded row, as ONNX DequantizeLinear
 * computes it: n_scales is 1 (per tensor) or rows (per output channel). Called once
 * before lsc_spmm / lsc_spmm_rows, which refuse an 8-bit weight without it; the weight
 * then holds its nnz values as float32 (4 bytes each, owned by it; the positions are
 * read from the blob as for any weight). Calling it again replaces the scales. */
LSC_API lsc_status lsc_weight_dequantize(lsc_weight *weight, const float *scales, size_t n_scales,
                                         lsc_error *error);
/* After lsc_weight_dequantize: the largest sum of |dequantized value| over one encoded
 * row (with scale 1, the row's L1 norm of code - zero point: what bounds an exact
 * integer product's partial sums); 0 for a weight not dequantized. */
LSC_API double lsc_weight_row_l1_max(const lsc_weight *weight);

/* Prepares the weight's batch-1 form: its positions re-coded once so that a multiply
 * by one vector (lsc_spmm with n = 1, lsc_spmm_rows with m = 1) decodes them
 * branch-free with SIMD instead of reading the SRI stream (docs/benchmarks.md,
 * "Stop 13"), or, for weights of up to 2^16 columns whose values and columns take
 * up to 16 MiB, stored as plain 16-bit columns that need no decoding ("Stop 16").
 * The values stay in the blob, read in place. The weight owns the form
 * (freed by lsc_weight_close); the blob and the format are unchanged. Not safe
 * against multiplies running on the same weight: call it once, before sharing the
 * weight between threads, as lsc_weight_dequantize. Builds nothing, and returns
 * LSC_OK, when the weight has no such form (values other than float32 or 8-bit,
 * more than 2^24 columns, or a form that would be larger than the blob); calling it
 * again does nothing. *form_bytes (may be NULL) receives the form's size, 0 for
 * none. LSC_ERR_NO_MEMORY leaves the weight as it was. */
LSC_API lsc_status lsc_weight_prepare_n1(lsc_weight *weight, size_t *form_bytes, lsc_error *error);

/* Prepares an 8-bit weight's integer batch-1 form, for lsc_spmv_int8: its integer
 * values w = code - zero_point[r] (int8 when all fit, else int16) with their columns
 * (uint16 up to 2^16 columns, else uint32), row by row; up to 1024 columns on a CPU
 * with AVX-512 VBMI and VNNI, codes and columns as bytes for an in-register table
 * lookup of x instead. It costs memory: 3 to 6 bytes a non-zero and 8 to 16 a row,
 * owned by the weight (freed by lsc_weight_close); the blob
 * and the format are unchanged. Thread safety as lsc_weight_prepare_n1. Builds
 * nothing, and returns LSC_OK, for a weight that is not 8-bit (or has more than
 * 2^31 - 1 columns); calling it again does nothing. *form_bytes (may be NULL)
 * receives its size, 0 for none. LSC_ERR_NO_MEMORY leaves the weight as it was. */
LSC_API lsc_status lsc_weight_prepare_int8(lsc_weight *weight, size_t *form_bytes, lsc_error *error);

/* Prepares an 8-bit Conv weight's integer direct-convolution form, for lsc_conv_int8:
 * its positions re-coded row-major as one stream of relative indices (1 to 8 bits:
 * of the widths that keep the form within the blob's bytes, the one with the fewest
 * codes) and its codes, one byte each. Thread safety as
 * lsc_weight_prepare_n1; owned by the weight; the blob and the format are unchanged.
 * Builds nothing, and returns LSC_OK, for a weight that is not 8-bit or when the form
 * would hold more bytes than the blob; calling it again does nothing. *form_bytes
 * (may be NULL) receives its size, 0 for none. */
LSC_API lsc_status lsc_weight_prepare_conv_int8(lsc_weight *weight, size_t *form_bytes, lsc_error *error);

/* Prepares a float32 weight's windowed-multiply form, for lsc_spmm_windows and
 * lsc_spmm_windows_to (convolutions): each value's column as 16 bits, row by row, so
 * that no call decodes the SRI stream again; the values stay in the blob, read in
 * place. 2 bytes a non-zero and 4 a row, owned by the weight (freed by
 * lsc_weight_close); the blob and the format are unchanged. Thread safety as
 * lsc_weight_prepare_n1. Builds nothing, and returns LSC_OK, for a weight that is not
 * float32, is encoded in blocks both taller than one row and narrower than the matrix
 * (its values then not row by row), has more than 2^16 columns, or
 * whose form would be larger than its blob; calling it again does nothing.
 * *form_bytes (may be NULL) receives its size, 0 for none. LSC_ERR_NO_MEMORY leaves
 * the weight as it was. */
LSC_API lsc_status lsc_weight_prepare_conv(lsc_weight *weight, size_t *form_bytes, lsc_error *error);

/* ------------------------------------------------------------------------ */
/* Kernels: multiply on the encoded form                                     */
/* ------------------------------------------------------------------------ */

/* Run fn(arg, i) for every i in [0, n), possibly in parallel, returning when all are
 * done. Lets a host (ONNX Runtime) lend its own threads. */
typedef void (*lsc_task_fn)(void *arg, size_t i);
typedef void (*lsc_parallel_for_fn)(void *context, lsc_task_fn fn, void *arg, size_t n);

/* A pool of worker threads, created once and reused by every call given it. After a
 * job its workers spin for about 100 us before they sleep (a hand-off in well under a
 * microsecond for back-to-back calls), so an idle pool costs no CPU beyond that. One
 * job runs at a time; n_threads counts the caller, which works too. */
typedef struct lsc_pool lsc_pool;
/* n_threads: 0 = number of online cores; 1 = run on the caller's thread only. */
LSC_API lsc_status lsc_pool_create(unsigned n_threads, lsc_pool **pool_out, lsc_error *error);
LSC_API void lsc_pool_free(lsc_pool **pool);
LSC_API unsigned lsc_pool_threads(const lsc_pool *pool);

/* How a kernel runs: serially (all NULL), on a pool, or on a host's parallel-for. */
typedef struct lsc_exec {
    lsc_pool *pool;                    /* used if non-NULL */
    lsc_parallel_for_fn parallel_for;  /* else used if non-NULL */
    void *parallel_for_context;
    unsigned cpu_mask;                 /* 0 = best available; else LSC_CPU_* allowed */
    /* Where a multiply takes its large temporary buffers (lsc_spmm_windows' decoded
     * rows, ~8 bytes a value): a host allocator that keeps its memory across calls
     * (ONNX Runtime's arena) spares mapping and faulting in fresh pages on every
     * call. Called on the calling thread only. Both NULL: malloc and free. */
    void *(*scratch_alloc)(void *context, size_t bytes);
    void (*scratch_free)(void *context, void *p);
    void *scratch_context;
} lsc_exec;

/* lsc_weight_decode without the zeroing: writes only the stored values into dst,
 * which must already hold zeros (calloc'd or fresh pages: nothing is written twice),
 * spread over exec's threads (NULL: the calling thread). An 8-bit weight with non-zero
 * zero points then writes every element (its zeros are its zero points). */
LSC_API lsc_status lsc_weight_fill(const lsc_weight *weight, void *dst, size_t dst_size,
                                   const lsc_exec *exec, lsc_error *error);

#define LSC_CPU_SCALAR 0x1u
#define LSC_CPU_AVX2 0x2u              /* AVX2 + FMA */
#define LSC_CPU_AVX512 0x4u            /* AVX-512 F */
/* The LSC_CPU_* flags this machine supports (OS support checked). */
LSC_API unsigned lsc_cpu_flags(void);

/* Y = W * X, W the encoded rows x cols matrix (docs/format.md 1.4), fp32 accumulation,
 * weights of any dtype converted on the fly:
 *   X: cols x n, element (k, j) at x[k * ldx + j]   (ldx >= n)
 *   Y: rows x n, element (i, j) at y[i * ldy + j]   (ldy >= n), overwritten.
 * Row block [row_begin, row_end) only, if row_end > row_begin (0, 0 = all rows);
 * Conv groups use it to multiply one group's rows. */
LSC_API lsc_status lsc_spmm(const lsc_weight *w, const float *x, size_t ldx, size_t n,
                            float *y, size_t ldy, uint32_t row_begin, uint32_t row_end,
                            const lsc_exec *exec, lsc_error *error);

/* Y = W * X where row k of X is a window of one buffer, x + x_offsets[k]:
 *   Y[i][j] = sum over k of W[i][k] * x[x_offsets[k] + j],   j in [0, n)
 *   Y: element (i, j) at y[i * ldy + j] (ldy >= n), overwritten; rows as lsc_spmm.
 * x_offsets has one entry per column of W (each at most 2^32 - 1), and x holds
 * x_offsets[k] + n floats for every k. A convolution over a zero-padded input (split
 * into phase planes when strided) is one call with no im2col matrix (src/ort/conv.c):
 * windows of neighbouring kernel taps overlap, and increasing offsets let the kernel
 * keep a block of them in the L1 cache for every row. Each call decodes the rows into
 * a temporary buffer of about 8 bytes per stored value (from exec's scratch hooks when
 * set), freed on return; on a weight with its convolution form
 * (lsc_weight_prepare_conv) it decodes nothing and takes 8 bytes per row and k-block,
 * plus 4 per value when a task spans several tiles of columns. */
LSC_API lsc_status lsc_spmm_windows(const lsc_weight *w, const float *x, const size_t *x_offsets,
                                    size_t n, float *y, size_t ldy, uint32_t row_begin,
                                    uint32_t row_end, const lsc_exec *exec, lsc_error *error);

/* Where lsc_spmm_windows_to puts its results: every row's columns come in tiles,
 * each handed once, final, to put(context, row, j0, values, n) for columns
 * [j0, j0 + n) of that row. The host writes them where its layout wants them (a
 * convolution drops the columns that fall in the padding), adding a bias or an
 * activation on the way, while they are still in cache: no second pass over Y.
 * put runs on exec's threads, concurrently for different (row, j0); values is
 * only valid during the call. */
typedef struct lsc_windows_sink {
    void (*put)(void *context, uint32_t row, size_t j0, const float *values, size_t n);
    void *context;
} lsc_windows_sink;

/* lsc_spmm_windows with the results handed to a sink instead of written into Y
 * (rows [row_begin, row_end) as there; each (row, column) reaches put exactly once).
 * Besides the decoded rows it takes a tile of sums per task (about 1 KiB per row),
 * from exec's scratch hooks when set. */
LSC_API lsc_status lsc_spmm_windows_to(const lsc_weight *w, const float *x, const size_t *x_offsets,
                                       size_t n, const lsc_windows_sink *sink, uint32_t row_begin,
                                       uint32_t row_end, const lsc_exec *exec, lsc_error *error);

/* Y = X * W^T for a batch of row vectors (Gemm with transB=1, MatMul):
 *   X: m x cols, element (j, k) at x[j * ldx + k]   (ldx >= cols)
 *   Y: m x rows, element (j, i) at y[j * ldy + i]   (ldy >= rows), overwritten. */
LSC_API lsc_status lsc_spmm_rows(const lsc_weight *w, const float *x, size_t ldx, size_t m,
                                 float *y, size_t ldy, const lsc_exec *exec, lsc_error *error);

/* The exact integer product of an 8-bit weight and one vector, on its integer form
 * (lsc_weight_prepare_int8, which it needs): y[r] = sum over c of (code[r][c] -
 * zero_point[r]) * x[c] for every row r, summed in int32 modulo 2^32 (ONNX's wrapping
 * int32, as MatMulInteger defines it), any x. x: cols values, y: rows values
 * (overwritten). */
LSC_API lsc_status lsc_spmv_int8(const lsc_weight *w, const int32_t *x, int32_t *y, const lsc_exec *exec,
                                 lsc_error *error);

/* The exact integer convolution of an 8-bit weight on windows of one int16 buffer
 * (lsc_spmm_windows' layout), on its convolution form (lsc_weight_prepare_conv_int8,
 * which it needs), the weight's rows in `groups` equal groups (a Conv's), group g
 * reading x + g * x_group_stride:
 *   Y[i][j] = sum over k of (code[i][k] - zero_point[i]) * xg[x_offsets[k] + j],  j in [0, n)
 * summed in int32 modulo 2^32 (ONNX's ConvInteger); row i at y + i * ldy (ldy >= n),
 * overwritten. x_offsets has one entry per column of W, and every group's window
 * holds x_offsets[k] + n + LSC_CONV_INT8_PAD values (vectors read past a window's
 * end; those lanes never reach Y). Each call decodes the positions again: row by row
 * when serial, all rows first (16 bytes a stored value, from exec's scratch hooks
 * when set) when the rows are split over exec's threads. */
#define LSC_CONV_INT8_PAD 16
LSC_API lsc_status lsc_conv_int8(const lsc_weight *w, const int16_t *x, const size_t *x_offsets, size_t n,
                                 uint32_t groups, size_t x_group_stride, int32_t *y, size_t ldy,
                                 const lsc_exec *exec, lsc_error *error);

/* ------------------------------------------------------------------------ */
/* Bundle (.lsc)                                                             */
/* ------------------------------------------------------------------------ */

typedef struct lsc_bundle lsc_bundle;

typedef struct lsc_bundle_entry {
    const char *name;          /* NUL-terminated copy owned by the bundle */
    size_t name_len;           /* names may hold NUL bytes: use this length */
    uint64_t offset, size, checksum;
    const void *restore;       /* restore record (docs/format.md 2.3), owned by the bundle */
    size_t restore_len;
} lsc_bundle_entry;

/* Opens and checks a bundle's header and TOC (not the blobs: each is checked when
 * fetched). The file is memory-mapped read-only. */
LSC_API lsc_status lsc_bundle_open(const char *path, lsc_bundle **bundle_out, lsc_error *error);
LSC_API void lsc_bundle_close(lsc_bundle **bundle);
LSC_API size_t lsc_bundle_count(const lsc_bundle *bundle);
LSC_API const lsc_bundle_entry *lsc_bundle_get(const lsc_bundle *bundle, size_t index);
/* Index of the entry with that name, or (size_t)-1. */
LSC_API size_t lsc_bundle_find(const lsc_bundle *bundle, const char *name, size_t name_len);
/* The blob's bytes in the mapping, valid until lsc_bundle_close (not checked). */
LSC_API const void *lsc_bundle_blob(const lsc_bundle *bundle, size_t index);
/* Opens entry `index` as a weight (validated, in place in the mapping). */
LSC_API lsc_status lsc_bundle_open_weight(const lsc_bundle *bundle, size_t index,
                                          lsc_weight **weight_out, lsc_error *error);

/* The seal (docs/format.md 2.4): compress records in the bundle a digest of the
 * rewritten model file as written, so that a later edit of the model is seen. It
 * detects changes, it does not authenticate: sign the pair to guard against forgery. */
typedef struct lsc_seal {
    uint64_t model_size;
    uint8_t digest[16]; /* XXH3-128 of the file's bytes, canonical (big-endian) form */
} lsc_seal;

/* 1 and *seal (may be NULL) filled if the bundle is sealed, else 0 (bundles of
 * format 1.0, written before seals existed, or by a writer that did not seal). */
LSC_API int lsc_bundle_get_seal(const lsc_bundle *bundle, lsc_seal *seal);
/* The seal of the file at `path` as it is now. */
LSC_API lsc_status lsc_seal_compute(const char *path, lsc_seal *seal, lsc_error *error);

/* Writes a bundle, blob by blob, to a temporary file renamed to `path` by
 * lsc_bundle_writer_finish only when complete. */
typedef struct lsc_bundle_writer lsc_bundle_writer;
LSC_API lsc_status lsc_bundle_writer_create(const char *path, lsc_bundle_writer **writer_out,
                                            lsc_error *error);
/* Appends a blob; *offset_out (may be NULL) receives its offset in the file. */
LSC_API lsc_status lsc_bundle_writer_add(lsc_bundle_writer *writer, const char *name,
                                         size_t name_len, const void *blob, size_t blob_size,
                                         const void *restore, size_t restore_len,
                                         uint64_t *offset_out, lsc_error *error);
/* Records the seal that lsc_bundle_writer_finish writes as the last entry. */
LSC_API lsc_status lsc_bundle_writer_seal(lsc_bundle_writer *writer, const lsc_seal *seal,
                                          lsc_error *error);
LSC_API lsc_status lsc_bundle_writer_finish(lsc_bundle_writer *writer, lsc_error *error);
/* Frees the writer; if not finished, removes the temporary file (nothing is left). */
LSC_API void lsc_bundle_writer_free(lsc_bundle_writer **writer);

/* ------------------------------------------------------------------------ */
/* Dense pack (docs/format.md part 5)                                       */
/* ------------------------------------------------------------------------ */

/* The float32 tensors `compress --entropy` takes out of the rewritten graph, coded
 * together in one bundle entry (magic "LSCD") and given back at run time by one
 * LscUnpack node. Opening checks every byte and decodes every tensor; the pack owns
 * the values until lsc_dense_pack_close. */
typedef struct lsc_dense_pack lsc_dense_pack;

typedef struct lsc_packed_tensor {
    uint32_t position;     /* its index in the graph's initializer list, or node list for a
                              Constant node's value, before packing */
    int node;              /* 1: a Constant node's value (restore record: the NodeProto) */
    int typed;             /* 1: kept in float_data, 0: in raw_data */
    int rank;              /* 0..LSC_MAX_RANK */
    int64_t dims[LSC_MAX_RANK];
    uint64_t count;        /* elements: the product of dims */
    const float *values;   /* count values, owned by the pack */
    const void *restore;   /* restore record (docs/format.md 2.3), owned by the pack */
    size_t restore_len;
    uint32_t graph;        /* 0: the main graph, else an If/Loop/Scan body by walk order (5.1) */
    int same;              /* 1: values equal to an earlier tensor's, stored once (values points there) */
} lsc_packed_tensor;

/* 1 if the bytes start with a dense pack's magic (then open it as one, not as a weight). */
LSC_API int lsc_is_dense_pack(const void *data, size_t size);
LSC_API lsc_status lsc_dense_pack_open(const void *data, size_t size, const char *label, lsc_dense_pack **pack_out,
                                       lsc_error *error);
LSC_API size_t lsc_dense_pack_count(const lsc_dense_pack *pack);
LSC_API const lsc_packed_tensor *lsc_dense_pack_get(const lsc_dense_pack *pack, size_t index);
LSC_API void lsc_dense_pack_close(lsc_dense_pack **pack);

/* The original names `compress --entropy` took out of the rewritten graph (magic
 * "LSCN", docs/format.md part 6): pairs of (short name in the graph, original name),
 * one list for values, one for nodes. Opening checks every byte; the table owns the
 * strings (NUL-terminated, non-empty) until lsc_name_table_close. */
typedef struct lsc_name_table lsc_name_table;
typedef enum lsc_name_kind { LSC_NAME_VALUE = 0, LSC_NAME_NODE = 1 } lsc_name_kind;

/* 1 if the bytes start with a names entry's magic. */
LSC_API int lsc_is_name_table(const void *data, size_t size);
LSC_API lsc_status lsc_name_table_open(const void *data, size_t size, const char *label, lsc_name_table **table_out,
                                       lsc_error *error);
LSC_API size_t lsc_name_table_count(const lsc_name_table *table, lsc_name_kind kind);
/* Pair i of a kind (NULL beyond the count): its short name, or its original. */
LSC_API const char *lsc_name_table_short(const lsc_name_table *table, lsc_name_kind kind, size_t i);
LSC_API const char *lsc_name_table_original(const lsc_name_table *table, lsc_name_kind kind, size_t i);
LSC_API void lsc_name_table_close(lsc_name_table **table);

/* ------------------------------------------------------------------------ */
/* Whole models                                                              */
/* ------------------------------------------------------------------------ */

/* Progress of a long call: `done` of `total` (bytes of weights), called with done = 0
 * first and then in increasing order, one call at a time (from any of the call's
 * threads). For a progress display; it must not call back into the same object. */
typedef void (*lsc_progress_fn)(void *context, uint64_t done, uint64_t total);

/* A note of a long call that is not an error, e.g. why a weight was left dense: one
 * line without a newline, valid during the call only. Called in a deterministic
 * order, one call at a time (from any of the call's threads). The library itself
 * never writes to stdout or stderr. */
typedef void (*lsc_note_fn)(void *context, const char *message);

typedef struct lsc_compress_options {
    int bit_exact;             /* keep -0.0 signs (whole file round-trips byte for byte) */
    int include_graph_inputs;  /* no effect: initializers that are graph inputs are encoded by default */
    unsigned threads;          /* encoder threads; 0 = cores */
    unsigned index_bits;       /* 0 = search, else force (tests, experiments) */
    uint32_t block_h, block_w; /* 0 = search, else force */
    lsc_note_fn note;          /* NULL: notes are dropped */
    void *note_context;
    lsc_progress_fn progress;  /* NULL: none */
    void *progress_context;
    /* Weights are encoded side by side (threads) only while their estimated memory
     * (dense bytes + encoder work, from a sample of each weight's zeros) fits in
     * this many bytes; a larger weight is encoded alone. 0: half of physical RAM. */
    uint64_t memory_budget;
    /* Leave initializers that are also main graph inputs (IR < 4 exporters,
     * keep_initializers_as_inputs) dense, for models whose weights are fed at run
     * time. By default they are encoded and dropped from the graph's inputs. */
    uint8_t keep_graph_inputs;
    /* 1: store each encoded weight in the entropy tier (lsc_entropy_encode), smaller
     * on disk, decoded when opened. */
    uint8_t entropy;
    /* 1: the smallest encoding of every weight (size_slack_ppm 0) instead of the
     * default trade of up to 1.5% more bytes for a faster multiply. */
    uint8_t smallest;
    /* Which float32 Conv / Gemm / MatMul weights run as ONNX Runtime's own dense op
     * (their blob restored once by LscDecode) instead of their LSC kernel:
     * LSC_RUN_DENSE_AUTO the convolutions the cost model predicts slower under
     * LSC (docs/format.md 3.1, "Decision (dense-ish layers)"), NEVER none,
     * ALWAYS every one. */
    uint8_t run_dense;
    /* 1: with entropy, write the whole model file, no graph entry (docs/format.md
     * part 7): a model that is to be edited and re-sealed. (API 0.9) */
    uint8_t keep_graph;
    uint8_t reserved[3];
} lsc_compress_options;
enum { LSC_RUN_DENSE_AUTO = 0, LSC_RUN_DENSE_NEVER = 1, LSC_RUN_DENSE_ALWAYS = 2 };
LSC_API void lsc_compress_options_default(lsc_compress_options *options);

/* Why a weight candidate was or was not encoded: a weight input of an op with an LSC
 * kernel, any other float tensor (initializer or Constant) of >= 1024 elements
 * (LscDecode), or a smaller float tensor of >= 16 elements (TOO_SMALL, a row only). */
typedef enum lsc_layer_outcome {
    LSC_LAYER_ENCODED = 0,
    LSC_LAYER_NOT_PAYING = 1,     /* encoding would not be smaller than dense */
    LSC_LAYER_GRAPH_INPUT = 2,    /* initializer is also a graph input (overridable) */
    LSC_LAYER_SHARED_OTHER = 3,   /* also consumed by a node we do not rewrite */
    LSC_LAYER_UNSUPPORTED_TYPE = 4,
    LSC_LAYER_IN_SUBGRAPH = 5,    /* no longer reported: subgraph weights are candidates */
    LSC_LAYER_NOT_CONSTANT = 6,   /* weight is computed, not an initializer/Constant */
    LSC_LAYER_NOT_SPARSE = 7,     /* read by ops without an LSC kernel (LscDecode) and
                                     fewer than half of its elements are zeros */
    LSC_LAYER_TOO_SMALL = 8       /* read by ops without an LSC kernel and under 1024
                                     elements: an LscDecode node would not pay; not analysed */
} lsc_layer_outcome;

/* The outcome's name in reports: "encoded", "not-paying", "graph-input",
 * "shared-other", "unsupported", "in-subgraph", "not-constant", "not-sparse", "too-small".
 * Never NULL. */
LSC_API const char *lsc_layer_outcome_string(lsc_layer_outcome outcome);

/* One row of a compress report: one weight tensor. */
typedef struct lsc_layer_report {
    char name[256];               /* weight name (cut to fit, NUL-terminated) */
    char op[16];                  /* "Conv", "Gemm", ..., "Gather"; LscDecode: its first reader's op */
    lsc_layer_outcome outcome;
    lsc_dtype dtype;
    lsc_encode_stats stats;       /* filled when examined (all but NOT_CONSTANT etc.) */
    uint32_t flags;               /* LSC_LAYER_FLAG_* */
} lsc_layer_report;

/* lsc_layer_report.flags */
#define LSC_LAYER_FLAG_SUBGRAPH 1u      /* defined or consumed inside an If/Loop/Scan body */
#define LSC_LAYER_FLAG_INPUT_DROPPED 2u /* was also a graph input: dropped from the inputs */
#define LSC_LAYER_FLAG_DECODE 4u        /* read by ops without an LSC kernel: restored by LscDecode */
#define LSC_LAYER_FLAG_RUN_DENSE 8u     /* an op with an LSC kernel left as the plain op (with
                                           FLAG_DECODE): predicted faster dense, or forced */

typedef struct lsc_compress_report {
    size_t n_layers;
    lsc_layer_report *layers;     /* n_layers rows, in graph order */
    uint64_t input_bytes;         /* model file + its external data */
    uint64_t model_bytes;         /* rewritten model file */
    uint64_t bundle_bytes;
    uint64_t signed_zeros_normalised;
    uint64_t skipped_subgraph_nodes; /* always 0: subgraph weights are candidates */
    uint64_t graph_inputs_dropped;   /* encoded weights dropped from the graph's inputs */
    uint64_t external_bytes;         /* tensors left dense in external data files (copied
                                        beside the output when it is in another folder) */
    uint64_t dense_packed;           /* float tensors moved into the dense pack (--entropy;
                                        docs/format.md part 5) */
    uint64_t names_shortened;        /* value and node names replaced by short ones, the
                                        originals in the names entry (--entropy; part 6) */
    uint64_t graph_slimmed;          /* 1: the model file left out what ONNX Runtime does not
                                        read, kept in the graph entry (--entropy; part 7) */
} lsc_compress_report;
LSC_API void lsc_compress_report_free(lsc_compress_report **report);

/* Compresses an ONNX model: writes out_model (rewritten graph) and, beside it, the
 * bundle at out_bundle (NULL = out_model with ".lsc.onnx", else ".onnx", replaced by
 * ".lsc": model.lsc.onnx + model.lsc). Inputs are never modified; outputs appear
 * only when complete. *report may be NULL. */
LSC_API lsc_status lsc_compress_file(const char *in_model, const char *out_model,
                                     const char *out_bundle, const lsc_compress_options *options,
                                     lsc_compress_report **report, lsc_error *error);

/* Restores the original model from a rewritten one (its bundle found through the
 * external-data locations). */
LSC_API lsc_status lsc_decompress_file(const char *in_model, const char *out_model,
                                       lsc_error *error);

typedef struct lsc_decompress_options {
    lsc_progress_fn progress;  /* NULL: none */
    void *progress_context;
    unsigned threads;          /* decoding threads; 0 = cores */
    uint8_t reserved[28];
} lsc_decompress_options;
LSC_API void lsc_decompress_options_default(lsc_decompress_options *options);
/* lsc_decompress_file with options (NULL = defaults). */
LSC_API lsc_status lsc_decompress_file_opts(const char *in_model, const char *out_model,
                                            const lsc_decompress_options *options,
                                            lsc_error *error);


/* ------------------------------------------------------------------------ */
/* Model inspection (stats, verify)                                          */
/* ------------------------------------------------------------------------ */

/* A model opened read-only: a plain ONNX model (dense weights) or a rewritten one
 * (weights in its bundle). Weight payloads are read lazily, one at a time, so the
 * memory held is the graph plus the weight being looked at. */
typedef struct lsc_model lsc_model;

LSC_API lsc_status lsc_model_open(const char *path, lsc_model **model_out, lsc_error *error);
LSC_API void lsc_model_close(lsc_model **model);
/* 1 if the model holds LSC nodes (weights in a bundle). */
LSC_API int lsc_model_is_compressed(const lsc_model *model);
/* Model file bytes plus external data / bundle bytes it refers to. */
LSC_API uint64_t lsc_model_file_bytes(const lsc_model *model);
/* The Conv/Gemm/MatMul weight candidates, in graph order, one per tensor. */
LSC_API size_t lsc_model_layer_count(const lsc_model *model);

typedef struct lsc_model_layer {
    const char *name;            /* owned by the model */
    const char *op;              /* "Conv", "Gemm", ..., "Gather"; LscDecode: its first reader's op */
    lsc_layer_outcome outcome;   /* for a plain model: what compress would decide
                                    short of size (ENCODED = would be examined) */
    int transposed;              /* orientation the encoder uses (docs/format.md 1.4) */
    lsc_dtype dtype;
    int rank;
    int64_t dims[LSC_MAX_RANK];
    uint32_t flags;              /* LSC_LAYER_FLAG_SUBGRAPH */
} lsc_model_layer;

LSC_API lsc_status lsc_model_layer_get(const lsc_model *model, size_t index,
                                       lsc_model_layer *layer, lsc_error *error);
/* Loads layer `index`'s dense tensor (decoding it if it is encoded) into a buffer the
 * caller frees with lsc_free. tensor->data points into *buffer_out. An 8-bit layer
 * (UINT8 / INT8 behind DequantizeLinear) comes as each code minus its output
 * channel's zero point (mod 256), so that its zeros are the byte 0 as the codec
 * counts them (docs/format.md 1.9). */
LSC_API lsc_status lsc_model_layer_load(const lsc_model *model, size_t index, lsc_tensor *tensor,
                                        void **buffer_out, lsc_error *error);
/* For a compressed model: the layer's encoded weight (owned by the model), else NULL. */
LSC_API const lsc_weight *lsc_model_layer_weight(const lsc_model *model, size_t index);

/* Whether a compressed model file is still the one its bundles were sealed with. */
typedef enum lsc_seal_state {
    LSC_SEAL_NOT_COMPRESSED = 0, /* a plain model: no bundle */
    LSC_SEAL_INTACT = 1,         /* byte for byte the file compress (or lsc_seal_file) wrote */
    LSC_SEAL_MODIFIED = 2,       /* changed since: "graph modified since compression" */
    LSC_SEAL_ABSENT = 3          /* a bundle without seal (format 1.0) */
} lsc_seal_state;

LSC_API const char *lsc_seal_state_string(lsc_seal_state state);
/* Hashes the model file and compares it with the seal of every bundle it uses. */
LSC_API lsc_status lsc_model_check_seal(const lsc_model *model, lsc_seal_state *state,
                                        lsc_error *error);
/* The same for a model file, opening only its graph and its bundles' headers and
 * tables (not the weights): what `verify` runs before handing the pair to ORT. */
LSC_API lsc_status lsc_check_seal_file(const char *model_path, lsc_seal_state *state,
                                       lsc_error *error);
/* Re-seals a compressed model after a legitimate edit: opens it (every encoded weight
 * must still resolve to its bundle entry and validate), then rewrites each bundle it
 * uses with the model file's current digest (a temporary file renamed when complete;
 * blobs keep their offsets). The model file itself is not modified. */
LSC_API lsc_status lsc_seal_file(const char *model_path, lsc_error *error);

#ifdef __cplusplus
}
#endif

#endif /* ONNX_LSC_LSC_H */
