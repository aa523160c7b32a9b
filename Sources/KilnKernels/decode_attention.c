// The decoding kernels of a float32 KV cache, the float16 ones' twins (half_round.c): a whole KV group's query heads
// meet each key and value row in one pass. Swift's per-key dot products and per-key scaled adds (each reloading and
// storing the output row) cost a decoding step at 160 keys 20 us a layer for under 2 us of arithmetic.
#include "KilnKernels.h"

#include <immintrin.h>

// Heads sharing one pass over the rows: eight accumulators and a row stay in AVX2's sixteen registers.
#define GROUP 8

__attribute__((target("avx2,fma"))) static inline float reduce(__m256 acc) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

__attribute__((target("avx2,fma"))) void kiln_dots_f32(const float *q, long qstride, int heads, const float *rows, long count,
                                                       long width, float scale, float *scores, long sstride) {
    for (int h0 = 0; h0 < heads; h0 += GROUP) {
        const int hn = heads - h0 < GROUP ? heads - h0 : GROUP;
        for (long j = 0; j < count; j++) {
            const float *row = rows + j * width;
            __m256 acc[GROUP];
            for (int g = 0; g < hn; g++) acc[g] = _mm256_setzero_ps();
            long d = 0;
            for (; d + 8 <= width; d += 8) {
                const __m256 k = _mm256_loadu_ps(row + d);
                for (int g = 0; g < hn; g++) acc[g] = _mm256_fmadd_ps(_mm256_loadu_ps(q + (h0 + g) * qstride + d), k, acc[g]);
            }
            for (int g = 0; g < hn; g++) {
                float total = reduce(acc[g]);
                for (long e = d; e < width; e++) total += q[(h0 + g) * qstride + e] * row[e];
                scores[(h0 + g) * sstride + j] = scale * total;
            }
        }
    }
}

__attribute__((target("avx2,fma"))) void kiln_weigh_f32(const float *p, long pstride, int heads, const float *rows, long count,
                                                        long width, float *out, long ostride) {
    for (int h0 = 0; h0 < heads; h0 += GROUP) {
        const int hn = heads - h0 < GROUP ? heads - h0 : GROUP;
        long d = 0;
        for (; d + 8 <= width; d += 8) {
            __m256 acc[GROUP];
            for (int g = 0; g < hn; g++) acc[g] = _mm256_loadu_ps(out + (h0 + g) * ostride + d);
            for (long j = 0; j < count; j++) {
                const __m256 v = _mm256_loadu_ps(rows + j * width + d);
                for (int g = 0; g < hn; g++) acc[g] = _mm256_fmadd_ps(_mm256_set1_ps(p[(h0 + g) * pstride + j]), v, acc[g]);
            }
            for (int g = 0; g < hn; g++) _mm256_storeu_ps(out + (h0 + g) * ostride + d, acc[g]);
        }
        for (; d < width; d++)
            for (int g = 0; g < hn; g++)
                for (long j = 0; j < count; j++) out[(h0 + g) * ostride + d] += p[(h0 + g) * pstride + j] * rows[j * width + d];
    }
}
