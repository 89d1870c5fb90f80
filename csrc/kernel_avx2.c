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
    /* A 4-float half block (dim 100 ends in one) in one 128-bit FMA, not 4 scalar steps. */
    if (i + 4 <= n) {
        _mm_storeu_ps(y + i, _mm_fmadd_ps(_mm256_castps256_ps128(va), _mm_loadu_ps(x + i), _mm_loadu_ps(y + i)));
        i += 4;
    }
    for (; i < n; i++) y[i] += a * x[i];
}

/* out[k] = vec_dot(h, u[k], dim) for k < 4, bit for bit, in one sweep: every
 * load of h serves four rows, and the eight accumulators (two per row, the
 * blocks vec_dot gives its acc0 and acc1) are independent chains that keep
 * both FMA units busy where one dot's two chains wait on FMA latency. The
 * four horizontal sums are done together with the additions of hsum256, lane
 * by lane, and so is the tail. */
static inline void vec_dots4(const float *h, const float *const *u, float *out, int32_t dim)
{
    const float *u0 = u[0], *u1 = u[1], *u2 = u[2], *u3 = u[3];
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    int32_t i = 0;
    for (; i + 16 <= dim; i += 16) {
        __m256 x = _mm256_loadu_ps(h + i), z = _mm256_loadu_ps(h + i + 8);
        a0 = _mm256_fmadd_ps(x, _mm256_loadu_ps(u0 + i), a0);
        a1 = _mm256_fmadd_ps(x, _mm256_loadu_ps(u1 + i), a1);
        a2 = _mm256_fmadd_ps(x, _mm256_loadu_ps(u2 + i), a2);
        a3 = _mm256_fmadd_ps(x, _mm256_loadu_ps(u3 + i), a3);
        b0 = _mm256_fmadd_ps(z, _mm256_loadu_ps(u0 + i + 8), b0);
        b1 = _mm256_fmadd_ps(z, _mm256_loadu_ps(u1 + i + 8), b1);
        b2 = _mm256_fmadd_ps(z, _mm256_loadu_ps(u2 + i + 8), b2);
        b3 = _mm256_fmadd_ps(z, _mm256_loadu_ps(u3 + i + 8), b3);
    }
    for (; i + 8 <= dim; i += 8) {
        __m256 x = _mm256_loadu_ps(h + i);
        a0 = _mm256_fmadd_ps(x, _mm256_loadu_ps(u0 + i), a0);
        a1 = _mm256_fmadd_ps(x, _mm256_loadu_ps(u1 + i), a1);
        a2 = _mm256_fmadd_ps(x, _mm256_loadu_ps(u2 + i), a2);
        a3 = _mm256_fmadd_ps(x, _mm256_loadu_ps(u3 + i), a3);
    }
    /* hsum256 of each acc0 + acc1: halves added (w), then w0+w2 and w1+w3
     * (unpack), then those two: the same additions, four rows per register. */
    __m256 v0 = _mm256_add_ps(a0, b0), v1 = _mm256_add_ps(a1, b1);
    __m256 v2 = _mm256_add_ps(a2, b2), v3 = _mm256_add_ps(a3, b3);
    __m128 w0 = _mm_add_ps(_mm256_castps256_ps128(v0), _mm256_extractf128_ps(v0, 1));
    __m128 w1 = _mm_add_ps(_mm256_castps256_ps128(v1), _mm256_extractf128_ps(v1, 1));
    __m128 w2 = _mm_add_ps(_mm256_castps256_ps128(v2), _mm256_extractf128_ps(v2, 1));
    __m128 w3 = _mm_add_ps(_mm256_castps256_ps128(v3), _mm256_extractf128_ps(v3, 1));
    __m128 p = _mm_add_ps(_mm_unpacklo_ps(w0, w1), _mm_unpackhi_ps(w0, w1)); /* x0 of rows 0,1; x1 of 0,1 */
    __m128 q = _mm_add_ps(_mm_unpacklo_ps(w2, w3), _mm_unpackhi_ps(w2, w3)); /* the same of rows 2,3 */
    __m128 sum = _mm_add_ps(_mm_movelh_ps(p, q), _mm_movehl_ps(q, p));
    /* vec_dot's scalar tail adds h[i] u[i] one i at a time; a 4-float half
     * block (dim 100 ends in one) does the same with four rows per register:
     * the products, transposed to one register per i, added in i order. */
    if (i + 4 <= dim) {
        __m128 x = _mm_loadu_ps(h + i);
        __m128 r0 = _mm_mul_ps(x, _mm_loadu_ps(u0 + i)), r1 = _mm_mul_ps(x, _mm_loadu_ps(u1 + i));
        __m128 r2 = _mm_mul_ps(x, _mm_loadu_ps(u2 + i)), r3 = _mm_mul_ps(x, _mm_loadu_ps(u3 + i));
        _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
        sum = _mm_add_ps(_mm_add_ps(_mm_add_ps(_mm_add_ps(sum, r0), r1), r2), r3);
        i += 4;
    }
    _mm_storeu_ps(out, sum);
    for (; i < dim; i++) {
        out[0] += h[i] * u0[i];
        out[1] += h[i] * u1[i];
        out[2] += h[i] * u2[i];
        out[3] += h[i] * u3[i];
    }
}

/* out[k] = vec_dot(h, u[k], dim) for k < n, bit for bit: four rows at a time,
 * the last one to three by vec_dot (padding them into a four-row sweep was
 * measured and did not pay). */
static inline void vec_dots(const float *h, const float *const *u, int32_t n, float *out, int32_t dim)
{
    int32_t k = 0;
    for (; k + 4 <= n; k += 4) vec_dots4(h, u + k, out + k, dim);
    for (; k < n; k++) out[k] = vec_dot(h, u[k], dim);
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

/* Where a lincomb's sums go: stored into y (the vec_lincomb primitives) or
 * added to it as vec_axpy(a, sums, y) adds (vec_lincomb_axpy). */
static inline void put8(float *y, __m256 sum, __m256 va, int add)
{
    _mm256_storeu_ps(y, add ? _mm256_fmadd_ps(va, sum, _mm256_loadu_ps(y)) : sum);
}

/* The lincombs' one loop. add = 0: y = sum_k c[k cs] x[k], returning |y|^2
 * accumulated (FMA) from the registers it stores, so y is not read again;
 * the 8-float blocks go to q0 and q1 alternately, as vec_dot's to acc0 and
 * acc1, so the norm is vec_dot(y, y, dim) bit for bit. add = 1: y += a * sum,
 * each sum rounded as with add = 0 and added as vec_axpy adds (no norm). */
static inline float lincomb(const float *c, int32_t cs, const float *const *x, int32_t n,
                            float *restrict y, int32_t dim, float a, int add)
{
    __m256 q0 = _mm256_setzero_ps(), q1 = q0, va = _mm256_set1_ps(a);
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
        put8(y + i, a0, va, add);
        put8(y + i + 8, a1, va, add);
        put8(y + i + 16, a2, va, add);
        put8(y + i + 24, a3, va, add);
        q0 = _mm256_fmadd_ps(a0, a0, q0);
        q1 = _mm256_fmadd_ps(a1, a1, q1);
        q0 = _mm256_fmadd_ps(a2, a2, q0);
        q1 = _mm256_fmadd_ps(a3, a3, q1);
    }
    for (; i + 8 <= dim; i += 8) {
        __m256 a0 = _mm256_setzero_ps();
        for (int32_t k = 0; k < n; k++)
            a0 = _mm256_fmadd_ps(_mm256_set1_ps(c[(int64_t)k * cs]), _mm256_loadu_ps(x[k] + i), a0);
        put8(y + i, a0, va, add);
        if ((i >> 3) & 1)
            q1 = _mm256_fmadd_ps(a0, a0, q1);
        else
            q0 = _mm256_fmadd_ps(a0, a0, q0);
    }
    float q = add ? 0.0f : hsum256(_mm256_add_ps(q0, q1));
    /* A 4-float half block (dim 100 ends in one) in 128-bit FMAs; its squares
     * are added one by one, as vec_dot's scalar tail adds them. */
    if (i + 4 <= dim) {
        __m128 a0 = _mm_setzero_ps();
        for (int32_t k = 0; k < n; k++)
            a0 = _mm_fmadd_ps(_mm_set1_ps(c[(int64_t)k * cs]), _mm_loadu_ps(x[k] + i), a0);
        if (add) {
            _mm_storeu_ps(y + i, _mm_fmadd_ps(_mm256_castps256_ps128(va), a0, _mm_loadu_ps(y + i)));
        } else {
            _mm_storeu_ps(y + i, a0);
            for (int32_t l = 0; l < 4; l++) q += y[i + l] * y[i + l];
        }
        i += 4;
    }
    for (; i < dim; i++) {
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

#define W2V_ISA_NAME avx2
#include "train_impl.h"
#endif
