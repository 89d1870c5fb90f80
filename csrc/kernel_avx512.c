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

/* Where a lincomb's sums go (m: the lanes in range): stored into y (the
 * vec_lincomb primitives) or added to it as vec_axpy(a, sums, y) adds. */
static inline void put16(float *y, __mmask16 m, __m512 sum, __m512 va, int add)
{
    _mm512_mask_storeu_ps(y, m, add ? _mm512_fmadd_ps(va, sum, _mm512_maskz_loadu_ps(m, y)) : sum);
}

/* The lincombs' one loop. add = 0: y = sum_k c[k cs] x[k], returning |y|^2
 * accumulated (FMA) from the registers it stores (masked-off lanes are 0),
 * so y is not read again; q0 and q1 take the blocks vec_dot's acc0 and acc1
 * take, so the norm is vec_dot(y, y, dim) bit for bit. add = 1: y += a * sum,
 * each sum rounded as with add = 0 and added as vec_axpy adds (no norm). */
static inline float lincomb(const float *c, int32_t cs, const float *const *x, int32_t n,
                            float *restrict y, int32_t dim, float a, int add)
{
    __m512 q0 = _mm512_setzero_ps(), q1 = q0, va = _mm512_set1_ps(a);
    int32_t i = 0;
    for (; i + 32 <= dim; i += 32) {
        __m512 a0 = _mm512_setzero_ps(), a1 = a0;
        for (int32_t k = 0; k < n; k++) {
            __m512 v = _mm512_set1_ps(c[(int64_t)k * cs]);
            a0 = _mm512_fmadd_ps(v, _mm512_loadu_ps(x[k] + i), a0);
            a1 = _mm512_fmadd_ps(v, _mm512_loadu_ps(x[k] + i + 16), a1);
        }
        put16(y + i, 0xFFFF, a0, va, add);
        put16(y + i + 16, 0xFFFF, a1, va, add);
        q0 = _mm512_fmadd_ps(a0, a0, q0);
        q1 = _mm512_fmadd_ps(a1, a1, q1);
    }
    for (; i < dim; i += 16) {
        __mmask16 m = tail_mask(dim - i);
        __m512 a0 = _mm512_setzero_ps();
        for (int32_t k = 0; k < n; k++)
            a0 = _mm512_fmadd_ps(_mm512_set1_ps(c[(int64_t)k * cs]), _mm512_maskz_loadu_ps(m, x[k] + i), a0);
        put16(y + i, m, a0, va, add);
        q0 = _mm512_fmadd_ps(a0, a0, q0);
    }
    return add ? 0.0f : _mm512_reduce_add_ps(_mm512_add_ps(q0, q1));
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

#define W2V_ISA_NAME avx512
#include "train_impl.h"
#endif
