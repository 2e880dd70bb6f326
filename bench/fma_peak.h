/* One core's measured FMA peak: a dense loop of independent FMAs (no loads), timed by
 * the process's CPU time, so a kernel's GFLOP/s can be stated as a share of what this
 * core did in the same run (a double-pumped AVX-512 unit, Zen 4's, gives the same peak
 * as AVX2: the figure is measured, not assumed). */
#ifndef LSC_BENCH_FMA_PEAK_H
#define LSC_BENCH_FMA_PEAK_H

/* The best of a few runs, GFLOP/s (2 per lane per FMA), with vectors of `lanes`
 * floats: 8 (AVX2 + FMA) or 16 (AVX-512 F), which the CPU must have. Returns 0 for
 * any other width or on a non-x86 build. */
double fma_peak_gflops(int lanes);

#endif /* LSC_BENCH_FMA_PEAK_H */
