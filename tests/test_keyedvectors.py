"""KeyedVectors: word2vec formats (against gensim), queries and evaluations
(against gensim on the same vectors), reader fuzzing, and queries racing a
trainer that swaps in bigger arrays."""
import os
import tempfile
import threading
import tracemalloc

import gensim
import numpy as np
import pytest
import scipy.stats
from gensim.test.utils import datapath
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stream_w2v.keyedvectors import MAX_DIM, KeyedVectors, _pearson, _rankdata

FUZZ = settings(max_examples=300, deadline=2000, derandomize=os.environ.get("CI") == "true",
                suppress_health_check=[HealthCheck.too_slow])


def make_kv(n=50, dim=8, seed=0, counts=True):
    rng = np.random.default_rng(seed)
    keys = [f"w{i}" for i in range(n)] + ["ünï", "x\ty", "</s>"]
    vectors = rng.standard_normal((len(keys), dim)).astype(np.float32)
    c = rng.integers(1, 10, len(keys)) if counts else None  # few values: many ties
    return KeyedVectors(keys, vectors, c)


def gensim_kv(kv):
    g = gensim.models.KeyedVectors(kv.vector_size)
    g.add_vectors(list(kv.index_to_key), kv.vectors.copy())
    return g


def count_order(kv):
    return np.argsort(-np.asarray([kv.get_vecattr(k, "count") for k in kv.index_to_key]), kind="stable")


def write_bytes(data):
    fd, path = tempfile.mkstemp(suffix=".w2v")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return path


def load_bytes(data, **kw):
    path = write_bytes(data)
    try:
        return KeyedVectors.load_word2vec_format(path, **kw)
    finally:
        os.unlink(path)


# -- basics --------------------------------------------------------------------------


def test_gensim_style_access():
    kv = make_kv()
    assert len(kv) == 53 and "w3" in kv and "nope" not in kv and kv.vector_size == 8
    assert kv.key_to_index["w3"] == 3 == kv.get_index("w3") and kv.index_to_key[3] == "w3"
    np.testing.assert_array_equal(kv["w3"], kv.vectors[3])
    np.testing.assert_array_equal(kv[["w1", "w3"]], kv.vectors[[1, 3]])
    np.testing.assert_allclose(np.linalg.norm(kv.get_vector("w3", norm=True)), 1.0, rtol=1e-6)
    assert kv.get_vecattr("w3", "count") >= 1
    with pytest.raises(KeyError):
        kv["nope"]
    with pytest.raises(KeyError):
        kv.get_vecattr("w3", "nope")
    with pytest.raises(ValueError):
        KeyedVectors(["a", "a"], np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError):
        KeyedVectors(["a"], np.zeros((2, 3), np.float32))


def test_norms_cache_follows_replacement():
    kv = make_kv()
    first = kv.norms
    assert kv.norms is first  # cached
    kv.vectors[0] *= 2  # an in-place training update...
    kv._vectors_changed()  # ...published by the trainer
    second = kv.norms
    assert second is not first and second[0] == pytest.approx(2 * first[0]) and kv.norms is second
    kv.fill_norms(force=True)
    assert kv.norms is not second
    kv._replace(["a", "b"], np.array([[3, 4], [0, 0]], np.float32), [1, 2])
    assert list(kv.norms) == [5.0, 1.0]  # zero row: norm 1, cosine 0, no NaN
    assert kv.most_similar("a") == [("b", 0.0)]


# -- word2vec formats ---------------------------------------------------------------


@pytest.mark.parametrize("binary", [False, True])
def test_round_trip_in_count_order(tmp_path, binary):
    kv = make_kv()
    path = tmp_path / "v.w2v"
    kv.save_word2vec_format(path, binary=binary)
    back = KeyedVectors.load_word2vec_format(path, binary=binary)
    order = count_order(kv)
    assert back.index_to_key == [kv.index_to_key[i] for i in order]
    np.testing.assert_array_equal(back.vectors, kv.vectors[order])
    assert [back.get_vecattr(k, "count") for k in back.index_to_key] == list(range(len(kv), 0, -1))
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
    back2 = KeyedVectors.load_word2vec_format(path, binary=binary, limit=5)
    assert back2.index_to_key == back.index_to_key[:5]


def test_binary_layout_is_word2vec_c(tmp_path):
    kv = KeyedVectors(["a", "bb"], np.array([[1, 2], [3, 4]], np.float32), [1, 5])
    kv.save_word2vec_format(tmp_path / "v.bin", binary=True)
    f32 = np.array([3, 4, 1, 2], "<f4").tobytes()
    assert (tmp_path / "v.bin").read_bytes() == b"2 2\nbb " + f32[:8] + b"\na " + f32[8:] + b"\n"
    kv.save_word2vec_format(tmp_path / "v.txt", sort_by_count=False)
    assert (tmp_path / "v.txt").read_text() == "2 2\na 1 2\nbb 3 4\n"


@pytest.mark.parametrize("binary", [False, True])
def test_gensim_reads_our_files(tmp_path, binary):
    kv = make_kv(n=300, dim=17)
    kv.save_word2vec_format(tmp_path / "v", binary=binary)
    g = gensim.models.KeyedVectors.load_word2vec_format(tmp_path / "v", binary=binary)
    order = count_order(kv)
    assert g.index_to_key == [kv.index_to_key[i] for i in order]
    np.testing.assert_array_equal(g.vectors, kv.vectors[order])


@pytest.mark.parametrize("binary", [False, True])
def test_we_read_gensim_files(tmp_path, binary):
    kv = make_kv(n=300, dim=17, seed=1)
    g = gensim_kv(kv)
    g.save_word2vec_format(str(tmp_path / "v"), binary=binary)  # index order: it has no counts
    back = KeyedVectors.load_word2vec_format(tmp_path / "v", binary=binary)
    assert back.index_to_key == g.index_to_key
    np.testing.assert_array_equal(back.vectors, g.vectors)


def test_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "v.txt"
    path.write_text("old")
    with pytest.raises(ValueError):
        KeyedVectors(["a b"], np.ones((1, 2), np.float32)).save_word2vec_format(path)

    def broken_fsync(fd):
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError):
        make_kv().save_word2vec_format(path)
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["v.txt"]


def test_reader_details():
    f32 = np.array([1, 2], "<f4").tobytes()
    kv = load_bytes(b"3 2\na " + f32 + b"\na " + f32[::-1] + b"b " + f32, binary=True)
    assert kv.index_to_key == ["a", "b"]  # repeated word: first vector kept, like gensim
    np.testing.assert_array_equal(kv["a"], [1, 2])
    kv = load_bytes(b"1 2\r\n\xff 1.5 -2e3 \r\n", unicode_errors="replace")
    assert kv.index_to_key == ["\ufffd"] and list(kv["\ufffd"]) == [1.5, -2000.0]
    assert len(load_bytes(b"0 7\n")) == 0 and load_bytes(b"0 7\n").vector_size == 7


@pytest.mark.parametrize("data, binary, message", [
    (b"", False, "line 1"),
    (b"3 4", False, "line 1"),
    (b"-1 4\n", False, "line 1"),
    (b"3 0\n", True, "dim 0"),
    (b"1 %d\nw " % (MAX_DIM + 1), True, "dim"),
    (b"1000000000000 100\nw 1\n", False, "header claims"),
    (b"1000000000000 100\n" + b"w " + bytes(400), True, "header claims"),
    (b"2 2\nw 1 2\nv 1\n", False, "line 3"),
    (b"2 2\nw 1 2\nv 1 x\n", False, "line 3"),
    (b"1 2\n\xff 1 2\n", False, "line 2"),
    (b"1 1\n\xff " + bytes(4), True, "byte offset 4"),
    (b"2 1\nab " + bytes(4) + b"\n" + b"c" * 10, True, "byte offset 11"),
    (b"1 1\n" + b"x" * (70_000) + bytes(4), True, "no space"),
])
def test_reader_rejects_malformed(data, binary, message):
    with pytest.raises(ValueError, match=message):
        load_bytes(data, binary=binary)


def test_huge_header_allocates_nothing():
    tracemalloc.start()
    try:
        for binary in (False, True):
            with pytest.raises(ValueError):
                load_bytes(b"1000000000000 10000\n" + b"a " * 1000, binary=binary)
        assert tracemalloc.get_traced_memory()[1] < 20_000_000
    finally:
        tracemalloc.stop()


@FUZZ
@given(data=st.binary(max_size=300), binary=st.booleans())
def test_fuzz_random_bytes(data, binary):
    try:
        load_bytes(data, binary=binary)
    except ValueError:
        pass


@FUZZ
@given(header=st.binary(max_size=30), binary=st.booleans())
def test_fuzz_headers(header, binary):
    kv = make_kv(n=5, dim=3)
    with tempfile.TemporaryDirectory() as d:
        kv.save_word2vec_format(os.path.join(d, "v"), binary=binary)
        body = open(os.path.join(d, "v"), "rb").read().split(b"\n", 1)[1]
    try:
        load_bytes(header + b"\n" + body, binary=binary)
    except ValueError:
        pass


@FUZZ
@given(cut=st.integers(0, 10_000), flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=3),
       binary=st.booleans())
def test_fuzz_truncated_and_corrupted(cut, flips, binary):
    kv = make_kv(n=20, dim=5)
    with tempfile.TemporaryDirectory() as d:
        kv.save_word2vec_format(os.path.join(d, "v"), binary=binary)
        good = open(os.path.join(d, "v"), "rb").read()
    data = bytearray(good[:cut % len(good)])
    if binary and len(data) < len(good) - 1:  # only the last '\n' is optional in binary
        with pytest.raises(ValueError):
            load_bytes(bytes(data), binary=True)
    for at, value in flips:
        if data:
            data[at % len(data)] = value
    try:
        load_bytes(bytes(data), binary=binary)
    except ValueError:
        pass


# -- queries against gensim -----------------------------------------------------------


def assert_same_answers(ours, theirs):
    assert [w for w, _ in ours] == [w for w, _ in theirs]
    np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], rtol=1e-5, atol=1e-6)


@pytest.mark.filterwarnings("ignore:Call to deprecated:DeprecationWarning")  # gensim's cosmul
def test_queries_match_gensim():
    kv = make_kv(n=400, dim=20, seed=3)
    g = gensim_kv(kv)
    vec = np.random.default_rng(9).standard_normal(20).astype(np.float32)
    for kwargs in [dict(positive="w1"), dict(positive=["w1", "w2"], negative=["w3"]),
                   dict(positive=["w1", ("w2", 0.5)], negative=[("w7", -2.0)], topn=25),
                   dict(positive=["w5"], restrict_vocab=100), dict(positive=[vec, "w9"], topn=3),
                   dict(negative=["w4"], positive=["w8"], topn=1000)]:
        assert_same_answers(kv.most_similar(**kwargs), g.most_similar(**kwargs))
    np.testing.assert_allclose(kv.most_similar("w1", topn=None), g.most_similar("w1", topn=None), rtol=1e-5, atol=1e-6)
    for pos, neg in [(["w1", "w2"], ["w3"]), ("w10", None), (["w11"], ["w12", "w13"])]:
        assert_same_answers(kv.most_similar_cosmul(pos, neg), g.most_similar_cosmul(pos, neg))
    assert kv.most_similar("w1", topn=0) == []
    for a, b in [("w1", "w2"), ("w5", "w5"), ("ünï", "</s>")]:
        assert kv.similarity(a, b) == pytest.approx(float(g.similarity(a, b)), abs=1e-6)
    words = ["w1", "w2", "w3", "w4", "w5"]
    kv._replace(kv.index_to_key, kv.vectors.copy(), None)
    kv.vectors[4] = -kv.vectors[1:4].sum(axis=0)
    assert kv.doesnt_match(words) == gensim_kv(kv).doesnt_match(words) == "w4"


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


@given(n=st.integers(3, 300), strength=st.floats(0, 20), ties=st.integers(1, 50), seed=st.integers(0, 2**32 - 1))
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
    r, p = _pearson(x, y)
    ref = scipy.stats.pearsonr(x, y)
    assert r == pytest.approx(ref[0], rel=1e-9, abs=1e-12)
    assert p == pytest.approx(ref[1], rel=1e-6, abs=1e-300)
    r, p = _pearson(_rankdata(x), _rankdata(y))
    ref = scipy.stats.spearmanr(x, y)
    assert r == pytest.approx(ref[0], rel=1e-9, abs=1e-12)
    assert p == pytest.approx(ref[1], rel=1e-6, abs=1e-300)


# -- queries while the trainer swaps arrays -----------------------------------------------


def test_queries_survive_concurrent_growth():
    """The trainer publishes 200 ever bigger vocabularies, each in a new random
    row order; every answer must be exactly the one of some published size."""
    rng = np.random.default_rng(11)
    dim, sizes = 16, list(range(20, 20 + 200 * 25, 25))
    master = rng.standard_normal((sizes[-1], dim)).astype(np.float32)
    keys = [f"k{i}" for i in range(sizes[-1])]
    unit = master / np.linalg.norm(master, axis=1, keepdims=True)
    expected = set()
    for size in [10] + sizes:
        sims = unit[:size] @ unit[0]
        expected.add(tuple(keys[i] for i in np.argsort(-sims)[1:6]))
    kv = KeyedVectors(keys[:10], master[:10], np.arange(10))
    answers, errors, done = [], [], threading.Event()

    def query():
        try:
            while not done.is_set():
                answers.append(kv.most_similar("k0", topn=5))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    thread = threading.Thread(target=query)
    thread.start()
    for size in sizes:
        perm = rng.permutation(size)
        kv._replace([keys[i] for i in perm], master[perm], perm.astype(np.int64))
    done.set()
    thread.join()
    assert not errors and len(answers) > 10
    for answer in answers:
        assert tuple(w for w, _ in answer) in expected
        for w, sim in answer:
            assert sim == pytest.approx(float(unit[int(w[1:])] @ unit[0]), abs=1e-5)
