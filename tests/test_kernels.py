"""The C kernels against the float64 oracle, on every ISA, within a derived bound.

What is compared. ``_native.train_batch`` (float32, table sigmoid) and
``oracle.train_batch_oracle`` (float64, exact sigmoid clamped at +-6 like the
table) make the same random draws, so the random state, ``words_kept``,
``examples`` and ``terms`` must be equal exactly, and the matrices and the
loss must agree within the float32 error of the kernel.

The tolerance is DERIVED, not tuned: :func:`float32_error_bounds` replays the
batch's plan in float64 and carries, for every matrix row, a bound on the
2-norm of (float32 kernel - exact float64 oracle), to first order in the unit
roundoff u = 2^-24, from these per-operation bounds:

- dot product of n floats (any summation order, with or without FMA):
  |fl(a.b) - a.b| <= n u sum|a_i b_i| <= n u |a| |b|;
- y += a x (axpy): per element at most two roundings, so in 2-norm
  <= u (|a| |x| + |y_new|);
- sigmoid table: 1024 intervals over [-6, 6], h = 12/1024, linear
  interpolation error <= h^2/8 max|sigma''| with max|sigma''| = 1/(6 sqrt 3),
  plus the float32 table entries (u), the float32 argument of the table
  (3 roundings of a number <= 12 in x, times sigma' <= 1/4) and the
  interpolation arithmetic (3u): EPS_SIGMOID ~ 2.4e-6. Outside +-6 the
  kernel returns the end values, and so does the oracle (``sigmoid_clamp=6``),
  so the clamp costs nothing;
- g = alpha (L - sigma(f)): |dg| <= alpha (EPS_SIGMOID + |df| / 4) + |L - sigma| |dalpha|
  + 3u|g| (sigma' <= 1/4); the kernel interpolates alpha between float32(alpha)
  and float32(alpha_end) and rounds it to float32: |dalpha| <= 2u max|ends| + u|alpha|;
- errors already in the rows propagate: |df| <= |h| |du| + |u| |dh| + |du||dh|,
  e += g u adds |g| |du| + |dg| |u|, u += g h adds |g| |dh| + |dg| |h|;
- CBOW's h: the sum of C rows adds u |partial sum| per addition, the mean
  (times float32(1/C)) 2u |h|, the 1/C update (cbow_mean=2) 2u |e| / C.

Every update is sequential (a row's error feeds every later term that reads
it), so the bound grows with the number of updates a row takes part in and
with alpha |h| |u|; that is why batches are kept small (at most 3 sentences of
at most 8 tokens): the bound stays ~1e-6 relative, 1000x below an error of a
single wrong term (~alpha |h|).

Loss: the kernel reads log(1 + exp(z)) from a 2048-interval table over
[-16, 16] (h = 1/64): interpolation error h^2/8 max|(log1pexp)''| = h^2/32,
plus float32 entries (16u), argument rounding (32u, slope <= 1) and arithmetic
(3 * 16u), and beyond +-16 exp(-16) (z or the end value is returned): EPS_LOSS
~ 1.2e-5 per term, plus |df| of the term (the slope is <= 1). Summed over the
terms of the batch.

AdaGrad (``lr_mode`` "adagrad_row" / "adagrad_coord"). The same replay, to
first order in u, but the errors are carried PER COORDINATE (a vector per
row, and one per accumulator entry) because the step divides each coordinate
by its own sqrt(G_k): a 2-norm bound would have to divide by the smallest
G_k of the row. With t = s x the step's gradient (output row: s = g =
L - sigma(f), x = h; input row: s = 1 or float32(1/C), x = e), the new
per-operation bounds are (a dot product, an axpy and g as above, except that
g = L - sigma(f) now has no alpha: |dg| <= EPS_SIGMOID + |df|/4 + u|g|):

- per coordinate: t_k = s x_k: |dt_k| <= |s| |dx_k| + |ds| |x_k| + u |t_k|;
  G'_k = G_k + t_k^2: |dG'_k| <= |dG_k| + 2 |t_k| |dt_k| + u (t_k^2 + G'_k);
  d_k = t_k / sqrt(G'_k): sqrt and the division are correctly rounded (u
  each), and to first order sqrt(G' + dG') = sqrt(G') (1 + dG'/(2G')), so
  |dd_k| <= |dt_k| / sqrt(G'_k) + |d_k| (|dG'_k| / (2 G'_k) + 2u);
  y'_k = y_k + alpha d_k: |dy'_k| <= |dy_k| + |alpha| |dd_k| + |dalpha| |d_k|
  + u (|alpha d_k| + |y'_k|) (one or two roundings, with or without FMA);
- per row: q = |x|^2 / dim is one dot product and a division (computed once
  per example: h is fixed, and so is e after the terms):
  |dq| <= (2 sum|x_k||dx_k| + dim u |x|^2) / dim + u q; G' = G + (s s) q:
  three roundings, |dG'| <= |dG| + (2|s||ds| + u s^2) q + s^2 |dq| + u (s^2 q + G');
  c = alpha s / sqrt(G'): |dc| <= (|dalpha| |s| + |alpha| |ds|) / sqrt(G') +
  |c| (|dG'| / (2 G') + 3u); then y += c x is an axpy.

Where the bound is meaningful. An AdaGrad step is an SGD step with the
per-coordinate (or per-row) learning rate eta / sqrt(G'), at most
eta / sqrt(G0) (G0: the initial accumulator); its derivative in t_k is
eta G_k / G'_k^(3/2) <= eta / sqrt(G0). Every error of a row therefore reaches
the rows updated after it multiplied by up to that effective rate, exactly as
the SGD bound's errors are multiplied by alpha, and a worst-case bound of a
sequential replay compounds with it: with eta = 0.1 and G0 = 1e-4 (rate 10)
it exceeds one step after ~40 chained examples and overflows after ~90,
although the measured float32 - float64 difference stays ~1e-6 (it has random
signs; the bound cannot assume that). The first-order expansion of 1/sqrt
also needs |dG| << G. So the tests draw G0 in [1e-4, ~1e3] (float32(1e-4)
is the smallest) and scale eta (alpha, alpha_end) down until
eta / sqrt(G0) <= 0.1 (MAX_EFFECTIVE_RATE), the largest alpha of the SGD
tests: a large G0 with eta <= 0.1 (rate ~constant) and G0 = 1e-4 with
eta <= 1e-3 (the step saturates at ~eta per coordinate at once, as yskip's
does) are both covered. In that range the bound stays below ~1% of what a
batch moves a row (test_adagrad_bound_is_tight_enough, which also shows that
dividing by the accumulator *before* adding the step's own square is caught).
yskip's G0 = 1e-8 with eta = 0.1 (rate 1000) is the same arithmetic on
smaller numbers; it is not a range where a worst-case bound can separate a
wrong rule from rounding. The accumulators are compared with the same
per-entry bounds as the matrices.

Per-row decay by count (``lr_mode="count"``). The SGD replay (row 2-norms),
with each row's own rate r = alpha / (1 + n / tau) and the error e collected
unscaled. The counts n and tau are float32 values (the tests draw tau as a
float32), so the oracle sees what the kernel sees; the kernel's
r = fl(alpha_f / fl(1 + fl(n / tau))) has three roundings, and
1 + n/tau >= 1 keeps the rounding of the quotient (u n/tau) below u (1 + n/tau):

- |dr| <= |dalpha| / (1 + n/tau) + 3u |r|  (dalpha: the SGD bound of alpha_i);
- g = L - sigma(f) (no rate): |dg| <= EPS_SIGMOID + |df| / 4 + u |g|;
- e += g u as in SGD; the output row's coefficient c = fl(g r):
  |dc| <= |r| |dg| + |g| |dr| + u |c|, then u += c h is an axpy;
- an input row v: k = fl(s r_v) (s = 1, or float32(1/C) with error u/C for
  cbow_mean 2): |dk| <= s |dr_v| + r_v |ds| + u |k|, then v += k e.

So every rate r <= alpha plays the role SGD's alpha plays and the bound is
no looser than SGD's (test_count_bound_is_tight_enough: < 1/100 of what a
batch moves a row, and an off-by-one count or an error scaled by the output
rows' rates falls outside it). The counts are read only: the tests check
that the kernel leaves them untouched.

Shared negatives (``shared_negatives=True``, skip-gram NS; csrc/w2v.h). A
center's n_in x n_out terms all read the rows as they were before the
position, so the replay (:func:`shared_error_bounds`) snapshots every input
and output row with its error, then carries per coordinate, for every term:
df as above (a dot product of two erroneous rows), dg as above (SGD: g =
alpha (L - sigma) since the kernel folds alpha into g; the other modes: g =
L - sigma), and the two sums from zero, E_j += g u_k (k ascending) and
F_k += g h_j (j ascending), each step adding |g| |dx| + |dg| |x| + u (|g x| +
|sum|) (the roundings of an axpy, with or without FMA; the kernel keeps the
partial sums in registers, vec_lincomb, in the same order). Then the rows step in the
kernel's order (outputs, then inputs; a repeated row from where its previous
step left it) along x = F_k or E_j with error dx:

- SGD: w += 1 * x (exact coefficient): |dw'| <= |dw| + |dx| + u (|x| + |w'|);
- "count": w += r x with r and |dr| as above: an axpy with an erroneous
  coefficient;
- AdaGrad: the step above with s = 1 (exact, ds = 0) and q = |x|^2 / dim,
  computed once per row step, |dq| as for the inputs of the other modes.

The loss adds EPS_LOSS + df per term. The same bound is < 1/100 of what a
batch moves a row, and an oracle that lets the outputs move between the
contexts of a center (per-pair reads with the center's noise words) falls
outside it (test_shared_bound_is_tight_enough). Batches where a long chain of
large steps makes a worst-case bound overflow are discarded, as for "count".
With window=1 and two-word sentences (one context per center) the shared and
per-pair replays coincide in float64 unless a noise word is drawn twice for a
center (per pair the second term reads the row the first moved), so that test
assumes distinct noise words and bounds the kernels' difference by the sum of
the two derived bounds.
"""
from __future__ import annotations

import heapq
import math
import os
from contextlib import contextmanager
from typing import NamedTuple

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from stream_w2v import _native, oracle

U = 2.0 ** -24
_H_SIG = 2 * oracle.MAX_EXP / 1024
EPS_SIGMOID = _H_SIG ** 2 / 8 / (6 * math.sqrt(3)) + 0.25 * 3 * U * 2 * oracle.MAX_EXP + 3 * U
_H_LOSS = 32 / 2048
EPS_LOSS = _H_LOSS ** 2 / 8 * 0.25 + 16 * U + 32 * U + 3 * 16 * U + math.exp(-16)

ISAS = ["scalar", "avx2", "avx512"]
AVAILABLE = _native.available_isas()
ISA_PARAMS = [pytest.param(name, marks=pytest.mark.skipif(name not in AVAILABLE,
                                                          reason=f"CPU lacks {name}"))
              for name in ISAS]

# (sg, hs, ns, cbow_mean): skip-gram ignores cbow_mean.
MODES = [(1, hs, ns, 1) for hs, ns in [(1, 0), (0, 1), (1, 1)]] + [
    (0, hs, ns, cm) for cm in (0, 1, 2) for hs, ns in [(1, 0), (0, 1), (1, 1)]]
MODE_IDS = [("sg" if sg else f"cbow{cm}") + ("-hs" if hs else "") + ("-ns" if ns else "")
            for sg, hs, ns, cm in MODES]


@contextmanager
def using_isa(name):
    before = _native.get_isa()
    _native.set_isa(name)
    try:
        yield
    finally:
        _native.set_isa(before)


# ---------------------------------------------------------------- test data

def huffman_tree(counts):
    """word2vec.c's Huffman tree of ``counts``: (points, codes, code_lens).

    Inner nodes are numbered 0..V-2 in creation order (the root is V-2); the
    two smallest nodes are merged, the first gets branch bit 0, the second 1;
    points[w] lists the inner nodes from the root down to w's parent.
    """
    V = len(counts)
    heap = [(int(c), i) for i, c in enumerate(counts)]   # (count, node); leaves 0..V-1
    heapq.heapify(heap)
    parent, bit = {}, {}
    node = V
    while len(heap) > 1:
        c1, a = heapq.heappop(heap)
        c2, b = heapq.heappop(heap)
        parent[a], bit[a] = node, 0
        parent[b], bit[b] = node, 1
        heapq.heappush(heap, (c1 + c2, node))
        node += 1
    paths = []
    for w in range(V):
        pts, cds, n = [], [], w
        while n in parent:
            cds.append(bit[n])
            n = parent[n]
            pts.append(n - V)
        paths.append((pts[::-1], cds[::-1]))
    width = max([len(p) for p, _ in paths] + [1])
    points = np.zeros((V, width), np.int32)
    codes = np.zeros((V, width), np.uint8)
    code_lens = np.zeros(V, np.int32)
    for w, (p, c) in enumerate(paths):
        points[w, :len(p)], codes[w, :len(c)], code_lens[w] = p, c, len(p)
    return points, codes, code_lens


def test_huffman_tree_is_a_prefix_code():
    counts = [5, 1, 1, 2, 9, 3]
    points, codes, lens = huffman_tree(counts)
    words = ["".join(map(str, codes[w, :lens[w]])) for w in range(len(counts))]
    assert all(not b.startswith(a) for a in words for b in words if a != b)
    assert all(points[w, 0] == len(counts) - 2 for w in range(len(counts)))   # root first
    assert lens[4] <= lens[1]                                                # frequent = short


LR_MODES = ["adagrad_row", "adagrad_coord"]
MAX_EFFECTIVE_RATE = 0.1     # eta / sqrt(G0) in the AdaGrad tests: see the module docstring
# AdaGrad: every (sg, hs, ns); CBOW's cbow_mean is drawn (None) rather than parametrized.
ADAGRAD_MODES = [(sg, hs, ns, 1 if sg else None) for sg in (1, 0)
                 for hs, ns in [(1, 0), (0, 1), (1, 1)]]
ADAGRAD_IDS = [("sg" if sg else "cbow") + ("-hs" if hs else "") + ("-ns" if ns else "")
               for sg, hs, ns, _ in ADAGRAD_MODES]
ACC_NAMES = ("syn0_acc", "syn1_acc", "syn1neg_acc")
COUNT_NAMES = ("syn0_count", "syn1_count", "syn1neg_count")


@st.composite
def batch_cases(draw, sg, hs, ns, cbow_mean, lr_mode="sgd", vocab=None):
    """A random model + batch for one mode: kwargs for train_batch, and float32 matrices.

    Under AdaGrad the accumulators go into kw (``syn0_acc`` ...): float32,
    G0 (1 + spread r) with G0 >= 1e-4 (module docstring) and r uniform in
    [0, 1) per entry. Under "count" the counts go into kw (``syn0_count``
    ...): float32 tau 10^x, x uniform in [-3, 3] (rates alpha / 1.001 ..
    alpha / 1001), a drawn share of them 0; syn1neg may share syn0's array
    (the model does), and tau is a float32. Plain SGD draws exactly what it
    drew before AdaGrad existed (no extra draws), so its examples are unchanged.
    ``vocab`` (a strategy) replaces the vocabulary size's st.integers(1, 50).
    """
    if cbow_mean is None:
        cbow_mean = draw(st.sampled_from([0, 1, 2]))
    V = draw(st.integers(1, 50) if vocab is None else vocab)
    counts = np.array(draw(st.lists(st.integers(1, 1000), min_size=V, max_size=V)))
    dim = draw(st.sampled_from([1, 7, 100, 301]) | st.integers(1, 40))
    seed = draw(st.integers(0, 2**32 - 1))
    rs = np.random.default_rng(seed)
    # Entries uniform in [-c/sqrt(dim), c/sqrt(dim)]: |u.h| <= c0 c1. Large c drive
    # |f| beyond 6 (the clamp), zero output rows are word2vec.c's initialisation.
    c0 = draw(st.floats(0.0, 2.0) | st.just(0.5) | st.floats(2.0, 6.0))
    c1 = draw(st.just(0.0) | st.floats(0.0, 2.0) | st.floats(2.0, 6.0))

    def init(rows, c):
        return (rs.uniform(-1, 1, (rows, dim)) * (c / math.sqrt(dim))).astype(np.float32)

    kw = dict(sg=sg, hs=hs, cbow_mean=cbow_mean, window=draw(st.integers(1, 6)),
              negative=draw(st.integers(1, 6)) if ns else 0,
              alpha=draw(st.floats(1e-4, 0.1)),
              alpha_end=draw(st.none() | st.floats(0.0, 0.1)),
              rng=draw(st.integers(0, 2**64 - 1)))
    syn1 = syn1neg = None
    if hs:
        # The tree may cover only the first words (promoted after its last rebuild).
        n_coded = draw(st.just(V) | st.integers(1, V))
        kw["points"], kw["codes"], kw["code_lens"] = huffman_tree(counts[:n_coded])
        syn1 = init(max(n_coded - 1, 0) + draw(st.integers(0, 2)), c1)
    if ns:
        n_noise = draw(st.just(V) | st.integers(1, V))
        kw["neg_alias"] = _native.build_alias(counts[:n_noise] ** 0.75)
        syn1neg = init(V, c1)
    if draw(st.booleans()):
        kw["keep_prob"] = np.array(draw(st.lists(st.floats(0.0, 1.0, width=32),
                                                 min_size=V, max_size=V)), dtype=np.float32)
    sentences = draw(st.lists(st.lists(st.integers(-1, V - 1), max_size=8), min_size=1, max_size=3))
    words = np.array([t for s in sentences for t in s], dtype=np.int32)
    ends = np.cumsum([len(s) for s in sentences]).astype(np.int64)
    mats = (init(V, c0), syn1, syn1neg)
    if lr_mode == "count":
        kw["lr_mode"] = lr_mode
        kw["count_tau"] = float(np.float32(draw(st.sampled_from([1.0, 100.0, 1e4]) | st.floats(1e-3, 1e6))))
        zero_share = draw(st.sampled_from([0.0, 0.3, 1.0]))
        for name, m in zip(COUNT_NAMES, mats):
            if m is not None:
                n = kw["count_tau"] * 10.0 ** rs.uniform(-3, 3, len(m))
                n[rs.random(len(m)) < zero_share] = 0.0
                kw[name] = n.astype(np.float32)
        if ns and draw(st.booleans()):
            kw["syn1neg_count"] = kw["syn0_count"]
    elif lr_mode != "sgd":
        kw["lr_mode"] = lr_mode
        g0 = draw(st.sampled_from([1e-4, 1e-2, 1.0]) | st.floats(1e-4, 10.0))
        spread = draw(st.just(0.0) | st.floats(0.0, 100.0))
        # Effective learning rate eta / sqrt(G) <= 0.1 (module docstring): scale eta down.
        eta_max = max(kw["alpha"], kw["alpha_end"] or 0.0)
        if eta_max > MAX_EFFECTIVE_RATE * math.sqrt(g0):
            shrink = MAX_EFFECTIVE_RATE * math.sqrt(g0) / eta_max
            kw["alpha"] *= shrink
            if kw["alpha_end"] is not None:
                kw["alpha_end"] *= shrink
        for name, m in zip(ACC_NAMES, mats):
            if m is not None:
                shape = (len(m),) if lr_mode == "adagrad_row" else m.shape
                kw[name] = (g0 * (1.0 + spread * rs.random(shape))).astype(np.float32)
    return mats, words, ends, kw


def run_kernel(mats, words, ends, kw):
    """The kernel on float32 copies of ``mats``: (new matrices, BatchResult)."""
    mats, _, res = run_kernel_acc(mats, words, ends, kw)
    return mats, res


def run_kernel_acc(mats, words, ends, kw):
    """The kernel on copies of ``mats`` and of the accumulators in ``kw``:
    (new matrices, new accumulators, BatchResult)."""
    mats = tuple(None if m is None else m.copy() for m in mats)
    kw = {k: (v.copy() if k in ACC_NAMES and v is not None else v) for k, v in kw.items()}
    res = _native.train_batch(*mats, words, ends, **kw)
    return mats, tuple(kw.get(name) for name in ACC_NAMES), res


def accumulators(kw):
    return tuple(kw.get(name) for name in ACC_NAMES)


# ---------------------------------------------------------------- the derived tolerance

def _norm(v):
    return math.sqrt(float(v @ v))


def float32_error_bounds(mats, words, ends, kw):
    """Per-row bounds on |float32 kernel - float64 oracle| (2-norm), and on the loss.

    Replays the oracle's plan in float64 alongside first-order error bounds
    (module docstring). Returns ([bound per row of syn0, syn1, syn1neg],
    loss bound, [float64 matrices of the replay]). Under AdaGrad the bounds
    are the row 2-norms of :func:`adagrad_error_bounds`'s per-entry bounds.
    """
    if kw.get("lr_mode") == "count":
        return count_error_bounds(mats, words, ends, kw)
    if kw.get("lr_mode", "sgd") != "sgd":
        b = adagrad_error_bounds(mats, words, ends, kw)
        rows = [None if e is None else np.sqrt((e ** 2).sum(axis=1)) for e in b.err]
        return rows, b.loss_err, b.val
    plan_kw = {k: v for k, v in kw.items() if k != "cbow_mean"}
    plan = oracle.plan_batch(words, ends, **plan_kw)
    cbow_mean = 1 if kw["sg"] else kw["cbow_mean"]
    val = [None if m is None else m.astype(np.float64) for m in mats]
    err = [None if m is None else np.zeros(len(m)) for m in mats]
    loss_err = 0.0
    dim = mats[0].shape[1]
    # The kernel interpolates alpha between float32(alpha) and float32(alpha_end)
    # (u of the larger end) and rounds the result to float32 (u |alpha_i|).
    alpha_max = max(abs(kw["alpha"]), abs(kw.get("alpha_end") or 0.0))
    for ex in plan.examples:
        # h and its error.
        C = len(ex.inputs)
        h = val[0][ex.inputs[0]].copy()
        dh = err[0][ex.inputs[0]]
        for c in ex.inputs[1:]:
            h += val[0][c]
            dh += err[0][c] + U * _norm(h)
        if cbow_mean and C > 1:
            h /= C
            dh = dh / C + 2 * U * _norm(h)
        nh = _norm(h)
        alpha = ex.alpha
        dalpha = U * abs(alpha) + 2 * U * alpha_max
        e = np.zeros(dim)
        de = 0.0
        for m, (row, label) in [(1, t) for t in ex.hs] + [(2, t) for t in ex.ns]:
            u = val[m][row]
            du = err[m][row]
            nu = _norm(u)
            f = float(u @ h)
            df = nh * du + nu * dh + du * dh + dim * U * nu * nh
            s = oracle.sigmoid(f, oracle.MAX_EXP)
            g = alpha * (label - s)
            dg = abs(alpha) * (EPS_SIGMOID + 0.25 * df) + abs(label - s) * dalpha + 3 * U * abs(g)
            e += g * u
            de += abs(g) * du + dg * nu + U * (abs(g) * nu + _norm(e))
            val[m][row] = u + g * h
            err[m][row] = du + abs(g) * dh + dg * nh + U * (abs(g) * nh + _norm(val[m][row]))
            loss_err += EPS_LOSS + df
        scale = 1.0 / C if cbow_mean == 2 else 1.0
        for c in ex.inputs:
            val[0][c] += scale * e
            err[0][c] += scale * de + U * (2 * scale * _norm(e) + _norm(val[0][c]))
    return err, loss_err, val


def count_error_bounds(mats, words, ends, kw):
    """:func:`float32_error_bounds` under "count": the SGD replay with every row's own
    rate and its bound (module docstring). Same return value."""
    plan_kw = {k: v for k, v in kw.items() if k not in ("cbow_mean", "lr_mode", "count_tau", *COUNT_NAMES)}
    plan = oracle.plan_batch(words, ends, **plan_kw)
    cbow_mean = 1 if kw["sg"] else kw["cbow_mean"]
    val = [None if m is None else m.astype(np.float64) for m in mats]
    err = [None if m is None else np.zeros(len(m)) for m in mats]
    counts = [kw.get(name) for name in COUNT_NAMES]
    tau = kw["count_tau"]
    loss_err = 0.0
    dim = mats[0].shape[1]
    alpha_max = max(abs(kw["alpha"]), abs(kw.get("alpha_end") or 0.0))
    for ex in plan.examples:
        C = len(ex.inputs)
        h = val[0][ex.inputs[0]].copy()
        dh = err[0][ex.inputs[0]]
        for c in ex.inputs[1:]:
            h += val[0][c]
            dh += err[0][c] + U * _norm(h)
        if cbow_mean and C > 1:
            h /= C
            dh = dh / C + 2 * U * _norm(h)
        nh = _norm(h)
        alpha = ex.alpha
        dalpha = U * abs(alpha) + 2 * U * alpha_max

        def rate(m, row):
            q = 1.0 + float(counts[m][row]) / tau
            r = alpha / q
            return r, dalpha / q + 3 * U * abs(r)

        e = np.zeros(dim)
        de = 0.0
        for m, (row, label) in [(1, t) for t in ex.hs] + [(2, t) for t in ex.ns]:
            u = val[m][row]
            du = err[m][row]
            nu = _norm(u)
            f = float(u @ h)
            df = nh * du + nu * dh + du * dh + dim * U * nu * nh
            g = label - oracle.sigmoid(f, oracle.MAX_EXP)
            dg = EPS_SIGMOID + 0.25 * df + U * abs(g)
            r, dr = rate(m, row)
            c = r * g
            dc = abs(r) * dg + abs(g) * dr + U * abs(c)
            e += g * u
            de += abs(g) * du + dg * nu + U * (abs(g) * nu + _norm(e))
            val[m][row] = u + c * h
            err[m][row] = du + abs(c) * dh + dc * nh + U * (abs(c) * nh + _norm(val[m][row]))
            loss_err += EPS_LOSS + df
        scale = 1.0 / C if cbow_mean == 2 else 1.0
        dscale = U * scale if (cbow_mean == 2 and C > 1) else 0.0
        ne = _norm(e)
        for c in ex.inputs:
            r, dr = rate(0, c)
            k = scale * r
            dk = scale * dr + r * dscale + U * abs(k)
            val[0][c] += k * e
            err[0][c] += abs(k) * de + dk * ne + U * (abs(k) * ne + _norm(val[0][c]))
    return err, loss_err, val


class AdagradBounds(NamedTuple):
    err: list          # per-entry bounds of syn0, syn1, syn1neg (None where absent)
    acc_err: list      # per-entry bounds of their accumulators
    loss_err: float
    val: list          # the float64 replay: matrices ...
    acc_val: list      # ... and accumulators


def _adagrad_step_bound(w, dw, acc, dacc, row, s, ds, x, dx, alpha, dalpha, per_row, q, dq):
    """The AdaGrad step of row ``w`` (error ``dw``) along t = s x, with its bounds
    (module docstring): updates ``acc[row]``, ``dacc[row]``; returns (w', dw').
    ``q``, ``dq``: |x|^2 / dim and its bound (per row only)."""
    G, dG = acc[row], dacc[row]
    if per_row:
        ss = s * s
        Gn = G + ss * q
        r3 = Gn ** 1.5
        c = alpha * s / math.sqrt(Gn)
        dc = (abs(s) / math.sqrt(Gn) * dalpha
              + abs(alpha) * (G * ds + 0.5 * abs(s) ** 3 * dq + 0.5 * abs(s) * dG) / r3
              + abs(c) * 4.5 * U)
        dGn = dG + 2 * abs(s) * ds * q + ss * dq + U * (2 * ss * q + Gn)
        wn = w + c * x
        dwn = dw + abs(c) * dx + dc * np.abs(x) + U * (np.abs(c * x) + np.abs(wn))
    else:
        t = s * x
        dt = abs(s) * dx + ds * np.abs(x) + (U * np.abs(t) if s != 1.0 else 0.0)
        Gn = G + t * t
        r3 = Gn ** 1.5
        d = t / np.sqrt(Gn)
        dd = (G * dt + 0.5 * np.abs(t) * dG) / r3 + np.abs(d) * 3 * U
        dGn = dG + 2 * np.abs(t) * dt + U * (t * t + Gn)
        wn = w + alpha * d
        dwn = dw + abs(alpha) * dd + dalpha * np.abs(d) + U * (np.abs(alpha * d) + np.abs(wn))
    acc[row], dacc[row] = Gn, dGn
    return wn, dwn


def adagrad_error_bounds(mats, words, ends, kw) -> AdagradBounds:
    """Per-entry first-order bounds on |float32 kernel - float64 oracle| under AdaGrad.

    The same replay as :func:`float32_error_bounds` with the bounds of the
    module docstring's AdaGrad section, carried per coordinate.
    """
    per_row = kw["lr_mode"] == "adagrad_row"
    plan_kw = {k: v for k, v in kw.items() if k not in ("cbow_mean", "lr_mode", *ACC_NAMES)}
    plan = oracle.plan_batch(words, ends, **plan_kw)
    cbow_mean = 1 if kw["sg"] else kw["cbow_mean"]
    val = [None if m is None else m.astype(np.float64) for m in mats]
    err = [None if m is None else np.zeros(m.shape) for m in mats]
    acc = [None if a is None else a.astype(np.float64) for a in accumulators(kw)]
    dacc = [None if a is None else np.zeros(a.shape) for a in acc]
    loss_err = 0.0
    dim = mats[0].shape[1]
    alpha_max = max(abs(kw["alpha"]), abs(kw.get("alpha_end") or 0.0))
    for ex in plan.examples:
        C = len(ex.inputs)
        h = val[0][ex.inputs[0]].copy()
        dh = err[0][ex.inputs[0]].copy()
        for c in ex.inputs[1:]:
            h += val[0][c]
            dh += err[0][c] + U * np.abs(h)
        if cbow_mean and C > 1:
            h /= C
            dh = dh / C + 2 * U * np.abs(h)
        alpha = ex.alpha
        dalpha = U * abs(alpha) + 2 * U * alpha_max
        hq = float(h @ h) / dim
        dhq = (2 * float(np.abs(h) @ dh) + dim * U * float(h @ h)) / dim + U * hq
        e = np.zeros(dim)
        de = np.zeros(dim)
        for m, (row, label) in [(1, t) for t in ex.hs] + [(2, t) for t in ex.ns]:
            u, du = val[m][row].copy(), err[m][row].copy()
            f = float(u @ h)
            df = float(np.abs(h) @ du + np.abs(u) @ dh + du @ dh) + dim * U * float(np.abs(u) @ np.abs(h))
            g = label - oracle.sigmoid(f, oracle.MAX_EXP)
            dg = EPS_SIGMOID + 0.25 * df + U * abs(g)
            e += g * u
            de += abs(g) * du + dg * np.abs(u) + U * (np.abs(g * u) + np.abs(e))
            val[m][row], err[m][row] = _adagrad_step_bound(
                u, du, acc[m], dacc[m], row, g, dg, h, dh, alpha, dalpha, per_row, hq, dhq)
            loss_err += EPS_LOSS + df
        # The kernel's scale is float32(1/C) for cbow_mean 2 (one rounding), else exactly 1.
        scale = 1.0 / C if cbow_mean == 2 else 1.0
        dscale = U * scale if (cbow_mean == 2 and C > 1) else 0.0
        eq = float(e @ e) / dim
        deq = (2 * float(np.abs(e) @ de) + dim * U * float(e @ e)) / dim + U * eq
        for c in ex.inputs:
            val[0][c], err[0][c] = _adagrad_step_bound(
                val[0][c].copy(), err[0][c].copy(), acc[0], dacc[0], c, scale, dscale, e, de,
                alpha, dalpha, per_row, eq, deq)
    return AdagradBounds(err, dacc, loss_err, val, acc)


def assert_entries_within_bounds(got, want, bounds, what, names=("syn0", "syn1", "syn1neg")):
    """Entry-wise |got - want| within the derived bound (1% slack for O(u^2) terms;
    1e-30 absolute for roundings that underflow, which the bound does not model)."""
    for name, g, w, b in zip(names, got, want, bounds):
        if g is None:
            continue
        diff = np.abs(g.astype(np.float64) - w)
        bad = diff > b * 1.01 + 1e-30
        assert not bad.any(), (
            f"{what}: {name} entries {np.argwhere(bad)[:5].tolist()} differ by {diff[bad][:5]} "
            f"> derived bound {b[bad][:5]}")


def assert_within_bounds(got, want, bounds, what):
    """Row-wise 2-norm of got - want within the derived bound (1% slack for O(u^2) terms)."""
    for name, g, w, b in zip(("syn0", "syn1", "syn1neg"), got, want, bounds):
        if g is None:
            continue
        diff = np.sqrt(((g.astype(np.float64) - w) ** 2).sum(axis=1))
        bad = diff > b * 1.01 + 1e-30
        assert not bad.any(), (
            f"{what}: {name} rows {np.flatnonzero(bad)[:5]} differ by {diff[bad][:5]} "
            f"> derived bound {b[bad][:5]}")


# ---------------------------------------------------------------- kernel vs oracle

def assert_matches_oracle(got, res, want, replayed_bounds, isa):
    """The kernel's batch against the oracle's: the same random state and counts,
    matrices within the replayed float32 bounds (the replay must follow the
    oracle's trajectory), the loss within its bound."""
    bounds, loss_bound, replay = replayed_bounds
    assert res.rng == want.rng
    assert (res.words_kept, res.examples, res.terms) == (want.words_kept, want.examples, want.terms)
    for r, w in zip(replay, (want.syn0, want.syn1, want.syn1neg)):   # same trajectory
        if r is not None:
            np.testing.assert_allclose(r, w, rtol=1e-12, atol=1e-14)
    assert_within_bounds(got, (want.syn0, want.syn1, want.syn1neg), bounds, isa)
    assert abs(res.loss - want.loss) <= loss_bound * 1.01 + 1e-12


@pytest.mark.parametrize("isa", ISA_PARAMS)
@pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
@given(data=st.data())
def test_kernel_matches_oracle(isa, mode, data):
    mats, words, ends, kw = data.draw(batch_cases(*mode))
    with using_isa(isa):
        got, res = run_kernel(mats, words, ends, kw)
    want = oracle.train_batch_oracle(*mats, words, ends, **kw)

    assert_matches_oracle(got, res, want, float32_error_bounds(mats, words, ends, kw), isa)


@pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
@settings(max_examples=10)
@given(data=st.data())
def test_same_rng_same_bytes(mode, data):
    """Deterministic: the same inputs and random state give the same bytes, on every ISA."""
    mats, words, ends, kw = data.draw(batch_cases(*mode))
    for isa in AVAILABLE:
        with using_isa(isa):
            first, r1 = run_kernel(mats, words, ends, kw)
            second, r2 = run_kernel(mats, words, ends, kw)
        assert r1 == r2
        for a, b in zip(first, second):
            assert (a is None and b is None) or a.tobytes() == b.tobytes()


@pytest.mark.skipif(len(AVAILABLE) < 2, reason="CPU has only the scalar kernels")
@pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
@settings(max_examples=10)
@given(data=st.data())
def test_isas_agree(mode, data):
    """Every SIMD kernel agrees with the scalar twin: both are within the bound of the oracle."""
    mats, words, ends, kw = data.draw(batch_cases(*mode))
    bounds, loss_bound, _ = float32_error_bounds(mats, words, ends, kw)
    with using_isa("scalar"):
        ref, rref = run_kernel(mats, words, ends, kw)
    for isa in AVAILABLE[1:]:
        with using_isa(isa):
            got, res = run_kernel(mats, words, ends, kw)
        assert (res.rng, res.words_kept, res.examples, res.terms) == \
            (rref.rng, rref.words_kept, rref.examples, rref.terms)
        ref64 = [None if m is None else m.astype(np.float64) for m in ref]
        assert_within_bounds(got, ref64, [None if b is None else 2 * b for b in bounds],
                             f"{isa} vs scalar")
        assert abs(res.loss - rref.loss) <= 2 * loss_bound * 1.01 + 1e-12


def test_bound_is_tight_enough_to_see_one_wrong_term():
    """A sanity check of the derived tolerance: one noise word's update is ~100x the bound."""
    rs = np.random.default_rng(0)
    V, dim = 10, 50
    mats = ((rs.uniform(-0.1, 0.1, (V, dim))).astype(np.float32), None,
            (rs.uniform(-0.1, 0.1, (V, dim))).astype(np.float32))
    kw = dict(sg=1, hs=0, negative=5, window=3, cbow_mean=1, alpha=0.025, rng=3,
              neg_alias=_native.build_alias(np.arange(1, V + 1) ** 0.75))
    words, ends = np.arange(V, dtype=np.int32), np.array([V])
    bounds, _, _ = float32_error_bounds(mats, words, ends, kw)
    want = oracle.train_batch_oracle(*mats, words, ends, **kw)
    one_term = 0.025 * 0.5 * np.sqrt((mats[0].astype(np.float64) ** 2).sum(axis=1)).min()
    assert bounds[0].max() < one_term / 100
    assert bounds[2].max() < one_term / 100
    assert np.abs(want.syn0 - mats[0]).max() > 0          # the batch did train


# ---------------------------------------------------------------- AdaGrad: kernel vs oracle

@pytest.mark.parametrize("isa", ISA_PARAMS)
@pytest.mark.parametrize("lr_mode", LR_MODES)
@pytest.mark.parametrize("mode", ADAGRAD_MODES, ids=ADAGRAD_IDS)
@settings(max_examples=15)
@given(data=st.data())
def test_adagrad_kernel_matches_oracle(isa, lr_mode, mode, data):
    """Matrices, accumulators and loss within the per-entry bound of the module docstring."""
    mats, words, ends, kw = data.draw(batch_cases(*mode, lr_mode=lr_mode))
    with using_isa(isa):
        got, got_acc, res = run_kernel_acc(mats, words, ends, kw)
    want = oracle.train_batch_oracle(*mats, words, ends, **kw)

    assert res.rng == want.rng
    assert (res.words_kept, res.examples, res.terms) == (want.words_kept, want.examples, want.terms)

    b = adagrad_error_bounds(mats, words, ends, kw)
    want_acc = (want.syn0_acc, want.syn1_acc, want.syn1neg_acc)
    for r, w in zip(b.val + b.acc_val, (want.syn0, want.syn1, want.syn1neg) + want_acc):
        if r is not None:                                           # same trajectory
            np.testing.assert_allclose(r, w, rtol=1e-12, atol=1e-14)
    assert_entries_within_bounds(got, (want.syn0, want.syn1, want.syn1neg), b.err, isa)
    assert_entries_within_bounds(got_acc, want_acc, b.acc_err, isa, ACC_NAMES)
    assert abs(res.loss - want.loss) <= b.loss_err * 1.01 + 1e-12


@pytest.mark.parametrize("lr_mode", LR_MODES)
@pytest.mark.parametrize("mode", ADAGRAD_MODES, ids=ADAGRAD_IDS)
@settings(max_examples=6)
@given(data=st.data())
def test_adagrad_same_rng_same_bytes(lr_mode, mode, data):
    mats, words, ends, kw = data.draw(batch_cases(*mode, lr_mode=lr_mode))
    for isa in AVAILABLE:
        with using_isa(isa):
            m1, a1, r1 = run_kernel_acc(mats, words, ends, kw)
            m2, a2, r2 = run_kernel_acc(mats, words, ends, kw)
        assert r1 == r2
        for a, b in zip(m1 + a1, m2 + a2):
            assert (a is None and b is None) or a.tobytes() == b.tobytes()


@pytest.mark.skipif(len(AVAILABLE) < 2, reason="CPU has only the scalar kernels")
@pytest.mark.parametrize("lr_mode", LR_MODES)
@pytest.mark.parametrize("mode", ADAGRAD_MODES, ids=ADAGRAD_IDS)
@settings(max_examples=6)
@given(data=st.data())
def test_adagrad_isas_agree(lr_mode, mode, data):
    """The SIMD AdaGrad kernels agree with the scalar twin within twice the oracle bound."""
    mats, words, ends, kw = data.draw(batch_cases(*mode, lr_mode=lr_mode))
    b = adagrad_error_bounds(mats, words, ends, kw)
    with using_isa("scalar"):
        ref, ref_acc, rref = run_kernel_acc(mats, words, ends, kw)
    as64 = lambda ms: [None if m is None else m.astype(np.float64) for m in ms]   # noqa: E731
    twice = lambda bs: [None if x is None else 2 * x for x in bs]                # noqa: E731
    for isa in AVAILABLE[1:]:
        with using_isa(isa):
            got, got_acc, res = run_kernel_acc(mats, words, ends, kw)
        assert (res.rng, res.words_kept, res.examples, res.terms) == \
            (rref.rng, rref.words_kept, rref.examples, rref.terms)
        assert_entries_within_bounds(got, as64(ref), twice(b.err), f"{isa} vs scalar")
        assert_entries_within_bounds(got_acc, as64(ref_acc), twice(b.acc_err), f"{isa} vs scalar",
                                     ACC_NAMES)
        assert abs(res.loss - rref.loss) <= 2 * b.loss_err * 1.01 + 1e-12


def _adagrad_case(lr_mode, g0, eta, sg=1):
    rs = np.random.default_rng(0)
    V, dim = 10, 50
    mats = ((rs.uniform(-0.1, 0.1, (V, dim))).astype(np.float32), None,
            (rs.uniform(-0.1, 0.1, (V, dim))).astype(np.float32))
    kw = dict(sg=sg, hs=0, negative=5, window=3, cbow_mean=1, alpha=eta, rng=3, lr_mode=lr_mode,
              neg_alias=_native.build_alias(np.arange(1, V + 1) ** 0.75))
    for name, m in zip(ACC_NAMES, mats):
        if m is not None:
            kw[name] = np.full((V,) if lr_mode == "adagrad_row" else m.shape, g0, np.float32)
    words, ends = np.arange(2 * V, dtype=np.int32) % V, np.array([V, 2 * V])
    return mats, words, ends, kw


def _old_accumulator_update(mat, acc, row, grad, eta, lr_mode):
    """A plausible wrong AdaGrad: divides by sqrt(G) *before* adding the step's own square."""
    root = np.sqrt(acc[row])
    acc[row] += float(grad @ grad) / len(grad) if lr_mode == "adagrad_row" else grad * grad
    mat[row] -= eta * grad / root


@pytest.mark.parametrize("lr_mode", LR_MODES)
@pytest.mark.parametrize("g0,eta", [(1e-4, 1e-3), (1.0, 0.1)])
def test_adagrad_bound_is_tight_enough(lr_mode, g0, eta, monkeypatch):
    """The derived AdaGrad tolerance at the tests' largest effective rate (0.1):

    every row's bound (2-norm) is < 1/100 of what the batch moves the row, and
    the kernel is out of the bound of an oracle that divides by the
    accumulator before adding the step's own gradient (a small change of
    rule: a wrong rule cannot hide in the tolerance)."""
    mats, words, ends, kw = _adagrad_case(lr_mode, g0, eta)
    b = adagrad_error_bounds(mats, words, ends, kw)
    assert_bound_tight(mats, words, ends, kw, b, monkeypatch, "adagrad_update", _old_accumulator_update)


def assert_bound_tight(mats, words, ends, kw, b, monkeypatch, name, wrong_rule):
    """Every row's bound ``b`` (2-norm) is < 1/100 of what the batch moves the
    row (syn0, syn1neg); the kernel is within it of the oracle, and outside it
    of an oracle whose ``name`` is replaced by ``wrong_rule``."""
    want = oracle.train_batch_oracle(*mats, words, ends, **kw)
    for before, after, bound in ((mats[0], want.syn0, b.err[0]), (mats[2], want.syn1neg, b.err[2])):
        moved = np.sqrt(((after - before) ** 2).sum(axis=1))
        row_bound = np.sqrt((bound ** 2).sum(axis=1))
        assert moved.min() > 0                                  # every row trained
        assert np.all(row_bound < moved / 100), (row_bound / moved).max()
    got, _, _ = run_kernel_acc(mats, words, ends, kw)
    assert_entries_within_bounds(got, (want.syn0, None, want.syn1neg), b.err, "right rule")
    monkeypatch.setattr(oracle, name, wrong_rule)
    wrong = oracle.train_batch_oracle(*mats, words, ends, **kw)
    with pytest.raises(AssertionError, match="derived bound"):
        assert_entries_within_bounds(got, (wrong.syn0, None, wrong.syn1neg), b.err, "wrong rule")


# ---------------------------------------------------------------- count: kernel vs oracle

def _finite_count_bounds(mats, words, ends, kw):
    """The "count" bounds, or the example is discarded when they overflow: a row
    chained through dozens of examples with alpha |h| |u| > 1 (e.g. 4 words,
    37 examples, |h| = 6) has a worst-case bound beyond float64 (the module
    docstring's sequential growth), which would accept anything."""
    with np.errstate(over="ignore", invalid="ignore"):
        bounds, loss_bound, replay = float32_error_bounds(mats, words, ends, kw)
    assume(math.isfinite(loss_bound) and all(b is None or np.all(np.isfinite(b)) for b in bounds))
    return bounds, loss_bound, replay


def _assert_counts_untouched(kw, before):
    for name in COUNT_NAMES:
        if name in kw:
            assert kw[name].tobytes() == before[name], f"the kernel wrote {name}"


@pytest.mark.parametrize("isa", ISA_PARAMS)
@pytest.mark.parametrize("mode", ADAGRAD_MODES, ids=ADAGRAD_IDS)
@settings(max_examples=25)
@given(data=st.data())
def test_count_kernel_matches_oracle(isa, mode, data):
    """Per-row decay by count: matrices and loss within the derived bound (module
    docstring), the random state and counts exact, the counts never written."""
    mats, words, ends, kw = data.draw(batch_cases(*mode, lr_mode="count"))
    before = {name: kw[name].tobytes() for name in COUNT_NAMES if name in kw}
    with using_isa(isa):
        got, res = run_kernel(mats, words, ends, kw)
    _assert_counts_untouched(kw, before)
    want = oracle.train_batch_oracle(*mats, words, ends, **kw)

    assert_matches_oracle(got, res, want, _finite_count_bounds(mats, words, ends, kw), isa)


@pytest.mark.parametrize("mode", ADAGRAD_MODES, ids=ADAGRAD_IDS)
@settings(max_examples=6)
@given(data=st.data())
def test_count_same_rng_same_bytes(mode, data):
    mats, words, ends, kw = data.draw(batch_cases(*mode, lr_mode="count"))
    for isa in AVAILABLE:
        with using_isa(isa):
            first, r1 = run_kernel(mats, words, ends, kw)
            second, r2 = run_kernel(mats, words, ends, kw)
        assert r1 == r2
        for a, b in zip(first, second):
            assert (a is None and b is None) or a.tobytes() == b.tobytes()


@pytest.mark.skipif(len(AVAILABLE) < 2, reason="CPU has only the scalar kernels")
@pytest.mark.parametrize("mode", ADAGRAD_MODES, ids=ADAGRAD_IDS)
@settings(max_examples=6)
@given(data=st.data())
def test_count_isas_agree(mode, data):
    """The SIMD kernels agree with the scalar twin under "count" within twice the oracle bound."""
    mats, words, ends, kw = data.draw(batch_cases(*mode, lr_mode="count"))
    bounds, loss_bound, _ = _finite_count_bounds(mats, words, ends, kw)
    with using_isa("scalar"):
        ref, rref = run_kernel(mats, words, ends, kw)
    for isa in AVAILABLE[1:]:
        with using_isa(isa):
            got, res = run_kernel(mats, words, ends, kw)
        assert (res.rng, res.words_kept, res.examples, res.terms) == \
            (rref.rng, rref.words_kept, rref.examples, rref.terms)
        ref64 = [None if m is None else m.astype(np.float64) for m in ref]
        assert_within_bounds(got, ref64, [None if b is None else 2 * b for b in bounds],
                             f"{isa} vs scalar")
        assert abs(res.loss - rref.loss) <= 2 * loss_bound * 1.01 + 1e-12


def _count_case(sg=1):
    """Counts 0 .. 27 with tau = 10: rates from alpha down to alpha / 3.7."""
    rs = np.random.default_rng(0)
    V, dim = 10, 50
    mats = ((rs.uniform(-0.1, 0.1, (V, dim))).astype(np.float32), None,
            (rs.uniform(-0.1, 0.1, (V, dim))).astype(np.float32))
    kw = dict(sg=sg, hs=0, negative=5, window=3, cbow_mean=1, alpha=0.025, rng=3, lr_mode="count",
              count_tau=10.0, neg_alias=_native.build_alias(np.arange(1, V + 1) ** 0.75),
              syn0_count=(3 * np.arange(V)).astype(np.float32),
              syn1neg_count=(3 * np.arange(V)[::-1]).astype(np.float32))
    words, ends = np.arange(2 * V, dtype=np.int32) % V, np.array([V, 2 * V])
    return mats, words, ends, kw


def _count_rate_off_by_one(alpha, n, tau):
    """A plausible wrong rule: the count including the occurrence being trained."""
    return alpha / (1.0 + (n + 1.0) / tau)


def _count_error_scaled_by_outputs(ex, syn0, syn1, syn1neg, cbow_mean, clamp, counts, tau):
    """A plausible wrong rule: e collects the output rows' rate-scaled errors (SGD's e with
    per-output rates) and the inputs add it as is, ignoring their own counts."""
    _, _, nn = counts
    h = oracle.cbow_hidden(syn0, ex.inputs, cbow_mean)
    e = np.zeros(syn0.shape[1])
    loss = 0.0
    for row, label in ex.ns:
        loss += oracle.logistic_step(h, syn1neg, row, label, oracle.count_rate(ex.alpha, nn[row], tau),
                                     e, clamp)
    for c in ex.inputs:
        syn0[c] += e
    return loss


@pytest.mark.parametrize("sg", [1, 0])
def test_count_bound_is_tight_enough(sg, monkeypatch):
    """The derived "count" tolerance: every row's bound is < 1/100 of what the batch
    moves the row, and the kernel is out of the bound of an oracle with a slightly
    wrong rule (a count off by one; the error scaled by the output rows' rates)."""
    mats, words, ends, kw = _count_case(sg)
    bounds, _, _ = float32_error_bounds(mats, words, ends, kw)
    want = oracle.train_batch_oracle(*mats, words, ends, **kw)
    for before, after, bound in ((mats[0], want.syn0, bounds[0]), (mats[2], want.syn1neg, bounds[2])):
        moved = np.sqrt(((after - before) ** 2).sum(axis=1))
        assert moved.min() > 0                                  # every row trained
        assert np.all(bound < moved / 100), (bound / moved).max()
    got, _ = run_kernel(mats, words, ends, kw)
    assert_within_bounds(got, (want.syn0, None, want.syn1neg), bounds, "right rule")
    for name, wrong in (("count_rate", _count_rate_off_by_one),
                        ("_apply_example_count", _count_error_scaled_by_outputs)):
        with monkeypatch.context() as patch:
            patch.setattr(oracle, name, wrong)
            bad = oracle.train_batch_oracle(*mats, words, ends, **kw)
        with pytest.raises(AssertionError, match="derived bound"):
            assert_within_bounds(got, (bad.syn0, None, bad.syn1neg), bounds, name)


# ---------------------------------------------------------------- shared negatives: kernel vs oracle

SHARED_LR_MODES = ["sgd", "adagrad_row", "adagrad_coord", "count"]
# Tiny vocabularies half of the time: a word twice in a window, a noise word equal to the
# center (skipped) and a noise word drawn twice for one center are then common.
SHARED_VOCAB = st.integers(1, 3) | st.integers(1, 50)
# The train arguments that are not draws (oracle.plan_batch does not take them).
SHARED_NOT_PLANNED = ("cbow_mean", "lr_mode", "count_tau", "shared_output_scale", *ACC_NAMES, *COUNT_NAMES)
# The output rows' rate relative to alpha under SGD: exact (a power of two) and not.
SHARED_OUTPUT_SCALES = st.sampled_from([1.0, 0.5, 0.35, 2.0])


@st.composite
def shared_cases(draw, lr_mode):
    """:func:`batch_cases` for skip-gram NS (no HS) with ``shared_negatives=True``."""
    mats, words, ends, kw = draw(batch_cases(1, 0, 1, 1, lr_mode=lr_mode, vocab=SHARED_VOCAB))
    kw["shared_negatives"] = True
    if lr_mode == "sgd":
        kw["shared_output_scale"] = draw(SHARED_OUTPUT_SCALES)
    return mats, words, ends, kw


def shared_error_bounds(mats, words, ends, kw) -> AdagradBounds:
    """Per-entry first-order bounds on |float32 kernel - float64 oracle| with shared
    negatives, for every ``lr_mode`` (module docstring, "Shared negatives"): the
    replay of :func:`oracle.apply_shared_example` with the per-operation bounds of
    the other modes, carried per coordinate."""
    mode = kw.get("lr_mode", "sgd")
    per_row = mode == "adagrad_row"
    plan_kw = {k: v for k, v in kw.items()
               if k not in SHARED_NOT_PLANNED}
    plan = oracle.plan_batch(words, ends, **plan_kw)
    val = [None if m is None else m.astype(np.float64) for m in mats]
    err = [None if m is None else np.zeros(m.shape) for m in mats]
    acc = [None if a is None else a.astype(np.float64) for a in accumulators(kw)]
    dacc = [None if a is None else np.zeros(a.shape) for a in acc]
    counts = [kw.get(name) for name in COUNT_NAMES]
    loss_err = 0.0
    dim = mats[0].shape[1]
    alpha_max = max(abs(kw["alpha"]), abs(kw.get("alpha_end") or 0.0))
    # The oracle's scale; the kernel's float32 one is within U of it (the U |c x| below).
    scale = float(kw.get("shared_output_scale", 1.0))
    for ex in plan.examples:
        assert ex.shared and not ex.hs
        alpha = ex.alpha
        dalpha = U * abs(alpha) + 2 * U * alpha_max
        # Read phase: every value as it was before the position.
        ins = [(val[0][c].copy(), err[0][c].copy()) for c in ex.inputs]
        outs = [(val[2][r].copy(), err[2][r].copy(), label) for r, label in ex.ns]
        E, dE = np.zeros((len(ins), dim)), np.zeros((len(ins), dim))
        F, dF = np.zeros((len(outs), dim)), np.zeros((len(outs), dim))
        for j, (h, dh) in enumerate(ins):
            for k, (u, du, label) in enumerate(outs):
                f = float(u @ h)
                df = (float(np.abs(h) @ du + np.abs(u) @ dh + du @ dh)
                      + dim * U * float(np.abs(u) @ np.abs(h)))
                s = oracle.sigmoid(f, oracle.MAX_EXP)
                if mode == "sgd":                    # the kernel folds alpha into g
                    g = alpha * (label - s)
                    dg = abs(alpha) * (EPS_SIGMOID + 0.25 * df) + abs(label - s) * dalpha + 3 * U * abs(g)
                else:
                    g = label - s
                    dg = EPS_SIGMOID + 0.25 * df + U * abs(g)
                E[j] += g * u
                dE[j] += abs(g) * du + dg * np.abs(u) + U * (np.abs(g * u) + np.abs(E[j]))
                F[k] += g * h
                dF[k] += abs(g) * dh + dg * np.abs(h) + U * (np.abs(g * h) + np.abs(F[k]))
                loss_err += EPS_LOSS + df

        def step(m, row, x, dx):
            """Row ``row`` of matrix ``m`` steps along x (error dx), from where it is now."""
            w, dw = val[m][row].copy(), err[m][row].copy()
            if mode == "sgd":                        # w += c * x, one FMA: alpha is in x
                c = scale if m == 2 else 1.0         # c: the output rows' scale
                wn = w + c * x
                dwn = dw + c * dx + U * (np.abs(c * x) + np.abs(wn))
            elif mode == "count":
                q = 1.0 + float(counts[m][row]) / kw["count_tau"]
                r = alpha / q
                dr = dalpha / q + 3 * U * abs(r)
                wn = w + r * x
                dwn = dw + r * dx + dr * np.abs(x) + U * (np.abs(r * x) + np.abs(wn))
            else:                                    # AdaGrad with s = 1 (exact)
                xq = float(x @ x) / dim
                dxq = (2 * float(np.abs(x) @ dx) + dim * U * float(x @ x)) / dim + U * xq
                wn, dwn = _adagrad_step_bound(w, dw, acc[m], dacc[m], row, 1.0, 0.0, x, dx,
                                              alpha, dalpha, per_row, xq, dxq)
            val[m][row], err[m][row] = wn, dwn

        # Write phase: the outputs, then the inputs, a repeated row twice in order.
        for (row, _), x, dx in zip(ex.ns, F, dF):
            step(2, row, x, dx)
        for c, x, dx in zip(ex.inputs, E, dE):
            step(0, c, x, dx)
    return AdagradBounds(err, dacc, loss_err, val, acc)


def _finite_shared_bounds(mats, words, ends, kw) -> AdagradBounds:
    """:func:`shared_error_bounds`, or the example is discarded when they overflow (as
    :func:`_finite_count_bounds`: a worst-case bound of a long chain of large steps)."""
    with np.errstate(over="ignore", invalid="ignore"):
        b = shared_error_bounds(mats, words, ends, kw)
    assume(math.isfinite(b.loss_err)
           and all(e is None or np.all(np.isfinite(e)) for e in b.err + b.acc_err))
    return b


def _row_norms(entry_bounds):
    return [None if e is None else np.sqrt((e ** 2).sum(axis=1)) for e in entry_bounds]


def assert_shared_matches_oracle(got, got_acc, res, want, b: AdagradBounds, isa):
    """The kernel's shared-negatives batch against the oracle's: the same random state and
    counters, the replay on the oracle's trajectory, matrices and accumulators entry-wise
    within the derived bound, the loss within its bound."""
    assert res.rng == want.rng
    assert (res.words_kept, res.examples, res.terms) == (want.words_kept, want.examples, want.terms)
    want_mats = (want.syn0, want.syn1, want.syn1neg)
    want_acc = (want.syn0_acc, want.syn1_acc, want.syn1neg_acc)
    for r, w in zip(b.val + b.acc_val, want_mats + want_acc):     # same trajectory
        if r is not None:
            np.testing.assert_allclose(r, w, rtol=1e-12, atol=1e-14)
    assert_entries_within_bounds(got, want_mats, b.err, isa)
    assert_entries_within_bounds(got_acc, want_acc, b.acc_err, isa, ACC_NAMES)
    assert abs(res.loss - want.loss) <= b.loss_err * 1.01 + 1e-12


@pytest.mark.parametrize("isa", ISA_PARAMS)
@pytest.mark.parametrize("lr_mode", SHARED_LR_MODES)
@given(data=st.data())
def test_shared_kernel_matches_oracle(isa, lr_mode, data):
    """Shared negatives, every update rule: the random state, words_kept, examples and
    terms exact; matrices, accumulators and loss within the derived bound; counts unread
    and unwritten by anything but their mode."""
    mats, words, ends, kw = data.draw(shared_cases(lr_mode))
    b = _finite_shared_bounds(mats, words, ends, kw)
    before = {name: kw[name].tobytes() for name in COUNT_NAMES if name in kw}
    with using_isa(isa):
        got, got_acc, res = run_kernel_acc(mats, words, ends, kw)
    _assert_counts_untouched(kw, before)
    want = oracle.train_batch_oracle(*mats, words, ends, **kw)
    assert_shared_matches_oracle(got, got_acc, res, want, b, isa)


@pytest.mark.parametrize("lr_mode", SHARED_LR_MODES)
@settings(max_examples=6)
@given(data=st.data())
def test_shared_same_rng_same_bytes_and_isas_agree(lr_mode, data):
    """Deterministic on every ISA, and every SIMD kernel within twice the bound of the scalar twin."""
    mats, words, ends, kw = data.draw(shared_cases(lr_mode))
    b = _finite_shared_bounds(mats, words, ends, kw)
    with using_isa("scalar"):
        ref, ref_acc, rref = run_kernel_acc(mats, words, ends, kw)
    as64 = lambda ms: [None if m is None else m.astype(np.float64) for m in ms]   # noqa: E731
    twice = lambda bs: [None if x is None else 2 * x for x in bs]                # noqa: E731
    for isa in AVAILABLE:
        with using_isa(isa):
            m1, a1, r1 = run_kernel_acc(mats, words, ends, kw)
            m2, a2, r2 = run_kernel_acc(mats, words, ends, kw)
        assert r1 == r2
        for x, y in zip(m1 + a1, m2 + a2):
            assert (x is None and y is None) or x.tobytes() == y.tobytes()
        assert (r1.rng, r1.words_kept, r1.examples, r1.terms) == \
            (rref.rng, rref.words_kept, rref.examples, rref.terms)
        assert_entries_within_bounds(m1, as64(ref), twice(b.err), f"{isa} vs scalar")
        assert_entries_within_bounds(a1, as64(ref_acc), twice(b.acc_err), f"{isa} vs scalar",
                                     ACC_NAMES)
        assert abs(r1.loss - rref.loss) <= 2 * b.loss_err * 1.01 + 1e-12


def _shared_edge_case(lr_mode):
    """Three words, uniform noise, window 3, negative 4: a word twice (and thrice) in a
    window, noise words equal to the center, noise words drawn twice for one center,
    sentences that keep one word ([1], and [-1, 2] after the out-of-vocabulary token)."""
    rs = np.random.default_rng(5)
    V, dim = 3, 16
    mats = ((rs.uniform(-0.5, 0.5, (V, dim))).astype(np.float32), None,
            (rs.uniform(-0.5, 0.5, (V, dim))).astype(np.float32))
    sentences = [[1], [0, 0, 2, 0, 1, 1], [-1, 2], [2, -1, 1, 0]]
    words = np.array([t for s in sentences for t in s], np.int32)
    ends = np.cumsum([len(s) for s in sentences]).astype(np.int64)
    kw = dict(sg=1, hs=0, negative=4, window=3, cbow_mean=1, alpha=0.05, alpha_end=0.01, rng=11,
              neg_alias=_native.build_alias(np.ones(V)), shared_negatives=True)
    if lr_mode in LR_MODES:
        kw["lr_mode"] = lr_mode
        for name, m in zip(ACC_NAMES, mats):
            if m is not None:
                kw[name] = np.full((V,) if lr_mode == "adagrad_row" else m.shape, 0.5, np.float32)
    elif lr_mode == "count":
        kw.update(lr_mode="count", count_tau=4.0, syn0_count=np.array([0, 3, 30], np.float32),
                  syn1neg_count=np.array([7, 0, 1], np.float32))
    return mats, words, ends, kw


@pytest.mark.parametrize("isa", ISA_PARAMS)
@pytest.mark.parametrize("lr_mode", SHARED_LR_MODES)
def test_shared_edge_cases_match_oracle(isa, lr_mode):
    mats, words, ends, kw = _shared_edge_case(lr_mode)
    plan_kw = {k: v for k, v in kw.items()
               if k not in SHARED_NOT_PLANNED}
    plan = oracle.plan_batch(words, ends, **plan_kw)
    # The case covers what it says: repeated inputs, the center drawn as noise (skipped),
    # a noise row twice, and every example a shared one.
    assert all(ex.shared for ex in plan.examples)
    assert any(len(set(ex.inputs)) < len(ex.inputs) for ex in plan.examples)
    assert any(len(ex.ns) < kw["negative"] + 1 for ex in plan.examples)
    assert any(len({r for r, _ in ex.ns}) < len(ex.ns) for ex in plan.examples)
    b = shared_error_bounds(mats, words, ends, kw)
    with using_isa(isa):
        got, got_acc, res = run_kernel_acc(mats, words, ends, kw)
    want = oracle.train_batch_oracle(*mats, words, ends, **kw)
    assert_shared_matches_oracle(got, got_acc, res, want, b, isa)
    assert res.words_kept == 1 + 6 + 1 + 3


@pytest.mark.parametrize("isa", ISA_PARAMS)
@pytest.mark.parametrize("lr_mode", SHARED_LR_MODES)
def test_shared_sentences_of_one_word_draw_only_the_window(isa, lr_mode):
    """A position without a context trains nothing and draws no noise: the state only
    advances by one window draw per kept word, as the oracle's; nothing moves."""
    mats, _, _, kw = _shared_edge_case(lr_mode)
    words, ends = np.array([1, -1, 2, 0], np.int32), np.array([1, 3, 4])
    with using_isa(isa):
        got, got_acc, res = run_kernel_acc(mats, words, ends, kw)
    want = oracle.train_batch_oracle(*mats, words, ends, **kw)
    assert res.rng == want.rng == oracle.lcg(oracle.lcg(oracle.lcg(kw["rng"])))
    assert (res.loss, res.words_kept, res.examples, res.terms) == (0.0, 3, 0, 0)
    assert (want.loss, want.words_kept, want.examples, want.terms) == (0.0, 3, 0, 0)
    for a, m in zip(got + got_acc, mats + accumulators(kw)):
        assert (a is None and m is None) or a.tobytes() == m.tobytes()


@pytest.mark.parametrize("lr_mode", SHARED_LR_MODES)
@given(data=st.data())
def test_shared_with_one_context_is_the_per_pair_update(lr_mode, data):
    """window=1 and two-word sentences: every center has exactly one context, so shared
    negatives make the same draws and (with distinct noise words: a noise word drawn twice
    is read after its first step per pair, before it per center) the same equations as
    the per-pair mode. The float64 replays agree to rounding, and the kernels within the
    sum of their derived bounds, on every ISA."""
    mats, _, _, kw = data.draw(batch_cases(1, 0, 1, 1, lr_mode=lr_mode, vocab=st.integers(64, 200)))
    V = len(mats[0])
    sentences = data.draw(st.lists(st.lists(st.integers(0, V - 1), min_size=2, max_size=2),
                                   min_size=1, max_size=4))
    words = np.array([t for s in sentences for t in s], np.int32)
    ends = np.cumsum([len(s) for s in sentences]).astype(np.int64)
    kw.pop("keep_prob", None)                        # exactly one context per center
    kw.update(window=1, negative=min(kw["negative"], 3))
    plan_kw = {k: v for k, v in kw.items()
               if k not in SHARED_NOT_PLANNED}
    per_pair = oracle.plan_batch(words, ends, **plan_kw)
    assume(all(len({r for r, _ in ex.ns}) == len(ex.ns) for ex in per_pair.examples))
    shared_kw = {**kw, "shared_negatives": True}

    b_shared = _finite_shared_bounds(mats, words, ends, shared_kw)
    if lr_mode in LR_MODES:
        b_pair = adagrad_error_bounds(mats, words, ends, kw)
        rows_pair, loss_pair, acc_pair = _row_norms(b_pair.err), b_pair.loss_err, b_pair.acc_err
    else:
        rows_pair, loss_pair, _ = _finite_count_bounds(mats, words, ends, kw) \
            if lr_mode == "count" else float32_error_bounds(mats, words, ends, kw)
        acc_pair = [None, None, None]
    want_pair = oracle.train_batch_oracle(*mats, words, ends, **kw)
    want_shared = oracle.train_batch_oracle(*mats, words, ends, **shared_kw)
    assert (want_shared.rng, want_shared.words_kept, want_shared.examples, want_shared.terms) == \
        (want_pair.rng, want_pair.words_kept, want_pair.examples, want_pair.terms)
    for a, w in zip(want_shared[:3] + want_shared[8:], want_pair[:3] + want_pair[8:]):
        if a is not None:
            np.testing.assert_allclose(a, w, rtol=1e-12, atol=1e-14)
    assert want_shared.loss == pytest.approx(want_pair.loss, rel=1e-12, abs=1e-14)

    rows = [None if p is None else p + s for p, s in zip(rows_pair, _row_norms(b_shared.err))]
    accs = [None if p is None else p + s for p, s in zip(acc_pair, b_shared.acc_err)]
    for isa in AVAILABLE:
        with using_isa(isa):
            got_p, acc_p, res_p = run_kernel_acc(mats, words, ends, kw)
            got_s, acc_s, res_s = run_kernel_acc(mats, words, ends, shared_kw)
        assert (res_s.rng, res_s.words_kept, res_s.examples, res_s.terms) == \
            (res_p.rng, res_p.words_kept, res_p.examples, res_p.terms)
        as64 = [None if m is None else m.astype(np.float64) for m in got_p]
        assert_within_bounds(got_s, as64, rows, f"{isa}: shared vs per pair")
        acc64 = [None if a is None else a.astype(np.float64) for a in acc_p]
        assert_entries_within_bounds(acc_s, acc64, accs, f"{isa}: shared vs per pair", ACC_NAMES)
        assert abs(res_s.loss - res_p.loss) <= (b_shared.loss_err + loss_pair) * 1.01 + 1e-12


def _shared_per_pair_reads(ex, syn0, syn1neg, *, clamp, lr_mode, accs, counts, count_tau, output_scale):
    """A plausible wrong rule: the center's shared noise words, but every context as its own
    example, in order (the outputs move between the inputs instead of after all reads)."""
    loss = 0.0
    for c in ex.inputs:
        one = oracle.Example((c,), ex.center, ex.alpha, (), ex.ns)
        loss += oracle.apply_example(one, syn0, None, syn1neg, cbow_mean=1, clamp=clamp,
                                     lr_mode=lr_mode, accs=accs, counts=counts, count_tau=count_tau)
    return loss


@pytest.mark.parametrize("lr_mode", SHARED_LR_MODES)
def test_shared_bound_is_tight_enough(lr_mode, monkeypatch):
    """The derived shared-negatives tolerance: every row's bound is < 1/100 of what the
    batch moves it, and the kernel is out of the bound of an oracle that lets the outputs
    move between the contexts of a center (per-pair reads with shared noise words)."""
    if lr_mode == "count":
        mats, words, ends, kw = _count_case()
    elif lr_mode == "sgd":
        mats, words, ends, kw = _count_case()
        for name in ("lr_mode", "count_tau", *COUNT_NAMES):
            kw.pop(name, None)
    else:
        mats, words, ends, kw = _adagrad_case(lr_mode, 1.0, 0.1)
    kw["shared_negatives"] = True
    b = shared_error_bounds(mats, words, ends, kw)
    assert_bound_tight(mats, words, ends, kw, b, monkeypatch, "apply_shared_example", _shared_per_pair_reads)


@pytest.mark.parametrize("isa", ISA_PARAMS)
@pytest.mark.parametrize("scale", [0.5, 0.35])
def test_shared_output_scale_is_the_output_rows_rate(isa, scale):
    """Under SGD the output rows step at alpha times shared_output_scale: the kernel is
    within the derived bound of the oracle with that scale, and out of it of the oracle
    with one rate for both (the bound is < 1/100 of what each row moves)."""
    mats, words, ends, kw = _count_case()
    for name in ("lr_mode", "count_tau", *COUNT_NAMES):
        kw.pop(name, None)
    kw.update(shared_negatives=True, shared_output_scale=scale)
    b = shared_error_bounds(mats, words, ends, kw)
    want = oracle.train_batch_oracle(*mats, words, ends, **kw)
    one_rate = oracle.train_batch_oracle(*mats, words, ends, **{**kw, "shared_output_scale": 1.0})
    for before, after, bound in ((mats[0], want.syn0, b.err[0]), (mats[2], want.syn1neg, b.err[2])):
        moved = np.sqrt(((after - before) ** 2).sum(axis=1))
        assert np.all(np.sqrt((bound ** 2).sum(axis=1)) < moved / 100)
    with using_isa(isa):
        got, _, _ = run_kernel_acc(mats, words, ends, kw)
    assert_entries_within_bounds(got, (want.syn0, None, want.syn1neg), b.err, "scaled outputs")
    with pytest.raises(AssertionError, match="derived bound"):
        assert_entries_within_bounds(got, (one_rate.syn0, None, one_rate.syn1neg), b.err, "one rate")


@pytest.mark.parametrize("bad", [0, -0.5, math.nan, math.inf, 1e-50, 1e39, 10**400, True, "0.5", None])
def test_shared_output_scale_must_be_a_positive_number(bad):
    with pytest.raises(ValueError, match="shared_output_scale must be a positive number"):
        _call(hs=0, shared_negatives=True, shared_output_scale=bad)


@pytest.mark.parametrize("change", [dict(shared_negatives=False),
                                    dict(shared_negatives=True, lr_mode="count", count_tau=5.0,
                                         syn0_count=np.zeros(4, np.float32),
                                         syn1neg_count=np.zeros(4, np.float32))])
def test_shared_output_scale_is_refused_where_the_kernel_does_not_read_it(change):
    """Other than 1 it is an error where it would be ignored (per pair, or not SGD);
    1 is accepted everywhere."""
    with pytest.raises(ValueError, match="applies to shared negatives under lr_mode='sgd' only"):
        _call(hs=0, shared_output_scale=0.5, **change)
    assert _call(hs=0, shared_output_scale=1.0, **change).words_kept == 4


def test_sgd_ignores_accumulators():
    """lr_mode="sgd" (the default) neither reads nor writes accumulators that are passed."""
    args = _small()
    mats = [args[k].copy() for k in ("syn0", "syn1", "syn1neg")]
    mats[0][:] = np.arange(mats[0].size, dtype=np.float32).reshape(mats[0].shape) / 100
    plain = [m.copy() for m in mats]
    accs = [np.full(m.shape, 0.5, np.float32) for m in mats]
    r1 = _call(syn0=plain[0], syn1=plain[1], syn1neg=plain[2])
    r2 = _call(syn0=mats[0], syn1=mats[1], syn1neg=mats[2], syn0_acc=accs[0], syn1_acc=accs[1],
               syn1neg_acc=accs[2], lr_mode="sgd")
    assert r1 == r2
    assert all(a.tobytes() == b.tobytes() for a, b in zip(plain, mats))
    assert all(np.all(a == 0.5) for a in accs)


# ---------------------------------------------------------------- tables and primitives

def test_sigmoid_table_accuracy():
    """|table sigmoid - exact sigmoid at clip(x, -6, 6)| <= EPS_SIGMOID, and the bound is not loose."""
    xs = np.concatenate([np.linspace(-9, 9, 20001), [-6, 6, -6.0000005, 6.0000005, 0, 1e30, -1e30]])
    xs = xs.astype(np.float32)
    errs = [abs(_native.sigmoid(x) - oracle.sigmoid(float(x), oracle.MAX_EXP)) for x in xs]
    assert max(errs) <= EPS_SIGMOID
    assert max(errs) > EPS_SIGMOID / 4
    assert _native.sigmoid(float("nan")) == pytest.approx(oracle.sigmoid(-6.0), abs=EPS_SIGMOID)


def test_log1pexp_table_accuracy():
    zs = np.concatenate([np.linspace(-20, 20, 40001), [-16, 16, 0, 60, -60]]).astype(np.float32)
    errs = [abs(_native.log1pexp(z) - oracle.log1pexp(float(z))) for z in zs]
    assert max(errs) <= EPS_LOSS
    assert max(errs) > EPS_LOSS / 4


_VEC = st.integers(0, 300).flatmap(lambda n: st.tuples(
    *[st.lists(st.floats(-1e3, 1e3, width=32), min_size=n, max_size=n)] * 2))


TINY = 2.0 ** -149   # subnormal spacing: the absolute error of a rounding that underflows


@pytest.mark.parametrize("isa", ISA_PARAMS)
@given(_VEC, st.floats(-10, 10, width=32))
def test_dot_and_axpy_match_numpy(isa, vecs, a):
    x = np.array(vecs[0], dtype=np.float32)
    y = np.array(vecs[1], dtype=np.float32)
    n = len(x)
    exact = float(np.dot(x.astype(np.float64), y.astype(np.float64)))
    abs_sum = float(np.abs(x.astype(np.float64) * y).sum())
    with using_isa(isa):
        got = _native.dot(x, y)
        assert abs(got - exact) <= n * U / (1 - n * U) * abs_sum + n * TINY
        out = y.copy()
        _native.axpy(float(a), x, out)
    exact_axpy = y.astype(np.float64) + float(a) * x.astype(np.float64)
    tol = U * (np.abs(float(a) * x.astype(np.float64)) + np.abs(exact_axpy)) + 2 * TINY
    assert np.all(np.abs(out - exact_axpy) <= tol)


@pytest.mark.parametrize("isa", ISA_PARAMS)
@given(_VEC, st.floats(-10, 10, width=32), st.floats(0.0, 1.0, width=32), st.integers(0, 2**32 - 1))
def test_adagrad_primitive_matches_numpy(isa, vecs, s, eta, seed):
    """w2v_adagrad: t = s x; G += t^2; y += eta t / sqrt(G), within the per-entry
    bound of the module docstring (exact sqrt and division on every ISA)."""
    x = np.array(vecs[0], dtype=np.float32)
    y = np.array(vecs[1], dtype=np.float32)
    G = (10.0 ** np.random.default_rng(seed).uniform(-4, 3, len(x))).astype(np.float32)
    s, eta = float(s), float(eta)
    t = s * x.astype(np.float64)
    Gn = G.astype(np.float64) + t * t
    d = t / np.sqrt(Gn)
    yn = y.astype(np.float64) + eta * d
    # Every rounding also has an absolute error <= TINY when it underflows (subnormal
    # t, d or y); sqrt(G) >= 1e-2 amplifies t's by up to 100.
    dt = U * np.abs(t) + TINY
    dG = 2 * np.abs(t) * dt + U * (t * t + Gn) + 2 * TINY
    dd = dt / np.sqrt(Gn) + np.abs(d) * (dG / (2 * Gn) + 2 * U) + 2 * TINY
    dy = eta * dd + U * (np.abs(eta * d) + np.abs(yn)) + 2 * TINY
    G2, y2 = G.copy(), y.copy()
    with using_isa(isa):
        _native.adagrad(s, x, eta, G2, y2)
    assert np.all(np.abs(G2 - Gn) <= dG * 1.01)
    assert np.all(np.abs(y2 - yn) <= dy * 1.01)
    assert np.all(G2 >= G)                                    # accumulators only grow


def _spread(seed: int, shape) -> np.ndarray:
    """float32 values of both signs over six decades (zeros included)."""
    rs = np.random.default_rng(seed)
    v = rs.standard_normal(shape) * 10.0 ** rs.uniform(-3, 3, shape)
    return np.where(rs.random(shape) < 0.05, 0.0, v).astype(np.float32)


_PRIMITIVE_DIMS = st.sampled_from([1, 4, 7, 8, 12, 16, 20, 100, 301]) | st.integers(1, 40)


@pytest.mark.parametrize("isa", ISA_PARAMS)
@given(st.integers(1, 12), _PRIMITIVE_DIMS, st.integers(0, 2**32 - 1))
def test_dots_are_dot_bit_for_bit(isa, n, dim, seed):
    """w2v_dots, the shared-negatives read phase (AVX2: four rows per sweep of h,
    their sums reduced together), is w2v_dot row by row exactly: batching the
    dot products changes no value. Row counts 1-12 take the four-row sweeps and
    the rows left over; the dims take every block and tail of the loops."""
    h, u = _spread(seed, dim), _spread(seed + 1, (n, dim))
    with using_isa(isa):
        got = _native.dots(h, u)
        want = np.array([_native.dot(h, row) for row in u], np.float32)
    assert np.array_equal(got.view(np.uint32), want.view(np.uint32))


@pytest.mark.parametrize("isa", ISA_PARAMS)
@given(st.integers(1, 12), _PRIMITIVE_DIMS, st.integers(0, 2**32 - 1), st.floats(-10, 10, width=32))
def test_lincomb_matches_numpy_and_its_axpy_form_is_exact(isa, n, dim, seed, alpha):
    """w2v_lincomb: each coordinate of s = sum_k c_k x_k is an inner product of
    length n summed in k order, so within Higham's bound gamma_n sum_k |c_k x_k|
    (Theorem 3.1; an FMA rounds once where a multiply and an add round twice,
    which only tightens it), plus TINY per rounding that underflows. The add
    form is axpy(alpha, s, y) bit for bit (the kernel adds F_k to its row from
    the registers that way)."""
    c, x, y = _spread(seed, n), _spread(seed + 1, (n, dim)), _spread(seed + 2, dim)
    terms = c.astype(np.float64)[:, None] * x.astype(np.float64)
    with using_isa(isa):
        s = _native.lincomb(c, x)
        fused = _native.lincomb(c, x, y.copy(), float(alpha))
        separate = y.copy()
        _native.axpy(float(alpha), s, separate)
    gamma = n * U / (1 - n * U)
    assert np.all(np.abs(s - terms.sum(axis=0)) <= gamma * np.abs(terms).sum(axis=0) + 2 * n * TINY)
    assert np.array_equal(fused.view(np.uint32), separate.view(np.uint32))


def test_batched_primitives_check_their_inputs():
    h, u = np.ones(8, np.float32), np.ones((3, 8), np.float32)
    with pytest.raises(TypeError):
        _native.dots(h, u.astype(np.float64))
    with pytest.raises(ValueError):
        _native.dots(h, np.ones((3, 7), np.float32))
    with pytest.raises(ValueError):
        _native.lincomb(np.ones(2, np.float32), u)                 # a coefficient per row
    with pytest.raises(ValueError):
        _native.lincomb(np.ones(65, np.float32), np.ones((65, 8), np.float32))  # > W2V_MAX_PRIMITIVE_ROWS
    with pytest.raises(ValueError):
        _native.lincomb(np.ones(3, np.float32), u, u[0])           # y inside x


@given(st.lists(st.floats(0.0, 1e6), min_size=1, max_size=200).filter(lambda w: sum(w) > 0))
def test_alias_table_holds_the_distribution(weights):
    """Each word's mass in the table (its own slot's prob + the rest of slots aliased to it)
    equals weight / total, up to float32 probabilities and float64 rebalancing."""
    w = np.array(weights)
    table = _native.build_alias(w)
    n = len(w)
    assert np.all((table["alias"] >= 0) & (table["alias"] < n))
    prob = table["prob"].astype(np.float64)
    mass = prob.copy()
    np.add.at(mass, table["alias"], 1.0 - prob)
    aliased = np.bincount(table["alias"], minlength=n)
    tol = (aliased + 1) * (U + n * 2.0**-50)
    np.testing.assert_array_less(np.abs(mass - w / w.sum() * n), tol + 1e-300)


# ---------------------------------------------------------------- input checks

def _small():
    V, dim = 4, 3
    points, codes, lens = huffman_tree([4, 3, 2, 1])
    return dict(syn0=np.zeros((V, dim), np.float32), syn1=np.zeros((V - 1, dim), np.float32),
                syn1neg=np.zeros((V, dim), np.float32), words=np.array([0, 1, 2, 3], np.int32),
                sentence_ends=np.array([4]), points=points, codes=codes, code_lens=lens,
                neg_alias=_native.build_alias([1.0, 1.0, 1.0, 1.0]),
                sg=1, hs=1, negative=2, window=2)


def _call(**changes):
    args = {**_small(), **changes}
    mats = [args.pop(k) for k in ("syn0", "syn1", "syn1neg", "words", "sentence_ends")]
    return _native.train_batch(*mats, **args)


def test_valid_small_call_trains():
    res = _call()
    assert res.words_kept == 4 and res.terms > 0


@pytest.mark.parametrize("name", ["syn0", "syn1", "syn1neg"])
def test_float64_matrix_is_a_type_error(name):
    with pytest.raises(TypeError, match=name):
        _call(**{name: _small()[name].astype(np.float64)})


@pytest.mark.parametrize("name", ["syn0", "syn1", "syn1neg"])
def test_non_contiguous_matrix_is_a_value_error(name):
    m = np.zeros((_small()[name].shape[0], 6), np.float32)[:, ::2]
    with pytest.raises(ValueError, match=f"{name}.*contiguous"):
        _call(**{name: m})


def test_keep_prob_checked():
    with pytest.raises(TypeError, match="keep_prob"):
        _call(keep_prob=np.ones(4))
    with pytest.raises(ValueError, match="keep_prob"):
        _call(keep_prob=np.ones(3, np.float32))


@pytest.mark.parametrize("words", [[0, 1, 4], [0, -2], [7]])
def test_out_of_range_word_is_a_value_error(words):
    w = np.array(words, np.int32)
    with pytest.raises(ValueError, match="words"):
        _call(words=w, sentence_ends=[len(w)])
    with pytest.raises(ValueError, match="words"):      # any integer dtype goes through a check
        _call(words=w.astype(np.int64), sentence_ends=[len(w)])


def test_out_of_range_points_is_a_value_error():
    points = _small()["points"].copy()
    points[0, 0] = 3                               # syn1 has 3 rows: 0..2
    with pytest.raises(ValueError, match="points"):
        _call(points=points)
    points[0, 0] = -1
    with pytest.raises(ValueError, match="points"):
        _call(points=points)


def test_bad_codes_and_code_lens_are_value_errors():
    codes = _small()["codes"].copy()
    codes[0, 0] = 2
    with pytest.raises(ValueError, match="codes"):
        _call(codes=codes)
    lens = _small()["code_lens"].copy()
    lens[0] = _small()["points"].shape[1] + 1
    with pytest.raises(ValueError, match="code_lens"):
        _call(code_lens=lens)


def test_out_of_range_noise_word_is_a_value_error():
    table = _small()["neg_alias"].copy()
    table["alias"][1] = 4                          # the vocabulary has 4 words
    with pytest.raises(ValueError, match="neg_alias"):
        _call(neg_alias=table)
    table["alias"][1] = -1
    with pytest.raises(ValueError, match="neg_alias"):
        _call(neg_alias=table)
    with pytest.raises(TypeError, match="neg_alias"):
        _call(neg_alias=np.zeros(4, np.int32))


@pytest.mark.parametrize("ends", [[3, 2, 4], [2, 3], [5], [4, -1]])
def test_bad_sentence_ends_are_value_errors(ends):
    with pytest.raises(ValueError, match="sentence_ends"):
        _call(sentence_ends=np.array(ends))


def test_bad_flags_are_value_errors():
    for bad in (dict(window=0), dict(negative=-1), dict(cbow_mean=3), dict(sg=2),
                dict(alpha=float("nan")), dict(rng=-1), dict(rng=2**64)):
        with pytest.raises(ValueError):
            _call(**bad)


def test_set_isa_checks_the_cpu():
    with pytest.raises(ValueError):
        _native.set_isa("neon")
    for name in ISAS:
        if name not in AVAILABLE:
            with pytest.raises(ValueError, match=name):
                _native.set_isa(name)
    assert _native.kernel_info()["available"] == AVAILABLE


# ---------------------------------------------------------------- AdaGrad input checks

def _nonzero_syn0():
    return (np.arange(12, dtype=np.float32).reshape(4, 3) - 5) / 10


def _accs(mode="adagrad_coord", value=1e-3):
    args = _small()
    return {name: np.full(args[m].shape if mode == "adagrad_coord" else (len(args[m]),),
                          value, np.float32)
            for name, m in zip(ACC_NAMES, ("syn0", "syn1", "syn1neg"))}


@pytest.mark.parametrize("lr_mode", LR_MODES)
def test_valid_adagrad_call_trains(lr_mode):
    accs = _accs(lr_mode)
    res = _call(lr_mode=lr_mode, syn0=_nonzero_syn0(), **accs)
    assert res.words_kept == 4 and res.terms > 0
    assert all(np.all(a >= np.float32(1e-3)) for a in accs.values())
    assert any(np.any(a > np.float32(1e-3)) for a in accs.values())     # gradients were added


@pytest.mark.parametrize("name", ACC_NAMES)
def test_float64_accumulator_is_a_type_error(name):
    accs = _accs()
    accs[name] = accs[name].astype(np.float64)
    with pytest.raises(TypeError, match=name):
        _call(lr_mode="adagrad_coord", **accs)
    accs[name] = accs[name].tolist()
    with pytest.raises(TypeError, match=name):
        _call(lr_mode="adagrad_coord", **accs)


@pytest.mark.parametrize("name", ACC_NAMES)
def test_non_contiguous_accumulator_is_a_value_error(name):
    accs = _accs()
    rows, dim = accs[name].shape
    accs[name] = np.full((rows, 2 * dim), 1e-3, np.float32)[:, ::2]
    with pytest.raises(ValueError, match=f"{name}.*contiguous"):
        _call(lr_mode="adagrad_coord", **accs)


@pytest.mark.parametrize("name", ACC_NAMES)
@pytest.mark.parametrize("shape", ["rows+1", "dim+1", "3d", "flat"])
def test_wrongly_shaped_accumulator_is_a_value_error(name, shape):
    accs = _accs()
    rows, dim = accs[name].shape
    new = {"rows+1": (rows + 1, dim), "dim+1": (rows, dim + 1), "3d": (rows, dim, 1),
           "flat": (rows * dim,)}[shape]
    accs[name] = np.full(new, 1e-3, np.float32)
    with pytest.raises(ValueError, match=name):
        _call(lr_mode="adagrad_coord", **accs)


@pytest.mark.parametrize("name", ACC_NAMES)
@pytest.mark.parametrize("bad", [0.0, -1e-3, float("nan"), float("inf"), -0.0])
def test_non_positive_or_non_finite_accumulator_is_a_value_error(name, bad):
    for mode in LR_MODES:
        accs = _accs(mode)
        accs[name].flat[-1] = bad
        with pytest.raises(ValueError, match=f"{name}.*finite and > 0"):
            _call(lr_mode=mode, **accs)


def test_read_only_accumulator_is_a_value_error():
    accs = _accs()
    accs["syn0_acc"].flags.writeable = False
    with pytest.raises(ValueError, match="syn0_acc.*writable"):
        _call(lr_mode="adagrad_coord", **accs)


def test_accumulator_sharing_its_matrix_is_a_value_error():
    syn0 = np.full((4, 3), 1e-3, np.float32)
    with pytest.raises(ValueError, match="syn0_acc.*share"):
        _call(syn0=syn0, lr_mode="adagrad_coord", **{**_accs(), "syn0_acc": syn0})


@pytest.mark.parametrize("name", ACC_NAMES)
def test_missing_accumulator_is_a_value_error(name):
    for mode in LR_MODES:
        accs = _accs(mode)
        del accs[name]
        with pytest.raises(ValueError, match=f"{mode}.*{name}"):
            _call(lr_mode=mode, **accs)


def test_accumulator_of_an_unused_matrix_may_be_absent():
    accs = _accs("adagrad_row")
    del accs["syn1_acc"]
    res = _call(lr_mode="adagrad_row", hs=0, **accs)            # no HS: syn1 is not updated
    assert res.terms > 0


def test_accumulator_without_its_matrix_is_a_value_error():
    with pytest.raises(ValueError, match="syn1_acc.*syn1"):
        _call(syn1=None, hs=0, points=None, codes=None, code_lens=None,
              lr_mode="adagrad_coord", **_accs())


@pytest.mark.parametrize("mode,other", [("adagrad_row", "adagrad_coord"),
                                        ("adagrad_coord", "adagrad_row")])
def test_accumulator_shape_must_match_the_mode(mode, other):
    with pytest.raises(ValueError, match=f"syn0_acc.*{mode}"):
        _call(lr_mode=mode, **_accs(other))


@pytest.mark.parametrize("bad", ["adagrad", "SGD", 1, None, "adam"])
def test_unknown_lr_mode_is_a_value_error(bad):
    with pytest.raises(ValueError, match="lr_mode"):
        _call(lr_mode=bad, **_accs())


def test_kernel_model_checks_accumulators_once_and_trains_repeatedly():
    """KernelModel checks at construction; train() then only checks the mode against shapes."""
    args = _small()
    accs = _accs("adagrad_row")
    model = _native.KernelModel(_nonzero_syn0(), args["syn1"], args["syn1neg"],
                                huffman=_native.HuffmanTables(args["points"], args["codes"],
                                                              args["code_lens"]),
                                noise=_native.NoiseTable(args["neg_alias"]), **accs)
    kw = dict(sg=0, hs=1, negative=2, window=2, lr_mode="adagrad_row")
    first = model.train(args["words"], args["sentence_ends"], **kw)
    before = accs["syn0_acc"].copy()
    model.train(args["words"], args["sentence_ends"], **{**kw, "rng": first.rng})
    assert np.all(accs["syn0_acc"] > before)                   # caller-owned, updated in place
    with pytest.raises(ValueError, match="syn0_acc"):
        model.train(args["words"], args["sentence_ends"], **{**kw, "lr_mode": "adagrad_coord"})
    with pytest.raises(ValueError, match="syn0_acc"):
        _native.KernelModel(args["syn0"], syn0_acc=np.zeros(4, np.float32))


def test_adagrad_primitive_checks_inputs():
    x, G, y = np.ones(3, np.float32), np.ones(3, np.float32), np.ones(3, np.float32)
    with pytest.raises(TypeError, match="G"):
        _native.adagrad(1.0, x, 0.1, G.astype(np.float64), y)
    with pytest.raises(ValueError, match="y"):
        _native.adagrad(1.0, x, 0.1, G, np.ones(4, np.float32))
    with pytest.raises(ValueError, match="overlap"):
        _native.adagrad(1.0, x, 0.1, G, G)


# ---------------------------------------------------------------- count input checks

def _counts(value=3.0):
    args = _small()
    return {name: np.full(len(args[m]), value, np.float32)
            for name, m in zip(COUNT_NAMES, ("syn0", "syn1", "syn1neg"))}


def test_valid_count_call_trains_and_leaves_counts_alone():
    counts = _counts()
    counts["syn1neg_count"] = counts["syn0_count"]                     # shared, as the model does
    counts["syn1_count"].flags.writeable = False                       # read only is fine
    before = {k: v.copy() for k, v in counts.items()}
    syn0 = _nonzero_syn0()
    res = _call(lr_mode="count", count_tau=5.0, syn0=syn0, **counts)
    assert res.words_kept == 4 and res.terms > 0
    assert not np.array_equal(syn0, _nonzero_syn0())
    assert all(np.array_equal(counts[k], before[k]) for k in counts)


def test_sgd_ignores_counts():
    """lr_mode="sgd" neither reads nor writes counts that are passed: the same bytes."""
    plain, with_counts = _nonzero_syn0(), _nonzero_syn0()
    r1 = _call(syn0=plain)
    r2 = _call(syn0=with_counts, lr_mode="sgd", **_counts(1e6))
    assert r1 == r2 and plain.tobytes() == with_counts.tobytes()


@pytest.mark.parametrize("name", COUNT_NAMES)
def test_float64_count_is_a_type_error(name):
    counts = _counts()
    counts[name] = counts[name].astype(np.float64)
    with pytest.raises(TypeError, match=name):
        _call(lr_mode="count", count_tau=5.0, **counts)
    counts[name] = counts[name].tolist()
    with pytest.raises(TypeError, match=name):
        _call(lr_mode="count", count_tau=5.0, **counts)


@pytest.mark.parametrize("name", COUNT_NAMES)
@pytest.mark.parametrize("shape", ["rows+1", "rows-1", "2d", "strided"])
def test_wrongly_shaped_count_is_a_value_error(name, shape):
    counts = _counts()
    rows = len(counts[name])
    counts[name] = {"rows+1": np.ones(rows + 1, np.float32), "rows-1": np.ones(rows - 1, np.float32),
                    "2d": np.ones((rows, 1), np.float32),
                    "strided": np.ones(2 * rows, np.float32)[::2]}[shape]
    with pytest.raises(ValueError, match=name):
        _call(lr_mode="count", count_tau=5.0, **counts)


@pytest.mark.parametrize("name", COUNT_NAMES)
@pytest.mark.parametrize("bad", [-1.0, -1e-30, float("nan"), float("inf"), -float("inf")])
def test_negative_or_non_finite_count_is_a_value_error(name, bad):
    counts = _counts()
    counts[name][-1] = bad
    with pytest.raises(ValueError, match=f"{name}.*finite and >= 0"):
        _call(lr_mode="count", count_tau=5.0, **counts)


def test_zero_and_negative_zero_counts_are_valid():
    counts = _counts(0.0)
    counts["syn0_count"][0] = -0.0
    assert _call(lr_mode="count", count_tau=5.0, **counts).terms > 0


def test_count_sharing_a_matrix_is_a_value_error():
    syn1neg = np.zeros((4, 3), np.float32)
    counts = {**_counts(), "syn0_count": syn1neg.reshape(-1)[:4]}
    with pytest.raises(ValueError, match="syn0_count.*share"):
        _call(syn1neg=syn1neg, lr_mode="count", count_tau=5.0, **counts)


@pytest.mark.parametrize("name", COUNT_NAMES)
def test_missing_count_is_a_value_error(name):
    counts = _counts()
    del counts[name]
    with pytest.raises(ValueError, match=f"count.*{name}"):
        _call(lr_mode="count", count_tau=5.0, **counts)


def test_count_of_an_unused_matrix_may_be_absent_and_needs_its_matrix():
    counts = _counts()
    del counts["syn1_count"]
    assert _call(lr_mode="count", count_tau=5.0, hs=0, **counts).terms > 0
    with pytest.raises(ValueError, match="syn1_count.*syn1"):
        _call(syn1=None, hs=0, points=None, codes=None, code_lens=None, lr_mode="count",
              count_tau=5.0, **_counts())


@pytest.mark.parametrize("bad", [None, 0, 0.0, -1.0, float("nan"), float("inf"), 1e-50, 1e39,
                                 10**400, "10", True])
def test_bad_count_tau_is_a_value_error(bad):
    with pytest.raises(ValueError, match="count_tau"):
        _call(lr_mode="count", count_tau=bad, **_counts())


@pytest.mark.parametrize("lr_mode", ["sgd", "adagrad_row"])
def test_count_tau_without_the_count_mode_is_a_value_error(lr_mode):
    with pytest.raises(ValueError, match="count_tau"):
        _call(lr_mode=lr_mode, count_tau=5.0, **_accs("adagrad_row"))


# ---------------------------------------------------------------- shared negatives input checks

@pytest.mark.parametrize("value", [True, False, 0, 1, np.bool_(True), np.int64(1), np.int32(0)])
def test_shared_negatives_accepts_flags(value):
    res = _call(hs=0, shared_negatives=value)
    assert res.words_kept == 4 and res.terms > 0


def test_shared_negatives_off_is_the_per_pair_mode():
    """shared_negatives=False (the default) leaves the per-pair path as it was: the same bytes."""
    plain, off = _nonzero_syn0(), _nonzero_syn0()
    assert _call(syn0=plain, hs=0) == _call(syn0=off, hs=0, shared_negatives=False)
    assert plain.tobytes() == off.tobytes()


@pytest.mark.parametrize("bad", ["yes", "1", 1.0, 0.0, None, [1], b"\x01"])
def test_shared_negatives_non_flag_is_a_type_error(bad):
    with pytest.raises(TypeError, match="shared_negatives"):
        _call(hs=0, shared_negatives=bad)


@pytest.mark.parametrize("bad", [2, -1, np.int64(3)])
def test_shared_negatives_other_integer_is_a_value_error(bad):
    with pytest.raises(ValueError, match="shared_negatives"):
        _call(hs=0, shared_negatives=bad)


@pytest.mark.parametrize("change", [dict(sg=0), dict(hs=1), dict(negative=0)],
                         ids=["cbow", "hs", "no-negative"])
def test_shared_negatives_needs_skip_gram_ns_without_hs(change):
    with pytest.raises(ValueError, match=r"shared_negatives needs sg=1, hs=0 and negative > 0"):
        _call(**{"hs": 0, **change}, shared_negatives=True)
    assert _call(**{"hs": 0, **change}, shared_negatives=False).words_kept == 4


def test_kernel_model_train_takes_shared_negatives():
    args = _small()
    model = _native.KernelModel(_nonzero_syn0(), None, args["syn1neg"],
                                noise=_native.NoiseTable(args["neg_alias"]))
    kw = dict(sg=1, hs=0, negative=2, window=2)
    res = model.train(args["words"], args["sentence_ends"], shared_negatives=True, **kw)
    assert res.examples > 0 and res.terms > 0
    with pytest.raises(ValueError, match="shared_negatives needs"):
        model.train(args["words"], args["sentence_ends"], shared_negatives=True,
                    **{**kw, "sg": 0})


# ---------------------------------------------------------------- HS private rows

HS_MODES = [m for m in ADAGRAD_MODES if m[1]]


def _same_bytes(a, b):
    return all((x is None and y is None) or x.tobytes() == y.tobytes() for x, y in zip(a, b))


@pytest.mark.parametrize("lr_mode", ["sgd", "count"] + LR_MODES)
@pytest.mark.parametrize("mode", HS_MODES, ids=[i for i, m in zip(ADAGRAD_IDS, ADAGRAD_MODES) if m[1]])
@settings(max_examples=10)
@given(data=st.data(), hot=st.sampled_from([1, 3, 64]))
def test_hs_private_rows_change_nothing_for_one_call(lr_mode, mode, data, hot):
    """The heaviest inner nodes trained in a private copy and merged back
    (hs_hot_rows, csrc/train_impl.h) give one call alone the same bytes as
    training them in place: the oracle's equations hold whatever the value."""
    mats, words, ends, kw = data.draw(batch_cases(*mode, lr_mode=lr_mode))
    m0, a0, r0 = run_kernel_acc(mats, words, ends, dict(kw, hs_hot_rows=0))
    m1, a1, r1 = run_kernel_acc(mats, words, ends, dict(kw, hs_hot_rows=hot))
    assert r0 == r1 and _same_bytes(m0 + a0, m1 + a1)


@pytest.mark.parametrize("lr_mode", ["sgd", "adagrad_row", "adagrad_coord"])
def test_hs_private_rows_merged_mid_batch_change_nothing(lr_mode):
    """A batch long enough for several merges (every 1024 positions)."""
    rs = np.random.default_rng(7)
    V, dim = 300, 24
    counts = 1e5 / np.arange(1, V + 1)
    points, codes, code_lens = huffman_tree(counts.astype(np.int64))
    words = rs.choice(V, size=6000, p=counts / counts.sum()).astype(np.int32)
    ends = np.arange(500, 6001, 500, dtype=np.int64)
    mats = (((rs.random((V, dim)) - 0.5) / dim).astype(np.float32),
            ((rs.random((V - 1, dim)) - 0.5) / dim).astype(np.float32), None)
    kw = dict(sg=1, hs=1, negative=0, window=5, alpha=0.05, rng=3, points=points, codes=codes,
              code_lens=code_lens)
    if lr_mode != "sgd":
        kw.update(lr_mode=lr_mode, alpha=0.1, **{name: np.full((len(m),) if lr_mode == "adagrad_row" else m.shape,
                                                               1e-3, np.float32)
                                                 for name, m in zip(ACC_NAMES, mats) if m is not None})
    runs = [run_kernel_acc(mats, words, ends, dict(kw, hs_hot_rows=hot)) for hot in (0, 8, 64)]
    for m, a, r in runs[1:]:
        assert r == runs[0][2] and _same_bytes(m + a, runs[0][0] + runs[0][1])
    with pytest.raises(ValueError, match="hs_hot_rows"):
        run_kernel_acc(mats, words, ends, dict(kw, hs_hot_rows=-1))


def test_a_newer_build_under_another_name_is_reported(tmp_path):
    """pip install -e and build_ext --inplace name the extension differently,
    and Python loads the first name it knows: a newer build under the other
    name would not run. shadowed_builds names it (the import warns)."""
    old, new, source = (tmp_path / "_w2v.cpython-311-x86_64-linux-gnu.so", tmp_path / "_w2v.abi3.so",
                        tmp_path / "_w2v.c")
    for path, t in ((old, 1_000_000), (new, 2_000_000), (source, 3_000_000)):
        path.write_bytes(b"")
        os.utime(path, (t, t))
    assert _native.shadowed_builds(str(old)) == [str(new)]
    assert _native.shadowed_builds(str(new)) == []
    assert _native.kernel_info()["module"] == _native._w2v.__file__
