"""From documents to token batches.

A document is a string (split on whitespace, like word2vec.c) or a sequence
of string tokens (like gensim). Documents longer than ``MAX_SENTENCE`` tokens
are cut into sentences of that length (gensim's limit), so a single huge line
costs bounded work per window. Tokens longer than ``max_token_length``
characters are skipped and counted: they are never words, and a 1 MB token
must not become a vocabulary key.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Iterable, Iterator

import numpy as np

MAX_SENTENCE = 10_000


@dataclass
class TokenBatch:
    tokens: list[str] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)   # exclusive sentence ends
    skipped: int = 0                                 # over-long tokens dropped
    docs: int = 0


def check_document(doc):
    """``doc`` as it will be tokenized: a string or bytes as is, anything else as a
    list of its tokens. TypeError (with what was wrong) for anything else."""
    if isinstance(doc, (str, bytes)):
        return doc
    if not isinstance(doc, Iterable):
        raise TypeError(f"a document must be a string or a sequence of strings, not {type(doc).__name__}")
    tokens = list(doc)
    kinds = set(map(type, tokens))          # one pass in C, not an isinstance per token
    if kinds - {str} and not all(issubclass(k, str) for k in kinds):
        bad = next(t for t in tokens if not isinstance(t, str))
        raise TypeError(f"a document must be a string or a sequence of strings; "
                        f"got a token of type {type(bad).__name__}: {bad!r:.60}")
    return tokens


def doc_tokens(doc, lowercase: bool) -> list[str]:
    doc = check_document(doc)
    if isinstance(doc, bytes):
        doc = doc.decode("utf-8", errors="replace")
    if isinstance(doc, str):
        return (doc.lower() if lowercase else doc).split()
    return [t.lower() for t in doc] if lowercase else doc


def batches(docs: Iterable, batch_words: int, lowercase: bool = False,
            max_token_length: int = 100) -> Iterator[TokenBatch]:
    """Group documents into batches of about ``batch_words`` tokens."""
    if isinstance(docs, (str, bytes)):
        raise TypeError("train() takes an iterable of documents, not a single string; wrap it in a list")
    if not isinstance(docs, Iterable):
        raise TypeError(f"train() takes an iterable of documents, not {type(docs).__name__}")
    batch = TokenBatch()
    for doc in docs:
        # The common case (a str) skips the checks: one C call per document.
        tokens = (doc.lower() if lowercase else doc).split() if type(doc) is str else doc_tokens(doc, lowercase)
        batch.docs += 1
        if len(tokens) <= MAX_SENTENCE:
            batch.tokens += tokens
            batch.ends.append(len(batch.tokens))
        else:
            for start in range(0, len(tokens), MAX_SENTENCE):
                batch.tokens += tokens[start:start + MAX_SENTENCE]
                batch.ends.append(len(batch.tokens))
        if len(batch.tokens) >= batch_words:
            yield _drop_long(batch, max_token_length)
            batch = TokenBatch()
    if batch.docs:
        yield _drop_long(batch, max_token_length)


def _drop_long(batch: TokenBatch, limit: int) -> TokenBatch:
    """Drop tokens longer than ``limit`` (counted in ``skipped``); one C pass when there are none."""
    if not batch.tokens or max(map(len, batch.tokens)) <= limit:
        return batch
    lengths = np.fromiter(map(len, batch.tokens), dtype=np.int64, count=len(batch.tokens))
    keep = lengths <= limit
    kept_before = np.concatenate([[0], np.cumsum(keep)])
    batch.ends = kept_before[np.asarray(batch.ends, dtype=np.int64)].tolist()
    batch.skipped += int(len(keep) - np.count_nonzero(keep))
    batch.tokens = [t for t, k in zip(batch.tokens, keep.tolist()) if k]
    return batch
