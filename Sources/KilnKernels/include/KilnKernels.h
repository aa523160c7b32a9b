// Kernels Swift cannot express: the engine's Swift is compiled for AVX2 (Haswell), the floor every Kiln machine has;
// these use wider instruction sets through per-function target attributes and run only where the CPU reports them.
#ifndef KILN_KERNELS_H
#define KILN_KERNELS_H

/// Bits of `kiln_cpu_features`.
enum {
    KILN_CPU_AVX2 = 1,          // AVX2 and FMA: the floor every kernel assumes (KilnHost checks F16C before any kernel runs)
    KILN_CPU_AVX512 = 2,        // AVX-512 F, VL, BW and DQ
    KILN_CPU_AVX512_VNNI = 4,   // int8 dot products (vpdpbusd)
    KILN_CPU_AVX512_BF16 = 8,   // bfloat16 dot products (vdpbf16ps)
};

/// The instruction sets this CPU reports (CPUID, and the OS's saving of their registers), as `KILN_CPU_*` bits.
int kiln_cpu_features(void);

/// GGUF block types of the integer kernels (values are Kiln's, not ggml's).
enum { KILN_Q4_0 = 0, KILN_Q4_1 = 1, KILN_Q8_0 = 2, KILN_Q4_K = 3, KILN_Q6_K = 4, KILN_Q5_0 = 5, KILN_Q5_1 = 6 };

/// y[t * ldc + r] = row r of `weights` (`wrows` rows of `blocks` blocks of `type`, `rowBytes` apart) dotted with
/// activation row t (`xrows` rows of blocks x 32 int8 in `xq`, scales xd[t * blocks + b], and xs[t * blocks + b] =
/// scale x sum of the block's values, which Q4_1's and Q5_1's minimums use), as llama.cpp's vec_dot and tinyBLAS
/// compute it. AVX2 form.
void kiln_q8_gemm_avx2(int type, const void *weights, long rowBytes, int wrows, const signed char *xq, const float *xd,
                       const float *xs, int xrows, int blocks, float *y, long ldc);

/// `kiln_q8_gemm_avx2` with AVX-512 VNNI dot products.
void kiln_q8_gemm_vnni(int type, const void *weights, long rowBytes, int wrows, const signed char *xq, const float *xd,
                       const float *xs, int xrows, int blocks, float *y, long ldc);

/// Which llama.cpp kernel's float order a K-quant product follows (q8k_gemm.c): ggml_vec_dot (fewer than 8 activation
/// rows), ggml-cpu/tiled (8 or more), or the CPU_REPACK q4_K_8x8 kernels (Q4_K matrices of a multiple of 8 rows).
enum { KILN_K_VECDOT = 0, KILN_K_TILED = 1, KILN_K_REPACK = 2 };

/// y[t * ldc + r] = row r of `weights` (`wrows` rows of `supers` Q4_K or Q6_K super-blocks) dotted with activation row t
/// quantised as llama.cpp's Q8_K (`supers` x 256 int8 per row in `xq`, scale xd[t * supers + b], and the sum of each
/// 16 values in xb[(t * supers + b) * 16 + j]), in the float order `order` (`KILN_K_*`). AVX2 form.
void kiln_q8k_gemm_avx2(int type, int order, const void *weights, long rowBytes, int wrows, const signed char *xq,
                        const float *xd, const short *xb, int xrows, int supers, float *y, long ldc);

/// `kiln_q8k_gemm_avx2` with AVX-512 VNNI dot products, following a llama.cpp built for AVX-512 VNNI.
void kiln_q8k_gemm_vnni(int type, int order, const void *weights, long rowBytes, int wrows, const signed char *xq,
                        const float *xd, const short *xb, int xrows, int supers, float *y, long ldc);

/// x[i] rounded to float16 (to nearest, ties to even, subnormals kept) and widened back, in place: llama.cpp's float16
/// KV cache and float16 operands, through F16C.
void kiln_round_f16(float *x, long count);

/// out[i] = x[i] as float16 bits (to nearest, ties to even): a float16 KV cache's rows.
void kiln_to_f16(const float *x, unsigned short *out, long count);

/// scores[g * sstride + j] = scale * (q + g * qstride) . rows[j] for g < heads, j < count, rows float16 of `width`:
/// one KV group's query heads against a chunk of a float16 key cache, each row widened once.
void kiln_dots_f16(const float *q, long qstride, int heads, const unsigned short *rows, long count, long width, float scale,
                   float *scores, long sstride);

/// out[g * ostride + d] += sum_j p[g * pstride + j] * rows[j][d]: one KV group's probability rows weighing a chunk of a
/// float16 value cache.
void kiln_weigh_f16(const float *p, long pstride, int heads, const unsigned short *rows, long count, long width, float *out,
                    long ostride);

/// `kiln_dots_f16` over a float32 cache: scores[g * sstride + j] = scale * (q + g * qstride) . rows[j].
void kiln_dots_f32(const float *q, long qstride, int heads, const float *rows, long count, long width, float scale,
                   float *scores, long sstride);

/// `kiln_weigh_f16` over a float32 cache: out[g * ostride + d] += sum_j p[g * pstride + j] * rows[j][d].
void kiln_weigh_f32(const float *p, long pstride, int heads, const float *rows, long count, long width, float *out,
                    long ostride);

/// out[i] = x[i] rounded to bfloat16, to nearest with ties to even, subnormals to zero (AVX-512 BF16's conversion).
void kiln_bf16_round_avx512(const float *x, long count, unsigned short *out);

/// y[n * ldc + o] = sum_j x[n * k + j] * w[o * ldw + j] for n < rows, o < count, x and w bfloat16, summed in float32 by
/// AVX-512 BF16 dot products: the dot form, weight rows read once in place (decode and decode batches).
void kiln_bf16_dot_avx512(const unsigned short *x, int rows, const unsigned short *w, long ldw, int count, int k,
                          float *y, long ldc);

/// How many weight rows of `rowBytes` ahead a decode kernel asks the CPU to load (a multiple of 4, about 16 KiB ahead;
/// 0 for rows of 4 KiB or more). The hardware prefetcher ramps up on each row anew, so rows of one or two KiB read
/// straight from memory reached only three quarters of the bandwidth a prefetching sum reaches (bf16 rows of 1,152 bytes:
/// 24 -> 32 GB/s on 2 cores); long rows it streams well on its own, and prefetching those ran slower.
static inline long kiln_rows_ahead(long rowBytes) {
    if (rowBytes <= 0 || rowBytes >= 4096) return 0;
    const long rows = (16384 + rowBytes - 1) / rowBytes;
    return (rows + 3) / 4 * 4;
}

/// Asks the CPU to load `rows` rows of `rowBytes` from `w` (`ldwBytes` apart) at once: the start of a decode kernel's
/// walk, which the prefetches `kiln_rows_ahead` rows ahead of each block would otherwise reach only one block at a time.
static inline void kiln_prefetch_rows(const void *w, long ldwBytes, long rowBytes, long rows) {
    for (long r = 0; r < rows; r++)
        for (long b = 0; b < rowBytes; b += 64) __builtin_prefetch((const char *)w + r * ldwBytes + b, 0, 3);
}

/// y[n * ldc + o] = sum_j x[n, j] * w[o * ldw + j] for n < rows, o < count, w bfloat16 widened exactly to float32 and
/// summed in float32: the exact path's decode product (AVX-512 F). k is a multiple of 32 and xs holds each x row split
/// per 32 columns into its 16 even- then 16 odd-indexed values (`QuantizedDot.pairSplit`), k floats per row.
void kiln_bf16_widen_dot_avx512(const float *xs, int rows, const unsigned short *w, long ldw, int count, int k, float *y,
                                long ldc);

/// The same product in the broadcast form (prefill): the weight rows are first repacked into `panels`, which holds
/// ceil(count / 32) x ceil(k / 2) x 64 values.
void kiln_bf16_gemm_avx512(const unsigned short *x, int rows, const unsigned short *w, long ldw, int count, int k,
                           float *y, long ldc, unsigned short *panels);

/// How many times more multiply-adds per second AVX-512 BF16 dot products do than float32 fused multiply-adds on this
/// core, timed over a few thousand instructions of each (2 where both run at one instruction a cycle; Intel's Sapphire
/// and Emerald Rapids measured 0.5, AMD's Zen 4 about 2): the broadcast form pays only where it is above 1.
double kiln_bf16_speedup_avx512(void);

/// Widens `count` consecutive blocks of `type` (KILN_Q4_0, KILN_Q4_1 or KILN_Q8_0) to 32 floats each, exactly as
/// `GGUFQuant.dequantizeBlock` (AVX-512 BW); returns 0, writing nothing, for any other type.
int kiln_widen_blocks_avx512(int type, const void *blocks, long count, float *out);

/// out = x with each 32-value block replaced by its Q8_0 quantisation and back (scale amax / 127 rounded to float16,
/// values x · 127 / amax rounded half to even): `QuantizedInteger.roundTrip32`'s arithmetic, AVX-512.
void kiln_q8_0_round_trip_avx512(const float *x, long blocks, float *out);

/// out = x with each 256-value block replaced by its Q8_K quantisation and back (`QuantizedInteger.roundTrip256`).
void kiln_q8_k_round_trip_avx512(const float *x, long blocks, float *out);

/// Bytes ahead of the read position that the streaming decode kernel prefetches (512 B to 8 KB measured alike on Zen 5).
#define KILN_STREAM_AHEAD 2048

/// y[n * ldc + o] = sum_j x[n * k + j] * w[o * ldw + j] for n < rows, o < count, float32: decoding's product, each weight
/// row read once in place, front to back, and dotted with every x row while in L1 (AVX-512 F).
void kiln_f32_stream_dot_avx512(const float *x, int rows, const float *w, long ldw, int count, int k, float *y, long ldc);

/// y[n * ldc + o] = sum_k x[n * columns + k] * w[o * columns + k] for n < rows, o < count: a decode batch of x rows
/// against weight rows, both row-major with the reduction along their rows (AVX-512, 4 x 4 blocks; a tile in cache).
void kiln_tile_dot_avx512(const float *x, int rows, const float *w, int count, int columns, float *y, int ldc);

/// sum of x[0 ..< n], the memory read probe's loop: AVX-512 where `wide` (else AVX2), eight accumulators, each line
/// prefetched 4 KiB ahead, so the figure is the memory's and not the hardware prefetcher's.
float kiln_read_sum(const float *x, long n, int wide);

/// out[i] = dot(query, vectors[ids[i] * dimension ..< (ids[i] + 1) * dimension]) for i < count (AVX-512): the
/// distances of one HNSW expansion, four stored vectors per pass over the query.
void kiln_gather_dot_avx512(const float *query, const float *vectors, const int *ids, int count, int dimension, float *out);

/// Takes the one-byte spin lock at `lock` (0 free, 1 held): HNSW construction holds a node's lock only while it
/// reads or rewrites that node's short neighbour list, far shorter than a mutex's sleep and wake.
static inline void kiln_spin_lock(unsigned char *lock) {
    while (__atomic_exchange_n(lock, 1, __ATOMIC_ACQUIRE)) {
        while (__atomic_load_n(lock, __ATOMIC_RELAXED)) __builtin_ia32_pause();
    }
}

/// Releases a lock taken by `kiln_spin_lock`.
static inline void kiln_spin_unlock(unsigned char *lock) { __atomic_store_n(lock, 0, __ATOMIC_RELEASE); }

/// Adds `amount` to `*counter` atomically and returns the value before: work handed out to threads one item at a time.
static inline long kiln_fetch_add(long *counter, long amount) { return __atomic_fetch_add(counter, amount, __ATOMIC_RELAXED); }

/// y[t * ldy + r] = sum_p w[r * k + p] * x[t, p] (+ bias[r]) for r < rows, t < m: float32 weight rows in place against activations
/// transposed into 64-token panels, AVX-512 broadcast form (prefill). mp is m rounded up to 16; panel t0 = 0, 64, …
/// starts at xt + t0 * k and holds x[t0 + i, p] at p * width + i, width = min(64, mp - t0). yt (rows * mp floats) holds
/// the partial sums between 128-step blocks of the reduction.
void kiln_sgemm_stripe_avx512(const float *xt, int mp, int k, const float *w, const float *bias, int rows, float *yt,
                              float *y, long ldy, int m);

/// c[r * ldc + j] = alpha * sum_{p0 <= p < p1} a[r * lda + p] * b[p * ldb + j] (+ c[r * ldc + j] when accumulate) for
/// r < rows (at most 6), j < n: one row block of SmallGemm's small row-major products, AVX-512 (attention's heads).
void kiln_small_gemm_rows_avx512(const float *a, long lda, const float *b, long ldb, float *c, long ldc, int rows,
                                 int n, int p0, int p1, float alpha, int accumulate);

/// out[j * ldo + i] = in[i * ldi + j] for i < rows, j < columns, in 8 x 8 register blocks.
void kiln_transpose_avx512(const float *in, int rows, int columns, long ldi, float *out, long ldo);

/// Asks the CPU to start loading the cache line at `address`: a graph walk knows its next vectors before it needs them.
static inline void kiln_prefetch(const void *address) { __builtin_prefetch(address, 0, 3); }

/// y[i] = silu(x[i]) * g[i] as llama.cpp's ggml_vec_swiglu_f32 computes it (its vector exp; libm's expf for the tail).
/// `wide`: the AVX-512 build's 16-lane form, else the AVX2 build's 8-lane form.
void kiln_ggml_swiglu(long n, float *y, const float *x, const float *g, int wide);

/// y[i] = exp(x[i] - max) and their sum in double, as ggml_vec_soft_max_f32 (per-vector float sums added in double).
double kiln_ggml_softmax(long n, float *y, const float *x, float max, int wide);

/// out[j] = q . k[j * ld ...] over `dim` float16 values for j < keys, in llama.cpp's order: `chain` tinyBLAS's (a
/// prompt of two or more tokens; dim a multiple of the lane count), else ggml_vec_dot_f16's (one token).
void kiln_ggml_scores(const unsigned short *q, const unsigned short *k, long ld, long keys, long dim, float *out, int chain,
                      int wide);

/// `kiln_ggml_scores` in tinyBLAS's 16-lane order for `rows` (<= 8) queries `ldq` apart and 16 keys at a time, keys
/// transposed to kt[l * ldt + key] (float, keys rounded up to 16 columns), each query the float16 values widened; query
/// r's scores go to out + r * ldo.
void kiln_ggml_scores_chain16_rows(const float *q, long ldq, int rows, const float *kt, long ldt, long keys, long dim,
                                   float *out, long ldo);

/// out[d] = sum_pos p[pos] * v[pos * ld + d] for pos < keys, d < dim (float16 p and v), in llama.cpp's order for the
/// same `chain` choice; `partial` holds 64 * dim floats.
void kiln_ggml_weigh(const unsigned short *p, const unsigned short *v, long ld, long keys, long dim, float *out, float *partial,
                     int chain, int wide);

/// A score row scaled for its softmax: s[j] *= scale for j < end, −∞ for end <= j < extent; returns the largest.
float kiln_ggml_scale_max(float *s, long end, long extent, float scale);

/// p[j] = s[j] * inverse as float16 bits (to nearest, ties to even): normalised probabilities as PV reads them.
void kiln_ggml_scale_to_f16(const float *s, long count, float inverse, unsigned short *p);

/// out[l * ldo + j] = k[j * dim + l] widened from float16, for j < rows and l < dim (a key slab transposed).
void kiln_f16_transpose(const unsigned short *k, long rows, long dim, float *out, long ldo);

#endif
