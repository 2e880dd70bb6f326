/* The tail of k_row, shared by the AVX2 and AVX-512 variants (each includes it after
 * its own row_strip): the last nv vectors of a row strip, nv a constant of each
 * inlined copy; M says whether the last vector is masked. Expects x, ldx, y0, j,
 * cols, vals, cnt, nv and mask in scope. */
#ifndef LSC_KERNELS_X86_ROW_TAIL_H
#define LSC_KERNELS_X86_ROW_TAIL_H

#define LSC_ROW_TAIL(M)                                                                    \
    switch (nv) {                                                                          \
    case 1: row_strip(x + j, ldx, y0 + j, cols, vals, cnt, 1, M, mask); break;             \
    case 2: row_strip(x + j, ldx, y0 + j, cols, vals, cnt, 2, M, mask); break;             \
    case 3: row_strip(x + j, ldx, y0 + j, cols, vals, cnt, 3, M, mask); break;             \
    case 4: row_strip(x + j, ldx, y0 + j, cols, vals, cnt, 4, M, mask); break;             \
    case 5: row_strip(x + j, ldx, y0 + j, cols, vals, cnt, 5, M, mask); break;             \
    case 6: row_strip(x + j, ldx, y0 + j, cols, vals, cnt, 6, M, mask); break;             \
    case 7: row_strip(x + j, ldx, y0 + j, cols, vals, cnt, 7, M, mask); break;             \
    default: row_strip(x + j, ldx, y0 + j, cols, vals, cnt, 8, M, mask); break;            \
    }

#endif /* LSC_KERNELS_X86_ROW_TAIL_H */
