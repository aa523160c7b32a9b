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

__attribute__((target("avx2,fma,f16c"))) float kiln_dot_f16(const float *x, const unsigned short *h, long count) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    long i = 0;
    for (; i + 16 <= count; i += 16) {
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i))), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i + 8))), acc1);
    }
    for (; i + 8 <= count; i += 8)
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i))), acc0);
    __m256 acc = _mm256_add_ps(acc0, acc1);
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    float total = _mm_cvtss_f32(s);
    for (; i < count; i++) total += x[i] * _cvtsh_ss(h[i]);
    return total;
}

__attribute__((target("avx2,fma,f16c"))) void kiln_axpy_f16(float a, const unsigned short *h, float *y, long count) {
    const __m256 scale = _mm256_set1_ps(a);
    long i = 0;
    for (; i + 8 <= count; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(scale, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i))), _mm256_loadu_ps(y + i)));
    for (; i < count; i++) y[i] += a * _cvtsh_ss(h[i]);
}
