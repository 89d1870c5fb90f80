"""KeyedVectors: access and norms, queries against gensim on the same
vectors, and queries racing a trainer that swaps in bigger arrays. The file
formats are tested in test_word2vec_format.py, the evaluations in
test_evaluation.py; both use the helpers here."""
import threading

import gensim
import numpy as np
import pytest

from stream_w2v.keyedvectors import KeyedVectors


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
