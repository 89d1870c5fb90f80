/* train_impl.h -- internal: the training loop, written once and compiled once
 * per ISA. The including file defines the static inline primitives
 *   float vec_dot(const float *a, const float *b, int32_t n);
 *   void  vec_axpy(float a, const float *x, float *y, int32_t n);   y += a*x
 *   void  vec_adagrad(float s, const float *x, float eta, float *G, float *y, int32_t n);
 *         per coordinate: t = s*x; G += t*t; y += eta * (t / sqrt(G))
 *   void  vec_lincomb(const float *c, int32_t cs, const float *const *x, int32_t n,
 *                     float *y, int32_t dim);
 *         y = sum_k c[k*cs] x[k], k ascending from 0 (as n axpys into a zeroed y)
 *   float vec_lincomb_sq(same arguments): vec_lincomb, and returns |y|^2 summed
 *         from the values it stores, rounded as vec_dot(y, y, dim)
 *   void  vec_dots(const float *h, const float *const *u, int32_t n, float *out,
 *                  int32_t dim);   out[k] = vec_dot(h, u[k], dim), bit for bit
 *   void  vec_lincomb_axpy(float a, same arguments as vec_lincomb):
 *         y += a * (vec_lincomb's sums): vec_lincomb into a scratch row, then
 *         vec_axpy(a, row, y), bit for bit, without the row
 * and W2V_ISA_NAME (scalar, avx2, avx512); this file then defines
 *   w2v_train_batch_<isa>, w2v_dot_<isa>, w2v_axpy_<isa>, w2v_adagrad_<isa>,
 *   w2v_dots_<isa>, w2v_lincomb_<isa>.
 * Plain SGD (W2V_LR_SGD) runs exactly the operations it ran before the AdaGrad
 * and count modes existed, in the same order, so its results are unchanged bit
 * for bit.
 * Keeping the loop in one place means the ISAs can differ only in the
 * primitives, so the "scalar twin" of every SIMD kernel is the same code. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "tables.h"

#define W2V_CAT2(a, b) a##_##b
#define W2V_CAT(a, b) W2V_CAT2(a, b)
#define W2V_FN(name) W2V_CAT(name, W2V_ISA_NAME)

static inline uint64_t lcg_next(uint64_t *r)
{
    *r = *r * 25214903917ULL + 11ULL;
    return *r;
}

/* The step HS and NS share: one binary logistic regression of output row u
 * on hidden layer h with the given label. e collects the error for h, u is
 * updated in place (after e has read it). Returns the term's loss. */
static inline double logistic_step(const float *h, float *u, float *e, float label,
                                   float alpha, int32_t dim, int compute_loss)
{
    float f = vec_dot(h, u, dim);
    float g = (label - w2v_sigmoid_fast(f)) * alpha;
    vec_axpy(g, u, e, dim);
    vec_axpy(g, h, u, dim);
    return compute_loss ? (double)w2v_log1pexp_fast(label > 0.5f ? -f : f) : 0.0;
}

/* Per-row AdaGrad: G += (s*s) * sq, where sq = |x|^2 / dim, so that G grows by
 * |s x|^2 / dim; returns the coefficient eta * s / sqrt(G) of the step along x.
 * Scalar code shared by every ISA (rounded the same everywhere). */
static inline float adagrad_row_coef(float *G, float s, float sq, float eta)
{
    *G += (s * s) * sq;
    return eta * s / sqrtf(*G);
}

/* The logistic step under AdaGrad: e collects the unscaled error g u (g = L -
 * sigmoid(f), no alpha) before u moves; u takes the AdaGrad step of g h with
 * its accumulator acc (one float per row, or dim floats). hsq = |h|^2 / dim,
 * used per row only. */
static inline double logistic_step_adagrad(const float *h, float *u, float *acc, float *e,
                                           float label, float eta, int32_t dim, int32_t mode,
                                           float hsq, int compute_loss)
{
    float f = vec_dot(h, u, dim);
    float g = label - w2v_sigmoid_fast(f);
    vec_axpy(g, u, e, dim);
    if (mode == W2V_LR_ADAGRAD_COORD)
        vec_adagrad(g, h, eta, acc, u, dim);
    else
        vec_axpy(adagrad_row_coef(acc, g, hsq, eta), h, u, dim);
    return compute_loss ? (double)w2v_log1pexp_fast(label > 0.5f ? -f : f) : 0.0;
}

/* W2V_LR_COUNT: the learning rate of a row with count n, alpha / (1 + n / tau).
 * Scalar code shared by every ISA (rounded the same everywhere). */
static inline float count_rate(float alpha, float n, float tau)
{
    return alpha / (1.0f + n / tau);
}

/* The logistic step under W2V_LR_COUNT: e collects the unscaled error g u (g =
 * L - sigmoid(f), no learning rate) before u moves; u steps by (rate g) h with
 * the row's own rate. */
static inline double logistic_step_count(const float *h, float *u, float *e, float label,
                                         float rate, int32_t dim, int compute_loss)
{
    float f = vec_dot(h, u, dim);
    float g = label - w2v_sigmoid_fast(f);
    vec_axpy(g, u, e, dim);
    vec_axpy(g * rate, h, u, dim);
    return compute_loss ? (double)w2v_log1pexp_fast(label > 0.5f ? -f : f) : 0.0;
}

/* The accumulator of row `row` of a matrix: one float, or dim floats. */
static inline float *acc_row(float *acc, int64_t row, int32_t dim, int32_t mode)
{
    return mode == W2V_LR_ADAGRAD_COORD ? acc + row * dim : acc + row;
}

/* AdaGrad step of input row `word` with gradient step s*e, after the example.
 * esq = |e|^2 / dim (per row only). */
static inline void adagrad_input(const w2v_model *m, int32_t mode, int32_t word, const float *e,
                                 float s, float eta, float esq)
{
    const int32_t dim = m->dim;
    float *v = m->syn0 + (int64_t)word * dim;
    float *acc = acc_row(m->syn0_acc, word, dim, mode);
    if (mode == W2V_LR_ADAGRAD_COORD)
        vec_adagrad(s, e, eta, acc, v, dim);
    else
        vec_axpy(adagrad_row_coef(acc, s, esq, eta), e, v, dim);
}

/* One noise word: two LCG draws pick a slot and a coin (Walker's alias method). */
static inline int32_t draw_negative(const w2v_model *m, uint64_t *rng)
{
    uint64_t slot = ((lcg_next(rng) >> 32) * (uint64_t)m->neg_alias_size) >> 32;
    float coin = (float)(lcg_next(rng) >> 40) * (1.0f / 16777216.0f);
    const w2v_alias *a = m->neg_alias + slot;
    return coin < a->prob ? (int32_t)slot : a->alias;
}

static inline void prefetch_row(const float *row, int32_t dim)
{
    for (int32_t k = 0; k < dim; k += 16) __builtin_prefetch(row + k, 1, 3);
}

/* Hogwild on hierarchical softmax has one hot spot: every word's path starts
 * at the root, so with two threads both write the same few rows of syn1 all
 * the time and their cache lines bounce between the cores (measured: a second
 * thread added 60-75% CPU for the same work, against none with separate
 * models). So a call trains the `n` heaviest inner nodes -- the last rows of
 * the tree, as Huffman's merges create the heaviest last -- in a private copy
 * and publishes it every HOT_PUBLISH positions and at its end: each element
 * takes the private value if the shared one is still what was copied (always
 * so with one thread, so the result is bit for bit the plain kernel's), else
 * the shared value plus the private change. The other rows stay Hogwild. */
#define HOT_PUBLISH 1024

typedef struct {
    int64_t start;            /* syn1 rows >= start (up to start + n) are private */
    int64_t n;
    float *rows, *snap;       /* n x dim: private values, shared values when copied */
    float *acc, *acc_snap;    /* their accumulators (n x acc_width), NULL without AdaGrad */
    int32_t acc_width;        /* 1 (per row) or dim (per coordinate) */
} hot_rows;

static inline float *syn1_row(const w2v_model *m, const hot_rows *hot, int64_t row)
{
    return row >= hot->start ? hot->rows + (row - hot->start) * m->dim : m->syn1 + row * m->dim;
}

static inline float *syn1_acc_row(const w2v_model *m, const hot_rows *hot, int64_t row, int32_t mode)
{
    return row >= hot->start ? hot->acc + (row - hot->start) * hot->acc_width
                             : acc_row(m->syn1_acc, row, m->dim, mode);
}

/* Merge the private values into the shared ones, then copy them back. */
static void hot_sync(float *shared, float *priv, float *snap, int64_t n)
{
    for (int64_t j = 0; j < n; j++) {
        float v = shared[j] == snap[j] ? priv[j] : shared[j] + (priv[j] - snap[j]);
        shared[j] = priv[j] = snap[j] = v;
    }
}

static void hot_publish(const w2v_model *m, hot_rows *hot)
{
    if (hot->n == 0) return;
    hot_sync(m->syn1 + hot->start * m->dim, hot->rows, hot->snap, hot->n * m->dim);
    if (hot->acc)
        hot_sync(acc_row(m->syn1_acc, hot->start, m->dim, hot->acc_width == 1 ? W2V_LR_ADAGRAD_ROW
                                                                             : W2V_LR_ADAGRAD_COORD),
                 hot->acc, hot->acc_snap, hot->n * hot->acc_width);
}

/* Allocate and fill the private copy: W2V_OK or W2V_ERR_NOMEM. */
static int hot_take(const w2v_model *m, const w2v_params *p, hot_rows *hot)
{
    int64_t inner = m->n_coded - 1, want = p->hs ? p->hs_hot_rows : 0;
    hot->n = want < inner ? want : inner > 0 ? inner : 0;
    hot->start = hot->n > 0 ? inner - hot->n : INT64_MAX;
    int adagrad = p->lr_mode == W2V_LR_ADAGRAD_ROW || p->lr_mode == W2V_LR_ADAGRAD_COORD;
    hot->acc_width = p->lr_mode == W2V_LR_ADAGRAD_COORD ? m->dim : 1;
    hot->rows = hot->snap = hot->acc = hot->acc_snap = NULL;
    if (hot->n == 0) return W2V_OK;
    size_t rows = sizeof(float) * (size_t)(hot->n * m->dim), accs = sizeof(float) * (size_t)(hot->n * hot->acc_width);
    hot->rows = malloc(rows);
    hot->snap = malloc(rows);
    if (adagrad) {
        hot->acc = malloc(accs);
        hot->acc_snap = malloc(accs);
    }
    if (!hot->rows || !hot->snap || (adagrad && (!hot->acc || !hot->acc_snap))) return W2V_ERR_NOMEM;
    memcpy(hot->rows, m->syn1 + hot->start * m->dim, rows);
    memcpy(hot->snap, hot->rows, rows);
    if (adagrad) {
        memcpy(hot->acc, acc_row(m->syn1_acc, hot->start, m->dim, p->lr_mode), accs);
        memcpy(hot->acc_snap, hot->acc, accs);
    }
    return W2V_OK;
}

static void hot_free(hot_rows *hot)
{
    free(hot->rows); free(hot->snap); free(hot->acc); free(hot->acc_snap);
}

/* Prefetches row `row` of a matrix and what the mode reads with it: its
 * accumulator (AdaGrad) or its count (W2V_LR_COUNT). */
static inline void prefetch_trained(const float *matrix, const float *acc, const float *count, int32_t mode,
                                    int64_t row, int32_t dim)
{
    prefetch_row(matrix + row * dim, dim);
    if (mode == W2V_LR_ADAGRAD_COORD)
        prefetch_row(acc + row * dim, dim);
    else if (mode == W2V_LR_ADAGRAD_ROW)
        __builtin_prefetch(acc + row, 1, 3);
    else if (mode == W2V_LR_COUNT)
        __builtin_prefetch(count + row, 0, 3);
}

/* syn1neg row `word` (an output of negative sampling) and its state. */
static inline void prefetch_output(const w2v_model *m, int32_t mode, int32_t word)
{
    prefetch_trained(m->syn1neg, m->syn1neg_acc, m->syn1neg_count, mode, word, m->dim);
}

/* Prefetches the negative-sampling rows position i will read, one position
 * ahead of it (shared negatives; prefetch_next for the other paths): no value
 * changes. With shared negatives its noise words are the generator's next
 * draws after one window draw (w2v.h), so a copy of the state names them exactly;
 * with the center's output row and the context row that enters the widest
 * window, these are the rows that are not already in cache from position
 * i - 1 (the other context rows were its inputs). A row fetched from memory
 * costs more than the dot products that read it. */
static inline void prefetch_position(const w2v_model *m, const w2v_params *p, const int32_t *sen,
                                     int64_t len, int64_t i, uint64_t r)
{
    const int32_t mode = p->lr_mode;
    lcg_next(&r);
    for (int32_t d = 0; d < p->negative; d++) prefetch_output(m, mode, draw_negative(m, &r));
    prefetch_output(m, mode, sen[i]);
    if (i + p->window < len)
        prefetch_trained(m->syn0, m->syn0_acc, m->syn0_count, mode, sen[i + p->window], m->dim);
}

/* CBOW and per-pair skip-gram: prefetches what position i + 1 will read, at
 * the start of position i, whose work then hides the misses. Measured in
 * kernel replays of the benchmark pass at one thread, alternating with the
 * build without it (medians of 7, 7 and 3 rounds): CPU seconds CBOW-NS 6.7 ->
 * 5.7, CBOW-HS 9.4 -> 8.4, SG-HS 24.3 -> 24.0. After its window draw position i makes
 * `draws` more (two per noise word), unless it trains nothing (a one-word
 * sentence: then the guess is wrong, which costs only the fetches), so a copy
 * of the state advanced past them names position i + 1's noise words
 * (prefetch_position). Its HS path too, but the hottest inner nodes: the call
 * trains those in a private copy, in cache. */
static inline void prefetch_next(const w2v_model *m, const w2v_params *p, const hot_rows *hot,
                                 const int32_t *sen, int64_t len, int64_t i, uint64_t r, int64_t draws)
{
    if (i + 1 >= len) return;
    if (p->negative > 0) {
        for (int64_t d = 0; d < draws; d++) lcg_next(&r);
        prefetch_position(m, p, sen, len, i + 1, r);
    }
    const int32_t next = sen[i + 1];
    if (p->hs && next < m->n_coded) {
        const int32_t *pts = m->points + (int64_t)next * m->max_code_len;
        for (int32_t d = 0; d < m->code_lens[next]; d++)
            if (pts[d] < hot->start)
                prefetch_trained(m->syn1, m->syn1_acc, m->syn1_count, p->lr_mode, pts[d], m->dim);
    }
}

/* All output-side terms for one example: the HS path of `target`, then the
 * true word and `negative` noise words. The noise words are drawn first and
 * their rows prefetched, so the cache misses of random rows overlap instead
 * of stalling one after another; the draw sequence is the same as drawing
 * each just before use, since nothing else draws in between. */
static double train_targets(const w2v_model *m, const w2v_params *p, const hot_rows *hot,
                            int32_t target, const float *h, float *e, float alpha, uint64_t *rng,
                            int32_t *noise, int64_t *terms)
{
    const int32_t dim = m->dim, mode = p->lr_mode;
    double loss = 0.0;
    for (int32_t d = 0; d < p->negative; d++) {
        noise[d] = draw_negative(m, rng);
        prefetch_output(m, mode, noise[d]);
    }
    /* |h|^2 / dim, for the per-row accumulators: h is fixed during the example. */
    float hsq = mode == W2V_LR_ADAGRAD_ROW ? vec_dot(h, h, dim) / (float)dim : 0.0f;
    if (p->hs && target < m->n_coded) {
        const int32_t *pts = m->points + (int64_t)target * m->max_code_len;
        const uint8_t *cds = m->codes + (int64_t)target * m->max_code_len;
        for (int32_t d = 0; d < m->code_lens[target]; d++) {
            float *u = syn1_row(m, hot, pts[d]);
            float label = 1.0f - (float)cds[d];
            if (mode == W2V_LR_SGD)
                loss += logistic_step(h, u, e, label, alpha, dim, p->compute_loss);
            else if (mode == W2V_LR_COUNT)
                loss += logistic_step_count(h, u, e, label,
                                            count_rate(alpha, m->syn1_count[pts[d]], p->count_tau),
                                            dim, p->compute_loss);
            else
                loss += logistic_step_adagrad(h, u, syn1_acc_row(m, hot, pts[d], mode), e,
                                              label, alpha, dim, mode, hsq, p->compute_loss);
            (*terms)++;
        }
    }
    for (int32_t d = -1; p->negative > 0 && d < p->negative; d++) {
        int32_t word = d < 0 ? target : noise[d];
        if (d >= 0 && word == target) continue;
        float *u = m->syn1neg + (int64_t)word * dim;
        float label = d < 0 ? 1.0f : 0.0f;
        if (mode == W2V_LR_SGD)
            loss += logistic_step(h, u, e, label, alpha, dim, p->compute_loss);
        else if (mode == W2V_LR_COUNT)
            loss += logistic_step_count(h, u, e, label,
                                        count_rate(alpha, m->syn1neg_count[word], p->count_tau),
                                        dim, p->compute_loss);
        else
            loss += logistic_step_adagrad(h, u, acc_row(m->syn1neg_acc, word, dim, mode), e,
                                          label, alpha, dim, mode, hsq, p->compute_loss);
        (*terms)++;
    }
    return loss;
}

/* Skip-gram at one position: each context word's input vector predicts the center. */
static double train_sg(const w2v_model *m, const w2v_params *p, const hot_rows *hot, const int32_t *sen,
                       int64_t len, int64_t i, int64_t w, float alpha, float *e,
                       int32_t *noise, uint64_t *rng, w2v_result *out)
{
    const int32_t dim = m->dim;
    double loss = 0.0;
    int64_t lo = i - w < 0 ? 0 : i - w, hi = i + w >= len ? len - 1 : i + w;
    prefetch_next(m, p, hot, sen, len, i, *rng, 2 * (int64_t)p->negative * (hi - lo));
    for (int64_t j = lo; j <= hi; j++) {
        if (j == i) continue;
        float *h = m->syn0 + (int64_t)sen[j] * dim;
        memset(e, 0, sizeof(float) * (size_t)dim);
        loss += train_targets(m, p, hot, sen[i], h, e, alpha, rng, noise, &out->terms);
        if (p->lr_mode == W2V_LR_SGD)
            vec_axpy(1.0f, e, h, dim);
        else if (p->lr_mode == W2V_LR_COUNT)
            vec_axpy(count_rate(alpha, m->syn0_count[sen[j]], p->count_tau), e, h, dim);
        else
            adagrad_input(m, p->lr_mode, sen[j], e, 1.0f, alpha,
                          p->lr_mode == W2V_LR_ADAGRAD_ROW ? vec_dot(e, e, dim) / (float)dim : 0.0f);
        out->examples++;
    }
    return loss;
}

/* The scratch of shared-negatives skip-gram, allocated once per batch: the
 * context word ids, the output word ids, and the error rows E (one per input)
 * and F (one per output), `stride` floats apart (64-byte aligned rows). */
typedef struct {
    int32_t *ctx;             /* n_in <= max_in context word ids */
    int32_t *outw;            /* n_out <= negative + 1 output word ids */
    const float **in;         /* their rows: syn0 + ctx[j] * dim */
    const float **outr;       /* syn1neg + outw[k] * dim */
    float *G;                 /* max_in x (negative + 1): g_jk at j * n_out + k */
    float *E;                 /* max_in rows: -dE/dh_j */
    float *F;                 /* negative + 1 rows: -dE/du_k */
    float *q;                 /* W2V_LR_ADAGRAD_ROW: |E_j|^2 (max_in), then |F_k|^2 */
    size_t stride;            /* floats per row of E and F */
} sg_shared_scratch;

/* Skip-gram with shared negatives at one position (w2v.h): every context row
 * of the window is an input of one minibatch whose outputs are the center
 * and one set of noise words. All reads first (E and F), then all writes. */
static double train_sg_shared(const w2v_model *m, const w2v_params *p, const int32_t *sen,
                              int64_t len, int64_t i, int64_t w, float alpha,
                              const sg_shared_scratch *s, uint64_t *rng, w2v_result *out)
{
    const int32_t dim = m->dim, mode = p->lr_mode;
    int64_t lo = i - w < 0 ? 0 : i - w, hi = i + w >= len ? len - 1 : i + w;
    int32_t n_in = 0, n_out = 0;
    for (int64_t j = lo; j <= hi; j++)
        if (j != i) {
            s->in[n_in] = m->syn0 + (int64_t)sen[j] * dim;
            s->ctx[n_in++] = sen[j];
        }
    /* The input rows' accumulators are read only in the write phase: fetch
     * them now, as the output rows' are (prefetch_output). */
    if (mode == W2V_LR_ADAGRAD_ROW)
        for (int32_t a = 0; a < n_in; a++) __builtin_prefetch(m->syn0_acc + s->ctx[a], 1, 3);
    if (n_in == 0) return 0.0;
    /* The output rows were prefetched one position earlier (prefetch_position),
     * except at the first position of a sentence. */
    const int32_t center = sen[i];
    s->outw[n_out++] = center;
    if (i == 0) prefetch_output(m, mode, center);
    for (int32_t d = 0; d < p->negative; d++) {
        int32_t word = draw_negative(m, rng);
        if (word == center) continue;
        s->outw[n_out++] = word;
        if (i == 0) prefetch_output(m, mode, word);
    }
    for (int32_t k = 0; k < n_out; k++) s->outr[k] = m->syn1neg + (int64_t)s->outw[k] * dim;
    if (i + 1 < len) prefetch_position(m, p, sen, len, i + 1, *rng);
    /* Read phase: every g_jk, then E_j = sum_k g_jk u_k and F_k = sum_j g_jk h_j,
     * each summed in registers (vec_lincomb) in the order of w2v.h. SGD folds
     * alpha into g (so E and F carry it); the other modes keep g unscaled
     * (times 1.0f: exact). Per-row AdaGrad also takes |E_j|^2 and |F_k|^2
     * from the registers (vec_lincomb_sq, the same value as vec_dot(x, x))
     * instead of reading E and F again in the write phase. */
    const int per_row = mode == W2V_LR_ADAGRAD_ROW;
    float *qE = s->q, *qF = s->q + (per_row ? n_in : 0);
    const float scale = mode == W2V_LR_SGD ? alpha : 1.0f;
    const size_t stride = s->stride;
    double loss = 0.0;
    for (int32_t a = 0; a < n_in; a++) {
        float *gj = s->G + (size_t)a * (size_t)n_out;
        vec_dots(s->in[a], s->outr, n_out, gj, dim);
        for (int32_t k = 0; k < n_out; k++) {
            float f = gj[k];
            gj[k] = ((k == 0 ? 1.0f : 0.0f) - w2v_sigmoid_fast(f)) * scale;
            if (p->compute_loss) loss += (double)w2v_log1pexp_fast(k == 0 ? -f : f);
        }
        if (per_row)
            qE[a] = vec_lincomb_sq(gj, 1, s->outr, n_out, s->E + stride * (size_t)a, dim);
        else
            vec_lincomb(gj, 1, s->outr, n_out, s->E + stride * (size_t)a, dim);
    }
    /* SGD and the count rule step u_k along F_k with a rate known before F_k
     * (under SGD shared_output_scale times the input rows' alpha, folded in g):
     * each F_k is added to its row from the registers (vec_lincomb_axpy), the
     * same values as the write phase below would add. That is still "all reads
     * first": E is complete, and F reads only input rows, written last. */
    const int direct = mode == W2V_LR_SGD || mode == W2V_LR_COUNT;
    for (int32_t k = 0; k < n_out; k++)
        if (direct)
            vec_lincomb_axpy(mode == W2V_LR_SGD ? p->shared_output_scale
                                                : count_rate(alpha, m->syn1neg_count[s->outw[k]], p->count_tau),
                             s->G + k, n_out, s->in, n_in, m->syn1neg + (int64_t)s->outw[k] * dim, dim);
        else if (per_row)
            qF[k] = vec_lincomb_sq(s->G + k, n_out, s->in, n_in, s->F + stride * (size_t)k, dim);
        else
            vec_lincomb(s->G + k, n_out, s->in, n_in, s->F + stride * (size_t)k, dim);
    /* Write phase: the output rows (AdaGrad), then the input rows, each along its own sum. */
    for (int32_t k = 0; k < n_out && !direct; k++) {
        const int32_t word = s->outw[k];
        const float *x = s->F + stride * (size_t)k;
        float *u = m->syn1neg + (int64_t)word * dim;
        if (mode == W2V_LR_ADAGRAD_COORD)
            vec_adagrad(1.0f, x, alpha, acc_row(m->syn1neg_acc, word, dim, mode), u, dim);
        else
            vec_axpy(adagrad_row_coef(acc_row(m->syn1neg_acc, word, dim, mode), 1.0f,
                                      qF[k] / (float)dim, alpha), x, u, dim);
    }
    for (int32_t a = 0; a < n_in; a++) {
        const int32_t word = s->ctx[a];
        const float *x = s->E + stride * (size_t)a;
        float *h = m->syn0 + (int64_t)word * dim;
        if (mode == W2V_LR_SGD)
            vec_axpy(1.0f, x, h, dim);
        else if (mode == W2V_LR_COUNT)
            vec_axpy(count_rate(alpha, m->syn0_count[word], p->count_tau), x, h, dim);
        else
            adagrad_input(m, mode, word, x, 1.0f, alpha, per_row ? qE[a] / (float)dim : 0.0f);
    }
    out->examples += n_in;
    out->terms += (int64_t)n_in * n_out;
    return loss;
}

/* CBOW at one position: the sum or mean of the context predicts the center. */
static double train_cbow(const w2v_model *m, const w2v_params *p, const hot_rows *hot, const int32_t *sen,
                         int64_t len, int64_t i, int64_t w, float alpha, float *h,
                         float *e, int32_t *noise, uint64_t *rng, w2v_result *out)
{
    const int32_t dim = m->dim;
    int64_t lo = i - w < 0 ? 0 : i - w, hi = i + w >= len ? len - 1 : i + w;
    int64_t count = hi - lo;  /* every position in [lo, hi] but i itself */
    if (count <= 0) return 0.0;
    prefetch_next(m, p, hot, sen, len, i, *rng, 2 * (int64_t)p->negative);
    memset(h, 0, sizeof(float) * (size_t)dim);
    memset(e, 0, sizeof(float) * (size_t)dim);
    for (int64_t j = lo; j <= hi; j++)
        if (j != i) vec_axpy(1.0f, m->syn0 + (int64_t)sen[j] * dim, h, dim);
    float inv = 1.0f / (float)count;
    if (p->cbow_mean) for (int32_t k = 0; k < dim; k++) h[k] *= inv;
    double loss = train_targets(m, p, hot, sen[i], h, e, alpha, rng, noise, &out->terms);
    float scale = p->cbow_mean == 2 ? inv : 1.0f;
    if (p->lr_mode == W2V_LR_SGD) {
        for (int64_t j = lo; j <= hi; j++)
            if (j != i) vec_axpy(scale, e, m->syn0 + (int64_t)sen[j] * dim, dim);
    } else if (p->lr_mode == W2V_LR_COUNT) {
        /* Every occurrence in the window takes its own step, with its row's rate. */
        for (int64_t j = lo; j <= hi; j++)
            if (j != i)
                vec_axpy(scale * count_rate(alpha, m->syn0_count[sen[j]], p->count_tau), e,
                         m->syn0 + (int64_t)sen[j] * dim, dim);
    } else {
        /* Every occurrence in the window takes its own step (a repeated word twice). */
        float esq = p->lr_mode == W2V_LR_ADAGRAD_ROW ? vec_dot(e, e, dim) / (float)dim : 0.0f;
        for (int64_t j = lo; j <= hi; j++)
            if (j != i) adagrad_input(m, p->lr_mode, sen[j], e, scale, alpha, esq);
    }
    out->examples++;
    return loss;
}

/* Everything one call allocates (never per word), freed in one place. */
typedef struct {
    float *h, *e;             /* hidden layer and error row (one 2-row block) */
    int32_t *sen;             /* the kept words of the current sentence ... */
    int64_t *raw;             /* ... and their positions in the batch */
    int32_t *noise;           /* the noise words of one example */
    sg_shared_scratch sc;     /* shared negatives only */
    hot_rows hot;             /* HS only */
} batch_scratch;

static void scratch_free(batch_scratch *s)
{
    free(s->sc.ctx); free(s->sc.outw); free(s->sc.in); free(s->sc.outr); free(s->sc.G);
    free(s->sc.E); free(s->sc.F); free(s->sc.q);
    hot_free(&s->hot);
    free(s->h); free(s->sen); free(s->raw); free(s->noise);
}

/* W2V_OK, or W2V_ERR_NOMEM (what was allocated is left for scratch_free). */
static int scratch_alloc(const w2v_model *m, const w2v_params *p, int64_t longest, int shared,
                         batch_scratch *s)
{
    memset(s, 0, sizeof(*s));
    size_t row = ((size_t)m->dim * sizeof(float) + 63) & ~(size_t)63;
    s->sc.stride = row / sizeof(float);
    s->h = aligned_alloc(64, 2 * row);
    s->sen = malloc(sizeof(int32_t) * (size_t)(longest > 0 ? longest : 1));
    s->raw = malloc(sizeof(int64_t) * (size_t)(longest > 0 ? longest : 1));
    s->noise = malloc(sizeof(int32_t) * (size_t)(p->negative + 1));
    if (!s->h || !s->sen || !s->raw || !s->noise) return W2V_ERR_NOMEM;
    s->e = (float *)((char *)s->h + row);
    if (shared) {
        /* At most min(2 window, longest - 1) inputs and negative + 1 outputs:
         * their ids, row pointers, error rows and the inputs x outputs matrix of g. */
        int64_t max_in = longest - 1 < 2 * (int64_t)p->window ? longest - 1 : 2 * (int64_t)p->window;
        if (max_in < 1) max_in = 1;
        size_t n_out = (size_t)p->negative + 1;
        sg_shared_scratch *sc = &s->sc;
        sc->ctx = malloc(sizeof(int32_t) * (size_t)max_in);
        sc->outw = malloc(sizeof(int32_t) * n_out);
        sc->in = malloc(sizeof(float *) * (size_t)max_in);
        sc->outr = malloc(sizeof(float *) * n_out);
        sc->G = malloc(sizeof(float) * (size_t)max_in * n_out);
        sc->E = aligned_alloc(64, row * (size_t)max_in);
        sc->F = aligned_alloc(64, row * n_out);
        sc->q = malloc(sizeof(float) * ((size_t)max_in + n_out));
        if (!sc->ctx || !sc->outw || !sc->in || !sc->outr || !sc->G || !sc->E || !sc->F || !sc->q)
            return W2V_ERR_NOMEM;
    }
    return hot_take(m, p, &s->hot);
}

static void train_sentences(const w2v_model *m, const w2v_params *p, const w2v_batch *b, int shared,
                            batch_scratch *s, uint64_t *rng, w2v_result *out)
{
    int64_t since_publish = 0, start = 0;
    double slope = b->n_words > 1 ? ((double)p->alpha_end - p->alpha) / (double)(b->n_words - 1) : 0.0;
    for (int64_t n = 0; n < b->n_sentences; n++) {
        int64_t len = 0, end = b->sentence_ends[n];
        for (int64_t t = start; t < end; t++) {
            int32_t word = b->words[t];
            if (word < 0) continue;
            if (m->keep_prob) {
                uint64_t r = lcg_next(rng);
                if ((float)(r & 0xFFFF) / 65536.0f >= m->keep_prob[word]) continue;
            }
            s->raw[len] = t;
            s->sen[len++] = word;
        }
        for (int64_t i = 0; i < len; i++) {
            float alpha = (float)(p->alpha + slope * (double)s->raw[i]);
            int64_t w = p->window - (int64_t)(lcg_next(rng) % (uint64_t)p->window);
            out->loss += shared ? train_sg_shared(m, p, s->sen, len, i, w, alpha, &s->sc, rng, out)
                       : p->sg ? train_sg(m, p, &s->hot, s->sen, len, i, w, alpha, s->e, s->noise, rng, out)
                               : train_cbow(m, p, &s->hot, s->sen, len, i, w, alpha, s->h, s->e, s->noise,
                                            rng, out);
            if (++since_publish == HOT_PUBLISH) {
                hot_publish(m, &s->hot);
                since_publish = 0;
            }
        }
        out->words_kept += len;
        start = end;
    }
    hot_publish(m, &s->hot);
}

int W2V_FN(w2v_train_batch)(const w2v_model *m, const w2v_params *p, const w2v_batch *b,
                            uint64_t *rng, w2v_result *out)
{
    memset(out, 0, sizeof(*out));
    int64_t longest = 0, start = 0;
    for (int64_t n = 0; n < b->n_sentences; n++) {
        if (b->sentence_ends[n] - start > longest) longest = b->sentence_ends[n] - start;
        start = b->sentence_ends[n];
    }
    const int shared = p->shared_negatives && p->sg && !p->hs && p->negative > 0;
    batch_scratch s;
    int status = scratch_alloc(m, p, longest, shared, &s);
    if (status == W2V_OK) train_sentences(m, p, b, shared, &s, rng, out);
    scratch_free(&s);
    return status;
}

float W2V_FN(w2v_dot)(const float *a, const float *b, int32_t n) { return vec_dot(a, b, n); }
void W2V_FN(w2v_axpy)(float a, const float *x, float *y, int32_t n) { vec_axpy(a, x, y, n); }
void W2V_FN(w2v_adagrad)(float s, const float *x, float eta, float *G, float *y, int32_t n)
{
    vec_adagrad(s, x, eta, G, y, n);
}
/* The shared-negatives primitives on rows stored one after another (w2v.h):
 * the callers in this file pass row pointers, so these build them. */
void W2V_FN(w2v_dots)(const float *h, const float *u, int32_t n, float *out, int32_t dim)
{
    const float *rows[W2V_MAX_PRIMITIVE_ROWS];
    for (int32_t k = 0; k < n; k += W2V_MAX_PRIMITIVE_ROWS) {
        int32_t m = n - k < W2V_MAX_PRIMITIVE_ROWS ? n - k : W2V_MAX_PRIMITIVE_ROWS;
        for (int32_t r = 0; r < m; r++) rows[r] = u + (int64_t)(k + r) * dim;
        vec_dots(h, rows, m, out + k, dim);
    }
}
void W2V_FN(w2v_lincomb)(float a, const float *c, const float *x, int32_t n, float *y, int32_t dim,
                         int32_t add)
{
    const float *rows[W2V_MAX_PRIMITIVE_ROWS];
    if (n > W2V_MAX_PRIMITIVE_ROWS) n = W2V_MAX_PRIMITIVE_ROWS;  /* the caller checks; never past rows */
    for (int32_t r = 0; r < n; r++) rows[r] = x + (int64_t)r * dim;
    if (add)
        vec_lincomb_axpy(a, c, 1, rows, n, y, dim);
    else
        vec_lincomb(c, 1, rows, n, y, dim);
}
