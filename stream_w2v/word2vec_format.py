"""The word2vec.c formats: ``n_words dim`` files, text or binary.

``KeyedVectors.save_word2vec_format`` and ``load_word2vec_format`` delegate
here. This module knows nothing of ``KeyedVectors``: it writes and reads plain
keys, float32 rows and counts. The writer is atomic: a crash leaves the old
file or the new one, never part of one. The reader trusts no size in the
file: the header's dim is bounded, the word count must fit in the bytes that
follow, and each line or word is read with a length cap, so a corrupt file
costs a ValueError naming the place, never a huge allocation.
"""
import contextlib
import logging
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


def save(fname, index_to_key, vectors, counts=None, *, binary=False, sort_by_count=True):
    """Write `vectors` (rows of `index_to_key`) to `fname`, most frequent
    first when `counts` are given; see ``KeyedVectors.save_word2vec_format``."""
    n, dim = vectors.shape
    if sort_by_count and counts is not None:
        order = np.argsort(-counts, kind="stable")
    else:
        order = np.arange(n)
    keys = [str(index_to_key[i]) for i in order]
    for key in keys:
        if not key or " " in key or "\n" in key:
            raise ValueError(f"key {key!r} cannot be stored in word2vec format (empty, space or newline)")
    # '%.9g' is the shortest format that gives back every float32 exactly
    row_format = " ".join(["%.9g"] * dim)
    with _atomic_file(fname) as fout:
        fout.write(f"{n} {dim}\n".encode("ascii"))
        for start in range(0, n, 4096):
            block = vectors[order[start:start + 4096]].astype("<f4")
            block_keys = keys[start:start + 4096]
            if binary:
                out = b"".join(k.encode("utf8") + b" " + row.tobytes() + b"\n" for k, row in zip(block_keys, block))
            else:
                out = "".join(f"{k} {row_format % tuple(row.tolist())}\n" for k, row in zip(block_keys, block))
                out = out.encode("utf8")
            fout.write(out)


def load(fname, *, binary=False, limit=None, encoding="utf8", unicode_errors="strict"):
    """(keys, float32 vectors, made-up counts) of a word2vec.c / gensim file;
    see ``KeyedVectors.load_word2vec_format``."""
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
    return keys, vectors, np.arange(len(keys), 0, -1, dtype=np.int64)


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
