/* kernel_scalar.c -- the portable twin of every SIMD kernel: plain loops,
 * baseline x86-64 / any CPU. Reductions stay in order (no -ffast-math), so
 * the compiler cannot reassociate them. */
#include <math.h>
#include "w2v.h"

static inline float vec_dot(const float *a, const float *b, int32_t n)
{
    float s = 0.0f;
    for (int32_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

/* out[k] = vec_dot(h, u[k], dim) for k < n. */
static inline void vec_dots(const float *h, const float *const *u, int32_t n, float *out, int32_t dim)
{
    for (int32_t k = 0; k < n; k++) out[k] = vec_dot(h, u[k], dim);
}

static inline void vec_axpy(float a, const float *x, float *y, int32_t n)
{
    for (int32_t i = 0; i < n; i++) y[i] += a * x[i];
}

/* Per-coordinate AdaGrad: t = s x_k; G_k += t^2; y_k += eta (t / sqrt(G_k)).
 * sqrtf is the exact IEEE square root (one sqrtss with -fno-math-errno). */
static inline void vec_adagrad(float s, const float *restrict x, float eta,
                               float *restrict G, float *restrict y, int32_t n)
{
    for (int32_t i = 0; i < n; i++) {
        float t = s * x[i];
        G[i] += t * t;
        y[i] += eta * (t / sqrtf(G[i]));
    }
}

/* vec_lincomb that also returns |y|^2, summed from the values it stores, i
 * ascending: vec_dot(y, y, dim) above bit for bit. */
static inline float vec_lincomb_sq(const float *c, int32_t cs, const float *const *x, int32_t n,
                                   float *restrict y, int32_t dim)
{
    float q = 0.0f;
    for (int32_t i = 0; i < dim; i++) {
        float s = 0.0f;
        for (int32_t k = 0; k < n; k++) s += c[(int64_t)k * cs] * x[k][i];
        y[i] = s;
        q += s * s;
    }
    return q;
}

/* y = sum_k c[k * cs] x[k], k ascending from y = 0 (the same roundings as
 * n axpys into a zeroed y); y is written once.
 * It is vec_lincomb_sq with the norm left unused: once inlined, that sum is dead
 * code, and y is the same bit for bit. */
static inline void vec_lincomb(const float *c, int32_t cs, const float *const *x, int32_t n,
                               float *restrict y, int32_t dim)
{
    (void)vec_lincomb_sq(c, cs, x, n, y, dim);
}

/* y += a * (sum_k c[k * cs] x[k]): each sum rounded as vec_lincomb rounds it,
 * then added as vec_axpy adds, so it is vec_lincomb into a scratch row and
 * vec_axpy(a, row, y) bit for bit, without the row. */
static inline void vec_lincomb_axpy(float a, const float *c, int32_t cs, const float *const *x,
                                    int32_t n, float *restrict y, int32_t dim)
{
    for (int32_t i = 0; i < dim; i++) {
        float s = 0.0f;
        for (int32_t k = 0; k < n; k++) s += c[(int64_t)k * cs] * x[k][i];
        y[i] += a * s;
    }
}

#define W2V_ISA_NAME scalar
#include "train_impl.h"
