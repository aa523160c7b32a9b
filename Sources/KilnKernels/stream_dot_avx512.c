// Decoding's float32 product, AVX-512: each weight row is read once, front to back, and dotted with every x row while it
// sits in L1. A strictly sequential walk is what the hardware prefetchers follow best: on AMD's Zen 5 the four-row kernel
// (`kiln_tile_dot_avx512`, four streams a row apart) read memory at 74-80 GB/s on 2 cores where this walk read 91-96 and a
// plain sum 96-112 (256 MB of weights, harness in docs/benchmarks.md). Each line 2 KB on is prefetched as one is read.
#include "KilnKernels.h"
#include <immintrin.h>

#define TARGET __attribute__((target("avx512f,avx512vl,fma")))

// x · w over k floats; four accumulators keep a 1,536-wide row from one long chain of dependent multiply-adds.
TARGET static inline float row_dot(const float *x, const float *w, int k, const int fetch) {
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
    int p = 0;
    for (; p + 64 <= k; p += 64) {
        if (fetch)
            for (int line = 0; line < 4; line++) _mm_prefetch((const char *)(w + p) + KILN_STREAM_AHEAD + 64 * line, _MM_HINT_T0);
        a0 = _mm512_fmadd_ps(_mm512_loadu_ps(w + p), _mm512_loadu_ps(x + p), a0);
        a1 = _mm512_fmadd_ps(_mm512_loadu_ps(w + p + 16), _mm512_loadu_ps(x + p + 16), a1);
        a2 = _mm512_fmadd_ps(_mm512_loadu_ps(w + p + 32), _mm512_loadu_ps(x + p + 32), a2);
        a3 = _mm512_fmadd_ps(_mm512_loadu_ps(w + p + 48), _mm512_loadu_ps(x + p + 48), a3);
    }
    for (; p + 16 <= k; p += 16) {
        if (fetch) _mm_prefetch((const char *)(w + p) + KILN_STREAM_AHEAD, _MM_HINT_T0);
        a0 = _mm512_fmadd_ps(_mm512_loadu_ps(w + p), _mm512_loadu_ps(x + p), a0);
    }
    if (p < k) {
        const __mmask16 mask = (__mmask16)((1u << (k - p)) - 1u);
        a1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, w + p), _mm512_maskz_loadu_ps(mask, x + p), a1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

TARGET void kiln_f32_stream_dot_avx512(const float *x, int rows, const float *w, long ldw, int count, int k, float *y,
                                       long ldc) {
    if (rows <= 0) return;
    for (int o = 0; o < count; o++) {
        const float *wo = w + (long)o * ldw;
        y[o] = row_dot(x, wo, k, 1);
        for (int n = 1; n < rows; n++) y[n * ldc + o] = row_dot(x + (long)n * k, wo, k, 0);
    }
}
