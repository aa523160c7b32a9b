// Integer products of GGUF weight blocks (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) with activations quantised to Q8 blocks, as llama.cpp's
// vec_dot and tinyBLAS kernels compute them: per 32-value block an exact integer dot product, then one float multiply-add by
// the two scales. Q4_0's −8 and Q5_0's −16 are folded into that integer (llama.cpp subtracts them from the weight bytes);
// Q4_1's and Q5_1's minimums stay a separate float term (its q4_1/q5_1 kernels add m·s per block). A tile of up to 4
// weight rows x 4 activation rows shares every unpacked block, so prefill unpacks each weight block once per 4 tokens. Two forms: AVX2 (maddubs + madd, the floor) and AVX-512 VNNI (dpbusd on 256-bit lanes).
// Intrinsics only; the Swift reference is QuantizedInteger.referenceGemm.
#include "KilnKernels.h"
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma,f16c")))
#define VNNI __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512vnni")))

// Bytes of one block of `type`: the float16 scale, Q4_1/Q5_1's float16 minimum, Q5's 4 bytes of fifth bits, the values.
static inline int block_bytes(int type) {
    return type == KILN_Q4_0 ? 18 : type == KILN_Q4_1 ? 20 : type == KILN_Q5_0 ? 22 : type == KILN_Q5_1 ? 24 : 34;
}

// Which block formats carry fifth bits (Q5), a per-block minimum (the _1 forms), and a fixed offset that the kernels fold
// into the integer dot product (Q4_0's 8, Q5_0's 16).
static inline int has_fifth_bits(int type) { return type == KILN_Q5_0 || type == KILN_Q5_1; }
static inline int has_minimum(int type) { return type == KILN_Q4_1 || type == KILN_Q5_1; }
static inline int is_folded(int type) { return type == KILN_Q4_0 || type == KILN_Q5_0; }

static inline float half_to_float(const unsigned char *p) AVX2;
static inline float half_to_float(const unsigned char *p) {
    unsigned short bits = (unsigned short)(p[0] | (p[1] << 8));
    return _cvtsh_ss(bits);
}

// 16 bytes of nibbles as 32 unsigned bytes: ggml stores value j in the low nibble of byte j and value j + 16 in its
// high nibble, so the low nibbles fill lanes 0-15 and the high ones lanes 16-31, matching the activation block's order.
#define NIBBLES(p) _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(_mm_loadu_si128((const __m128i *)(p)), 4), \
                                                     _mm_loadu_si128((const __m128i *)(p))), _mm256_set1_epi8(0x0F))

// The 32 bits at p as 32 bytes, 0x10 where the bit is set (Q5's fifth bits, already in place to OR onto the nibbles):
// byte j takes the mask byte j / 8, then keeps only bit j % 8 by comparing against a one-bit pattern.
static inline __m256i fifth_bits_avx2(const unsigned char *p) AVX2;
static inline __m256i fifth_bits_avx2(const unsigned char *p) {
    int bits;
    __builtin_memcpy(&bits, p, 4);
    const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32(bits),
        _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0x0000000000000000));
    const __m256i select = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(spread, select), select), _mm256_set1_epi8(0x10));
}

// The same with AVX-512 BW's mask-to-bytes move.
static inline __m256i fifth_bits_vnni(const unsigned char *p) VNNI;
static inline __m256i fifth_bits_vnni(const unsigned char *p) {
    unsigned int bits;
    __builtin_memcpy(&bits, p, 4);
    return _mm256_and_si256(_mm256_movm_epi8((__mmask32)bits), _mm256_set1_epi8(0x10));
}

static inline __m256i dot_avx2(__m256i u, __m256i s) AVX2;
static inline __m256i dot_avx2(__m256i u, __m256i s) {
    // u8 x s8 pairs summed to int16 (at most 2 x 255 x 128 = 65,280 only for Q8's |w| = 128, which
    // llama.cpp's quantisers never write; 15 x 127 x 2 for the nibble types), then pairs of those to int32.
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

static inline __m256i dot_vnni(__m256i u, __m256i s) VNNI;
static inline __m256i dot_vnni(__m256i u, __m256i s) { return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s); }

static inline float hsum(__m256 v) AVX2;
static inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// One rn x cn tile (rn, cn <= 4; constant at each call so the accumulators stay in registers).
#define DEFINE_TILE(NAME, ATTR, DOT, BITS)                                                                                    \
    ATTR __attribute__((always_inline)) static inline void NAME(const int type, const unsigned char *w, long rowBytes,   \
        const signed char *xq, const float *xd, const float *xs, int blocks, float *y, long ldc, const int rn,         \
        const int cn) {                                                                                                \
        __m256 acc[4][4];                                                                                              \
        float offset[4][4];                                                                                            \
        for (int r = 0; r < 4; r++)                                                                                    \
            for (int t = 0; t < 4; t++) { acc[r][t] = _mm256_setzero_ps(); offset[r][t] = 0; }                         \
        const long columns = (long)blocks * 32;                                                                        \
        const int size = block_bytes(type);                                                                            \
        /* Q4_0 and Q5_0: the offset times each lane's four activations, subtracted in the integers. */               \
        const int folded = is_folded(type);                                                                            \
        const __m256i fold = _mm256_set1_epi8(type == KILN_Q4_0 ? 8 : 16);                                             \
        for (int b = 0; b < blocks; b++) {                                                                             \
            __m256i xv[4], xo[4];                                                                                      \
            float dx[4], sx[4];                                                                                        \
            for (int t = 0; t < cn; t++) {                                                                             \
                xv[t] = _mm256_loadu_si256((const __m256i *)(xq + t * columns + b * 32));                              \
                if (folded) xo[t] = DOT(fold, xv[t]);                                                                  \
                dx[t] = xd[t * blocks + b];                                                                            \
                sx[t] = xs[t * blocks + b];                                                                            \
            }                                                                                                          \
            for (int r = 0; r < rn; r++) {                                                                             \
                const unsigned char *block = w + r * rowBytes + (long)b * size;                                       \
                /* Several rows are read at once, more streams than the hardware prefetcher follows well. */           \
                _mm_prefetch((const char *)(block + 640), _MM_HINT_T0);                                                \
                const float dw = half_to_float(block);                                                                 \
                if (type == KILN_Q8_0) {                                                                               \
                    const __m256i q = _mm256_loadu_si256((const __m256i *)(block + 2));                                \
                    const __m256i magnitude = _mm256_sign_epi8(q, q);                                                  \
                    for (int t = 0; t < cn; t++) {                                                                     \
                        const __m256i sums = DOT(magnitude, _mm256_sign_epi8(xv[t], q));                               \
                        acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums), _mm256_set1_ps(dw * dx[t]), acc[r][t]);   \
                    }                                                                                                  \
                } else {                                                                                               \
                    /* Q4: nibbles, offset 8 (folded) or the block's m; Q5: nibbles with the fifth bits ORed on. */    \
                    const int five = has_fifth_bits(type), withMin = has_minimum(type);                                \
                    const unsigned char *nibbles = block + 2 + (withMin ? 2 : 0) + (five ? 4 : 0);                     \
                    const __m256i low = NIBBLES(nibbles);                                                              \
                    const __m256i q = five ? _mm256_or_si256(low, BITS(block + (withMin ? 4 : 2))) : low;              \
                    const float m = withMin ? half_to_float(block + 2) : 0;                                            \
                    for (int t = 0; t < cn; t++) {                                                                     \
                        __m256i sums = DOT(q, xv[t]);                                                                  \
                        if (folded) sums = _mm256_sub_epi32(sums, xo[t]);                                              \
                        acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums), _mm256_set1_ps(dw * dx[t]), acc[r][t]);  \
                        if (withMin) offset[r][t] += m * sx[t];                                                        \
                    }                                                                                                  \
                }                                                                                                      \
            }                                                                                                          \
        }                                                                                                              \
        for (int r = 0; r < rn; r++)                                                                                   \
            for (int t = 0; t < cn; t++) y[t * ldc + r] = hsum(acc[r][t]) + offset[r][t];                               \
    }

DEFINE_TILE(tile_avx2, AVX2, dot_avx2, fifth_bits_avx2)
DEFINE_TILE(tile_vnni, VNNI, dot_vnni, fifth_bits_vnni)

// Walks the weight rows in tiles of 4 and, within each, the activation rows in tiles of CN (4 where there are 32 vector
// registers, 2 under AVX2's 16, so the accumulators never spill); every call below has constant type and shape, so
// each inlined copy keeps its accumulators in registers and its block layout fixed.
#define TILE_CASES(TILE, TYPE)                                                                                         \
    switch (rn * 8 + cn) {                                                                                             \
    case 4 * 8 + 4: TILE(TYPE, wt, rowBytes, xt, dt, st, blocks, yt, ldc, 4, 4); break;                                \
    case 4 * 8 + 3: TILE(TYPE, wt, rowBytes, xt, dt, st, blocks, yt, ldc, 4, 3); break;                                \
    case 4 * 8 + 2: TILE(TYPE, wt, rowBytes, xt, dt, st, blocks, yt, ldc, 4, 2); break;                                \
    case 4 * 8 + 1: TILE(TYPE, wt, rowBytes, xt, dt, st, blocks, yt, ldc, 4, 1); break;                                \
    default:                                                                                                           \
        for (int i = 0; i < rn; i++)                                                                                   \
            for (int j = 0; j < cn; j++)                                                                               \
                TILE(TYPE, wt + i * rowBytes, rowBytes, xt + j * columns, dt + (long)j * blocks, st + (long)j * blocks, \
                     blocks, yt + j * ldc + i, ldc, 1, 1);                                                             \
    }

#define DEFINE_GEMM(NAME, ATTR, TILE, CN)                                                                              \
    ATTR void NAME(int type, const void *weights, long rowBytes, int wrows, const signed char *xq, const float *xd,    \
                   const float *xs, int xrows, int blocks, float *y, long ldc) {                                      \
        const unsigned char *w = (const unsigned char *)weights;                                                       \
        const long columns = (long)blocks * 32;                                                                        \
        for (int r = 0; r < wrows; r += 4) {                                                                           \
            const int rn = wrows - r < 4 ? wrows - r : 4;                                                              \
            for (int t = 0; t < xrows; t += CN) {                                                                      \
                const int cn = xrows - t < CN ? xrows - t : CN;                                                        \
                const unsigned char *wt = w + r * rowBytes;                                                            \
                const signed char *xt = xq + t * columns;                                                              \
                const float *dt = xd + (long)t * blocks, *st = xs + (long)t * blocks;                                  \
                float *yt = y + t * ldc + r;                                                                           \
                if (type == KILN_Q4_0) { TILE_CASES(TILE, KILN_Q4_0) }                                                 \
                else if (type == KILN_Q4_1) { TILE_CASES(TILE, KILN_Q4_1) }                                            \
                else if (type == KILN_Q5_0) { TILE_CASES(TILE, KILN_Q5_0) }                                            \
                else if (type == KILN_Q5_1) { TILE_CASES(TILE, KILN_Q5_1) }                                            \
                else { TILE_CASES(TILE, KILN_Q8_0) }                                                                   \
            }                                                                                                          \
        }                                                                                                              \
    }

DEFINE_GEMM(q8_gemm_avx2_tiles, static AVX2, tile_avx2, 2)
DEFINE_GEMM(q8_gemm_vnni_tiles, static VNNI, tile_vnni, 4)

// Decoding (one activation row) with 512-bit integer products: two consecutive blocks per dpbusd, their two float16
// scales widened together and spread over the halves, so a block's integer work costs about half the instructions of
// the 256-bit tile, which is what bounds a single-row product (the weights stream from memory faster than the tile
// consumes them). The float sums stay llama.cpp's (ggml_vec_dot_q*_q8_*): one 8-lane accumulator per row taking the
// blocks in order, the offsets summed one fma per block, so decoding rounds exactly as the tile and as llama.cpp.

// [s0 x 8 | s1 x 8] from two float16 scales.
static inline __m512 pair_scales(const unsigned char *a, const unsigned char *b) VNNI;
static inline __m512 pair_scales(const unsigned char *a, const unsigned char *b) {
    unsigned short ha, hb;
    __builtin_memcpy(&ha, a, 2);
    __builtin_memcpy(&hb, b, 2);
    const __m128 both = _mm_cvtph_ps(_mm_cvtsi32_si128((int)ha | ((int)hb << 16)));
    return _mm512_permutexvar_ps(_mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0), _mm512_castps128_ps512(both));
}

VNNI __attribute__((always_inline)) static inline void row_dot_vnni(const int type, const unsigned char *w, long rowBytes,
    const signed char *xq, const float *xd, const float *xs, int blocks, float *y, const int rn) {
    const int size = block_bytes(type), five = has_fifth_bits(type), withMin = has_minimum(type), folded = is_folded(type);
    const __m512i fold = _mm512_set1_epi8(type == KILN_Q4_0 ? 8 : 16);
    __m256 acc[8];
    float offset[8];
    for (int r = 0; r < 8; r++) { acc[r] = _mm256_setzero_ps(); offset[r] = 0; }
    int b = 0;
    for (; b + 2 <= blocks; b += 2) {
        const __m512i xv = _mm512_loadu_si512((const void *)(xq + b * 32));
        const __m512i xo = folded ? _mm512_dpbusd_epi32(_mm512_setzero_si512(), fold, xv) : _mm512_setzero_si512();
        // (AVX-512 F's 64-bit insert: the 32-bit one needs DQ, which the dispatch does not check.)
        const __m512 dx = _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(_mm256_set1_ps(xd[b]))),
                                                              _mm256_castps_pd(_mm256_set1_ps(xd[b + 1])), 1));
        for (int r = 0; r < rn; r++) {
            const unsigned char *b0 = w + r * rowBytes + (long)b * size, *b1 = b0 + size;
            // The same bytes of the next pass's row: the next eight rows are one contiguous stretch, fetched while this
            // pass works (a second line for Q8_0's 68-byte pairs measured no better).
            _mm_prefetch((const char *)(b0 + 8 * rowBytes), _MM_HINT_T0);
            const __m512 scale = _mm512_mul_ps(pair_scales(b0, b1), dx);
            __m512i sums;
            if (type == KILN_Q8_0) {
                const __m512i q = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(b0 + 2))),
                                                     _mm256_loadu_si256((const __m256i *)(b1 + 2)), 1);
                // |w| · (x with w's sign): dpbusd multiplies unsigned by signed bytes.
                const __mmask64 negative = _mm512_movepi8_mask(q);
                const __m512i signedX = _mm512_mask_sub_epi8(xv, negative, _mm512_setzero_si512(), xv);
                sums = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_abs_epi8(q), signedX);
            } else {
                const unsigned char *n0 = b0 + 2 + (withMin ? 2 : 0) + (five ? 4 : 0), *n1 = n0 + size;
                __m256i q0 = NIBBLES(n0), q1 = NIBBLES(n1);
                if (five) {
                    q0 = _mm256_or_si256(q0, fifth_bits_vnni(b0 + (withMin ? 4 : 2)));
                    q1 = _mm256_or_si256(q1, fifth_bits_vnni(b1 + (withMin ? 4 : 2)));
                }
                sums = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_inserti64x4(_mm512_castsi256_si512(q0), q1, 1), xv);
                if (folded) sums = _mm512_sub_epi32(sums, xo);
                if (withMin)
                    offset[r] = __builtin_fmaf(half_to_float(b1 + 2), xs[b + 1], __builtin_fmaf(half_to_float(b0 + 2), xs[b], offset[r]));
            }
            const __m512 products = _mm512_cvtepi32_ps(sums);
            acc[r] = _mm256_fmadd_ps(_mm512_castps512_ps256(products), _mm512_castps512_ps256(scale), acc[r]);
            acc[r] = _mm256_fmadd_ps(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(products), 1)),
                                     _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(scale), 1)), acc[r]);
        }
    }
    if (b < blocks) {  // an odd last block, 256 bits wide, in the same chains
        const __m256i xv = _mm256_loadu_si256((const __m256i *)(xq + b * 32));
        const __m256i xo = folded ? dot_vnni(_mm512_castsi512_si256(fold), xv) : _mm256_setzero_si256();
        for (int r = 0; r < rn; r++) {
            const unsigned char *block = w + r * rowBytes + (long)b * size;
            const float dw = half_to_float(block);
            __m256i sums;
            if (type == KILN_Q8_0) {
                const __m256i q = _mm256_loadu_si256((const __m256i *)(block + 2));
                sums = dot_vnni(_mm256_sign_epi8(q, q), _mm256_sign_epi8(xv, q));
            } else {
                const __m256i low = NIBBLES(block + 2 + (withMin ? 2 : 0) + (five ? 4 : 0));
                sums = dot_vnni(five ? _mm256_or_si256(low, fifth_bits_vnni(block + (withMin ? 4 : 2))) : low, xv);
                if (folded) sums = _mm256_sub_epi32(sums, xo);
                if (withMin) offset[r] = __builtin_fmaf(half_to_float(block + 2), xs[b], offset[r]);
            }
            acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums), _mm256_set1_ps(dw * xd[b]), acc[r]);
        }
    }
    for (int r = 0; r < rn; r++) y[r] = hsum(acc[r]) + offset[r];
}

// Decoding at the AVX2 floor: one block per step in the tile's float order, but eight rows in flight (eight
// independent fma chains where the tile's four waited on latency) and the next pass's rows prefetched.
AVX2 __attribute__((always_inline)) static inline void row_dot_avx2(const int type, const unsigned char *w, long rowBytes,
    const signed char *xq, const float *xd, const float *xs, int blocks, float *y, const int rn) {
    const int size = block_bytes(type), five = has_fifth_bits(type), withMin = has_minimum(type), folded = is_folded(type);
    const __m256i fold = _mm256_set1_epi8(type == KILN_Q4_0 ? 8 : 16);
    __m256 acc[8];
    float offset[8];
    for (int r = 0; r < 8; r++) { acc[r] = _mm256_setzero_ps(); offset[r] = 0; }
    for (int b = 0; b < blocks; b++) {
        const __m256i xv = _mm256_loadu_si256((const __m256i *)(xq + b * 32));
        const __m256i xo = folded ? dot_avx2(fold, xv) : _mm256_setzero_si256();
        const float dx = xd[b], sx = xs[b];
        for (int r = 0; r < rn; r++) {
            const unsigned char *block = w + r * rowBytes + (long)b * size;
            _mm_prefetch((const char *)(block + 8 * rowBytes), _MM_HINT_T0);
            const float dw = half_to_float(block);
            __m256i sums;
            if (type == KILN_Q8_0) {
                const __m256i q = _mm256_loadu_si256((const __m256i *)(block + 2));
                sums = dot_avx2(_mm256_sign_epi8(q, q), _mm256_sign_epi8(xv, q));
            } else {
                const __m256i low = NIBBLES(block + 2 + (withMin ? 2 : 0) + (five ? 4 : 0));
                sums = dot_avx2(five ? _mm256_or_si256(low, fifth_bits_avx2(block + (withMin ? 4 : 2))) : low, xv);
                if (folded) sums = _mm256_sub_epi32(sums, xo);
                // The tile's expression, so the compiler treats it alike (it contracts it to an fma in both).
                const float m = withMin ? half_to_float(block + 2) : 0;
                if (withMin) offset[r] += m * sx;
            }
            acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums), _mm256_set1_ps(dw * dx), acc[r]);
        }
    }
    for (int r = 0; r < rn; r++) y[r] = hsum(acc[r]) + offset[r];
}

// Eight rows at a time: each row's float sum is one dependent chain of fmas, so eight chains in flight keep the FMA
// units busy where four left them waiting on latency.
#define ROW_CASES(ROW, TYPE)                                                                                           \
    switch (rn) {                                                                                                      \
    case 8: ROW(TYPE, wt, rowBytes, xq, xd, xs, blocks, y + r, 8); break;                                              \
    case 7: ROW(TYPE, wt, rowBytes, xq, xd, xs, blocks, y + r, 7); break;                                              \
    case 6: ROW(TYPE, wt, rowBytes, xq, xd, xs, blocks, y + r, 6); break;                                              \
    case 5: ROW(TYPE, wt, rowBytes, xq, xd, xs, blocks, y + r, 5); break;                                              \
    case 4: ROW(TYPE, wt, rowBytes, xq, xd, xs, blocks, y + r, 4); break;                                              \
    case 3: ROW(TYPE, wt, rowBytes, xq, xd, xs, blocks, y + r, 3); break;                                              \
    case 2: ROW(TYPE, wt, rowBytes, xq, xd, xs, blocks, y + r, 2); break;                                              \
    default: ROW(TYPE, wt, rowBytes, xq, xd, xs, blocks, y + r, 1); break;                                             \
    }

// The public entry of each form: one activation row takes the single-row kernel, more take the tiles.
#define DEFINE_ENTRY(NAME, ATTR, TILES, ROW)                                                                           \
    ATTR void NAME(int type, const void *weights, long rowBytes, int wrows, const signed char *xq, const float *xd,    \
                   const float *xs, int xrows, int blocks, float *y, long ldc) {                                      \
        if (xrows != 1) {                                                                                              \
            TILES(type, weights, rowBytes, wrows, xq, xd, xs, xrows, blocks, y, ldc);                                  \
            return;                                                                                                    \
        }                                                                                                              \
        const unsigned char *w = (const unsigned char *)weights;                                                       \
        for (int r = 0; r < wrows; r += 8) {                                                                           \
            const int rn = wrows - r < 8 ? wrows - r : 8;                                                              \
            const unsigned char *wt = w + r * rowBytes;                                                                \
            if (type == KILN_Q4_0) { ROW_CASES(ROW, KILN_Q4_0) }                                                       \
            else if (type == KILN_Q4_1) { ROW_CASES(ROW, KILN_Q4_1) }                                                  \
            else if (type == KILN_Q5_0) { ROW_CASES(ROW, KILN_Q5_0) }                                                  \
            else if (type == KILN_Q5_1) { ROW_CASES(ROW, KILN_Q5_1) }                                                  \
            else { ROW_CASES(ROW, KILN_Q8_0) }                                                                         \
        }                                                                                                              \
    }

DEFINE_ENTRY(kiln_q8_gemm_avx2, AVX2, q8_gemm_avx2_tiles, row_dot_avx2)
DEFINE_ENTRY(kiln_q8_gemm_vnni, VNNI, q8_gemm_vnni_tiles, row_dot_vnni)

