/* SRI entries to scan positions for whole-width block rows (one block column) whose
 * scan space fits 16 bits, sixteen entries per step: a position is lr * cols +
 * column, the column itself on one-row block rows. Included by the x86 variants
 * (compiled with -mavx2). For the widths whose entries fit in two bytes (b = 1..10,
 * 12, 16), which the encoder's default search prefers (docs/format.md 1.8).
 *
 * One entry per 16-bit lane (twice the lanes of pos_avx2.h; positions are computed
 * modulo 2^16, exact since they are below 65536): a byte shuffle brings each
 * entry's two bytes into its lane, a multiply moves the field to the top of the
 * lane and an arithmetic shift brings it back sign-extended, so the sign tells a
 * jump from a value entry (docs/format.md 1.6) with no compare. A blend picks the
 * increments, a prefix sum on 128-bit halves turns them into positions, and the
 * value lanes of each half are packed by a byte shuffle chosen by its 8-bit value
 * mask and widened to 32 bits. The only loop-carried chains are one vector add
 * (the cursor) and one scalar add (the count); no branch depends on the data. */
#ifndef LSC_KERNELS_X86_ROWPOS_AVX2_H
#define LSC_KERNELS_X86_ROWPOS_AVX2_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>


/* Per width b: each 16-bit lane's two bytes (low half: entries 0..7 of the group,
 * high half: entries 8..15), for the widths whose fields fit in two bytes. */
static const int8_t lsc_rowpos_shuf16[16][32] = {
    { 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2 }, /* b = 1 */
    { 0, 1, 0, 1, 0, 1, 0, 1, 1, 2, 1, 2, 1, 2, 1, 2, 2, 3, 2, 3, 2, 3, 2, 3, 3, 4, 3, 4, 3, 4, 3, 4 }, /* b = 2 */
    { 0, 1, 0, 1, 0, 1, 1, 2, 1, 2, 1, 2, 2, 3, 2, 3, 3, 4, 3, 4, 3, 4, 4, 5, 4, 5, 4, 5, 5, 6, 5, 6 }, /* b = 3 */
    { 0, 1, 0, 1, 1, 2, 1, 2, 2, 3, 2, 3, 3, 4, 3, 4, 4, 5, 4, 5, 5, 6, 5, 6, 6, 7, 6, 7, 7, 8, 7, 8 }, /* b = 4 */
    { 0, 1, 0, 1, 1, 2, 1, 2, 2, 3, 3, 4, 3, 4, 4, 5, 5, 6, 5, 6, 6, 7, 6, 7, 7, 8, 8, 9, 8, 9, 9, 10 }, /* b = 5 */
    { 0, 1, 0, 1, 1, 2, 2, 3, 3, 4, 3, 4, 4, 5, 5, 6, 6, 7, 6, 7, 7, 8, 8, 9, 9, 10, 9, 10, 10, 11, 11, 12 }, /* b = 6 */
    { 0, 1, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14 }, /* b = 7 */
    { 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15, 16 }, /* b = 8 */
    { 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8 }, /* b = 9 */
    { 0, 1, 1, 2, 2, 3, 3, 4, 5, 6, 6, 7, 7, 8, 8, 9, 0, 1, 1, 2, 2, 3, 3, 4, 5, 6, 6, 7, 7, 8, 8, 9 }, /* b = 10 */
    { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, /* b = 11: not used */
    { 0, 1, 1, 2, 3, 4, 4, 5, 6, 7, 7, 8, 9, 10, 10, 11, 0, 1, 1, 2, 3, 4, 4, 5, 6, 7, 7, 8, 9, 10, 10, 11 }, /* b = 12 */
    { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, /* b = 13: not used */
    { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, /* b = 14: not used */
    { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, /* b = 15: not used */
    { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 }, /* b = 16 */
};

/* ... and the multiplier that moves the lane's field to the top of the lane. */
static const uint16_t lsc_rowpos_mul16[16][8] = {
    { 32768, 16384, 8192, 4096, 2048, 1024, 512, 256 },
    { 16384, 4096, 1024, 256, 16384, 4096, 1024, 256 },
    { 8192, 1024, 128, 4096, 512, 64, 2048, 256 },
    { 4096, 256, 4096, 256, 4096, 256, 4096, 256 },
    { 2048, 64, 512, 16, 128, 1024, 32, 256 },
    { 1024, 16, 64, 256, 1024, 16, 64, 256 },
    { 512, 4, 8, 16, 32, 64, 128, 256 },
    { 256, 256, 256, 256, 256, 256, 256, 256 },
    { 128, 64, 32, 16, 8, 4, 2, 1 },
    { 64, 16, 4, 1, 64, 16, 4, 1 },
    { 0, 0, 0, 0, 0, 0, 0, 0 },
    { 16, 1, 16, 1, 16, 1, 16, 1 },
    { 0, 0, 0, 0, 0, 0, 0, 0 },
    { 0, 0, 0, 0, 0, 0, 0, 0 },
    { 0, 0, 0, 0, 0, 0, 0, 0 },
    { 1, 1, 1, 1, 1, 1, 1, 1 },
};

/* Per 8-bit value mask: the byte shuffle that packs those 16-bit lanes first, as two
 * little-endian 64-bit words (0x80: a zero byte). */
static const uint64_t lsc_rowpos_pack16[256][2] = {
    { 0x8080808080808080, 0x8080808080808080 }, { 0x8080808080800100, 0x8080808080808080 },
    { 0x8080808080800302, 0x8080808080808080 }, { 0x8080808003020100, 0x8080808080808080 },
    { 0x8080808080800504, 0x8080808080808080 }, { 0x8080808005040100, 0x8080808080808080 },
    { 0x8080808005040302, 0x8080808080808080 }, { 0x8080050403020100, 0x8080808080808080 },
    { 0x8080808080800706, 0x8080808080808080 }, { 0x8080808007060100, 0x8080808080808080 },
    { 0x8080808007060302, 0x8080808080808080 }, { 0x8080070603020100, 0x8080808080808080 },
    { 0x8080808007060504, 0x8080808080808080 }, { 0x8080070605040100, 0x8080808080808080 },
    { 0x8080070605040302, 0x8080808080808080 }, { 0x706050403020100, 0x8080808080808080 },
    { 0x8080808080800908, 0x8080808080808080 }, { 0x8080808009080100, 0x8080808080808080 },
    { 0x8080808009080302, 0x8080808080808080 }, { 0x8080090803020100, 0x8080808080808080 },
    { 0x8080808009080504, 0x8080808080808080 }, { 0x8080090805040100, 0x8080808080808080 },
    { 0x8080090805040302, 0x8080808080808080 }, { 0x908050403020100, 0x8080808080808080 },
    { 0x8080808009080706, 0x8080808080808080 }, { 0x8080090807060100, 0x8080808080808080 },
    { 0x8080090807060302, 0x8080808080808080 }, { 0x908070603020100, 0x8080808080808080 },
    { 0x8080090807060504, 0x8080808080808080 }, { 0x908070605040100, 0x8080808080808080 },
    { 0x908070605040302, 0x8080808080808080 }, { 0x706050403020100, 0x8080808080800908 },
    { 0x8080808080800b0a, 0x8080808080808080 }, { 0x808080800b0a0100, 0x8080808080808080 },
    { 0x808080800b0a0302, 0x8080808080808080 }, { 0x80800b0a03020100, 0x8080808080808080 },
    { 0x808080800b0a0504, 0x8080808080808080 }, { 0x80800b0a05040100, 0x8080808080808080 },
    { 0x80800b0a05040302, 0x8080808080808080 }, { 0xb0a050403020100, 0x8080808080808080 },
    { 0x808080800b0a0706, 0x8080808080808080 }, { 0x80800b0a07060100, 0x8080808080808080 },
    { 0x80800b0a07060302, 0x8080808080808080 }, { 0xb0a070603020100, 0x8080808080808080 },
    { 0x80800b0a07060504, 0x8080808080808080 }, { 0xb0a070605040100, 0x8080808080808080 },
    { 0xb0a070605040302, 0x8080808080808080 }, { 0x706050403020100, 0x8080808080800b0a },
    { 0x808080800b0a0908, 0x8080808080808080 }, { 0x80800b0a09080100, 0x8080808080808080 },
    { 0x80800b0a09080302, 0x8080808080808080 }, { 0xb0a090803020100, 0x8080808080808080 },
    { 0x80800b0a09080504, 0x8080808080808080 }, { 0xb0a090805040100, 0x8080808080808080 },
    { 0xb0a090805040302, 0x8080808080808080 }, { 0x908050403020100, 0x8080808080800b0a },
    { 0x80800b0a09080706, 0x8080808080808080 }, { 0xb0a090807060100, 0x8080808080808080 },
    { 0xb0a090807060302, 0x8080808080808080 }, { 0x908070603020100, 0x8080808080800b0a },
    { 0xb0a090807060504, 0x8080808080808080 }, { 0x908070605040100, 0x8080808080800b0a },
    { 0x908070605040302, 0x8080808080800b0a }, { 0x706050403020100, 0x808080800b0a0908 },
    { 0x8080808080800d0c, 0x8080808080808080 }, { 0x808080800d0c0100, 0x8080808080808080 },
    { 0x808080800d0c0302, 0x8080808080808080 }, { 0x80800d0c03020100, 0x8080808080808080 },
    { 0x808080800d0c0504, 0x8080808080808080 }, { 0x80800d0c05040100, 0x8080808080808080 },
    { 0x80800d0c05040302, 0x8080808080808080 }, { 0xd0c050403020100, 0x8080808080808080 },
    { 0x808080800d0c0706, 0x8080808080808080 }, { 0x80800d0c07060100, 0x8080808080808080 },
    { 0x80800d0c07060302, 0x8080808080808080 }, { 0xd0c070603020100, 0x8080808080808080 },
    { 0x80800d0c07060504, 0x8080808080808080 }, { 0xd0c070605040100, 0x8080808080808080 },
    { 0xd0c070605040302, 0x8080808080808080 }, { 0x706050403020100, 0x8080808080800d0c },
    { 0x808080800d0c0908, 0x8080808080808080 }, { 0x80800d0c09080100, 0x8080808080808080 },
    { 0x80800d0c09080302, 0x8080808080808080 }, { 0xd0c090803020100, 0x8080808080808080 },
    { 0x80800d0c09080504, 0x8080808080808080 }, { 0xd0c090805040100, 0x8080808080808080 },
    { 0xd0c090805040302, 0x8080808080808080 }, { 0x908050403020100, 0x8080808080800d0c },
    { 0x80800d0c09080706, 0x8080808080808080 }, { 0xd0c090807060100, 0x8080808080808080 },
    { 0xd0c090807060302, 0x8080808080808080 }, { 0x908070603020100, 0x8080808080800d0c },
    { 0xd0c090807060504, 0x8080808080808080 }, { 0x908070605040100, 0x8080808080800d0c },
    { 0x908070605040302, 0x8080808080800d0c }, { 0x706050403020100, 0x808080800d0c0908 },
    { 0x808080800d0c0b0a, 0x8080808080808080 }, { 0x80800d0c0b0a0100, 0x8080808080808080 },
    { 0x80800d0c0b0a0302, 0x8080808080808080 }, { 0xd0c0b0a03020100, 0x8080808080808080 },
    { 0x80800d0c0b0a0504, 0x8080808080808080 }, { 0xd0c0b0a05040100, 0x8080808080808080 },
    { 0xd0c0b0a05040302, 0x8080808080808080 }, { 0xb0a050403020100, 0x8080808080800d0c },
    { 0x80800d0c0b0a0706, 0x8080808080808080 }, { 0xd0c0b0a07060100, 0x8080808080808080 },
    { 0xd0c0b0a07060302, 0x8080808080808080 }, { 0xb0a070603020100, 0x8080808080800d0c },
    { 0xd0c0b0a07060504, 0x8080808080808080 }, { 0xb0a070605040100, 0x8080808080800d0c },
    { 0xb0a070605040302, 0x8080808080800d0c }, { 0x706050403020100, 0x808080800d0c0b0a },
    { 0x80800d0c0b0a0908, 0x8080808080808080 }, { 0xd0c0b0a09080100, 0x8080808080808080 },
    { 0xd0c0b0a09080302, 0x8080808080808080 }, { 0xb0a090803020100, 0x8080808080800d0c },
    { 0xd0c0b0a09080504, 0x8080808080808080 }, { 0xb0a090805040100, 0x8080808080800d0c },
    { 0xb0a090805040302, 0x8080808080800d0c }, { 0x908050403020100, 0x808080800d0c0b0a },
    { 0xd0c0b0a09080706, 0x8080808080808080 }, { 0xb0a090807060100, 0x8080808080800d0c },
    { 0xb0a090807060302, 0x8080808080800d0c }, { 0x908070603020100, 0x808080800d0c0b0a },
    { 0xb0a090807060504, 0x8080808080800d0c }, { 0x908070605040100, 0x808080800d0c0b0a },
    { 0x908070605040302, 0x808080800d0c0b0a }, { 0x706050403020100, 0x80800d0c0b0a0908 },
    { 0x8080808080800f0e, 0x8080808080808080 }, { 0x808080800f0e0100, 0x8080808080808080 },
    { 0x808080800f0e0302, 0x8080808080808080 }, { 0x80800f0e03020100, 0x8080808080808080 },
    { 0x808080800f0e0504, 0x8080808080808080 }, { 0x80800f0e05040100, 0x8080808080808080 },
    { 0x80800f0e05040302, 0x8080808080808080 }, { 0xf0e050403020100, 0x8080808080808080 },
    { 0x808080800f0e0706, 0x8080808080808080 }, { 0x80800f0e07060100, 0x8080808080808080 },
    { 0x80800f0e07060302, 0x8080808080808080 }, { 0xf0e070603020100, 0x8080808080808080 },
    { 0x80800f0e07060504, 0x8080808080808080 }, { 0xf0e070605040100, 0x8080808080808080 },
    { 0xf0e070605040302, 0x8080808080808080 }, { 0x706050403020100, 0x8080808080800f0e },
    { 0x808080800f0e0908, 0x8080808080808080 }, { 0x80800f0e09080100, 0x8080808080808080 },
    { 0x80800f0e09080302, 0x8080808080808080 }, { 0xf0e090803020100, 0x8080808080808080 },
    { 0x80800f0e09080504, 0x8080808080808080 }, { 0xf0e090805040100, 0x8080808080808080 },
    { 0xf0e090805040302, 0x8080808080808080 }, { 0x908050403020100, 0x8080808080800f0e },
    { 0x80800f0e09080706, 0x8080808080808080 }, { 0xf0e090807060100, 0x8080808080808080 },
    { 0xf0e090807060302, 0x8080808080808080 }, { 0x908070603020100, 0x8080808080800f0e },
    { 0xf0e090807060504, 0x8080808080808080 }, { 0x908070605040100, 0x8080808080800f0e },
    { 0x908070605040302, 0x8080808080800f0e }, { 0x706050403020100, 0x808080800f0e0908 },
    { 0x808080800f0e0b0a, 0x8080808080808080 }, { 0x80800f0e0b0a0100, 0x8080808080808080 },
    { 0x80800f0e0b0a0302, 0x8080808080808080 }, { 0xf0e0b0a03020100, 0x8080808080808080 },
    { 0x80800f0e0b0a0504, 0x8080808080808080 }, { 0xf0e0b0a05040100, 0x8080808080808080 },
    { 0xf0e0b0a05040302, 0x8080808080808080 }, { 0xb0a050403020100, 0x8080808080800f0e },
    { 0x80800f0e0b0a0706, 0x8080808080808080 }, { 0xf0e0b0a07060100, 0x8080808080808080 },
    { 0xf0e0b0a07060302, 0x8080808080808080 }, { 0xb0a070603020100, 0x8080808080800f0e },
    { 0xf0e0b0a07060504, 0x8080808080808080 }, { 0xb0a070605040100, 0x8080808080800f0e },
    { 0xb0a070605040302, 0x8080808080800f0e }, { 0x706050403020100, 0x808080800f0e0b0a },
    { 0x80800f0e0b0a0908, 0x8080808080808080 }, { 0xf0e0b0a09080100, 0x8080808080808080 },
    { 0xf0e0b0a09080302, 0x8080808080808080 }, { 0xb0a090803020100, 0x8080808080800f0e },
    { 0xf0e0b0a09080504, 0x8080808080808080 }, { 0xb0a090805040100, 0x8080808080800f0e },
    { 0xb0a090805040302, 0x8080808080800f0e }, { 0x908050403020100, 0x808080800f0e0b0a },
    { 0xf0e0b0a09080706, 0x8080808080808080 }, { 0xb0a090807060100, 0x8080808080800f0e },
    { 0xb0a090807060302, 0x8080808080800f0e }, { 0x908070603020100, 0x808080800f0e0b0a },
    { 0xb0a090807060504, 0x8080808080800f0e }, { 0x908070605040100, 0x808080800f0e0b0a },
    { 0x908070605040302, 0x808080800f0e0b0a }, { 0x706050403020100, 0x80800f0e0b0a0908 },
    { 0x808080800f0e0d0c, 0x8080808080808080 }, { 0x80800f0e0d0c0100, 0x8080808080808080 },
    { 0x80800f0e0d0c0302, 0x8080808080808080 }, { 0xf0e0d0c03020100, 0x8080808080808080 },
    { 0x80800f0e0d0c0504, 0x8080808080808080 }, { 0xf0e0d0c05040100, 0x8080808080808080 },
    { 0xf0e0d0c05040302, 0x8080808080808080 }, { 0xd0c050403020100, 0x8080808080800f0e },
    { 0x80800f0e0d0c0706, 0x8080808080808080 }, { 0xf0e0d0c07060100, 0x8080808080808080 },
    { 0xf0e0d0c07060302, 0x8080808080808080 }, { 0xd0c070603020100, 0x8080808080800f0e },
    { 0xf0e0d0c07060504, 0x8080808080808080 }, { 0xd0c070605040100, 0x8080808080800f0e },
    { 0xd0c070605040302, 0x8080808080800f0e }, { 0x706050403020100, 0x808080800f0e0d0c },
    { 0x80800f0e0d0c0908, 0x8080808080808080 }, { 0xf0e0d0c09080100, 0x8080808080808080 },
    { 0xf0e0d0c09080302, 0x8080808080808080 }, { 0xd0c090803020100, 0x8080808080800f0e },
    { 0xf0e0d0c09080504, 0x8080808080808080 }, { 0xd0c090805040100, 0x8080808080800f0e },
    { 0xd0c090805040302, 0x8080808080800f0e }, { 0x908050403020100, 0x808080800f0e0d0c },
    { 0xf0e0d0c09080706, 0x8080808080808080 }, { 0xd0c090807060100, 0x8080808080800f0e },
    { 0xd0c090807060302, 0x8080808080800f0e }, { 0x908070603020100, 0x808080800f0e0d0c },
    { 0xd0c090807060504, 0x8080808080800f0e }, { 0x908070605040100, 0x808080800f0e0d0c },
    { 0x908070605040302, 0x808080800f0e0d0c }, { 0x706050403020100, 0x80800f0e0d0c0908 },
    { 0x80800f0e0d0c0b0a, 0x8080808080808080 }, { 0xf0e0d0c0b0a0100, 0x8080808080808080 },
    { 0xf0e0d0c0b0a0302, 0x8080808080808080 }, { 0xd0c0b0a03020100, 0x8080808080800f0e },
    { 0xf0e0d0c0b0a0504, 0x8080808080808080 }, { 0xd0c0b0a05040100, 0x8080808080800f0e },
    { 0xd0c0b0a05040302, 0x8080808080800f0e }, { 0xb0a050403020100, 0x808080800f0e0d0c },
    { 0xf0e0d0c0b0a0706, 0x8080808080808080 }, { 0xd0c0b0a07060100, 0x8080808080800f0e },
    { 0xd0c0b0a07060302, 0x8080808080800f0e }, { 0xb0a070603020100, 0x808080800f0e0d0c },
    { 0xd0c0b0a07060504, 0x8080808080800f0e }, { 0xb0a070605040100, 0x808080800f0e0d0c },
    { 0xb0a070605040302, 0x808080800f0e0d0c }, { 0x706050403020100, 0x80800f0e0d0c0b0a },
    { 0xf0e0d0c0b0a0908, 0x8080808080808080 }, { 0xd0c0b0a09080100, 0x8080808080800f0e },
    { 0xd0c0b0a09080302, 0x8080808080800f0e }, { 0xb0a090803020100, 0x808080800f0e0d0c },
    { 0xd0c0b0a09080504, 0x8080808080800f0e }, { 0xb0a090805040100, 0x808080800f0e0d0c },
    { 0xb0a090805040302, 0x808080800f0e0d0c }, { 0x908050403020100, 0x80800f0e0d0c0b0a },
    { 0xd0c0b0a09080706, 0x8080808080800f0e }, { 0xb0a090807060100, 0x808080800f0e0d0c },
    { 0xb0a090807060302, 0x808080800f0e0d0c }, { 0x908070603020100, 0x80800f0e0d0c0b0a },
    { 0xb0a090807060504, 0x808080800f0e0d0c }, { 0x908070605040100, 0x80800f0e0d0c0b0a },
    { 0x908070605040302, 0x80800f0e0d0c0b0a }, { 0x706050403020100, 0xf0e0d0c0b0a0908 },
};

/* The sixteen entries of group g, sign-extended, one per 16-bit lane. Groups whose
 * 32-byte window passes the stream's end are copied out first, so nothing is read
 * past the entries section (the blob's end). */
static inline __attribute__((always_inline)) __m256i
lsc_rowpos_group(const uint8_t *entries, uint64_t nbytes, uint64_t g, uint64_t g_safe,
                 const unsigned b, __m256i shuf, __m256i mul)
{
    const uint8_t *src = entries + g * 2 * b;
    uint8_t tail[32];
    if (__builtin_expect(g >= g_safe, 0)) {
        memset(tail, 0, sizeof tail);
        memcpy(tail, src, nbytes - g * 2 * b < 32 ? nbytes - g * 2 * b : 32);
        src = tail;
    }
    __m256i raw;
    if (b <= 8) /* both halves' bytes lie in the first 16 */
        raw = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)src));
    else
        raw = _mm256_loadu2_m128i((const __m128i *)(const void *)(src + b),
                                  (const __m128i *)(const void *)src);
    __m256i top = _mm256_mullo_epi16(_mm256_shuffle_epi8(raw, shuf), mul);
    return _mm256_srai_epi16(top, 16 - b);
}

/* A block row being decoded: entries [e0, e1) of a stream of nbytes. */
typedef struct lsc_rowpos {
    const uint8_t *entries;
    uint64_t nbytes;
    uint64_t g, g_first, g_end; /* next group of 16 entries, the row's first, past its last */
    unsigned lane_lo, lane_hi;  /* entries of the first / last group inside the row */
    uint16_t base;              /* cursor after the groups decoded (-1 at the start) */
} lsc_rowpos;

static inline void lsc_rowpos_init(lsc_rowpos *r, const uint8_t *entries, uint64_t nbytes,
                                   uint64_t e0, uint64_t e1)
{
    r->entries = entries;
    r->nbytes = nbytes;
    r->g = r->g_first = e0 / 16;
    r->g_end = (e1 + 15) / 16;
    r->lane_lo = (unsigned)(e0 % 16);
    r->lane_hi = (unsigned)(e1 - (r->g_end - 1) * 16);
    r->base = UINT16_MAX;
}

/* Decodes up to `groups` groups of the row into pos (room for 16 * groups + 8):
 * the scan positions of its next values in order. Returns how many (possibly none: a
 * chunk may hold only jumps); the row is done when r->g reaches r->g_end. */
static inline __attribute__((always_inline)) uint32_t
lsc_rowpos_avx2_b(lsc_rowpos *r, uint32_t *restrict pos, uint64_t groups, const unsigned b)
{
    const uint8_t *entries = r->entries;
    const uint64_t nbytes = r->nbytes, g_end = r->g_end;
    const __m256i shuf = _mm256_loadu_si256((const __m256i *)(const void *)lsc_rowpos_shuf16[b - 1]);
    const __m256i mul = _mm256_broadcastsi128_si256(
        _mm_loadu_si128((const __m128i *)(const void *)lsc_rowpos_mul16[b - 1]));
    const __m256i one = _mm256_set1_epi16(1);
    const __m256i half1 = _mm256_set1_epi16((int16_t)((1 << (b - 1)) + 1));
    const __m256i ones = _mm256_set1_epi16(-1);
    const __m256i iota = _mm256_setr_epi16(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m256i word7 = _mm256_set1_epi16(0x0f0e); /* word 7 of each half, broadcast in it */
    const uint64_t g_safe = nbytes >= 32 ? (nbytes - 32) / (2 * b) + 1 : 0;
    uint64_t g = r->g;
    if (g >= g_end)
        return 0;
    const uint64_t g_stop = g_end - g > groups ? g + groups : g_end;
    __m256i base = _mm256_set1_epi16((int16_t)r->base);
    uint32_t n = 0;
#define LSC_ROWPOS_STEP(VALID)                                                             \
    do {                                                                                   \
        __m256i e = lsc_rowpos_group(entries, nbytes, g, g_safe, b, shuf, mul);            \
        __m256i jump = _mm256_srai_epi16(e, 15);                                           \
        /* value: e + 1; jump (e in [-H, -1]): (e + H + 1) units of H */                   \
        __m256i inc = _mm256_blendv_epi8(_mm256_add_epi16(e, one),                         \
                                         _mm256_slli_epi16(_mm256_add_epi16(e, half1), b - 1), \
                                         jump);                                            \
        __m256i isv = _mm256_andnot_si256(jump, VALID);                                    \
        inc = _mm256_and_si256(inc, VALID);                                                \
        inc = _mm256_add_epi16(inc, _mm256_slli_si256(inc, 2));                            \
        inc = _mm256_add_epi16(inc, _mm256_slli_si256(inc, 4));                            \
        inc = _mm256_add_epi16(inc, _mm256_slli_si256(inc, 8));                            \
        __m256i tot = _mm256_shuffle_epi8(inc, word7);                                     \
        inc = _mm256_add_epi16(inc, _mm256_permute2x128_si256(tot, tot, 0x08));            \
        __m256i p = _mm256_add_epi16(base, inc);                                           \
        tot = _mm256_shuffle_epi8(inc, word7); /* the group's total, off the cursor's chain */ \
        base = _mm256_add_epi16(base, _mm256_permute2x128_si256(tot, tot, 0x11));          \
        unsigned m = (unsigned)_mm256_movemask_epi8(_mm256_packs_epi16(isv, isv));         \
        unsigned m_lo = m & 0xff, m_hi = (m >> 16) & 0xff;                                 \
        __m256i sel = _mm256_loadu2_m128i(                                                 \
            (const __m128i *)(const void *)lsc_rowpos_pack16[m_hi],                        \
            (const __m128i *)(const void *)lsc_rowpos_pack16[m_lo]);                       \
        __m256i packed = _mm256_shuffle_epi8(p, sel);                                      \
        _mm256_storeu_si256((__m256i *)(void *)(pos + n),                                  \
                            _mm256_cvtepu16_epi32(_mm256_castsi256_si128(packed)));        \
        n += (unsigned)__builtin_popcount(m_lo);                                           \
        _mm256_storeu_si256((__m256i *)(void *)(pos + n),                                  \
                            _mm256_cvtepu16_epi32(_mm256_extracti128_si256(packed, 1)));   \
        n += (unsigned)__builtin_popcount(m_hi);                                           \
        g++;                                                                               \
    } while (0)
    const __m256i first = g == r->g_first ? _mm256_cmpgt_epi16(_mm256_set1_epi16((int16_t)r->lane_lo), iota)
                                          : _mm256_setzero_si256();
    const __m256i final = _mm256_cmpgt_epi16(_mm256_set1_epi16((int16_t)r->lane_hi), iota);
    if (g_stop - g == 1 && g_stop == g_end) {
        LSC_ROWPOS_STEP(_mm256_andnot_si256(first, final));
    } else {
        LSC_ROWPOS_STEP(_mm256_andnot_si256(first, ones));
        const uint64_t g_mid = g_stop == g_end ? g_stop - 1 : g_stop;
        while (g < g_mid)
            LSC_ROWPOS_STEP(ones);
        if (g < g_stop)
            LSC_ROWPOS_STEP(final);
    }
#undef LSC_ROWPOS_STEP
    r->g = g;
    r->base = (uint16_t)_mm256_extract_epi16(base, 0);
    return n;
}

/* One copy per width, so that shifts by b are by constants. */
#define LSC_ROWPOS_W(B)                                                                    \
    static __attribute__((noinline)) uint32_t lsc_rowpos_avx2_##B(lsc_rowpos *r, uint32_t *pos, \
                                                                  uint64_t groups)         \
    {                                                                                      \
        return lsc_rowpos_avx2_b(r, pos, groups, B);                                       \
    }
LSC_ROWPOS_W(1) LSC_ROWPOS_W(2) LSC_ROWPOS_W(3) LSC_ROWPOS_W(4) LSC_ROWPOS_W(5)
LSC_ROWPOS_W(6) LSC_ROWPOS_W(7) LSC_ROWPOS_W(8) LSC_ROWPOS_W(9) LSC_ROWPOS_W(10)
LSC_ROWPOS_W(12) LSC_ROWPOS_W(16)
#undef LSC_ROWPOS_W

typedef uint32_t (*lsc_rowpos_fn)(lsc_rowpos *, uint32_t *, uint64_t);

/* The decoder for width b, or NULL for the widths it does not serve. */
static inline lsc_rowpos_fn lsc_rowpos_avx2(unsigned b)
{
    static const lsc_rowpos_fn fns[17] = {
        NULL, lsc_rowpos_avx2_1, lsc_rowpos_avx2_2, lsc_rowpos_avx2_3, lsc_rowpos_avx2_4,
        lsc_rowpos_avx2_5, lsc_rowpos_avx2_6, lsc_rowpos_avx2_7, lsc_rowpos_avx2_8,
        lsc_rowpos_avx2_9, lsc_rowpos_avx2_10, NULL, lsc_rowpos_avx2_12, NULL, NULL, NULL,
        lsc_rowpos_avx2_16,
    };
    return b <= 16 ? fns[b] : NULL;
}

#endif /* LSC_KERNELS_X86_ROWPOS_AVX2_H */
