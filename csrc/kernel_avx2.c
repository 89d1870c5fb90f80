/* kernel_avx2.c -- AVX2 + FMA primitives. The target pragma enables the ISA
 * for this file only; the dispatcher calls it only when the CPU has it, so
 * the package never needs -march=native. */
#if defined(__x86_64__) || defined(__i386__)
#pragma GCC target("avx2,fma")
#include <immintrin.h>
#include <math.h>
#include "w2v.h"

static inline float hsum256(__m256 v)
{
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
    return _mm_cvtss_f32(lo);
}

static inline float vec_dot(const float *a, const float *b, int32_t n)
{
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int32_t i = 0;
    /* Two accumulators hide the FMA latency for dim ~100. */
    for (; i + 16 <= n; i += 16) {
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
    }
    for (; i + 8 <= n; i += 8)
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    float s = hsum256(_mm256_add_ps(acc0, acc1));
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

static inline void vec_axpy(float a, const float *x, float *y, int32_t n)
{
    __m256 va = _mm256_set1_ps(a);
    int32_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] += a * x[i];
}

/* Per-coordinate AdaGrad, 8 lanes at a time: vsqrtps and vdivps are the
 * exact IEEE operations (correctly rounded), never the rsqrt approximation. */
static inline void vec_adagrad(float s, const float *restrict x, float eta,
                               float *restrict G, float *restrict y, int32_t n)
{
    __m256 vs = _mm256_set1_ps(s), ve = _mm256_set1_ps(eta);
    int32_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 t = _mm256_mul_ps(vs, _mm256_loadu_ps(x + i));
        __m256 g = _mm256_fmadd_ps(t, t, _mm256_loadu_ps(G + i));
        _mm256_storeu_ps(G + i, g);
        __m256 d = _mm256_div_ps(t, _mm256_sqrt_ps(g));
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(ve, d, _mm256_loadu_ps(y + i)));
    }
    for (; i < n; i++) {
        float t = s * x[i];
        G[i] += t * t;
        y[i] += eta * (t / sqrtf(G[i]));
    }
}

/* vec_lincomb that also returns |y|^2, accumulated (FMA) from the registers
 * it stores, so y is not read again. The 8-float blocks go to q0 and q1
 * alternately, as vec_dot's to acc0 and acc1: the result is vec_dot(y, y, dim)
 * bit for bit. */
static inline float vec_lincomb_sq(const float *c, int32_t cs, const float *const *x, int32_t n,
                                   float *restrict y, int32_t dim)
{
    __m256 q0 = _mm256_setzero_ps(), q1 = q0;
    int32_t i = 0;
    for (; i + 32 <= dim; i += 32) {
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int32_t k = 0; k < n; k++) {
            __m256 v = _mm256_set1_ps(c[(int64_t)k * cs]);
            const float *r = x[k] + i;
            a0 = _mm256_fmadd_ps(v, _mm256_loadu_ps(r), a0);
            a1 = _mm256_fmadd_ps(v, _mm256_loadu_ps(r + 8), a1);
            a2 = _mm256_fmadd_ps(v, _mm256_loadu_ps(r + 16), a2);
            a3 = _mm256_fmadd_ps(v, _mm256_loadu_ps(r + 24), a3);
        }
        _mm256_storeu_ps(y + i, a0);
        _mm256_storeu_ps(y + i + 8, a1);
        _mm256_storeu_ps(y + i + 16, a2);
        _mm256_storeu_ps(y + i + 24, a3);
        q0 = _mm256_fmadd_ps(a0, a0, q0);
        q1 = _mm256_fmadd_ps(a1, a1, q1);
        q0 = _mm256_fmadd_ps(a2, a2, q0);
        q1 = _mm256_fmadd_ps(a3, a3, q1);
    }
    for (; i + 8 <= dim; i += 8) {
        __m256 a0 = _mm256_setzero_ps();
        for (int32_t k = 0; k < n; k++)
            a0 = _mm256_fmadd_ps(_mm256_set1_ps(c[(int64_t)k * cs]), _mm256_loadu_ps(x[k] + i), a0);
        _mm256_storeu_ps(y + i, a0);
        if ((i >> 3) & 1)
            q1 = _mm256_fmadd_ps(a0, a0, q1);
        else
            q0 = _mm256_fmadd_ps(a0, a0, q0);
    }
    float q = hsum256(_mm256_add_ps(q0, q1));
    for (; i < dim; i++) {
        float s = 0.0f;
        for (int32_t k = 0; k < n; k++) s += c[(int64_t)k * cs] * x[k][i];
        y[i] = s;
        q += s * s;
    }
    return q;
}

/* y = sum_k c[k * cs] x[k], k ascending from y = 0 (the same roundings as
 * n axpys into a zeroed y): 32 floats of y stay in registers across k.
 * It is vec_lincomb_sq with the norm left unused: once inlined, that sum is dead
 * code, and y is the same bit for bit. */
static inline void vec_lincomb(const float *c, int32_t cs, const float *const *x, int32_t n,
                               float *restrict y, int32_t dim)
{
    (void)vec_lincomb_sq(c, cs, x, n, y, dim);
}

#define W2V_ISA_NAME avx2
#include "train_impl.h"
#endif
