/* tables.h -- internal: the sigmoid and log(1+exp) tables shared by every ISA.
 * Both are linearly interpolated so that the functions are continuous: a tiny
 * difference in a dot product (scalar vs SIMD summation order) then gives a
 * tiny difference in the update, which is what lets the tests compare ISAs and
 * the float64 oracle within a derived tolerance. */
#ifndef STREAM_W2V_TABLES_H
#define STREAM_W2V_TABLES_H

#include "w2v.h"

extern float w2v_sigmoid_table[W2V_SIGMOID_TABLE_SIZE + 1];
extern float w2v_loss_table[W2V_LOSS_TABLE_SIZE + 1];

static inline float w2v_interp(const float *table, int n, float lo, float hi, float x)
{
    /* !(x > lo) also catches NaN, which then reads the low end, never out of bounds. */
    if (!(x > lo)) return table[0];
    if (x >= hi) return table[n];
    float pos = (x - lo) * ((float)n / (hi - lo));
    int i = (int)pos;
    if (i >= n) i = n - 1;
    float frac = pos - (float)i;
    return table[i] + frac * (table[i + 1] - table[i]);
}

static inline float w2v_sigmoid_fast(float x)
{
    return w2v_interp(w2v_sigmoid_table, W2V_SIGMOID_TABLE_SIZE,
                      (float)-W2V_MAX_EXP, (float)W2V_MAX_EXP, x);
}

/* log(1 + exp(z)): the loss of one logistic term. Beyond the table it is z
 * (error < exp(-16)) or 0 (same bound). */
static inline float w2v_log1pexp_fast(float z)
{
    if (z >= (float)W2V_MAX_LOSS) return z;
    return w2v_interp(w2v_loss_table, W2V_LOSS_TABLE_SIZE,
                      (float)-W2V_MAX_LOSS, (float)W2V_MAX_LOSS, z);
}

#endif
