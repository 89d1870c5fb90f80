"""Fuzz the input path (issue 7): arbitrary bytes through the file reader,
arbitrary text through the batcher. Whatever comes in, reading ends (no hang),
nothing is lost or invented (the lines joined back give the input, up to the
documented repairs), and batches hold exactly the input's tokens."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stream_w2v import sources
from stream_w2v._native import WordTable
from stream_w2v.sources import FileSource, iter_sources
from stream_w2v.tokenize import MAX_SENTENCE, batches

# Bytes that exercise the reader's cases: newlines, CR, NUL, invalid UTF-8,
# multi-byte characters cut at a piece boundary, long runs without newline.
PIECES = st.sampled_from([b"\n", b"\r\n", b"\r", b"\0", b"\xff", b"\xc3", b"\xa9", b"\xe2\x82\xac",
                          b" ", b"\t", b"word", b"\xf0\x9f\x98\x80", b"x" * 40])
RAW = st.lists(PIECES | st.binary(max_size=20), max_size=60).map(b"".join)


@pytest.fixture
def small_lines(monkeypatch):
    # A small line limit so long-line cutting happens within a few dozen bytes.
    monkeypatch.setattr(sources, "MAX_LINE_BYTES", 16)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=RAW)
def test_file_reader_takes_any_bytes(tmp_path, small_lines, data):
    path = tmp_path / "in.bin"
    path.write_bytes(data)
    src = FileSource(str(path))
    lines = [x.text for x in iter_sources([src]) if x is not None]
    assert src.position()["offset"] == len(data)          # everything consumed, once
    assert all(len(t.encode("utf-8", "surrogatepass")) <= 3 * 16 for t in lines)  # bounded pieces
    if src.counters["decode_errors"] == 0 and src.counters["long_lines"] == 0:
        # Valid text: the lines are exactly the input's lines (a CR before LF dropped).
        want = data.decode("utf-8").split("\n")
        if want and want[-1] == "":
            want.pop()
        assert lines == [w[:-1] if w.endswith("\r") else w for w in want]


@settings(max_examples=300, deadline=None)
@given(docs=st.lists(st.text(max_size=40), max_size=12), batch_words=st.integers(1, 50),
       limit=st.integers(1, 8), lowercase=st.booleans())
def test_batches_take_any_text(docs, batch_words, limit, lowercase):
    got = [_split(b, limit) for b in batches(docs, batch_words, lowercase=lowercase, max_token_length=limit)]
    want = [(d.lower() if lowercase else d).split() for d in docs]
    kept = [t for d in want for t in d if len(t) <= limit]
    assert [t for tokens, _, _ in got for t in tokens] == kept
    assert sum(skipped for _, _, skipped in got) == sum(len(d) for d in want) - len(kept)
    assert sum(b.docs for b in batches(docs, batch_words)) == len(docs)
    for tokens, ends, _ in got:
        starts = [0] + ends[:-1]
        assert all(0 < e - s <= MAX_SENTENCE or e == s for s, e in zip(starts, ends))
        assert ends == sorted(ends) and (not ends or ends[-1] == len(tokens))


def _split(batch, limit):
    """(tokens, sentence ends, skipped) of a text batch, split by the C tokenizer
    (an empty word table hands every token back as text)."""
    got = WordTable().tokenize(batch.text, batch.doc_ends, limit, MAX_SENTENCE, unknown_text=True)
    return got.unknown, got.sentence_ends.tolist(), got.skipped
