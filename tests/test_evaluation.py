"""Evaluations (stream_w2v.evaluation through KeyedVectors) against gensim
on the same vectors, and the scipy-free statistics against scipy."""
import os

import numpy as np
import pytest
import scipy.special
import scipy.stats
from gensim.test.utils import datapath
from hypothesis import example, given, settings
from hypothesis import strategies as st
from test_keyedvectors import gensim_kv

from stream_w2v.evaluation import _pearson, _rankdata
from stream_w2v.keyedvectors import KeyedVectors


def structured_vocab(seed):
    """Vectors over the words of gensim's test files where many analogies hold
    (b - a = c - d per section, plus noise), with case variants and OOV words."""
    rng = np.random.default_rng(seed)
    lines = open(datapath("questions-words.txt")).read().splitlines()
    words = set()
    for name in ("wordsim353.tsv", "simlex999.txt"):
        for line in open(datapath(name)):
            if not line.startswith("#"):
                words.update(line.split("\t")[:2])
    words.update(w for line in lines if not line.startswith(":") for w in line.split())
    words = sorted(words)
    rng.shuffle(words)
    words = words[: int(0.93 * len(words))]  # the rest are out of vocabulary
    words += [w.lower() for w in words[:300:7]] + [w.upper() for w in words[:200:5]]  # case variants, later rows
    words = list(dict.fromkeys(words))
    dim = 30
    vec = {w: rng.standard_normal(dim) for w in words}
    done = set()
    for line in lines:
        if line.startswith(":"):
            relation = 3 * rng.standard_normal(dim)
            continue
        a, b, c, d = line.split()
        for x, y in ((a, b), (c, d)):
            if x in vec and y in vec and y not in done and x not in done:
                vec[y] = vec[x] + relation + 0.9 * rng.standard_normal(dim)
                done.add(y)
    return KeyedVectors(words, np.array([vec[w] for w in words], np.float32))


@pytest.mark.parametrize("restrict_vocab, case_insensitive", [(300000, True), (700, True), (300000, False)])
def test_analogies_match_gensim(restrict_vocab, case_insensitive):
    kv = structured_vocab(seed=5)
    path = datapath("questions-words.txt")
    score, sections = kv.evaluate_word_analogies(path, restrict_vocab, case_insensitive)
    g_score, g_sections = gensim_kv(kv).evaluate_word_analogies(path, restrict_vocab, case_insensitive)
    assert 0.05 < score < 0.95  # a mix of right and wrong answers, so the comparison means something
    assert score == g_score and sections == g_sections


@pytest.mark.parametrize("name", ["wordsim353.tsv", "simlex999.txt"])
@pytest.mark.parametrize("restrict_vocab, case_insensitive", [(300000, True), (500, True), (300000, False)])
def test_word_pairs_match_gensim(name, restrict_vocab, case_insensitive):
    kv = structured_vocab(seed=6)
    ours = kv.evaluate_word_pairs(datapath(name), restrict_vocab=restrict_vocab, case_insensitive=case_insensitive)
    theirs = gensim_kv(kv).evaluate_word_pairs(datapath(name), restrict_vocab=restrict_vocab,
                                               case_insensitive=case_insensitive)
    # model similarities are float32 and may differ from gensim's by an ulp
    for (r, p), (g_r, g_p) in zip(ours[:2], theirs[:2]):
        assert r == pytest.approx(g_r, abs=1e-6) and p == pytest.approx(g_p, rel=1e-5, abs=1e-300)
    assert ours[2] == pytest.approx(theirs[2])
    assert 0 < ours[2] < 100


def p_value_atol(n):
    """How far two correct p-values may lie apart when |r| is within rounding of 1.

    p = I_{1-r^2}((n-2)/2, 1/2) falls like (1-r^2)^((n-2)/2) as |r| -> 1: its
    slope there is infinite, so the last bit of r decides a tiny p. When the
    true |r| is 1 (the ranks of x and y in the same order), the exact p is 0,
    and ours is 0: r of small-integer ranks comes out exactly 1. scipy's r
    comes out 1 ulp short, 0.9999999999999999, which makes p = 1.4e-24 for
    n = 5. Neither p is wrong by more than the rounding of r allows: r summed
    over n terms is good to about n ulps, so 1-r^2 to about 4n ulps, and the
    p-values of two such computations may differ by up to the p-value of
    1-r^2 = 4n eps. That is 1.3e-22 at n = 5, 1e-57 at n = 10 and below
    1e-300 from n = 50 on, so only p-values that are rounding noise anyway get
    any slack (scipy's 1-r^2 for |r| = 1 was at most 6 ulps for n <= 300).
    """
    return max(scipy.special.betainc((n - 2) / 2, 0.5, 4 * n * np.finfo(float).eps), 1e-300)


@given(n=st.integers(3, 300), strength=st.floats(0, 20), ties=st.integers(1, 50), seed=st.integers(0, 2**32 - 1))
@example(n=5, strength=1.0, ties=5, seed=89)  # Spearman r is exactly 1: ours p = 0, scipy's 1.4e-24
@settings(max_examples=200, deadline=None, derandomize=os.environ.get("CI") == "true")
def test_statistics_match_scipy(n, strength, ties, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, ties, n).astype(float)
    y = strength * x + rng.standard_normal(n)
    np.testing.assert_array_equal(_rankdata(y), scipy.stats.rankdata(y))
    np.testing.assert_array_equal(_rankdata(x), scipy.stats.rankdata(x))
    if np.ptp(x) == 0:
        assert np.isnan(_pearson(x, y)[0])
        return
    atol = p_value_atol(n)
    r, p = _pearson(x, y)
    ref = scipy.stats.pearsonr(x, y)
    assert r == pytest.approx(ref[0], rel=1e-9, abs=1e-12)
    assert p == pytest.approx(ref[1], rel=1e-6, abs=atol)
    r, p = _pearson(_rankdata(x), _rankdata(y))
    ref = scipy.stats.spearmanr(x, y)
    assert r == pytest.approx(ref[0], rel=1e-9, abs=1e-12)
    assert p == pytest.approx(ref[1], rel=1e-6, abs=atol)


def test_p_value_is_zero_when_r_is_one():
    """t = r sqrt((n-2)/(1-r^2)) is infinite, so P(|T| >= t) is exactly 0."""
    x = np.array([4.0, 2, 1, 3, 0])
    assert _pearson(x, 3 * x + 1) == (1.0, 0.0)
    assert _pearson(x, -x) == (-1.0, 0.0)
