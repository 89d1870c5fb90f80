"""Batching documents: sentence ends survive dropping over-long tokens."""
from hypothesis import given
from hypothesis import strategies as st

from stream_w2v.tokenize import MAX_SENTENCE, batches

words = st.text(alphabet="ab", min_size=1, max_size=6)


@given(st.lists(st.lists(words, max_size=8), max_size=10), st.integers(1, 6))
def test_long_tokens_dropped_ends_kept(docs, limit):
    (batch,) = list(batches([" ".join(d) for d in docs] or [""], 10**6, max_token_length=limit)) or [None]
    want = [[t for t in d if len(t) <= limit] for d in docs] or [[]]
    assert batch.tokens == [t for d in want for t in d]
    assert batch.skipped == sum(len(d) for d in docs) - len(batch.tokens)
    starts = [0] + batch.ends[:-1]
    assert [batch.tokens[a:b] for a, b in zip(starts, batch.ends)] == want


def test_long_document_cut_into_sentences():
    (batch,) = batches([["w"] * (2 * MAX_SENTENCE + 5)], 10**6)
    assert batch.ends == [MAX_SENTENCE, 2 * MAX_SENTENCE, 2 * MAX_SENTENCE + 5]
