// Activations replaced by their llama.cpp block quantisation and back (QuantizedInteger.roundTrip, AVX-512): what GGUF
// prefill multiplies in float32 against the widened weights, so its products see the values llama.cpp's integer kernels
// see. The Swift form beside it (roundTrip32/roundTrip256) is the reference; lane by lane it cost 13% of a Q8_0 prefill.
#include "KilnKernels.h"
#include <immintrin.h>

#define TARGET __attribute__((target("avx512f,avx512vl,avx512dq,f16c")))
// Round half to even, no exceptions: the magic-number rounding of the Swift forms.
#define NEAREST (_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)

TARGET void kiln_q8_0_round_trip_avx512(const float *x, long blocks, float *out) {
    const __m512 sign = _mm512_set1_ps(-0.0f);
    for (long b = 0; b < blocks; b++) {
        const __m512 v0 = _mm512_loadu_ps(x + 32 * b), v1 = _mm512_loadu_ps(x + 32 * b + 16);
        const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_andnot_ps(sign, v0), _mm512_andnot_ps(sign, v1)));
        const __m512 inverse = _mm512_set1_ps(amax != 0 ? 127 / amax : 0);
        // The scale as stored: amax / 127 rounded to float16.
        const __m512 scale = _mm512_set1_ps(_cvtsh_ss(_cvtss_sh(amax / 127, _MM_FROUND_TO_NEAREST_INT)));
        // + 0 turns a rounded −0 into the +0 of the integer level the Swift form goes through.
        const __m512 zero = _mm512_setzero_ps();
        const __m512 q0 = _mm512_add_ps(_mm512_roundscale_ps(_mm512_mul_ps(v0, inverse), NEAREST), zero);
        const __m512 q1 = _mm512_add_ps(_mm512_roundscale_ps(_mm512_mul_ps(v1, inverse), NEAREST), zero);
        _mm512_storeu_ps(out + 32 * b, _mm512_mul_ps(q0, scale));
        _mm512_storeu_ps(out + 32 * b + 16, _mm512_mul_ps(q1, scale));
    }
}

TARGET void kiln_q8_k_round_trip_avx512(const float *x, long blocks, float *out) {
    const __m512 sign = _mm512_set1_ps(-0.0f), top = _mm512_set1_ps(127);
    for (long b = 0; b < blocks; b++) {
        const float *p = x + 256 * b;
        float *o = out + 256 * b;
        __m512 m = _mm512_setzero_ps();
        for (int j = 0; j < 256; j += 16) m = _mm512_max_ps(m, _mm512_andnot_ps(sign, _mm512_loadu_ps(p + j)));
        const float magnitude = _mm512_reduce_max_ps(m);
        if (!(magnitude > 0)) {
            for (int j = 0; j < 256; j += 16) _mm512_storeu_ps(o + j, _mm512_setzero_ps());
            continue;
        }
        // The first value of that magnitude gives the scale its sign.
        float largest = 0;
        for (int j = 0; j < 256; j += 16) {
            const __mmask16 hit = _mm512_cmp_ps_mask(_mm512_andnot_ps(sign, _mm512_loadu_ps(p + j)), _mm512_set1_ps(magnitude), _CMP_EQ_OQ);
            if (hit) {
                largest = p[j + __builtin_ctz(hit)];
                break;
            }
        }
        const float inverse = -127 / largest;
        const __m512 vi = _mm512_set1_ps(inverse), d = _mm512_set1_ps(1 / inverse);
        for (int j = 0; j < 256; j += 16) {
            const __m512 q = _mm512_min_ps(top, _mm512_roundscale_ps(_mm512_mul_ps(vi, _mm512_loadu_ps(p + j)), NEAREST));
            _mm512_storeu_ps(o + j, _mm512_mul_ps(d, q));
        }
    }
}
