// What the CPU can run, asked once. This file is compiled for plain x86-64, so a machine without AVX2 reaches the
// check (and Kiln's clear message) rather than an illegal instruction.
#include "KilnKernels.h"

int kiln_cpu_features(void) {
    __builtin_cpu_init();
    int bits = 0;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) bits |= KILN_CPU_AVX2;
    if ((bits & KILN_CPU_AVX2) && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq")) bits |= KILN_CPU_AVX512;
    if ((bits & KILN_CPU_AVX512) && __builtin_cpu_supports("avx512vnni")) bits |= KILN_CPU_AVX512_VNNI;
    if ((bits & KILN_CPU_AVX512) && __builtin_cpu_supports("avx512bf16")) bits |= KILN_CPU_AVX512_BF16;
    return bits;
}
