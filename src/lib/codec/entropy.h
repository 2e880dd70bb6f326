/* The entropy tier (docs/format.md part 4): an encoded weight ("LSCW" blob) recoded
 * smaller for storage, as the positions of its stored values (per-row counts and an
 * adaptive context model) and their values split into byte planes. It is decoded
 * back, bit for bit, into the very blob it came from, which the kernels then use. */
#ifndef LSC_CODEC_ENTROPY_H
#define LSC_CODEC_ENTROPY_H

#include <stddef.h>
#include <stdint.h>

#include "codec/scan.h"
#include "onnx-lsc/lsc.h"

#define LSC_ENTROPY_MAGIC "LSCE"
/* Read: 1..5 (docs/format.md 4, change log). Written: 5 for float weights coded with
 * its grouped position tables or rANS value planes (4.4, 4.5), else 2 (static tables)
 * for float weights, 3 for 8-bit ones, 4 for float weights whose values are coded whole
 * (4.5) or whose rows are mirrored (4.7), which readers before each do not know. */
#define LSC_ENTROPY_VERSION 5
#define LSC_ENTROPY_VERSION_FLOAT 2
#define LSC_ENTROPY_VERSION_8BIT 3
#define LSC_ENTROPY_VERSION_WHOLE 4
#define LSC_ENTROPY_VERSION_FAST 5
#define LSC_ENTROPY_FIXED_HEADER 64
/* Reader limit (docs/format.md 4.2): rows, cols and nnz are each at most this many
 * times the blob's size, so that the work and memory of decoding follow the bytes
 * given, whatever a damaged header claims. Encoders keep the compute tier otherwise. */
#define LSC_ENTROPY_MAX_EXPANSION 4096

/* How a section is coded (docs/format.md 4.3). */
enum {
    LSC_SECTION_RAW = 0,      /* the bytes as they are */
    LSC_SECTION_ZSTD = 1,     /* one or more zstd frames */
    LSC_SECTION_MODEL = 2,    /* our range coder: format 2 static tables, format 1 adaptive */
    LSC_SECTION_ADAPTIVE = 3, /* format 2 only: format 1's adaptive model (small sections) */
    LSC_SECTION_WHOLE = 4,    /* format 4, section 1 only: every value whole, zstd frames */
    LSC_SECTION_GROUPED = 5,  /* format 5, section 0 only: static tables per group of contexts */
    LSC_SECTION_RANS = 6,     /* format 5, value planes only: format 2's tables, symbols by rANS */
    LSC_SECTION_METHODS = 7
};

/* Whole values (4.5, version 4) are tried only when at most this fraction of the
 * values are distinct (fixed transforms, shared values): elsewhere zstd at the level
 * that finds such repeats costs time and never wins. Its level: 15 codes the
 * magnitudes as small as 19 did in 40% of the time (docs/benchmarks.md, stop 15);
 * 12 and below miss repeats of 4-byte words (+1.7% on melspectrogram). */
#define LSC_ENTROPY_WHOLE_DISTINCT_DIV 2
#define LSC_ENTROPY_WHOLE_LEVEL 15

/* Sections under this many coded decisions (positions) or values (planes 0 and 1, 8
 * decisions each) are also tried with the adaptive model: a static table costs more than it
 * saves there, and the slower coding of so little does not count. */
#define LSC_ENTROPY_SMALL_POSITIONS (1u << 16)
#define LSC_ENTROPY_SMALL_PLANE (1u << 12)
/* Format 5 keeps the adaptive position model only where it saves more than 1/this of
 * the best static coding (docs/benchmarks.md, stop 16). */
#define LSC_ADAPTIVE_MARGIN 8

/* True if a section of `method` in a blob of `version` uses the adaptive model. */
static inline int lsc_entropy_adaptive(unsigned version, unsigned method)
{
    return version >= 2 ? method == LSC_SECTION_ADAPTIVE : method == LSC_SECTION_MODEL;
}

/* True if the bytes start like an entropy blob (magic only). */
int lsc_entropy_is_blob(const void *blob, size_t size);

/* Compact entropy blobs (docs/format.md 4.8, entropy_compact.c): the same blob with
 * its header and section table as varints. */
#define LSC_COMPACT_MAGIC "LSCC"
int lsc_entropy_is_compact(const void *blob, size_t size);
/* A valid "LSCE" blob -> its compact form (free()); LSC_ERR_UNSUPPORTED if not smaller. */
lsc_status lsc_entropy_compact(const void *blob, size_t size, void **out, size_t *out_size, lsc_error *error);
/* A compact blob -> the "LSCE" blob it stands for (free()), its own checksum checked;
 * the result is checked when decoded. */
lsc_status lsc_entropy_expand(const void *blob, size_t size, const char *name, void **out, size_t *out_size,
                              lsc_error *error);

/* Recodes a valid compute-tier blob; *out (free()) holds *out_size bytes. */
lsc_status lsc_entropy_encode_blob(const void *blob, size_t size, const char *name, void **out,
                                   size_t *out_size, lsc_entropy_stats *stats, lsc_error *error);

/* Decodes an entropy blob into the compute-tier blob it was made from (free()). Every
 * failure is an error, never a crash; a result that differs from the recorded blob is
 * LSC_ERR_CHECKSUM. The result still has to be parsed (lsc_blob_parse). */
lsc_status lsc_entropy_decode_blob(const void *blob, size_t size, const char *name, void **out,
                                   size_t *out_size, lsc_error *error);

/* ---- the two models, shared by the encoder and the decoder ---- */

/* Positions of rows x cols matrix in compressed-row form -> range-coded stream
 * (format 2; with LSC_POSITIONS_GROUPED format 5's grouped tables may be chosen,
 * *method LSC_SECTION_GROUPED). */
#define LSC_POSITIONS_EXHAUSTIVE 1u /* every candidate coded in full before the smallest is kept (tests) */
#define LSC_POSITIONS_GROUPED 2u    /* format 5: grouped tables allowed, adaptive only if much smaller */
lsc_status lsc_entropy_encode_positions(const lsc_sparse *m, unsigned options, uint8_t **out, size_t *out_size,
                                        unsigned *method, lsc_error *error);
/* The same, LSC_POSITIONS_EXHAUSTIVE honoured (what the default skips when a bound
 * shows the choice; tests compare the two). */
lsc_status lsc_entropy_encode_positions_ex(const lsc_sparse *m, unsigned options, uint8_t **out, size_t *out_size,
                                           unsigned *method, lsc_error *error);
/* The decoder's model of a position section: its method in a blob of `version`. */
enum { LSC_POSITIONS_STATIC = 0, LSC_POSITIONS_ADAPTIVE = 1, LSC_POSITIONS_GROUPED_TABLE = 2 };
static inline unsigned lsc_entropy_position_model(unsigned version, unsigned method)
{
    return method == LSC_SECTION_GROUPED ? LSC_POSITIONS_GROUPED_TABLE
           : lsc_entropy_adaptive(version, method) ? LSC_POSITIONS_ADAPTIVE
                                                  : LSC_POSITIONS_STATIC;
}
/* The inverse: fills m (rows, cols, nnz given; row_ptr, col allocated). A stream that
 * does not code exactly nnz positions, or is not read exactly to its end, is rejected. */
lsc_status lsc_entropy_decode_positions(const uint8_t *stream, size_t size, unsigned model, lsc_sparse *m,
                                        const char *label, lsc_error *error);

/* Value byte planes: plane j of value i is byte (E-1-j) of the value's bits rotated left
 * by one (so plane 0 is the top of the exponent and the sign moves to the last plane). */
void lsc_entropy_split_planes(const uint8_t *values, uint64_t n, unsigned elem_size, uint8_t *planes);
void lsc_entropy_join_planes(const uint8_t *planes, uint64_t n, unsigned elem_size, uint8_t *values);

/* One zstd frame of the plane's n bytes (entropy_zstd.c). The decode-only runtime the
 * ORT plugin links has entropy_zstd_unlinked.c instead: libzstd's decoder links into a
 * shared object, Debian's static encoder does not (it is not position-independent).
 * `zstd` is a context from lsc_entropy_zstd_begin, reused by every zstd try of a blob
 * and kept by the thread for its next blob (up to 4 MiB): creating one costs more than
 * compressing a small plane (libzstd probes the CPU each time, ~11 us in a VM); NULL
 * compresses with a context of its own. */
void *lsc_entropy_zstd_begin(void);
void lsc_entropy_zstd_end(void *zstd);
lsc_status lsc_entropy_zstd_compress(void *zstd, const uint8_t *plane, uint64_t n, uint8_t **out, size_t *out_size,
                                     lsc_error *error);
lsc_status lsc_entropy_zstd_compress_level(void *zstd, const uint8_t *plane, uint64_t n, int level, uint8_t **out,
                                           size_t *out_size, lsc_error *error);
/* Codes plane j (n bytes; planes 0..j-1 already known) with the smallest method
 * (format 2; `fast`: format 5, rANS instead of the range-coded tables and the adaptive
 * model only where much smaller); zstd as above. */
lsc_status lsc_entropy_encode_plane(void *zstd, const uint8_t *planes, uint64_t n, unsigned j, int fast,
                                    uint8_t **out, size_t *out_size, unsigned *method, lsc_error *error);
/* The same with options: LSC_PLANE_EXHAUSTIVE codes the static model even where its
 * size bound says it cannot win (tests compare the two), LSC_PLANE_FAST as `fast`. */
#define LSC_PLANE_EXHAUSTIVE 1u
#define LSC_PLANE_FAST 2u
lsc_status lsc_entropy_encode_plane_ex(void *zstd, const uint8_t *planes, uint64_t n, unsigned j, unsigned options,
                                       uint8_t **out, size_t *out_size, unsigned *method, lsc_error *error);
/* Decodes plane j of a blob of format `version` into planes + j * n (planes 0..j-1
 * already decoded). */
lsc_status lsc_entropy_decode_plane(const uint8_t *stream, size_t size, unsigned method, unsigned version,
                                    uint8_t *planes, uint64_t n, unsigned j, const char *label,
                                    lsc_error *error);

/* ---- mirrored rows (entropy_mirror.c, docs/format.md 4.7, version 4) ---- */
enum { LSC_MIRROR_NONE = 0, LSC_MIRROR_DFT = 1, LSC_MIRROR_DCT = 2 };
/* Columns coded of a row of `cols` (0..off/2). */
uint32_t lsc_mirror_free_cols(uint32_t cols, unsigned kind);
/* The kind every row of m mirrors with (DFT tried first), its per-row signs in
 * signs[(rows + 7) / 8] (bit r: row r antisymmetric); 0 if none. */
int lsc_mirror_find(const lsc_sparse *m, const uint8_t *values, unsigned elem_size, uint8_t *signs);
/* The free columns of m and their values (free()). */
lsc_status lsc_mirror_half(const lsc_sparse *m, const uint8_t *values, unsigned elem_size, unsigned kind,
                           lsc_sparse *half, uint8_t **half_values, lsc_error *error);
/* The inverse: the full rows x cols matrix of nnz values (checked before anything is
 * allocated) and its values (free()). */
lsc_status lsc_mirror_expand(const lsc_sparse *half, const uint8_t *half_values, unsigned elem_size, unsigned kind,
                             uint32_t cols, const uint8_t *signs, uint64_t nnz, lsc_sparse *m, uint8_t **values,
                             const char *label, lsc_error *error);

#endif /* LSC_CODEC_ENTROPY_H */
