// Float32 y = x · wᵀ for prefill on AVX-512, in the broadcast form without repacking the weights: the activations are
// transposed once (tokens along the vector lanes, a few hundred KB), and each weight element is broadcast against 64
// tokens, so a 6-row x 64-token block keeps 24 accumulators in registers and needs no horizontal sums. Weight rows stay
// in their PyTorch layout, read in place. The transposed activations are cut into 64-token panels, each contiguous, so
// a block of 128 reduction steps (32 KB) stays in L1 (a plain transpose's row stride aliased its rows onto a few cache
// sets) while the weight rows of a stripe cycle through L2. The finished tiles are transposed in registers on their way
// to y. Intrinsics only; the Swift reference is MatMul.naiveForward.
#include "KilnKernels.h"
#include <immintrin.h>

#define TARGET __attribute__((target("avx2,fma,avx512f,avx512vl,avx512dq")))

enum { KC = 128, ROWS = 6, LANES = 16, TOKENS = 64 };

// Stores 16 tokens' results of up to 6 weight rows (a[r], lanes = tokens) into y's natural layout: y[i * ldy + r] =
// a[r][i] (+ bias[r]) for i < tn, r < rn. Two 4 x 4 shuffle stages and a cross-lane permute transpose eight rows at
// once (rows past rn are zeros and masked off), so the finished tile goes straight to y instead of through a second
// pass over memory, and the bias is added on the way rather than in a pass of its own.
TARGET __attribute__((always_inline)) static inline void store_transposed(const __m512 a[8], float *y, long ldy,
                                                                          const float *bias, int rn, int tn) {
    const __m512 t0 = _mm512_unpacklo_ps(a[0], a[1]), t1 = _mm512_unpackhi_ps(a[0], a[1]);
    const __m512 t2 = _mm512_unpacklo_ps(a[2], a[3]), t3 = _mm512_unpackhi_ps(a[2], a[3]);
    const __m512 t4 = _mm512_unpacklo_ps(a[4], a[5]), t5 = _mm512_unpackhi_ps(a[4], a[5]);
    const __m512 t6 = _mm512_unpacklo_ps(a[6], a[7]), t7 = _mm512_unpackhi_ps(a[6], a[7]);
    // u[c] holds, in 128-bit lane j, rows 0-3 of token 4j + c; u[4 + c] rows 4-7.
    const __m512 u[8] = {_mm512_shuffle_ps(t0, t2, 0x44), _mm512_shuffle_ps(t0, t2, 0xEE),
                         _mm512_shuffle_ps(t1, t3, 0x44), _mm512_shuffle_ps(t1, t3, 0xEE),
                         _mm512_shuffle_ps(t4, t6, 0x44), _mm512_shuffle_ps(t4, t6, 0xEE),
                         _mm512_shuffle_ps(t5, t7, 0x44), _mm512_shuffle_ps(t5, t7, 0xEE)};
    const __m512i lanes01 = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
    const __m512i lanes23 = _mm512_setr_epi32(8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
    const __mmask8 mask = (__mmask8)((1u << rn) - 1);
    const __m512 b = bias ? _mm512_castps256_ps512(_mm256_maskz_loadu_ps(mask, bias)) : _mm512_setzero_ps();
    const __m512 bb = _mm512_shuffle_f32x4(b, b, 0x44);
    for (int c = 0; c < 4; c++) {
        // Tokens c, 4 + c (from lanes 0, 1) and 8 + c, 12 + c (lanes 2, 3), eight rows each.
        const __m512 lo = _mm512_add_ps(_mm512_permutex2var_ps(u[c], lanes01, u[4 + c]), bb);
        const __m512 hi = _mm512_add_ps(_mm512_permutex2var_ps(u[c], lanes23, u[4 + c]), bb);
        if (c < tn) _mm256_mask_storeu_ps(y + (long)c * ldy, mask, _mm512_castps512_ps256(lo));
        if (4 + c < tn) _mm256_mask_storeu_ps(y + (long)(4 + c) * ldy, mask, _mm512_extractf32x8_ps(lo, 1));
        if (8 + c < tn) _mm256_mask_storeu_ps(y + (long)(8 + c) * ldy, mask, _mm512_castps512_ps256(hi));
        if (12 + c < tn) _mm256_mask_storeu_ps(y + (long)(12 + c) * ldy, mask, _mm512_extractf32x8_ps(hi, 1));
    }
}

// yt[r * ldt + 16v + i] (+)= sum_p w[r * ldw + p] * xt[p * ldx + 16v + i] for r < rn, v < vn, p < kc; on the last
// block of the reduction the sums (+ bias[r]) go to y[(16v + i) * ldy + r] instead, for tokens 16v + i < tn.
TARGET __attribute__((always_inline)) static inline void block(const float *xt, long ldx, const float *w, long ldw, int kc,
                                                               float *yt, long ldt, int first, float *y, long ldy, int tn,
                                                               const float *bias, const float *wn, int nrn, const int rn,
                                                               const int vn) {
    __m512 acc[ROWS][4];
    for (int r = 0; r < ROWS; r++)
        for (int v = 0; v < 4; v++)
            acc[r][v] = (first || r >= rn || v >= vn) ? _mm512_setzero_ps() : _mm512_loadu_ps(yt + r * ldt + LANES * v);
    for (int p = 0; p < kc; p++) {
        // The next block's weight rows arrive from memory while this one computes: each row is only 8 cache lines per
        // visit, too short a run for the hardware's stream prefetcher to pick up.
        if ((p & 15) == 0)
            for (int r = 0; r < nrn; r++) _mm_prefetch((const char *)(wn + r * ldw + p), _MM_HINT_T0);
        __m512 xv[4];
        for (int v = 0; v < vn; v++) xv[v] = _mm512_loadu_ps(xt + p * ldx + LANES * v);
        for (int r = 0; r < rn; r++) {
            const __m512 b = _mm512_set1_ps(w[r * ldw + p]);
            for (int v = 0; v < vn; v++) acc[r][v] = _mm512_fmadd_ps(b, xv[v], acc[r][v]);
        }
    }
    if (y) {
        for (int v = 0; v < vn; v++) {
            const __m512 a[8] = {acc[0][v], acc[1][v], acc[2][v], acc[3][v], acc[4][v], acc[5][v],
                                 _mm512_setzero_ps(), _mm512_setzero_ps()};
            store_transposed(a, y + (long)LANES * v * ldy, ldy, bias, rn, tn - LANES * v);
        }
        return;
    }
    for (int r = 0; r < rn; r++)
        for (int v = 0; v < vn; v++) _mm512_storeu_ps(yt + r * ldt + LANES * v, acc[r][v]);
}

#define ROW_CASES(VN)                                                                                                  \
    switch (rn) {                                                                                                      \
    case 6: block(xb, ldx, wb, k, kc, tb, mp, first, ob, ldy, tn, bb, wn, nrn, 6, VN); break;                          \
    case 5: block(xb, ldx, wb, k, kc, tb, mp, first, ob, ldy, tn, bb, wn, nrn, 5, VN); break;                          \
    case 4: block(xb, ldx, wb, k, kc, tb, mp, first, ob, ldy, tn, bb, wn, nrn, 4, VN); break;                          \
    case 3: block(xb, ldx, wb, k, kc, tb, mp, first, ob, ldy, tn, bb, wn, nrn, 3, VN); break;                          \
    case 2: block(xb, ldx, wb, k, kc, tb, mp, first, ob, ldy, tn, bb, wn, nrn, 2, VN); break;                          \
    default: block(xb, ldx, wb, k, kc, tb, mp, first, ob, ldy, tn, bb, wn, nrn, 1, VN); break;                         \
    }

TARGET void kiln_sgemm_stripe_avx512(const float *xt, int mp, int k, const float *w, const float *bias, int rows,
                                     float *yt, float *y, long ldy, int m) {
    for (int k0 = 0; k0 < k; k0 += KC) {
        const int kc = k - k0 < KC ? k - k0 : KC;
        const int first = k0 == 0, last = k0 + kc >= k;
        for (int t0 = 0; t0 < mp; t0 += TOKENS) {
            const int vn = (mp - t0) / LANES < 4 ? (mp - t0) / LANES : 4;
            const long ldx = LANES * vn;
            const int tn = m - t0;
            const float *xb = xt + (long)t0 * k + (long)k0 * ldx;
            for (int r = 0; r < rows; r += ROWS) {
                const int rn = rows - r < ROWS ? rows - r : ROWS;
                const float *wb = w + (long)r * k + k0;
                float *tb = yt + (long)r * mp + t0;
                float *ob = last && y ? y + (long)t0 * ldy + r : 0;
                const float *bb = bias ? bias + r : 0;
                // The weights of the block after this one: the next six rows, or the stripe's first rows of the next
                // panel or reduction block.
                const float *wn; int nrn;
                if (r + ROWS < rows) { wn = wb + (long)ROWS * k; nrn = rows - r - ROWS < ROWS ? rows - r - ROWS : ROWS; }
                else if (t0 + TOKENS < mp) { wn = w + k0; nrn = rows < ROWS ? rows : ROWS; }
                else { wn = w + k0 + KC; nrn = k0 + KC < k ? (rows < ROWS ? rows : ROWS) : 0; }
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
