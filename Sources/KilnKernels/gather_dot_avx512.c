// The HNSW search's distance step in AVX-512: the query against `count` stored vectors named by `ids`, four rows at a
// time so each query load feeds four fused multiply-adds, the next rows prefetched while these are summed. Intrinsics
// only; the Swift reference (HNSWIndex.gatherDotsAVX2) computes the same products.
#include "KilnKernels.h"
#include <immintrin.h>

#define TARGET __attribute__((target("avx512f,avx512vl,fma")))

TARGET void kiln_gather_dot_avx512(const float *query, const float *vectors, const int *ids, int count, int dimension, float *out) {
    int i = 0;
    const long d = dimension;
    for (int r = 0; r < count && r < 4; r++) {
        for (int p = 0; p < dimension; p += 16) _mm_prefetch((const char *)(vectors + ids[r] * d + p), _MM_HINT_T0);
    }
    for (; i + 4 <= count; i += 4) {
        const float *a = vectors + ids[i] * d, *b = vectors + ids[i + 1] * d, *c = vectors + ids[i + 2] * d, *e = vectors + ids[i + 3] * d;
        // The next rows (or these again at the end), one cache line each per step: every line of a graph walk's vectors
        // is a miss, and asking for all of them early keeps many loads in flight where the hardware would walk them.
        const float *na = i + 4 < count ? vectors + ids[i + 4] * d : a, *nb = i + 5 < count ? vectors + ids[i + 5] * d : b,
                    *nc = i + 6 < count ? vectors + ids[i + 6] * d : c, *ne = i + 7 < count ? vectors + ids[i + 7] * d : e;
        __m512 sa = _mm512_setzero_ps(), sb = _mm512_setzero_ps(), sc = _mm512_setzero_ps(), se = _mm512_setzero_ps();
        int p = 0;
        for (; p + 16 <= dimension; p += 16) {
            _mm_prefetch((const char *)(na + p), _MM_HINT_T0);
            _mm_prefetch((const char *)(nb + p), _MM_HINT_T0);
            _mm_prefetch((const char *)(nc + p), _MM_HINT_T0);
            _mm_prefetch((const char *)(ne + p), _MM_HINT_T0);
            const __m512 q = _mm512_loadu_ps(query + p);
            sa = _mm512_fmadd_ps(q, _mm512_loadu_ps(a + p), sa);
            sb = _mm512_fmadd_ps(q, _mm512_loadu_ps(b + p), sb);
            sc = _mm512_fmadd_ps(q, _mm512_loadu_ps(c + p), sc);
            se = _mm512_fmadd_ps(q, _mm512_loadu_ps(e + p), se);
        }
        if (p < dimension) {
            const __mmask16 mask = (__mmask16)((1u << (dimension - p)) - 1u);
            const __m512 q = _mm512_maskz_loadu_ps(mask, query + p);
            sa = _mm512_fmadd_ps(q, _mm512_maskz_loadu_ps(mask, a + p), sa);
            sb = _mm512_fmadd_ps(q, _mm512_maskz_loadu_ps(mask, b + p), sb);
            sc = _mm512_fmadd_ps(q, _mm512_maskz_loadu_ps(mask, c + p), sc);
            se = _mm512_fmadd_ps(q, _mm512_maskz_loadu_ps(mask, e + p), se);
        }
        out[i] = _mm512_reduce_add_ps(sa);
        out[i + 1] = _mm512_reduce_add_ps(sb);
        out[i + 2] = _mm512_reduce_add_ps(sc);
        out[i + 3] = _mm512_reduce_add_ps(se);
    }
    for (; i < count; i++) {
        const float *a = vectors + ids[i] * d;
        __m512 s = _mm512_setzero_ps();
        int p = 0;
        for (; p + 16 <= dimension; p += 16) s = _mm512_fmadd_ps(_mm512_loadu_ps(query + p), _mm512_loadu_ps(a + p), s);
        if (p < dimension) {
            const __mmask16 mask = (__mmask16)((1u << (dimension - p)) - 1u);
            s = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, query + p), _mm512_maskz_loadu_ps(mask, a + p), s);
        }
        out[i] = _mm512_reduce_add_ps(s);
    }
}
