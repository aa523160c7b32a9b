// bfloat16 matrix products with AVX-512 BF16 (vdpbf16ps: pairs of bf16 products summed into float32 lanes), the fast
// path's form for bf16 weights. Activations are rounded to bf16 first (as PyTorch's bf16 models hold them); the weights
// are read as stored. Two shapes:
// - dot form (decode, few x rows): each weight row is read once, straight from its storage, 32 values a load, against
//   up to four x rows; the lanes are summed at the end of the row, and the rows `kiln_rows_ahead` on are prefetched;
// - broadcast form (prefill): 32 weight rows are repacked so each 32-bit lane holds one row's pair of columns, then a
//   pair of x values broadcast to all lanes meets 32 rows at once in 12 x 2 accumulators, no sums across lanes.
// Both instructions treat subnormal inputs as zero and flush subnormal results, whatever MXCSR says.
#include "KilnKernels.h"
#include <immintrin.h>
#include <string.h>
#include <time.h>

#define BF16 __attribute__((target("avx512f,avx512vl,avx512bw,avx512bf16,fma")))
#define INLINE __attribute__((always_inline)) static inline

BF16 void kiln_bf16_round_avx512(const float *x, long count, unsigned short *out) {
    long i = 0;
    for (; i + 16 <= count; i += 16) {
        __m256bh v = _mm512_cvtneps_pbh(_mm512_loadu_ps(x + i));
        _mm256_storeu_si256((__m256i *)(out + i), (__m256i)v);
    }
    if (i < count) {
        const __mmask16 mask = (__mmask16)((1u << (count - i)) - 1u);
        __m256bh v = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(mask, x + i));
        _mm256_mask_storeu_epi16(out + i, mask, (__m256i)v);
    }
}

// An rn x cn block (rn, cn <= 4) of y in the dot form; constant rn and cn keep the accumulators in registers.
BF16 INLINE void dot_block(const unsigned short *x, long ldx, const unsigned short *w, long ldw, int k, float *y,
                           long ldc, long ahead, const int rn, const int cn) {
    __m512 acc[4][4];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) acc[i][j] = _mm512_setzero_ps();
    int p = 0;
    for (; p + 32 <= k; p += 32) {
        if (ahead)
            for (int j = 0; j < cn; j++) _mm_prefetch((const char *)(w + (j + ahead) * ldw + p), _MM_HINT_T0);
        __m512bh wv[4], xv[4];
        for (int j = 0; j < cn; j++) wv[j] = (__m512bh)_mm512_loadu_si512(w + j * ldw + p);
        for (int i = 0; i < rn; i++) xv[i] = (__m512bh)_mm512_loadu_si512(x + i * ldx + p);
        for (int i = 0; i < rn; i++)
            for (int j = 0; j < cn; j++) acc[i][j] = _mm512_dpbf16_ps(acc[i][j], xv[i], wv[j]);
    }
    if (p < k) {
        const __mmask32 mask = (__mmask32)((1ull << (k - p)) - 1ull);
        __m512bh wv[4], xv[4];
        for (int j = 0; j < cn; j++) wv[j] = (__m512bh)_mm512_maskz_loadu_epi16(mask, w + j * ldw + p);
        for (int i = 0; i < rn; i++) xv[i] = (__m512bh)_mm512_maskz_loadu_epi16(mask, x + i * ldx + p);
        for (int i = 0; i < rn; i++)
            for (int j = 0; j < cn; j++) acc[i][j] = _mm512_dpbf16_ps(acc[i][j], xv[i], wv[j]);
    }
    for (int i = 0; i < rn; i++)
        for (int j = 0; j < cn; j++) y[i * ldc + j] = _mm512_reduce_add_ps(acc[i][j]);
}

BF16 void kiln_bf16_dot_avx512(const unsigned short *x, int rows, const unsigned short *w, long ldw, int count, int k,
                               float *y, long ldc) {
    const long ahead = kiln_rows_ahead(ldw * 2);
    kiln_prefetch_rows(w, ldw * 2, (long)k * 2, ahead < count ? ahead : count);
    for (int o = 0; o < count; o += 4) {
        const int cn = count - o < 4 ? count - o : 4;
        const unsigned short *wo = w + (long)o * ldw;
        int n = 0;
        if (cn == 4) {
            for (; n + 4 <= rows; n += 4) dot_block(x + (long)n * k, k, wo, ldw, k, y + n * ldc + o, ldc, ahead, 4, 4);
        }
        for (; n < rows; n++) {
            const unsigned short *xn = x + (long)n * k;
            float *yn = y + n * ldc + o;
            switch (cn) {
            case 4: dot_block(xn, k, wo, ldw, k, yn, ldc, ahead, 1, 4); break;
            case 3: dot_block(xn, k, wo, ldw, k, yn, ldc, ahead, 1, 3); break;
            case 2: dot_block(xn, k, wo, ldw, k, yn, ldc, ahead, 1, 2); break;
            default: dot_block(xn, k, wo, ldw, k, yn, ldc, ahead, 1, 1); break;
            }
        }
    }
}

// r[c] = column c of the 16 x 16 matrix of 32-bit values whose row i was r[i]: pairs within 128-bit lanes, then quads,
// then the lanes themselves.
BF16 INLINE void transpose16(__m512i r[16]) {
    __m512i t[16], u[16], v[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
    }
    // u[4g + j]: in lane L, column 4L + j of rows 4g ... 4g + 3.
    for (int g = 0; g < 4; g++) {
        u[4 * g] = _mm512_unpacklo_epi64(t[4 * g], t[4 * g + 2]);
        u[4 * g + 1] = _mm512_unpackhi_epi64(t[4 * g], t[4 * g + 2]);
        u[4 * g + 2] = _mm512_unpacklo_epi64(t[4 * g + 1], t[4 * g + 3]);
        u[4 * g + 3] = _mm512_unpackhi_epi64(t[4 * g + 1], t[4 * g + 3]);
    }
    // v[8h + j] (j < 4): columns j and 8 + j of rows 8h ... 8h + 7; v[8h + 4 + j]: columns 4 + j and 12 + j.
    for (int h = 0; h < 2; h++)
        for (int j = 0; j < 4; j++) {
            v[8 * h + j] = _mm512_shuffle_i32x4(u[8 * h + j], u[8 * h + 4 + j], 0x88);
            v[8 * h + 4 + j] = _mm512_shuffle_i32x4(u[8 * h + j], u[8 * h + 4 + j], 0xDD);
        }
    for (int j = 0; j < 8; j++) {
        r[j] = _mm512_shuffle_i32x4(v[j], v[8 + j], 0x88);
        r[8 + j] = _mm512_shuffle_i32x4(v[j], v[8 + j], 0xDD);
    }
}

// Packs `cn` (<= 32) weight rows into the panel: 32-bit lane r of pair p holds row r's columns 2p and 2p + 1; rows past
// cn are zero. An odd k's last pair gets a zero partner, which adds nothing. Sixteen pairs of sixteen rows at a time go
// through a register transpose: element by element the packing cost as much as a fifth of a bf16 prefill.
BF16 INLINE void pack_panel(const unsigned short *w, long ldw, int cn, int k, unsigned short *panel) {
    const int pairs = (k + 1) / 2;
    int p0 = 0;
    for (; p0 + 16 <= k / 2; p0 += 16)
        for (int half = 0; half < 2; half++) {
            __m512i r[16];
            for (int i = 0; i < 16; i++) {
                const int row = 16 * half + i;
                r[i] = row < cn ? _mm512_loadu_si512(w + (long)row * ldw + 2 * p0) : _mm512_setzero_si512();
            }
            transpose16(r);
            for (int c = 0; c < 16; c++) _mm512_storeu_si512(panel + (long)(p0 + c) * 64 + 32 * half, r[c]);
        }
    memset(panel + (long)p0 * 64, 0, (size_t)(pairs - p0) * 64 * sizeof(unsigned short));
    for (int r = 0; r < cn; r++) {
        const unsigned short *row = w + (long)r * ldw;
        for (int p = p0; p < k / 2; p++) {
            panel[p * 64 + 2 * r] = row[2 * p];
            panel[p * 64 + 2 * r + 1] = row[2 * p + 1];
        }
        if (k & 1) panel[(k / 2) * 64 + 2 * r] = row[k - 1];
    }
}

// rn (<= 12) x rows against one packed panel of 32 weight rows, cn of which are written.
BF16 INLINE void panel_block(const unsigned short *x, long ldx, const unsigned short *panel, int k, float *y, long ldc,
                             int cn, const int rn) {
    __m512 acc[12][2];
    for (int i = 0; i < rn; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    const int full = k / 2;
    for (int p = 0; p < full; p++) {
        const __m512bh w0 = (__m512bh)_mm512_loadu_si512(panel + p * 64);
        const __m512bh w1 = (__m512bh)_mm512_loadu_si512(panel + p * 64 + 32);
        for (int i = 0; i < rn; i++) {
            int pair;
            memcpy(&pair, x + i * ldx + 2 * p, sizeof pair);
            const __m512bh a = (__m512bh)_mm512_set1_epi32(pair);
            acc[i][0] = _mm512_dpbf16_ps(acc[i][0], a, w0);
            acc[i][1] = _mm512_dpbf16_ps(acc[i][1], a, w1);
        }
    }
    if (k & 1) {
        const __m512bh w0 = (__m512bh)_mm512_loadu_si512(panel + full * 64);
        const __m512bh w1 = (__m512bh)_mm512_loadu_si512(panel + full * 64 + 32);
        for (int i = 0; i < rn; i++) {
            const __m512bh a = (__m512bh)_mm512_set1_epi32((int)x[i * ldx + k - 1]);
            acc[i][0] = _mm512_dpbf16_ps(acc[i][0], a, w0);
            acc[i][1] = _mm512_dpbf16_ps(acc[i][1], a, w1);
        }
    }
    const __mmask16 low = (__mmask16)(cn >= 16 ? 0xFFFFu : (1u << cn) - 1u);
    const __mmask16 high = (__mmask16)(cn >= 32 ? 0xFFFFu : cn <= 16 ? 0u : (1u << (cn - 16)) - 1u);
    for (int i = 0; i < rn; i++) {
        _mm512_mask_storeu_ps(y + i * ldc, low, acc[i][0]);
        _mm512_mask_storeu_ps(y + i * ldc + 16, high, acc[i][1]);
    }
}

// rn (< 12) x rows against a panel: the remainder of a block of rows, with rn a constant in each case.
BF16 INLINE void panel_rest(const unsigned short *x, long ldx, const unsigned short *panel, int k, float *y, long ldc,
                            int cn, int rn) {
    switch (rn) {
    case 11: panel_block(x, ldx, panel, k, y, ldc, cn, 11); break;
    case 10: panel_block(x, ldx, panel, k, y, ldc, cn, 10); break;
    case 9: panel_block(x, ldx, panel, k, y, ldc, cn, 9); break;
    case 8: panel_block(x, ldx, panel, k, y, ldc, cn, 8); break;
    case 7: panel_block(x, ldx, panel, k, y, ldc, cn, 7); break;
    case 6: panel_block(x, ldx, panel, k, y, ldc, cn, 6); break;
    case 5: panel_block(x, ldx, panel, k, y, ldc, cn, 5); break;
    case 4: panel_block(x, ldx, panel, k, y, ldc, cn, 4); break;
    case 3: panel_block(x, ldx, panel, k, y, ldc, cn, 3); break;
    case 2: panel_block(x, ldx, panel, k, y, ldc, cn, 2); break;
    case 1: panel_block(x, ldx, panel, k, y, ldc, cn, 1); break;
    default: break;
    }
}

BF16 void kiln_bf16_gemm_avx512(const unsigned short *x, int rows, const unsigned short *w, long ldw, int count, int k,
                                float *y, long ldc, unsigned short *panels) {
    const long panelShorts = (long)((k + 1) / 2) * 64;
    const int panelCount = (count + 31) / 32;
    for (int q = 0; q < panelCount; q++) {
        const int cn = count - q * 32 < 32 ? count - q * 32 : 32;
        pack_panel(w + (long)q * 32 * ldw, ldw, cn, k, panels + q * panelShorts);
    }
    // Blocks of 96 x rows (at most 288 KiB of a 1,536-wide x) stay in L2 while every panel passes over them.
    for (int start = 0; start < rows; start += 96) {
        const int end = rows - start < 96 ? rows : start + 96;
        for (int q = 0; q < panelCount; q++) {
            const int cn = count - q * 32 < 32 ? count - q * 32 : 32;
            const unsigned short *panel = panels + q * panelShorts;
            int n = start;
            for (; n + 12 <= end; n += 12) panel_block(x + (long)n * k, k, panel, k, y + n * ldc + q * 32, ldc, cn, 12);
            panel_rest(x + (long)n * k, k, panel, k, y + n * ldc + q * 32, ldc, cn, end - n);
        }
    }
}

// Twelve independent chains of each instruction, so throughput, not latency, is timed.
#define CHAINS(op)                                                                                                      \
    for (long r = 0; r < rounds; r++) {                                                                                 \
        for (int i = 0; i < 12; i++) op;                                                                                \
        __asm__ volatile("" : "+v"(acc[0]), "+v"(acc[1]), "+v"(acc[2]), "+v"(acc[3]), "+v"(acc[4]), "+v"(acc[5]));     \
        __asm__ volatile("" : "+v"(acc[6]), "+v"(acc[7]), "+v"(acc[8]), "+v"(acc[9]), "+v"(acc[10]), "+v"(acc[11]));   \
    }

static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

BF16 double kiln_bf16_speedup_avx512(void) {
    const long rounds = 20000;
    __m512 acc[12];
    for (int i = 0; i < 12; i++) acc[i] = _mm512_setzero_ps();
    const __m512bh a = (__m512bh)_mm512_set1_epi32(0x3F803F80), b = a;
    const __m512 f = _mm512_set1_ps(1.0f);
    double dot = 1e9, fma = 1e9;
    for (int trial = 0; trial < 5; trial++) {
        double start = seconds();
        CHAINS(acc[i] = _mm512_dpbf16_ps(acc[i], a, b))
        const double d = seconds() - start;
        start = seconds();
        CHAINS(acc[i] = _mm512_fmadd_ps(acc[i], f, f))
        const double m = seconds() - start;
        if (d < dot) dot = d;
        if (m < fma) fma = m;
    }
    volatile float sink = _mm512_reduce_add_ps(acc[0]);
    (void)sink;
    // A bf16 dot product does 32 multiply-adds, a float32 one 16.
    return 2.0 * fma / dot;
}
