// The decoding kernels of a float32 KV cache (the float16 cache has its own in half_round.c). Swift's per-key dot products
// and per-key scaled adds (each reloading and storing the output row) cost a decoding step at 160 keys 20 us a layer for
// under 2 us of arithmetic; these keep eight independent accumulators busy instead (keys read from L1 once per head).
#include "KilnKernels.h"

#include <immintrin.h>

__attribute__((target("avx2,fma"))) static inline float reduce(__m256 acc) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// Eight sums of eight vectors: lane k of the result is the sum of a[k]'s lanes.
__attribute__((target("avx2,fma"))) static inline __m256 reduce8(const __m256 *a) {
    const __m256 t0 = _mm256_hadd_ps(a[0], a[1]), t1 = _mm256_hadd_ps(a[2], a[3]);
    const __m256 t2 = _mm256_hadd_ps(a[4], a[5]), t3 = _mm256_hadd_ps(a[6], a[7]);
    const __m256 u0 = _mm256_hadd_ps(t0, t1), u1 = _mm256_hadd_ps(t2, t3);
    return _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20), _mm256_permute2f128_ps(u0, u1, 0x31));
}

// One head's query against keys in blocks of eight: eight independent accumulators (one per key) where a key at a time
// chained its eight multiply-adds on one register, and one shuffle tree sums all eight.
__attribute__((target("avx2,fma"))) void kiln_dots_f32(const float *q, long qstride, int heads, const float *rows, long count,
                                                       long width, float scale, float *scores, long sstride) {
    const long vectors = width / 8 * 8, rowBytes = width * (long)sizeof(float);
    // The cache's rows come from memory in short runs the hardware prefetcher barely starts on: the first 16 are asked
    // for at once, and each block of 8 asks for the block 16 rows on during the first head's pass.
    kiln_prefetch_rows(rows, rowBytes, rowBytes, count < 16 ? count : 16);
    for (int g = 0; g < heads; g++) {
        const float *qg = q + g * qstride;
        float *out = scores + g * sstride;
        long j = 0;
        for (; j + 8 <= count; j += 8) {
            if (g == 0 && j + 16 < count)
                kiln_prefetch_rows(rows + (j + 16) * width, rowBytes, rowBytes, count - j - 16 < 8 ? count - j - 16 : 8);
            __m256 acc[8];
            for (int k = 0; k < 8; k++) acc[k] = _mm256_setzero_ps();
            for (long d = 0; d < vectors; d += 8) {
                const __m256 qv = _mm256_loadu_ps(qg + d);
                for (int k = 0; k < 8; k++) acc[k] = _mm256_fmadd_ps(qv, _mm256_loadu_ps(rows + (j + k) * width + d), acc[k]);
            }
            float sums[8];
            _mm256_storeu_ps(sums, reduce8(acc));
            for (int k = 0; k < 8; k++) {
                float total = sums[k];
                for (long e = vectors; e < width; e++) total += qg[e] * rows[(j + k) * width + e];
                out[j + k] = scale * total;
            }
        }
        for (; j < count; j++) {
            __m256 acc = _mm256_setzero_ps();
            for (long d = 0; d < vectors; d += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(qg + d), _mm256_loadu_ps(rows + j * width + d), acc);
            float total = reduce(acc);
            for (long e = vectors; e < width; e++) total += qg[e] * rows[j * width + e];
            out[j] = scale * total;
        }
    }
}

// One head at a time over up to 64 columns of the output: eight accumulators, each one multiply-add per key, where one
// accumulator per head ran a chain as long as the keys.
__attribute__((target("avx2,fma"))) void kiln_weigh_f32(const float *p, long pstride, int heads, const float *rows, long count,
                                                        long width, float *out, long ostride) {
    const long vectors = width / 8 * 8;
    for (int g = 0; g < heads; g++) {
        const float *pg = p + g * pstride;
        float *og = out + g * ostride;
        for (long d0 = 0; d0 < vectors; d0 += 64) {
            const int n = vectors - d0 < 64 ? (int)((vectors - d0) / 8) : 8;
            __m256 acc[8];
            for (int v = 0; v < n; v++) acc[v] = _mm256_loadu_ps(og + d0 + 8 * v);
            for (long j = 0; j < count; j++) {
                if (g == 0 && d0 == 0 && j + 16 < count) kiln_prefetch_rows(rows + (j + 16) * width, width * 4, width * 4, 1);
                const __m256 weight = _mm256_set1_ps(pg[j]);
                const float *row = rows + j * width + d0;
                for (int v = 0; v < n; v++) acc[v] = _mm256_fmadd_ps(weight, _mm256_loadu_ps(row + 8 * v), acc[v]);
            }
            for (int v = 0; v < n; v++) _mm256_storeu_ps(og + d0 + 8 * v, acc[v]);
        }
        for (long d = vectors; d < width; d++)
            for (long j = 0; j < count; j++) og[d] += pg[j] * rows[j * width + d];
    }
}
