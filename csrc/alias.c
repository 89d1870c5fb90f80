/* alias.c -- Walker/Vose alias table for the noise distribution.
 * In C because the construction is inherently sequential (two work lists),
 * and it is rebuilt as the vocabulary grows: a Python loop over a million
 * words would stall training. */
#include <stdlib.h>
#include "w2v.h"

int w2v_build_alias(const double *weights, int64_t n, w2v_alias *out)
{
    double total = 0.0;
    for (int64_t i = 0; i < n; i++) total += weights[i];
    double *scaled = malloc(sizeof(double) * (size_t)n);
    int64_t *small = malloc(sizeof(int64_t) * (size_t)n), *large = malloc(sizeof(int64_t) * (size_t)n);
    if (!scaled || !small || !large) {
        free(scaled); free(small); free(large);
        return W2V_ERR_NOMEM;
    }
    int64_t ns = 0, nl = 0;
    /* Fill the lists in reverse so that popping serves the lowest ids first:
     * the result then depends only on the weights, deterministically. */
    for (int64_t i = n - 1; i >= 0; i--) {
        scaled[i] = weights[i] * (double)n / total;
        if (scaled[i] < 1.0) small[ns++] = i; else large[nl++] = i;
    }
    while (ns > 0 && nl > 0) {
        int64_t s = small[--ns], l = large[--nl];
        out[s].prob = (float)scaled[s];
        out[s].alias = (int32_t)l;
        scaled[l] -= 1.0 - scaled[s];
        if (scaled[l] < 1.0) small[ns++] = l; else large[nl++] = l;
    }
    /* Leftovers are 1 up to rounding: they keep themselves. */
    while (nl > 0) { int64_t l = large[--nl]; out[l].prob = 1.0f; out[l].alias = (int32_t)l; }
    while (ns > 0) { int64_t s = small[--ns]; out[s].prob = 1.0f; out[s].alias = (int32_t)s; }
    free(scaled); free(small); free(large);
    return W2V_OK;
}
