"""The oracle's updates are gradient descent on the seed's losses.

Every update of stream_w2v/oracle.py is compared, in float64, with
``-alpha *`` the gradient of the seed's loss computed by central finite
differences (error O(eps^2) ~ 1e-10 with eps = 1e-5, far below the 1e-7
tolerance, and far above float64 rounding of the loss / eps ~ 1e-11):

- full softmax for a tiny vocabulary: CBOW (eqs. 33-36) and the seed's
  skip-gram (eqs. 37-43);
- hierarchical softmax (eqs. 62-65, 69-70) and negative sampling (eqs. 75-80),
  through the same ``apply_example`` the batch replay uses, for skip-gram
  (h = one context row) and CBOW (h = sum or mean of the window).

Under AdaGrad (``lr_mode`` "adagrad_row" / "adagrad_coord") the same finite
differences check the closed form of one example's step: every row w that the
example touches once moves by ``-eta x / sqrt(G')`` with ``x`` the gradient of
the loss at the example's start and ``G' = G + x**2`` (per coordinate) or
``G + |x|^2 / dim`` (per row) the accumulator *after* adding the step's own
square; untouched rows and their accumulators stay. Accumulators are drawn in
[1e-2, 10] and eta <= 0.5, so the step's sensitivity to an error of x,
eta / sqrt(G) <= 5, keeps the finite-difference error (~1e-10) far below the
tolerance.

Per-row decay by count (``lr_mode="count"``): every touched row r moves by
``-rate_r x`` with ``x`` the finite-difference gradient (times C for the inputs
under cbow_mean=1, as for SGD) and ``rate_r = alpha / (1 + n_r / tau)`` its own
rate; the inputs may repeat (each occurrence steps with its row's rate along
the same e, which is the gradient of the repeated row). Counts are drawn in
[0, 10 tau], so rate_r <= alpha <= 0.5 and the same tolerance holds.

For CBOW with the mean (``cbow_mean=1``, word2vec.c's and gensim's default),
``h = (1/C) sum_c v_c``, so ``dE/dv_c = (1/C) dE/dh`` per occurrence, but
word2vec.c adds the whole ``-alpha dE/dh`` to every context word: its input
update is ``C`` times the gradient step. ``cbow_mean=2`` is the seed's eq. 36
(the exact gradient step); ``cbow_mean=0`` (sum) is exact too.

Shared negatives (``Example(..., shared=True)``): a center's minibatch is one
step along the gradient of the summed loss of all its (context, output) terms
at the minibatch's start: times -alpha (SGD) or -rate_r ("count") for any
window, repeats included (the steps of a repeated row add up to its
gradient), and the closed AdaGrad step for distinct rows.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stream_w2v import oracle

EPS = 1e-5
ATOL = 1e-7


def numgrad(loss, arrays):
    """Central differences of ``loss()`` w.r.t. every entry of every array (in place, restored)."""
    grads = []
    for a in arrays:
        g = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            old = a[idx]
            a[idx] = old + EPS
            up = loss()
            a[idx] = old - EPS
            down = loss()
            a[idx] = old
            g[idx] = (up - down) / (2 * EPS)
        grads.append(g)
    return grads


def assert_step_is_gradient(delta, grad, alpha, factor=1.0):
    np.testing.assert_allclose(delta, -alpha * factor * grad, rtol=1e-6, atol=ATOL)


@st.composite
def small_problem(draw):
    """A tiny model: V words, dim, float64 matrices with entries in [-1, 1]."""
    V = draw(st.integers(2, 6))
    dim = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**32 - 1))
    rs = np.random.default_rng(seed)
    syn0 = rs.uniform(-1, 1, (V, dim))
    out = rs.uniform(-1, 1, (V, dim))
    alpha = draw(st.floats(0.001, 0.5))
    return V, dim, syn0, out, alpha, rs


# ---------------------------------------------------------------- scalar functions

def test_lcg_is_word2vec_c():
    assert oracle.lcg(1) == 25214903917 + 11
    assert oracle.lcg(2**64 - 1) == (-25214903917 + 11) % 2**64


def test_sigmoid_exact_and_clamped():
    for x in (-40.0, -6.5, -6.0, -1.0, 0.0, 0.3, 6.0, 7.0, 800.0):
        assert oracle.sigmoid(x) == pytest.approx(1 / (1 + math.exp(-x)) if x > -700 else 0.0,
                                                  rel=1e-15, abs=1e-300)
        assert oracle.sigmoid(x, clamp=6.0) == oracle.sigmoid(min(max(x, -6.0), 6.0))
    assert oracle.sigmoid(-800.0) == 0.0 and oracle.sigmoid(800.0) == 1.0


def test_log1pexp_is_stable():
    assert oracle.log1pexp(0.0) == pytest.approx(math.log(2.0), rel=1e-15)
    assert oracle.log1pexp(1000.0) == 1000.0
    assert oracle.log1pexp(-1000.0) == 0.0
    assert oracle.log1pexp(-30.0) == pytest.approx(math.exp(-30.0), rel=1e-12)


# ---------------------------------------------------------------- full softmax

@given(small_problem(), st.data())
def test_softmax_step_is_gradient(problem, data):
    """One-word context (eqs. 13-32): U moves by -alpha (y - t) h^T, the input by -alpha dE/dh."""
    V, dim, syn0, U, alpha, _ = problem
    target = data.draw(st.integers(0, V - 1))
    h = syn0[0].copy()
    U_new, e = oracle.softmax_step(U, h, target, alpha)
    gU, gh = numgrad(lambda: oracle.softmax_loss(U, h, target), [U, h])
    assert_step_is_gradient(U_new - U, gU, alpha)
    assert_step_is_gradient(e, gh, alpha)


@pytest.mark.parametrize("cbow_mean", [0, 1, 2])
@given(small_problem(), st.data())
def test_cbow_softmax_step_is_gradient(cbow_mean, problem, data):
    V, dim, syn0, U, alpha, _ = problem
    contexts = data.draw(st.lists(st.integers(0, V - 1), min_size=1, max_size=5))  # repeats allowed
    target = data.draw(st.integers(0, V - 1))
    syn0_new, U_new = oracle.cbow_softmax_step(syn0, U, contexts, target, alpha, cbow_mean)
    g0, gU = numgrad(lambda: oracle.cbow_softmax_loss(syn0, U, contexts, target, cbow_mean), [syn0, U])
    assert_step_is_gradient(U_new - U, gU, alpha)
    # word2vec.c's mean (cbow_mean=1) steps C times the gradient of the inputs.
    factor = len(contexts) if cbow_mean == 1 else 1.0
    assert_step_is_gradient(syn0_new - syn0, g0, alpha, factor)


@given(small_problem(), st.data())
def test_sg_softmax_step_is_gradient(problem, data):
    """The seed's skip-gram (eqs. 37-43): one update from the summed errors EI of all contexts."""
    V, dim, syn0, U, alpha, _ = problem
    center = data.draw(st.integers(0, V - 1))
    contexts = data.draw(st.lists(st.integers(0, V - 1), min_size=1, max_size=6))
    syn0_new, U_new = oracle.sg_softmax_step(syn0, U, center, contexts, alpha)
    g0, gU = numgrad(lambda: oracle.sg_softmax_loss(syn0, U, center, contexts), [syn0, U])
    assert_step_is_gradient(U_new - U, gU, alpha)
    assert_step_is_gradient(syn0_new - syn0, g0, alpha)


def test_softmax_step_lowers_the_loss():
    rs = np.random.default_rng(3)
    syn0, U = rs.normal(size=(4, 3)), rs.normal(size=(4, 3))
    before = oracle.cbow_softmax_loss(syn0, U, [0, 2], 1, 2)
    syn0, U = oracle.cbow_softmax_step(syn0, U, [0, 2], 1, 0.01, 2)
    assert oracle.cbow_softmax_loss(syn0, U, [0, 2], 1, 2) < before


# ---------------------------------------------------------------- HS and NS

def _hs_path(rs, n_inner, length):
    """A root-to-leaf path: distinct inner nodes and random branch bits, as (row, label)."""
    rows = rs.choice(n_inner, size=length, replace=False)
    return tuple((int(r), 1 - int(rs.integers(0, 2))) for r in rows)


def _ns_terms(rs, V, target, k):
    """The true word and k distinct noise words (distinct rows: see oracle.ns_step)."""
    noise = rs.choice([w for w in range(V) if w != target], size=min(k, V - 1), replace=False)
    return tuple(oracle.ns_terms(target, [int(w) for w in noise]))


def _loss_of(ex, syn0, syn1, syn1neg, cbow_mean):
    h = oracle.cbow_hidden(syn0, ex.inputs, cbow_mean)
    loss = 0.0
    if ex.hs:
        loss += oracle.hs_loss(syn1, h, ex.hs)
    if ex.ns:
        loss += oracle.ns_loss(syn1neg, h, ex.ns)
    return loss


@pytest.mark.parametrize("sg,cbow_mean", [(1, 1), (0, 0), (0, 1), (0, 2)])
@pytest.mark.parametrize("hs,ns", [(1, 0), (0, 1), (1, 1)])
@given(small_problem(), st.data())
def test_hs_ns_example_is_gradient(sg, cbow_mean, hs, ns, problem, data):
    """apply_example (the batch replay's step) = -alpha * grad of the HS and/or NS loss.

    Exact sigmoid (clamp=None): the kernels' clamp at +-6 makes the step the
    gradient of a loss that is linear beyond +-6, which finite differences
    at a point with |f| > 6 would not see.
    """
    V, dim, syn0, syn1neg, alpha, rs = problem
    syn1 = rs.uniform(-1, 1, (V - 1, dim))
    center = data.draw(st.integers(0, V - 1))
    if sg:
        inputs = (data.draw(st.integers(0, V - 1)),)
    else:
        inputs = tuple(data.draw(st.lists(st.integers(0, V - 1), min_size=1, max_size=5)))
    path = _hs_path(rs, V - 1, data.draw(st.integers(1, V - 1))) if hs else ()
    terms = _ns_terms(rs, V, center, data.draw(st.integers(0, 4))) if ns else ()
    ex = oracle.Example(inputs, center, alpha, path, terms)

    new0, new1, newn = syn0.copy(), syn1.copy(), syn1neg.copy()
    loss = oracle.apply_example(ex, new0, new1, newn, cbow_mean=cbow_mean, clamp=None)
    assert loss == pytest.approx(_loss_of(ex, syn0, syn1, syn1neg, cbow_mean), rel=1e-12)

    g0, g1, gn = numgrad(lambda: _loss_of(ex, syn0, syn1, syn1neg, cbow_mean), [syn0, syn1, syn1neg])
    assert_step_is_gradient(new1 - syn1, g1, alpha)
    assert_step_is_gradient(newn - syn1neg, gn, alpha)
    factor = len(inputs) if (not sg and cbow_mean == 1) else 1.0
    assert_step_is_gradient(new0 - syn0, g0, alpha, factor)


def test_hs_labels_follow_word2vec_c():
    """Branch bit 0 is the positive class (eq. 61): a path of code 0 wants sigma(f) -> 1."""
    points = np.array([[0, 1]], dtype=np.int32)
    codes = np.array([[0, 1]], dtype=np.uint8)
    assert oracle.hs_terms(0, points, codes, np.array([2])) == [(0, 1), (1, 0)]
    assert oracle.hs_terms(1, points, codes, np.array([2])) == []    # no code yet: no path


def test_ns_step_signs():
    """Errata of eqs. 78/86: the true word's row moves towards h, a noise word's away."""
    h = np.array([1.0, 0.0])
    out = np.zeros((3, 2))
    new, e, _ = oracle.ns_step(out, h, oracle.ns_terms(0, [1, 0, 2]), alpha=0.1)
    assert new[0, 0] > 0 and new[1, 0] < 0 and new[2, 0] < 0
    assert oracle.ns_terms(0, [1, 0, 2]) == [(0, 1), (1, 0), (2, 0)]  # the center drawn as noise is skipped
    np.testing.assert_array_equal(e, 0.0)  # rows were zero when e read them


# ---------------------------------------------------------------- the batch plan

def test_plan_counts_and_draws():
    words = np.array([0, -1, 1, 2, 1, 0], dtype=np.int32)
    common = dict(sg=1, hs=0, negative=0, window=1, rng=7)
    plan = oracle.plan_batch(words, [2, 6], **common)
    # Sentences [0] and [1, 2, 1, 0]; window 1 pairs neighbours only.
    assert plan.words_kept == 5
    assert [(ex.inputs, ex.center) for ex in plan.examples] == [
        ((2,), 1), ((1,), 2), ((1,), 2), ((2,), 1), ((0,), 1), ((1,), 0)]
    # One window draw per kept word.
    r = 7
    for _ in range(5):
        r = oracle.lcg(r)
    assert plan.rng == r
    # keep_prob = 1 keeps everything but draws once per in-vocabulary token first.
    kept_all = oracle.plan_batch(words, [2, 6], keep_prob=np.ones(3, np.float32), **common)
    assert kept_all.examples == plan.examples         # window 1: the shrink draw is always 0
    for _ in range(5):
        r = oracle.lcg(r)
    assert kept_all.words_kept == 5 and kept_all.rng == r
    assert oracle.plan_batch(words, [2, 6], keep_prob=np.zeros(3, np.float32), **common).words_kept == 0


def test_plan_learning_rate_is_linear_in_the_token_index():
    words = np.array([0, 1, -1, 2, 0], dtype=np.int32)
    plan = oracle.plan_batch(words, [5], sg=0, hs=0, negative=0, window=4,
                             alpha=0.1, alpha_end=0.02, rng=1)
    alphas = [ex.alpha for ex in plan.examples]
    assert alphas == pytest.approx([0.1, 0.08, 0.04, 0.02])


def test_plan_cbow_without_context_draws_only_the_window():
    plan = oracle.plan_batch(np.array([3], np.int32), [1], sg=0, hs=0, negative=5, window=3,
                             neg_alias=(np.ones(4), np.arange(4)), rng=5)
    assert plan.examples == [] and plan.rng == oracle.lcg(5)


def test_draw_negative_uses_the_alias_table():
    prob, alias = np.array([0.0, 1.0]), np.array([1, 1])
    for r in range(50):
        word, r2 = oracle.draw_negative(r, (prob, alias))
        assert word == 1 and r2 == oracle.lcg(oracle.lcg(r))


# ---------------------------------------------------------------- AdaGrad

def expected_adagrad(mat, acc, grad, eta, lr_mode):
    """Closed form of one AdaGrad step of every row along ``grad``: (new mat, new acc)."""
    if lr_mode == "adagrad_row":
        acc_new = acc + (grad ** 2).sum(axis=1) / mat.shape[1]
        return mat - eta * grad / np.sqrt(acc_new)[:, None], acc_new
    acc_new = acc + grad ** 2
    return mat - eta * grad / np.sqrt(acc_new), acc_new


@pytest.mark.parametrize("lr_mode", ["adagrad_row", "adagrad_coord"])
@pytest.mark.parametrize("sg,cbow_mean", [(1, 1), (0, 0), (0, 1), (0, 2)])
@pytest.mark.parametrize("hs,ns", [(1, 0), (0, 1), (1, 1)])
@settings(max_examples=10)
@given(small_problem(), st.data())
def test_adagrad_example_is_scaled_gradient(lr_mode, sg, cbow_mean, hs, ns, problem, data):
    """One example under AdaGrad: each touched row moves by -eta x / sqrt(G') with x the
    finite-difference gradient and G' the accumulator after adding x's square.

    Distinct rows in the example (a distinct CBOW window, a path of distinct
    inner nodes, distinct noise words), so each row steps once along its
    gradient at the example's start. cbow_mean=1 steps along C times the
    gradient (word2vec.c's update direction, as for SGD).
    """
    V, dim, syn0, syn1neg, alpha, rs = problem
    syn1 = rs.uniform(-1, 1, (V - 1, dim))
    center = data.draw(st.integers(0, V - 1))
    if sg:
        inputs = (data.draw(st.integers(0, V - 1)),)
    else:
        inputs = tuple(data.draw(st.lists(st.integers(0, V - 1), min_size=1, max_size=5,
                                          unique=True)))
    path = _hs_path(rs, V - 1, data.draw(st.integers(1, V - 1))) if hs else ()
    terms = _ns_terms(rs, V, center, data.draw(st.integers(0, 4))) if ns else ()
    ex = oracle.Example(inputs, center, alpha, path, terms)
    per_row = lr_mode == "adagrad_row"
    accs = [rs.uniform(1e-2, 10, len(m) if per_row else m.shape) for m in (syn0, syn1, syn1neg)]

    new = [syn0.copy(), syn1.copy(), syn1neg.copy()]
    new_accs = [a.copy() for a in accs]
    loss = oracle.apply_example(ex, *new, cbow_mean=cbow_mean, clamp=None, lr_mode=lr_mode,
                                accs=new_accs)
    assert loss == pytest.approx(_loss_of(ex, syn0, syn1, syn1neg, cbow_mean), rel=1e-12)

    grads = numgrad(lambda: _loss_of(ex, syn0, syn1, syn1neg, cbow_mean), [syn0, syn1, syn1neg])
    grads[0] = grads[0] * (len(inputs) if (not sg and cbow_mean == 1) else 1.0)
    for mat, acc, grad, got, got_acc in zip((syn0, syn1, syn1neg), accs, grads, new, new_accs):
        want, want_acc = expected_adagrad(mat, acc, grad, alpha, lr_mode)
        np.testing.assert_allclose(got_acc, want_acc, rtol=1e-6, atol=ATOL)
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=ATOL)


def test_adagrad_update_closed_form():
    """adagrad_update by hand: per row G += |x|^2/dim, per coordinate G_k += x_k^2, then
    w -= eta x / sqrt(G) with the new G; other rows untouched."""
    x = np.array([3.0, -4.0])
    mat, acc = np.zeros((2, 2)), np.array([1.0, 7.0])
    oracle.adagrad_update(mat, acc, 0, x, 0.5, "adagrad_row")
    assert acc.tolist() == [1.0 + 25.0 / 2, 7.0]
    np.testing.assert_allclose(mat[0], -0.5 * x / math.sqrt(13.5), rtol=1e-15)
    assert mat[1].tolist() == [0.0, 0.0]
    mat, acc = np.zeros((2, 2)), np.array([[1.0, 2.0], [3.0, 4.0]])
    oracle.adagrad_update(mat, acc, 1, x, 0.5, "adagrad_coord")
    assert acc.tolist() == [[1.0, 2.0], [12.0, 20.0]]
    np.testing.assert_allclose(mat[1], [-0.5 * 3 / math.sqrt(12), 0.5 * 4 / math.sqrt(20)], rtol=1e-15)
    with pytest.raises(ValueError):
        oracle.adagrad_update(mat, acc, 0, x, 0.5, "sgd")


def test_adagrad_first_step_is_about_eta_with_yskips_epsilon():
    """With yskip's G0 = 1e-8, the first step of a coordinate whose gradient is >> 1e-4 is
    eta * sign: AdaGrad's scale invariance, whatever the gradient's size."""
    eta, x = 0.1, np.array([1e-2, -3.0, 0.5])
    mat, acc = np.zeros((1, 3)), np.full((1, 3), 1e-8)
    oracle.adagrad_update(mat, acc, 0, x, eta, "adagrad_coord")
    np.testing.assert_allclose(mat[0], -eta * np.sign(x), rtol=1e-4)


def test_logistic_step_adagrad_reads_u_before_it_moves():
    """e collects g u with the old u and no learning rate; u steps with its own accumulator."""
    h, u0 = np.array([1.0, 2.0]), np.array([0.5, -0.25])
    out, acc, e = u0[None, :].copy(), np.array([[0.1, 0.2]]), np.zeros(2)
    oracle.logistic_step_adagrad(h, out, acc, 0, 1, 0.05, e, "adagrad_coord")
    g = 1 - oracle.sigmoid(float(u0 @ h))
    np.testing.assert_allclose(e, g * u0, rtol=1e-15)
    G = np.array([0.1, 0.2]) + (g * h) ** 2
    np.testing.assert_allclose(acc[0], G, rtol=1e-15)
    np.testing.assert_allclose(out[0], u0 + 0.05 * g * h / np.sqrt(G), rtol=1e-15)


def test_sgd_is_the_default_and_rejects_nothing_new():
    words = np.array([0, 1, 2, 1], np.int32)
    rs = np.random.default_rng(1)
    syn0, syn1neg = rs.uniform(-1, 1, (3, 2)), rs.uniform(-1, 1, (3, 2))
    kw = dict(sg=1, hs=0, negative=2, window=2, neg_alias=(np.ones(3), np.arange(3)), rng=9)
    a = oracle.train_batch_oracle(syn0, None, syn1neg, words, [4], **kw)
    b = oracle.train_batch_oracle(syn0, None, syn1neg, words, [4], lr_mode="sgd", **kw)
    assert np.array_equal(a.syn0, b.syn0) and a.syn0_acc is None
    with pytest.raises(ValueError, match="lr_mode"):
        oracle.train_batch_oracle(syn0, None, syn1neg, words, [4], lr_mode="adam", **kw)


# ---------------------------------------------------------------- per-row decay by count

@pytest.mark.parametrize("sg,cbow_mean", [(1, 1), (0, 0), (0, 1), (0, 2)])
@pytest.mark.parametrize("hs,ns", [(1, 0), (0, 1), (1, 1)])
@settings(max_examples=10)
@given(small_problem(), st.data())
def test_count_example_is_scaled_gradient(sg, cbow_mean, hs, ns, problem, data):
    """One example under "count": every row r moves by -alpha / (1 + n_r / tau) times the
    finite-difference gradient (module docstring); rows the example does not touch stay."""
    V, dim, syn0, syn1neg, alpha, rs = problem
    syn1 = rs.uniform(-1, 1, (V - 1, dim))
    center = data.draw(st.integers(0, V - 1))
    if sg:
        inputs = (data.draw(st.integers(0, V - 1)),)
    else:
        inputs = tuple(data.draw(st.lists(st.integers(0, V - 1), min_size=1, max_size=5)))
    path = _hs_path(rs, V - 1, data.draw(st.integers(1, V - 1))) if hs else ()
    terms = _ns_terms(rs, V, center, data.draw(st.integers(0, 4))) if ns else ()
    ex = oracle.Example(inputs, center, alpha, path, terms)
    tau = data.draw(st.floats(0.1, 1000.0))
    counts = [rs.uniform(0, 10 * tau, len(m)) for m in (syn0, syn1, syn1neg)]

    new = [syn0.copy(), syn1.copy(), syn1neg.copy()]
    loss = oracle.apply_example(ex, *new, cbow_mean=cbow_mean, clamp=None, lr_mode="count",
                                counts=counts, count_tau=tau)
    assert loss == pytest.approx(_loss_of(ex, syn0, syn1, syn1neg, cbow_mean), rel=1e-12)

    grads = numgrad(lambda: _loss_of(ex, syn0, syn1, syn1neg, cbow_mean), [syn0, syn1, syn1neg])
    grads[0] = grads[0] * (len(inputs) if (not sg and cbow_mean == 1) else 1.0)
    for mat, n, grad, got in zip((syn0, syn1, syn1neg), counts, grads, new):
        rate = alpha / (1.0 + n / tau)
        np.testing.assert_allclose(got - mat, -rate[:, None] * grad, rtol=1e-6, atol=ATOL)


def test_count_rate_closed_form():
    """alpha at count 0, alpha / 2 at count tau, alpha / 11 at 10 tau."""
    assert oracle.count_rate(0.1, 0.0, 7.0) == 0.1
    assert oracle.count_rate(0.1, 7.0, 7.0) == 0.05
    assert oracle.count_rate(0.1, 70.0, 7.0) == pytest.approx(0.1 / 11, rel=1e-15)


def test_logistic_step_count_reads_u_before_it_moves():
    """e collects g u with the old u and no learning rate; u steps by rate g h."""
    h, u0 = np.array([1.0, 2.0]), np.array([0.5, -0.25])
    out, e = u0[None, :].copy(), np.zeros(2)
    oracle.logistic_step_count(h, out, 0, 0, 0.03, e)
    g = 0 - oracle.sigmoid(float(u0 @ h))
    np.testing.assert_allclose(e, g * u0, rtol=1e-15)
    np.testing.assert_allclose(out[0], u0 + 0.03 * g * h, rtol=1e-15)


@pytest.mark.parametrize("sg,cbow_mean,hs", [(1, 1, 1), (0, 1, 0), (0, 2, 1)])
def test_count_with_zero_counts_is_sgd(sg, cbow_mean, hs):
    """Every count 0: every rate is alpha, and a batch is SGD's up to float64 rounding
    (e is scaled by alpha after the terms instead of per term)."""
    rs = np.random.default_rng(4)
    V, dim = 6, 5
    syn0, syn1, syn1neg = rs.uniform(-1, 1, (V, dim)), rs.uniform(-1, 1, (V - 1, dim)), rs.uniform(-1, 1, (V, dim))
    words = rs.integers(0, V, 40).astype(np.int32)
    points = np.array([[0, 1, 2]] * V, np.int32)
    codes = rs.integers(0, 2, (V, 3)).astype(np.uint8)
    kw = dict(sg=sg, hs=hs, negative=3, window=3, cbow_mean=cbow_mean, alpha=0.05, alpha_end=0.01,
              neg_alias=(np.ones(V), np.arange(V)), points=points, codes=codes,
              code_lens=np.full(V, 3), rng=5)
    sgd = oracle.train_batch_oracle(syn0, syn1, syn1neg, words, [20, 40], **kw)
    zeros = [np.zeros(len(m)) for m in (syn0, syn1, syn1neg)]
    cnt = oracle.train_batch_oracle(syn0, syn1, syn1neg, words, [20, 40], lr_mode="count",
                                    count_tau=3.0, syn0_count=zeros[0], syn1_count=zeros[1],
                                    syn1neg_count=zeros[2], **kw)
    for a, b in zip(sgd[:3], cnt[:3]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    assert (sgd.rng, sgd.terms, sgd.loss) == (cnt.rng, cnt.terms, pytest.approx(cnt.loss, rel=1e-12))
    with pytest.raises(ValueError, match="count_tau"):
        oracle.train_batch_oracle(syn0, syn1, syn1neg, words, [20, 40], lr_mode="count",
                                  syn0_count=zeros[0], syn1_count=zeros[1], syn1neg_count=zeros[2], **kw)


# ---------------------------------------------------------------- shared negatives

def _shared_loss(ex, syn0, syn1neg):
    """The minibatch's loss: every context row against the center and the shared noise words."""
    return sum(oracle.ns_loss(syn1neg, syn0[c], ex.ns) for c in ex.inputs)


@pytest.mark.parametrize("lr_mode", ["sgd", "count"])
@settings(max_examples=20)
@given(small_problem(), st.data())
def test_shared_example_is_gradient(lr_mode, problem, data):
    """A shared-negatives minibatch under SGD (or "count") is one step of -alpha (or -rate_r)
    times the gradient of the summed loss of all its (context, output) terms, even with a
    word twice in the window or a noise word drawn twice: each occurrence steps along its
    own part of the gradient, read before anything moved, and the steps add up."""
    V, dim, syn0, syn1neg, alpha, rs = problem
    center = data.draw(st.integers(0, V - 1))
    inputs = tuple(data.draw(st.lists(st.integers(0, V - 1), min_size=1, max_size=6)))
    noise = data.draw(st.lists(st.integers(0, V - 1), max_size=5))        # repeats allowed
    ex = oracle.Example(inputs, center, alpha, (), tuple(oracle.ns_terms(center, noise)), True)
    tau = data.draw(st.floats(0.1, 1000.0))
    counts = (rs.uniform(0, 10 * tau, V), None, rs.uniform(0, 10 * tau, V))

    new0, newn = syn0.copy(), syn1neg.copy()
    loss = oracle.apply_example(ex, new0, None, newn, cbow_mean=1, clamp=None, lr_mode=lr_mode,
                                counts=counts, count_tau=tau)
    assert loss == pytest.approx(_shared_loss(ex, syn0, syn1neg), rel=1e-12)
    g0, gn = numgrad(lambda: _shared_loss(ex, syn0, syn1neg), [syn0, syn1neg])
    for mat, n, grad, got in ((syn0, counts[0], g0, new0), (syn1neg, counts[2], gn, newn)):
        rate = alpha / (1.0 + n / tau) if lr_mode == "count" else np.full(V, alpha)
        np.testing.assert_allclose(got - mat, -rate[:, None] * grad, rtol=1e-6, atol=ATOL)


@pytest.mark.parametrize("lr_mode", ["adagrad_row", "adagrad_coord"])
@settings(max_examples=10)
@given(small_problem(), st.data())
def test_shared_adagrad_example_is_scaled_gradient(lr_mode, problem, data):
    """Distinct context words and distinct noise words: every row steps once, by
    -eta x / sqrt(G') with x the gradient of the minibatch's loss at its start."""
    V, dim, syn0, syn1neg, alpha, rs = problem
    center = data.draw(st.integers(0, V - 1))
    inputs = tuple(data.draw(st.lists(st.integers(0, V - 1), min_size=1, max_size=5, unique=True)))
    ex = oracle.Example(inputs, center, alpha, (),
                        _ns_terms(rs, V, center, data.draw(st.integers(0, 4))), True)
    per_row = lr_mode == "adagrad_row"
    accs = [rs.uniform(1e-2, 10, len(m) if per_row else m.shape) for m in (syn0, syn1neg)]

    new, new_accs = [syn0.copy(), syn1neg.copy()], [a.copy() for a in accs]
    loss = oracle.apply_example(ex, new[0], None, new[1], cbow_mean=1, clamp=None,
                                lr_mode=lr_mode, accs=(new_accs[0], None, new_accs[1]))
    assert loss == pytest.approx(_shared_loss(ex, syn0, syn1neg), rel=1e-12)
    grads = numgrad(lambda: _shared_loss(ex, syn0, syn1neg), [syn0, syn1neg])
    for mat, acc, grad, got, got_acc in zip((syn0, syn1neg), accs, grads, new, new_accs):
        want, want_acc = expected_adagrad(mat, acc, grad, alpha, lr_mode)
        np.testing.assert_allclose(got_acc, want_acc, rtol=1e-6, atol=ATOL)
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=ATOL)


def test_plan_shared_draws_once_per_center():
    """One window draw per kept word, then (if it has a context) `negative` noise words of
    two draws each, once per center; a center without a context draws no noise."""
    words = np.array([0, -1, 1, 2, 1, 0], dtype=np.int32)
    alias = (np.ones(3), np.arange(3))
    common = dict(sg=1, hs=0, negative=2, window=1, neg_alias=alias, rng=7)
    plan = oracle.plan_batch(words, [2, 6], shared_negatives=True, **common)
    # Sentences [0] (no context) and [1, 2, 1, 0]; window 1: neighbours only.
    assert [(ex.inputs, ex.center, ex.shared) for ex in plan.examples] == [
        ((2,), 1, True), ((1, 1), 2, True), ((2, 0), 1, True), ((1,), 0, True)]
    r = 7
    want_noise = []
    for has_context in (False, True, True, True, True):
        r = oracle.lcg(r)                                 # the window draw
        if has_context:
            noise = []
            for _ in range(2):
                word, r = oracle.draw_negative(r, alias)
                noise.append(word)
            want_noise.append(noise)
    assert plan.rng == r
    assert [ex.ns for ex in plan.examples] == [
        tuple(oracle.ns_terms(ex.center, n)) for ex, n in zip(plan.examples, want_noise)]
    assert sum(ex.n_examples for ex in plan.examples) == 6       # one per (context, center) pair
    assert [ex.n_terms for ex in plan.examples] == [len(ex.inputs) * len(ex.ns) for ex in plan.examples]


@pytest.mark.parametrize("change", [dict(sg=0), dict(hs=1), dict(negative=0)])
def test_plan_shared_needs_skip_gram_ns_without_hs(change):
    kw = dict(sg=1, hs=0, negative=2, window=1, neg_alias=(np.ones(3), np.arange(3)),
              shared_negatives=True, **{"points": np.zeros((3, 1), np.int32),
                                        "codes": np.zeros((3, 1), np.uint8),
                                        "code_lens": np.ones(3, np.int32)})
    with pytest.raises(ValueError, match="shared_negatives needs sg=1, hs=0 and negative > 0"):
        oracle.plan_batch(np.array([0, 1], np.int32), [2], **{**kw, **change})
