// Q4_0, Q4_1 and Q8_0 blocks widened to float32 with AVX-512 (BlockWiden's form, which stays the AVX2 path and the
// reference): the tiles of a GGUF prefill product. Each value is the reference's product, then sum, never fused; in
// Swift lanes the widening was 15% of a Q8_0 prefill.
#include "KilnKernels.h"
#include <immintrin.h>
#include <string.h>

#define TARGET __attribute__((target("avx512f,avx512vl,avx512bw,f16c")))

TARGET static inline float half(const unsigned char *p) {
    unsigned short bits;
    memcpy(&bits, p, 2);
    return _cvtsh_ss(bits);
}

TARGET int kiln_widen_blocks_avx512(int type, const void *blocks, long count, float *out) {
    const unsigned char *p = blocks;
    const __m128i low = _mm_set1_epi8(0x0F);
    switch (type) {
    case KILN_Q8_0:
        for (long b = 0; b < count; b++, p += 34, out += 32) {
            const __m512 d = _mm512_set1_ps(half(p));
            const __m512 v0 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(p + 2))));
            const __m512 v1 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(p + 18))));
            _mm512_storeu_ps(out, _mm512_mul_ps(v0, d));
            _mm512_storeu_ps(out + 16, _mm512_mul_ps(v1, d));
        }
        return 1;
    case KILN_Q4_0:
    case KILN_Q4_1: {
        const int offset = type == KILN_Q4_1;
        const long stride = offset ? 20 : 18;
        const __m512 eight = _mm512_set1_ps(8);
        for (long b = 0; b < count; b++, p += stride, out += 32) {
            const __m512 d = _mm512_set1_ps(half(p));
            const __m128i q = _mm_loadu_si128((const __m128i *)(p + 2 + 2 * offset));
            __m512 v0 = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_and_si128(q, low)));
            __m512 v1 = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_and_si128(_mm_srli_epi16(q, 4), low)));
            if (offset) {
                const __m512 m = _mm512_set1_ps(half(p + 2));
                v0 = _mm512_add_ps(_mm512_mul_ps(v0, d), m);
                v1 = _mm512_add_ps(_mm512_mul_ps(v1, d), m);
            } else {
                v0 = _mm512_mul_ps(_mm512_sub_ps(v0, eight), d);
                v1 = _mm512_mul_ps(_mm512_sub_ps(v1, eight), d);
            }
            _mm512_storeu_ps(out, v0);
            _mm512_storeu_ps(out + 16, v1);
        }
        return 1;
    }
    default:
        return 0;
    }
}
