/* dispatch.c -- picks the kernels for this CPU at run time (xxHash-style):
 * the best ISA the CPU supports, unless w2v_set_isa() chose another. */
#include "w2v.h"

typedef int (*train_fn)(const w2v_model *, const w2v_params *, const w2v_batch *,
                        uint64_t *, w2v_result *);
typedef float (*dot_fn)(const float *, const float *, int32_t);
typedef void (*axpy_fn)(float, const float *, float *, int32_t);
typedef void (*adagrad_fn)(float, const float *, float, float *, float *, int32_t);
typedef void (*dots_fn)(const float *, const float *, int32_t, float *, int32_t);
typedef void (*lincomb_fn)(float, const float *, const float *, int32_t, float *, int32_t, int32_t);

#define DECLARE_ISA(isa)                                                              \
    int w2v_train_batch_##isa(const w2v_model *, const w2v_params *, const w2v_batch *, \
                              uint64_t *, w2v_result *);                              \
    float w2v_dot_##isa(const float *, const float *, int32_t);                       \
    void w2v_axpy_##isa(float, const float *, float *, int32_t);                      \
    void w2v_adagrad_##isa(float, const float *, float, float *, float *, int32_t);    \
    void w2v_dots_##isa(const float *, const float *, int32_t, float *, int32_t);      \
    void w2v_lincomb_##isa(float, const float *, const float *, int32_t, float *, int32_t, int32_t);

DECLARE_ISA(scalar)
#if defined(__x86_64__) || defined(__i386__)
DECLARE_ISA(avx2)
DECLARE_ISA(avx512)
#endif

static const struct {
    train_fn train; dot_fn dot; axpy_fn axpy; adagrad_fn adagrad; dots_fn dots; lincomb_fn lincomb;
} table[] = {
#define ISA_ROW(isa) {w2v_train_batch_##isa, w2v_dot_##isa, w2v_axpy_##isa, w2v_adagrad_##isa, \
                      w2v_dots_##isa, w2v_lincomb_##isa}
    ISA_ROW(scalar),
#if defined(__x86_64__) || defined(__i386__)
    ISA_ROW(avx2),
    ISA_ROW(avx512),
#endif
};

static int current = -1;

int w2v_cpu_isas(void)
{
    int mask = 1 << W2V_ISA_SCALAR;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        mask |= 1 << W2V_ISA_AVX2;
    if (__builtin_cpu_supports("avx512f") && (mask & (1 << W2V_ISA_AVX2)))
        mask |= 1 << W2V_ISA_AVX512;
#endif
    return mask;
}

int w2v_set_isa(int isa)
{
    if (isa < 0 || isa > W2V_ISA_AVX512 || !(w2v_cpu_isas() & (1 << isa)))
        return W2V_ERR_ISA;
    current = isa;
    return W2V_OK;
}

int w2v_get_isa(void)
{
    if (current < 0) {
        int mask = w2v_cpu_isas();
        /* AVX2+FMA before AVX-512: at the sizes word2vec uses (dim ~100, 6
         * 16-lane blocks and a masked tail against 12 8-lane ones) AVX-512
         * was not faster on the machine we measured (bench/kernel_speed.py:
         * AVX2 ahead in 7 of 8 comparisons, by up to 40% in skip-gram), and
         * on cores that lower their clock for 512-bit work it slows the whole
         * process. STREAM_W2V_KERNEL=avx512 (w2v_set_isa) still selects it. */
        current = (mask & (1 << W2V_ISA_AVX2)) ? W2V_ISA_AVX2 : W2V_ISA_SCALAR;
    }
    return current;
}

int w2v_train_batch(const w2v_model *model, const w2v_params *params,
                    const w2v_batch *batch, uint64_t *rng, w2v_result *out)
{
    return table[w2v_get_isa()].train(model, params, batch, rng, out);
}

float w2v_dot(const float *a, const float *b, int32_t n) { return table[w2v_get_isa()].dot(a, b, n); }
void w2v_axpy(float a, const float *x, float *y, int32_t n) { table[w2v_get_isa()].axpy(a, x, y, n); }
void w2v_adagrad(float s, const float *x, float eta, float *G, float *y, int32_t n)
{
    table[w2v_get_isa()].adagrad(s, x, eta, G, y, n);
}
void w2v_dots(const float *h, const float *u, int32_t n, float *out, int32_t dim)
{
    table[w2v_get_isa()].dots(h, u, n, out, dim);
}
void w2v_lincomb(float a, const float *c, const float *x, int32_t n, float *y, int32_t dim, int32_t add)
{
    table[w2v_get_isa()].lincomb(a, c, x, n, y, dim, add);
}
