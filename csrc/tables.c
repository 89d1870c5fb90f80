/* tables.c -- fills the interpolation tables once, when the library loads. */
#include <math.h>
#include "tables.h"

float w2v_sigmoid_table[W2V_SIGMOID_TABLE_SIZE + 1];
float w2v_loss_table[W2V_LOSS_TABLE_SIZE + 1];

/* A constructor rather than lazy init: no first-call race between worker threads. */
__attribute__((constructor)) static void w2v_fill_tables(void)
{
    for (int i = 0; i <= W2V_SIGMOID_TABLE_SIZE; i++) {
        double x = -W2V_MAX_EXP + 2.0 * W2V_MAX_EXP * i / W2V_SIGMOID_TABLE_SIZE;
        w2v_sigmoid_table[i] = (float)(1.0 / (1.0 + exp(-x)));
    }
    for (int i = 0; i <= W2V_LOSS_TABLE_SIZE; i++) {
        double z = -W2V_MAX_LOSS + 2.0 * W2V_MAX_LOSS * i / W2V_LOSS_TABLE_SIZE;
        w2v_loss_table[i] = (float)(z > 0 ? z + log1p(exp(-z)) : log1p(exp(z)));
    }
}

float w2v_sigmoid(float x) { return w2v_sigmoid_fast(x); }
float w2v_log1pexp(float z) { return w2v_log1pexp_fast(z); }
