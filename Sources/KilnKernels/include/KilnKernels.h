// Kernels Swift cannot express: the engine's Swift is compiled for AVX2 (Haswell), the floor every Kiln machine has;
// these use wider instruction sets through per-function target attributes and run only where the CPU reports them.
#ifndef KILN_KERNELS_H
#define KILN_KERNELS_H

/// Whether the CPU has AVX-512 F and VL, which `kiln_tile_dot_avx512` needs.
int kiln_cpu_has_avx512(void);

/// y[n * ldc + o] = sum_k x[n * columns + k] * w[o * columns + k] for n < rows, o < count: a decode batch of x rows
/// against a tile of widened weight rows, both row-major with the reduction along their rows (AVX-512, 4 x 4 blocks).
void kiln_tile_dot_avx512(const float *x, int rows, const float *w, int count, int columns, float *y, int ldc);

#endif
