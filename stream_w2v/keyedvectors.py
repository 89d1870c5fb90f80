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

Also here: the word2vec.c text and binary formats. The writer is atomic; the
reader trusts no size in the file (see ``load_word2vec_format``).
"""
import contextlib
import logging
import math
import os
import re
import stat
import tempfile
from numbers import Integral

import numpy as np

logger = logging.getLogger(__name__)

MAX_DIM = 10_000  # bound on the header's dim: larger is a corrupt header, not a model
MAX_WORD_BYTES = 65_536  # a longer "word" means the reader lost sync with the records
_MAX_HEADER_BYTES = 64  # "n_words dim\n" with two 18-digit numbers still fits
_MAX_NUMBER_CHARS = 64  # per text value, to bound one text line before reading it
_CHUNK = 1 << 20  # binary reader's read size
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
        norms = np.linalg.norm(self.vectors, axis=1)
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
        dists = (s.vectors[:end] @ mean) / s.norms()[:end]
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
            return (1 + (rows @ vec) / norms) / 2

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
        s = self._snap
        ok_vocab = _ok_vocab(s, restrict_vocab, case_insensitive)
        sections, questions = [], []
        with open(analogies, "rb") as fin:
            for line_no, raw in enumerate(fin):
                line = raw.decode("utf8")
                if line.startswith(": "):
                    sections.append({"section": line.lstrip(": ").strip(), "correct": [], "incorrect": []})
                    continue
                if not sections:
                    raise ValueError(f"Missing section header before line #{line_no} in {analogies}")
                words = [w.upper() for w in line.split()] if case_insensitive else line.split()
                if len(words) == 4 and all(w in ok_vocab for w in words):
                    questions.append((sections[-1], tuple(words)))
        end = len(s.vectors) if not restrict_vocab else min(restrict_vocab, len(s.vectors))
        batch = max(1, 8_000_000 // max(end, 1))  # bounds the score matrix to ~32 MB
        for start in range(0, len(questions), batch):
            chunk = questions[start:start + batch]
            rows = np.array([[ok_vocab[w] for w in q[:3]] for _, q in chunk])
            _answer_analogies(s, ok_vocab, case_insensitive, end, chunk, rows)
        total = {
            "section": "Total accuracy",
            "correct": [q for sec in sections for q in sec["correct"]],
            "incorrect": [q for sec in sections for q in sec["incorrect"]],
        }
        answered = len(total["correct"]) + len(total["incorrect"])
        score = len(total["correct"]) / answered if answered else 0.0
        return score, sections + [total]

    def evaluate_word_pairs(self, pairs, delimiter="\t", restrict_vocab=300000, case_insensitive=True,
                            encoding="utf8"):
        """Correlation with human similarity judgements ('w1<TAB>w2<TAB>score'
        lines, '#' comments). Returns ((pearson, p), (spearman, p), oov_ratio %),
        as gensim; the p-values are the two-sided t-test ones scipy reports."""
        s = self._snap
        ok_vocab = _ok_vocab(s, restrict_vocab, case_insensitive)
        gold, model, oov = [], [], 0
        with open(pairs, encoding=encoding) as fin:
            for line in fin:
                if not line or line.startswith("#"):
                    continue
                parts = line.split(delimiter)
                if case_insensitive:
                    parts = [p.upper() for p in parts]
                try:
                    a, b, sim = parts
                    sim = float(sim)
                except ValueError:
                    continue  # gensim skips malformed lines too
                if a not in ok_vocab or b not in ok_vocab:
                    oov += 1
                    continue
                gold.append(sim)
                model.append(_cosine32(s, ok_vocab[a], ok_vocab[b]))
        if not gold:
            raise ValueError(f"No valid similarity judgements found in {pairs}")
        gold, model = np.array(gold), np.array(model, dtype=np.float64)
        pearson = _pearson(gold, model)
        spearman = _pearson(_rankdata(gold), _rankdata(model))
        return pearson, spearman, 100.0 * oov / (len(gold) + oov)

    # -- word2vec.c formats ----------------------------------------------------

    def save_word2vec_format(self, fname, binary=False, sort_by_count=True):
        """Write 'n_words dim' then one word per record, most frequent first
        (ties keep index order), text ('word v1 v2 ...') or binary ('word '
        + little-endian float32 + '\\n', as word2vec.c). Atomic: a crash
        leaves either the old file or the new one."""
        s = self._snap
        n, dim = s.vectors.shape
        if sort_by_count and s.counts is not None:
            order = np.argsort(-s.counts, kind="stable")
        else:
            order = np.arange(n)
        keys = [str(s.index_to_key[i]) for i in order]
        for key in keys:
            if not key or " " in key or "\n" in key:
                raise ValueError(f"key {key!r} cannot be stored in word2vec format (empty, space or newline)")
        # '%.9g' is the shortest format that gives back every float32 exactly
        row_format = " ".join(["%.9g"] * dim)
        with _atomic_file(fname) as fout:
            fout.write(f"{n} {dim}\n".encode("ascii"))
            for start in range(0, n, 4096):
                block = s.vectors[order[start:start + 4096]].astype("<f4")
                block_keys = keys[start:start + 4096]
                if binary:
                    out = b"".join(k.encode("utf8") + b" " + row.tobytes() + b"\n" for k, row in zip(block_keys, block))
                else:
                    out = "".join(f"{k} {row_format % tuple(row.tolist())}\n" for k, row in zip(block_keys, block))
                    out = out.encode("utf8")
                fout.write(out)

    @classmethod
    def load_word2vec_format(cls, fname, *, binary=False, limit=None, encoding="utf8", unicode_errors="strict"):
        """Read a word2vec.c / gensim file, trusting nothing in it.

        The header's dim must be in [1, MAX_DIM], and the word count (or
        `limit`, if smaller) must fit in the bytes the file really has, so the
        array allocated is never much bigger than the file. Any malformed,
        truncated or undecodable input raises ValueError naming the file and
        the line (text) or byte offset (binary). A repeated word keeps its first
        vector, as in gensim. The file stores no counts, so, as gensim does,
        counts are made up in descending file order. Only regular files.
        """
        if limit is not None and (not isinstance(limit, Integral) or limit < 0):
            raise ValueError(f"limit must be None or an int >= 0, got {limit!r}")
        with open(fname, "rb") as fin:
            st = os.fstat(fin.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise ValueError(f"{fname}: not a regular file")
            n_words, dim = _read_header(fin, fname)
            n = n_words if limit is None else min(n_words, limit)
            available = st.st_size - fin.tell()
            min_record = 4 * dim + 2 if binary else 2 * dim + 1  # 1-byte word, separators, no final '\n'
            if n * min_record > available:
                raise ValueError(
                    f"{fname}: header claims {n_words} words of dim {dim}, but only {available} bytes follow"
                    " (truncated, or not a word2vec file?)")
            vectors = np.empty((n, dim), dtype=np.float32)
            read = _read_binary if binary else _read_text
            keys = read(fin, fname, vectors, encoding, unicode_errors)
        first = {}
        for i, key in enumerate(keys):
            first.setdefault(key, i)
        if len(first) != len(keys):
            logger.warning("%s: %d repeated words; keeping the first vector of each", fname, len(keys) - len(first))
            rows = np.fromiter(first.values(), dtype=np.int64, count=len(first))
            keys, vectors = list(first), vectors[rows]
        return cls(keys, vectors, counts=np.arange(len(keys), 0, -1, dtype=np.int64))


# -- query helpers ---------------------------------------------------------------


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


def _ok_vocab(s, restrict_vocab, case_insensitive):
    """Evaluation vocabulary: the first `restrict_vocab` keys (upper-cased if
    case-insensitive) -> row; of several case variants the first row wins."""
    ok = {}
    for i, key in enumerate(s.index_to_key[:restrict_vocab]):
        ok.setdefault(key.upper() if case_insensitive else key, i)
    return ok


def _answer_analogies(s, ok_vocab, case_insensitive, end, chunk, rows):
    """Score a batch of questions at once, then apply gensim's per-question
    rule: among the top 5 that are not an input word, the first whose
    (upper-cased) key is neither a, b nor c is the prediction."""
    unit = s.vectors[rows] / s.norms()[rows][..., None]  # (batch, 3, dim): a, b, c
    query = unit[:, 1] + unit[:, 2] - unit[:, 0]
    query /= np.maximum(np.linalg.norm(query, axis=1, keepdims=True), 1e-30)
    scores = (query @ s.vectors[:end].T) / s.norms()[:end]
    for (section, words), input_rows, row_scores in zip(chunk, rows, scores):
        skip = set(input_rows.tolist())
        sims = [i for i in _top(row_scores, 5 + 3) if i not in skip][:5]
        predicted = None
        for i in sims:
            key = s.index_to_key[i]
            predicted = key.upper() if case_insensitive else key
            if predicted in ok_vocab and predicted not in words[:3]:
                break
        section["correct" if predicted == words[3] else "incorrect"].append(words)


# -- statistics without scipy ------------------------------------------------------


def _rankdata(x):
    """Ranks 1..n, ties get the average of the ranks they span (scipy's 'average')."""
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    new_group = np.concatenate(([True], xs[1:] != xs[:-1]))
    starts = np.flatnonzero(new_group)
    ends = np.append(starts[1:], len(x))
    ranks = np.empty(len(x))
    ranks[order] = ((starts + ends + 1) / 2.0)[np.cumsum(new_group) - 1]
    return ranks


def _pearson(x, y):
    """(r, two-sided p). The p-value is the t-test one scipy gives for Pearson
    and Spearman: with t = r sqrt((n-2)/(1-r^2)), P(|T| >= t) for n-2 degrees
    of freedom equals I_{1-r^2}((n-2)/2, 1/2)."""
    n = len(x)
    if n < 2:
        return math.nan, math.nan
    xm, ym = x - x.mean(), y - y.mean()
    denom = math.sqrt(float(np.dot(xm, xm)) * float(np.dot(ym, ym)))
    if denom == 0:
        return math.nan, math.nan
    r = max(-1.0, min(1.0, float(np.dot(xm, ym)) / denom))
    if n == 2:
        return r, 1.0
    return r, _betainc((n - 2) / 2.0, 0.5, (1.0 - r) * (1.0 + r))


def _betainc(a, b, x):
    """Regularized incomplete beta I_x(a, b) (Numerical Recipes, 6.4)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    if x > (a + 1.0) / (a + b + 2.0):  # the continued fraction converges fast only below this point
        return 1.0 - _betainc(b, a, 1.0 - x)
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    return math.exp(log_front) * _beta_fraction(a, b, x) / a


def _beta_fraction(a, b, x, eps=1e-15, tiny=1e-300):
    """Continued fraction of I_x(a, b), evaluated by the modified Lentz method."""
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10_000):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < eps:
            break
    return h


# -- file helpers -------------------------------------------------------------------


def _umask():
    try:  # reading it without os.umask(), whose set-and-restore races other threads
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    return 0o022


@contextlib.contextmanager
def _atomic_file(path):
    """A binary file that replaces `path` only once completely written and fsynced."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp's 0600 would surprise users
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _read_header(fin, fname):
    line = fin.readline(_MAX_HEADER_BYTES)
    m = re.fullmatch(rb"[ \t]*(\d{1,18})[ \t]+(\d{1,18})[ \t\r]*\n", line)
    if m is None:
        raise ValueError(f"{fname}: line 1: expected a header 'n_words dim', got {line[:40]!r}")
    n_words, dim = int(m.group(1)), int(m.group(2))
    if not 1 <= dim <= MAX_DIM:
        raise ValueError(f"{fname}: line 1: dim {dim} is outside [1, {MAX_DIM}]")
    return n_words, dim


def _decode(raw, encoding, errors, where):
    try:
        return raw.decode(encoding, errors)
    except UnicodeDecodeError as e:
        raise ValueError(f"{where}: word is not valid {encoding} ({e})") from e


def _read_text(fin, fname, vectors, encoding, errors):
    n, dim = vectors.shape
    max_line = MAX_WORD_BYTES + _MAX_NUMBER_CHARS * dim
    keys = []
    for i in range(n):
        where = f"{fname}: line {i + 2}"
        raw = fin.readline(max_line + 1)
        if not raw:
            raise ValueError(f"{where}: file ends after {i} of {n} words (truncated?)")
        if len(raw) > max_line:
            raise ValueError(f"{where}: line longer than {max_line} bytes")
        parts = _decode(raw, encoding, errors, where).rstrip().split(" ")
        if len(parts) != dim + 1 or not parts[0]:
            raise ValueError(f"{where}: expected a word and {dim} numbers, got {len(parts)} fields"
                             " (is this really the text format?)")
        try:
            with np.errstate(over="ignore"):  # 1e99 becomes inf in float32, as in gensim
                vectors[i] = [float(v) for v in parts[1:]]
        except ValueError as e:
            raise ValueError(f"{where}: {e}") from None
        keys.append(parts[0])
    return keys


def _read_binary(fin, fname, vectors, encoding, errors):
    n, dim = vectors.shape
    vec_bytes = 4 * dim
    buf, pos, buf_offset = b"", 0, fin.tell()  # buf[0] is at file offset buf_offset
    keys = []
    for i in range(n):
        # refill until the word's space and the whole vector after it are in buf
        while True:
            space = buf.find(b" ", pos, pos + MAX_WORD_BYTES + 1)
            if space >= 0 and len(buf) - space - 1 >= vec_bytes:
                break
            if space < 0 and len(buf) - pos > MAX_WORD_BYTES:
                raise ValueError(f"{fname}: byte offset {buf_offset + pos}: no space within"
                                 f" {MAX_WORD_BYTES} bytes after word {i + 1} starts")
            more = fin.read(max(_CHUNK, vec_bytes + MAX_WORD_BYTES))
            if not more:
                raise ValueError(f"{fname}: byte offset {buf_offset + pos}: file ends inside"
                                 f" word {i + 1} of {n} (truncated?)")
            buf, buf_offset, pos = buf[pos:] + more, buf_offset + pos, 0
        where = f"{fname}: byte offset {buf_offset + pos}"
        raw = buf[pos:space].lstrip(b"\n")  # word2vec.c ends each vector with '\n'; gensim does not
        if not raw or b"\n" in raw:
            raise ValueError(f"{where}: word {i + 1} is empty or contains a newline"
                             " (is this really the binary format?)")
        keys.append(_decode(raw, encoding, errors, where))
        vectors[i] = np.frombuffer(buf, dtype="<f4", count=dim, offset=space + 1)
        pos = space + 1 + vec_bytes
    return keys
