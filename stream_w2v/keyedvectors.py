"""Word vectors that answer queries while the model behind them keeps training.

The names follow gensim's ``KeyedVectors`` because users already know them.
Two things differ, because a streaming model grows and trains forever:

* Everything a query needs (keys, key -> row map, vectors, counts) lives in one
  ``_Snapshot``. The trainer publishes a grown vocabulary with ``_replace``,
  which is a single attribute assignment (atomic), and every query reads
  ``self._snap`` exactly once. A query therefore never pairs the keys of one
  vocabulary with the rows of another, whatever the trainer does meanwhile.
* Row norms are a lazily filled cache on the snapshot, so a new snapshot starts
  without them: replacing the arrays invalidates the cache for free. After
  in-place training updates, ``_vectors_changed()`` bumps the snapshot's norms
  epoch instead of publishing a new snapshot, which could race with
  ``_replace`` and resurrect an old vocabulary.

The word2vec.c formats and the evaluations live in their own modules,
``word2vec_format`` and ``evaluation``; the methods here that gensim users
call (``save_word2vec_format``, ``load_word2vec_format``,
``evaluate_word_analogies``, ``evaluate_word_pairs``) delegate to them.
"""
import logging
from numbers import Integral

import numpy as np

from stream_w2v import word2vec_format

logger = logging.getLogger(__name__)

_KEY_TYPES = (str, int, np.integer)
_QUERY_TYPES = _KEY_TYPES + (np.ndarray,)


class _Snapshot:
    """One consistent view: keys, their rows, counts, and a lazy norms cache.

    Treated as immutable once published (the trainer must not mutate the list,
    dict or counts it handed over); only the norms memo changes. The memo is
    tagged with the epoch it was computed in, so norms computed by a query
    while the trainer invalidated them are never served afterwards.
    """

    __slots__ = ("index_to_key", "key_to_index", "vectors", "counts", "_norms", "_epoch")

    def __init__(self, index_to_key, vectors, counts=None, key_to_index=None):
        if not isinstance(vectors, np.ndarray) or vectors.dtype != np.float32 or vectors.ndim != 2:
            raise ValueError("vectors must be a 2-D float32 ndarray")
        if len(index_to_key) != vectors.shape[0]:
            raise ValueError(f"{len(index_to_key)} keys but {vectors.shape[0]} vector rows")
        if key_to_index is None:
            key_to_index = {key: i for i, key in enumerate(index_to_key)}
        if len(key_to_index) != len(index_to_key):
            raise ValueError("duplicate keys in index_to_key (or key_to_index does not match it)")
        if counts is not None:
            counts = np.asarray(counts, dtype=np.int64)
            if counts.shape != (len(index_to_key),):
                raise ValueError(f"counts must have shape ({len(index_to_key)},), got {counts.shape}")
        self.index_to_key = index_to_key
        self.key_to_index = key_to_index
        self.vectors = vectors
        self.counts = counts
        self._norms = None  # (epoch, norms) once computed
        self._epoch = 0

    def norms(self):
        epoch, cached = self._epoch, self._norms  # read the epoch first: a bump after it forces a recompute
        if cached is not None and cached[0] == epoch:
            return cached[1]
        norms = np.sqrt(_row_dots(self.vectors, self.vectors))
        norms[norms == 0] = 1.0  # a zero row has cosine 0 with everything instead of NaN (gensim: NaN)
        self._norms = (epoch, norms)  # a race only computes the same thing twice
        return norms

    def invalidate_norms(self):
        self._epoch += 1

    def index(self, key):
        """Row of `key`; like gensim, an int that is not a key is taken as a row number."""
        i = self.key_to_index.get(key, -1)
        if i >= 0:
            return i
        if isinstance(key, (int, np.integer)) and 0 <= key < len(self.index_to_key):
            return int(key)
        raise KeyError(f"Key '{key}' not present")

    def unit(self, i):
        return self.vectors[i] / self.norms()[i]


class KeyedVectors:
    """Keys (words) mapped to float32 vectors, with gensim's query methods.

    Unlike gensim, it is built from the finished arrays:
    ``KeyedVectors(index_to_key, vectors, counts=None)``.
    """

    def __init__(self, index_to_key, vectors, counts=None):
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self._snap = _Snapshot(list(index_to_key), vectors, counts)

    # -- the trainer's side ------------------------------------------------

    def _replace(self, index_to_key, vectors, counts=None, key_to_index=None):
        """Publish new arrays atomically (one assignment); queries under way
        finish on the snapshot they started with. The caller hands over
        ownership: it must not mutate these objects afterwards (rows of
        `vectors` may keep being trained in place)."""
        self._snap = _Snapshot(index_to_key, vectors, counts, key_to_index)

    def _vectors_changed(self):
        """Drop cached norms after in-place updates of the vectors."""
        self._snap.invalidate_norms()

    # -- gensim's attributes -------------------------------------------------

    index_to_key = property(lambda self: self._snap.index_to_key)
    key_to_index = property(lambda self: self._snap.key_to_index)
    vectors = property(lambda self: self._snap.vectors)
    vector_size = property(lambda self: self._snap.vectors.shape[1])
    norms = property(lambda self: self._snap.norms())

    def __len__(self):
        return len(self._snap.index_to_key)

    def __contains__(self, key):
        return key in self._snap.key_to_index

    def has_index_for(self, key):
        return key in self

    def __repr__(self):
        return f"<KeyedVectors {len(self)} keys x {self.vector_size} dims>"

    def get_index(self, key, default=None):
        try:
            return self._snap.index(key)
        except KeyError:
            if default is not None:
                return default
            raise

    def get_vector(self, key, norm=False):
        """A copy of the key's vector: the trainer keeps writing to the rows."""
        s = self._snap
        i = s.index(key)
        return (s.unit(i) if norm else s.vectors[i]).copy()

    def __getitem__(self, key_or_keys):
        s = self._snap
        if isinstance(key_or_keys, _KEY_TYPES):
            return s.vectors[s.index(key_or_keys)].copy()
        return s.vectors[[s.index(k) for k in key_or_keys]]  # fancy indexing copies

    def get_vecattr(self, key, attr):
        s = self._snap
        if attr != "count" or s.counts is None:
            raise KeyError(f"attribute {attr!r} not present")
        return int(s.counts[s.index(key)])

    def fill_norms(self, force=False):
        if force:
            self._vectors_changed()
        self._snap.norms()

    def get_normed_vectors(self):
        s = self._snap
        return s.vectors / s.norms()[:, None]

    # -- queries -------------------------------------------------------------

    def most_similar(self, positive=None, negative=None, topn=10, restrict_vocab=None):
        """3CosAdd, as gensim: cosine to the normalized weighted mean of the unit
        input vectors; input keys are left out of the answer. Items may be keys,
        vectors, or (key, weight) pairs; topn=None returns all similarities."""
        if isinstance(topn, Integral) and topn < 1:
            return []
        s = self._snap
        mean, input_rows = _query_mean(s, _as_list(positive), _as_list(negative))
        end = len(s.vectors) if not restrict_vocab else min(restrict_vocab, len(s.vectors))
        dists = _row_dots(s.vectors[:end], mean) / s.norms()[:end]
        if not topn:
            return dists
        skip = set(input_rows)
        best = _top(dists, topn + len(input_rows))
        return [(s.index_to_key[i], float(dists[i])) for i in best if i not in skip][:topn]

    def similar_by_word(self, word, topn=10, restrict_vocab=None):
        return self.most_similar([word], topn=topn, restrict_vocab=restrict_vocab)

    def similar_by_vector(self, vector, topn=10, restrict_vocab=None):
        return self.most_similar([vector], topn=topn, restrict_vocab=restrict_vocab)

    def most_similar_cosmul(self, positive=None, negative=None, topn=10, restrict_vocab=None):
        """3CosMul (Levy & Goldberg 2014, eq. 4, cosines shifted to [0, 1]), as
        gensim; unlike gensim, restrict_vocab is honoured."""
        if isinstance(topn, Integral) and topn < 1:
            return []
        s = self._snap
        positive, negative = _as_list(positive), _as_list(negative)
        if not positive:
            raise ValueError("cannot compute similarity with no input")
        input_rows = {s.index(k) for k in positive + negative if not isinstance(k, np.ndarray)}
        end = len(s.vectors) if not restrict_vocab else min(restrict_vocab, len(s.vectors))
        rows, norms = s.vectors[:end], s.norms()[:end]

        def shifted_cos(term):
            vec = term if isinstance(term, np.ndarray) else s.unit(s.index(term))
            return (1 + _row_dots(rows, vec) / norms) / 2

        dists = np.prod([shifted_cos(t) for t in positive], axis=0)
        dists = dists / (np.prod([shifted_cos(t) for t in negative], axis=0) + 0.000001)
        if not topn:
            return dists
        best = _top(dists, topn + len(input_rows))
        return [(s.index_to_key[i], float(dists[i])) for i in best if i not in input_rows][:topn]

    def similarity(self, w1, w2):
        s = self._snap
        return _cosine32(s, s.index(w1), s.index(w2))

    def distance(self, w1, w2):
        return 1 - self.similarity(w1, w2)

    def doesnt_match(self, words):
        """The word farthest from the mean of the unit vectors; unknown words are ignored."""
        s = self._snap
        used = [w for w in words if w in s.key_to_index]
        if len(used) != len(words):
            logger.warning("ignoring words not in the vocabulary: %s", set(words) - set(used))
        if not used:
            raise ValueError("cannot select a word from an empty list")
        unit = np.stack([s.unit(s.index(w)) for w in used])
        mean = unit.mean(axis=0)
        mean /= np.linalg.norm(mean) or 1.0
        return used[int(np.argmin(unit @ mean))]

    # -- evaluation (gensim's behaviour, gensim's return values) ---------------

    def evaluate_word_analogies(self, analogies, restrict_vocab=300000, case_insensitive=True):
        """Analogy accuracy (3CosAdd) on a questions-words file (': section' lines,
        then 'a b c expected'). Questions with a word outside the first
        `restrict_vocab` keys are skipped. Returns (score, sections), the last
        section being 'Total accuracy', each with 'correct' and 'incorrect'
        lists of 4-tuples, as gensim. Questions are answered in batches of
        matrix products, which is why this is much faster than gensim."""
        from stream_w2v import evaluation  # here, not at the top: it imports this module's query helpers
        return evaluation.word_analogies(self._snap, analogies, restrict_vocab, case_insensitive)

    def evaluate_word_pairs(self, pairs, delimiter="\t", restrict_vocab=300000, case_insensitive=True,
                            encoding="utf8"):
        """Correlation with human similarity judgements ('w1<TAB>w2<TAB>score'
        lines, '#' comments). Returns ((pearson, p), (spearman, p), oov_ratio %),
        as gensim; the p-values are the two-sided t-test ones scipy reports."""
        from stream_w2v import evaluation  # see evaluate_word_analogies
        return evaluation.word_pairs(self._snap, pairs, delimiter, restrict_vocab, case_insensitive, encoding)

    # -- word2vec.c formats ----------------------------------------------------

    def save_word2vec_format(self, fname, binary=False, sort_by_count=True):
        """Write 'n_words dim' then one word per record, most frequent first
        (ties keep index order), text ('word v1 v2 ...') or binary ('word '
        + little-endian float32 + '\\n', as word2vec.c). Atomic: a crash
        leaves either the old file or the new one."""
        s = self._snap
        word2vec_format.save(fname, s.index_to_key, s.vectors, s.counts, binary=binary, sort_by_count=sort_by_count)

    @classmethod
    def load_word2vec_format(cls, fname, *, binary=False, limit=None, encoding="utf8", unicode_errors="strict"):
        """Read a word2vec.c / gensim file, trusting nothing in it.

        The header's dim must be in [1, word2vec_format.MAX_DIM], and the word count (or
        `limit`, if smaller) must fit in the bytes the file really has, so the
        array allocated is never much bigger than the file. Any malformed,
        truncated or undecodable input raises ValueError naming the file and
        the line (text) or byte offset (binary). A repeated word keeps its first
        vector, as in gensim. The file stores no counts, so, as gensim does,
        counts are made up in descending file order. Only regular files.
        """
        keys, vectors, counts = word2vec_format.load(fname, binary=binary, limit=limit, encoding=encoding,
                                                     unicode_errors=unicode_errors)
        return cls(keys, vectors, counts=counts)


# -- query helpers (evaluation.py uses _top and _cosine32 too) ----------------------


def _as_list(value):
    """gensim accepts a single key or vector where a list is expected."""
    if value is None:
        return []
    if isinstance(value, _KEY_TYPES) or (isinstance(value, np.ndarray) and value.ndim == 1):
        return [value]
    return list(value)


def _query_mean(s, positive, negative):
    """Unit-length weighted mean of the inputs (unit key vectors, raw given
    vectors), as gensim's get_mean_vector; also the rows of the input keys."""
    items = [(x, 1.0) if isinstance(x, _QUERY_TYPES) else (x[0], x[1]) for x in positive]
    items += [(x, -1.0) if isinstance(x, _QUERY_TYPES) else (x[0], x[1]) for x in negative]
    if not items:
        raise ValueError("cannot compute mean with no input")
    mean = np.zeros(s.vectors.shape[1], dtype=np.float64)
    rows = []
    for key, weight in items:
        if isinstance(key, np.ndarray):
            vec = key
        else:
            rows.append(s.index(key))
            vec = s.unit(rows[-1])
        mean += weight * vec
    norm = np.linalg.norm(mean)
    return (mean / norm if norm > 0 else mean).astype(np.float32), rows


def _top(scores, k):
    """Indices of the k largest scores, best first, in O(V) (argpartition)."""
    if k >= len(scores):
        return np.argsort(-scores, kind="stable")
    part = np.argpartition(-scores, k)[:k]
    return part[np.argsort(-scores[part], kind="stable")]


def _cosine32(s, i, j):
    """Cosine in float32 like gensim's similarity(), so rankings of near-equal
    similarities (Spearman) come out the same."""
    norms = s.norms()
    return float(np.dot(s.vectors[i] / norms[i], s.vectors[j] / norms[j]))


def _row_dots(rows: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Each row's dot product with ``other`` (a vector, or ``rows`` itself: the
    squared norms), on this thread. Not a BLAS call: a gemv wakes OpenBLAS's
    threads, which then spin on the cores the training workers use, and
    np.linalg.norm squares the whole matrix into a temporary first (86k x 100:
    10.6 ms, this 2.5 ms). CBOW-NS, 2 workers, the benchmark corpus, a
    most_similar every 50 ms from another thread: a pass took 2.2-2.5 s longer
    than without queries with BLAS (7.4-7.8 s against 4.8-5.6 s; 6.0-6.8 s
    with OPENBLAS_NUM_THREADS=1), 0.45 s longer on average with this (three
    pairs; 6.9-7.5 s against 6.1-7.8 s, a slower minute), answering 101-106
    queries instead of 80-86. Batched evaluation keeps its matrix product."""
    if other.ndim == 1:
        return np.einsum("ij,j->i", rows, other)
    return np.einsum("ij,ij->i", rows, other)
