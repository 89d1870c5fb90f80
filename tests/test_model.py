"""StreamingWord2Vec: settings, determinism, checkpoints, concurrency, quality, bad input."""
import hashlib
import io
import json
import os
import pickle
import threading
import time

import numpy as np
import pytest

from stream_w2v import checkpoint
from stream_w2v import matrices as row_stores
from stream_w2v.checkpoint import CheckpointError
from stream_w2v.model import PARAMS, StreamingWord2Vec
from stream_w2v.schedule import Schedule

MODES = {"sg-ns": dict(sg=1, hs=0, negative=5), "sg-hs": dict(sg=1, hs=1, negative=0),
         "cbow-ns": dict(sg=0, hs=0, negative=5), "cbow-hs": dict(sg=0, hs=1, negative=0)}


def zipf_docs(n, seed, vocab=300, offset=0, length=20):
    """Zipf-distributed documents over words w{offset}..w{offset+vocab-1}."""
    rng = np.random.default_rng(seed)
    words = np.array([f"w{i + offset}" for i in range(vocab)])
    p = 1.0 / np.arange(1, vocab + 1)
    return [" ".join(rng.choice(words, size=length, p=p / p.sum())) for _ in range(n)]


def new_word_docs(n_words, start, repeat=3, per_doc=10):
    """Documents that bring in n_words fresh words, each `repeat` times (per_doc a document)."""
    words = [f"x{start + i}" for i in range(n_words)]
    return [" ".join(words[i:i + per_doc] * repeat) for i in range(0, n_words, per_doc)]


def matrices(m):
    out = {"syn0": m._syn0.view}
    if m._syn1 is not None:
        out["syn1"] = m._syn1.view
    if m._syn1neg is not None:
        out["syn1neg"] = m._syn1neg.view
    return {k: v.copy() for k, v in out.items()}


def assert_same_model(a, b):
    ma, mb = matrices(a), matrices(b)
    assert ma.keys() == mb.keys()
    for k in ma:
        assert ma[k].tobytes() == mb[k].tobytes(), k
    assert a.vocab.index_to_key == b.vocab.index_to_key
    assert a.vocab.counts[:len(a.vocab)].tolist() == b.vocab.counts[:len(b.vocab)].tolist()
    assert dict(a.vocab.candidates) == dict(b.vocab.candidates)
    assert a.counters == b.counters
    for name in ("_count0", "_count1"):   # lr_schedule="count": what the kernel reads
        ca, cb = getattr(a, name, None), getattr(b, name, None)
        assert (ca is None) == (cb is None), name
        if ca is not None:
            assert ca.view.tobytes() == cb.view.tobytes(), name


# ---------------------------------------------------------------- settings

def test_package_exports_the_documented_api():
    import stream_w2v
    assert stream_w2v.StreamingWord2Vec is StreamingWord2Vec
    assert hasattr(stream_w2v.KeyedVectors, "load_word2vec_format")


def test_constructor_only_stores_settings():
    threads = threading.active_count()
    m = StreamingWord2Vec(vector_size=8, min_count=2, workers=4)
    assert not m._state_ready and not hasattr(m, "vocab")
    assert threading.active_count() == threads
    assert m.get_params()["vector_size"] == 8 and set(m.get_params()) == set(PARAMS)
    assert m.stats["vocab_size"] == 0 and m.stats["words_seen"] == 0


@pytest.mark.parametrize("schedule,sg,kw,expected", [
    ("adagrad", 1, {}, 0.2), ("adagrad", 1, {"shared_negatives": False}, 0.1), ("adagrad", 1, {"hs": 1}, 0.1),
    ("adagrad", 0, {}, 0.2), ("adagrad_coord", 0, {}, 0.2),
    ("inverse", 1, {}, 0.025), ("inverse", 0, {}, 0.05), ("count", 0, {}, 0.05),
    ("linear", 1, {}, 0.07), ("linear", 1, {"shared_negatives": False}, 0.025), ("linear", 0, {}, 0.05)])
def test_default_alpha_per_schedule_and_mode(schedule, sg, kw, expected):
    """alpha=None is AdaGrad's measured base step (0.2; 0.1 for skip-gram per
    pair, i.e. without shared negatives or with HS) or word2vec.c's rate."""
    m = StreamingWord2Vec(vector_size=8, min_count=1, sg=sg, lr_schedule=schedule, workers=1, **kw)
    assert m.alpha == expected and m.get_params()["alpha"] == expected
    assert StreamingWord2Vec(sg=sg, lr_schedule=schedule, alpha=0.3).alpha == 0.3


@pytest.mark.parametrize("name, value", [
    ("vector_size", 0), ("vector_size", 2.0), ("vector_size", "100"), ("vector_size", True),
    ("window", 0), ("min_count", 0), ("min_count", 1.5),
    ("sg", 2), ("sg", 1.0), ("hs", -1), ("hs", 0.5), ("negative", -1), ("negative", 5.0),
    ("sample", 1.0), ("sample", -0.1), ("sample", float("nan")), ("sample", "0.001"), ("sample", None),
    ("alpha", 0), ("alpha", float("inf")), ("alpha", "0.025"), ("min_alpha", -1e-4), ("min_alpha", 0.5),
    ("workers", 0), ("workers", 2.0), ("seed", -1), ("seed", 1.5),
    ("max_vocab_size", 0), ("max_vocab_size", 10.0), ("cbow_mean", 3), ("ns_exponent", float("nan")),
    ("ns_exponent", "0.75"), ("batch_words", 0), ("compute_loss", 2), ("compute_loss", "yes"),
    ("lr_schedule", "cosine"), ("lr_horizon", 0), ("lr_horizon", -5), ("max_token_length", 0),
    ("lowercase", "no"), ("queue_size", 0), ("queue_size", None),
    ("lr_count_tau", 0), ("lr_count_tau", -3.0), ("lr_count_tau", float("nan")), ("lr_count_tau", "1000"),
    ("lr_count_tau", 1e-40), ("shared_negatives", "true"), ("shared_negatives", 2), ("count_half_life", 0),
    ("count_half_life", float("inf")), ("count_half_life", "1e6"),
    ("shared_output_scale", 0), ("shared_output_scale", -0.5), ("shared_output_scale", float("nan")),
    ("shared_output_scale", "0.5"), ("shared_output_scale", True),
])
def test_constructor_validates(name, value):
    with pytest.raises(ValueError, match=name):
        StreamingWord2Vec(**{name: value})


def test_nothing_to_train():
    with pytest.raises(ValueError, match="hs=1 or negative"):
        StreamingWord2Vec(hs=0, negative=0)


def test_numpy_settings_are_stored_as_python_values(tmp_path):
    m = StreamingWord2Vec(vector_size=np.int64(8), window=np.int32(2), min_count=np.int64(1),
                          sample=np.float32(0.001), alpha=np.float32(0.025), workers=1, sg=np.int64(1))
    assert type(m.vector_size) is int and type(m.sg) is int and type(m.alpha) is float
    m.train(["a b c a b c"])
    m.save(str(tmp_path))          # the settings go to JSON
    assert StreamingWord2Vec.load(str(tmp_path)).get_params() == m.get_params()


def test_train_arguments_are_checked():
    m = StreamingWord2Vec(vector_size=8, workers=1)
    with pytest.raises(ValueError, match="epochs"):
        m.train(["a"], epochs=0)
    with pytest.raises(ValueError, match="total_words"):
        m.train(["a"], total_words=-3)
    with pytest.raises(TypeError, match="re-iterable"):
        m.train(iter(["a"]), epochs=2)
    linear = StreamingWord2Vec(vector_size=8, workers=1, lr_schedule="linear")
    with pytest.raises(ValueError, match="total_words"):   # it would silently be constant
        linear.train(["a b"])
    linear.train(["a b"], total_words=2)


def test_linear_schedule_is_clamped_past_its_total():
    """"linear" falls from alpha to min_alpha over total_words and then holds min_alpha:
    the clamped-horizon variant (never below min_alpha, never negative)."""
    s = Schedule("linear", alpha=0.05, min_alpha=0.001, total_words=1000)
    assert s.rate(0) == 0.05 and s.rate(500) == pytest.approx(0.0255)
    assert s.rate(1000) == s.rate(1001) == s.rate(10**12) == 0.001
    m = StreamingWord2Vec(vector_size=8, min_count=1, workers=1, batch_words=100,
                          lr_schedule="linear", alpha=0.05, min_alpha=0.001)
    rates = []
    run = m._run
    m._run = lambda job: (rates.append((job.alpha0, job.alpha1)), run(job))
    docs = zipf_docs(200, 3)                      # 4000 words, the total says 1000
    m.train(docs, total_words=1000)
    assert rates[0][0] == 0.05
    flat = [r for pair in rates for r in pair]
    assert all(a >= b for a, b in zip(flat, flat[1:])) and min(flat) == 0.001
    assert all(pair == (0.001, 0.001) for pair in rates[len(rates) // 4 + 1:])


@pytest.mark.parametrize("schedule", ["adagrad", "adagrad_coord", "count", "inverse", "constant"])
def test_a_known_total_trains_as_gensim_does(schedule):
    """total_words makes a call gensim's: plain SGD, linear from start_alpha to
    end_alpha over the total, whatever the stream schedule; alpha is its start
    under the SGD schedules, word2vec's SGD rate under the per-row ones (whose
    alpha means something else). The call after it is back on the stream schedule."""
    m = StreamingWord2Vec(vector_size=8, min_count=1, workers=1, batch_words=100,
                          lr_schedule=schedule, alpha=0.3, min_alpha=0.001)
    jobs = []
    run = m._run
    m._run = lambda job: (jobs.append(job), run(job))
    m.train(zipf_docs(100, 3), epochs=2, total_words=2000)
    flat = [r for job in jobs for r in (job.alpha0, job.alpha1)]
    start = 0.3 if schedule in ("inverse", "constant") else 0.05    # shared-negative skip-gram's SGD rate
    assert flat[0] == start and flat[-1] == pytest.approx(0.001) and flat == sorted(flat, reverse=True)
    assert {job.lr_mode for job in jobs} == {"sgd"}
    jobs.clear()
    m.train(zipf_docs(10, 4), epochs=1, total_words=200, start_alpha=0.02, end_alpha=0.01)
    assert jobs[0].alpha0 == 0.02 and jobs[-1].alpha1 == pytest.approx(0.01)
    jobs.clear()
    m.train(zipf_docs(10, 5))
    stream_mode = {"adagrad": "adagrad_row", "adagrad_coord": "adagrad_coord", "count": "count"}.get(schedule, "sgd")
    assert {job.lr_mode for job in jobs} == {stream_mode}


def test_start_and_end_alpha_are_checked():
    m = StreamingWord2Vec(vector_size=8, min_count=1, workers=1)
    with pytest.raises(ValueError, match="total_words"):
        m.train(["a b"], start_alpha=0.01)             # no total: nothing to decay over
    for bad in (dict(start_alpha=0), dict(start_alpha=-1.0), dict(end_alpha=float("nan")),
                dict(start_alpha="0.1"), dict(start_alpha=0.01, end_alpha=0.02)):
        with pytest.raises(ValueError, match="alpha"):
            m.train(["a b"], total_words=2, **bad)


# ---------------------------------------------------------------- bad input

def test_bad_documents_raise_type_error():
    m = StreamingWord2Vec(vector_size=8, min_count=1, workers=1)
    with pytest.raises(TypeError, match="single string"):
        m.train("the quick brown fox")
    with pytest.raises(TypeError, match="single string"):
        m.train(b"the quick brown fox")
    with pytest.raises(TypeError, match="iterable of documents, not int"):
        m.train(42)
    with pytest.raises(TypeError, match="token of type int"):
        m.train([["ok", 7]])
    with pytest.raises(TypeError, match="token of type bytes"):
        m.train([[b"raw"]])
    with pytest.raises(TypeError, match="not NoneType"):
        m.train([None])
    with pytest.raises(TypeError, match="not float"):
        m.train([3.5])
    # Strings, bytes (decoded, invalid UTF-8 replaced) and token lists are documents.
    m.train(["a b", b"a \xff b", ("a", "b"), iter(["a", "b"])])
    assert m.stats["words_seen"] == 9 and {"a", "b"} <= set(m.wv.index_to_key)


def test_over_long_token_is_skipped_and_counted():
    m = StreamingWord2Vec(vector_size=8, min_count=1, workers=1, max_token_length=5)
    m.train(["short toolongtoken x", ["ok", "y" * 6, "z" * 5]])
    s = m.stats
    assert s["words_skipped"] == 2
    assert s["words_seen"] == 4
    assert "toolongtoken" not in m.wv and "toolongtoken" not in m.vocab.candidates
    assert set(m.wv.index_to_key) == {"short", "x", "ok", "zzzzz"}


# ---------------------------------------------------------------- growth and queries

def test_words_become_queryable_at_min_count():
    m = StreamingWord2Vec(vector_size=8, min_count=3, workers=1, sample=0)
    m.train([["x", "y"], ["x", "y"]])
    assert "x" not in m.wv and len(m.wv) == 0
    with pytest.raises(KeyError):
        m.wv["x"]
    m.train([["x", "z"]])
    assert "x" in m.wv and "y" not in m.wv and len(m.wv) == 1
    assert m.wv["x"].shape == (8,) and m.wv.get_vecattr("x", "count") == 3
    assert m.stats["vocab_size"] == 1 and m.stats["candidates"] == 2


def test_words_promoted_in_a_batch_are_trained_in_it():
    """Both words reach min_count in the first (only) batch: their rows are
    created and trained by it (they differ from the deterministic init)."""
    m = StreamingWord2Vec(vector_size=8, window=2, min_count=3, workers=1, seed=5, sample=0,
                          negative=3, alpha=0.1)
    m.train([["p", "q"] * 10])
    init = (np.random.default_rng((5, 0)).random((2, 8), dtype=np.float32) - 0.5) / 8
    assert m.wv.index_to_key == ["p", "q"]
    assert not np.array_equal(m.wv.vectors, init)
    assert m.stats["words_trained"] == 20


# ---------------------------------------------------------------- determinism and checkpoints

SCHEDULED = [(mode, "inverse") for mode in list(MODES) + ["cbow-hs-ns"]] + [
    ("sg-ns", "adagrad"), ("cbow-hs-ns", "adagrad"), ("sg-hs", "adagrad_coord"), ("cbow-ns", "adagrad_coord"),
    ("sg-ns", "count"), ("cbow-hs-ns", "count")]
# Decayed counts for the tables (count_half_life: a few half-lives within the
# test) and skip-gram's shared negatives.
OPTIONS = [("sg-ns", "adagrad", {"count_half_life": 2000.0}), ("cbow-hs-ns", "inverse", {"count_half_life": 2000.0}),
           ("sg-ns", "adagrad", {"shared_negatives": True}), ("sg-ns", "count", {"shared_negatives": True})]


@pytest.mark.parametrize("mode, schedule, options", [(m, s, {}) for m, s in SCHEDULED] + OPTIONS)
def test_deterministic_and_resume_exact(mode, schedule, options, tmp_path, monkeypatch):
    """workers=1 + seed: two runs give identical bytes; save -> load -> continue
    gives exactly the uninterrupted run. The second part brings new words (tree
    grafts, noise table rebuilds, capacity doubling past 1024 rows: no address
    space reserved here) and words that were candidates at the save and are
    promoted after it."""
    monkeypatch.setattr(row_stores, "RESERVE_BYTES", 0)
    kw = MODES.get(mode, dict(sg=0, hs=1, negative=3))
    kw = dict(kw, vector_size=12, window=3, min_count=3, workers=1, seed=11, batch_words=700,
              max_vocab_size=5000, lr_schedule=schedule, **options)
    part1 = zipf_docs(150, 1, vocab=400)
    fresh = new_word_docs(900, 0)
    part2 = [d for pair in zip(zipf_docs(90, 2, vocab=1500, offset=200), fresh) for d in pair]
    a = StreamingWord2Vec(**kw)
    a.train(part1)
    a.save(str(tmp_path))
    assert any(w in a.vocab.candidates for d in part2 for w in d.split())
    a.train(part2)
    b = StreamingWord2Vec.load(str(tmp_path))
    b.train(part2)
    c = StreamingWord2Vec(**kw)
    c.train(part1)
    c.train(part2)
    assert len(a.wv) > 1024 and a._syn0.capacity > 1024   # the matrices doubled their capacity after the save
    assert_same_model(a, b)
    assert_same_model(a, c)
    assert a.stats["loss"] == b.stats["loss"]
    d = StreamingWord2Vec(**dict(kw, seed=12))
    d.train(part1)
    assert d._syn0.view.tobytes() != StreamingWord2Vec.load(str(tmp_path))._syn0.view.tobytes()


def test_save_load_empty_and_tiny_models(tmp_path):
    for i, docs in enumerate([[], ["a"], ["a a a a a"], ["a b " * 5]]):
        for mode in MODES.values():
            m = StreamingWord2Vec(vector_size=4, min_count=5, workers=1, **mode)
            m.train(docs)
            path = str(tmp_path / f"{i}-{mode['sg']}{mode['hs']}")
            m.save(path)
            n = StreamingWord2Vec.load(path)
            assert n.wv.index_to_key == m.wv.index_to_key
            n.train(docs * 2)
            m.train(docs * 2)
            assert_same_model(m, n)


def test_checkpoint_has_no_pickle_and_keeps_previous(tmp_path):
    m = StreamingWord2Vec(vector_size=8, min_count=1, workers=1, hs=1)
    m.train(zipf_docs(20, 0))
    first = m.save(str(tmp_path), extra={"note": "first"})
    m.train(zipf_docs(20, 1))
    second = m.save(str(tmp_path))
    assert os.path.basename(first) == "ckpt-000001" and os.path.basename(second) == "ckpt-000002"
    assert open(tmp_path / "CURRENT").read().strip() == "ckpt-000002"
    manifest = json.loads(open(os.path.join(second, "manifest.json")).read())
    assert manifest["format"] == checkpoint.FORMAT and manifest["version"] == checkpoint.VERSION
    for name in manifest["files"]:
        arr = np.load(os.path.join(second, name + ".npy"), allow_pickle=False)
        assert not arr.dtype.hasobject
    # The previous checkpoint can still be loaded by name.
    arrays, meta = checkpoint.load(str(tmp_path), "ckpt-000001")
    assert meta["extra"] == {"note": "first"}


def _checkpoint_dir(tmp_path):
    m = StreamingWord2Vec(vector_size=8, min_count=1, workers=1, hs=1, negative=2)
    m.train(zipf_docs(30, 0))
    path = m.save(str(tmp_path / "model"))
    return str(tmp_path / "model"), path


def _rewrite_array(ckpt, name, array):
    """Replace one array and fix its checksum: a damaged but self-consistent file."""
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=True)
    data = buf.getvalue()
    open(os.path.join(ckpt, name + ".npy"), "wb").write(data)
    mpath = os.path.join(ckpt, "manifest.json")
    manifest = json.loads(open(mpath).read())
    manifest["files"][name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    open(mpath, "wb").write(checkpoint.seal_manifest(manifest))


def test_load_refuses_a_flipped_byte(tmp_path):
    model_dir, ckpt = _checkpoint_dir(tmp_path)
    path = os.path.join(ckpt, "syn0.npy")
    data = bytearray(open(path, "rb").read())
    data[-3] ^= 0x01
    open(path, "wb").write(bytes(data))
    with pytest.raises(CheckpointError, match="syn0.npy: damaged"):
        StreamingWord2Vec.load(model_dir)


@pytest.mark.parametrize("victim", ["syn1.npy", "vocab_keys.npy", "manifest.json"])
def test_load_refuses_a_missing_file(tmp_path, victim):
    model_dir, ckpt = _checkpoint_dir(tmp_path)
    os.remove(os.path.join(ckpt, victim))
    with pytest.raises(CheckpointError, match="missing"):
        StreamingWord2Vec.load(model_dir)


def test_load_refuses_foreign_directories(tmp_path):
    with pytest.raises(CheckpointError, match="no such model directory"):
        StreamingWord2Vec.load(str(tmp_path / "nowhere"))
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "notes.txt").write_text("hello")
    with pytest.raises(CheckpointError, match="no CURRENT"):
        StreamingWord2Vec.load(str(tmp_path / "plain"))
    model_dir, ckpt = _checkpoint_dir(tmp_path)
    open(os.path.join(model_dir, "CURRENT"), "w").write("../../etc\n")
    with pytest.raises(CheckpointError, match="does not name a checkpoint"):
        StreamingWord2Vec.load(model_dir)
    open(os.path.join(model_dir, "CURRENT"), "w").write("ckpt-000099\n")
    with pytest.raises(CheckpointError, match="missing"):
        StreamingWord2Vec.load(model_dir)
    open(os.path.join(model_dir, "CURRENT"), "w").write(os.path.basename(ckpt) + "\n")
    mpath = os.path.join(ckpt, "manifest.json")
    manifest = json.loads(open(mpath).read())
    open(mpath, "w").write(json.dumps(dict(manifest, format="something-else")))
    with pytest.raises(CheckpointError, match="not a stream_w2v checkpoint"):
        StreamingWord2Vec.load(model_dir)
    open(mpath, "w").write("{not json")
    with pytest.raises(CheckpointError, match="damaged"):
        StreamingWord2Vec.load(model_dir)


def test_load_refuses_inconsistent_arrays(tmp_path):
    model_dir, ckpt = _checkpoint_dir(tmp_path)
    syn0 = np.load(os.path.join(ckpt, "syn0.npy"))
    _rewrite_array(ckpt, "syn0", syn0[:-1])
    with pytest.raises(CheckpointError, match="inconsistent"):
        StreamingWord2Vec.load(model_dir)
    _rewrite_array(ckpt, "syn0", syn0.astype(np.float64))
    StreamingWord2Vec.load(model_dir)    # float64 of the right shape: converted on load
    _rewrite_array(ckpt, "tree_points", np.full((3, 2), 10 ** 6, np.int32))
    with pytest.raises(CheckpointError, match="inconsistent"):
        StreamingWord2Vec.load(model_dir)
    _rewrite_array(ckpt, "keep", np.float32(1.0))          # 0-dimensional
    with pytest.raises(CheckpointError, match="inconsistent"):
        StreamingWord2Vec.load(model_dir)


_EXECUTED = []


def _mark(what):
    _EXECUTED.append(what)


class _Payload:
    """Unpickling it calls _mark: code from the file would run."""

    def __reduce__(self):
        return (_mark, ("code ran",))


def test_load_never_unpickles(tmp_path):
    model_dir, ckpt = _checkpoint_dir(tmp_path)
    _rewrite_array(ckpt, "syn0", np.array([_Payload()], dtype=object))
    with pytest.raises(CheckpointError, match="syn0.npy: not a valid array"):
        StreamingWord2Vec.load(model_dir)
    assert _EXECUTED == []
    assert pickle.loads(pickle.dumps(_Payload())) is None and _EXECUTED == ["code ran"]  # it was armed


# ---------------------------------------------------------------- threads

def test_queries_during_training_and_growth(monkeypatch):
    """workers=2; the vocabulary keeps growing (4 capacity doublings: 1024 ->
    16384 rows, with no address space reserved) while another thread
    queries. Each query reads one snapshot, so its answers agree with
    themselves: shapes match the len() read before and after it (the
    vocabulary only grows)."""
    monkeypatch.setattr(row_stores, "RESERVE_BYTES", 0)
    m = StreamingWord2Vec(vector_size=16, window=2, min_count=2, workers=2, seed=1, batch_words=2000,
                          sg=1, hs=1, negative=2)
    rng = np.random.default_rng(0)

    def docs():
        for i in range(600):   # 600 x 14 new words, each twice: ~8400 words
            new = [f"n{i}_{j}" for j in range(14)]
            yield " ".join(new * 2 + list(rng.choice(["the", "a", "of", "and"], 10)))

    errors, checks = [], [0]
    done = threading.Event()

    def query():
        try:
            while not done.is_set():
                wv = m.wv
                n0 = len(wv)
                if n0 == 0:
                    continue
                keys = wv.index_to_key
                word = keys[int(rng.integers(len(keys)))]
                assert wv[word].shape == (16,)
                sims = wv.most_similar(word, topn=None)
                n1 = len(m.wv)
                assert n0 <= len(sims) <= n1
                top = wv.most_similar(word, topn=5)
                assert len(top) == min(5, len(sims) - 1) and all(k in wv.key_to_index for k, _ in top)
                assert np.isfinite(wv.similarity(word, keys[0]))
                assert wv.vectors.shape[1] == 16 and len(wv.get_normed_vectors()) >= n0
                checks[0] += 1
        except BaseException as exc:  # reported in the main thread
            errors.append(exc)

    t = threading.Thread(target=query)
    t.start()
    try:
        m.train(docs())
    finally:
        done.set()
        t.join()
    assert not errors, errors[0]
    assert checks[0] > 10
    assert len(m.wv) == len(m.vocab) > 8000 and m._syn0.capacity >= 8192


def test_save_while_training_in_another_thread(tmp_path):
    """save() from another thread sees whole batches only: every checkpoint it
    writes loads, with as many rows as words."""
    m = StreamingWord2Vec(vector_size=8, min_count=2, workers=2, batch_words=500, hs=1, negative=2)
    stop = threading.Event()
    errors, saved = [], []

    def saver():
        try:
            while not stop.is_set():
                if getattr(m, "_state_ready", False):
                    saved.append(m.save(str(tmp_path / "m")))
                    loaded = StreamingWord2Vec.load(str(tmp_path / "m"))
                    assert len(loaded.wv) == len(loaded.vocab) == loaded._syn0.rows
                time.sleep(0.005)
        except BaseException as exc:
            errors.append(exc)

    t = threading.Thread(target=saver)
    t.start()
    try:
        for i in range(4):
            m.train(zipf_docs(200, i, vocab=2000, offset=300 * i))
    finally:
        stop.set()
        t.join()
    assert not errors, errors[0]
    assert len(saved) >= 2


def test_train_calls_from_two_threads_take_turns():
    m = StreamingWord2Vec(vector_size=8, min_count=1, workers=2, batch_words=300)
    docs = [zipf_docs(150, i, vocab=3000, offset=1000 * i) for i in range(2)]
    threads = [threading.Thread(target=m.train, args=(d,)) for d in docs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert m.stats["words_seen"] == 2 * 150 * 20
    assert len(m.wv) == len(m.vocab) == m._syn0.rows


# ---------------------------------------------------------------- quality

def _two_groups(n_docs, seed):
    """Two disjoint groups of 10 words; a document uses one group only."""
    rng = np.random.default_rng(seed)
    groups = [[f"a{i}" for i in range(10)], [f"b{i}" for i in range(10)]]
    return groups, [list(rng.choice(groups[rng.integers(2)], 10)) for _ in range(n_docs)]


@pytest.mark.parametrize("schedule", ["inverse", "adagrad", "adagrad_coord", "count"])
@pytest.mark.parametrize("mode", list(MODES))
def test_planted_structure_is_learned(mode, schedule):
    """The 5 nearest neighbours of a word should be from its own group. With 9
    same-group and 10 other-group candidates, chance is 9/19 = 0.47 per slot;
    we require 0.9 on average over all 20 words: "most" with margin, yet an
    untrained or mis-wired model (random vectors) essentially never gets there
    (the mean of 100 slots of chance level is 0.47 +- 0.05)."""
    groups, docs = _two_groups(1500, 1)
    alpha = 0.1 if schedule.startswith("adagrad") else 0.05 if mode.startswith("cbow") else 0.025
    m = StreamingWord2Vec(vector_size=16, window=3, min_count=5, workers=1, seed=2, sample=0,
                          alpha=alpha, lr_schedule=schedule, **MODES[mode])
    m.train(docs)
    assert len(m.wv) == 20
    hits = []
    for g, other in ((0, 1), (1, 0)):
        for w in groups[g]:
            hits += [k in groups[g] for k, _ in m.wv.most_similar(w, topn=5)]
    assert np.mean(hits) >= 0.9, np.mean(hits)


# ---------------------------------------------------------------- lr_schedule="count"

def _node_counts_by_walking(tree, counts):
    """Every inner node's count, the slow way: each coded word adds its count along its path."""
    out = np.zeros(max(tree.words - 1, 0), np.int64)
    for w in range(tree.words):
        for d in range(tree.code_lens[w]):
            out[tree.points[w, d]] += counts[w]
    return out


@pytest.mark.parametrize("min_alpha", [0.0, 0.0001, 0.0125])
def test_count_schedule_gives_the_kernel_current_counts(min_alpha):
    """Before every batch the kernel reads each word's count (the vocabulary's, this batch
    included) and each inner node's (the sum of the coded words below it), clamped at
    tau (alpha / min_alpha - 1); they follow vocabulary growth, tree grafts and rebuilds."""
    m = StreamingWord2Vec(vector_size=8, window=3, min_count=3, workers=1, seed=3, batch_words=500,
                          sg=1, hs=1, negative=3, alpha=0.025, min_alpha=min_alpha,
                          lr_schedule="count", lr_count_tau=40.0)
    cap = 40.0 * (0.025 / min_alpha - 1) if min_alpha else np.inf
    seen = []

    def check(job):
        rows = m._syn0.rows
        want = np.minimum(m.vocab.counts[:rows], cap).astype(np.float32)
        assert np.array_equal(job[0].syn0_count, want)
        assert np.shares_memory(job[0].syn1neg_count, job[0].syn0_count)   # one array, read only
        nodes = _node_counts_by_walking(m._tree, m.vocab.counts)
        assert np.array_equal(m._node_counts, nodes)
        assert np.array_equal(job[0].syn1_count, np.minimum(nodes, cap).astype(np.float32))
        seen.append((rows, m._tree.words))
        run(job)

    run = m._run
    m._run = check
    m.train(zipf_docs(100, 1, vocab=400) + new_word_docs(1500, 0) + zipf_docs(50, 2, vocab=400))
    assert seen[-1][0] > 1024 and len({t for _, t in seen}) > 2     # grew; the tree was rebuilt
    if min_alpha == 0.0125:
        assert m._count0.view.max() == cap == 40.0                     # clamped: rate >= min_alpha



def test_a_model_saved_before_shared_negatives_keeps_training_per_pair(tmp_path):
    """A checkpoint whose parameters predate ``shared_negatives`` was trained one
    example per pair (and its alpha chosen for that): it loads with the option
    off, not with today's default."""
    import json
    from stream_w2v import checkpoint
    m = StreamingWord2Vec(vector_size=8, min_count=1, sg=1, workers=1, shared_negatives=False, alpha=0.1)
    m.train([["a", "b", "c", "d"]] * 20)
    path = os.path.join(m.save(str(tmp_path)), "manifest.json")
    manifest = json.loads(open(path).read())
    del manifest["meta"]["params"]["shared_negatives"], manifest["manifest_sha256"]
    open(path, "wb").write(checkpoint.seal_manifest(manifest))
    back = StreamingWord2Vec.load(str(tmp_path))
    assert back.shared_negatives is False and back.alpha == 0.1
    assert StreamingWord2Vec(sg=1).shared_negatives is True


def test_a_model_saved_before_shared_output_scale_keeps_one_rate(tmp_path):
    """A checkpoint whose parameters predate ``shared_output_scale`` stepped its
    output rows at alpha: it loads with 1, not with today's default (None)."""
    import json
    from stream_w2v import checkpoint
    m = StreamingWord2Vec(vector_size=8, min_count=1, sg=1, workers=1)
    m.train([["a", "b", "c", "d"]] * 20)
    path = os.path.join(m.save(str(tmp_path)), "manifest.json")
    manifest = json.loads(open(path).read())
    del manifest["meta"]["params"]["shared_output_scale"], manifest["manifest_sha256"]
    open(path, "wb").write(checkpoint.seal_manifest(manifest))
    assert StreamingWord2Vec.load(str(tmp_path)).shared_output_scale == 1.0
    assert StreamingWord2Vec(sg=1).shared_output_scale is None


def _kernel_scales(monkeypatch, model, **train_kw):
    """(lr_mode, shared_output_scale) of every kernel call of ``model.train``."""
    from stream_w2v import _native
    calls = []
    real = _native.KernelModel.train

    def spy(self, words, ends, **kw):
        calls.append((kw["lr_mode"], kw["shared_output_scale"]))
        return real(self, words, ends, **kw)

    monkeypatch.setattr(_native.KernelModel, "train", spy)
    model.train(zipf_docs(200, 3, vocab=100), **train_kw)
    assert calls
    return set(calls)


@pytest.mark.parametrize("kw, train_kw, expected", [
    ({}, {"total_words": 5000, "epochs": 2}, {("sgd", 0.5)}),                # measured default
    ({"lr_schedule": "linear"}, {"total_words": 5000}, {("sgd", 0.5)}),
    ({"shared_output_scale": 0.3}, {"total_words": 5000}, {("sgd", 0.3)}),
    ({"lr_schedule": "inverse"}, {}, {("sgd", 1.0)}),                        # stream SGD: one rate
    ({"lr_schedule": "inverse", "shared_output_scale": 0.25}, {}, {("sgd", 0.25)}),
    ({}, {}, {("adagrad_row", 1.0)}),                                         # not read: 1
    ({"shared_output_scale": 0.5}, {}, {("adagrad_row", 1.0)}),
    ({"shared_negatives": False}, {"total_words": 5000}, {("sgd", 1.0)}),    # per pair: 1
])
def test_output_scale_reaches_the_kernel_where_it_is_read(monkeypatch, kw, train_kw, expected):
    """shared_output_scale=None is 0.5 under the linear decay over a known total and 1
    under the stream schedules; a given value is passed under SGD; 1 wherever the kernel
    does not read it (AdaGrad, per pair), which it would refuse otherwise."""
    m = StreamingWord2Vec(vector_size=8, min_count=2, sg=1, workers=1, **kw)
    assert _kernel_scales(monkeypatch, m, **train_kw) == expected


def test_the_fast_path_is_the_one_in_use(monkeypatch):
    """Fails if training silently falls back: the best ISA of this CPU is the
    one dispatched (AVX2 where there is one, unless STREAM_W2V_KERNEL forces
    another), every batch is one C call (not one per sentence or token), and
    default skip-gram NS runs the shared-negatives kernel."""
    from stream_w2v import _native
    info = _native.kernel_info()
    if not info["forced_by_env"] and "avx2" in info["available"]:
        assert info["isa"] == "avx2"
    calls = []
    real = _native.KernelModel.train

    def spy(self, words, ends, **kw):
        calls.append((len(words), kw["shared_negatives"]))
        return real(self, words, ends, **kw)

    monkeypatch.setattr(_native.KernelModel, "train", spy)
    docs = zipf_docs(400, 3, vocab=300)
    m = StreamingWord2Vec(vector_size=16, min_count=2, sg=1, workers=1, batch_words=2000)
    m.train(docs)
    assert calls and all(shared for _, shared in calls)
    assert len(calls) == m.counters["batches"] and sum(n for n, _ in calls) >= 0.9 * m.stats["words_seen"]
    calls.clear()
    StreamingWord2Vec(vector_size=16, min_count=2, sg=1, hs=1, negative=0, workers=1).train(docs)
    assert calls and not any(shared for _, shared in calls)   # HS: per pair


def test_strings_are_read_in_c(monkeypatch):
    """Fails if string documents fall back to a Python split, lookup or count:
    every batch of strings is one C tokenizer call, the token-list path is never
    taken, and the only words that reach Python are the promoted ones."""
    from stream_w2v import _native
    from stream_w2v.vocab import Vocabulary
    reads = []
    real = _native.WordTable.tokenize

    def spy(self, *args, **kw):
        got = real(self, *args, **kw)
        reads.append((len(got.ids), got.unknown, len(got.promoted)))
        return got

    def python_path(*args):
        raise AssertionError("string documents took the token-list path")

    monkeypatch.setattr(_native.WordTable, "tokenize", spy)
    monkeypatch.setattr(Vocabulary, "update", python_path)
    monkeypatch.setattr(Vocabulary, "lookup", python_path)
    m = StreamingWord2Vec(vector_size=16, min_count=2, sg=1, workers=1, batch_words=2000)
    m.train(zipf_docs(2000, 3, vocab=300), epochs=2)
    assert len(reads) == m.counters["batches"] and sum(n for n, _, _ in reads) == m.stats["words_seen"]
    assert all(unknown is None for _, unknown, _ in reads)          # no token text comes back
    assert sum(p for _, _, p in reads) == len(m.wv) > 0


def test_epochs_count_the_words_once():
    """train(epochs=3) counts in the first epoch only, as gensim's one vocabulary
    scan: a word seen once per epoch never reaches min_count=2, and the counts
    are one pass's; every epoch is still trained (words_seen counts them all)."""
    docs = [["common", "word", "here"]] * 50 + [["rare", "common"]]
    m = StreamingWord2Vec(vector_size=8, min_count=2, workers=1)
    m.train(docs, epochs=3)
    assert "rare" not in m.wv and m.wv.get_vecattr("common", "count") == 51
    assert m.stats["words_seen"] == 3 * (150 + 2)
    again = StreamingWord2Vec(vector_size=8, min_count=2, workers=1)
    again.train(docs)
    again.train(docs, count_words=False)
    assert again.wv.get_vecattr("common", "count") == 51 and "rare" not in again.wv
    with pytest.raises(TypeError, match="count_words"):
        again.train(docs, count_words="no")
