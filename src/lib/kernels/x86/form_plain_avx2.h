/* The batch-1 form's plain kind (form.h) with AVX2: columns read from the form as
 * they are, four 16-bit columns a 64-bit load (form_x8_16), nothing decoded. The
 * segments run in chunks of whole segments up to LSC_FORM_CHUNK values: a chunk
 * whose segments average LSC_FORM_LONG values or more runs each segment as its own
 * FMA loop; a chunk of short segments (narrow blocks, low density: rows of ~16
 * values) takes every product in one flat pass, then each segment's sum from them
 * (vector adds, a masked last step, a horizontal sum). Tried on rows of ~16 values
 * and dropped, both slower (docs/benchmarks.md, "Stop 16"): three masked loads per
 * segment whatever its length instead of the loop, and eight segments' horizontal
 * sums at once by a tree of hadds. Included by form_avx2.h after form_x8_16,
 * form_mask and form_hsum. */

/* The first n (0..8) lanes of p, the others zero. */
static inline __attribute__((always_inline)) __m256 plain_masked(const float *p, uint32_t n)
{
    return _mm256_and_ps(form_mask(n), _mm256_loadu_ps(p));
}

static inline __attribute__((always_inline)) void
plain_rows_xs(const lsc_spmm_job *job, uint32_t br_begin, uint32_t br_end, size_t xs, size_t ys)
{
    const lsc_n1_plain *pl = &job->form->plain;
    const float *restrict x = job->x;
    float *restrict y = job->y;
    const float *restrict values = (const float *)(const void *)job->v->values;
    const uint16_t *restrict cols = pl->cols;
    const uint32_t *restrict start = pl->start, *restrict rowof = pl->row;
    lsc_form_start st = lsc_form_begin(job, br_begin, br_end);
    const uint64_t r_lo = st.r_lo, r_hi = st.r_hi;
    uint32_t s = pl->brow_seg[br_begin];
    const uint32_t s_end = pl->brow_seg[br_end];
    float prod[LSC_FORM_CHUNK + 8] __attribute__((aligned(32)));
#define LSC_PX8(i) form_x8_16(x, xs, cols + (i))
    while (s < s_end) {
        const uint32_t v0 = start[s];
        uint32_t s1 = s + 1;
        while (s1 < s_end && start[s1 + 1] - v0 <= LSC_FORM_CHUNK)
            s1++;
        const uint32_t k = start[s1] - v0;
        if (k >= LSC_FORM_LONG * (s1 - s)) { /* long segments: each its own FMA loop */
            for (; s < s1; s++) {
                uint32_t at = start[s], to = start[s + 1];
                __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
                for (; at + 16 <= to; at += 16) {
                    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(values + at), LSC_PX8(at), a0);
                    a1 = _mm256_fmadd_ps(_mm256_loadu_ps(values + at + 8), LSC_PX8(at + 8), a1);
                }
                if (at < to) {
                    __m256 m = form_mask(to - at < 8 ? to - at : 8);
                    a0 = _mm256_fmadd_ps(_mm256_maskload_ps(values + at, _mm256_castps_si256(m)),
                                         _mm256_and_ps(m, LSC_PX8(at)), a0);
                    at += 8;
                }
                if (at < to) {
                    __m256 m = form_mask(to - at);
                    a1 = _mm256_fmadd_ps(_mm256_maskload_ps(values + at, _mm256_castps_si256(m)),
                                         _mm256_and_ps(m, LSC_PX8(at)), a1);
                }
                uint32_t row = rowof[s];
                if (row >= r_lo && row < r_hi)
                    y[(size_t)row * ys] += form_hsum(_mm256_add_ps(a0, a1));
            }
            continue;
        }
        /* every product of the chunk, then each segment's sum */
        const float *restrict vals = values + v0;
        const uint16_t *restrict c = cols + v0;
        uint32_t i = 0;
        for (; i + 8 <= k; i += 8)
            _mm256_store_ps(prod + i, _mm256_mul_ps(_mm256_loadu_ps(vals + i),
                                                    form_x8_16(x, xs, c + i)));
        __m256 last = _mm256_setzero_ps();
        if (i < k) {
            __m256 m = form_mask(k - i);
            last = _mm256_and_ps(m, _mm256_mul_ps(_mm256_maskload_ps(vals + i, _mm256_castps_si256(m)),
                                                  form_x8_16(x, xs, c + i)));
        }
        _mm256_store_ps(prod + i, last);
        for (uint32_t q = s; q < s1; q++) {
            uint32_t at = start[q] - v0, to = start[q + 1] - v0;
            __m256 acc = _mm256_setzero_ps();
            for (; at + 8 < to; at += 8)
                acc = _mm256_add_ps(acc, _mm256_loadu_ps(prod + at));
            acc = _mm256_add_ps(acc, plain_masked(prod + at, to - at));
            uint32_t row = rowof[q];
            if (row >= r_lo && row < r_hi)
                y[(size_t)row * ys] += form_hsum(acc);
        }
        s = s1;
    }
#undef LSC_PX8
}

static void plain_rows(const lsc_spmm_job *job, uint32_t br_begin, uint32_t br_end)
{
    if (job->ldx == 1 && job->ldy == 1)
        plain_rows_xs(job, br_begin, br_end, 1, 1);
    else
        plain_rows_xs(job, br_begin, br_end, job->ldx, job->ldy);
}
