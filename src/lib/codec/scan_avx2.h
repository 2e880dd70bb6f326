/* The zero scan of 4-byte elements eight at a time (AVX2): the non-zeros of a span of
 * one row of the view, their columns and values packed to the front by a permutation
 * looked up from the keep mask. scan.c uses it where the CPU has AVX2. */
#ifndef LSC_CODEC_SCAN_AVX2_H
#define LSC_CODEC_SCAN_AVX2_H

#include <stdint.h>

/* Whether this build and CPU can run lsc_scan_span4_avx2. */
int lsc_scan_avx2_available(void);

/* Scans elements c0..c1 - 1 at p (4 bytes each, little-endian): appends each kept
 * one's column to col and its bytes to values, counts -0.0 into *signed_zeros
 * (kept when keep_signed). Writes up to 8 entries past the kept ones. Returns the
 * number kept. */
uint64_t lsc_scan_span4_avx2(const uint8_t *p, uint64_t c0, uint64_t c1, int keep_signed, uint32_t *col,
                             uint8_t *values, uint64_t *signed_zeros);

#endif /* LSC_CODEC_SCAN_AVX2_H */
