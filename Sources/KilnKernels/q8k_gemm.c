// Integer products of GGUF K-quant weights (Q4_K, Q6_K) with activations quantised to llama.cpp's Q8_K (256 int8 per
// super-block, a float scale, and the sum of each 16 values). Per 32 values an exact integer dot product times the
// sub-block's integer scale; the minimums (Q4_K) and the −32 offset (Q6_K) come off through the 16-value sums. How the
// integers meet the float scales follows whichever llama.cpp kernel a product of that shape runs there (`order`):
// - KILN_K_VECDOT, ggml_vec_dot_q4_K_q8_K / q6_K_q8_K (fewer than 8 activation rows): eight int32 lanes per super-block
//   (Q6_K's offset taken off lane by lane), one 8-lane float fma chain, Q4_K's minimums in a 4-lane chain of their own;
// - KILN_K_TILED, ggml-cpu/tiled (8 rows or more): the whole super-block's integers times the weight's d (less dmin
//   times the minimum sum, one fma), then one fma by the activation's scale per super-block into the output (its
//   AVX-512 VNNI kernel writes a multiply and an add, which GCC's default contraction fuses into that same fma);
// - KILN_K_REPACK, the CPU_REPACK buffer's q4_K_8x8 kernels (Q4_K matrices of a multiple of 8 rows, any row count):
//   integers and minimum sums each in their own fma chain by d·dx and dmin·dx, subtracted at the end; its gemm (whole
//   groups of 4 activation rows) adds them per 64 values, its gemv (the last rows % 4) per super-block.
// Tiles of up to 4 weight rows x 4 activation rows share each unpacked sub-block. AVX2 and AVX-512 VNNI forms; Swift
// reference: QuantizedIntegerK.ggmlGemm.
#include "KilnKernels.h"
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma,f16c")))
#define VNNI __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512vnni")))

AVX2 static inline float k_half(const unsigned char *p) { return _cvtsh_ss((unsigned short)(p[0] | (p[1] << 8))); }

// u8 x s8 pairs summed to int16, then pairs of those times the sub-block's 16-bit scale summed to int32 (ggml's order):
// the scale rides on the second step instead of a 32-bit multiply per eight lanes. Exact: a pair is at most
// 2 x 63 x 128 = 16,128 (Q6_K; Q4_K 3,840), a scaled pair of pairs 2 x 16,128 x 128. Both tile forms use it: VNNI has no
// instruction that also applies the scale, so its tiles differ only in width (4 activation rows in AVX-512's registers).
AVX2 static inline __m256i k_scaled(__m256i u, __m256i s, __m256i scale) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), scale);
}

AVX2 static inline float k_hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

AVX2 static inline int k_hsum_int(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

// Q4_K's eight 6-bit scales and minimums from its 12 packed bytes (ggml's get_scale_min_k4).
AVX2 static inline void q4k_scales(const unsigned char *q, int *scale, int *minimum) {
    for (int j = 0; j < 8; j++) {
        if (j < 4) {
            scale[j] = q[j] & 63;
            minimum[j] = q[j + 4] & 63;
        } else {
            scale[j] = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
            minimum[j] = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
        }
    }
}

// Sub-block j (32 values) of a Q6_K super-block as unsigned 0-63: half h = j / 4 and group g = j % 4 take the low or
// high nibbles of 32 `ql` bytes and two bits of 32 `qh` bytes.
AVX2 static inline __m256i q6k_values(const unsigned char *block, int j) {
    const int h = j >> 2, g = j & 3;
    const __m256i low = _mm256_loadu_si256((const __m256i *)(block + 64 * h + 32 * (g & 1)));
    const __m256i high = _mm256_loadu_si256((const __m256i *)(block + 128 + 32 * h));
    const __m256i mask4 = _mm256_set1_epi8(0x0F), mask2 = _mm256_set1_epi8(0x03);
    const __m256i nib = _mm256_and_si256(g >= 2 ? _mm256_srli_epi16(low, 4) : low, mask4);
    const __m256i two = _mm256_and_si256(_mm256_srl_epi16(high, _mm_cvtsi32_si128(2 * g)), mask2);
    return _mm256_or_si256(nib, _mm256_slli_epi16(two, 4));
}

// One rn x cn tile (rn, cn <= 4; constant at each call so the accumulators stay in registers).
#define DEFINE_K_TILE(NAME, ATTR)                                                                                \
    ATTR __attribute__((always_inline)) static inline void NAME(const int type, const int order,                      \
        const int gemmRows, const unsigned char *w, long rowBytes, const signed char *xq, const float *xd,              \
        const short *xb, int supers, float *y, long ldc, const int rn, const int cn) {                                 \
        __m256 acc[4][4];                                                                                              \
        __m128 lanesMin[4][4];                                                                                         \
        float whole[4][4], wholeMin[4][4];                                                                             \
        for (int r = 0; r < 4; r++)                                                                                    \
            for (int t = 0; t < 4; t++) {                                                                              \
                acc[r][t] = _mm256_setzero_ps();                                                                       \
                lanesMin[r][t] = _mm_setzero_ps();                                                                     \
                whole[r][t] = 0;                                                                                       \
                wholeMin[r][t] = 0;                                                                                    \
            }                                                                                                          \
        const long columns = (long)supers * 256;                                                                       \
        const int size = type == KILN_Q4_K ? 144 : 210;                                                                \
        for (int b = 0; b < supers; b++) {                                                                             \
            for (int r = 0; r < rn; r++) {                                                                             \
                const unsigned char *block = w + r * rowBytes + (long)b * size;                                       \
                /* the same block of the next pass of 4 rows: one contiguous stretch, fetched during this one */     \
                for (int line = 0; line < size; line += 64) _mm_prefetch((const char *)(block + 4 * rowBytes + line), _MM_HINT_T0); \
                __m256i sums[4];                                                                                       \
                for (int t = 0; t < cn; t++) sums[t] = _mm256_setzero_si256();                                        \
                if (type == KILN_Q4_K) {                                                                               \
                    int scale[8], minimum[8];                                                                          \
                    q4k_scales(block + 4, scale, minimum);                                                             \
                    const float d = k_half(block), dmin = k_half(block + 2);                                           \
                    for (int c = 0; c < 4; c++) {                                                                      \
                        const __m256i packed = _mm256_loadu_si256((const __m256i *)(block + 16 + 32 * c));            \
                        const __m256i lo = _mm256_and_si256(packed, _mm256_set1_epi8(0x0F));                          \
                        const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(packed, 4), _mm256_set1_epi8(0x0F));    \
                        const __m256i slo = _mm256_set1_epi16((short)scale[2 * c]);                                   \
                        const __m256i shi = _mm256_set1_epi16((short)scale[2 * c + 1]);                               \
                        for (int t = 0; t < cn; t++) {                                                                 \
                            const signed char *a = xq + t * columns + b * 256 + 64 * c;                               \
                            const __m256i pl = k_scaled(lo, _mm256_loadu_si256((const __m256i *)a), slo);               \
                            const __m256i ph = k_scaled(hi, _mm256_loadu_si256((const __m256i *)(a + 32)), shi);        \
                            if (order == KILN_K_REPACK && t < gemmRows) {                                              \
                                /* the 4-row gemm: one fma per 64 values, for the sums and for the minimums */         \
                                const short *bs = xb + (long)t * supers * 16 + b * 16 + 4 * c;                         \
                                const int m = minimum[2 * c] * (bs[0] + bs[1]) + minimum[2 * c + 1] * (bs[2] + bs[3]);  \
                                const float dx = xd[(long)t * supers + b];                                             \
                                const float scaled = d * dx, scaledMin = dmin * dx;                                    \
                                whole[r][t] = __builtin_fmaf((float)k_hsum_int(_mm256_add_epi32(pl, ph)), scaled, whole[r][t]); \
                                wholeMin[r][t] = __builtin_fmaf((float)m, scaledMin, wholeMin[r][t]);                  \
                            } else {                                                                                   \
                                sums[t] = _mm256_add_epi32(sums[t], _mm256_add_epi32(pl, ph));                         \
                            }                                                                                          \
                        }                                                                                              \
                    }                                                                                                  \
                    for (int t = 0; t < cn; t++) {                                                                     \
                        if (order == KILN_K_REPACK && t < gemmRows) continue;                                          \
                        const short *bs = xb + (long)t * supers * 16 + b * 16;                                         \
                        const float dx = xd[(long)t * supers + b];                                                     \
                        if (order == KILN_K_VECDOT) {                                                                  \
                            /* minimum pairs of 32-value sums, madd'ed into four lanes */                              \
                            int pair[4];                                                                               \
                            for (int k = 0; k < 4; k++)                                                                \
                                pair[k] = minimum[2 * k] * (bs[4 * k] + bs[4 * k + 1]) +                               \
                                          minimum[2 * k + 1] * (bs[4 * k + 2] + bs[4 * k + 3]);                        \
                            const float scaled = dx * d, scaledMin = -dx * dmin;                                       \
                            acc[r][t] = _mm256_fmadd_ps(_mm256_set1_ps(scaled), _mm256_cvtepi32_ps(sums[t]), acc[r][t]); \
                            lanesMin[r][t] = _mm_fmadd_ps(_mm_set1_ps(scaledMin), _mm_cvtepi32_ps(_mm_loadu_si128((const __m128i *)pair)), \
                                                          lanesMin[r][t]);                                             \
                        } else {                                                                                       \
                            int m = 0;                                                                                 \
                            for (int j = 0; j < 8; j++) m += minimum[j] * (bs[2 * j] + bs[2 * j + 1]);                 \
                            const float integer = (float)k_hsum_int(sums[t]), mins = (float)m;                         \
                            if (order == KILN_K_REPACK) {                                                              \
                                const float scaled = d * dx, scaledMin = dmin * dx;                                    \
                                whole[r][t] = __builtin_fmaf(integer, scaled, whole[r][t]);                            \
                                wholeMin[r][t] = __builtin_fmaf(mins, scaledMin, wholeMin[r][t]);                      \
                            } else {                                                                                   \
                                const float first = d * integer;                                                       \
                                const float result = __builtin_fmaf(-dmin, mins, first);                               \
                                whole[r][t] = __builtin_fmaf(result, dx, whole[r][t]);                                 \
                            }                                                                                          \
                        }                                                                                              \
                    }                                                                                                  \
                } else {                                                                                               \
                    const signed char *sc = (const signed char *)(block + 192);                                        \
                    for (int j = 0; j < 8; j++) {                                                                      \
                        const __m256i q = q6k_values(block, j);                                                        \
                        const __m256i scales = _mm256_set_m128i(_mm_set1_epi16(sc[2 * j + 1]), _mm_set1_epi16(sc[2 * j])); \
                        for (int t = 0; t < cn; t++) {                                                                 \
                            const signed char *a = xq + t * columns + b * 256 + 32 * j;                               \
                            sums[t] = _mm256_add_epi32(sums[t], k_scaled(q, _mm256_loadu_si256((const __m256i *)a), scales)); \
                        }                                                                                              \
                    }                                                                                                  \
                    /* the −32 offset: 32 x (sum of 16 x scale) in pairs, lane by lane as ggml's madd */               \
                    const __m256i scales16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)sc));              \
                    const float d = k_half(block + 208);                                                               \
                    for (int t = 0; t < cn; t++) {                                                                     \
                        const __m256i bsums = _mm256_loadu_si256((const __m256i *)(xb + (long)t * supers * 16 + b * 16)); \
                        const __m256i lanes = _mm256_sub_epi32(sums[t], _mm256_slli_epi32(_mm256_madd_epi16(bsums, scales16), 5)); \
                        const float dx = xd[(long)t * supers + b];                                                     \
                        if (order == KILN_K_VECDOT) {                                                                  \
                            const float scaled = dx * d;                                                               \
                            acc[r][t] = _mm256_fmadd_ps(_mm256_set1_ps(scaled), _mm256_cvtepi32_ps(lanes), acc[r][t]);  \
                        } else {                                                                                       \
                            const float result = d * (float)k_hsum_int(lanes);                                         \
                            whole[r][t] = __builtin_fmaf(result, dx, whole[r][t]);                                     \
                        }                                                                                              \
                    }                                                                                                  \
                }                                                                                                      \
            }                                                                                                          \
        }                                                                                                              \
        for (int r = 0; r < rn; r++)                                                                                   \
            for (int t = 0; t < cn; t++) {                                                                             \
                float out;                                                                                             \
                if (order == KILN_K_VECDOT) {                                                                          \
                    __m128 m = lanesMin[r][t];                                                                         \
                    m = _mm_add_ps(m, _mm_movehl_ps(m, m));                                                            \
                    m = _mm_add_ss(m, _mm_movehdup_ps(m));                                                             \
                    out = k_hsum(acc[r][t]) + _mm_cvtss_f32(m);                                                        \
                } else {                                                                                               \
                    out = whole[r][t] - wholeMin[r][t];                                                                \
                }                                                                                                      \
                y[t * ldc + r] = out;                                                                                  \
            }                                                                                                          \
    }

DEFINE_K_TILE(k_tile_avx2, AVX2)
DEFINE_K_TILE(k_tile_vnni, VNNI)

#define K_TILE_CASES(TILE, TYPE)                                                                                       \
    switch (rn * 8 + cn) {                                                                                             \
    case 4 * 8 + 4: TILE(TYPE, order, gemmRows, wt, rowBytes, xt, dt, bt, supers, yt, ldc, 4, 4); break;                               \
    case 4 * 8 + 3: TILE(TYPE, order, gemmRows, wt, rowBytes, xt, dt, bt, supers, yt, ldc, 4, 3); break;                               \
    case 4 * 8 + 2: TILE(TYPE, order, gemmRows, wt, rowBytes, xt, dt, bt, supers, yt, ldc, 4, 2); break;                               \
    case 4 * 8 + 1: TILE(TYPE, order, gemmRows, wt, rowBytes, xt, dt, bt, supers, yt, ldc, 4, 1); break;                               \
    default:                                                                                                           \
        for (int i = 0; i < rn; i++)                                                                                   \
            for (int j = 0; j < cn; j++)                                                                               \
                TILE(TYPE, order, gemmRows - j, wt + i * rowBytes, rowBytes, xt + j * columns, dt + j * supers, bt + (long)j * supers * 16, \
                     supers, yt + j * ldc + i, ldc, 1, 1);                                                             \
    }

#define DEFINE_K_GEMM(NAME, ATTR, TILE, CN)                                                                            \
    ATTR void NAME(int type, int order, const void *weights, long rowBytes, int wrows, const signed char *xq,          \
                   const float *xd, const short *xb, int xrows, int supers, float *y, long ldc) {                     \
        const unsigned char *w = (const unsigned char *)weights;                                                       \
        const long columns = (long)supers * 256;                                                                       \
        for (int r = 0; r < wrows; r += 4) {                                                                           \
            const int rn = wrows - r < 4 ? wrows - r : 4;                                                              \
            for (int t = 0; t < xrows; t += CN) {                                                                      \
                const int cn = xrows - t < CN ? xrows - t : CN;                                                        \
                /* the repack kernels' gemm takes whole groups of 4 activation rows, its gemv the rest */             \
                const int gemmRows = xrows - xrows % 4 - t;                                                            \
                const unsigned char *wt = w + r * rowBytes;                                                            \
                const signed char *xt = xq + t * columns;                                                              \
                const float *dt = xd + (long)t * supers;                                                               \
                const short *bt = xb + (long)t * supers * 16;                                                          \
                float *yt = y + t * ldc + r;                                                                           \
                if (type == KILN_Q4_K) { K_TILE_CASES(TILE, KILN_Q4_K) }                                               \
                else { K_TILE_CASES(TILE, KILN_Q6_K) }                                                                 \
            }                                                                                                          \
        }                                                                                                              \
    }

DEFINE_K_GEMM(kiln_q8k_gemm_avx2, AVX2, k_tile_avx2, 2)
DEFINE_K_GEMM(kiln_q8k_gemm_vnni, VNNI, k_tile_vnni, 4)
