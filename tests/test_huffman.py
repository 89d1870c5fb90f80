"""Huffman trees: prefix code, optimality, edge cases, grafting and carrying syn1 over."""
import heapq
import math
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, strategies as st

from stream_w2v import _native, model as model_mod
from stream_w2v.matrices import FrontRows
from stream_w2v.huffman import (HuffmanTree, build_huffman, carry_over, expected_code_length,
                                extend_huffman)
from stream_w2v.model import StreamingWord2Vec
from stream_w2v.oracle import hs_loss, hs_terms
from stream_w2v.tokenize import TokenBatch, batches

COUNTS = st.lists(st.integers(1, 10_000), min_size=1, max_size=60)


def code_strings(tree: HuffmanTree) -> list[str]:
    return ["".join(map(str, tree.codes[w, :tree.code_lens[w]])) for w in range(tree.words)]


def reference_cost(counts) -> int:
    """Cost of an optimal prefix code, independently: the sum of the weights of
    all merges of Huffman's algorithm (each merge adds one bit to every word
    below it), on bare weights, no tree, no ids."""
    heap = [int(c) for c in counts]
    heapq.heapify(heap)
    cost = 0
    while len(heap) > 1:
        merged = heapq.heappop(heap) + heapq.heappop(heap)
        cost += merged
        heapq.heappush(heap, merged)
    return cost


def check_tree(tree: HuffmanTree):
    """A full binary prefix code whose points/codes follow the children table."""
    n = tree.words
    codes = code_strings(tree)
    if n == 1:
        assert codes == [""]
        return
    assert len(set(codes)) == n
    ordered = sorted(codes)
    assert not any(b.startswith(a) for a, b in zip(ordered, ordered[1:])), "not a prefix code"
    depth = int(tree.code_lens.max())
    assert sum(1 << (depth - int(L)) for L in tree.code_lens) == 1 << depth, "Kraft sum != 1"
    # Children before parents, and each path walks the children table down to its leaf.
    for k, (a, b) in enumerate(tree.children.tolist()):
        assert a < n + k and b < n + k
    parents = set(tree.children.ravel().tolist())
    (root,) = set(range(n, 2 * n - 1)) - parents
    for w in range(n):
        node = root
        for d in range(tree.code_lens[w]):
            assert tree.points[w, d] == node - n
            node = int(tree.children[node - n, tree.codes[w, d]])
        assert node == w


@given(COUNTS)
def test_prefix_code_kraft_and_optimal(counts):
    tree = build_huffman(counts)
    check_tree(tree)
    assert int(np.dot(counts, tree.code_lens)) == reference_cost(counts)


@given(COUNTS)
def test_deterministic(counts):
    a, b = build_huffman(counts), build_huffman(list(counts))
    assert all(np.array_equal(getattr(a, f), getattr(b, f)) for f in ("points", "codes", "code_lens", "children"))


def heap_children(counts) -> np.ndarray:
    """The merges as a heap keyed on (count, node id) pops them: the Python build
    that the C two-queue merge replaced, kept as its reference."""
    n = len(counts)
    heap = [(int(c), i) for i, c in enumerate(counts)]
    heapq.heapify(heap)
    children = np.zeros((max(n - 1, 0), 2), dtype=np.int32)
    for k in range(n - 1):
        c0, a = heapq.heappop(heap)
        c1, b = heapq.heappop(heap)
        children[k] = (a, b)
        heapq.heappush(heap, (c0 + c1, n + k))
    return children


# Few distinct values (ties between leaves, and between leaves and merged
# nodes), zeros, and wide ranges.
TIED_COUNTS = st.one_of(st.lists(st.integers(0, 4), min_size=1, max_size=80),
                        st.lists(st.sampled_from([1, 2, 3, 5, 8, 16]), min_size=1, max_size=80),
                        st.lists(st.integers(0, 2**40), min_size=1, max_size=80))


@given(st.one_of(COUNTS, TIED_COUNTS))
def test_c_merges_equal_the_heap_build(counts):
    children = _native.huffman_children(counts)
    assert children.dtype == np.int32
    assert np.array_equal(children, heap_children(counts))
    assert np.array_equal(build_huffman(counts).children, children)


def test_c_merges_on_a_large_zipf_vocabulary():
    counts = (1e7 / np.arange(1, 20001) ** 1.1).astype(np.int64)
    counts = np.random.default_rng(0).permutation(counts)     # ties, out of order
    assert np.array_equal(_native.huffman_children(counts), heap_children(counts.tolist()))


def test_c_merges_refuse_bad_counts():
    with pytest.raises(ValueError):
        _native.huffman_children([3, -1])
    with pytest.raises(TypeError):
        _native.huffman_children([1.5, 2.0])
    with pytest.raises(ValueError):
        _native.huffman_children([[1, 2]])
    with pytest.raises(ValueError):
        _native.huffman_children([2**62, 2**62])             # the root's count overflows int64
    assert _native.huffman_children([2**62, 2**62 - 1]).tolist() == [[1, 0]]


def numpy_paths(children, n):
    """Root-first paths walking up all leaves at once: the NumPy version that the
    C paths replaced, kept as their reference."""
    parent = np.full(2 * n - 1, -1, dtype=np.int64)
    bit = np.zeros(2 * n - 1, dtype=np.uint8)
    inner = np.arange(n, 2 * n - 1)
    parent[children[:, 0]], parent[children[:, 1]] = inner, inner
    bit[children[:, 1]] = 1
    up_points, up_codes = [], []
    node = np.arange(n)
    depth = np.zeros(n, dtype=np.int32)
    while True:
        live = parent[node] >= 0
        if not live.any():
            break
        up_points.append(np.where(live, parent[node] - n, -1))
        up_codes.append(np.where(live, bit[node], 0))
        depth += live
        node = np.where(live, parent[node], node)
    width = max(len(up_points), 1)
    points = np.zeros((n, width), dtype=np.int32)
    codes = np.zeros((n, width), dtype=np.uint8)
    for s, (p, c) in enumerate(zip(up_points, up_codes)):
        rows = np.nonzero(depth > s)[0]
        col = depth[rows] - 1 - s
        points[rows, col] = p[rows]
        codes[rows, col] = c[rows]
    return points, codes, depth


@given(st.one_of(COUNTS, TIED_COUNTS), st.data())
def test_c_paths_equal_the_numpy_walk(counts, data):
    trees = [build_huffman(counts)]
    extra = data.draw(st.lists(st.integers(0, 50), max_size=len(counts)))
    if extra:
        trees.append(extend_huffman(trees[0], list(counts) + extra)[0])   # numbered otherwise
    for tree in trees:
        want = numpy_paths(tree.children, tree.words)
        got = _native.huffman_paths(tree.children)
        for w, g, name in zip(want, got, ("points", "codes", "code_lens")):
            assert g.dtype == w.dtype and np.array_equal(g, w), name


def test_c_paths_refuse_what_is_not_a_tree():
    with pytest.raises(ValueError):
        _native.huffman_paths([[0, 1], [2, 2]])        # node 2 twice, node 1 ... once
    with pytest.raises(ValueError):
        _native.huffman_paths([[0, 3], [1, 2]])        # row 0 joins node 3, created after it
    with pytest.raises(ValueError):
        _native.huffman_paths([[0, 1, 2]])
    with pytest.raises(ValueError):
        _native.huffman_paths([[0, 5]])                # beyond the 2n - 1 nodes
    points, codes, lens = _native.huffman_paths(np.zeros((0, 2), np.int32))
    assert points.shape == (1, 1) and lens.tolist() == [0]


def test_one_and_two_words():
    one = build_huffman([7])
    assert one.words == 1 and one.code_lens.tolist() == [0] and one.children.shape == (0, 2)
    two = build_huffman([5, 3])
    assert two.code_lens.tolist() == [1, 1] and two.points[:, 0].tolist() == [0, 0]
    assert two.codes[:, 0].tolist() == [1, 0]          # the lighter word takes bit 0
    assert build_huffman([4, 4]).codes[:, 0].tolist() == [0, 1]   # tie: lower id first
    with pytest.raises(ValueError):
        build_huffman([])
    # HuffmanTables and the kernels accept both (V=1: no inner node, nothing to train).
    for tree in (one, two):
        _native.HuffmanTables(tree.points, tree.codes, tree.code_lens)


@given(COUNTS, st.data())
def test_carry_over_identical_tree_is_exact(counts, data):
    tree = build_huffman(counts)
    syn1 = np.random.default_rng(len(counts)).standard_normal((max(len(counts) - 1, 0), 4)).astype(np.float32)
    again = build_huffman(list(counts))
    use_counts = data.draw(st.booleans())
    assert np.array_equal(carry_over(tree, again, syn1, counts if use_counts else None), syn1)


def test_carry_over_negates_a_flipped_decision():
    old, new = build_huffman([1, 2]), build_huffman([2, 1])       # word 0 goes left, then right
    syn1 = np.array([[0.5, -1.0, 2.0]], np.float32)
    assert np.array_equal(carry_over(old, new, syn1, [2, 1]), -syn1)


def test_carry_over_keeps_word_probabilities_of_a_mirrored_tree():
    """The same tree with every node's children swapped (a pure relabelling):
    carried over, every word keeps exactly its HS loss."""
    counts = np.random.default_rng(1).integers(1, 50, 30)
    tree = build_huffman(counts)
    mirror_children = tree.children[:, ::-1].copy()
    from stream_w2v.huffman import _paths
    mirror = _paths(mirror_children, tree.words)
    rng = np.random.default_rng(2)
    syn1 = rng.standard_normal((29, 5)).astype(np.float32)
    carried = carry_over(tree, mirror, syn1, counts)
    h = rng.standard_normal(5)
    for w in range(30):
        a = hs_loss(syn1.astype(np.float64), h, hs_terms(w, tree.points, tree.codes, tree.code_lens))
        b = hs_loss(carried.astype(np.float64), h, hs_terms(w, mirror.points, mirror.codes, mirror.code_lens))
        assert a == pytest.approx(b, rel=1e-12)


@given(st.lists(st.integers(1, 1000), min_size=1, max_size=40), st.data())
def test_extend_keeps_every_old_path(old_counts, data):
    m = data.draw(st.integers(1, len(old_counts)))
    new_counts = data.draw(st.lists(st.integers(1, 1000), min_size=m, max_size=m))
    counts = np.array(old_counts + new_counts)
    old = build_huffman(old_counts)
    tree, rows = extend_huffman(old, counts)
    check_tree(tree)
    n_old = len(old_counts)
    assert tree.words == n_old + m and len(rows) == tree.words - 1
    assert sorted(rows[rows >= 0].tolist()) == list(range(n_old - 1))   # every old node kept once
    hosts = []
    for w in range(n_old):
        L_old, L_new = old.code_lens[w], tree.code_lens[w]
        # Same bits through the same (renumbered) inner nodes...
        assert np.array_equal(tree.codes[w, :L_old], old.codes[w, :L_old])
        assert np.array_equal(rows[tree.points[w, :L_old]], old.points[w, :L_old])
        # ... and at most one new (zero) node at the end: the graft.
        assert L_new in (L_old, L_old + 1)
        if L_new == L_old + 1:
            assert rows[tree.points[w, L_old]] == -1
            hosts.append(w)
    assert len(hosts) == m
    # Each graft joins a host and one new word; the lighter takes bit 0 (ties: the host).
    for w in hosts:
        node = tree.points[w, tree.code_lens[w] - 1]
        (partner,) = [v for v in range(n_old, n_old + m)
                      if tree.points[v, tree.code_lens[v] - 1] == node]
        assert tree.code_lens[partner] == tree.code_lens[w]
        assert tree.codes[w, tree.code_lens[w] - 1] == (0 if counts[w] <= counts[partner] else 1)
    # The hosts are the m rarest old words.
    assert sorted(np.asarray(old_counts)[hosts].tolist()) == sorted(old_counts)[:m]


def test_extend_refuses_more_new_words_than_leaves():
    assert extend_huffman(build_huffman([3, 4]), [3, 4, 1, 1, 1]) is None
    assert extend_huffman(build_huffman([3, 4]), [3, 4]) is None


def test_extend_costs_little_code_length():
    """New words arrive rare (just promoted): grafted next to the rarest leaves
    they sit where Huffman would put them, one level deeper at most; every new
    word and every host pays at most 1 bit, weighted by their (small) counts."""
    rng = np.random.default_rng(0)
    old = (1e5 / np.arange(1, 1001) ** 1.07).astype(np.int64) + 5
    counts = np.concatenate([old, rng.integers(5, 10, 100)])
    tree, _ = extend_huffman(build_huffman(old), counts)
    best = build_huffman(counts)
    hosts_and_new = np.sort(old)[:100].sum() + counts[1000:].sum()
    bound = expected_code_length(best, counts) + 2 * hosts_and_new / counts.sum()
    assert expected_code_length(best, counts) <= expected_code_length(tree, counts) <= bound


# ---------------------------------------------------------------- the acceptance test of issue 4

def _topic_docs(n, seed, words, groups=10, length=20):
    """Documents drawn from one of `groups` disjoint word groups each, Zipf within the group."""
    rng = np.random.default_rng(seed)
    parts = [words[i::groups] for i in range(groups)]
    out = []
    for _ in range(n):
        part = parts[rng.integers(groups)]
        p = 1.0 / np.arange(1, len(part) + 1)
        out.append(list(rng.choice(part, size=length, p=p / p.sum())))
    return out


def _frozen_hs_loss(m, docs):
    """Sum of HS loss terms of `docs` under the model, which stays frozen: the
    kernel at alpha = 0 with compute_loss (no subsampling: sample=0; the rng
    fixes the window draws, so every call sees the same examples)."""
    ids = np.array([m.vocab.key_to_index.get(t, -1) for d in docs for t in d], np.int32)
    ends = np.cumsum([len(d) for d in docs]).astype(np.int64)
    syn0, syn1 = m._syn0.view.copy(), m._syn1.view.copy()
    kernel = _native.KernelModel(m._syn0.view, m._syn1.view, None, huffman=m._huffman)
    res = kernel.train(ids, ends, sg=m.sg, hs=1, negative=0, window=m.window, alpha=0.0,
                       alpha_end=0.0, rng=12345, compute_loss=True)
    assert np.array_equal(syn0, m._syn0.view) and np.array_equal(syn1, m._syn1.view)
    return res


def _zero_syn1(old, new, counts=None):
    """As a carry_over_plan: every new inner node starts at zero."""
    return np.full(new.words - 1, -1, np.int64), np.zeros(new.words - 1, np.float32)


def _by_index(old, new, counts=None):
    """gensim's rebuild, as a carry_over_plan: old rows kept by index, new rows zero."""
    row = np.arange(new.words - 1, dtype=np.int64)
    row[old.words - 1:] = -1
    return row, np.ones(new.words - 1, np.float32)


@pytest.mark.parametrize("sg", [1, 0])
def test_hs_rebuild_keeps_the_loss_on_learned_text(sg, tmp_path):
    """Issue 4, item 2: after a rebuild the loss on already learned text does not jump.

    200 words in 10 topic groups, 3 passes of 80k tokens, then a batch that
    promotes 25 new words (12.5% growth: above TREE_GROWTH, so the tree is
    rebuilt). The batch goes through the model's own per-batch step
    (``_prepare``: count, grow, rebuild) but is not trained, so only the
    rebuild moves the loss. Held-out text of the old words, per HS term
    (measured, dim 32, window 3):

                            sg=1              sg=0 (CBOW)
        before              0.3908            0.3757
        grafted (default)   0.3921            0.3772   <- only the 25 hosts' new node
        optimal + carried   0.679             0.672    (TREE_SLACK fallback)
        naive: zero syn1    0.6931 = log 2    0.6931   (word2vec.c init)
        naive: by index     0.966             0.891    (gensim: rows by index)

    Per example (one predicted word; code length 7.0): before 2.78 / 2.67 nats,
    grafted 2.80 / 2.69, naive zero syn1 4.86 / 4.86 = log(2) x code length.
    """
    old = [f"old{i}" for i in range(200)]
    new = [f"new{i}" for i in range(25)]
    # The figures above are for plain SGD (alpha 0.025); under AdaGrad the
    # grafted tree keeps the loss as well, but the carried-over optimal tree
    # (a fallback) lands just above log 2.
    m = StreamingWord2Vec(vector_size=32, window=3, min_count=5, sg=sg, hs=1, negative=0, sample=0,
                          workers=1, seed=3, batch_words=2000, lr_schedule="inverse")
    train = _topic_docs(4000, 1, old)
    for _ in range(3):
        m.train(train)
    m.save(str(tmp_path))
    held = _topic_docs(300, 2, old)
    before = _frozen_hs_loss(m, held)
    rng = np.random.default_rng(5)
    growth = [d[:15] + list(rng.choice(new, 5)) for d in _topic_docs(200, 3, old)]
    batch = TokenBatch([t for d in growth for t in d], np.cumsum([len(d) for d in growth]).tolist(), 0, len(growth))

    def rebuilt(**patches):
        model = StreamingWord2Vec.load(str(tmp_path))
        tree_words = model._tree_words
        with mock.patch.multiple(model_mod, **patches):
            model._prepare(batch, model._schedule(), 0)
        assert tree_words == 200 and model._tree_words == 225
        return _frozen_hs_loss(model, held)

    grafted = rebuilt(TREE_SLACK=model_mod.TREE_SLACK)       # the default
    carried = rebuilt(TREE_SLACK=0.0)                       # force the optimal tree
    zero = rebuilt(TREE_SLACK=0.0, carry_over_plan=_zero_syn1)
    by_index = rebuilt(TREE_SLACK=0.0, carry_over_plan=_by_index)
    per_term = {name: r.loss / r.terms for name, r in
                dict(before=before, grafted=grafted, carried=carried, zero=zero, by_index=by_index).items()}
    print("HS loss per term:", {k: round(v, 4) for k, v in per_term.items()})

    # The model learned something worth keeping: at least a quarter of the
    # chance-level loss (log 2 per term) is gone (measured: 44-46%).
    assert per_term["before"] < 0.75 * math.log(2)
    # Grafting: every old node keeps its vector; each example of a host word
    # gets exactly one more term, at a zero node: log(2) each, nothing else
    # changes. Exact up to float64 summation order (1e-9 relative).
    extra = grafted.terms - before.terms
    assert grafted.examples == before.examples and 0 < extra < 0.05 * before.terms
    assert grafted.loss == pytest.approx(before.loss + extra * math.log(2), rel=1e-9)
    # Naive rebuild: every term at sigma(0): log(2) per term, log(2) x code
    # length per word (float32 sigmoid/log of 0: 1e-6 relative), so with the
    # bound above it jumps by at least a third of its per-term loss.
    assert zero.loss == pytest.approx(zero.terms * math.log(2), rel=1e-6)
    # gensim's rows-by-index are confidently wrong: worse than knowing nothing.
    assert per_term["by_index"] > math.log(2)
    # The fallback to the optimal tree loses what was learned (that is why
    # grafting comes first) but is not worse than the naive rebuild.
    assert per_term["carried"] <= math.log(2)


class _BusyPool:
    """Stands in for the worker pool: batches submitted before are still running
    until ``done`` (drain and wait are not expected: the rebuild must not wait)."""

    submitted, done = 7, False

    def finished_before(self, seq):
        return self.done

    def drain(self):
        raise AssertionError("the tree rebuild drained the workers")

    wait = drain


def _model_and_new_words(lr_schedule):
    """A trained 60-word HS model, and a batch that promotes 20 new words (a rebuild)."""
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(60)]
    docs = [" ".join(rng.choice(words, 12)) for _ in range(300)]
    m = StreamingWord2Vec(vector_size=8, window=2, min_count=2, sg=1, hs=1, negative=0, sample=0,
                          workers=1, seed=1, batch_words=10**6, lr_schedule=lr_schedule)
    m.train(docs)
    new = " ".join(f"n{i}" for i in range(20))
    (batch,) = batches([new, new] + docs[:50], 10**6)
    return m, batch, rng


def _squeeze_capacity(m):
    """Leave syn1 (and its accumulators) no room in front: the next graft must move the rows."""
    for name in ("_syn1", "_acc1"):
        rows = getattr(m, name)
        if rows is not None:
            tight = FrontRows(rows.dim, capacity=rows.rows, fill=rows.fill)
            tight.replace(rows.view)
            setattr(m, name, tight)


@pytest.mark.parametrize("lr_schedule", ["adagrad", "inverse"])
@pytest.mark.parametrize("why", ["carry_over", "capacity"])
def test_rebuild_with_batches_in_flight_merges_their_changes_when_they_end(lr_schedule, why, monkeypatch):
    """A rebuild that moves the rows (a switch to the optimal tree, or a graft
    beyond the buffer's capacity) while batches are queued moves them from a
    snapshot, and what those batches write into the old rows afterwards
    reaches the new rows (through the same row map) once they have all run,
    not before."""
    m, batch, rng = _model_and_new_words(lr_schedule)
    if why == "carry_over":
        monkeypatch.setattr(model_mod, "TREE_SLACK", 0.0)
    else:
        _squeeze_capacity(m)
    tree_words = m._tree_words
    m._pool = pool = _BusyPool()
    m._prepare(batch, m._schedule(), 0)
    assert m._tree_words == tree_words + 20 and m._syn1_merge is not None
    assert (m._syn1_merge[4] is None) == (why == "capacity")   # grafted: no factor
    _, old, base, source, factor, old_acc, base_acc, _ = m._syn1_merge
    bump = rng.normal(size=old.shape).astype(np.float32)
    old += bump                                      # what the queued batches still write
    kept = source >= 0
    want = m._syn1.view.copy()
    want[kept] += bump[source[kept]] * (1.0 if factor is None else factor[kept][:, None])
    before = m._syn1.view.copy()
    m._merge_syn1()
    assert np.array_equal(m._syn1.view, before)      # they have not all run yet
    pool.done = True
    m._merge_syn1()
    assert m._syn1_merge is None
    np.testing.assert_allclose(m._syn1.view, want, rtol=1e-6, atol=1e-6)
    m._pool = None


@pytest.mark.parametrize("lr_schedule", ["adagrad", "inverse"])
def test_graft_while_a_merge_is_pending_shifts_where_it_lands(lr_schedule):
    """A graft in place after a move whose batches are still queued: the
    merge, when they are done, adds their changes to the moved rows where
    they are now (as many rows further on as the graft prepended)."""
    m, batch, rng = _model_and_new_words(lr_schedule)
    _squeeze_capacity(m)
    m._pool = pool = _BusyPool()
    m._prepare(batch, m._schedule(), 0)                  # a move: its merge waits
    merge = m._syn1_merge
    old, source, old_acc = merge[1], merge[3], merge[5]
    more = " ".join(f"p{i}" for i in range(10))
    (batch,) = batches([more, more], 10**6)
    moved_rows = m._syn1.rows
    m._prepare(batch, m._schedule(), 0)                  # a graft in place (a move would drain)
    shift = m._syn1.rows - moved_rows
    assert shift > 0 and m._syn1_merge is merge
    bump = rng.normal(size=old.shape).astype(np.float32)
    old += bump                                          # what the queued batches still write
    kept = np.flatnonzero(source >= 0)
    want = m._syn1.view.copy()
    want[kept + shift] += bump[source[kept]]
    if old_acc is not None:
        old_acc += 1.0
        want_acc = m._acc1.view.copy()
        want_acc[kept + shift] += 1.0
    pool.done = True
    m._merge_syn1()
    m._pool = None
    np.testing.assert_allclose(m._syn1.view, want, rtol=1e-6, atol=1e-6)
    if old_acc is not None:
        np.testing.assert_allclose(m._acc1.view, want_acc, rtol=1e-6)


@pytest.mark.parametrize("lr_schedule", ["adagrad", "inverse"])
def test_graft_with_batches_in_flight_moves_no_row(lr_schedule):
    """A grafted rebuild inside the capacity prepends the new inner nodes'
    rows: every old row keeps its memory (m rows further on), so what a
    batch still queued on the old tree writes is what the new tree reads,
    with nothing to snapshot or merge."""
    m, batch, rng = _model_and_new_words(lr_schedule)
    old_view, old_rows = m._syn1.view, m._syn1.rows
    old_acc = None if m._acc1 is None else m._acc1.view
    before = old_view.copy()
    m._pool = _BusyPool()
    m._prepare(batch, m._schedule(), 0)
    m._pool = None
    grafted = m._syn1.rows - old_rows
    assert grafted > 0 and m._syn1_merge is None
    assert np.array_equal(m._syn1.view[grafted:], before)           # old rows as they were
    assert not m._syn1.view[:grafted].any()                          # new rows start at zero
    bump = rng.normal(size=old_view.shape).astype(np.float32)
    old_view += bump                                                 # a queued batch writes
    np.testing.assert_array_equal(m._syn1.view[grafted:], before + bump)
    if old_acc is not None:
        assert np.all(m._acc1.view[:grafted] == m.adagrad_init)
        assert np.shares_memory(m._acc1.view, old_acc)
