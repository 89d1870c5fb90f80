"""Decayed counts (count_half_life): the weights against their definition, the
rebase, the saved state, and what a drift does to the model's tables."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from stream_w2v.model import StreamingWord2Vec
from stream_w2v.recent_counts import RecentCounts

batches = st.lists(st.lists(st.integers(-1, 7), max_size=12), min_size=1, max_size=40)


@settings(max_examples=60)
@given(batches, st.sampled_from([0.5, 3.0, 50.0]), st.lists(st.integers(0, 6), min_size=8, max_size=8))
def test_weights_follow_their_definition(batches_, half_life, promote):
    """Every occurrence in a batch starting at stream position p weighs
    2^-(now - p) / H. Row r exists from batch ``promote[r]`` on (sorted); a
    word promoted in a batch brings its count so far (one occurrence before
    plus its hits in the batch), all weighed as of that batch. H = 0.5 word
    over up to 480 words passes REBASE_AT (256 half-lives), so the rebase is
    exercised. Tolerance: each count is a sum of at most 480 float64 products,
    rebased at most twice: relative error far below 1e-10; absolute 1e-10 of
    the largest count (weights far below it may underflow)."""
    rows_at = np.array(sorted(promote))
    rc, lifetime, position = RecentCounts(half_life), np.zeros(8, np.int64), 0
    events = []   # (row, stream position of its batch's start)
    for b, raw in enumerate(batches_):
        rows = int(np.sum(rows_at <= b))
        ids = np.array([i if 0 <= i < rows else -1 for i in raw], dtype=np.int32)
        lifetime[rc.rows:rows] = 1          # seen once before its promotion
        np.add.at(lifetime, ids[ids >= 0], 1)
        events += [(r, position) for r in range(rc.rows, rows)]
        events += [(i, position) for i in ids[ids >= 0].tolist()]
        rc.add(ids, lifetime[:rows], len(ids))
        position += len(ids)
    expected = np.zeros(rc.rows)
    for row, at in events:
        expected[row] += 2.0 ** (-(position - at) / half_life)
    got = rc.counts(rc.rows)
    scale = max(float(expected.max(initial=0)), 1e-300)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10 * scale)


def test_state_round_trip_continues_exactly():
    rng = np.random.default_rng(1)
    a = RecentCounts(5.0)
    lifetime = np.zeros(20, np.int64)
    for _ in range(200):  # 200 batches of 10 words at H = 5: rebased (256 half-lives = 1280 words)
        ids = rng.integers(-1, 20, size=10).astype(np.int32)
        np.add.at(lifetime, ids[ids >= 0], 1)
        a.add(ids, lifetime, 10)
        if _ == 99:
            b = RecentCounts.from_state(a.state(), 5.0, 20)
        elif _ > 99:
            b.add(ids, lifetime, 10)
    assert a.origin > 0
    np.testing.assert_array_equal(a.counts(20), b.counts(20))


@pytest.mark.parametrize("change, match", [
    (dict(half_life=6.0), "half-life"), (dict(origin=-1), "origin"), (dict(position=True), "position"),
    (dict(origin=200, position=100), "disagree"), (dict(origin=0, position=10**9), "disagree"),
    (dict(scaled=np.full(20, np.nan)), "finite"), (dict(scaled=np.ones(3)), "3 values for 20"),
    (dict(scaled=-np.ones(20)), "finite")])
def test_bad_states_are_refused(change, match):
    a = RecentCounts(5.0)
    a.add(np.arange(20, dtype=np.int32), np.ones(20, np.int64), 20)
    state = dict(a.state(), **change)
    with pytest.raises(ValueError, match=match):
        RecentCounts.from_state(state, 5.0, 20)


def test_after_a_drift_the_tables_follow_the_recent_stream():
    """Four words for 40k words, then four others for 40k (10 half-lives of
    4000): with decayed counts the old words are no longer subsampled (their
    recent frequency is ~2^-10 of what it was) and are almost never drawn as
    noise; with lifetime counts (the default, word2vec.c's) they still are."""
    old, new = ["a", "b", "c", "d"], ["w", "x", "y", "z"]
    docs = [old * 5] * 2000 + [new * 5] * 2000
    models = {}
    for half_life in (None, 4000.0):
        m = StreamingWord2Vec(vector_size=8, min_count=1, workers=1, sample=1e-3, count_half_life=half_life)
        m.train(docs)
        keep = m._keep.view.reshape(-1)
        models[half_life] = (keep, m._table_counts(8)[0])
    keep, counts = models[None]
    assert keep[:4].max() < 0.2 and np.allclose(counts[:4], counts[4:])
    keep, counts = models[4000.0]
    assert keep[:4].min() == 1.0 and keep[4:].max() < 0.2
    assert counts[:4].max() < 2.0 ** -9 * counts[4:].min()
