/* CPU feature detection. A feature counts only if the OS saves its registers on a
 * context switch (XCR0 read with xgetbv), as dav1d does: a CPU with AVX-512 under
 * an OS that does not enable the ZMM state would fault on the first instruction. */
#include <stdatomic.h>

#include "common/cpu.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static void cpuid_count(unsigned leaf, unsigned sub, unsigned r[4])
{
    __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
}

static unsigned long long read_xcr0(void)
{
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}

static unsigned detect(void)
{
    unsigned flags = LSC_CPU_SCALAR, r[4];
    cpuid_count(0, 0, r);
    unsigned max_leaf = r[0];
    if (max_leaf < 7)
        return flags;
    cpuid_count(1, 0, r);
    int fma = (r[2] >> 12) & 1, osxsave = (r[2] >> 27) & 1, avx = (r[2] >> 28) & 1;
    int f16c = (r[2] >> 29) & 1;
    if (!osxsave || !avx)
        return flags;
    unsigned long long xcr0 = read_xcr0();
    if ((xcr0 & 0x6) != 0x6) /* XMM and YMM state */
        return flags;
    cpuid_count(7, 0, r);
    int avx2 = (r[1] >> 5) & 1, avx512f = (r[1] >> 16) & 1;
    /* Our AVX2 level also uses F16C (half -> float); every AVX2 CPU has it. */
    if (avx2 && fma && f16c)
        flags |= LSC_CPU_AVX2;
    if ((flags & LSC_CPU_AVX2) && avx512f && (xcr0 & 0xe0) == 0xe0) /* opmask, ZMM hi */
        flags |= LSC_CPU_AVX512;
    return flags;
}
#else
static unsigned detect(void)
{
    return LSC_CPU_SCALAR;
}
#endif

/* cpuid traps to the hypervisor in a VM (microseconds), too slow for every small
 * multiply, so the answer is kept: a fact about the machine, written with the same
 * value by whoever comes first. (The library's other process-wide state: the scan's
 * lane table, scan_avx2.c, and the per-thread zstd context, entropy_zstd.c.) */
static _Atomic unsigned cached_flags;

unsigned lsc_cpu_flags(void)
{
    unsigned flags = atomic_load_explicit(&cached_flags, memory_order_relaxed);
    if (!flags) {
        flags = detect();
        atomic_store_explicit(&cached_flags, flags, memory_order_relaxed);
    }
    return flags;
}

unsigned lsc_cpu_flags_masked(unsigned mask)
{
    unsigned flags = lsc_cpu_flags();
    if (mask)
        flags &= mask;
    return flags | LSC_CPU_SCALAR;
}
