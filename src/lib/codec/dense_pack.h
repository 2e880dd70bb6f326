/* The dense pack's layout (docs/format.md part 5), shared by its reader
 * (dense_pack.c, in the runtime) and its writer (onnx/dense_pack_build.c). */
#ifndef LSC_CODEC_DENSE_PACK_H
#define LSC_CODEC_DENSE_PACK_H

#include <stdint.h>

#define LSC_PACK_MAGIC "LSCD"
#define LSC_PACK_VERSION 1      /* main-graph tensors only, each with its own values */
#define LSC_PACK_VERSION_BODIES 2 /* records name their graph and may share values */
#define LSC_PACK_HEADER_SIZE 56
#define LSC_PACK_RECORD_SIZE 12 /* a tensor record's fixed part, before dims and restore */
#define LSC_PACK_RECORD_SIZE_2 20 /* version 2: + graph, + the record it repeats */
#define LSC_PACK_FLAG_TYPED 1u /* the value was in float_data, not raw_data */
#define LSC_PACK_FLAG_NODE 2u  /* a Constant node's value: position in graph.node */
#define LSC_PACK_FLAG_SAME 4u  /* version 2: the values of an earlier record, stored once */
/* zstd's densest frame (RLE blocks) grows ~32768-fold: a declared size beyond that
 * is a lie, refused before anything is allocated. */
#define LSC_PACK_MAX_EXPANSION 32768u

/* Byte planes of a float32's bits: the exponent byte, then sign and the top 7
 * mantissa bits, then the two low mantissa bytes. */
static inline uint8_t lsc_pack_plane(uint32_t bits, unsigned plane)
{
    switch (plane) {
    case 0: return (uint8_t)(bits >> 23);
    case 1: return (uint8_t)((bits >> 24 & 0x80u) | (bits >> 16 & 0x7fu));
    case 2: return (uint8_t)(bits >> 8);
    default: return (uint8_t)bits;
    }
}

static inline uint32_t lsc_pack_unplane(uint8_t p0, uint8_t p1, uint8_t p2, uint8_t p3)
{
    return (uint32_t)(p1 & 0x80u) << 24 | (uint32_t)p0 << 23 | (uint32_t)(p1 & 0x7fu) << 16 | (uint32_t)p2 << 8 | p3;
}

#endif /* LSC_CODEC_DENSE_PACK_H */
