"""The non-blocking feed: submit / flush / close, back-pressure, errors, turn-taking."""
import queue
import threading
import time

import numpy as np
import pytest

from stream_w2v.model import StreamingWord2Vec

KW = dict(vector_size=12, window=3, min_count=3, workers=1, seed=4, batch_words=400, sg=1, hs=1, negative=3)


def docs(n, seed, vocab=400):
    rng = np.random.default_rng(seed)
    words = np.array([f"w{i}" for i in range(vocab)])
    p = 1.0 / np.arange(1, vocab + 1)
    return [" ".join(rng.choice(words, size=15, p=p / p.sum())) for _ in range(n)]


def same_vectors(a, b):
    return (a.wv.index_to_key == b.wv.index_to_key and a._syn0.view.tobytes() == b._syn0.view.tobytes()
            and a._syn1.view.tobytes() == b._syn1.view.tobytes()
            and a._syn1neg.view.tobytes() == b._syn1neg.view.tobytes() and a.counters == b.counters)


def test_submit_flush_equals_train():
    corpus = docs(300, 1) + [["token", "lists", "too"]] * 4
    ref = StreamingWord2Vec(**KW)
    ref.train(corpus)
    m = StreamingWord2Vec(**KW, queue_size=16)
    for d in corpus:
        m.submit(d)
    m.flush()
    assert same_vectors(m, ref)
    # And again: a second flushed round is a second train() call.
    more = docs(100, 2)
    ref.train(more)
    for d in more:
        m.submit(d)
    assert m.flush()["words_seen"] == ref.stats["words_seen"]
    assert same_vectors(m, ref)
    m.close()


def test_context_manager_flushes_and_stops():
    before = {t.name for t in threading.enumerate()}
    with StreamingWord2Vec(**KW) as m:
        for d in docs(50, 3):
            m.submit(d)
        feeder_thread = m._feeder._thread
        assert feeder_thread.is_alive()
    assert not feeder_thread.is_alive()
    assert m.stats["words_seen"] == 50 * 15
    assert {t.name for t in threading.enumerate()} == before
    with pytest.raises(RuntimeError, match="closed"):
        m.submit("late document")
    m.train(["still trainable"])           # the model itself stays usable
    with m:                                 # a new block reopens the feed
        m.submit("a b c")
    assert m.stats["words_seen"] == 50 * 15 + 2 + 3


def test_flush_and_close_without_submissions():
    m = StreamingWord2Vec(**KW)
    assert m.flush()["words_seen"] == 0
    m.close()
    m.close()


def test_full_queue_blocks_or_raises():
    m = StreamingWord2Vec(**KW, queue_size=5)
    m.submit("a b c")                        # starts the feeder
    m.flush()
    feeder = m._feeder
    with feeder.paused():                    # the feeder thread waits: nothing leaves the queue
        for i in range(5):
            m.submit(f"doc {i}", block=False)
        assert feeder.qsize() == 5
        with pytest.raises(queue.Full):
            m.submit("one too many", block=False)
        with pytest.raises(queue.Full):
            m.submit("one too many", timeout=0.05)
        blocked = threading.Thread(target=m.submit, args=("waits for room",))
        blocked.start()
        blocked.join(0.2)
        assert blocked.is_alive() and feeder.qsize() == 5   # back-pressure, not growth
    blocked.join(5)
    assert not blocked.is_alive()
    m.close()
    assert m.stats["words_seen"] == 3 + 5 * 2 + 3


def test_memory_is_bounded_by_the_queue():
    """A producer far faster than training: the queue never holds more than queue_size items."""
    m = StreamingWord2Vec(**dict(KW, workers=2), queue_size=20)
    corpus = docs(3000, 5)
    peak, stop = [0], threading.Event()
    m.submit(corpus[0])
    feeder = m._feeder

    def watch():
        while not stop.is_set():
            peak[0] = max(peak[0], feeder.qsize())

    w = threading.Thread(target=watch)
    w.start()
    try:
        for d in corpus[1:]:
            m.submit(d)
            assert feeder.qsize() <= 20
        m.flush()
    finally:
        stop.set()
        w.join()
    assert 0 < peak[0] <= feeder.maxsize == 20
    assert m.stats["words_seen"] == 3000 * 15
    m.close()


def test_background_error_is_raised_once_then_training_goes_on():
    m = StreamingWord2Vec(**KW)
    real_run, calls = m._run, [0]

    def flaky(job):
        calls[0] += 1
        if calls[0] == 2:
            raise RuntimeError("kernel exploded")
        real_run(job)

    m._run = flaky
    for d in docs(100, 6):                  # 1500 tokens: 4 batches
        m.submit(d)
    with pytest.raises(RuntimeError, match="kernel exploded"):
        m.flush()
    m.flush()                               # reported once
    seen = m.stats["words_seen"]
    for d in docs(30, 7):
        m.submit(d)
    m.close()
    assert m.stats["words_seen"] == seen + 30 * 15


def test_error_is_raised_by_the_next_submit():
    m = StreamingWord2Vec(**KW)
    m._run = lambda job: (_ for _ in ()).throw(ValueError("boom"))
    m.submit(" ".join(["x"] * 500))         # a full batch: trained (and failing) without a flush
    deadline = time.monotonic() + 5
    with pytest.raises(ValueError, match="boom"):
        while time.monotonic() < deadline:
            m.submit("y")
            time.sleep(0.01)
    del m._run                              # the real method again
    m.close()


def test_bad_documents_are_refused_by_submit():
    m = StreamingWord2Vec(**KW)
    with pytest.raises(TypeError, match="token of type int"):
        m.submit(["a", 1])
    with pytest.raises(TypeError, match="not NoneType"):
        m.submit(None)
    m.submit(iter(["generators", "are", "taken", "whole"]))
    m.close()
    assert m.stats["words_seen"] == 4


def test_train_and_save_while_the_feed_is_open(tmp_path):
    """train() trains what was submitted before it first, then its own documents;
    save() during the feed writes a loadable checkpoint; flush + save + load
    continues exactly."""
    a, b = docs(120, 8), docs(120, 9)
    ref = StreamingWord2Vec(**KW)
    ref.train(a)
    ref.train(b)
    m = StreamingWord2Vec(**KW)
    for d in a:
        m.submit(d)
    m.train(b)
    m.flush()
    assert same_vectors(m, ref)
    for d in docs(60, 10):
        m.submit(d)
    m.save(str(tmp_path / "during"))       # the feed may be mid-batch: still consistent
    loaded = StreamingWord2Vec.load(str(tmp_path / "during"))
    assert len(loaded.wv) == loaded._syn0.rows
    m.flush()
    m.save(str(tmp_path / "after"))
    resumed = StreamingWord2Vec.load(str(tmp_path / "after"))
    c = docs(80, 11)
    m.train(c)
    resumed.train(c)
    assert same_vectors(m, resumed)
    m.close()


def test_submit_from_many_threads():
    m = StreamingWord2Vec(**dict(KW, workers=2), queue_size=8)
    parts = [docs(200, 20 + i) for i in range(4)]
    threads = [threading.Thread(target=lambda p=p: [m.submit(d) for d in p]) for p in parts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    m.close()
    assert m.stats["words_seen"] == 4 * 200 * 15
