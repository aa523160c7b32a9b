// Rounding float32 values to float16 and back in place, as llama.cpp's F16C conversions do (to nearest, ties to even,
// subnormals kept). F16C is present on every CPU with AVX2, Kiln's floor.
#include "KilnKernels.h"

#include <immintrin.h>

__attribute__((target("avx2,f16c"))) void kiln_round_f16(float *x, long count) {
    long i = 0;
    for (; i + 8 <= count; i += 8) {
        __m128i half = _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT);
        _mm256_storeu_ps(x + i, _mm256_cvtph_ps(half));
    }
    for (; i < count; i++) x[i] = _cvtsh_ss(_cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT));
}
