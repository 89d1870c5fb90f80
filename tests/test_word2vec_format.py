"""word2vec.c formats (stream_w2v.word2vec_format through KeyedVectors):
round trips, byte layout, both directions against gensim, atomic saves, and a
reader that rejects malformed, truncated and fuzzed files with ValueError."""
import os
import tempfile
import tracemalloc

import gensim
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_keyedvectors import gensim_kv, make_kv

from stream_w2v.keyedvectors import KeyedVectors
from stream_w2v.word2vec_format import MAX_DIM

FUZZ = settings(max_examples=300, deadline=2000, derandomize=os.environ.get("CI") == "true",
                suppress_health_check=[HealthCheck.too_slow])


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
