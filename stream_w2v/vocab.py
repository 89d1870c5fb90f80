"""The vocabulary of a stream: words earn a row by reaching ``min_count``.

Two tiers:
- *words*: promoted, each with a row id that never changes (rows are
  appended in promotion order) and an exact running count from promotion on;
- *candidates*: words seen fewer than ``min_count`` times. With
  ``max_vocab_size`` their number is bounded by Misra-Gries summaries: when
  the candidates exceed the bound, the count of the median candidate is
  subtracted from every candidate and those at or below zero are forgotten.
  A candidate's count is then underestimated by at most ``floor`` (the sum of
  the subtractions, reported), which is at most 2 * tokens / max_vocab_size:
  a word frequent enough to matter is still promoted, and a stream of endless
  unique tokens keeps memory flat.

Counting never loops in Python per token: the words and the candidates live
in a C hash table (:class:`stream_w2v._native.WordTable`), which splits,
looks up and counts a whole batch in one call and reports only the words it
promoted; the words' counts are a NumPy array (``np.bincount`` per batch).
``key_to_index`` and ``index_to_key`` mirror the table's words for queries.
"""
from __future__ import annotations

import numpy as np

from stream_w2v import _native


def pack_strings(words) -> tuple[np.ndarray, np.ndarray]:
    """Strings as UTF-8 bytes plus offsets: saved without pickle, in O(total length)."""
    encoded = [w.encode("utf-8", "surrogatepass") for w in words]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    return np.frombuffer(b"".join(encoded), dtype=np.uint8).copy(), offsets


def unpack_strings(blob: np.ndarray, offsets: np.ndarray) -> list[str]:
    data = np.asarray(blob, dtype=np.uint8).tobytes()
    offsets = np.asarray(offsets, dtype=np.int64)
    if offsets.ndim != 1 or len(offsets) == 0 or offsets[0] != 0 or offsets[-1] != len(data) \
            or np.any(np.diff(offsets) < 0):
        raise ValueError("string offsets do not match their data")
    return [data[a:b].decode("utf-8", "surrogatepass") for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist())]


class Vocabulary:
    def __init__(self, min_count: int = 5, max_vocab_size: int | None = None):
        self.min_count = min_count
        self.max_vocab_size = max_vocab_size
        self.index_to_key: list[str] = []
        self.key_to_index: dict[str, int] = {}
        self.table = _native.WordTable()   # words and candidates, in C
        self.counts = np.zeros(1024, dtype=np.int64)  # first len(index_to_key) are live
        self.floor = 0            # Misra-Gries: total subtracted from candidates
        self.total_words = 0      # sum of the words' counts (word2vec.c's train_words)
        self.tokens_seen = 0

    def __len__(self) -> int:
        return len(self.index_to_key)

    @property
    def n_candidates(self) -> int:
        return self.table.n_candidates

    @property
    def candidates(self) -> dict[str, int]:
        """The candidates and their counts (built on demand: O(candidates))."""
        keys, counts = self.table.candidates()
        return dict(zip(keys, counts.tolist()))

    def update(self, tokens: list[str]) -> np.ndarray:
        """Count ``tokens`` (each one word, spaces and all), promote the words that
        reach min_count, return their ids (-1: not a word)."""
        return self._counted(self.table.count_tokens(tokens, self.min_count, self.counts)).ids

    def lookup(self, tokens: list[str]) -> np.ndarray:
        """Row ids of ``tokens`` (-1: not a word), counting nothing."""
        return self.table.count_tokens(tokens, 0).ids

    def read(self, text: bytes, doc_ends: np.ndarray, max_chars: int, max_sentence: int,
             count: bool = True) -> _native.Read:
        """Split, look up and (with ``count``) count a batch of strings in C
        (:meth:`_native.WordTable.tokenize`): ids of words promoted now filled in."""
        if not count:
            return self.table.tokenize(text, doc_ends, max_chars, max_sentence)
        return self._counted(self.table.tokenize(text, doc_ends, max_chars, max_sentence, self.min_count,
                                                 counts=self.counts))

    def _counted(self, read: _native.Read) -> _native.Read:
        """Take in what the table counted (the known words' counts, already in
        ``counts``; the tokens it did not know were candidates) and the promoted words."""
        self.total_words += len(read.ids) - len(read.unknown_pos)
        for word, count in zip(read.promoted, read.promoted_counts.tolist()):
            self._promote(word, count)
        self._bound_candidates()
        self.tokens_seen += len(read.ids)
        return read

    def _promote(self, word: str, count: int) -> None:
        row = len(self.index_to_key)
        if row == len(self.counts):
            self.counts = np.concatenate([self.counts, np.zeros_like(self.counts)])
        self.counts[row] = count
        self.total_words += count
        self.index_to_key.append(word)
        self.key_to_index[word] = row

    def _bound_candidates(self) -> None:
        limit = self.max_vocab_size
        if limit is None or self.table.n_candidates <= limit:
            return
        values = self.table.candidate_counts()
        # Subtract the count at rank limit/2: at least half of the bound is freed,
        # so this runs at most once per limit/2 new candidates.
        cut = int(np.partition(values, len(values) - limit // 2 - 1)[len(values) - limit // 2 - 1])
        cut = max(cut, 1)
        self.floor += cut
        self.table.forget(cut)

    # ------------------------------------------------------------ persistence

    def state(self) -> dict:
        keys, key_offsets = pack_strings(self.index_to_key)
        cand_words, cand_counts = self.table.candidates()
        cands, cand_offsets = pack_strings(cand_words)
        return {
            "min_count": self.min_count, "max_vocab_size": self.max_vocab_size,
            "floor": self.floor, "total_words": self.total_words, "tokens_seen": self.tokens_seen,
            "keys": keys, "key_offsets": key_offsets, "counts": self.counts[:len(self)].copy(),
            "cand_keys": cands, "cand_offsets": cand_offsets,
            "cand_counts": cand_counts,
        }

    @classmethod
    def from_state(cls, state: dict) -> "Vocabulary":
        def count(key, lo=0):
            value = state[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < lo:
                raise ValueError(f"vocabulary {key} is {value!r}")
            return value
        count("min_count", 1), count("floor"), count("total_words"), count("tokens_seen")
        if state["max_vocab_size"] is not None:
            count("max_vocab_size", 1)
        vocab = cls(state["min_count"], state["max_vocab_size"])
        words = unpack_strings(state["keys"], state["key_offsets"])
        counts = np.asarray(state["counts"], dtype=np.int64)
        if len(counts) != len(words) or len(set(words)) != len(words):
            raise ValueError("vocabulary keys and counts disagree")
        vocab.index_to_key = words
        vocab.key_to_index = {w: i for i, w in enumerate(words)}
        vocab.counts = np.zeros(max(1024, 2 * len(words)), dtype=np.int64)
        vocab.counts[:len(words)] = counts
        cands = unpack_strings(state["cand_keys"], state["cand_offsets"])
        cand_counts = np.asarray(state["cand_counts"], dtype=np.int64)
        if len(cands) != len(cand_counts):
            raise ValueError("candidate keys and counts disagree")
        vocab.table.restore(words, cands, cand_counts)   # refuses repeated keys, counts < 1
        vocab.floor, vocab.total_words = int(state["floor"]), int(state["total_words"])
        vocab.tokens_seen = int(state["tokens_seen"])
        return vocab
