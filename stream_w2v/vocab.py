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

Counting never loops in Python per token: strings are split and looked up
in C (:meth:`Vocabulary.read`, through the word table that mirrors
``key_to_index``), token lists with ``map`` over ``dict.get``; known words are
counted with ``np.bincount``; only the *unknown* tokens of a batch reach
Python (as one string, split once) and only their distinct words go through
a Python loop, and they become rare as the vocabulary settles.
"""
from __future__ import annotations

from collections import Counter
from itertools import repeat

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


def _lookup(key_to_index: dict, tokens: list[str]) -> np.ndarray:
    """Row ids of ``tokens`` (-1 when absent): ``map`` over ``dict.get`` runs in C."""
    return np.fromiter(map(key_to_index.get, tokens, repeat(-1)), dtype=np.int32, count=len(tokens))


class Vocabulary:
    def __init__(self, min_count: int = 5, max_vocab_size: int | None = None):
        self.min_count = min_count
        self.max_vocab_size = max_vocab_size
        self.index_to_key: list[str] = []
        self.key_to_index: dict[str, int] = {}
        self.table = _native.WordTable()   # the same keys in C, for read()
        self.counts = np.zeros(1024, dtype=np.int64)  # first len(index_to_key) are live
        self.candidates: Counter = Counter()
        self.floor = 0            # Misra-Gries: total subtracted from candidates
        self.total_words = 0      # sum of the words' counts (word2vec.c's train_words)
        self.tokens_seen = 0

    def __len__(self) -> int:
        return len(self.index_to_key)

    @property
    def n_candidates(self) -> int:
        return len(self.candidates)

    def update(self, tokens: list[str]) -> np.ndarray:
        """Count ``tokens``, promote the words that reach min_count, return their ids (-1: not a word)."""
        ids = _lookup(self.key_to_index, tokens)
        miss = np.flatnonzero(ids < 0)
        self._count(ids, miss, list(map(tokens.__getitem__, miss.tolist())))
        return ids

    def read(self, text: bytes, doc_ends: np.ndarray, max_chars: int, max_sentence: int,
             count: bool = True) -> _native.Tokenized:
        """Split and look up a batch of strings in C (:meth:`_native.WordTable.tokenize`);
        with ``count``, count them as :meth:`update` does (ids of words promoted now filled in)."""
        tok = self.table.tokenize(text, doc_ends, max_chars, max_sentence)
        if count:
            self._count(tok.ids, tok.unknown_pos, tok.unknown)
        return tok

    def _count(self, ids: np.ndarray, miss: np.ndarray, missed: list[str]) -> None:
        """Count a batch: ``ids`` (-1 at the positions ``miss``, whose words are ``missed``)."""
        hit = ids >= 0
        self.counts[:len(self)] += np.bincount(ids[hit], minlength=len(self))
        self.total_words += len(ids) - len(miss)
        if missed:
            before = len(self)
            for word, n in Counter(missed).items():  # once per distinct unknown word
                count = self.candidates.pop(word, 0) + n
                if count >= self.min_count:
                    self._promote(word, count)
                else:
                    self.candidates[word] = count
            if len(self) > before:  # words promoted now are trained in this batch
                ids[miss] = _lookup(self.key_to_index, missed)
        self._bound_candidates()
        self.tokens_seen += len(ids)

    def lookup(self, tokens: list[str]) -> np.ndarray:
        """Row ids of ``tokens`` (-1: not a word), counting nothing."""
        return _lookup(self.key_to_index, tokens)

    def _promote(self, word: str, count: int) -> None:
        row = len(self.index_to_key)
        if row == len(self.counts):
            self.counts = np.concatenate([self.counts, np.zeros_like(self.counts)])
        self.counts[row] = count
        self.total_words += count
        self.table.add(word, row)   # first: if C is out of memory, nothing has changed
        self.index_to_key.append(word)
        self.key_to_index[word] = row

    def _bound_candidates(self) -> None:
        limit = self.max_vocab_size
        if limit is None or len(self.candidates) <= limit:
            return
        values = np.fromiter(self.candidates.values(), dtype=np.int64, count=len(self.candidates))
        # Subtract the count at rank limit/2: at least half of the bound is freed,
        # so this runs at most once per limit/2 new candidates.
        cut = int(np.partition(values, len(values) - limit // 2 - 1)[len(values) - limit // 2 - 1])
        cut = max(cut, 1)
        self.floor += cut
        self.candidates = Counter({w: c - cut for w, c in self.candidates.items() if c > cut})

    # ------------------------------------------------------------ persistence

    def state(self) -> dict:
        keys, key_offsets = pack_strings(self.index_to_key)
        cands, cand_offsets = pack_strings(self.candidates.keys())
        return {
            "min_count": self.min_count, "max_vocab_size": self.max_vocab_size,
            "floor": self.floor, "total_words": self.total_words, "tokens_seen": self.tokens_seen,
            "keys": keys, "key_offsets": key_offsets, "counts": self.counts[:len(self)].copy(),
            "cand_keys": cands, "cand_offsets": cand_offsets,
            "cand_counts": np.fromiter(self.candidates.values(), dtype=np.int64, count=len(self.candidates)),
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
        for i, w in enumerate(words):
            vocab.table.add(w, i)
        vocab.counts = np.zeros(max(1024, 2 * len(words)), dtype=np.int64)
        vocab.counts[:len(words)] = counts
        cands = unpack_strings(state["cand_keys"], state["cand_offsets"])
        cand_counts = np.asarray(state["cand_counts"], dtype=np.int64)
        if len(cands) != len(cand_counts):
            raise ValueError("candidate keys and counts disagree")
        vocab.candidates = Counter(dict(zip(cands, cand_counts.tolist())))
        vocab.floor, vocab.total_words = int(state["floor"]), int(state["total_words"])
        vocab.tokens_seen = int(state["tokens_seen"])
        return vocab
