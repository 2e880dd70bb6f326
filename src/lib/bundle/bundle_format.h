/* Constants of the .lsc bundle (docs/format.md part 2), shared by reader and writer. */
#ifndef LSC_BUNDLE_FORMAT_H
#define LSC_BUNDLE_FORMAT_H

#define LSC_BUNDLE_MAGIC "\x89LSC\r\n\x1a\n"
#define LSC_BUNDLE_MAJOR 1
#define LSC_BUNDLE_MINOR 0        /* a bundle of float weights without seal */
#define LSC_BUNDLE_MINOR_8BIT 1   /* minor 1 added 8-bit weights (1.9) */
#define LSC_BUNDLE_MINOR_SEALED 2 /* minor 2 added the seal entry (2.4) */
#define LSC_BUNDLE_MINOR_SHARED 3 /* minor 3 added entries that share a blob (2.2) */
#define LSC_BUNDLE_MINOR_COMPACT 4 /* minor 4 added compact bundles (2.5) */
/* Header flag of a compact bundle (2.5): a zstd-coded TOC whose decoded size is the
 * header's bytes 44..47, blobs other than compute blobs aligned to 8 only. */
#define LSC_BUNDLE_FLAG_COMPACT 1u
#define LSC_BUNDLE_COMPACT_ALIGN 8
#define LSC_BUNDLE_COMPACT_MIN_BLOB 16 /* magic, 4 bytes, checksum: what the TOC checks */
/* A compact TOC decodes to at most this many bytes (and at most its frame x 32768). */
#define LSC_BUNDLE_MAX_RAW_TOC (1u << 30)
#define LSC_BUNDLE_HEADER_SIZE 64
#define LSC_BUNDLE_HEADER_HASHED 56 /* header_checksum covers bytes [0, 56) */
#define LSC_BUNDLE_BLOB_ALIGN 64
#define LSC_BUNDLE_TOC_ALIGN 8
#define LSC_BUNDLE_TOC_FIXED 32     /* TOC entry before its name */

/* Header field offsets. */
enum {
    LSC_BH_MAGIC = 0,
    LSC_BH_MAJOR = 8,
    LSC_BH_MINOR = 10,
    LSC_BH_FLAGS = 12,
    LSC_BH_TOC_OFFSET = 16,
    LSC_BH_TOC_SIZE = 24,
    LSC_BH_FILE_SIZE = 32,
    LSC_BH_N_ENTRIES = 40,
    LSC_BH_RESERVED = 44, /* compact bundles: the TOC's decoded size */
    LSC_BH_TOC_CHECKSUM = 48,
    LSC_BH_HEADER_CHECKSUM = 56
};

/* TOC entry field offsets. */
enum {
    LSC_TE_BLOB_OFFSET = 0,
    LSC_TE_BLOB_SIZE = 8,
    LSC_TE_BLOB_CHECKSUM = 16,
    LSC_TE_NAME_LEN = 24,
    LSC_TE_RESTORE_LEN = 28
};

/* The seal (docs/format.md 2.4): a TOC entry whose name starts with a NUL byte, so
 * that no weight name (a C string in the graph) can take it, and whose 56-byte blob
 * records a digest of the rewritten model file. */
#define LSC_SEAL_NAME "\0onnx-lsc.seal"
#define LSC_SEAL_NAME_LEN 14
#define LSC_SEAL_MAGIC "LSCS"
#define LSC_SEAL_VERSION 1
#define LSC_SEAL_ALGORITHM_XXH3_128 1
#define LSC_SEAL_SIZE 56

/* Seal blob field offsets. */
enum {
    LSC_SEAL_F_MAGIC = 0,
    LSC_SEAL_F_VERSION = 4,
    LSC_SEAL_F_CHECKSUM = 8, /* XXH64 of the 56 bytes with this field zero, as a blob's */
    LSC_SEAL_F_MODEL_SIZE = 16,
    LSC_SEAL_F_ALGORITHM = 24,
    LSC_SEAL_F_DIGEST = 32 /* 16 bytes; bytes 48..55 are zero */
};

#endif /* LSC_BUNDLE_FORMAT_H */
