// Rounding float32 values to float16 and back in place, as llama.cpp's F16C conversions do (to nearest, ties to even,
// subnormals kept). F16C is present on every CPU with AVX2, Kiln's floor.
#include "KilnKernels.h"

#include <immintrin.h>

__attribute__((target("avx2,f16c"))) void kiln_round_f16(float *x, long count) {
    long i = 0;
    for (; i + 8 <= count; i += 8) {
        __m128i half = _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT);
        _mm256_storeu_ps(x + i, _mm256_cvtph_ps(half));
    }
    for (; i < count; i++) x[i] = _cvtsh_ss(_cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT));
}

__attribute__((target("avx2,f16c"))) void kiln_to_f16(const float *x, unsigned short *out, long count) {
    long i = 0;
    for (; i + 8 <= count; i += 8)
        _mm_storeu_si128((__m128i *)(out + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < count; i++) out[i] = _cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT);
}

// The decoding kernels of a float16 cache serve a whole KV group (the query heads that share each key and value row), so
// each row is widened once for all of them; heads beyond 8 take further passes.
#define GROUP 8

__attribute__((target("avx2,fma,f16c"))) void kiln_dots_f16(const float *q, long qstride, int heads, const unsigned short *rows,
                                                         long count, long width, float scale, float *scores, long sstride) {
    for (int h0 = 0; h0 < heads; h0 += GROUP) {
        const int hn = heads - h0 < GROUP ? heads - h0 : GROUP;
        for (long j = 0; j < count; j++) {
            const unsigned short *row = rows + j * width;
            __m256 acc[GROUP];
            for (int g = 0; g < hn; g++) acc[g] = _mm256_setzero_ps();
            long d = 0;
            for (; d + 8 <= width; d += 8) {
                const __m256 k = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + d)));
                for (int g = 0; g < hn; g++) acc[g] = _mm256_fmadd_ps(_mm256_loadu_ps(q + (h0 + g) * qstride + d), k, acc[g]);
            }
            for (int g = 0; g < hn; g++) {
                __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc[g]), _mm256_extractf128_ps(acc[g], 1));
                s = _mm_add_ps(s, _mm_movehl_ps(s, s));
                s = _mm_add_ss(s, _mm_movehdup_ps(s));
                float total = _mm_cvtss_f32(s);
                for (long e = d; e < width; e++) total += q[(h0 + g) * qstride + e] * _cvtsh_ss(row[e]);
                scores[(h0 + g) * sstride + j] = scale * total;
            }
        }
    }
}

__attribute__((target("avx2,fma,f16c"))) void kiln_weigh_f16(const float *p, long pstride, int heads, const unsigned short *rows,
                                                          long count, long width, float *out, long ostride) {
    for (int h0 = 0; h0 < heads; h0 += GROUP) {
        const int hn = heads - h0 < GROUP ? heads - h0 : GROUP;
        long d = 0;
        for (; d + 8 <= width; d += 8) {
            __m256 acc[GROUP];
            for (int g = 0; g < hn; g++) acc[g] = _mm256_loadu_ps(out + (h0 + g) * ostride + d);
            for (long j = 0; j < count; j++) {
                const __m256 v = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(rows + j * width + d)));
                for (int g = 0; g < hn; g++) acc[g] = _mm256_fmadd_ps(_mm256_set1_ps(p[(h0 + g) * pstride + j]), v, acc[g]);
            }
            for (int g = 0; g < hn; g++) _mm256_storeu_ps(out + (h0 + g) * ostride + d, acc[g]);
        }
        for (; d < width; d++)
            for (int g = 0; g < hn; g++)
                for (long j = 0; j < count; j++) out[(h0 + g) * ostride + d] += p[(h0 + g) * pstride + j] * _cvtsh_ss(rows[j * width + d]);
    }
}
