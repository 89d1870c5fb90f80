"""From documents to batches.

A document is a string (split on whitespace as ``str.split()`` splits it, like
word2vec.c) or a sequence of string tokens (like gensim). Documents longer
than ``MAX_SENTENCE`` tokens are cut into sentences of that length (gensim's
limit), so a single huge line costs bounded work per window. Tokens longer
than ``max_token_length`` characters are skipped and counted: they are never
words, and a 1 MB token must not become a vocabulary key.

Strings are not split here: a :class:`TextBatch` keeps them as UTF-8 bytes,
and the vocabulary splits and looks them up in C, one call per batch without
the GIL (csrc/tokenize.c; same tokens as ``str.split()``). A text batch is
closed once its strings hold ``batch_words`` tokens by a cheap count (the
spaces of each string plus one: a C call per string, none per token), or
``MAX_BYTES_PER_WORD * batch_words`` bytes (text with few spaces). A string
longer than ``MAX_DOC_BYTES`` is cut into pieces of at most that size at
whitespace (each piece a sentence), so one batch never holds more. Token
lists (and bytes, decoded with errors="replace") keep the Python path:
:class:`TokenBatch`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from collections.abc import Iterable, Iterator

import numpy as np

MAX_SENTENCE = 10_000
MAX_BYTES_PER_WORD = 32
MAX_DOC_BYTES = 1 << 20
# With worker threads, the reading loop offers the GIL (a sleep(0)) once per
# this many strings, so that a worker whose C call has ended need not wait
# for it until the 5 ms switch interval forces it out. A sleep(0) costs the
# loop ~50-75 us: at every 64 strings the loop napped more than it read
# (0.6-0.9 s of a CBOW-NS pass that reads its 596k strings in 0.3 s), and at
# 2 workers the workers found the queue empty: idle CPU 7.7-10.9% in three
# alternations, against 2.2-3.8% at 512 and 2.9-3.9% with no offer at all (the
# GIL is free anyway during each batch's tokenizing call). SG-NS (0.7-2.5%)
# and CBOW-HS (1.9-3.3%) did not tell them apart.
GIL_OFFER_DOCS = 512   # a power of two (the loop tests it as a mask)


@dataclass
class TextBatch:
    """Strings as UTF-8 bytes, back to back; document d ends at ``doc_ends[d]``."""
    text: bytes
    doc_ends: np.ndarray
    docs: int
    skipped: int = 0


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


_END = object()


def batches(docs: Iterable, batch_words: int, lowercase: bool = False,
            max_token_length: int = 100, offer_gil: bool = False) -> Iterator[TextBatch | TokenBatch]:
    """Group documents into batches of about ``batch_words`` tokens, in order.

    Consecutive strings share a :class:`TextBatch`, consecutive token lists a
    :class:`TokenBatch`; a change of kind closes the batch in hand.
    ``offer_gil``: worker threads train while this runs (see _Texts.take)."""
    if isinstance(docs, (str, bytes)):
        raise TypeError("train() takes an iterable of documents, not a single string; wrap it in a list")
    if not isinstance(docs, Iterable):
        raise TypeError(f"train() takes an iterable of documents, not {type(docs).__name__}")
    texts = _Texts(batch_words, lowercase, offer_gil)
    batch = TokenBatch()
    it = iter(docs)
    doc = next(it, _END)
    while doc is not _END:
        if type(doc) is not str:   # the common case (a str) skips the checks
            doc = check_document(doc)
            if isinstance(doc, bytes):
                doc = doc.decode("utf-8", errors="replace")
        if isinstance(doc, str):
            if batch.docs:
                yield _drop_long(batch, max_token_length)
                batch = TokenBatch()
            doc = yield from texts.take(str(doc), it)   # this string and the ones after it
            continue
        yield from texts.close()
        batch.docs += 1
        tokens = [t.lower() for t in doc] if lowercase else doc
        for start in range(0, max(len(tokens), 1), MAX_SENTENCE):
            batch.tokens += tokens[start:start + MAX_SENTENCE]
            batch.ends.append(len(batch.tokens))
        if len(batch.tokens) >= batch_words:
            yield _drop_long(batch, max_token_length)
            batch = TokenBatch()
        doc = next(it, _END)
    yield from texts.close()
    if batch.docs:
        yield _drop_long(batch, max_token_length)


class _Texts:
    """The strings of the text batch in hand, encoded."""

    def __init__(self, batch_words: int, lowercase: bool, offer_gil: bool = False):
        self.batch_words = batch_words
        # With no worker threads there is nobody to offer the GIL to, and a
        # sleep(0) is a ~50 us timer-slack nap: 4% of a 1-worker CBOW-NS pass.
        self.offer_gil = offer_gil
        self.max_bytes = MAX_BYTES_PER_WORD * batch_words
        self.lowercase = lowercase
        self.parts: list[bytes] = []
        self.size = self.words = self.docs = 0

    def take(self, doc: str, it: Iterator):
        """Add ``doc`` and the strings that follow it in ``it``, yielding full
        batches; return the first document that is not a str (or _END). The
        hot loop of reading: a few C calls per string, nothing per token."""
        parts, lowercase, batch_words, max_bytes = self.parts, self.lowercase, self.batch_words, self.max_bytes
        while True:
            text = doc.lower() if lowercase else doc
            data = text.encode("utf-8", "surrogatepass")   # any str, lone surrogates included
            self.docs += 1
            self.words += text.count(" ") + 1
            if len(data) > MAX_DOC_BYTES:
                for piece in _pieces(data):
                    parts.append(piece)
                    self.size += len(piece)
                    if self.size >= max_bytes:
                        yield from self.close()
                        parts = self.parts
            else:
                parts.append(data)
                self.size += len(data)
            if self.size >= max_bytes or self.words >= batch_words:
                yield from self.close()
                parts = self.parts
            if self.offer_gil and not self.docs & (GIL_OFFER_DOCS - 1):
                # Offer the GIL (see GIL_OFFER_DOCS).
                time.sleep(0)
            doc = next(it, _END)
            if type(doc) is not str:
                return doc

    def close(self) -> Iterator[TextBatch]:
        if self.parts:
            ends = np.cumsum(np.fromiter(map(len, self.parts), dtype=np.int64, count=len(self.parts)))
            yield TextBatch(b"".join(self.parts), ends, self.docs)
        self.parts, self.size, self.words, self.docs = [], 0, 0, 0


def _pieces(data: bytes) -> list[bytes]:
    """``data`` cut into pieces of at most MAX_DOC_BYTES, each at a space,
    newline, tab or carriage return when there is one in its second half (a byte < 0x80 is never
    inside a multi-byte character), else at a character boundary."""
    if len(data) <= MAX_DOC_BYTES:
        return [data]
    out, start = [], 0
    while len(data) - start > MAX_DOC_BYTES:
        end = start + MAX_DOC_BYTES
        cut = max(data.rfind(c, start + MAX_DOC_BYTES // 2, end) for c in (b" ", b"\n", b"\t", b"\r"))
        if cut < 0:
            cut = end
            while data[cut] & 0xC0 == 0x80:   # not inside a character
                cut -= 1
        out.append(data[start:cut])
        start = cut
    out.append(data[start:])
    return out


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
