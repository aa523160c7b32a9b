// llama.cpp's float arithmetic, operation for operation, for the GGUF fast path: its vector exp (used by SiLU and
// softmax), the summation trees of its float16 attention products (tinyBLAS for a prompt, ggml_vec_dot_f16 for one
// token) and of its softmax sum. `wide` picks the form a llama.cpp built for an AVX-512 CPU runs (16 lanes); otherwise
// the AVX2 form (8 lanes). Kiln's own engine sums in whatever order is fastest; these exist so that a quantised model's
// logits and greedy tokens equal llama.cpp's, where a single changed rounding before an int8 quantiser would move them.
#include "KilnKernels.h"

#include <immintrin.h>
#include <math.h>

// ggml_v_expf, AVX-512: exp(x) = 2^n (1 + p(b)) with n = round(x / ln 2), b = x - n ln 2 in two parts, and scalef for
// the 2^n; |n| > 192 gives 0 or infinity.
__attribute__((target("avx512f,avx512dq"))) static inline __m512 exp16(__m512 x) {
    const __m512 shifter = _mm512_set1_ps(0x1.8p23f);
    const __m512 z = _mm512_fmadd_ps(x, _mm512_set1_ps(0x1.715476p+0f), shifter);
    const __m512 n = _mm512_sub_ps(z, shifter);
    const __m512 b = _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.7f7d1cp-20f), _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.62e4p-1f), x));
    const __mmask16 far = _mm512_cmp_ps_mask(_mm512_abs_ps(n), _mm512_set1_ps(192), _CMP_GT_OQ);
    const __m512 u = _mm512_mul_ps(b, b);
    const __m512 high = _mm512_fmadd_ps(_mm512_fmadd_ps(_mm512_set1_ps(0x1.0e4020p-7f), b, _mm512_set1_ps(0x1.573e2ep-5f)), u,
                                        _mm512_fmadd_ps(_mm512_set1_ps(0x1.555e66p-3f), b, _mm512_set1_ps(0x1.fffdb6p-2f)));
    const __m512 j = _mm512_fmadd_ps(high, u, _mm512_fmadd_ps(_mm512_set1_ps(0x1.ffffecp-1f), b, _mm512_set1_ps(1.0f)));
    const __m512 result = _mm512_scalef_ps(j, n);
    if (far == 0) return result;
    const __m512 limit = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(n, _mm512_setzero_ps(), _CMP_LE_OQ), _mm512_set1_ps(INFINITY),
                                              _mm512_setzero_ps());
    return _mm512_mask_blend_ps(far, result, limit);
}

// ggml_v_expf, AVX2: the same polynomial without its constant term, 2^n built in the exponent bits, and a two-factor
// scale where |n| > 126.
__attribute__((target("avx2,fma"))) static inline __m256 exp8(__m256 x) {
    const __m256 shifter = _mm256_set1_ps(0x1.8p23f);
    const __m256 z = _mm256_fmadd_ps(x, _mm256_set1_ps(0x1.715476p+0f), shifter);
    const __m256 n = _mm256_sub_ps(z, shifter);
    const __m256 b = _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.7f7d1cp-20f), _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.62e4p-1f), x));
    const __m256i e = _mm256_slli_epi32(_mm256_castps_si256(z), 23);
    const __m256 k = _mm256_castsi256_ps(_mm256_add_epi32(e, _mm256_castps_si256(_mm256_set1_ps(1))));
    const __m256 magnitude = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), n);
    const __m256 c = _mm256_cmp_ps(magnitude, _mm256_set1_ps(126), _CMP_GT_OQ);
    const __m256 u = _mm256_mul_ps(b, b);
    const __m256 high = _mm256_fmadd_ps(_mm256_fmadd_ps(_mm256_set1_ps(0x1.0e4020p-7f), b, _mm256_set1_ps(0x1.573e2ep-5f)), u,
                                        _mm256_fmadd_ps(_mm256_set1_ps(0x1.555e66p-3f), b, _mm256_set1_ps(0x1.fffdb6p-2f)));
    const __m256 j = _mm256_fmadd_ps(high, u, _mm256_mul_ps(_mm256_set1_ps(0x1.ffffecp-1f), b));
    if (!_mm256_movemask_ps(c)) return _mm256_fmadd_ps(j, k, k);
    const __m256i g = _mm256_and_si256(_mm256_castps_si256(_mm256_cmp_ps(n, _mm256_setzero_ps(), _CMP_LE_OQ)),
                                       _mm256_set1_epi32((int)0x82000000u));
    const __m256 s1 = _mm256_castsi256_ps(_mm256_add_epi32(g, _mm256_set1_epi32(0x7f000000)));
    const __m256 s2 = _mm256_castsi256_ps(_mm256_sub_epi32(e, g));
    const __m256 far = _mm256_cmp_ps(magnitude, _mm256_set1_ps(192), _CMP_GT_OQ);
    const __m256 scaled = _mm256_or_ps(_mm256_and_ps(c, _mm256_mul_ps(_mm256_fmadd_ps(s2, j, s2), s1)),
                                       _mm256_andnot_ps(c, _mm256_fmadd_ps(k, j, k)));
    return _mm256_or_ps(_mm256_and_ps(far, _mm256_mul_ps(s1, s1)), _mm256_andnot_ps(far, scaled));
}

// GCC's _mm512_reduce_add_ps (what llama.cpp's builds use): halves added 8, 4, 2, 1 lanes apart. Written out because
// clang's intrinsic may reassociate.
__attribute__((target("avx512f,avx512dq"))) static inline float tree16(__m512 v) {
    const __m256 a = _mm256_add_ps(_mm512_extractf32x8_ps(v, 1), _mm512_castps512_ps256(v));
    const __m128 b = _mm_add_ps(_mm256_extractf128_ps(a, 1), _mm256_castps256_ps128(a));
    const __m128 c = _mm_add_ps(b, _mm_shuffle_ps(b, b, _MM_SHUFFLE(1, 0, 3, 2)));
    return _mm_cvtss_f32(c) + _mm_cvtss_f32(_mm_shuffle_ps(c, c, _MM_SHUFFLE(1, 1, 1, 1)));
}

// sgemm.cpp's hsum(__m256) and ggml's AVX2 softmax sum: halves 4 apart, then (0 + 2) + (1 + 3).
__attribute__((target("avx2,fma"))) static inline float tree8(__m256 v) {
    __m128 x = _mm_add_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    x = _mm_add_ss(x, _mm_movehdup_ps(x));
    return _mm_cvtss_f32(x);
}

// GGML_F32x8_REDUCE's last step (ggml_vec_dot_f16 on AVX2): halves 4 apart, then (0 + 1) + (2 + 3) by two hadds.
__attribute__((target("avx2,fma"))) static inline float hadd8(__m256 v) {
    const __m128 t0 = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    const __m128 t1 = _mm_hadd_ps(t0, t0);
    return _mm_cvtss_f32(_mm_hadd_ps(t1, t1));
}

__attribute__((target("avx512f,avx512dq"))) static void swiglu16(long n, float *y, const float *x, const float *g, long *done) {
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m512 v = _mm512_loadu_ps(x + i);
        const __m512 silu = _mm512_div_ps(v, _mm512_add_ps(_mm512_set1_ps(1), exp16(_mm512_sub_ps(_mm512_setzero_ps(), v))));
        _mm512_storeu_ps(y + i, _mm512_mul_ps(silu, _mm512_loadu_ps(g + i)));
    }
    *done = i;
}

__attribute__((target("avx2,fma"))) static void swiglu8(long n, float *y, const float *x, const float *g, long *done) {
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i);
        const __m256 silu = _mm256_div_ps(v, _mm256_add_ps(_mm256_set1_ps(1), exp8(_mm256_sub_ps(_mm256_setzero_ps(), v))));
        _mm256_storeu_ps(y + i, _mm256_mul_ps(silu, _mm256_loadu_ps(g + i)));
    }
    *done = i;
}

void kiln_ggml_swiglu(long n, float *y, const float *x, const float *g, int wide) {
    long i = 0;
    if (wide) swiglu16(n, y, x, g, &i); else swiglu8(n, y, x, g, &i);
    for (; i < n; i++) y[i] = x[i] / (1.0f + expf(-x[i])) * g[i];
}

__attribute__((target("avx512f,avx512dq"))) static double softmax16(long n, float *y, const float *x, float max, long *done) {
    double sum = 0;
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m512 v = exp16(_mm512_sub_ps(_mm512_loadu_ps(x + i), _mm512_set1_ps(max)));
        _mm512_storeu_ps(y + i, v);
        sum += (double)tree16(v);
    }
    *done = i;
    return sum;
}

__attribute__((target("avx2,fma"))) static double softmax8(long n, float *y, const float *x, float max, long *done) {
    double sum = 0;
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), _mm256_set1_ps(max)));
        _mm256_storeu_ps(y + i, v);
        sum += (double)tree8(v);
    }
    *done = i;
    return sum;
}

double kiln_ggml_softmax(long n, float *y, const float *x, float max, int wide) {
    long i = 0;
    double sum = wide ? softmax16(n, y, x, max, &i) : softmax8(n, y, x, max, &i);
    for (; i < n; i++) {
        y[i] = expf(x[i] - max);
        sum += (double)y[i];
    }
    return sum;
}

__attribute__((target("avx512f,avx512dq,f16c"))) static inline __m512 load16h(const unsigned short *p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
}

__attribute__((target("avx2,fma,f16c"))) static inline __m256 load8h(const unsigned short *p) {
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}

// The 16-lane tree (tree16) of sixteen vectors at once, result j from x[j]: the same pairs (lanes 8, 4, 2 and 1
// apart) added, but two, four, then sixteen keys share each add, the operands brought together by shuffles.
__attribute__((target("avx512f,avx512dq"))) static inline __m512 trees16(const __m512 x[16]) {
    __m512 a[8], b[4], c[4];
    for (int p = 0; p < 8; p++)  // [x_2p's 8 + 8 | x_2p+1's]
        a[p] = _mm512_add_ps(_mm512_shuffle_f32x4(x[2 * p], x[2 * p + 1], 0x44), _mm512_shuffle_f32x4(x[2 * p], x[2 * p + 1], 0xEE));
    for (int p = 0; p < 4; p++)  // 128-bit lane k holds key 4p + k's four sums
        b[p] = _mm512_add_ps(_mm512_shuffle_f32x4(a[2 * p], a[2 * p + 1], 0x88), _mm512_shuffle_f32x4(a[2 * p], a[2 * p + 1], 0xDD));
    for (int p = 0; p < 4; p++)  // elements 0 and 1 of each 128-bit lane: (0 + 2), (1 + 3)
        c[p] = _mm512_add_ps(b[p], _mm512_permute_ps(b[p], _MM_SHUFFLE(1, 0, 3, 2)));
    const __m512 x01 = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(c[0]), _mm512_castps_pd(c[1])));
    const __m512 x23 = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(c[2]), _mm512_castps_pd(c[3])));
    const __m512 sums = _mm512_add_ps(_mm512_shuffle_ps(x01, x23, _MM_SHUFFLE(2, 0, 2, 0)), _mm512_shuffle_ps(x01, x23, _MM_SHUFFLE(3, 1, 3, 1)));
    // element e of 128-bit lane k is key 4e + k
    return _mm512_permutexvar_ps(_mm512_set_epi32(15, 11, 7, 3, 14, 10, 6, 2, 13, 9, 5, 1, 12, 8, 4, 0), sums);
}

// One float16 query row against `keys` float16 rows `ld` apart, `dim` each.
__attribute__((target("avx512f,avx512dq,f16c"))) static void scores16(const unsigned short *q, const unsigned short *k, long ld,
                                                                      long keys, long dim, float *out, int chain) {
    long key = 0;
    if (!chain && dim % 64 == 0) {  // vec_dot_f16 without leftovers: sixteen keys' trees at once
        for (; key + 16 <= keys; key += 16) {
            __m512 x[16];
            for (int j = 0; j < 16; j++) {
                const unsigned short *row = k + (key + j) * ld;
                __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps(), s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
                for (long l = 0; l < dim; l += 64) {
                    s0 = _mm512_fmadd_ps(load16h(row + l), load16h(q + l), s0);
                    s1 = _mm512_fmadd_ps(load16h(row + l + 16), load16h(q + l + 16), s1);
                    s2 = _mm512_fmadd_ps(load16h(row + l + 32), load16h(q + l + 32), s2);
                    s3 = _mm512_fmadd_ps(load16h(row + l + 48), load16h(q + l + 48), s3);
                }
                x[j] = _mm512_add_ps(_mm512_add_ps(s0, s2), _mm512_add_ps(s1, s3));
            }
            _mm512_storeu_ps(out + key, trees16(x));
        }
    }
    for (; key < keys; key++) {
        const unsigned short *row = k + key * ld;
        if (chain) {  // tinyBLAS: one accumulator along the row, then the tree
            __m512 acc = _mm512_setzero_ps();
            for (long l = 0; l < dim; l += 16) acc = _mm512_fmadd_ps(load16h(row + l), load16h(q + l), acc);
            out[key] = tree16(acc);
        } else {  // ggml_vec_dot_f16: four accumulators per 64, paired 0+2 and 1+3, the tree, then the rest in double
            __m512 s[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
            const long whole = dim & ~63L;
            for (long l = 0; l < whole; l += 64)
                for (int j = 0; j < 4; j++) s[j] = _mm512_fmadd_ps(load16h(row + l + 16 * j), load16h(q + l + 16 * j), s[j]);
            const __m512 sum = _mm512_add_ps(_mm512_add_ps(s[0], s[2]), _mm512_add_ps(s[1], s[3]));
            double total = (double)tree16(sum);
            for (long l = whole; l < dim; l++) total += (double)(_cvtsh_ss(row[l]) * _cvtsh_ss(q[l]));
            out[key] = (float)total;
        }
    }
}

__attribute__((target("avx2,fma,f16c"))) static void scores8(const unsigned short *q, const unsigned short *k, long ld, long keys,
                                                             long dim, float *out, int chain) {
    for (long key = 0; key < keys; key++) {
        const unsigned short *row = k + key * ld;
        if (chain) {
            __m256 acc = _mm256_setzero_ps();
            for (long l = 0; l < dim; l += 8) acc = _mm256_fmadd_ps(load8h(row + l), load8h(q + l), acc);
            out[key] = tree8(acc);
        } else {
            __m256 s[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
            const long whole = dim & ~31L;
            for (long l = 0; l < whole; l += 32)
                for (int j = 0; j < 4; j++) s[j] = _mm256_fmadd_ps(load8h(row + l + 8 * j), load8h(q + l + 8 * j), s[j]);
            const __m256 sum = _mm256_add_ps(_mm256_add_ps(s[0], s[2]), _mm256_add_ps(s[1], s[3]));
            double total = (double)hadd8(sum);
            for (long l = whole; l < dim; l++) total += (double)(_cvtsh_ss(row[l]) * _cvtsh_ss(q[l]));
            out[key] = (float)total;
        }
    }
}

void kiln_ggml_scores(const unsigned short *q, const unsigned short *k, long ld, long keys, long dim, float *out, int chain,
                      int wide) {
    if (wide) scores16(q, k, ld, keys, dim, out, chain); else scores8(q, k, ld, keys, dim, out, chain);
}

// out[d] = sum over positions of p[pos] * v[pos][d]. Each output's lanes are positions (pos mod 16 for tinyBLAS,
// pos mod 64 split in four accumulators for vec_dot), so accumulator r of every channel is a row of `partial`, updated
// a whole value row at a time, then combined down the same tree per channel.
__attribute__((target("avx512f,avx512dq,f16c"))) static void weigh16(const unsigned short *p, const unsigned short *v, long ld,
                                                                     long keys, long dim, float *out, float *partial, int chain) {
    const long rows = chain ? 16 : 64, whole = dim & ~15L;
    // Accumulator rows four at a time, 64 channels at a time, held in registers while their positions (every
    // rows-th one) are added in order; each partial row is then stored once.
    for (long c0 = 0; c0 < whole; c0 += 64) {
        const long vectors = whole - c0 >= 64 ? 4 : (whole - c0) / 16;
        for (long r0 = 0; r0 < rows; r0 += 4) {
            __m512 acc[4][4];
            for (int i = 0; i < 4; i++)
                for (int k = 0; k < 4; k++) acc[i][k] = _mm512_setzero_ps();
            for (long base = r0; base < keys; base += rows) {
                for (int i = 0; i < 4 && base + i < keys; i++) {
                    const long pos = base + i;
                    if (p[pos] == 0) continue;  // a zero weight adds nothing to a finite sum (+0 kept as +0)
                    const __m512 w = _mm512_set1_ps(_cvtsh_ss(p[pos]));
                    const unsigned short *row = v + pos * ld + c0;
                    for (int k = 0; k < 4; k++)
                        if (k < vectors) acc[i][k] = _mm512_fmadd_ps(load16h(row + 16 * k), w, acc[i][k]);
                }
            }
            for (int i = 0; i < 4; i++)
                for (int k = 0; k < 4; k++)
                    if (k < vectors) _mm512_storeu_ps(partial + (r0 + i) * dim + c0 + 16 * k, acc[i][k]);
        }
    }
    if (whole < dim) {  // the channels past the last whole vector, one value at a time
        for (long r = 0; r < rows; r++)
            for (long d = whole; d < dim; d++) partial[r * dim + d] = 0;
        for (long pos = 0; pos < keys; pos++) {
            if (p[pos] == 0) continue;
            float *acc = partial + (pos % rows) * dim;
            for (long d = whole; d < dim; d++) acc[d] = fmaf(_cvtsh_ss(v[pos * ld + d]), _cvtsh_ss(p[pos]), acc[d]);
        }
    }
    // The trees of tree16 (and of vec_dot's four accumulators before it), sixteen channels per vector: lane r of
    // every channel is row r of `partial`, so each step of the tree is one vector add per sixteen channels.
    long d = 0;
    for (; d + 16 <= dim; d += 16) {
        __m512 lane[16];
        for (int r = 0; r < 16; r++) {
            lane[r] = _mm512_loadu_ps(partial + r * dim + d);
            if (!chain)
                lane[r] = _mm512_add_ps(_mm512_add_ps(lane[r], _mm512_loadu_ps(partial + (r + 32) * dim + d)),
                                        _mm512_add_ps(_mm512_loadu_ps(partial + (r + 16) * dim + d),
                                                      _mm512_loadu_ps(partial + (r + 48) * dim + d)));
        }
        for (int i = 0; i < 8; i++) lane[i] = _mm512_add_ps(lane[i], lane[i + 8]);
        for (int i = 0; i < 4; i++) lane[i] = _mm512_add_ps(lane[i], lane[i + 4]);
        _mm512_storeu_ps(out + d, _mm512_add_ps(_mm512_add_ps(lane[0], lane[2]), _mm512_add_ps(lane[1], lane[3])));
    }
    for (; d < dim; d++) {
        float lane[16];
        for (int r = 0; r < 16; r++) {
            lane[r] = partial[r * dim + d];
            if (!chain) lane[r] = (lane[r] + partial[(r + 32) * dim + d]) + (partial[(r + 16) * dim + d] + partial[(r + 48) * dim + d]);
        }
        float a[8], b[4];
        for (int i = 0; i < 8; i++) a[i] = lane[i] + lane[i + 8];
        for (int i = 0; i < 4; i++) b[i] = a[i] + a[i + 4];
        out[d] = (b[0] + b[2]) + (b[1] + b[3]);
    }
}

__attribute__((target("avx2,fma,f16c"))) static void weigh8(const unsigned short *p, const unsigned short *v, long ld, long keys,
                                                            long dim, float *out, float *partial, int chain) {
    const long rows = chain ? 8 : 32;
    for (long i = 0; i < rows * dim; i++) partial[i] = 0;
    for (long pos = 0; pos < keys; pos++) {
        if (p[pos] == 0) continue;
        const __m256 w = _mm256_set1_ps(_cvtsh_ss(p[pos]));
        float *acc = partial + (pos % rows) * dim;
        const unsigned short *row = v + pos * ld;
        long d = 0;
        for (; d + 8 <= dim; d += 8) _mm256_storeu_ps(acc + d, _mm256_fmadd_ps(load8h(row + d), w, _mm256_loadu_ps(acc + d)));
        for (; d < dim; d++) acc[d] = fmaf(_cvtsh_ss(row[d]), _cvtsh_ss(p[pos]), acc[d]);
    }
    for (long d = 0; d < dim; d++) {
        float lane[8];
        for (int r = 0; r < 8; r++) {
            lane[r] = partial[r * dim + d];
            if (!chain) lane[r] = (lane[r] + partial[(r + 16) * dim + d]) + (partial[(r + 8) * dim + d] + partial[(r + 24) * dim + d]);
        }
        float t[4];
        for (int i = 0; i < 4; i++) t[i] = lane[i] + lane[i + 4];
        out[d] = chain ? (t[0] + t[2]) + (t[1] + t[3]) : (t[0] + t[1]) + (t[2] + t[3]);
    }
}

void kiln_ggml_weigh(const unsigned short *p, const unsigned short *v, long ld, long keys, long dim, float *out, float *partial,
                     int chain, int wide) {
    if (wide) weigh16(p, v, ld, keys, dim, out, partial, chain); else weigh8(p, v, ld, keys, dim, out, partial, chain);
}

// tinyBLAS scores of up to 8 queries (float16 values widened, `dim` a multiple of 16) against 16 keys at a time from keys
// transposed to kt[l * ldt + key] (float): accumulator l of each key is a lane of a vector summing dims l, l + 16, ... in
// order, and a tree across the sixteen vectors leaves sixteen keys' scores in one. Each key line feeds every query of
// the block: one query at a time loaded every line for 16 multiply-adds, and prefill at 2,048 tokens spent most of its
// time on those loads from L2.
__attribute__((target("avx512f,avx512dq"))) void kiln_ggml_scores_chain16_rows(const float *q, long ldq, int rows,
                                                                               const float *kt, long ldt, long keys,
                                                                               long dim, float *out, long ldo) {
    if (rows <= 0) return;
    if (rows > 8) rows = 8;
    for (long key = 0; key < keys; key += 16) {
        __m512 lanes[8][16];
        for (int l = 0; l < 16; l++) {
            __m512 acc[8];
            for (int r = 0; r < 8; r++) acc[r] = _mm512_setzero_ps();
            for (long c = 0; c < dim; c += 16) {
                const __m512 k = _mm512_loadu_ps(kt + (c + l) * ldt + key);
                for (int r = 0; r < rows; r++) acc[r] = _mm512_fmadd_ps(k, _mm512_set1_ps(q[r * ldq + c + l]), acc[r]);
            }
            for (int r = 0; r < rows; r++) lanes[r][l] = acc[r];
        }
        for (int r = 0; r < rows; r++) {
            __m512 a[8], b[4];
            for (int i = 0; i < 8; i++) a[i] = _mm512_add_ps(lanes[r][i], lanes[r][i + 8]);
            for (int i = 0; i < 4; i++) b[i] = _mm512_add_ps(a[i], a[i + 4]);
            _mm512_storeu_ps(out + r * ldo + key, _mm512_add_ps(_mm512_add_ps(b[0], b[2]), _mm512_add_ps(b[1], b[3])));
        }
    }
}

// A score row's scale (ggml's vec_scale, then the mask's −∞ past the last visible key): s[j] *= scale for j < end,
// −∞ for end <= j < extent; returns the largest scaled score. Element-wise, so any vector width rounds the same.
__attribute__((target("avx2,fma,f16c"))) float kiln_ggml_scale_max(float *s, long end, long extent, float scale) {
    __m256 top = _mm256_set1_ps(-INFINITY);
    const __m256 factor = _mm256_set1_ps(scale);
    long j = 0;
    for (; j + 8 <= end; j += 8) {
        const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(s + j), factor);
        _mm256_storeu_ps(s + j, v);
        top = _mm256_max_ps(top, v);
    }
    float best = -INFINITY;
    float lanes[8];
    _mm256_storeu_ps(lanes, top);
    for (int i = 0; i < 8; i++) best = lanes[i] > best ? lanes[i] : best;
    for (; j < end; j++) {
        s[j] *= scale;
        best = s[j] > best ? s[j] : best;
    }
    for (; j < extent; j++) s[j] = -INFINITY;
    return best;
}

// p[j] = s[j] · inverse rounded to float16 (ggml's vec_scale by 1/sum, then the float16 copy PV reads).
__attribute__((target("avx2,fma,f16c"))) void kiln_ggml_scale_to_f16(const float *s, long count, float inverse, unsigned short *p) {
    const __m256 factor = _mm256_set1_ps(inverse);
    long j = 0;
    for (; j + 8 <= count; j += 8)
        _mm_storeu_si128((__m128i *)(p + j), _mm256_cvtps_ph(_mm256_mul_ps(_mm256_loadu_ps(s + j), factor), _MM_FROUND_TO_NEAREST_INT));
    for (; j < count; j++) p[j] = _cvtss_sh(s[j] * inverse, _MM_FROUND_TO_NEAREST_INT);
}

// out[l * ldo + j] = k[j * dim + l] widened, for j < rows, l < dim: a key slab transposed for the 16-key tinyBLAS
// scores, in 16 x 16 blocks so the writes run along rows of the output.
__attribute__((target("avx2,fma,f16c"))) void kiln_f16_transpose(const unsigned short *k, long rows, long dim, float *out, long ldo) {
    for (long j0 = 0; j0 < rows; j0 += 16) {
        const long jn = rows - j0 < 16 ? rows - j0 : 16;
        for (long l0 = 0; l0 < dim; l0 += 16) {
            const long ln = dim - l0 < 16 ? dim - l0 : 16;
            for (long l = 0; l < ln; l++)
                for (long j = 0; j < jn; j++) out[(l0 + l) * ldo + j0 + j] = _cvtsh_ss(k[(j0 + j) * dim + l0 + l]);
        }
    }
}
