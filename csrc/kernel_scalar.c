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

/* The lincombs' one loop: s = sum_k c[k * cs] x[k][i], k ascending from 0
 * (the same roundings as n axpys into a zeroed row). add = 0: y = s, and
 * |y|^2 is returned, summed from the values stored, i ascending: vec_dot(y,
 * y, dim) above bit for bit. add = 1: y += a * s as vec_axpy adds (no norm),
 * so it is the add = 0 row, then vec_axpy(a, row, y), without the row. */
static inline float lincomb(const float *c, int32_t cs, const float *const *x, int32_t n,
                            float *restrict y, int32_t dim, float a, int add)
{
    float q = 0.0f;
    for (int32_t i = 0; i < dim; i++) {
        float s = 0.0f;
        for (int32_t k = 0; k < n; k++) s += c[(int64_t)k * cs] * x[k][i];
        if (add) {
            y[i] += a * s;
        } else {
            y[i] = s;
            q += s * s;
        }
    }
    return q;
}

static inline float vec_lincomb_sq(const float *c, int32_t cs, const float *const *x, int32_t n,
                                   float *restrict y, int32_t dim)
{
    return lincomb(c, cs, x, n, y, dim, 0.0f, 0);
}

static inline void vec_lincomb(const float *c, int32_t cs, const float *const *x, int32_t n,
                               float *restrict y, int32_t dim)
{
    (void)lincomb(c, cs, x, n, y, dim, 0.0f, 0);
}

static inline void vec_lincomb_axpy(float a, const float *c, int32_t cs, const float *const *x,
                                    int32_t n, float *restrict y, int32_t dim)
{
    (void)lincomb(c, cs, x, n, y, dim, a, 1);
}

#define W2V_ISA_NAME scalar
#include "train_impl.h"
