/* The batch-1 form of a weight's positions (lsc_weight_prepare_n1): built once from
 * the blob, read by the n = 1 kernels instead of the SRI stream, so that decoding
 * is branch-free and SIMD (bit-packed groups, like PFOR / SIMD-BP128) rather than
 * a compaction of value and jump entries. The values stay in the blob, read in place
 * in its scan order.
 *
 * A segment is a run of values, in scan order, on one matrix row and in one kept
 * block: a whole row for whole-width blocks, block_w columns at most otherwise. It
 * starts with three LEB128 numbers: its value count, the column col0 of its first
 * value and its row as row - previous segment's row + block_h - 1 (never negative
 * in scan order). Its column gaps (g = column - previous column - 1, the first
 * value's g = 0 with the previous column col0 - 1) are cut into groups of G (the
 * last one padded with zeros), each stored at the width w of its largest gap as
 * G * w / 8 bytes, lane i in bits [i * w, i * w + w) LSB-first: first the groups'
 * widths, one byte each, then their packed gaps. The widths can be read ahead of
 * the data, so the only chain from one group to the next is the data pointer's add.
 * G is 16 when the columns fit 16 bits (the SIMD decoder then works on 16-bit lanes,
 * twice the values a step), else 8 (32-bit lanes, gaps up to 24 bits). Every
 * LSC_FORM_CHECK block rows a checkpoint (where the block row's segments start, the
 * previous segment's row) lets a task start there.
 *
 * The plain kind (columns < 2^16) holds the same segments with nothing to decode:
 * every value's column as a uint16 in scan order (the values' own index, so the
 * multiply reads columns and values side by side), each segment's row and first
 * value index as uint32, and each block row's first segment. 2 bytes a value + 8 a
 * segment, against ~0.75 + ~3 for the bit-packed kind: chosen wherever it can be
 * (lsc_n1_plain_wins), since the columns' decoding, not their bytes, limits the
 * multiply. Its column array is asked for on 2 MiB pages (lsc_form_zalloc). */
#ifndef LSC_KERNELS_FORM_H
#define LSC_KERNELS_FORM_H

#include <stddef.h>
#include <stdint.h>

#include "codec/blob.h"

#define LSC_FORM_GROUP_MAX 16
#define LSC_FORM_COLS16 (UINT32_C(1) << 16)        /* up to this many columns: groups of 16 */
#define LSC_FORM_MAX_COLS (UINT32_C(1) << 24)      /* else groups of 8, gaps below 2^24 */
#define LSC_FORM_WIDTH8_MAX 24                     /* so a group of 8 is at most 24 bits wide */
#define LSC_FORM_PAD 32                            /* bytes readable past the last group */

#define LSC_FORM_CHECK 16 /* block rows a checkpoint */

typedef struct lsc_n1_seg {
    uint32_t row;   /* matrix row */
    uint32_t col0;  /* column of the first value */
    uint32_t count; /* values */
} lsc_n1_seg;

typedef struct lsc_n1_check {
    uint64_t byte;     /* the first segment of block row k * LSC_FORM_CHECK */
    uint32_t prev_row; /* the row of the segment before it (UINT32_MAX: none) */
} lsc_n1_check;

/* Which kind of form to build: the rule's choice, or one forced (tests, benchmarks). */
typedef enum lsc_n1_kind { LSC_N1_AUTO, LSC_N1_PACKED, LSC_N1_PLAIN } lsc_n1_kind;

#define LSC_PLAIN_PAD 32 /* zero columns past the last value: a vector step may read them */

typedef struct lsc_n1_plain {
    uint32_t n_segs;
    uint32_t *brow_seg; /* n_brows + 1: block row br's segments are [brow_seg[br], brow_seg[br + 1]) */
    uint32_t *start;    /* n_segs + 1: segment s's values are [start[s], start[s + 1]) */
    uint32_t *row;      /* n_segs: each segment's matrix row */
    uint16_t *cols;     /* each value's column, + LSC_PLAIN_PAD zeros */
} lsc_n1_plain;

typedef struct lsc_n1_form {
    lsc_n1_kind kind;      /* LSC_N1_PACKED or LSC_N1_PLAIN */
    lsc_n1_plain plain;    /* the plain kind's arrays (NULL for the bit-packed kind) */
    unsigned group;        /* G: 16 or 8 values a group */
    uint32_t n_brows, block_h;
    lsc_n1_check *checks;  /* n_brows / LSC_FORM_CHECK + 1 */
    uint8_t *bytes;        /* the segments, + LSC_FORM_PAD zeros */
    size_t n_bytes;        /* without the pad */
    size_t total;          /* all of the above as allocated */
} lsc_n1_form;

/* Builds the form of a validated weight's positions into *out, of the given kind
 * (LSC_N1_AUTO: lsc_n1_plain_wins decides; NULL when the weight has no such form:
 * more than LSC_FORM_MAX_COLS columns, for the plain kind more than 2^16 columns or
 * 2^32 - 1 values, or a form larger than `limit` bytes, 0: no limit). Returns
 * LSC_ERR_NO_MEMORY or LSC_OK. */
lsc_status lsc_n1_form_build(const lsc_blob_view *v, size_t limit, lsc_n1_kind kind,
                             lsc_n1_form **out, lsc_error *error);
/* 1 when the rule picks the plain kind for this weight (form.c says why). */
int lsc_n1_plain_wins(const lsc_blob_view *v);
/* lsc_weight_prepare_n1 with the kind forced (LSC_N1_AUTO: as lsc_weight_prepare_n1). */
lsc_status lsc_weight_prepare_n1_kind(lsc_weight *weight, lsc_n1_kind kind, size_t *form_bytes,
                                      lsc_error *error);
void lsc_n1_form_free(lsc_n1_form *form);

/* Advice that [p, p + size) be backed by huge pages: 0 when taken, else -1 (errno). */
typedef int (*lsc_advise_fn)(void *p, size_t size);
/* madvise(MADV_HUGEPAGE); -1 where the system has no such advice. */
int lsc_form_madvise_huge(void *p, size_t size);
/* `size` zeroed bytes, for free(); from 2 MiB up 2 MiB-aligned, advised with `advise`
 * before they are touched (its failure leaves small pages, not an error; NULL: no
 * advice, no alignment). NULL when out of memory. */
void *lsc_form_zalloc(size_t size, lsc_advise_fn advise);

/* Groups of a segment of `count` values, G a group. */
static inline uint64_t lsc_form_groups(uint32_t count, unsigned group)
{
    return ((uint64_t)count + group - 1) / group;
}

/* Reads a segment's header at *p (moved past it); prev_row is the previous
 * segment's row, block_h the weight's. */
static inline void lsc_form_header(const uint8_t **p, uint32_t prev_row, uint32_t block_h,
                                   lsc_n1_seg *s)
{
    uint32_t n[3];
    const uint8_t *q = *p;
    if (!((q[0] | q[1] | q[2]) & 128)) { /* the common case: three one-byte numbers */
        *p = q + 3;
        s->count = q[0];
        s->col0 = q[1];
        s->row = prev_row + q[2] - (block_h - 1);
        return;
    }
    for (int k = 0; k < 3; k++) {
        uint32_t v = 0;
        unsigned sh = 0;
        uint8_t b;
        do {
            b = *q++;
            v |= (uint32_t)(b & 127) << sh;
            sh += 7;
        } while (b & 128);
        n[k] = v;
    }
    *p = q;
    s->count = n[0];
    s->col0 = n[1];
    s->row = prev_row + n[2] - (block_h - 1); /* modulo 2^32, exact */
}

/* The bytes of a segment's groups (widths and packed gaps) at p. */
static inline uint64_t lsc_form_seg_bytes(const uint8_t *p, const lsc_n1_seg *s, unsigned group)
{
    uint64_t groups = lsc_form_groups(s->count, group), sum = 0;
    for (uint64_t g = 0; g < groups; g++)
        sum += p[g];
    return groups + sum * group / 8;
}

#endif /* LSC_KERNELS_FORM_H */
