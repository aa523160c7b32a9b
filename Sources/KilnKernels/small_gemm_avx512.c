// The row blocks of SmallGemm (attention's per-head products: T x D and T x T for T in the hundreds) on AVX-512: six
// rows of C by up to 64 columns in 24 accumulators, each A element broadcast against four vectors of a B row, the last
// vector masked where n is not a multiple of 16. The Swift loops it replaces (four rows by 16 columns, 4 accumulators)
// spent a broadcast load per multiply-add. Intrinsics only; the Swift reference is SmallGemm's own block4/row path.
#include "KilnKernels.h"
#include <immintrin.h>

#define TARGET __attribute__((target("avx2,fma,avx512f,avx512vl,avx512dq")))

enum { ROWS = 6, LANES = 16 };

TARGET __attribute__((always_inline)) static inline void tile(const float *a, long lda, const float *b, long ldb, float *c,
                                                              long ldc, int p0, int p1, float alpha, int accumulate,
                                                              __mmask16 tail, const int rn, const int vn) {
    __m512 acc[ROWS][4];
    for (int r = 0; r < ROWS; r++)
        for (int v = 0; v < 4; v++) acc[r][v] = _mm512_setzero_ps();
    for (int p = p0; p < p1; p++) {
        __m512 bv[4];
        for (int v = 0; v < vn; v++)
            bv[v] = v + 1 < vn ? _mm512_loadu_ps(b + p * ldb + LANES * v) : _mm512_maskz_loadu_ps(tail, b + p * ldb + LANES * v);
        for (int r = 0; r < rn; r++) {
            const __m512 s = _mm512_set1_ps(a[r * lda + p]);
            for (int v = 0; v < vn; v++) acc[r][v] = _mm512_fmadd_ps(s, bv[v], acc[r][v]);
        }
    }
    const __m512 scale = _mm512_set1_ps(alpha);
    for (int r = 0; r < rn; r++)
        for (int v = 0; v < vn; v++) {
            float *out = c + r * ldc + LANES * v;
            const __mmask16 mask = v + 1 < vn ? (__mmask16)0xFFFF : tail;
            const __m512 sum = accumulate ? _mm512_fmadd_ps(acc[r][v], scale, _mm512_maskz_loadu_ps(mask, out))
                                          : _mm512_mul_ps(acc[r][v], scale);
            _mm512_mask_storeu_ps(out, mask, sum);
        }
}

#define VECTOR_CASES(RN)                                                                                               \
    switch (vn) {                                                                                                      \
    case 4: tile(a, lda, b + j, ldb, c + j, ldc, p0, p1, alpha, accumulate, tail, RN, 4); break;                       \
    case 3: tile(a, lda, b + j, ldb, c + j, ldc, p0, p1, alpha, accumulate, tail, RN, 3); break;                       \
    case 2: tile(a, lda, b + j, ldb, c + j, ldc, p0, p1, alpha, accumulate, tail, RN, 2); break;                       \
    default: tile(a, lda, b + j, ldb, c + j, ldc, p0, p1, alpha, accumulate, tail, RN, 1); break;                      \
    }

TARGET void kiln_small_gemm_rows_avx512(const float *a, long lda, const float *b, long ldb, float *c, long ldc, int rows,
                                        int n, int p0, int p1, float alpha, int accumulate) {
    for (int j = 0; j < n; j += 4 * LANES) {
        const int left = n - j, vn = left >= 4 * LANES ? 4 : (left + LANES - 1) / LANES;
        const int last = left - LANES * (vn - 1);
        const __mmask16 tail = (__mmask16)(last >= LANES ? 0xFFFF : (1u << last) - 1);
        switch (rows) {
        case 6: VECTOR_CASES(6) break;
        case 5: VECTOR_CASES(5) break;
        case 4: VECTOR_CASES(4) break;
        case 3: VECTOR_CASES(3) break;
        case 2: VECTOR_CASES(2) break;
        default: VECTOR_CASES(1) break;
        }
    }
}
