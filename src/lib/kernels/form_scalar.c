/* The portable reference of the batch-1 form's multiply: each gap read on its own
 * (lsc_read_bits), four scalar sums. The SIMD variants are checked against it. */
#include "kernels/form.h"

static const uint8_t *form_dot(const float *x, size_t xs, unsigned G, const uint8_t *p,
                               const lsc_n1_seg *s, const float *vals, float *sum)
{
    uint64_t groups = lsc_form_groups(s->count, G);
    const uint8_t *data = p + groups;
    uint32_t col = s->col0 - 1, left = s->count; /* col0 = 0: wraps, then + 1 */
    float acc[4] = { 0, 0, 0, 0 };
    for (uint64_t g = 0; g < groups; g++) {
        unsigned w = p[g], k = left < G ? left : G;
        for (unsigned i = 0; i < k; i++) {
            col += (uint32_t)lsc_read_bits(data, (uint64_t)i * w, w) + 1;
            acc[i & 3] += vals[i] * x[(size_t)col * xs];
        }
        data += G * w / 8;
        vals += k;
        left -= k;
    }
    *sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    return data;
}

#define LSC_FORM_ROWS_NAME lsc_form_rows_scalar
#include "kernels/form_rows.h"
