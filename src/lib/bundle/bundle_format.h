/* Constants of the .lsc bundle (docs/format.md part 2), shared by reader and writer. */
#ifndef LSC_BUNDLE_FORMAT_H
#define LSC_BUNDLE_FORMAT_H

#define LSC_BUNDLE_MAGIC "\x89LSC\r\n\x1a\n"
#define LSC_BUNDLE_MAJOR 1
#define LSC_BUNDLE_MINOR 1
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
    LSC_BH_RESERVED = 44,
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

#endif /* LSC_BUNDLE_FORMAT_H */
