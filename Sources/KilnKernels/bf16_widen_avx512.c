// The exact path's decode product for bf16 weights, AVX-512: each weight row is read once in place and widened in
// registers (a bf16 is a float32's upper half, so one 64-byte load holds 32 values whose even-indexed halves become
// floats by a shift and odd-indexed ones by a mask), against x split per 32 columns into its even- then odd-indexed
// values. Four weight rows at a time give eight independent accumulators and four memory streams: one row at a time
// (the Swift form) left a decoding step at three quarters of the bandwidth bound; the rows `kiln_rows_ahead` on are
// prefetched as each block is read.
#include "KilnKernels.h"
#include <immintrin.h>

#define TARGET __attribute__((target("avx512f,avx512vl,avx512bw,fma")))

// cn (<= 4) weight rows against one split x row; constant cn keeps the accumulators in registers.
TARGET static inline void rows_block(const float *xs, const unsigned short *w, long ldw, int k, float *y, long ahead,
                                     const int cn) {
    const __m512i top = _mm512_set1_epi32((int)0xFFFF0000u);
    __m512 even[4], odd[4];
    for (int j = 0; j < 4; j++) even[j] = odd[j] = _mm512_setzero_ps();
    for (int p = 0; p < k; p += 32) {
        if (ahead)
            for (int j = 0; j < cn; j++) _mm_prefetch((const char *)(w + (j + ahead) * ldw + p), _MM_HINT_T0);
        const __m512 xe = _mm512_loadu_ps(xs + p), xo = _mm512_loadu_ps(xs + p + 16);
        for (int j = 0; j < cn; j++) {
            const __m512i v = _mm512_loadu_si512(w + j * ldw + p);
            even[j] = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_slli_epi32(v, 16)), xe, even[j]);
            odd[j] = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_and_si512(v, top)), xo, odd[j]);
        }
    }
    for (int j = 0; j < cn; j++) y[j] = _mm512_reduce_add_ps(_mm512_add_ps(even[j], odd[j]));
}

TARGET void kiln_bf16_widen_dot_avx512(const float *xs, int rows, const unsigned short *w, long ldw, int count, int k,
                                       float *y, long ldc) {
    const long ahead = kiln_rows_ahead(ldw * 2);
    kiln_prefetch_rows(w, ldw * 2, (long)k * 2, ahead < count ? ahead : count);
    for (int o = 0; o < count; o += 4) {
        const int cn = count - o < 4 ? count - o : 4;
        const unsigned short *wo = w + (long)o * ldw;
        for (int n = 0; n < rows; n++) {
            const float *xn = xs + (long)n * k;
            float *yn = y + n * ldc + o;
            switch (cn) {
            case 4: rows_block(xn, wo, ldw, k, yn, ahead, 4); break;
            case 3: rows_block(xn, wo, ldw, k, yn, ahead, 3); break;
            case 2: rows_block(xn, wo, ldw, k, yn, ahead, 2); break;
            default: rows_block(xn, wo, ldw, k, yn, ahead, 1); break;
            }
        }
    }
}
