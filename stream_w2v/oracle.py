"""A float64 NumPy oracle for the kernels, written for clarity, not speed.

Two things live here:

1. The seed's losses and their gradient-descent updates, one small function
   each, with the seed's equation numbers (``seed/000_17ef2dbad5363b8d.txt``):

   - full softmax, for a tiny vocabulary: :func:`softmax_loss` (eqs. 4, 16, 34)
     and :func:`softmax_step` (eqs. 18-32); CBOW :func:`cbow_softmax_step`
     (eqs. 33-36) and skip-gram :func:`sg_softmax_step` (eqs. 37-43);
   - hierarchical softmax: :func:`hs_loss` (eqs. 62-63, word2vec.c's labels)
     and :func:`hs_step` (eqs. 64-65, 69-70);
   - negative sampling: :func:`ns_loss` (eqs. 50, 75-76) and :func:`ns_step`
     (eqs. 77-80).

   ``tests/test_oracle.py`` checks by finite differences that every update is
   ``-alpha *`` the gradient of its loss.

2. :func:`train_batch_oracle`, an exact replay of one ``w2v_train_batch`` call
   (``csrc/w2v.h``): the same LCG draws in the same order, the same examples,
   the same sequential updates, in float64. ``tests/test_kernels.py`` compares
   the kernels against it within a bound derived from float32 rounding and the
   sigmoid table.

Seed errata (DESIGN.md section 4). The seed writes the output-vector updates of
section 4 as ``V' = V' - alpha [L(u) - sigma(V'^T h)] h`` (eqs. 65, 78, 86;
eqs. 78 and 86 also lose the sigma). ``[L - sigma] h`` is the gradient of the
log-*likelihood* (eqs. 64, 77), so the step that lowers the loss is ``+``:

    V' = V' + alpha [L(u) - sigma(V'^T h)] h  ==  V' - alpha dE/dV'

which is what word2vec.c does and what the seed's own pseudo-code boxes do.
Eq. 48 (section 3) has the right sign. The seed's CBOW takes the mean of the
context (``h = (1/C) sum v``) and gives every context word ``1/C`` of
``dE/dh`` (eq. 36): the exact gradient; word2vec.c and gensim add the whole
``dE/dh`` to every context word (``C`` times the gradient). The kernels offer
both: ``cbow_mean=0`` sum, ``cbow_mean=1`` mean with word2vec.c's update (the
default), ``cbow_mean=2`` mean with the seed's exact ``1/C`` update.

Labels: the logistic label of a term is ``L = 1`` for "this is the word" and
``L = 0`` otherwise. For negative sampling that is the true word (1) and the
noise words (0); for hierarchical softmax it is ``L = 1 - code`` (eq. 61:
word2vec.c takes branch bit 1 as the negative class).

Update rules (``lr_mode``, csrc/w2v.h). ``"sgd"`` is the above: a step of
``-alpha *`` the gradient. Under AdaGrad (Duchi et al. 2011; yskip, Kaji &
Kobayashi 2017, uses the per-coordinate form) every row ``w`` of a matrix has
an accumulator ``G`` of squared gradients, and a step along a gradient ``x``
of the loss is (:func:`adagrad_update`)

    per row (``"adagrad_row"``):          G_w  += |x|^2 / dim,  w   -= eta x / sqrt(G_w)
    per coordinate (``"adagrad_coord"``): G_wk += x_k^2,        w_k -= eta x_k / sqrt(G_wk)

with ``eta`` the example's ``alpha``. The output rows step per logistic term
with ``x = dE/du = -(L - sigma(f)) h`` (:func:`logistic_step_adagrad`); the
error ``e = -dE/dh`` is collected unscaled (no ``alpha``) and the input rows
step after the example with ``x = -e`` (skip-gram; CBOW with cbow_mean 0 or 1:
word2vec.c's update direction, ``C`` times the gradient of the mean for
cbow_mean 1) or ``x = -e / C`` (cbow_mean 2), once per occurrence in the
window. Since the accumulator includes the step's own gradient, the first step
of a coordinate is ``eta x / sqrt(G0 + x^2)``: about ``eta`` whatever the size
of ``x`` when ``x^2 >> G0``.

Per-row decay by count (``"count"``): every row ``r`` has a count ``n_r``
(given, never changed by a batch) and steps with its own learning rate
(:func:`count_rate`)

    rate_r = alpha / (1 + n_r / tau),        w_r -= rate_r x

along the same gradient ``x`` as AdaGrad: output rows per term
(:func:`logistic_step_count`), input rows after the example along ``-e`` (or
``-e / C``) with ``e = -dE/dh`` collected unscaled. ``alpha`` is the rate of a
row with count 0 and ``tau`` the count at which the rate has halved; with
every count 0 this is SGD.

Shared negatives (``shared_negatives=True``; skip-gram with negative sampling
and no HS; pWord2Vec, Ji et al. 2016). A center position is one minibatch:
its context rows ``H`` (n_in x dim, window order, repeats included) against
the output rows ``U`` (n_out x dim: the center, then the noise words drawn
once for the center). Every term is read before any row moves:

    Z = H U^T,   G = L - sigma(Z)            (n_in x n_out; L = [1, 0, ..., 0])
    E = G U  (-dE/dH),   F = G^T H  (-dE/dU)

then every output row steps along its row of ``F`` and every input row along
its row of ``E``, with the update rule of ``lr_mode`` (SGD: ``+ alpha x``
for the input rows, ``+ c alpha x`` for the output rows, ``c`` the
``shared_output_scale``; AdaGrad and "count": the same steps as above, one
per row occurrence, in order). :func:`apply_shared_example`.

The sigmoid. The kernels read sigmoid from a table over [-6, 6] and clamp
outside: ``sigmoid(x) = sigmoid(+-6)`` for ``|x| > 6``. The oracle uses the
exact ``1 / (1 + exp(-x))``; with ``sigmoid_clamp=6.0`` (the default of
:func:`train_batch_oracle`) it is evaluated at ``clip(x, -6, 6)``, the same
function as the kernel's up to the table's interpolation error. With
``sigmoid_clamp=None`` it is the exact sigmoid everywhere (what the seed's
losses differentiate to). The loss is always the exact ``log(1 + exp(z))``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple, Sequence

import numpy as np

#: The kernels' sigmoid range: |x| > MAX_EXP reads the end of the table.
MAX_EXP = 6.0
#: Update rules, as in ``_native.LR_MODES``.
LR_MODES = ("sgd", "adagrad_row", "adagrad_coord", "count")

_LCG_MUL = 25214903917
_LCG_ADD = 11
_MASK64 = (1 << 64) - 1


# ---------------------------------------------------------------- scalar functions

def sigmoid(x: float, clamp: float | None = None) -> float:
    """``1 / (1 + exp(-x))``, at ``clip(x, -clamp, clamp)`` when ``clamp`` is given."""
    if clamp is not None:
        x = min(max(x, -clamp), clamp)
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def log1pexp(z: float) -> float:
    """``log(1 + exp(z))`` without overflow: the loss ``-log sigmoid(-z)`` of one term."""
    return float(np.logaddexp(0.0, z))


def lcg(r: int) -> int:
    """word2vec.c's random step ``r * 25214903917 + 11`` modulo 2**64."""
    return (r * _LCG_MUL + _LCG_ADD) & _MASK64


# ---------------------------------------------------------------- full softmax (tiny V)

def softmax_loss(U: np.ndarray, h: np.ndarray, target: int) -> float:
    """``E = -log softmax(U h)[target] = -u_t.h + log sum_j exp(u_j.h)`` (eqs. 4, 16, 34)."""
    z = U @ h
    return float(np.logaddexp.reduce(z) - z[target])


def softmax_grads(U: np.ndarray, h: np.ndarray, target: int):
    """``(dE/dU, dE/dh)`` of :func:`softmax_loss`.

    With ``y = softmax(U h)`` and ``t`` the one-hot target, ``dE/dz = y - t``
    (eqs. 18-19), ``dE/dU = (y - t) h^T`` (eqs. 21-22) and
    ``dE/dh = U^T (y - t)`` (eqs. 26-27).
    """
    z = U @ h
    y = np.exp(z - np.logaddexp.reduce(z))
    y[target] -= 1.0
    return np.outer(y, h), U.T @ y


def softmax_step(U: np.ndarray, h: np.ndarray, target: int, alpha: float):
    """One gradient step on :func:`softmax_loss`: returns ``(U_new, e)``.

    ``U_new = U - alpha (y - t) h^T`` (eqs. 23-24: every output row moves) and
    ``e = -alpha dE/dh`` (the change eq. 32 applies to the input vector),
    both evaluated at the same (old) ``U``.
    """
    dU, dh = softmax_grads(U, h, target)
    return U - alpha * dU, -alpha * dh


def cbow_softmax_loss(syn0, U, contexts: Sequence[int], target: int, cbow_mean: int = 1) -> float:
    """CBOW loss (eqs. 33-34): ``h`` is the sum (cbow_mean=0) or mean of the context rows."""
    return softmax_loss(U, cbow_hidden(syn0, contexts, cbow_mean), target)


def cbow_softmax_step(syn0, U, contexts: Sequence[int], target: int, alpha: float,
                      cbow_mean: int = 1):
    """One CBOW example with a full softmax: returns new ``(syn0, U)``.

    Output rows: eq. 35. Input rows: every context word gets ``e = -alpha dE/dh``
    (cbow_mean 0 and 1, word2vec.c) or ``e / C`` (cbow_mean 2: eq. 36, the
    exact gradient of the mean), once per occurrence in the window.
    """
    h = cbow_hidden(syn0, contexts, cbow_mean)
    U_new, e = softmax_step(U, h, target, alpha)
    return _spread_to_contexts(syn0, contexts, e, cbow_mean), U_new


def sg_softmax_loss(syn0, U, center: int, contexts: Sequence[int]) -> float:
    """The seed's skip-gram loss (eqs. 6, 37-38): ``v_center`` predicts every context word,
    ``E = sum_c -log softmax(U v_center)[c]``."""
    h = syn0[center]
    return sum(softmax_loss(U, h, c) for c in contexts)


def sg_softmax_step(syn0, U, center: int, contexts: Sequence[int], alpha: float):
    """One step of the seed's skip-gram (eqs. 39-43): the errors of all context words are
    summed (``EI``, eq. 40) before ``U`` and ``v_center`` move (eqs. 42-43).

    (The kernels follow word2vec.c instead: each context word's input vector
    predicts the center, one pair at a time; see :func:`train_batch_oracle`.)
    """
    h = syn0[center].copy()
    dU = np.zeros_like(U)
    dh = np.zeros_like(h)
    for c in contexts:
        gU, gh = softmax_grads(U, h, c)
        dU += gU
        dh += gh
    syn0 = syn0.copy()
    syn0[center] -= alpha * dh
    return syn0, U - alpha * dU


# ---------------------------------------------------------------- the logistic step (HS and NS)

def logistic_step(h: np.ndarray, out: np.ndarray, row: int, label: int, alpha: float,
                  e: np.ndarray, clamp: float | None = None) -> float:
    """The step hierarchical softmax and negative sampling share (fastText's
    ``binaryLogistic``); returns the term's loss.

    One binary logistic regression of output row ``u = out[row]`` on ``h``:
    ``f = u.h``, ``g = alpha (L - sigma(f))`` (eqs. 64, 77, 79),
    ``e += g u`` (the term's ``-alpha dE/dh``, eqs. 69-70, 79-80, read *before*
    ``u`` moves), ``u += g h`` (``-alpha dE/du``: eqs. 48, 65 and 78 with the
    sign corrected). The loss is ``-log sigma(f)`` for ``L = 1`` and
    ``-log sigma(-f)`` for ``L = 0``, i.e. ``log(1 + exp(-f))`` or
    ``log(1 + exp(f))`` (eqs. 63, 76).
    """
    u = out[row]
    f = float(u @ h)
    g = alpha * (label - sigmoid(f, clamp))
    e += g * u
    out[row] = u + g * h
    return log1pexp(-f if label == 1 else f)


def adagrad_update(mat: np.ndarray, acc: np.ndarray, row: int, grad: np.ndarray, eta: float,
                   lr_mode: str) -> None:
    """One AdaGrad step of ``mat[row]`` along the loss gradient ``grad`` (in place).

    ``"adagrad_row"``: ``acc`` has one entry per row, ``acc[row] += |grad|^2 / dim``;
    ``"adagrad_coord"``: ``acc`` has ``mat``'s shape, ``acc[row] += grad**2``.
    Then ``mat[row] -= eta * grad / sqrt(acc[row])`` with the *updated* accumulator.
    """
    if lr_mode == "adagrad_row":
        acc[row] += float(grad @ grad) / len(grad)
    elif lr_mode == "adagrad_coord":
        acc[row] += grad * grad
    else:
        raise ValueError(f"not an AdaGrad mode: {lr_mode!r}")
    mat[row] -= eta * grad / np.sqrt(acc[row])


def logistic_step_adagrad(h: np.ndarray, out: np.ndarray, acc: np.ndarray, row: int, label: int,
                          eta: float, e: np.ndarray, lr_mode: str,
                          clamp: float | None = None) -> float:
    """:func:`logistic_step` under AdaGrad; returns the term's loss.

    ``g = L - sigma(f)`` (no learning rate), ``e += g u`` (``-dE/dh``, read
    before ``u`` moves), then ``u`` takes an AdaGrad step along
    ``dE/du = -g h`` with its accumulator ``acc[row]``.
    """
    u = out[row]
    f = float(u @ h)
    g = label - sigmoid(f, clamp)
    e += g * u
    adagrad_update(out, acc, row, -g * h, eta, lr_mode)
    return log1pexp(-f if label == 1 else f)


def count_rate(alpha: float, n: float, tau: float) -> float:
    """The learning rate of a row with count ``n`` under ``"count"``: ``alpha / (1 + n / tau)``."""
    return alpha / (1.0 + n / tau)


def logistic_step_count(h: np.ndarray, out: np.ndarray, row: int, label: int, rate: float,
                        e: np.ndarray, clamp: float | None = None) -> float:
    """:func:`logistic_step` with the row's own learning rate ``rate``; returns the term's loss.

    ``g = L - sigma(f)`` (no learning rate), ``e += g u`` (``-dE/dh``, read
    before ``u`` moves), then ``u += rate g h`` (``u -= rate dE/du``).
    """
    u = out[row]
    f = float(u @ h)
    g = label - sigmoid(f, clamp)
    e += g * u
    out[row] = u + rate * g * h
    return log1pexp(-f if label == 1 else f)


def hs_terms(target: int, points, codes, code_lens) -> list[tuple[int, int]]:
    """The (syn1 row, label) pairs of ``target``'s Huffman path, root first; label = 1 - code.

    A word without a code (``target >= len(code_lens)``: promoted after the
    tree was built) has no path.
    """
    if target >= len(code_lens):
        return []
    n = int(code_lens[target])
    return [(int(points[target, d]), 1 - int(codes[target, d])) for d in range(n)]


def ns_terms(target: int, noise: Sequence[int]) -> list[tuple[int, int]]:
    """The (syn1neg row, label) pairs: the true word (1), then every noise word
    that is not the true word (0)."""
    return [(target, 1)] + [(int(w), 0) for w in noise if w != target]


def hs_loss(syn1: np.ndarray, h: np.ndarray, path: Sequence[tuple[int, int]]) -> float:
    """Hierarchical-softmax loss of one example (eqs. 62-63, exact sigmoid):
    ``E = -sum_i [ L_i log sigma(f_i) + (1 - L_i) log(1 - sigma(f_i)) ]``, ``f_i = v'_i.h``."""
    return _logistic_loss(syn1, h, path)


def ns_loss(syn1neg: np.ndarray, h: np.ndarray, terms: Sequence[tuple[int, int]]) -> float:
    """Negative-sampling loss of one example (eqs. 50, 75-76, exact sigmoid):
    ``E = -log sigma(u_w.h) - sum_k log sigma(-u_k.h)``."""
    return _logistic_loss(syn1neg, h, terms)


def hs_step(syn1, h, path, alpha, clamp=None):
    """One example's hierarchical-softmax updates (eqs. 64-65 sign-corrected, 69-70):
    returns ``(syn1_new, e, loss)`` with ``e = -alpha dE/dh``."""
    return _logistic_steps(syn1, h, path, alpha, clamp)


def ns_step(syn1neg, h, terms, alpha, clamp=None):
    """One example's negative-sampling updates (eqs. 77-80, sign corrected):
    returns ``(syn1neg_new, e, loss)`` with ``e = -alpha dE/dh``.

    This equals ``-alpha *`` the gradient of :func:`ns_loss` when the rows of
    ``terms`` are distinct; a noise word drawn twice is updated twice in
    sequence (as word2vec.c does), the second time from its moved position.
    """
    return _logistic_steps(syn1neg, h, terms, alpha, clamp)


def _logistic_loss(out, h, terms) -> float:
    return sum(log1pexp(-float(out[r] @ h) if L == 1 else float(out[r] @ h)) for r, L in terms)


def _logistic_steps(out, h, terms, alpha, clamp):
    out = np.array(out, dtype=np.float64)
    e = np.zeros(len(h))
    loss = sum(logistic_step(h, out, r, L, alpha, e, clamp) for r, L in terms)
    return out, e, loss


def cbow_hidden(syn0: np.ndarray, contexts: Sequence[int], cbow_mean: int) -> np.ndarray:
    """``h = sum_c v_c`` (cbow_mean=0) or ``(1/C) sum_c v_c`` (cbow_mean=1, 2)."""
    h = np.sum([syn0[c] for c in contexts], axis=0, dtype=np.float64)
    return h / len(contexts) if cbow_mean else h


def _spread_to_contexts(syn0, contexts, e, cbow_mean):
    syn0 = np.array(syn0, dtype=np.float64)
    scale = 1.0 / len(contexts) if cbow_mean == 2 else 1.0
    for c in contexts:          # a word twice in the window gets e twice
        syn0[c] += scale * e
    return syn0


# ---------------------------------------------------------------- batch replay

@dataclass(frozen=True)
class Example:
    """One training example of a batch: a hidden layer and its output terms.

    ``inputs`` are the syn0 rows that form ``h`` (skip-gram: one context
    word; CBOW: every word of the window, repeats included), ``center`` the
    word to predict, ``alpha`` its learning rate, ``hs`` the (syn1 row, label)
    terms of the center's Huffman path and ``ns`` the (syn1neg row, label)
    terms of the true word and its noise words.

    ``shared`` marks a shared-negatives minibatch (skip-gram only): ``inputs``
    are then every context word of the window (ascending position, repeats
    included), each an example of its own against the same ``ns`` terms
    (:func:`apply_shared_example`); ``hs`` is empty.
    """
    inputs: tuple[int, ...]
    center: int
    alpha: float
    hs: tuple[tuple[int, int], ...]
    ns: tuple[tuple[int, int], ...]
    shared: bool = False

    @property
    def n_examples(self) -> int:
        """The examples the kernel counts: one per (context, center) pair in a shared one."""
        return len(self.inputs) if self.shared else 1

    @property
    def n_terms(self) -> int:
        """The logistic terms the kernel counts."""
        return len(self.inputs) * len(self.ns) if self.shared else len(self.hs) + len(self.ns)


class BatchPlan(NamedTuple):
    examples: list[Example]
    words_kept: int
    rng: int


class OracleResult(NamedTuple):
    syn0: np.ndarray
    syn1: np.ndarray | None
    syn1neg: np.ndarray | None
    loss: float
    words_kept: int
    examples: int
    terms: int
    rng: int
    # The AdaGrad accumulators after the batch (float64 copies; None when not given);
    # the counts of "count" are not changed by a batch.
    syn0_acc: np.ndarray | None = None
    syn1_acc: np.ndarray | None = None
    syn1neg_acc: np.ndarray | None = None


def draw_negative(r: int, neg_alias) -> tuple[int, int]:
    """One noise word by Walker's alias method from two LCG draws: returns ``(word, r)``.

    ``slot = ((r1 >> 32) * n) >> 32`` (n = table size), coin ``(r2 >> 40) / 2^24``;
    the slot's own word if ``coin < prob[slot]``, else ``alias[slot]``.
    """
    prob, alias = _alias_columns(neg_alias)
    r = lcg(r)
    slot = ((r >> 32) * len(prob)) >> 32
    r = lcg(r)
    coin = (r >> 40) / 2.0**24
    return (slot if coin < prob[slot] else int(alias[slot])), r


def _alias_columns(neg_alias):
    if isinstance(neg_alias, np.ndarray) and neg_alias.dtype.names:
        return neg_alias["prob"].astype(np.float64), neg_alias["alias"]
    prob, alias = neg_alias
    return np.asarray(prob, dtype=np.float64), np.asarray(alias)


def plan_batch(words, sentence_ends, *, sg: int, hs: int, negative: int, window: int,
               alpha: float = 0.025, alpha_end: float | None = None, points=None, codes=None,
               code_lens=None, neg_alias=None, keep_prob=None, rng: int = 1,
               shared_negatives: bool = False) -> BatchPlan:
    """Every random draw of one batch, in the kernels' order, and the examples they make.

    The plan depends only on the token ids, the tables and the random state,
    never on the matrices, so a batch can be planned once and its float64
    updates applied separately (:func:`apply_example`). Order of draws:

    - per sentence, per in-vocabulary token (id >= 0), if ``keep_prob`` is
      given: ``r = lcg(r)``; keep iff ``(r & 0xFFFF) / 65536 < keep_prob[t]``;
    - then per kept position i: ``r = lcg(r)``; ``b = r % window``; half-window
      ``w = window - b``; contexts are the kept positions j != i, |j - i| <= w;
    - per example, before its terms, ``negative`` noise words (two draws each,
      :func:`draw_negative`); a noise word equal to the center is skipped.
      Skip-gram makes one example per context position j (ascending; the
      context word's vector is ``h``); CBOW one per position with at least one
      context word (no noise draws otherwise).
    - with ``shared_negatives`` (skip-gram, ``hs=0``, ``negative > 0``):
      one shared example per position with at least one context word, its
      ``negative`` noise words drawn once, right after the window draw (two
      draws each); a position without context words draws nothing. Its
      inputs are all the context words (ascending j, repeats included).

    The learning rate of a position is ``alpha + (alpha_end - alpha) * t / max(n - 1, 1)``
    with ``t`` the token's index in ``words`` (out-of-vocabulary tokens count)
    and ``n = len(words)``.
    """
    if shared_negatives and not (sg and not hs and negative > 0):
        raise ValueError("shared_negatives needs sg=1, hs=0 and negative > 0")
    words = np.asarray(words)
    ends = np.asarray(sentence_ends)
    n = len(words)
    alpha_end = alpha if alpha_end is None else alpha_end
    r = int(rng)
    examples: list[Example] = []
    words_kept = 0
    start = 0
    for end in ends:
        kept: list[tuple[int, int]] = []          # (word id, index in the batch)
        for t in range(start, int(end)):
            word = int(words[t])
            if word < 0:
                continue
            if keep_prob is not None:
                r = lcg(r)
                if not (r & 0xFFFF) / 65536.0 < float(keep_prob[word]):
                    continue
            kept.append((word, t))
        for i, (center, t) in enumerate(kept):
            alpha_i = alpha + (alpha_end - alpha) * t / max(n - 1, 1)
            r = lcg(r)
            w = window - r % window
            context = [kept[j][0] for j in range(max(i - w, 0), min(i + w, len(kept) - 1) + 1)
                       if j != i]
            if shared_negatives:
                groups = [tuple(context)] if context else []
            elif sg:
                groups = [(c,) for c in context]
            else:
                groups = [tuple(context)] if context else []
            for inputs in groups:
                noise = []
                for _ in range(negative):
                    word, r = draw_negative(r, neg_alias)
                    noise.append(word)
                path = hs_terms(center, points, codes, code_lens) if hs else []
                neg = ns_terms(center, noise) if negative else []
                examples.append(Example(inputs, center, alpha_i, tuple(path), tuple(neg),
                                        bool(shared_negatives)))
        words_kept += len(kept)
        start = int(end)
    return BatchPlan(examples, words_kept, r)


def apply_example(ex: Example, syn0, syn1, syn1neg, *, cbow_mean: int,
                  clamp: float | None = MAX_EXP, lr_mode: str = "sgd",
                  accs=(None, None, None), counts=(None, None, None),
                  count_tau: float | None = None, shared_output_scale: float = 1.0) -> float:
    """Applies one example in place (float64 arrays); returns its loss.

    ``h`` is the context word's row (skip-gram, one input; pass cbow_mean=1)
    or the sum / mean of the window (CBOW). The Huffman path's terms come first, then the true
    word and the noise words, each through :func:`logistic_step` with the
    same ``h`` and one shared error ``e``. Then ``e`` goes to the inputs:
    as is (skip-gram; CBOW with cbow_mean 0 or 1) or ``e / C`` (cbow_mean 2).

    Under AdaGrad (``lr_mode`` not ``"sgd"``; ``accs`` are the float64
    accumulators of syn0, syn1, syn1neg, updated in place) the same terms go
    through :func:`logistic_step_adagrad`, and every input takes the AdaGrad
    step along ``-e`` (or ``-e / C``), in the window's order.

    Under ``"count"`` (``counts``: the per-row counts of syn0, syn1, syn1neg;
    ``count_tau``) the terms go through :func:`logistic_step_count` with their
    row's :func:`count_rate`, and every input ``c`` then takes
    ``syn0[c] += count_rate(alpha, n_c) * e`` (or ``e / C``).

    A shared example (``ex.shared``) goes to :func:`apply_shared_example`
    (with ``shared_output_scale``).
    """
    if ex.shared:
        return apply_shared_example(ex, syn0, syn1neg, clamp=clamp, lr_mode=lr_mode,
                                    accs=accs, counts=counts, count_tau=count_tau,
                                    output_scale=shared_output_scale)
    if lr_mode == "count":
        return _apply_example_count(ex, syn0, syn1, syn1neg, cbow_mean, clamp, counts, count_tau)
    if lr_mode != "sgd":
        return _apply_example_adagrad(ex, syn0, syn1, syn1neg, cbow_mean, clamp, lr_mode, accs)
    h = cbow_hidden(syn0, ex.inputs, cbow_mean)   # one input: sum = mean = that row
    e = np.zeros(syn0.shape[1])
    loss = 0.0
    for row, label in ex.hs:
        loss += logistic_step(h, syn1, row, label, ex.alpha, e, clamp)
    for row, label in ex.ns:
        loss += logistic_step(h, syn1neg, row, label, ex.alpha, e, clamp)
    scale = 1.0 / len(ex.inputs) if cbow_mean == 2 else 1.0
    for c in ex.inputs:
        syn0[c] += scale * e
    return loss


def _apply_example_adagrad(ex, syn0, syn1, syn1neg, cbow_mean, clamp, lr_mode, accs) -> float:
    acc0, acc1, accn = accs
    h = cbow_hidden(syn0, ex.inputs, cbow_mean)
    e = np.zeros(syn0.shape[1])                    # -dE/dh, no learning rate in it
    loss = 0.0
    for row, label in ex.hs:
        loss += logistic_step_adagrad(h, syn1, acc1, row, label, ex.alpha, e, lr_mode, clamp)
    for row, label in ex.ns:
        loss += logistic_step_adagrad(h, syn1neg, accn, row, label, ex.alpha, e, lr_mode, clamp)
    scale = 1.0 / len(ex.inputs) if cbow_mean == 2 else 1.0
    for c in ex.inputs:                            # a word twice in the window steps twice
        adagrad_update(syn0, acc0, c, -scale * e, ex.alpha, lr_mode)
    return loss


def _apply_example_count(ex, syn0, syn1, syn1neg, cbow_mean, clamp, counts, tau) -> float:
    n0, n1, nn = counts
    h = cbow_hidden(syn0, ex.inputs, cbow_mean)
    e = np.zeros(syn0.shape[1])                    # -dE/dh, no learning rate in it
    loss = 0.0
    for row, label in ex.hs:
        loss += logistic_step_count(h, syn1, row, label, count_rate(ex.alpha, float(n1[row]), tau),
                                    e, clamp)
    for row, label in ex.ns:
        loss += logistic_step_count(h, syn1neg, row, label, count_rate(ex.alpha, float(nn[row]), tau),
                                    e, clamp)
    scale = 1.0 / len(ex.inputs) if cbow_mean == 2 else 1.0
    for c in ex.inputs:                            # a word twice in the window steps twice
        syn0[c] += scale * count_rate(ex.alpha, float(n0[c]), tau) * e
    return loss


def apply_shared_example(ex: Example, syn0, syn1neg, *, clamp: float | None = MAX_EXP,
                         lr_mode: str = "sgd", accs=(None, None, None),
                         counts=(None, None, None), count_tau: float | None = None,
                         output_scale: float = 1.0) -> float:
    """Applies one shared-negatives minibatch in place (float64 arrays); returns its loss.

    ``H`` holds the input rows ``syn0[c]`` for ``c`` in ``ex.inputs``, ``U``
    the output rows ``syn1neg[r]`` of the terms ``ex.ns`` (labels ``L``), all
    read before anything moves:

        Z = H U^T                      f_jk = h_j . u_k
        G = L - sigma(Z)               g_jk = L_k - sigma(f_jk)   (no learning rate)
        E = G U                        E_j = sum_k g_jk u_k = -dE/dh_j
        F = G^T H                      F_k = sum_j g_jk h_j = -dE/du_k

    (the names of csrc/w2v.h).

    loss = sum_jk log(1 + exp(-f_jk if L_k else f_jk)). Then every output row
    (in the order of ``ex.ns``) and every input row (in the order of
    ``ex.inputs``) steps along its gradient ``-F_k`` / ``-E_j``; a row listed
    twice steps twice, the second time from where the first left it:

    - ``"sgd"``: ``u_k += output_scale alpha F_k``, ``h_j += alpha E_j``;
    - AdaGrad: :func:`adagrad_update` with the row's accumulator (``accs``);
    - ``"count"``: ``u_k += count_rate(alpha, n_u) F_k``,
      ``h_j += count_rate(alpha, n_h) E_j`` (``counts``, ``count_tau``).
    """
    acc0, _, accn = accs
    n0, _, nn = counts
    rows = [r for r, _ in ex.ns]
    labels = np.array([L for _, L in ex.ns], dtype=np.float64)
    H = syn0[list(ex.inputs)]                     # copies: the values before any step
    U = syn1neg[rows]
    Z = H @ U.T
    G = labels[None, :] - np.array([[sigmoid(f, clamp) for f in zr] for zr in Z]).reshape(Z.shape)
    E = G @ U
    F = G.T @ H
    loss = sum(log1pexp(-f if L == 1 else f) for zr in Z for f, L in zip(zr, labels))
    out_alpha = ex.alpha * output_scale if lr_mode == "sgd" else ex.alpha
    for (row, _), x in zip(ex.ns, F):
        _step_along(syn1neg, accn, nn, row, x, out_alpha, lr_mode, count_tau)
    for c, x in zip(ex.inputs, E):
        _step_along(syn0, acc0, n0, c, x, ex.alpha, lr_mode, count_tau)
    return float(loss)


def _step_along(mat, acc, counts, row, x, alpha, lr_mode, count_tau) -> None:
    """Row ``row`` of ``mat`` moves along ``x`` (its summed gradient) by the rule:
    ``alpha x`` (SGD), its count's rate times ``x``, or the AdaGrad step."""
    if lr_mode == "sgd":
        mat[row] += alpha * x
    elif lr_mode == "count":
        mat[row] += count_rate(alpha, float(counts[row]), count_tau) * x
    else:
        adagrad_update(mat, acc, row, -x, alpha, lr_mode)


def train_batch_oracle(syn0, syn1, syn1neg, words, sentence_ends, *, sg: int, hs: int,
                       negative: int, window: int, cbow_mean: int = 1, alpha: float = 0.025,
                       alpha_end: float | None = None, points=None, codes=None, code_lens=None,
                       neg_alias=None, keep_prob=None, rng: int = 1, compute_loss: bool = True,
                       sigmoid_clamp: float | None = MAX_EXP, lr_mode: str = "sgd",
                       syn0_acc=None, syn1_acc=None, syn1neg_acc=None, syn0_count=None,
                       syn1_count=None, syn1neg_count=None,
                       count_tau: float | None = None,
                       shared_negatives: bool = False,
                       shared_output_scale: float = 1.0) -> OracleResult:
    """The float64 replay of ``_native.train_batch`` with the same arguments.

    The inputs are not modified: the result holds new float64 matrices, the
    batch's loss (0.0 unless ``compute_loss``), the counts the kernel reports
    and the advanced random state. ``sigmoid_clamp`` is the module
    docstring's: 6.0 evaluates the exact sigmoid at ``clip(f, -6, 6)`` like the
    kernels' table, ``None`` the exact sigmoid everywhere.

    Skip-gram is word2vec.c's: for every (context, center) pair the context
    word's input vector is ``h`` and is updated right after its pair.
    ``cbow_mean`` is ignored for skip-gram.

    ``lr_mode`` and the accumulators ``syn0_acc``, ``syn1_acc``, ``syn1neg_acc``
    (per row: shape ``(rows,)``; per coordinate: the matrix's shape) are
    ``_native.train_batch``'s; the result carries the updated accumulators.
    So are the counts ``syn0_count``, ``syn1_count``, ``syn1neg_count`` and
    ``count_tau`` of ``lr_mode="count"``, used as given (the kernel rounds
    ``count_tau`` to float32: pass a float32 value for an exact replay).

    ``shared_negatives`` (skip-gram, ``hs=0``, ``negative > 0``) replays the
    kernel's shared-negatives mode: every center position with a context is
    one minibatch of all its context rows against the center and one set of
    noise words drawn once for it (:func:`plan_batch` for the draws,
    :func:`apply_shared_example` for the update). ``examples`` then counts
    the (context, center) pairs and ``terms`` n_in * n_out per position, as
    the kernel does. Under SGD their output rows step at ``alpha`` times
    ``shared_output_scale``.
    """
    if lr_mode not in LR_MODES:
        raise ValueError(f"lr_mode must be one of {', '.join(LR_MODES)}, not {lr_mode!r}")
    if lr_mode == "count" and not (count_tau is not None and count_tau > 0):
        raise ValueError(f"lr_mode='count' needs count_tau > 0, not {count_tau!r}")
    plan = plan_batch(words, sentence_ends, sg=sg, hs=hs, negative=negative, window=window,
                      alpha=alpha, alpha_end=alpha_end, points=points, codes=codes,
                      code_lens=code_lens, neg_alias=neg_alias, keep_prob=keep_prob, rng=rng,
                      shared_negatives=shared_negatives)
    syn0 = np.array(syn0, dtype=np.float64)
    syn1 = None if syn1 is None else np.array(syn1, dtype=np.float64)
    syn1neg = None if syn1neg is None else np.array(syn1neg, dtype=np.float64)
    accs = tuple(None if a is None else np.array(a, dtype=np.float64)
                 for a in (syn0_acc, syn1_acc, syn1neg_acc))
    counts = tuple(None if a is None else np.asarray(a, dtype=np.float64)
                   for a in (syn0_count, syn1_count, syn1neg_count))
    loss = 0.0
    for ex in plan.examples:
        loss += apply_example(ex, syn0, syn1, syn1neg, cbow_mean=1 if sg else cbow_mean,
                              clamp=sigmoid_clamp, lr_mode=lr_mode, accs=accs, counts=counts,
                              count_tau=count_tau, shared_output_scale=shared_output_scale)
    terms = sum(ex.n_terms for ex in plan.examples)
    examples = sum(ex.n_examples for ex in plan.examples)
    return OracleResult(syn0, syn1, syn1neg, loss if compute_loss else 0.0, plan.words_kept,
                        examples, terms, plan.rng, *accs)
