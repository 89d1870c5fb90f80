/*
 * w2v.h -- the whole contract between stream_w2v's Python layer and its C kernels.
 *
 * This file is #included by every C source and read verbatim by build_ffi.py
 * (everything between the CDEF markers is handed to cffi.cdef), so the Python
 * side and the C side cannot disagree about a type or a signature.
 *
 * Conventions (the NumPy oracle in stream_w2v/oracle.py replays them exactly):
 *  - Matrices are float32, row-major, `dim` floats per row.
 *  - One call trains one batch of sentences; nothing is allocated per word.
 *  - Randomness comes from one 64-bit LCG state, r = r * 25214903917 + 11
 *    (word2vec.c's), advanced before every draw. The caller passes the state
 *    in and gets the advanced state back, so a batch can be replayed.
 *      subsampling draw : keep token t iff (r & 0xFFFF) / 65536 < keep_prob[t]
 *      window shrink    : b = r % window; the effective window is window - b
 *      negative draw    : two draws r1, r2; slot i = ((r1 >> 32) * neg_alias_size) >> 32;
 *                         word = i if (r2 >> 40) / 2^24 < neg_alias[i].prob
 *                         else neg_alias[i].alias   (Walker's alias method)
 *  - Sigmoid comes from a table over [-W2V_MAX_EXP, W2V_MAX_EXP], linearly
 *    interpolated; outside the range it is clamped to the end values, so the
 *    function is continuous (word2vec.c's skip/clamp jumps are not).
 *  - Loss is the exact negative log-likelihood of each logistic term,
 *    log(1 + exp(z)), from an interpolated table over [-W2V_MAX_LOSS, W2V_MAX_LOSS].
 *  - Skip-gram follows word2vec.c: for every (context, center) pair the
 *    context word's input vector is the hidden layer and the center word is
 *    the output; the input vector is updated once per pair.
 *  - CBOW: h is the sum (cbow_mean=0) or mean (cbow_mean=1, 2) of the context
 *    input vectors. The error e = sum g*u is added to every context vector:
 *    as is for cbow_mean 0 and 1 (word2vec.c/gensim), times 1/C for
 *    cbow_mean=2 (the seed's exact gradient of the mean).
 *
 * Update rules (w2v_params.lr_mode). Every logistic term has the output row u,
 * the hidden layer h, the label L and f = u.h; write g = L - sigmoid(f)
 * (= -dE/df), so -dE/du = g h and -dE/dh = g u.
 *  - W2V_LR_SGD (word2vec.c): u += alpha g h per term; the input rows get
 *    e = sum alpha g u (read before u moves) after the example.
 *  - W2V_LR_ADAGRAD_ROW / W2V_LR_ADAGRAD_COORD: alpha is AdaGrad's base step
 *    eta (still interpolated alpha .. alpha_end over the batch, so a caller
 *    may decay it). A row w with gradient step x = -dE/dw and accumulator G:
 *        per row:        G_w += |x|^2 / dim;      w += eta x / sqrt(G_w)
 *        per coordinate: G_wk += x_k^2;           w_k += eta x_k / sqrt(G_wk)
 *    Output rows are updated per term (x = g h) with their own accumulator,
 *    right after e has read them; e = sum g u is the unscaled error (no
 *    alpha). After the example the input rows take x = e (skip-gram: the
 *    context row) or x = s e for every context word of the CBOW window, once
 *    per occurrence, with s = 1 (cbow_mean 0, 1) or 1/C (cbow_mean 2).
 *    The accumulators are caller-owned float32 arrays in w2v_model, one per
 *    matrix: one float per row of the matrix (per row, 1/dim of the matrix's
 *    memory) or the matrix's shape (per coordinate). The caller initialises them, finite and > 0
 *    (the initial value is the "epsilon" of AdaGrad: yskip uses 1e-8 for every
 *    coordinate); they only grow, so the division is always by a positive
 *    number. Under W2V_LR_SGD they are not read and may be NULL.
 *    sqrt and division are the exact IEEE operations on every ISA (no rsqrt
 *    approximation), so the ISAs differ only in rounding order.
 *  - W2V_LR_COUNT (per-row decay by count): every row r steps with its own
 *    learning rate, which decays with the row's count n_r:
 *        rate_r = alpha / (1 + n_r / tau)        (float32: n_r / tau, + 1, alpha / that)
 *    alpha (interpolated alpha .. alpha_end as for SGD) is the rate of a row
 *    with count 0; tau = w2v_params.count_tau (> 0) is the count at which the
 *    rate has halved. Output rows step per term: u += (rate_u g) h, right
 *    after e has read them; e = sum g u is the unscaled error (no alpha, as
 *    under AdaGrad). After the example every input row v takes
 *    v += (s rate_v) e, once per occurrence in the window, with s as for
 *    AdaGrad (1, or 1/C for cbow_mean 2). So each row's step is -rate_r times
 *    the gradient that SGD would step along with alpha. The counts are
 *    caller-owned, read-only float32 arrays in w2v_model, one float per row
 *    of each matrix the batch updates (finite, >= 0); the caller decides what
 *    they count (stream_w2v: the vocabulary's word counts for syn0 and
 *    syn1neg, for an inner node of the Huffman tree the sum of the counts of
 *    the words below it). The kernel never writes them, so two matrices may
 *    share one array. With every count 0 the update is SGD's, rounded
 *    differently (e is scaled after the terms instead of per term). Not read
 *    under the other modes (NULL allowed).
 *
 * Shared negatives (w2v_params.shared_negatives = 1; skip-gram with negative
 * sampling and no HS only, ignored otherwise: as pWord2Vec, Ji et al. 2016).
 * Each center position i is one minibatch instead of one example per pair:
 *  - inputs: the rows h_j = syn0[sen[j]] of the kept positions j != i within
 *    the (drawn) half-window, ascending j, n_in of them (a word twice in the
 *    window is two inputs). n_in = 0: nothing happens and nothing is drawn.
 *  - otherwise `negative` noise words are drawn once for the center, right
 *    after its window draw (two draws each, as above). Outputs u_k: the
 *    center (label L_k = 1), then the noise words in draw order (L_k = 0),
 *    a noise word equal to the center skipped; n_out of them.
 *  - read phase, every value as it was before this position:
 *        f_jk = h_j.u_k,   g_jk = L_k - sigmoid(f_jk),
 *        loss += log(1 + exp(L_k ? -f_jk : f_jk))
 *        E_j = sum_k g_jk u_k (k ascending),  F_k = sum_j g_jk h_j (j ascending)
 *    (-dE/dh_j and -dE/du_k of the position's n_in x n_out logistic terms).
 *  - write phase, every output row (k ascending) then every input row (j
 *    ascending), each along its own gradient step x = F_k or E_j, per lr_mode:
 *        W2V_LR_SGD:           u_k += c alpha F_k;  h_j += alpha E_j
 *                              (c = shared_output_scale; the kernel folds
 *                              alpha into g, then adds c times F_k)
 *        W2V_LR_ADAGRAD_ROW / _COORD: the AdaGrad step above with s = 1 and
 *                              the row's accumulator (x = F_k or E_j)
 *        W2V_LR_COUNT:         u_k += rate_u F_k;  h_j += rate_h E_j
 *    A row that is two inputs (or two outputs: a noise word drawn twice)
 *    steps twice, in that order: the second step starts where the first
 *    left the row, both along gradients of the read phase.
 *  - counters: examples += n_in (one per pair), terms += n_in * n_out.
 * The n_out output rows are fetched once per center instead of once per
 * pair, and the generator runs n_in times less. With one context per center
 * and distinct noise words this is the per-pair update (in exact arithmetic:
 * the roundings differ).
 */
#ifndef STREAM_W2V_H
#define STREAM_W2V_H

#include <stdint.h>

/* CDEF-BEGIN */
#define W2V_MAX_EXP 6                /* sigmoid table range [-6, 6] */
#define W2V_SIGMOID_TABLE_SIZE 1024  /* intervals of the sigmoid table */
#define W2V_MAX_LOSS 16              /* log(1+exp) table range [-16, 16] */
#define W2V_LOSS_TABLE_SIZE 2048     /* intervals of the loss table */

enum {
    W2V_ISA_SCALAR = 0,
    W2V_ISA_AVX2 = 1,
    W2V_ISA_AVX512 = 2
};

enum {
    W2V_LR_SGD = 0,           /* plain SGD, word2vec.c's update (the default) */
    W2V_LR_ADAGRAD_ROW = 1,   /* AdaGrad, one accumulator per row */
    W2V_LR_ADAGRAD_COORD = 2, /* AdaGrad, one accumulator per coordinate (yskip) */
    W2V_LR_COUNT = 3          /* per-row rate alpha / (1 + count / tau) */
};

enum {
    W2V_OK = 0,
    W2V_ERR_NOMEM = -1,
    W2V_ERR_ISA = -2
};

/* One slot of Walker's alias table for the noise distribution: exact for any
 * count distribution, O(V) memory and one cache line per draw (a word2vec.c
 * style 1e8-entry table costs a cache and TLB miss per draw). */
typedef struct {
    float prob;               /* keep the slot's own word with this probability */
    int32_t alias;            /* ... else take this word */
} w2v_alias;

typedef struct {
    float *syn0;              /* vocab_size x dim, input vectors */
    float *syn1;              /* (vocab_size - 1) x dim, HS inner nodes; NULL unless hs */
    float *syn1neg;           /* vocab_size x dim, NS output vectors; NULL unless negative */
    int64_t vocab_size;
    int32_t dim;
    /* The Huffman tree and the noise table cover the words that existed when
     * they were last built (the first n_coded / the ones in the table); words
     * promoted since are trained as inputs, and join as HS targets and noise
     * words at the next (amortized) rebuild. */
    const int32_t *points;    /* n_coded x max_code_len, inner-node rows root -> leaf */
    const uint8_t *codes;     /* n_coded x max_code_len, branch bits (0 or 1) */
    const int32_t *code_lens; /* n_coded */
    int64_t n_coded;          /* words with a Huffman code: ids [0, n_coded) */
    int32_t max_code_len;
    const w2v_alias *neg_alias; /* neg_alias_size slots, noise ~ count^ns_exponent; NULL unless negative */
    int64_t neg_alias_size;
    const float *keep_prob;   /* vocab_size, subsampling keep probability; NULL keeps all */
    /* AdaGrad accumulators (sums of squared gradients), one per matrix, with
     * the matrix's row count (W2V_LR_ADAGRAD_ROW: one float per row) or shape
     * (W2V_LR_ADAGRAD_COORD). Required for every matrix the batch updates
     * under AdaGrad; not read under W2V_LR_SGD (NULL allowed). */
    float *syn0_acc;
    float *syn1_acc;
    float *syn1neg_acc;
    /* W2V_LR_COUNT: the count of every row (one float per row, >= 0), one
     * array per matrix the batch updates; read only. Not read under the
     * other modes (NULL allowed). */
    const float *syn0_count;
    const float *syn1_count;
    const float *syn1neg_count;
} w2v_model;

typedef struct {
    int32_t sg;               /* 1 skip-gram, 0 CBOW */
    int32_t hs;               /* 1 hierarchical softmax */
    int32_t negative;         /* number of noise words, 0 = no negative sampling */
    int32_t window;           /* maximum half-window, >= 1 */
    int32_t cbow_mean;        /* 0 sum, 1 mean (word2vec.c), 2 mean with 1/C update (seed) */
    int32_t compute_loss;     /* 1: accumulate the loss */
    float alpha;              /* learning rate at the first token of the batch */
    float alpha_end;          /* ... linearly to this at the last token */
    int32_t lr_mode;          /* W2V_LR_*: the update rule; alpha is eta under AdaGrad */
    float count_tau;          /* W2V_LR_COUNT: the count that halves a row's rate (> 0) */
    int32_t shared_negatives; /* 1: one minibatch per center, noise drawn once (see above) */
    int32_t hs_hot_rows;      /* HS: the call trains this many heaviest inner nodes (the
                                 tree's last rows) in a private copy, merged into syn1
                                 every 1024 positions and at the end, so that threads do
                                 not fight over the root's cache lines. With one thread
                                 the result is bit for bit that of 0 (train_impl.h). */
    float shared_output_scale; /* shared negatives under W2V_LR_SGD: the output rows step
                                 at alpha times this, the input rows at alpha (see above);
                                 1 is word2vec's one rate. Ignored otherwise. */
} w2v_params;

typedef struct {
    const int32_t *words;         /* token ids, -1 = out of vocabulary (dropped) */
    int64_t n_words;
    const int64_t *sentence_ends; /* ascending exclusive ends; the last equals n_words */
    int64_t n_sentences;
} w2v_batch;

typedef struct {
    double loss;              /* sum of -log-likelihood over every logistic term */
    int64_t words_kept;       /* in-vocabulary tokens that survived subsampling */
    int64_t examples;         /* (hidden layer, center word) examples trained */
    int64_t terms;            /* logistic terms evaluated (loss / terms = mean loss) */
} w2v_result;

int w2v_cpu_isas(void);       /* bit mask of 1 << W2V_ISA_* this CPU can run */
int w2v_set_isa(int isa);     /* W2V_OK, or W2V_ERR_ISA when not available */
int w2v_get_isa(void);        /* the one in use: as set, else AVX2 if available, else scalar */

/* Trains one batch. *rng is advanced; *out is overwritten. Returns W2V_OK or
 * W2V_ERR_NOMEM. The caller guarantees every index is in range. */
int w2v_train_batch(const w2v_model *model, const w2v_params *params,
                    const w2v_batch *batch, uint64_t *rng, w2v_result *out);

/* Builds the alias table of weights[0..n) (non-negative, positive sum) in O(n).
 * Returns W2V_OK or W2V_ERR_NOMEM. */
int w2v_build_alias(const double *weights, int64_t n, w2v_alias *out);

/* The tables the kernels use, exposed so the oracle and tests see the same. */
float w2v_sigmoid(float x);
float w2v_log1pexp(float z);

/* SIMD primitives of the current ISA, exposed for tests and benchmarks. */
float w2v_dot(const float *a, const float *b, int32_t n);
void w2v_axpy(float a, const float *x, float *y, int32_t n);
/* Per-coordinate AdaGrad step of y with gradient step x' = s*x (x, G, y distinct):
 * for every k: t = s*x[k]; G[k] += t*t; y[k] += eta * (t / sqrt(G[k])). */
void w2v_adagrad(float s, const float *x, float eta, float *G, float *y, int32_t n);
/* The minibatch primitives of shared-negatives skip-gram, on rows stored one
 * after another (u and x: n rows of dim floats; at most W2V_MAX_PRIMITIVE_ROWS
 * for w2v_lincomb). w2v_dots: out[k] = w2v_dot(h, u_k), bit for bit.
 * w2v_lincomb: s = sum_k c[k] x_k (k ascending); add = 0: y = s; add = 1:
 * y += a * s, bit for bit as y = s into a scratch row, then w2v_axpy(a, row, y). */
#define W2V_MAX_PRIMITIVE_ROWS 64
void w2v_dots(const float *h, const float *u, int32_t n, float *out, int32_t dim);
void w2v_lincomb(float a, const float *c, const float *x, int32_t n, float *y, int32_t dim, int32_t add);
/* ---- Text: from UTF-8 bytes to counted token ids (word_table.c, tokenize.c) ----
 * So that reading text costs no Python per token, the vocabulary's words and
 * its candidates (words below min_count) live in a C hash table, and a batch
 * is split, looked up and counted in one call (with the GIL released); Python
 * hears only of the words promoted. Keys are UTF-8 bytes (Python's
 * encode("utf-8", "surrogatepass"): any str has one encoding, and two strs
 * are equal iff their bytes are). Words get ids 0, 1, ... in promotion order
 * and keep them; their counts are kept by the caller. */
typedef struct w2v_words w2v_words;  /* opaque */

w2v_words *w2v_words_new(void);      /* NULL when out of memory */
void w2v_words_free(w2v_words *words);
int64_t w2v_words_size(const w2v_words *words);        /* words: ids 0 .. size - 1 */
int64_t w2v_words_candidates(const w2v_words *words);  /* candidates held */
/* Restoring a saved state (the key must be absent: the caller checks).
 * A word gets id = size. W2V_OK or W2V_ERR_NOMEM. */
int w2v_words_add(w2v_words *words, const char *key, int64_t len);
int w2v_words_add_candidate(w2v_words *words, const char *key, int64_t len, int64_t count);
/* The id of a word; -2 for a candidate, -1 for an absent key. */
int32_t w2v_words_get(const w2v_words *words, const char *key, int64_t len);
/* The candidates, in table order: their bytes back to back (keys, with
 * offsets[0..n]: candidate_bytes bytes, n + 1 offsets) and counts (n).
 * keys and offsets may be NULL (counts only). */
int64_t w2v_words_candidate_bytes(const w2v_words *words);
void w2v_words_export_candidates(const w2v_words *words, char *keys, int64_t *offsets, int64_t *counts);
/* Misra-Gries: subtract cut from every candidate's count, drop those at or
 * below 0. W2V_OK, or W2V_ERR_NOMEM with nothing changed. */
int w2v_words_forget(w2v_words *words, int64_t cut);

/* One reading call's outputs (the caller sizes the arrays: see below) and counters. */
typedef struct {
    int32_t *ids;             /* per kept token: its id, or -1 */
    int64_t *sentence_ends;   /* w2v_tokenize: ascending exclusive ends into ids */
    int32_t *unknown_pos;     /* positions of the tokens that were not words when read */
    char *unknown_text;       /* their bytes, each followed by '\n' (NULL: not written) */
    int32_t *scratch;         /* 2 entries per possible token */
    uint64_t *spans;          /* w2v_tokenize: 2 entries per possible token */
    char *promoted_text;      /* words promoted by this call, back to back ... */
    int64_t *promoted_ends;   /* ... word k ending at promoted_ends[k] */
    int64_t *promoted_counts; /* their counts, this call's occurrences included */
    int64_t *counts;          /* the words' counts, one per id < size at the call: every
                                 token read as a word adds 1 (NULL: not counted) */
    int64_t tokens, sentences, unknown, unknown_bytes, skipped, promoted, promoted_bytes;
} w2v_tokens;

/* Splits documents into tokens exactly as Python's str.split() splits the
 * decoded text (the whitespace is Python's: ASCII 9-13, 28-32 and the UTF-8
 * encodings of U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029,
 * U+202F, U+205F, U+3000), then reads every token (see below).
 *  - Document d is text[doc_ends[d-1] .. doc_ends[d]) (doc_ends ascending,
 *    the last <= text_len). Each is one sentence, cut every max_sentence
 *    tokens (a document of 0 tokens still ends one, empty, sentence).
 *  - A token of more than max_chars code points (bytes that are not UTF-8
 *    continuation bytes) is dropped and counted in skipped, after the cut.
 * Reading a token: a word gives its id. Anything else gives -1, its position
 * in unknown_pos and, with min_count > 0, one more count for its candidate
 * (created if new). With min_count > 0, after the last token the candidates
 * seen by this call whose count reached min_count become words, in the order
 * of their first occurrence in the call, and every occurrence of them in
 * ids, earlier ones too, takes the new id (their positions stay in
 * unknown_pos, so the caller can tell they were counted as candidates).
 * min_count = 0 only looks up (a later epoch): nothing is counted or added.
 * Sizes: ids, unknown_pos: text_len entries; scratch, spans: 2 * text_len;
 * sentence_ends: n_docs + text_len / max_sentence + 1 (max_sentence >= 1);
 * unknown_text: text_len + n_docs bytes; promoted_text, promoted_counts, promoted_ends:
 * text_len. W2V_OK, or W2V_ERR_NOMEM (this call's candidate counts lost). */
int w2v_tokenize(w2v_words *words, const char *text, int64_t text_len,
                 const int64_t *doc_ends, int64_t n_docs,
                 int64_t max_chars, int64_t max_sentence, int64_t min_count, w2v_tokens *out);
/* The same reading for tokens given one by one (token lists): token k is
 * keys[key_ends[k-1] .. key_ends[k]). Sizes as above with n_keys tokens and
 * key_ends[n_keys - 1] + n_keys text bytes; sentence_ends unused. */
int w2v_count_tokens(w2v_words *words, const char *keys, const int64_t *key_ends, int64_t n_keys,
                     int64_t min_count, w2v_tokens *out);

/* The n - 1 merges of Huffman's algorithm on counts[0..n) (>= 0, sum < 2^63),
 * order[] the ids 0..n-1 sorted by (count, id): merge k joins children[2k]
 * (the lighter, by (count, id); merged node k has id n + k) and
 * children[2k + 1]. O(n). Returns W2V_OK or W2V_ERR_NOMEM. */
int w2v_huffman_merge(const int64_t *counts, const int64_t *order, int64_t n, int32_t *children);
/* The depth of every node 0..2n-2 of the tree whose merges are children[]
 * (as w2v_huffman_merge writes them: a valid tree, children before parents). */
void w2v_huffman_depths(const int32_t *children, int64_t n, int32_t *depth);
/* Root-first paths of the leaves 0..n-1 (code_lens[w] = depth of leaf w <=
 * width): points[w * width + d] the inner node (id - n) at depth d, codes[]
 * the branch bit taken (1 for the second child). Other entries are untouched.
 * Returns W2V_OK or W2V_ERR_NOMEM. */
int w2v_huffman_paths(const int32_t *children, int64_t n, const int32_t *code_lens, int32_t width,
                      int32_t *points, uint8_t *codes);
/* CDEF-END */

#endif
