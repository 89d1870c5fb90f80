"""From documents to batches: the C tokenizer splits exactly as str.split()
does, looks tokens up exactly as a dict does, and keeps the sentence ends
through dropped long tokens; token lists keep the Python path."""
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from stream_w2v import _native
from stream_w2v.tokenize import MAX_BYTES_PER_WORD, MAX_DOC_BYTES, MAX_SENTENCE, TextBatch, TokenBatch, batches

# Python's whitespace, characters that share a UTF-8 lead byte with one of
# them but are not whitespace (the near misses a byte-level split could take
# for whitespace), multi-byte letters, NUL and lone surrogates.
SPACES = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2005\u200a\u2028\u2029\u202f\u205f\u3000"
NEAR = "\x86\xa1\u1681\u200b\u2030\u2080\u205e\u2060\u3001\xc2\u0100"
OTHER = "ab\u00e9\u65e5\U0001F600\x00\ud800\udfff"
CHARS = st.one_of(st.sampled_from(SPACES + NEAR + OTHER), st.characters())
DOC = st.text(CHARS, max_size=40)
WORDS = st.lists(st.text(st.sampled_from(NEAR + OTHER), min_size=1, max_size=3), max_size=12, unique=True)


def encode(docs):
    parts = [d.encode("utf-8", "surrogatepass") for d in docs]
    return b"".join(parts), np.cumsum([len(p) for p in parts], dtype=np.int64)


def reference(docs, keys, limit, max_sentence):
    """The Python path's semantics: str.split(), a sentence per document cut
    every max_sentence tokens, then tokens of more than ``limit`` characters dropped."""
    ids, ends, skipped = [], [], 0
    for doc in docs:
        tokens = doc.split()
        for start in range(0, max(len(tokens), 1), max_sentence):
            for t in tokens[start:start + max_sentence]:
                if len(t) > limit:
                    skipped += 1
                else:
                    ids.append(keys.get(t, -1))
            ends.append(len(ids))
    return ids, ends, skipped


def table_of(words):
    table = _native.WordTable()
    assert [table.add(w) for w in words] == list(range(len(words)))
    return table, {w: i for i, w in enumerate(words)}


@given(st.lists(DOC, max_size=8), WORDS, st.integers(1, 4), st.integers(1, 5))
def test_c_tokenizer_is_str_split_and_dict_lookup(docs, words, limit, max_sentence):
    table, keys = table_of(words)
    text, ends = encode(docs)
    got = table.tokenize(text, ends, limit, max_sentence, unknown_text=True)
    want_ids, want_ends, want_skipped = reference(docs, keys, limit, max_sentence)
    assert got.ids.tolist() == want_ids
    assert got.sentence_ends.tolist() == want_ends
    assert got.skipped == want_skipped
    unknown = [t for d in docs for t in d.split() if len(t) <= limit and t not in keys]
    assert got.unknown == unknown
    assert got.unknown_pos.tolist() == [i for i, v in enumerate(want_ids) if v < 0]


def test_every_code_point_is_whitespace_exactly_when_python_says_so():
    # One document "a<c>b" per code point: two tokens iff str.split() splits at c.
    docs = ["a" + chr(c) + "b" for c in range(sys.maxunicode + 1)]
    text, ends = encode(docs)
    got = _native.WordTable().tokenize(text, ends, 10, MAX_SENTENCE)
    tokens_per_doc = np.diff(got.sentence_ends, prepend=0)
    want = np.array([len(d.split()) for d in docs])
    wrong = np.flatnonzero(tokens_per_doc != want)
    assert len(wrong) == 0, [hex(c) for c in wrong[:10]]


def test_table_grows_and_keeps_every_word():
    words = [f"w{i}" for i in range(50_000)] + ["\u65e5\u672c", "\ud800x", ""]
    table, _ = table_of(words)
    assert len(table) == len(words)
    assert all(table.get(w) == i for i, w in enumerate(words))
    assert table.get("w50000") == -1 and table.get("w") == -1


def test_table_refuses_bad_input():
    table, _ = table_of(["a"])
    table.tokenize(b"b b", [3], 10, 10, min_count=5)      # b: a candidate
    for key in ("a", "b"):
        with pytest.raises(ValueError, match="already"):
            table.add(key)
    with pytest.raises(TypeError):
        table.add(b"c")
    for bad in (-1, True, 1.5):
        with pytest.raises(ValueError, match="min_count"):
            table.tokenize(b"a b", [3], 10, 10, min_count=bad)
    with pytest.raises(ValueError, match="restore"):
        table.restore(["x"], [], [])
    for words, cands, counts in ((["x", "x"], [], []), (["x"], ["x"], [1]), ([], ["y"], [0]), ([], ["y"], [])):
        with pytest.raises(ValueError):
            _native.WordTable().restore(words, cands, counts)
    with pytest.raises(TypeError, match="bytes"):
        table.tokenize("a b", [3], 10, 10)
    for ends in ([4], [2, 1], [-1], [[3]]):
        with pytest.raises(ValueError, match="doc_ends"):
            table.tokenize(b"a b", ends, 10, 10)
    for limit in (0, -1, True, 1.5):
        with pytest.raises(ValueError, match="max_chars"):
            table.tokenize(b"a b", [3], limit, 10)


def tokens_of(batch, table, limit=100):
    """A batch of either kind as (tokens, sentence ends, skipped)."""
    if isinstance(batch, TokenBatch):
        return batch.tokens, batch.ends, batch.skipped
    got = table.tokenize(batch.text, batch.doc_ends, limit, MAX_SENTENCE, unknown_text=True)
    assert (got.ids == -1).all()   # an empty table: every token comes back as text
    return got.unknown, got.sentence_ends.tolist(), got.skipped


@given(st.lists(st.lists(st.text(alphabet="ab", min_size=1, max_size=6), max_size=8), max_size=10),
       st.integers(1, 6), st.booleans())
def test_long_tokens_dropped_ends_kept(docs, limit, as_strings):
    docs = docs or [[]]
    given_docs = [" ".join(d) for d in docs] if as_strings else docs
    (batch,) = batches(given_docs, 10**6, max_token_length=limit)
    assert isinstance(batch, TextBatch if as_strings else TokenBatch)
    tokens, ends, skipped = tokens_of(batch, _native.WordTable(), limit)
    want = [[t for t in d if len(t) <= limit] for d in docs]
    assert tokens == [t for d in want for t in d]
    assert skipped == sum(len(d) for d in docs) - len(tokens)
    starts = [0] + ends[:-1]
    assert [tokens[a:b] for a, b in zip(starts, ends)] == want


@pytest.mark.parametrize("as_string", [True, False])
def test_long_document_cut_into_sentences(as_string):
    doc = ["w"] * (2 * MAX_SENTENCE + 5)
    (batch,) = batches([" ".join(doc) if as_string else doc], 10**6)
    _, ends, _ = tokens_of(batch, _native.WordTable())
    assert list(ends) == [MAX_SENTENCE, 2 * MAX_SENTENCE, 2 * MAX_SENTENCE + 5]


def test_kinds_and_order_survive_batching():
    docs = ["a b", ["c"], ["d", "e"], "f", b"g \xff", "h"]
    out = list(batches(docs, 10**6, lowercase=True))
    assert [type(b) for b in out] == [TextBatch, TokenBatch, TextBatch]
    table = _native.WordTable()
    tokens = [tokens_of(b, table)[0] for b in out]
    assert tokens == [["a", "b"], ["c", "d", "e"], ["f", "g", "\ufffd", "h"]]
    assert [b.docs for b in out] == [1, 2, 3]


def test_text_batches_close_at_batch_words_or_their_byte_bound():
    out = list(batches(["one two three"] * 1000, 100))
    assert all(isinstance(b, TextBatch) for b in out) and sum(b.docs for b in out) == 1000
    assert [b.docs for b in out] == [34] * 29 + [14]        # 34 * 3 tokens >= 100
    out = list(batches(["x" * 99] * 1000, 1000))             # few spaces: the byte bound, 32000
    assert MAX_BYTES_PER_WORD == 32 and [b.docs for b in out] == [324, 324, 324, 28]


def test_huge_documents_are_cut_at_whitespace_with_bounded_batches():
    words = [f"w{i % 977}" for i in range(400_000)]          # ~2.3 MB of text
    out = list(batches([" ".join(words)], 10**9))
    (batch,) = out
    assert np.diff(batch.doc_ends, prepend=0).max() <= MAX_DOC_BYTES
    got = _native.WordTable().tokenize(batch.text, batch.doc_ends, 100, MAX_SENTENCE, unknown_text=True)
    assert got.unknown == words                            # no token cut, none lost
    blob = "\u65e5" * (MAX_DOC_BYTES // 2)                  # no whitespace: cut between characters
    (batch,) = batches([blob], 10**9)
    assert batch.text.decode("utf-8") == blob and batch.docs == 1


@pytest.mark.parametrize("workers", [1, 2])
def test_the_reading_loop_offers_the_gil_only_to_worker_threads(monkeypatch, workers):
    """sleep(0) lets a worker whose C call ended take the GIL; with one worker
    (no threads) it is only a ~50 us nap, so training must not call it."""
    from stream_w2v import tokenize
    from stream_w2v.model import StreamingWord2Vec
    naps = []
    real_sleep = tokenize.time.sleep
    monkeypatch.setattr(tokenize.time, "sleep", lambda s: (naps.append(s), real_sleep(s)))
    docs = [f"w{i % 7} w{i % 5} w{i % 3}" for i in range(1000)]
    StreamingWord2Vec(min_count=1, workers=workers, seed=1).train(docs)
    assert (len(naps) > 0) == (workers > 1)
    assert len(list(batches(docs, 10_000, offer_gil=True))) == len(list(batches(docs, 10_000)))


def _batches_one_string_at_a_time(docs, batch_words, lowercase):
    """The batching rule, written plainly: a text batch closes after the
    first string that brings it to batch_words counted tokens (its spaces +
    1) or MAX_BYTES_PER_WORD * batch_words bytes; a token list closes the
    text batch in hand."""
    out, parts, words = [], [], 0
    for doc in docs + [None]:
        if isinstance(doc, str):
            doc = doc.lower() if lowercase else doc
            parts.append(doc.encode("utf-8", "surrogatepass"))
            words += doc.count(" ") + 1
            if words < batch_words and sum(map(len, parts)) < MAX_BYTES_PER_WORD * batch_words:
                continue
        if parts:
            out.append((b"".join(parts), np.cumsum([len(p) for p in parts]).tolist()))
        parts, words = [], 0
    return out


# ASCII text or not (where lower() may change a length, and lone surrogates
# need "surrogatepass"), strings and token lists mixed.
MIXED_DOCS = st.sampled_from(["aB ", "aB \u00e9\u0130\ud800"]).flatmap(
    lambda chars: st.lists(st.one_of(st.text(st.sampled_from(chars), max_size=12), st.just(["tok"])),
                           max_size=300))


@given(MIXED_DOCS, st.integers(1, 60), st.booleans())
def test_text_batches_follow_the_documented_rule(docs, batch_words, lowercase):
    """The batches, their bytes and their string ends are exactly those of the
    documented rule, across token lists, non-ASCII text (where lower() may
    change a length) and lone surrogates (a faster reader must keep them)."""
    got = [(b.text, b.doc_ends.tolist()) for b in batches(docs, batch_words, lowercase=lowercase)
           if isinstance(b, TextBatch)]
    assert got == _batches_one_string_at_a_time(docs, batch_words, lowercase)
