// Float32 y = x · wᵀ for prefill on AVX-512, in the broadcast form without repacking the weights: the activations are
// transposed once (tokens along the vector lanes, a few hundred KB), and each weight element is broadcast against 64
// tokens, so a 6-row x 64-token block keeps 24 accumulators in registers and needs no horizontal sums. Weight rows stay
// in their PyTorch layout, read in place. The transposed activations are cut into 64-token panels, each contiguous, so
// a block of 128 reduction steps (32 KB) stays in L1 (a plain transpose's row stride aliased its rows onto a few cache
// sets) while the weight rows of a stripe cycle through L2. Intrinsics only; the Swift reference is MatMul.naiveForward.
#include "KilnKernels.h"
#include <immintrin.h>

#define TARGET __attribute__((target("avx2,fma,avx512f,avx512vl,avx512dq")))

enum { KC = 128, ROWS = 6, LANES = 16, TOKENS = 64 };

// yt[r * ldy + 16v + i] (+)= sum_p w[r * ldw + p] * xt[p * ldx + 16v + i] for r < rn, v < vn, p < kc.
TARGET __attribute__((always_inline)) static inline void block(const float *xt, long ldx, const float *w, long ldw, int kc,
                                                               float *yt, long ldy, int first, const int rn, const int vn) {
    __m512 acc[ROWS][4];
    for (int r = 0; r < ROWS; r++)
        for (int v = 0; v < 4; v++)
            acc[r][v] = (first || r >= rn || v >= vn) ? _mm512_setzero_ps() : _mm512_loadu_ps(yt + r * ldy + LANES * v);
    for (int p = 0; p < kc; p++) {
        __m512 xv[4];
        for (int v = 0; v < vn; v++) xv[v] = _mm512_loadu_ps(xt + p * ldx + LANES * v);
        for (int r = 0; r < rn; r++) {
            const __m512 b = _mm512_set1_ps(w[r * ldw + p]);
            for (int v = 0; v < vn; v++) acc[r][v] = _mm512_fmadd_ps(b, xv[v], acc[r][v]);
        }
    }
    for (int r = 0; r < rn; r++)
        for (int v = 0; v < vn; v++) _mm512_storeu_ps(yt + r * ldy + LANES * v, acc[r][v]);
}

#define ROW_CASES(VN)                                                                                                  \
    switch (rn) {                                                                                                      \
    case 6: block(xb, ldx, wb, k, kc, yb, ldy, first, 6, VN); break;                                                   \
    case 5: block(xb, ldx, wb, k, kc, yb, ldy, first, 5, VN); break;                                                   \
    case 4: block(xb, ldx, wb, k, kc, yb, ldy, first, 4, VN); break;                                                   \
    case 3: block(xb, ldx, wb, k, kc, yb, ldy, first, 3, VN); break;                                                   \
    case 2: block(xb, ldx, wb, k, kc, yb, ldy, first, 2, VN); break;                                                   \
    default: block(xb, ldx, wb, k, kc, yb, ldy, first, 1, VN); break;                                                  \
    }

TARGET void kiln_sgemm_stripe_avx512(const float *xt, int mp, int k, const float *w, int rows, float *yt) {
    const long ldy = mp;
    for (int k0 = 0; k0 < k; k0 += KC) {
        const int kc = k - k0 < KC ? k - k0 : KC;
        const int first = k0 == 0;
        for (int t0 = 0; t0 < mp; t0 += TOKENS) {
            const int vn = (mp - t0) / LANES < 4 ? (mp - t0) / LANES : 4;
            const long ldx = LANES * vn;
            const float *xb = xt + (long)t0 * k + (long)k0 * ldx;
            for (int r = 0; r < rows; r += ROWS) {
                const int rn = rows - r < ROWS ? rows - r : ROWS;
                const float *wb = w + (long)r * k + k0;
                float *yb = yt + (long)r * ldy + t0;
                switch (vn) {
                case 4: ROW_CASES(4) break;
                case 3: ROW_CASES(3) break;
                case 2: ROW_CASES(2) break;
                default: ROW_CASES(1) break;
                }
            }
        }
    }
}

// An 8 x 8 block of floats transposed in registers: out[j * ldo + i] = in[i * ldi + j].
TARGET static inline void transpose8(const float *in, long ldi, float *out, long ldo) {
    __m256 r[8], t[8];
    for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(in + i * ldi);
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        r[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
        r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
        r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    for (int i = 0; i < 4; i++) {
        _mm256_storeu_ps(out + i * ldo, _mm256_permute2f128_ps(r[i], r[i + 4], 0x20));
        _mm256_storeu_ps(out + (i + 4) * ldo, _mm256_permute2f128_ps(r[i], r[i + 4], 0x31));
    }
}

TARGET void kiln_transpose_avx512(const float *in, int rows, int columns, long ldi, float *out, long ldo) {
    int i = 0;
    for (; i + 8 <= rows; i += 8) {
        int j = 0;
        for (; j + 8 <= columns; j += 8) transpose8(in + (long)i * ldi + j, ldi, out + (long)j * ldo + i, ldo);
        for (; j < columns; j++)
            for (int a = 0; a < 8; a++) out[(long)j * ldo + i + a] = in[(long)(i + a) * ldi + j];
    }
    for (; i < rows; i++)
        for (int j = 0; j < columns; j++) out[(long)j * ldo + i] = in[(long)i * ldi + j];
}
