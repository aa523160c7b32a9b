// TileDot's AVX-512 form: four x rows against four weight rows at a time, sixteen lanes wide. Sixteen accumulators and
// eight operands fit AVX-512's 32 registers (AVX2's 16 held only 4 x 2 eight-lane blocks without spilling), so each
// loaded vector feeds four fused multiply-adds. A masked load covers a width that is not a multiple of sixteen. (Float32
// decoding, which reads its weights from memory, takes `kiln_f32_stream_dot_avx512`: four rows a row apart are four
// streams, which the hardware prefetchers follow worse than one.)
#include "KilnKernels.h"
#include <immintrin.h>

#define TARGET __attribute__((target("avx512f,avx512vl,fma")))

// An rn x cn block (rn, cn <= 4) of y; with constant rn and cn the compiler keeps the accumulators in registers.
TARGET static inline void block(const float *x, const float *w, int k, float *y, int ldc, const int rn,
                                const int cn) {
    __m512 acc[4][4];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) acc[i][j] = _mm512_setzero_ps();
    int p = 0;
    for (; p + 16 <= k; p += 16) {
        __m512 wv[4], xv[4];
        for (int j = 0; j < cn; j++) wv[j] = _mm512_loadu_ps(w + j * k + p);
        for (int i = 0; i < rn; i++) xv[i] = _mm512_loadu_ps(x + i * k + p);
        for (int i = 0; i < rn; i++)
            for (int j = 0; j < cn; j++) acc[i][j] = _mm512_fmadd_ps(xv[i], wv[j], acc[i][j]);
    }
    if (p < k) {
        const __mmask16 mask = (__mmask16)((1u << (k - p)) - 1u);
        __m512 wv[4], xv[4];
        for (int j = 0; j < cn; j++) wv[j] = _mm512_maskz_loadu_ps(mask, w + j * k + p);
        for (int i = 0; i < rn; i++) xv[i] = _mm512_maskz_loadu_ps(mask, x + i * k + p);
        for (int i = 0; i < rn; i++)
            for (int j = 0; j < cn; j++) acc[i][j] = _mm512_fmadd_ps(xv[i], wv[j], acc[i][j]);
    }
    for (int i = 0; i < rn; i++)
        for (int j = 0; j < cn; j++) y[i * ldc + j] = _mm512_reduce_add_ps(acc[i][j]);
}

TARGET void kiln_tile_dot_avx512(const float *x, int rows, const float *w, int count, int columns, float *y, int ldc) {
    for (int o = 0; o < count; o += 4) {
        const int cn = count - o < 4 ? count - o : 4;
        int n = 0;
        if (cn == 4) {
            for (; n + 4 <= rows; n += 4) block(x + n * columns, w + o * columns, columns, y + n * ldc + o, ldc, 4, 4);
        }
        for (; n < rows; n++) {
            switch (cn) {
            case 4: block(x + n * columns, w + o * columns, columns, y + n * ldc + o, ldc, 1, 4); break;
            case 3: block(x + n * columns, w + o * columns, columns, y + n * ldc + o, ldc, 1, 3); break;
            case 2: block(x + n * columns, w + o * columns, columns, y + n * ldc + o, ldc, 1, 2); break;
            default: block(x + n * columns, w + o * columns, columns, y + n * ldc + o, ldc, 1, 1); break;
            }
        }
    }
}
