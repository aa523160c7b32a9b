// The memory read probe's loop (kiln-bench's bandwidth bound): every decode kernel is judged against it, so it has to
// read as fast as this machine can. Swift's sum of 16-lane vectors compiled for AVX2 read 22.7 GB/s where this loop
// reads 31 (2 cores, Emerald Rapids); software prefetch adds the last few percent the hardware prefetcher leaves.
#include "KilnKernels.h"
#include <immintrin.h>

__attribute__((target("avx512f"))) static float sum_avx512(const float *x, long n) {
    __m512 a[8];
    for (int j = 0; j < 8; j++) a[j] = _mm512_setzero_ps();
    long i = 0;
    for (; i + 128 <= n; i += 128) {
        for (int j = 0; j < 8; j += 4) _mm_prefetch((const char *)(x + i + 1024 + 16 * j), _MM_HINT_T0);
        for (int j = 0; j < 8; j++) a[j] = _mm512_add_ps(a[j], _mm512_loadu_ps(x + i + 16 * j));
    }
    for (int j = 1; j < 8; j++) a[0] = _mm512_add_ps(a[0], a[j]);
    float total = _mm512_reduce_add_ps(a[0]);
    for (; i < n; i++) total += x[i];
    return total;
}

__attribute__((target("avx2"))) static float sum_avx2(const float *x, long n) {
    __m256 a[8];
    for (int j = 0; j < 8; j++) a[j] = _mm256_setzero_ps();
    long i = 0;
    for (; i + 64 <= n; i += 64) {
        for (int j = 0; j < 8; j += 2) _mm_prefetch((const char *)(x + i + 1024 + 8 * j), _MM_HINT_T0);
        for (int j = 0; j < 8; j++) a[j] = _mm256_add_ps(a[j], _mm256_loadu_ps(x + i + 8 * j));
    }
    for (int j = 1; j < 8; j++) a[0] = _mm256_add_ps(a[0], a[j]);
    float lanes[8];
    _mm256_storeu_ps(lanes, a[0]);
    float total = 0;
    for (int j = 0; j < 8; j++) total += lanes[j];
    for (; i < n; i++) total += x[i];
    return total;
}

float kiln_read_sum(const float *x, long n, int wide) { return wide ? sum_avx512(x, n) : sum_avx2(x, n); }
