/* kernel_scalar.c -- the portable twin of every SIMD kernel: plain loops,
 * baseline x86-64 / any CPU. Reductions stay in order (no -ffast-math), so
 * the compiler cannot reassociate them. */
#include "w2v.h"

static inline float vec_dot(const float *a, const float *b, int32_t n)
{
    float s = 0.0f;
    for (int32_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

static inline void vec_axpy(float a, const float *x, float *y, int32_t n)
{
    for (int32_t i = 0; i < n; i++) y[i] += a * x[i];
}

#define W2V_ISA_NAME scalar
#include "train_impl.h"
