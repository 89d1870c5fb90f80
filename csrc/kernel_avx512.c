/* kernel_avx512.c -- AVX-512F primitives; masked loads handle the tail, so a
 * dim that is not a multiple of 16 needs no scalar loop. */
#if defined(__x86_64__) || defined(__i386__)
#pragma GCC target("avx512f,avx2,fma")
#include <immintrin.h>
#include "w2v.h"

static inline __mmask16 tail_mask(int32_t left)
{
    return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u);
}

static inline float vec_dot(const float *a, const float *b, int32_t n)
{
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    int32_t i = 0;
    for (; i + 32 <= n; i += 32) {
        acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
        acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), acc1);
    }
    for (; i < n; i += 16) {
        __mmask16 k = tail_mask(n - i);
        acc0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(k, a + i), _mm512_maskz_loadu_ps(k, b + i), acc0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

/* out[k] = vec_dot(h, u[k], dim) for k < n. */
static inline void vec_dots(const float *h, const float *const *u, int32_t n, float *out, int32_t dim)
{
    for (int32_t k = 0; k < n; k++) out[k] = vec_dot(h, u[k], dim);
}

static inline void vec_axpy(float a, const float *x, float *y, int32_t n)
{
    __m512 va = _mm512_set1_ps(a);
    for (int32_t i = 0; i < n; i += 16) {
        __mmask16 k = tail_mask(n - i);
        __m512 r = _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(k, x + i), _mm512_maskz_loadu_ps(k, y + i));
        _mm512_mask_storeu_ps(y + i, k, r);
    }
}

/* Per-coordinate AdaGrad, 16 lanes at a time with a masked tail: exact
 * vsqrtps / vdivps. Lanes past the end read G = 1 (not 0), so the masked-off
 * lanes compute 0/1 instead of raising 0/0, and nothing is stored there. */
static inline void vec_adagrad(float s, const float *restrict x, float eta,
                               float *restrict G, float *restrict y, int32_t n)
{
    __m512 vs = _mm512_set1_ps(s), ve = _mm512_set1_ps(eta), one = _mm512_set1_ps(1.0f);
    for (int32_t i = 0; i < n; i += 16) {
        __mmask16 k = tail_mask(n - i);
        __m512 t = _mm512_mul_ps(vs, _mm512_maskz_loadu_ps(k, x + i));
        __m512 g = _mm512_fmadd_ps(t, t, _mm512_mask_loadu_ps(one, k, G + i));
        _mm512_mask_storeu_ps(G + i, k, g);
        __m512 d = _mm512_div_ps(t, _mm512_sqrt_ps(g));
        _mm512_mask_storeu_ps(y + i, k, _mm512_fmadd_ps(ve, d, _mm512_maskz_loadu_ps(k, y + i)));
    }
}

/* vec_lincomb that also returns |y|^2, accumulated (FMA) from the registers
 * it stores (masked-off lanes are 0), so y is not read again; q0 and q1 take
 * the blocks vec_dot's acc0 and acc1 take: the result is vec_dot(y, y, dim)
 * bit for bit. */
static inline float vec_lincomb_sq(const float *c, int32_t cs, const float *const *x, int32_t n,
                                   float *restrict y, int32_t dim)
{
    __m512 q0 = _mm512_setzero_ps(), q1 = q0;
    int32_t i = 0;
    for (; i + 32 <= dim; i += 32) {
        __m512 a0 = _mm512_setzero_ps(), a1 = a0;
        for (int32_t k = 0; k < n; k++) {
            __m512 v = _mm512_set1_ps(c[(int64_t)k * cs]);
            a0 = _mm512_fmadd_ps(v, _mm512_loadu_ps(x[k] + i), a0);
            a1 = _mm512_fmadd_ps(v, _mm512_loadu_ps(x[k] + i + 16), a1);
        }
        _mm512_storeu_ps(y + i, a0);
        _mm512_storeu_ps(y + i + 16, a1);
        q0 = _mm512_fmadd_ps(a0, a0, q0);
        q1 = _mm512_fmadd_ps(a1, a1, q1);
    }
    for (; i < dim; i += 16) {
        __mmask16 m = tail_mask(dim - i);
        __m512 a0 = _mm512_setzero_ps();
        for (int32_t k = 0; k < n; k++)
            a0 = _mm512_fmadd_ps(_mm512_set1_ps(c[(int64_t)k * cs]), _mm512_maskz_loadu_ps(m, x[k] + i), a0);
        _mm512_mask_storeu_ps(y + i, m, a0);
        q0 = _mm512_fmadd_ps(a0, a0, q0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(q0, q1));
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

/* y += a * (sum_k c[k * cs] x[k]): vec_lincomb's sums, added as vec_axpy
 * adds (one masked FMA per 16 floats), without a scratch row. */
static inline void vec_lincomb_axpy(float a, const float *c, int32_t cs, const float *const *x,
                                    int32_t n, float *restrict y, int32_t dim)
{
    const __m512 va = _mm512_set1_ps(a);
    int32_t i = 0;
    for (; i + 32 <= dim; i += 32) {
        __m512 a0 = _mm512_setzero_ps(), a1 = a0;
        for (int32_t k = 0; k < n; k++) {
            __m512 v = _mm512_set1_ps(c[(int64_t)k * cs]);
            a0 = _mm512_fmadd_ps(v, _mm512_loadu_ps(x[k] + i), a0);
            a1 = _mm512_fmadd_ps(v, _mm512_loadu_ps(x[k] + i + 16), a1);
        }
        _mm512_storeu_ps(y + i, _mm512_fmadd_ps(va, a0, _mm512_loadu_ps(y + i)));
        _mm512_storeu_ps(y + i + 16, _mm512_fmadd_ps(va, a1, _mm512_loadu_ps(y + i + 16)));
    }
    for (; i < dim; i += 16) {
        __mmask16 m = tail_mask(dim - i);
        __m512 a0 = _mm512_setzero_ps();
        for (int32_t k = 0; k < n; k++)
            a0 = _mm512_fmadd_ps(_mm512_set1_ps(c[(int64_t)k * cs]), _mm512_maskz_loadu_ps(m, x[k] + i), a0);
        _mm512_mask_storeu_ps(y + i, m, _mm512_fmadd_ps(va, a0, _mm512_maskz_loadu_ps(m, y + i)));
    }
}

#define W2V_ISA_NAME avx512
#include "train_impl.h"
#endif
