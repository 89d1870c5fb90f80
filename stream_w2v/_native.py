"""The only module that touches ``ffi``: checks every input, then calls C.

C trusts its inputs, so everything C could misread is checked here first: a
float64 array passed as float32 (``ffi.from_buffer`` would accept it), a
non-contiguous view, a wrong shape, an index out of range. A wrong input is a
``TypeError`` or ``ValueError`` naming the argument, never a crash.

Index arrays (Huffman paths, the negative table) are validated once, when a
:class:`KernelModel` is built, and copied into read-only arrays the caller
cannot mutate afterwards; per batch only the token ids are checked (O(n)).

Update rules (``lr_mode``, see csrc/w2v.h): ``"sgd"`` is word2vec.c's plain
step (the default); ``"adagrad_row"`` and ``"adagrad_coord"`` are AdaGrad with
one accumulator per row / per coordinate, and ``alpha`` is then its base step
eta. The accumulators belong to the caller (``syn0_acc``, ``syn1_acc``,
``syn1neg_acc`` of :class:`KernelModel`): float32, shape ``(rows,)`` per row or
the matrix's shape per coordinate, finite and > 0 (yskip initialises them to
1e-8); the kernel adds squared gradients to them in place. ``"count"`` is the
per-row decay by count: row r steps with ``alpha / (1 + n_r / count_tau)``,
its count ``n_r`` read from the caller's ``syn0_count``, ``syn1_count``,
``syn1neg_count`` (float32, shape ``(rows,)``, finite and >= 0, never written:
two matrices may share one array).

Shared negatives (``shared_negatives=True``, skip-gram with negative sampling
and no HS only; pWord2Vec, Ji et al. 2016): every center position is one
minibatch of all its context rows against the center and one set of noise
words, drawn once per center instead of once per (context, center) pair. The
equations are in csrc/w2v.h; the float64 replay is in oracle.py.
"""
from __future__ import annotations

import math
import os
import warnings
from typing import NamedTuple

import numpy as np

from stream_w2v import _w2v
from stream_w2v._w2v import ffi, lib

ISA_NAMES = ("scalar", "avx2", "avx512")
#: One slot of the noise distribution's alias table (w2v_alias in csrc/w2v.h).
ALIAS_DTYPE = np.dtype([("prob", "<f4"), ("alias", "<i4")])
_MAX_WINDOW = 1 << 20
#: HS inner nodes a training call keeps private (see KernelModel.train): the
#: top ~8 levels of the tree, which every word's path crosses. Measured with
#: the kernels alone, a full pass's batches replayed on 1 then 2 threads, the
#: values alternating within each round (`python -m bench replay --modes SG-HS
#: CBOW-HS --tokens 11100000 --rounds 3 --hs-hot-rows 64 256 --name hot-rows`,
#: 2026-12-05): 2 threads / 1, median of 3, SG-HS 1.89x at 64 and 2.08x at
#: 256 (2-thread CPU over 1-thread CPU 1.04 and 0.95), CBOW-HS 1.80x and
#: 2.10x (1.07 and 0.94); single-thread CPU within the rounds' spread
#: (CBOW-HS 9.3-9.5 s against 9.5-10.7 s). An earlier trial also had 1024:
#: no better at 2 threads than 256, 5-10% more CPU at 1 (publishing every
#: 1024 positions copies the private rows: HOT_PUBLISH, csrc/train_impl.h).
HS_HOT_ROWS = 256
_MAX_HOT_ROWS = 1 << 20
#: Update rules, in the order of csrc/w2v.h's W2V_LR_* values.
LR_MODES = ("sgd", "adagrad_row", "adagrad_coord", "count")


class BatchResult(NamedTuple):
    loss: float         # sum of -log-likelihood over every logistic term
    words_kept: int     # in-vocabulary tokens that survived subsampling
    examples: int       # (hidden layer, center word) examples trained
    terms: int          # logistic terms evaluated
    rng: int            # the advanced random state, to pass to the next call


# ---------------------------------------------------------------- ISA choice

def available_isas() -> list[str]:
    mask = lib.w2v_cpu_isas()
    return [name for i, name in enumerate(ISA_NAMES) if mask & (1 << i)]


def set_isa(name: str) -> None:
    """Force one kernel family (``scalar``, ``avx2``, ``avx512``) for the process."""
    if name not in ISA_NAMES:
        raise ValueError(f"unknown kernel ISA {name!r}; choose one of {', '.join(ISA_NAMES)}")
    if lib.w2v_set_isa(ISA_NAMES.index(name)) != lib.W2V_OK:
        raise ValueError(f"kernel ISA {name!r} is not supported by this CPU "
                         f"(available: {', '.join(available_isas())})")


def get_isa() -> str:
    return ISA_NAMES[lib.w2v_get_isa()]


def kernel_info() -> dict:
    return {
        "isa": get_isa(),
        "available": available_isas(),
        "sigmoid_table_size": lib.W2V_SIGMOID_TABLE_SIZE,
        "max_exp": float(lib.W2V_MAX_EXP),
        "forced_by_env": os.environ.get("STREAM_W2V_KERNEL") or None,
        "module": _w2v.__file__,
    }


def shadowed_builds(loaded: str) -> list[str]:
    """Builds of the extension beside ``loaded`` under another name and newer
    than it. ``pip install -e`` writes ``_w2v.cpython-311-<platform>.so`` and
    ``setup.py build_ext --inplace`` may write ``_w2v.abi3.so``; Python
    imports the first name it knows, so after a rebuild under the other name
    the old kernels run silently (a benchmark of ours once measured one)."""
    folder, name = os.path.split(os.path.abspath(loaded))
    stem, mtime = name.split(".", 1)[0], os.path.getmtime(loaded)
    return sorted(os.path.join(folder, other) for other in os.listdir(folder)
                  if other != name and other.split(".", 1)[0] == stem
                  and other.endswith((".so", ".pyd"))
                  and os.path.getmtime(os.path.join(folder, other)) > mtime)


def _warn_if_shadowed() -> None:
    newer = shadowed_builds(_w2v.__file__)
    if newer:
        warnings.warn(f"stream_w2v loaded {_w2v.__file__}, but a newer build of its kernels beside it "
                      f"is not loaded: {', '.join(newer)}; remove the older file", RuntimeWarning, stacklevel=2)


_warn_if_shadowed()


def _apply_env_override() -> None:
    name = os.environ.get("STREAM_W2V_KERNEL")
    if name:
        set_isa(name.strip().lower())


_apply_env_override()


# ---------------------------------------------------------------- primitives

def sigmoid(x: float) -> float:
    return float(lib.w2v_sigmoid(float(x)))


def log1pexp(z: float) -> float:
    return float(lib.w2v_log1pexp(float(z)))


def dot(a: np.ndarray, b: np.ndarray) -> float:
    a = _vector("a", a)
    b = _vector("b", b, len(a))
    return float(lib.w2v_dot(_fptr(a), _fptr(b), len(a)))


def axpy(alpha: float, x: np.ndarray, y: np.ndarray) -> None:
    """y += alpha * x, in place."""
    x = _vector("x", x)
    y = _vector("y", y, len(x), writable=True)
    lib.w2v_axpy(float(alpha), _fptr(x), _fptr(y, writable=True), len(x))


def adagrad(s: float, x: np.ndarray, eta: float, G: np.ndarray, y: np.ndarray) -> None:
    """Per-coordinate AdaGrad in place: ``t = s x; G += t*t; y += eta * t / sqrt(G)``."""
    x = _vector("x", x)
    G = _vector("G", G, len(x), writable=True)
    y = _vector("y", y, len(x), writable=True)
    if np.may_share_memory(G, y) or np.may_share_memory(x, G) or np.may_share_memory(x, y):
        raise ValueError("x, G and y must not overlap")
    lib.w2v_adagrad(float(s), _fptr(x), float(eta), _fptr(G, writable=True),
                    _fptr(y, writable=True), len(x))


def _rows(name: str, m, dim: int | None = None) -> np.ndarray:
    """n rows of dim floats stored one after another, as w2v_dots / w2v_lincomb take them."""
    m = _float32(name, m, 2, False)
    if dim is not None and m.shape[1] != dim:
        raise ValueError(f"{name} has {m.shape[1]} columns, expected {dim}")
    if m.shape[0] > 2**31 - 1 or m.shape[1] > 2**31 - 1:
        raise ValueError(f"{name} is too large for the kernels")
    return m


def dots(h: np.ndarray, u: np.ndarray) -> np.ndarray:
    """[dot(h, u_k) for each row u_k], bit for bit, in the kernel's batched form."""
    h = _vector("h", h)
    u = _rows("u", u, len(h))
    out = np.zeros(len(u), np.float32)
    lib.w2v_dots(_fptr(h), _fptr(u), len(u), _fptr(out, writable=True), len(h))
    return out


def lincomb(c: np.ndarray, x: np.ndarray, y: np.ndarray | None = None, alpha: float = 1.0) -> np.ndarray:
    """s = sum_k c[k] x_k (k ascending). Without y: s. With y: y += alpha * s in
    place (and y returned), bit for bit ``axpy(alpha, lincomb(c, x), y)``."""
    c = _vector("c", c)
    x = _rows("x", x)
    if not 1 <= len(c) <= lib.W2V_MAX_PRIMITIVE_ROWS or len(x) != len(c):
        raise ValueError(f"lincomb takes 1 to {lib.W2V_MAX_PRIMITIVE_ROWS} rows, one per coefficient; "
                         f"got {len(x)} rows, {len(c)} coefficients")
    dim = x.shape[1]
    out = np.zeros(dim, np.float32) if y is None else _vector("y", y, dim, writable=True)
    if y is not None and np.may_share_memory(out, x):
        raise ValueError("y must not overlap x")
    lib.w2v_lincomb(float(alpha), _fptr(c), _fptr(x), len(c), _fptr(out, writable=True), dim,
                    0 if y is None else 1)
    return out


def build_alias(weights) -> np.ndarray:
    """Walker's alias table (ALIAS_DTYPE, one slot per word) for ``weights``."""
    w = np.ascontiguousarray(weights, dtype=np.float64)
    if w.ndim != 1 or len(w) == 0:
        raise ValueError("weights must be a non-empty 1-dimensional array")
    if len(w) > 2**31 - 1:
        raise ValueError("weights has more entries than int32 word ids allow")
    if not np.all(np.isfinite(w)) or np.any(w < 0) or not w.sum() > 0:
        raise ValueError("weights must be finite, non-negative and not all zero")
    out = np.empty(len(w), dtype=ALIAS_DTYPE)
    if lib.w2v_build_alias(ffi.from_buffer("double[]", w), len(w),
                           ffi.from_buffer("w2v_alias[]", out, require_writable=True)) != lib.W2V_OK:
        raise MemoryError("w2v_build_alias could not allocate its work lists")
    return out


# ---------------------------------------------------------------- checks

def _float32(name: str, a, ndim: int, writable: bool) -> np.ndarray:
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, not {type(a).__name__}")
    if a.dtype != np.float32:
        raise TypeError(f"{name} must have dtype float32, not {a.dtype}")
    if a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, not {a.ndim}-dimensional")
    if not a.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous")
    if writable and not a.flags.writeable:
        raise ValueError(f"{name} must be writable")
    return a


def _vector(name, a, length=None, writable=False) -> np.ndarray:
    a = _float32(name, a, 1, writable)
    if length is not None and len(a) != length:
        raise ValueError(f"{name} has length {len(a)}, expected {length}")
    if len(a) > 2**31 - 1:
        raise ValueError(f"{name} is too long for the kernels")
    return a


def _matrix(name, a, rows: int | None, dim: int | None) -> np.ndarray:
    a = _float32(name, a, 2, writable=True)
    if rows is not None and a.shape[0] < rows:
        raise ValueError(f"{name} has {a.shape[0]} rows, needs at least {rows}")
    if dim is not None and a.shape[1] != dim:
        raise ValueError(f"{name} has {a.shape[1]} columns, expected {dim}")
    return a


def _given_for(name: str, a, matrix: np.ndarray | None, matrix_name: str) -> bool:
    """Whether a per-row array of ``matrix`` was given (None: not); it must be an
    ndarray, and only for a matrix that is there."""
    if a is None:
        return False
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, not {type(a).__name__}")
    if matrix is None:
        raise ValueError(f"{name} is given but {matrix_name} is not")
    return True


def _accumulator(name: str, a, matrix: np.ndarray | None, matrix_name: str) -> np.ndarray | None:
    """An AdaGrad accumulator of ``matrix``: float32, C-contiguous, writable, shape
    ``(rows,)`` (per row) or ``matrix.shape`` (per coordinate), finite and > 0."""
    if not _given_for(name, a, matrix, matrix_name):
        return None
    a = _float32(name, a, a.ndim, writable=True)
    if a.shape not in ((matrix.shape[0],), matrix.shape):
        raise ValueError(f"{name} has shape {a.shape}; expected ({matrix.shape[0]},) for "
                         f"per-row AdaGrad or {matrix.shape} (the shape of {matrix_name}) "
                         f"for per-coordinate AdaGrad")
    if np.may_share_memory(a, matrix):
        raise ValueError(f"{name} must not share memory with {matrix_name}")
    # Two reductions, no temporary of the accumulator's size: min > 0 is False for NaN,
    # max < inf catches +inf.
    if a.size and not (float(a.min()) > 0.0 and float(a.max()) < math.inf):
        raise ValueError(f"{name} must be finite and > 0 everywhere "
                         f"(min {a.min()}, max {a.max()})")
    return a


def _counts(name: str, a, matrix: np.ndarray | None, matrix_name: str,
            matrices: tuple) -> np.ndarray | None:
    """The per-row counts of ``matrix`` (W2V_LR_COUNT): float32, C-contiguous, shape
    ``(rows,)``, finite and >= 0, not overlapping any matrix (the kernel writes those).
    Read only by the kernel, so it may be read-only and may be shared between matrices."""
    if not _given_for(name, a, matrix, matrix_name):
        return None
    a = _float32(name, a, 1, writable=False)
    if a.shape != (matrix.shape[0],):
        raise ValueError(f"{name} has shape {a.shape}; expected ({matrix.shape[0]},), "
                         f"one count per row of {matrix_name}")
    if any(m is not None and np.may_share_memory(a, m) for m in matrices):
        raise ValueError(f"{name} must not share memory with syn0, syn1 or syn1neg")
    # min >= 0 is False for NaN, max < inf catches +inf.
    if a.size and not (float(a.min()) >= 0.0 and float(a.max()) < math.inf):
        raise ValueError(f"{name} must be finite and >= 0 everywhere "
                         f"(min {a.min()}, max {a.max()})")
    return a


def _indices(name: str, a, dtype, lo: int, hi: int, ndim: int = 1) -> np.ndarray:
    """A read-only C-contiguous copy of integer array ``a`` with values in [lo, hi)."""
    if not isinstance(a, np.ndarray):
        a = np.asarray(a)
    if a.dtype.kind not in "iub" and not (a.size == 0 and a.dtype.kind == "f"):
        raise TypeError(f"{name} must be an integer array, not {a.dtype}")
    if a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, not {a.ndim}-dimensional")
    if a.size and (int(a.min()) < lo or int(a.max()) >= hi):
        raise ValueError(f"{name} has values outside [{lo}, {hi}): min {a.min()}, max {a.max()}")
    out = np.array(a, dtype=dtype, order="C", copy=True)
    out.flags.writeable = False
    return out


def _flag(name: str, value, allowed) -> int:
    if isinstance(value, (bool, np.bool_)):
        value = int(value)
    if not isinstance(value, (int, np.integer)) or int(value) not in allowed:
        raise ValueError(f"{name} must be one of {sorted(allowed)}, not {value!r}")
    return int(value)


def _fptr(a: np.ndarray, writable: bool = False):
    return ffi.from_buffer("float[]", a, require_writable=writable)


# ---------------------------------------------------------------- index tables

class HuffmanTables:
    """A Huffman tree's paths, checked once and frozen (copied read-only).

    Row w holds word w's path: ``code_lens[w]`` inner-node ids (rows of syn1)
    in ``points[w]`` and branch bits in ``codes[w]``. The tree may cover fewer
    words than the vocabulary (words promoted after the last rebuild).
    """

    def __init__(self, points, codes, code_lens):
        points = _indices("points", points, np.int32, -2**31, 2**31, ndim=2)
        words, max_len = points.shape
        codes = _indices("codes", codes, np.uint8, 0, 2, ndim=2)
        if codes.shape != points.shape:
            raise ValueError(f"codes has shape {codes.shape}, expected {points.shape}")
        code_lens = _indices("code_lens", code_lens, np.int32, 0, max_len + 1)
        if code_lens.shape != (words,):
            raise ValueError(f"code_lens has shape {code_lens.shape}, expected ({words},)")
        # Only the first code_lens[w] entries of a row are read: those must be ids.
        used = np.arange(max_len)[None, :] < code_lens[:, None]
        if used.any() and points[used].min() < 0:
            w, d = np.argwhere(used & (points < 0))[0]
            raise ValueError(f"points[{w}, {d}] = {points[w, d]} is negative")
        self.points, self.codes, self.code_lens = points, codes, code_lens
        self.words, self.max_code_len = words, max_len
        self.inner_nodes = int(points[used].max()) + 1 if used.any() else 0
        self._bufs = (ffi.from_buffer("int32_t[]", points), ffi.from_buffer("uint8_t[]", codes),
                      ffi.from_buffer("int32_t[]", code_lens))


class NoiseTable:
    """The noise distribution as a checked, frozen alias table (ALIAS_DTYPE)."""

    def __init__(self, table):
        if not isinstance(table, np.ndarray) or table.dtype != ALIAS_DTYPE:
            raise TypeError("neg_alias must be a numpy array of _native.ALIAS_DTYPE "
                            "(build it with _native.build_alias)")
        if table.ndim != 1 or len(table) == 0 or len(table) > 2**31 - 1:
            raise ValueError(f"neg_alias must be a non-empty 1-dimensional table, has shape {table.shape}")
        ids = table["alias"]
        if ids.min() < 0:
            raise ValueError(f"neg_alias['alias'] has a negative word id {ids.min()}")
        self.table = np.array(table, order="C", copy=True)
        self.table.flags.writeable = False
        self.max_word = max(int(ids.max()), len(table) - 1)
        self._buf = ffi.from_buffer("w2v_alias[]", self.table)


# ---------------------------------------------------------------- the model view

class KernelModel:
    """A checked view of the matrices and tables one training call needs.

    Cheap to build (the tables were checked when they were built), so the
    model builds one whenever the vocabulary grows. Float contents may change
    freely; the index tables are frozen.

    ``syn0_acc``, ``syn1_acc``, ``syn1neg_acc`` are the AdaGrad accumulators
    of the matrices (module docstring), checked here (finite and > 0: one
    O(size) pass); afterwards the kernel only adds squares to them, so they
    stay > 0. A caller that writes them must keep them finite and > 0. They
    are needed only when :meth:`train` runs with an AdaGrad ``lr_mode``, for
    the matrices the batch updates; their shape must match the mode.

    ``syn0_count``, ``syn1_count``, ``syn1neg_count`` are the per-row counts
    of ``lr_mode="count"`` (module docstring), checked here (finite and >= 0:
    one O(rows) pass); a caller that updates them in place must keep them so.
    """

    def __init__(self, syn0, syn1=None, syn1neg=None, *, huffman: HuffmanTables | None = None,
                 noise: NoiseTable | None = None, keep_prob=None, syn0_acc=None,
                 syn1_acc=None, syn1neg_acc=None, syn0_count=None, syn1_count=None,
                 syn1neg_count=None):
        syn0 = _matrix("syn0", syn0, None, None)
        vocab, dim = syn0.shape
        if vocab < 1 or dim < 1:
            raise ValueError(f"syn0 must have at least one row and one column, has shape {syn0.shape}")
        if dim > 2**31 - 1 or vocab > 2**31 - 1:
            raise ValueError(f"syn0 shape {syn0.shape} is too large for int32 indices")
        self.vocab_size, self.dim = vocab, dim
        self.syn0 = syn0
        self.syn1 = None if syn1 is None else _matrix("syn1", syn1, None, dim)
        self.syn1neg = None if syn1neg is None else _matrix("syn1neg", syn1neg, vocab, dim)
        if huffman is not None:
            if self.syn1 is None:
                raise ValueError("syn1 is required with a Huffman tree")
            if huffman.words > vocab:
                raise ValueError(f"the Huffman tree covers {huffman.words} words, the vocabulary has {vocab}")
            if huffman.inner_nodes > self.syn1.shape[0]:
                raise ValueError(f"points index {huffman.inner_nodes} inner nodes, syn1 has {self.syn1.shape[0]} rows")
        if noise is not None and noise.max_word >= vocab:
            raise ValueError(f"neg_alias holds word id {noise.max_word}, the vocabulary has {vocab}")
        self.huffman, self.noise = huffman, noise
        self.keep_prob = None if keep_prob is None else _vector("keep_prob", keep_prob, vocab)
        self.syn0_acc = _accumulator("syn0_acc", syn0_acc, self.syn0, "syn0")
        self.syn1_acc = _accumulator("syn1_acc", syn1_acc, self.syn1, "syn1")
        self.syn1neg_acc = _accumulator("syn1neg_acc", syn1neg_acc, self.syn1neg, "syn1neg")
        mats = (self.syn0, self.syn1, self.syn1neg)
        self.syn0_count = _counts("syn0_count", syn0_count, self.syn0, "syn0", mats)
        self.syn1_count = _counts("syn1_count", syn1_count, self.syn1, "syn1", mats)
        self.syn1neg_count = _counts("syn1neg_count", syn1neg_count, self.syn1neg, "syn1neg", mats)
        self._struct = self._build_struct()

    def _build_struct(self):
        s = ffi.new("w2v_model *")
        s.syn0 = _fptr(self.syn0, writable=True)
        s.syn1 = ffi.NULL if self.syn1 is None else _fptr(self.syn1, writable=True)
        s.syn1neg = ffi.NULL if self.syn1neg is None else _fptr(self.syn1neg, writable=True)
        s.vocab_size, s.dim = self.vocab_size, self.dim
        if self.huffman is not None:
            s.points, s.codes, s.code_lens = self.huffman._bufs
            s.n_coded, s.max_code_len = self.huffman.words, self.huffman.max_code_len
        if self.noise is not None:
            s.neg_alias, s.neg_alias_size = self.noise._buf, len(self.noise.table)
        self._keep_prob_buf = None if self.keep_prob is None else _fptr(self.keep_prob)
        s.keep_prob = self._keep_prob_buf if self._keep_prob_buf is not None else ffi.NULL
        accs = []
        for field in ("syn0_acc", "syn1_acc", "syn1neg_acc"):
            a = getattr(self, field)
            buf = ffi.NULL if a is None else _fptr(a, writable=True)
            setattr(s, field, buf)
            accs.append(buf)
        for field in ("syn0_count", "syn1_count", "syn1neg_count"):
            a = getattr(self, field)
            buf = ffi.NULL if a is None else ffi.from_buffer("float[]", a)
            setattr(s, field, buf)
            accs.append(buf)
        # The struct points into these buffers: keep them alive with it.
        self._refs = (s.syn0, s.syn1, s.syn1neg, *accs)
        return s

    def train(self, words, sentence_ends, *, sg: int, hs: int, negative: int, window: int,
              cbow_mean: int = 1, alpha: float = 0.025, alpha_end: float | None = None,
              rng: int = 1, compute_loss: bool = True, lr_mode: str = "sgd",
              count_tau: float | None = None, shared_negatives: bool = False,
              shared_output_scale: float = 1.0, hs_hot_rows: int = HS_HOT_ROWS) -> BatchResult:
        """Train one batch of sentences in one C call (the GIL is released).

        ``lr_mode`` is one of :data:`LR_MODES`; under AdaGrad ``alpha`` (to
        ``alpha_end``) is the base step eta and the accumulators of the
        matrices this batch updates are required. Under ``"count"`` ``alpha``
        is the rate of a row with count 0, ``count_tau`` (required, > 0, only
        with this mode) the count that halves it, and the counts of the
        matrices this batch updates are required.

        ``shared_negatives`` (True/False or 1/0; needs ``sg=1``, ``hs=0``,
        ``negative > 0``) trains every center position as one minibatch of its
        context rows with noise words drawn once per center (module docstring).
        ``shared_output_scale`` (> 0; other than 1 only with shared negatives
        under ``lr_mode="sgd"``): the output rows step at ``alpha`` times it.

        ``hs_hot_rows``: with HS, this many of the heaviest inner nodes are
        trained in a private copy merged back every 1024 positions, so that
        concurrent calls do not fight over the root's cache lines; one call
        alone gets the same result whatever the value (csrc/w2v.h).
        """
        params = self._params(sg, hs, negative, window, cbow_mean, alpha, alpha_end, compute_loss)
        params.lr_mode = self._lr_mode(lr_mode, params)
        params.count_tau = _count_tau(count_tau, lr_mode)
        params.shared_negatives = _shared_negatives(shared_negatives, params)
        params.shared_output_scale = _shared_output_scale(shared_output_scale, params)
        if isinstance(hs_hot_rows, bool) or not isinstance(hs_hot_rows, (int, np.integer)) \
                or not 0 <= hs_hot_rows <= _MAX_HOT_ROWS:
            raise ValueError(f"hs_hot_rows must be an integer in [0, {_MAX_HOT_ROWS}], not {hs_hot_rows!r}")
        params.hs_hot_rows = int(hs_hot_rows)
        words = _token_ids(words, self.vocab_size)
        ends = self._sentence_ends(sentence_ends, len(words))
        if not isinstance(rng, (int, np.integer)) or not 0 <= int(rng) < 2**64:
            raise ValueError(f"rng must be an integer in [0, 2**64), not {rng!r}")
        batch = ffi.new("w2v_batch *")
        wbuf, ebuf = ffi.from_buffer("int32_t[]", words), ffi.from_buffer("int64_t[]", ends)
        batch.words, batch.n_words = wbuf, len(words)
        batch.sentence_ends, batch.n_sentences = ebuf, len(ends)
        state = ffi.new("uint64_t *", int(rng))
        out = ffi.new("w2v_result *")
        if lib.w2v_train_batch(self._struct, params, batch, state, out) != lib.W2V_OK:
            raise MemoryError("w2v_train_batch could not allocate its scratch buffers")
        return BatchResult(out.loss, out.words_kept, out.examples, out.terms, int(state[0]))

    def _params(self, sg, hs, negative, window, cbow_mean, alpha, alpha_end, compute_loss):
        p = ffi.new("w2v_params *")
        p.sg = _flag("sg", sg, {0, 1})
        p.hs = _flag("hs", hs, {0, 1})
        p.cbow_mean = _flag("cbow_mean", cbow_mean, {0, 1, 2})
        p.compute_loss = _flag("compute_loss", compute_loss, {0, 1})
        if not isinstance(negative, (int, np.integer)) or not 0 <= negative <= 10_000:
            raise ValueError(f"negative must be an integer in [0, 10000], not {negative!r}")
        if not isinstance(window, (int, np.integer)) or not 1 <= window <= _MAX_WINDOW:
            raise ValueError(f"window must be an integer in [1, {_MAX_WINDOW}], not {window!r}")
        p.negative, p.window = int(negative), int(window)
        if p.hs and self.huffman is None:
            raise ValueError("hs=1 needs a Huffman tree (huffman=HuffmanTables(...))")
        if p.negative and (self.syn1neg is None or self.noise is None):
            raise ValueError("negative > 0 needs syn1neg and a noise table")
        alpha_end = alpha if alpha_end is None else alpha_end
        for name, value in (("alpha", alpha), ("alpha_end", alpha_end)):
            if not isinstance(value, (int, float, np.floating)) or not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number, not {value!r}")
        p.alpha, p.alpha_end = float(alpha), float(alpha_end)
        return p

    def _lr_mode(self, lr_mode, params) -> int:
        if not isinstance(lr_mode, str) or lr_mode not in LR_MODES:
            raise ValueError(f"lr_mode must be one of {', '.join(LR_MODES)}, not {lr_mode!r}")
        mode = LR_MODES.index(lr_mode)
        if mode == lib.W2V_LR_SGD:
            return mode
        if mode == lib.W2V_LR_COUNT:
            for name, used in (("syn0_count", True), ("syn1_count", bool(params.hs)),
                               ("syn1neg_count", params.negative > 0)):
                if used and getattr(self, name) is None:
                    raise ValueError(f"lr_mode='count' needs {name}, one count per row (shape (rows,))")
            return mode
        ndim = 1 if mode == lib.W2V_LR_ADAGRAD_ROW else 2
        kind = "per-row (shape (rows,))" if ndim == 1 else "per-coordinate (the matrix's shape)"
        needed = [("syn0_acc", True), ("syn1_acc", bool(params.hs)),
                  ("syn1neg_acc", params.negative > 0)]
        for name, used in needed:
            if not used:
                continue
            acc = getattr(self, name)
            if acc is None:
                raise ValueError(f"lr_mode={lr_mode!r} needs {name}, a {kind} accumulator")
            if acc.ndim != ndim:
                raise ValueError(f"{name} has shape {acc.shape}, but lr_mode={lr_mode!r} "
                                 f"needs a {kind} accumulator")
        return mode

    @staticmethod
    def _sentence_ends(ends, n_words: int) -> np.ndarray:
        ends = _indices("sentence_ends", ends, np.int64, 0, n_words + 1)
        if len(ends) and (np.any(np.diff(ends) < 0) or ends[-1] != n_words):
            raise ValueError("sentence_ends must be non-decreasing and end at len(words)")
        if not len(ends) and n_words:
            raise ValueError("sentence_ends is empty but words is not")
        return ends


def _count_tau(count_tau, lr_mode: str) -> float:
    """``count_tau`` as the kernel's float32: required and > 0 under "count", else absent."""
    if lr_mode != "count":
        if count_tau is not None:
            raise ValueError(f"count_tau is only used with lr_mode='count', not {lr_mode!r}")
        return 0.0
    if not _is_number(count_tau):
        raise ValueError(f"lr_mode='count' needs count_tau, a positive number, not {count_tau!r}")
    tau32 = _positive_float32(count_tau)
    if tau32 is None:
        raise ValueError(f"count_tau must be a positive number within float32's range, not {count_tau!r}")
    return tau32


def _is_number(value) -> bool:
    return not isinstance(value, (bool, np.bool_)) and isinstance(value, (int, float, np.integer, np.floating))


def _positive_float32(value) -> float | None:
    """``value`` as the kernel sees it, a float32, if that is finite and > 0
    (1e-50 rounds to 0, 1e39 to inf); None otherwise."""
    try:
        with np.errstate(over="ignore", under="ignore"):
            v32 = float(np.float32(value)) if math.isfinite(float(value)) else math.nan
    except OverflowError:                     # an int beyond float64
        return None
    return v32 if 0.0 < v32 < math.inf else None


def _shared_output_scale(value, params) -> float:
    """``shared_output_scale`` as the kernel's float32: positive and finite, and
    other than 1 only where the kernel reads it (shared negatives under SGD)."""
    scale = _positive_float32(value) if _is_number(value) else None
    if scale is None:
        raise ValueError(f"shared_output_scale must be a positive number, not {value!r}")
    if scale != 1.0 and not (params.shared_negatives and params.lr_mode == lib.W2V_LR_SGD):
        raise ValueError("shared_output_scale applies to shared negatives under lr_mode='sgd' only "
                         f"(got shared_negatives={params.shared_negatives}, lr_mode={LR_MODES[params.lr_mode]!r})")
    return scale


def _shared_negatives(value, params) -> int:
    """``shared_negatives`` as the kernel's 0/1: only True, False, 0 or 1, and 1 only for
    skip-gram with negative sampling and no HS."""
    if not isinstance(value, (bool, np.bool_, int, np.integer)):
        raise TypeError(f"shared_negatives must be True or False, not {type(value).__name__} {value!r}")
    if int(value) not in (0, 1):
        raise ValueError(f"shared_negatives must be True or False (or 1 or 0), not {value!r}")
    if int(value) and not (params.sg == 1 and params.hs == 0 and params.negative > 0):
        raise ValueError("shared_negatives needs sg=1, hs=0 and negative > 0 "
                         f"(got sg={params.sg}, hs={params.hs}, negative={params.negative})")
    return int(value)


def _token_ids(words, vocab_size: int) -> np.ndarray:
    """Token ids as int32 in [-1, vocab_size); no copy when already int32."""
    if isinstance(words, np.ndarray) and words.dtype == np.int32 and words.ndim == 1:
        words = np.ascontiguousarray(words)
        if words.size and (words.min() < -1 or words.max() >= vocab_size):
            raise ValueError(f"words has ids outside [-1, {vocab_size}): min {words.min()}, max {words.max()}")
        return words
    return _indices("words", words, np.int32, -1, vocab_size)


def train_batch(syn0, syn1, syn1neg, words, sentence_ends, *, points=None, codes=None,
                code_lens=None, neg_alias=None, keep_prob=None, syn0_acc=None, syn1_acc=None,
                syn1neg_acc=None, syn0_count=None, syn1_count=None, syn1neg_count=None,
                **kwargs) -> BatchResult:
    """One-shot form of :meth:`KernelModel.train` that builds and checks the tables too.

    ``syn0_acc``, ``syn1_acc``, ``syn1neg_acc``, ``syn0_count``, ``syn1_count``,
    ``syn1neg_count``, ``lr_mode``, ``count_tau`` and ``shared_negatives`` as in
    :class:`KernelModel` and :meth:`KernelModel.train`.
    """
    given = [x is not None for x in (points, codes, code_lens)]
    if any(given) and not all(given):
        raise ValueError("points, codes and code_lens must be given together")
    huffman = HuffmanTables(points, codes, code_lens) if all(given) else None
    noise = None if neg_alias is None else NoiseTable(neg_alias)
    model = KernelModel(syn0, syn1, syn1neg, huffman=huffman, noise=noise, keep_prob=keep_prob,
                        syn0_acc=syn0_acc, syn1_acc=syn1_acc, syn1neg_acc=syn1neg_acc,
                        syn0_count=syn0_count, syn1_count=syn1_count, syn1neg_count=syn1neg_count)
    return model.train(words, sentence_ends, **kwargs)


# ---------------------------------------------------------------- text

#: Token positions are int32 in C: a text longer than this is refused.
MAX_TEXT_BYTES = 2**31 - 2**20


class Read(NamedTuple):
    """What one reading call gave (see w2v_tokenize in csrc/w2v.h)."""
    ids: np.ndarray              # int32 per kept token: its id, -1 when not a word
    sentence_ends: np.ndarray    # int64, ascending exclusive ends into ids (token lists: none)
    unknown_pos: np.ndarray      # int64 positions of the tokens that were not words when read
    unknown: list | None         # their text, in order (when asked for)
    skipped: int                 # tokens longer than max_chars, dropped
    promoted: list               # words promoted by this call, in id order
    promoted_counts: np.ndarray  # int64, their counts


def _encode(word: str) -> bytes:
    if not isinstance(word, str):
        raise TypeError(f"a word must be a str, not {type(word).__name__}")
    return word.encode("utf-8", "surrogatepass")


def _positive(name: str, value, lo: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo:
        raise ValueError(f"{name} must be an integer >= {lo}, not {value!r}")
    return min(int(value), 2**62)


def _pieces(buf: bytearray, ends: np.ndarray) -> list:
    """Keys written back to back, key k ending at ``ends[k]``."""
    data, bounds = bytes(memoryview(buf)[:int(ends[-1])]) if len(ends) else b"", [0] + ends.tolist()
    return [data[a:b].decode("utf-8", "surrogatepass") for a, b in zip(bounds[:-1], bounds[1:])]


def _lines(buf: bytearray, size: int) -> list:
    """Keys written back to back, each followed by a newline (a key never holds one)."""
    return bytes(buf[:size]).decode("utf-8", "surrogatepass").split("\n")[:-1]


class WordTable:
    """The vocabulary's words and candidates in a C hash table (csrc/word_table.c).

    Words get ids 0, 1, ... in the order they are promoted (or added back from
    a saved state) and keep them. Not thread-safe: one thread reads and
    counts (the model's batch preparation, under its batch lock).
    """

    def __init__(self):
        ptr = lib.w2v_words_new()
        if ptr == ffi.NULL:
            raise MemoryError("could not allocate the word table")
        self._ptr = ffi.gc(ptr, lib.w2v_words_free)
        self._capacity = -1

    def __len__(self) -> int:
        return int(lib.w2v_words_size(self._ptr))

    @property
    def n_candidates(self) -> int:
        return int(lib.w2v_words_candidates(self._ptr))

    def get(self, word: str) -> int:
        """The id of a word; -1 for a candidate or an unknown key."""
        key = _encode(word)
        return max(int(lib.w2v_words_get(self._ptr, key, len(key))), -1)

    def _absent(self, word: str) -> bytes:
        key = _encode(word)
        if len(key) >= 2**31:
            raise ValueError("a key of 2 GiB or more cannot be held")
        if lib.w2v_words_get(self._ptr, key, len(key)) != -1:
            raise ValueError(f"{word!r:.60} is already in the word table")
        return key

    def add(self, word: str) -> int:
        """Add a word (restoring a saved state); returns its id, ``len(self)`` before."""
        key = self._absent(word)
        if lib.w2v_words_add(self._ptr, key, len(key)) != lib.W2V_OK:
            raise MemoryError("could not grow the word table")
        return len(self) - 1

    def restore(self, words: list, candidates: list, counts) -> None:
        """Fill an empty table from a saved state: words in id order, then candidates."""
        counts = np.asarray(counts, dtype=np.int64)
        if len(self) or self.n_candidates:
            raise ValueError("restore() needs an empty word table")
        if len(candidates) != len(counts) or (len(counts) and counts.min() < 1):
            raise ValueError("candidate counts must be one positive count per candidate")
        if len(set(words) | set(candidates)) != len(words) + len(candidates):
            raise ValueError("a key is listed twice in the saved words and candidates")
        for word in words:
            key = _encode(word)
            if lib.w2v_words_add(self._ptr, key, len(key)) != lib.W2V_OK:
                raise MemoryError("could not grow the word table")
        for word, count in zip(candidates, counts.tolist()):
            key = _encode(word)
            if lib.w2v_words_add_candidate(self._ptr, key, len(key), count) != lib.W2V_OK:
                raise MemoryError("could not grow the word table")

    def candidate_counts(self) -> np.ndarray:
        counts = np.empty(self.n_candidates, np.int64)
        lib.w2v_words_export_candidates(self._ptr, ffi.NULL, ffi.NULL,
                                        ffi.from_buffer("int64_t[]", counts, require_writable=True))
        return counts

    def candidates(self) -> tuple[list, np.ndarray]:
        """(keys, counts) of the candidates, in table order."""
        n = self.n_candidates
        keys = bytearray(int(lib.w2v_words_candidate_bytes(self._ptr)) + 1)
        offsets, counts = np.empty(n + 1, np.int64), np.empty(n, np.int64)
        lib.w2v_words_export_candidates(self._ptr, ffi.from_buffer("char[]", keys, require_writable=True),
                                        ffi.from_buffer("int64_t[]", offsets, require_writable=True),
                                        ffi.from_buffer("int64_t[]", counts, require_writable=True))
        data = bytes(keys)
        bounds = offsets.tolist()
        return [data[a:b].decode("utf-8", "surrogatepass") for a, b in zip(bounds[:-1], bounds[1:])], counts

    def forget(self, cut: int) -> None:
        """Misra-Gries: every candidate's count minus ``cut``; those at or below 0 go."""
        if lib.w2v_words_forget(self._ptr, _positive("cut", cut)) != lib.W2V_OK:
            raise MemoryError("could not rebuild the word table")

    def tokenize(self, text: bytes, doc_ends, max_chars: int, max_sentence: int,
                 min_count: int = 0, unknown_text: bool = False, counts: np.ndarray | None = None) -> Read:
        """Split, look up and (``min_count`` > 0) count documents held back to back
        in ``text`` (UTF-8, as ``str.encode("utf-8", "surrogatepass")`` gives it);
        document d ends at byte ``doc_ends[d]``. Tokens are ``str.split()``'s;
        see w2v_tokenize in csrc/w2v.h for sentences, long tokens and counting.
        ``counts`` (int64, at least ``len(self)`` entries) takes one more per
        token read as a word."""
        if not isinstance(text, bytes):
            raise TypeError(f"text must be bytes, not {type(text).__name__}")
        if len(text) > MAX_TEXT_BYTES:
            raise ValueError(f"text of {len(text)} bytes is more than one call takes ({MAX_TEXT_BYTES})")
        ends = np.ascontiguousarray(doc_ends, dtype=np.int64)
        if ends.ndim != 1 or (len(ends) and (ends[0] < 0 or ends[-1] > len(text) or np.any(np.diff(ends) < 0))):
            raise ValueError("doc_ends must be ascending byte offsets within text")
        max_chars, max_sentence = _positive("max_chars", max_chars), _positive("max_sentence", max_sentence)
        out, keep = self._outputs(len(text), len(ends), max_sentence, unknown_text)
        self._count_into(out, keep, counts)
        status = lib.w2v_tokenize(self._ptr, text, len(text), ffi.from_buffer("int64_t[]", ends), len(ends),
                                  max_chars, max_sentence, _positive("min_count", min_count, 0), out)
        return self._result(status, out, keep)

    def count_tokens(self, tokens: list, min_count: int = 0, counts: np.ndarray | None = None) -> Read:
        """The same reading for a list of tokens, each one key (it may hold spaces)."""
        keys = [_encode(t) for t in tokens]
        ends = np.cumsum(np.fromiter(map(len, keys), dtype=np.int64, count=len(keys)))
        data = b"".join(keys)
        if len(data) + len(keys) > MAX_TEXT_BYTES:
            raise ValueError(f"tokens of {len(data)} bytes are more than one call takes ({MAX_TEXT_BYTES})")
        out, keep = self._outputs(len(data) + len(keys), 0, 2**62, False)
        self._count_into(out, keep, counts)
        status = lib.w2v_count_tokens(self._ptr, data, ffi.from_buffer("int64_t[]", ends), len(keys),
                                      _positive("min_count", min_count, 0), out)
        return self._result(status, out, keep)

    #: What C writes and :meth:`_result` copies out before the next call: the
    #: table's own buffers (name, C type, NumPy type, entries per token), grown when needed,
    #: so a batch allocates nothing for them. ids and sentence_ends go to the
    #: kernel with the batch: new per call.
    _REUSED = (("scratch", "int32_t", np.int32, 2), ("spans", "uint64_t", np.uint64, 2),
               ("unknown_pos", "int32_t", np.int32, 1), ("promoted_counts", "int64_t", np.int64, 1),
               ("promoted_ends", "int64_t", np.int64, 1), ("promoted_text", "char", np.uint8, 1))

    def _reserve(self, n: int) -> None:
        if self._capacity >= n:
            return
        self._capacity = 2 * n
        self._reused = {name: np.empty(per * self._capacity + 1, dtype) for name, _, dtype, per in self._REUSED}
        self._reused_bufs = {name: ffi.from_buffer(ctype + "[]", self._reused[name], require_writable=True)
                             for name, ctype, _, _ in self._REUSED}

    def _outputs(self, n: int, docs: int, max_sentence: int, unknown_text: bool):
        """A w2v_tokens with its arrays sized as csrc/w2v.h asks, and the arrays it
        points into (kept alive with it)."""
        self._reserve(n)
        keep = dict(self._reused, ids=np.empty(max(n, 1), np.int32),
                    sentence_ends=np.empty(docs + n // max_sentence + 1, np.int64),
                    unknown_text=bytearray(n + docs + 1) if unknown_text else None)
        out = ffi.new("w2v_tokens *")
        for name, buf in self._reused_bufs.items():
            setattr(out, name, buf)
        for name, dtype in (("ids", "int32_t[]"), ("sentence_ends", "int64_t[]"), ("unknown_text", "char[]")):
            if keep[name] is not None:
                keep[name + "_buf"] = buf = ffi.from_buffer(dtype, keep[name], require_writable=True)
                setattr(out, name, buf)
        return out, keep

    def _count_into(self, out, keep, counts) -> None:
        if counts is None:
            return
        if not (isinstance(counts, np.ndarray) and counts.dtype == np.int64 and counts.ndim == 1
                and counts.flags.c_contiguous and counts.flags.writeable):
            raise TypeError("counts must be a writable, contiguous 1-dimensional int64 array")
        if len(counts) < len(self):
            raise ValueError(f"counts has {len(counts)} entries, the table has {len(self)} words")
        keep["counts_buf"] = out.counts = ffi.from_buffer("int64_t[]", counts, require_writable=True)

    @staticmethod
    def _result(status: int, out, keep) -> Read:
        if status != lib.W2V_OK:
            raise MemoryError("could not grow the word table while reading")
        return Read(keep["ids"][:out.tokens], keep["sentence_ends"][:out.sentences],
                    keep["unknown_pos"][:out.unknown].astype(np.int64),
                    _lines(keep["unknown_text"], out.unknown_bytes) if keep["unknown_text"] is not None else None,
                    int(out.skipped), _pieces(keep["promoted_text"], keep["promoted_ends"][:out.promoted]),
                    keep["promoted_counts"][:out.promoted].copy())


# ---------------------------------------------------------------- Huffman merges

def huffman_children(counts) -> np.ndarray:
    """The merges of Huffman's algorithm on ``counts`` (non-negative integers), in C.

    Row k of the ``(n - 1, 2)`` int32 result holds the two node ids joined by
    inner node ``n + k``: the lighter first, ties broken by (count, node id),
    i.e. exactly what a heap of ``(count, id)`` pairs pops. O(n) after one
    stable sort.
    """
    counts = _indices("counts", counts, np.int64, 0, 2**63)
    n = len(counts)
    if n > 2**31 - 1:
        raise ValueError(f"counts has {n} words, more than int32 node ids allow")
    # Every merged count is at most the total: it must fit in int64.
    if n and int(counts.max()) > (2**63 - 1) // n and sum(counts.tolist()) >= 2**63:
        raise ValueError("counts sum to 2^63 or more: merged counts would overflow int64")
    order = np.argsort(counts, kind="stable")    # (count, id) order
    children = np.zeros((max(n - 1, 0), 2), dtype=np.int32)
    if n < 2:
        return children
    rc = lib.w2v_huffman_merge(ffi.from_buffer("int64_t[]", counts), ffi.from_buffer("int64_t[]", order),
                               n, ffi.from_buffer("int32_t[]", children, require_writable=True))
    if rc != lib.W2V_OK:
        raise MemoryError("out of memory building the Huffman tree")
    return children


def huffman_paths(children) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Root-first paths of the leaves of the tree whose merges are ``children``, in C.

    ``children`` as :func:`huffman_children` returns it: ``(n - 1, 2)``, row k
    joining two nodes with ids below ``n + k``, every node but the root once.
    Returns ``(points, codes, code_lens)``: ``(n, width)`` int32 inner-node
    rows (id - n) and uint8 branch bits, zero past each leaf's depth, and the
    depths (``width`` the largest, at least 1).
    """
    children = _tree_children(children)
    n = len(children) + 1
    depth = np.zeros(2 * n - 1, dtype=np.int32)
    kids = ffi.from_buffer("int32_t[]", children)
    if n > 1:
        lib.w2v_huffman_depths(kids, n, ffi.from_buffer("int32_t[]", depth, require_writable=True))
    code_lens = np.ascontiguousarray(depth[:n])
    width = max(int(code_lens.max()), 1)
    points = np.zeros((n, width), dtype=np.int32)
    codes = np.zeros((n, width), dtype=np.uint8)
    if n > 1 and lib.w2v_huffman_paths(kids, n, ffi.from_buffer("int32_t[]", code_lens), width,
                                       ffi.from_buffer("int32_t[]", points, require_writable=True),
                                       ffi.from_buffer("uint8_t[]", codes, require_writable=True)) != lib.W2V_OK:
        raise MemoryError("out of memory building the Huffman paths")
    return points, codes, code_lens


def _tree_children(children) -> np.ndarray:
    """``children`` checked to be a tree C can walk: shape (n - 1, 2), row k's ids
    below n + k (no cycle), every node but the root (2n - 2) a child exactly once."""
    if not isinstance(children, np.ndarray):
        children = np.asarray(children)
    if children.ndim != 2 or children.shape[1] != 2:
        raise ValueError(f"children must have shape (n - 1, 2), not {children.shape}")
    n = len(children) + 1
    if n > 2**30:
        raise ValueError(f"children has {n} leaves, more than int32 node ids allow")
    children = _indices("children", children, np.int32, 0, 2 * n - 1, ndim=2)
    if (children >= n + np.arange(n - 1)[:, None]).any():
        raise ValueError("children must come before their parents (row k joins ids below n + k)")
    if n > 1 and not (np.bincount(children.ravel(), minlength=2 * n - 1)[:-1] == 1).all():
        raise ValueError("every node but the root must be a child exactly once")
    return children
