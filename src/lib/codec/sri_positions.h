/* A block row's SRI entries turned into the positions of its values, without a
 * branch per entry: at high density (35%, 2-bit entries) jumps and values alternate
 * at random and a branch on each mispredicts about one entry in three. Every
 * entry's position is stored and the slot advanced only for values. */
#ifndef LSC_CODEC_SRI_POSITIONS_H
#define LSC_CODEC_SRI_POSITIONS_H

#include <stddef.h>
#include <stdint.h>

#include "codec/blob.h"
#include "common/endian.h"

#define LSC_SRI_CHUNK 256 /* entries decoded per call: the positions stay in L1 */

/* Decodes the n entries of `index_bits` bits from bit offset `bit` of `entries`:
 * writes the positions of the values among them to pos_of (at most n) and returns
 * their count. *next is the scan position after the last value or jump, carried
 * from call to call. Entries at bit offsets below fast_end are read with one
 * 8-byte load (they lie 8 bytes inside the stream). The blob was checked, or the
 * caller checks the positions: nothing here can read out of bounds. */
static inline __attribute__((always_inline)) size_t lsc_sri_positions(const uint8_t *entries, uint64_t bit,
                                                                     uint64_t n, unsigned index_bits,
                                                                     uint64_t fast_end, uint64_t *next,
                                                                     uint64_t *pos_of)
{
    unsigned log_h = index_bits - 1;
    uint64_t H = UINT64_C(1) << log_h, mask = (UINT64_C(1) << index_bits) - 1, at = *next;
    size_t k = 0;
    for (uint64_t j = 0; j < n; j++, bit += index_bits) {
        uint64_t e = bit < fast_end ? (lsc_load_le64(entries + (bit >> 3)) >> (bit & 7)) & mask
                                    : lsc_read_bits(entries, bit, index_bits);
        uint64_t value = (uint64_t)0 - (e < H); /* all ones for a value entry */
        uint64_t pos = at + e;
        pos_of[k] = pos;
        k += value & 1;
        /* a value: the position after it; a jump: (e - H + 1) * H further */
        at = (value & (pos + 1)) | (~value & (at + ((e - H + 1) << log_h)));
    }
    *next = at;
    return k;
}

#endif /* LSC_CODEC_SRI_POSITIONS_H */
