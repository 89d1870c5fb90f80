"""Vocabulary: promotion at min_count, exact counts, Misra-Gries bounds, persistence."""
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, strategies as st

from stream_w2v.vocab import Vocabulary, pack_strings, unpack_strings

# Surrogate-free unicode (lone surrogates cannot come out of str.split() on
# decoded text) and no whitespace, so a token is what a split would give.
_TOKEN = st.text(st.characters(blacklist_categories=("Cs", "Zs", "Zl", "Zp", "Cc")), min_size=1, max_size=6)


def _replay(batches, min_count):
    """Reference semantics, straight from the definition: a word is promoted by
    the batch in which its running count reaches min_count; the words one batch
    promotes get rows in the order they first occur in that batch."""
    seen, order = Counter(), []
    for batch in batches:
        before = Counter(seen)
        seen.update(batch)
        first_seen = list(dict.fromkeys(batch))
        order.extend(w for w in first_seen if before[w] < min_count <= seen[w])
    return seen, order


def test_promotion_exactly_at_min_count():
    v = Vocabulary(min_count=3)
    ids = v.update(["a", "b", "a"])
    assert list(ids) == [-1, -1, -1] and len(v) == 0
    assert v.candidates == {"a": 2, "b": 1}
    ids = v.update(["b", "a", "c"])          # a reaches 3 here, b only 2
    assert v.index_to_key == ["a"]
    assert list(ids) == [-1, 0, -1]
    ids = v.update(["c", "b", "c", "b"])     # both c (1 + 2) and b (2 + 2) reach 3 here
    # Words promoted by one batch get rows in the order they first occur in it.
    assert v.index_to_key == ["a", "c", "b"]
    # Every occurrence in the promoting batch gets the id, the earlier ones too.
    assert list(ids) == [1, 2, 1, 2]
    assert v.key_to_index == {"a": 0, "c": 1, "b": 2}
    assert list(v.counts[:3]) == [3, 3, 4] and v.total_words == 10 and v.tokens_seen == 10
    assert v.candidates == {}


def test_ids_never_change():
    v = Vocabulary(min_count=1)
    v.update(["x", "y"])
    first = dict(v.key_to_index)
    for i in range(50):
        v.update([f"w{i}", "y", "x"])
    assert {k: v.key_to_index[k] for k in first} == first
    assert v.index_to_key[:2] == ["x", "y"]
    assert [v.key_to_index[w] for w in v.index_to_key] == list(range(len(v)))


def test_counts_array_grows_past_its_capacity():
    v = Vocabulary(min_count=1)
    v.update([f"w{i}" for i in range(3000)])     # initial capacity is 1024 rows
    assert len(v) == 3000 and v.counts[:3000].tolist() == [1] * 3000


@given(st.lists(st.lists(st.sampled_from("abcdefghij"), max_size=30), max_size=12),
       st.integers(1, 6))
def test_counts_match_counter(batches, min_count):
    v = Vocabulary(min_count=min_count)
    for batch in batches:
        ids = v.update(batch)
        assert ids.dtype == np.int32 and len(ids) == len(batch)
        # Ids of this batch are those of the words after it (promotions included), -1 else.
        assert ids.tolist() == [v.key_to_index.get(w, -1) for w in batch]
    seen, order = _replay(batches, min_count)
    assert v.index_to_key == order
    assert {w: int(v.counts[i]) for i, w in enumerate(v.index_to_key)} == {w: seen[w] for w in order}
    assert dict(v.candidates) == {w: c for w, c in seen.items() if w not in order}
    assert v.total_words == sum(seen[w] for w in order)
    assert v.tokens_seen == sum(map(len, batches))
    assert v.floor == 0          # no max_vocab_size: nothing is ever subtracted


def test_endless_unique_tokens_keep_candidates_bounded():
    K = 64
    v = Vocabulary(min_count=5, max_vocab_size=K)
    rng = np.random.default_rng(0)
    heavy = 0
    for step in range(300):
        # 100 tokens a batch: 90 never seen before, 10 of one heavy word
        # (frequency 0.1, far above 2/K = 0.031).
        batch = [f"u{step}_{i}" for i in range(90)] + ["heavy"] * 10
        rng.shuffle(batch)
        v.update(batch)
        heavy += 10
        assert len(v.candidates) <= K
        assert v.floor <= 2 * v.tokens_seen / K
    assert "heavy" in v.key_to_index
    # Misra-Gries: the estimate never exceeds the truth and misses it by at most floor.
    est = int(v.counts[v.key_to_index["heavy"]])
    assert heavy - v.floor <= est <= heavy
    assert len(v) == 1           # no unique token ever got a row


@given(st.lists(st.lists(st.integers(0, 40), max_size=40), max_size=25), st.integers(1, 12), st.integers(1, 5))
def test_misra_gries_guarantees(batches, K, min_count):
    """For every word w with true count n_w: estimate <= n_w <= estimate + floor
    (the estimate of a forgotten word is 0), candidates <= K after each update,
    and floor * (K // 2 + 1) <= tokens (each cut frees K//2 + 1 candidates of
    count >= cut, and only token mass can be freed), so floor <= 2 tokens / K."""
    v = Vocabulary(min_count=min_count, max_vocab_size=K)
    truth = Counter()
    for batch in batches:
        words = [f"t{x}" for x in batch]
        v.update(words)
        truth.update(words)
        assert len(v.candidates) <= K
        assert v.floor * (K // 2 + 1) <= v.tokens_seen
        assert v.floor <= 2 * v.tokens_seen / K
    for w, n in truth.items():
        est = int(v.counts[v.key_to_index[w]]) if w in v.key_to_index else v.candidates.get(w, 0)
        assert est <= n <= est + v.floor, (w, n, est, v.floor)
        if n >= min_count + v.floor:
            assert w in v.key_to_index      # frequent enough: promoted whatever was forgotten
    assert v.total_words == int(v.counts[:len(v)].sum())


@given(st.lists(st.lists(_TOKEN, max_size=20), max_size=8), st.integers(1, 3),
       st.one_of(st.none(), st.integers(1, 8)))
def test_state_round_trip(batches, min_count, K):
    v = Vocabulary(min_count=min_count, max_vocab_size=K)
    for batch in batches[:-1]:
        v.update(batch)
    w = Vocabulary.from_state(v.state())
    assert w.index_to_key == v.index_to_key and w.key_to_index == v.key_to_index
    assert w.counts[:len(w)].tolist() == v.counts[:len(v)].tolist()
    assert dict(w.candidates) == dict(v.candidates)
    assert (w.floor, w.total_words, w.tokens_seen, w.min_count, w.max_vocab_size) == \
        (v.floor, v.total_words, v.tokens_seen, v.min_count, v.max_vocab_size)
    # ... and the restored vocabulary goes on exactly as the original.
    last = batches[-1] if batches else []
    assert v.update(last).tolist() == w.update(last).tolist()
    assert w.index_to_key == v.index_to_key and dict(w.candidates) == dict(v.candidates)


def test_state_round_trip_non_ascii():
    words = ["naïve", "日本語", "😀", "Ωmega", "a", "ß"] * 3
    v = Vocabulary(min_count=3)
    v.update(words + ["ünïcödé", "𝔘"])
    w = Vocabulary.from_state(v.state())
    assert w.index_to_key == ["naïve", "日本語", "😀", "Ωmega", "a", "ß"]
    assert dict(w.candidates) == {"ünïcödé": 1, "𝔘": 1}


def test_from_state_refuses_inconsistent_state():
    v = Vocabulary(min_count=1)
    v.update(["a", "b"])
    state = v.state()
    with pytest.raises(ValueError):
        Vocabulary.from_state(dict(state, counts=np.array([1], dtype=np.int64)))
    with pytest.raises(ValueError):
        Vocabulary.from_state(dict(state, key_offsets=np.array([0, 5, 1], dtype=np.int64)))
    with pytest.raises(ValueError):
        Vocabulary.from_state(dict(state, cand_counts=np.array([3], dtype=np.int64)))
    keys, offsets = pack_strings(["a", "a"])
    with pytest.raises(ValueError):   # duplicate keys
        Vocabulary.from_state(dict(state, keys=keys, key_offsets=offsets))


@given(st.lists(st.text(st.characters(blacklist_categories=("Cs",))), max_size=10))
def test_pack_unpack_strings(words):
    blob, offsets = pack_strings(words)
    assert blob.dtype == np.uint8 and offsets.dtype == np.int64
    assert unpack_strings(blob, offsets) == words


@given(st.lists(st.lists(_TOKEN, max_size=20), max_size=8), st.integers(1, 3),
       st.one_of(st.none(), st.integers(1, 8)), st.booleans())
def test_reading_text_in_c_counts_as_token_lists_do(batches, min_count, K, round_trip):
    """read() (C split and lookup) and update() (token lists) leave the same
    vocabulary and give the same ids, through promotions, Misra-Gries and a
    state round trip (which rebuilds the C word table)."""
    by_text, by_list = Vocabulary(min_count, K), Vocabulary(min_count, K)
    for i, batch in enumerate(batches):
        if round_trip and i == len(batches) // 2:
            by_text = Vocabulary.from_state(by_text.state())
        text = " ".join(batch).encode("utf-8", "surrogatepass")
        got = by_text.read(text, np.array([len(text)]), 100, 10_000)
        assert got.ids.tolist() == by_list.update(batch).tolist()
        assert by_text.index_to_key == by_list.index_to_key
        assert dict(by_text.candidates) == dict(by_list.candidates)
    assert by_text.counts[:len(by_text)].tolist() == by_list.counts[:len(by_list)].tolist()
    assert (by_text.total_words, by_text.tokens_seen, by_text.floor) == \
        (by_list.total_words, by_list.tokens_seen, by_list.floor)
    assert all(by_text.table.get(w) == i for i, w in enumerate(by_text.index_to_key))


def test_token_list_keys_may_hold_any_character():
    """A token list's token is one key whatever it holds (newline, space, NUL):
    promoted as it is, with the id the C table gives it."""
    words = ["a\nb", "new york", "x\x00y", "a", "b"]
    v = Vocabulary(min_count=2)
    v.update(words)
    ids = v.update(words)
    assert v.index_to_key == words and ids.tolist() == [0, 1, 2, 3, 4]
    assert [v.table.get(w) for w in words] == [0, 1, 2, 3, 4]
    assert v.update(["a", "b", "a\nb"]).tolist() == [3, 4, 0]
