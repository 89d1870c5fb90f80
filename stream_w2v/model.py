"""StreamingWord2Vec: word2vec that trains forever on a stream.

Data flows one way: documents -> tokens (tokenize) -> counts and ids (vocab)
-> rows and tables (this module) -> one C call per batch (_native). Queries
read ``wv`` only.

What happens per batch, in the calling thread:
1. tokens are counted; words reaching ``min_count`` get rows (ids never change);
2. the matrices grow (inside their capacity: no copy; beyond it: workers are
   drained and the capacity doubles);
3. the noise table and the subsampling probabilities are rebuilt when the
   counts have drifted enough, the Huffman tree extended when the vocabulary
   grew enough (new words grafted on, old inner nodes kept; see
   :mod:`stream_w2v.huffman`) -- amortized, never per word;
4. the batch goes to a worker thread (or runs inline with ``workers=1``, which
   makes training deterministic for a given ``seed``).

Steps 1-4 run under the batch lock, so ``save`` (from any thread) sees whole
batches only. ``submit``/``flush``/``close`` feed the same path from a
background thread (:mod:`stream_w2v.feeder`).
"""
from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable
from typing import NamedTuple

import numpy as np

from stream_w2v import _native
from stream_w2v.huffman import build_huffman, carry_over_plan, expected_code_length, extend_huffman
from stream_w2v.keyedvectors import KeyedVectors
from stream_w2v.matrices import FrontRows, GrowableRows
from stream_w2v.recent_counts import RecentCounts
from stream_w2v.sampling import keep_probabilities, noise_weights
from stream_w2v.schedule import ADAGRAD_MODES, KERNEL_MODES, SCHEDULES, Schedule
from stream_w2v.tokenize import MAX_SENTENCE, TextBatch, batches, check_document
from stream_w2v.vocab import Vocabulary
from stream_w2v.workers import WorkerPool, queue_depth

# Rebuild the noise table / subsampling when the vocabulary or the word total
# grew by this factor since the last build, and the Huffman tree when the
# vocabulary did: new words wait at most this long to become targets.
TABLE_GROWTH = 1.05
TREE_GROWTH = 1.10
# A tree grown by grafting new words onto the old one is kept while its mean
# code length stays within this factor of the optimal (Huffman) tree's.
TREE_SLACK = 1.05
_MASK64 = (1 << 64) - 1
# lr_schedule="count": the count at which a word's rate has halved. Measured on
# the 11M-token benchmark corpus (SG-NS, one pass, bench/results/schedule-count.md):
# tau 1e3 / 1e4 / 1e5 gave analogy 0.121 / 0.132 / 0.125 (8307 questions), WS-353
# 0.511 / 0.526 / 0.533, SimLex 0.298 / 0.337 / 0.347: 1e4 is best on the largest
# test. There, 88 of the 86k words pass 1e4 occurrences (their rates fall by more
# than half), 1125 pass 1e3.
LR_COUNT_TAU = 10_000.0
# Shared negatives under the linear decay over a known total: the output rows
# step at half the input rows' rate (csrc/w2v.h, shared_output_scale). Each
# output row takes the window's summed gradient in one step, each input row
# its own. Measured (5 passes over the benchmark corpus, SG-NS, 2 workers,
# seeds 1-3, mean analogy; WS-353 and SimLex stay above gensim's): input /
# output rate .05 / .05 .2685, .05 / .025 .2734, .07 / .035 .2764,
# .10 / .05 .2751 (2 seeds), .07 / .0245 .2754 (2), .05 / .0125 .2736 (2);
# .025 / .05 .2652 (2). Hence 0.5 and a start of 0.07 (default_alpha).
SHARED_OUTPUT_SCALE = 0.5


class Job(NamedTuple):
    """One batch as a worker trains it: the kernel view of its time, the
    token ids and sentence ends, the rate from its first to its last token,
    its random state, the kernel's update rule and the output rows' scale."""
    kernel: _native.KernelModel
    ids: np.ndarray
    ends: np.ndarray
    alpha0: float
    alpha1: float
    rng: int
    lr_mode: str
    output_scale: float


def _splitmix64(x: int) -> int:
    """A well-mixed 64-bit value from a counter: each batch's random state."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


class StreamingWord2Vec:
    """word2vec (CBOW / skip-gram, HS / NS) trained incrementally on a stream.

    Parameters follow gensim's ``Word2Vec``. Differences: no vocabulary pass
    (words are discovered as they stream), ``max_vocab_size`` bounds the
    candidate words being counted, and the learning rate follows
    ``lr_schedule``: "adagrad" by default (per-row AdaGrad; ``alpha`` is its
    base step, unless given 0.2, or 0.1 for skip-gram without shared negatives), chosen by measurement: one pass over
    the 11M-token benchmark corpus beats gensim's epoch in SG-NS, SG-HS and
    CBOW-NS (README). "inverse" is alpha / (1 + t / lr_horizon) floored at
    min_alpha with word2vec.c's alpha (0.025 skip-gram, 0.05 CBOW); "count" decays every word's rate by
    its own count, alpha / (1 + count / lr_count_tau) floored at min_alpha;
    "linear" (with ``total_words``) falls to min_alpha over the total and
    stays there. See :mod:`stream_w2v.schedule`. ``count_half_life`` (words)
    makes negatives and subsampling follow decayed counts
    (:mod:`stream_w2v.recent_counts`). ``shared_negatives`` (on by default;
    skip-gram with negative sampling only, ignored otherwise, as gensim
    ignores cbow_mean under skip-gram) trains each center as one minibatch:
    its context words against the center and one set of noise words drawn
    for the window, as pWord2Vec does (csrc/w2v.h): 1.4-1.5x the words/s of one
    example per pair and, with its own base step, better vectors (README).
    ``shared_output_scale``: with shared negatives under SGD, the output rows'
    rate relative to alpha; None is 0.5 under the linear decay over a known
    total (measured: SHARED_OUTPUT_SCALE) and 1 under the stream schedules.
    """

    def __init__(self, vector_size=100, window=5, min_count=5, sg=0, hs=0, negative=5,
                 sample=1e-3, alpha=None, min_alpha=0.0001, workers=3, seed=1,
                 max_vocab_size=None, cbow_mean=1, ns_exponent=0.75, batch_words=10000,
                 compute_loss=True, lr_schedule="adagrad", lr_horizon=5_000_000,
                 max_token_length=100, lowercase=False, queue_size=1000, adagrad_init=1e-8,
                 lr_count_tau=LR_COUNT_TAU, count_half_life=None, shared_negatives=True,
                 shared_output_scale=None):
        self.vector_size, self.window, self.min_count = vector_size, window, min_count
        self.sg, self.hs, self.negative, self.sample = sg, hs, negative, sample
        self.alpha, self.min_alpha, self.workers, self.seed = alpha, min_alpha, workers, seed
        self.max_vocab_size, self.cbow_mean, self.ns_exponent = max_vocab_size, cbow_mean, ns_exponent
        self.batch_words, self.compute_loss = batch_words, compute_loss
        self.lr_schedule, self.lr_horizon = lr_schedule, lr_horizon
        self.max_token_length, self.lowercase = max_token_length, lowercase
        self.queue_size, self.adagrad_init = queue_size, adagrad_init
        self.lr_count_tau, self.count_half_life = lr_count_tau, count_half_life
        self.shared_negatives, self.shared_output_scale = shared_negatives, shared_output_scale
        self._check_params()
        self._state_ready = False
        self._lock = threading.Lock()          # state creation, counters updated by workers
        self._call_lock = threading.Lock()     # one training run at a time (train(), the feed)
        self._batch_lock = threading.Lock()    # held while a batch is prepared and handed over
        self._pool = None
        self._syn1_merge = None   # a tree rebuild's pending merge (see _rebuild_tree)
        self._feeder = None
        self._feed_closed = False
        self.extra, self.checkpoint_time = {}, None

    # ------------------------------------------------------------ settings

    def save(self, directory: str, extra: dict | None = None) -> str:
        """Checkpoint into ``directory`` atomically (see :mod:`stream_w2v.checkpoint`)."""
        from stream_w2v.state import save_model
        return save_model(self, directory, extra)

    @classmethod
    def load(cls, directory: str) -> "StreamingWord2Vec":
        """Load the current checkpoint of ``directory``; a damaged one raises CheckpointError."""
        from stream_w2v.state import load_model
        return load_model(cls, directory)

    def get_params(self) -> dict:
        return {name: getattr(self, name) for name in PARAMS}

    def _check_params(self):
        """Validate every setting (ValueError naming it) and store it as a plain Python value.

        Plain values because the settings go to the checkpoint's JSON manifest
        (a numpy integer would not serialize) and to the C calls (which reject
        a float where they expect 0 or 1).
        """
        def integer(name, lo, hi=None, allow_bool=False):
            value = getattr(self, name)
            ok = isinstance(value, (int, np.integer)) and (allow_bool or not isinstance(value, (bool, np.bool_)))
            if not ok or value < lo or (hi is not None and value > hi):
                bound = f"in [{lo}, {hi}]" if hi is not None else f">= {lo}"
                raise ValueError(f"{name} must be an integer {bound}, not {value!r}")
            setattr(self, name, int(value))

        def flag(name):
            value = getattr(self, name)
            if not isinstance(value, (bool, np.bool_, int, np.integer)) or value not in (0, 1):
                raise ValueError(f"{name} must be True or False, not {value!r}")
            setattr(self, name, bool(value))

        def real(name, ok, what):
            value = getattr(self, name)
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)) \
                    or not math.isfinite(value) or not ok(float(value)):
                raise ValueError(f"{name} must be {what}, not {value!r}")
            setattr(self, name, float(value))

        integer("vector_size", 1, 10_000)
        integer("window", 1, 1000)
        integer("min_count", 1)
        integer("sg", 0, 1, allow_bool=True)
        integer("hs", 0, 1, allow_bool=True)
        integer("negative", 0, 1000)
        if not (self.hs or self.negative):
            raise ValueError("nothing to train: set hs=1 or negative > 0")
        real("sample", lambda x: 0 <= x < 1, "a number in [0, 1)")
        if self.lr_schedule not in SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {', '.join(SCHEDULES)}, not {self.lr_schedule!r}")
        flag("shared_negatives")
        if self.alpha is None:
            self.alpha = default_alpha(self.lr_schedule, self.sg, self._shares_negatives())
        real("alpha", lambda x: x > 0, "a positive number")
        real("min_alpha", lambda x: 0 <= x <= self.alpha, f"a number in [0, alpha={self.alpha}]")
        integer("workers", 1, 256)
        integer("seed", 0)
        if self.max_vocab_size is not None:
            integer("max_vocab_size", 1)
        integer("cbow_mean", 0, 2, allow_bool=True)
        real("ns_exponent", lambda x: True, "a finite number")
        integer("batch_words", 1)
        flag("compute_loss")
        if self.lr_schedule not in SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {', '.join(SCHEDULES)}, not {self.lr_schedule!r}")
        real("lr_horizon", lambda x: x > 0, "a positive number of words")
        real("adagrad_init", lambda x: 0 < x < 1e30, "a positive number")
        real("lr_count_tau", lambda x: 1e-30 <= x <= 1e30, "a positive number of occurrences (1e-30 .. 1e30)")
        if self.count_half_life is not None:
            real("count_half_life", lambda x: 1 <= x <= 1e18, "None or a number of words in [1, 1e18]")
        if self.shared_output_scale is not None:
            real("shared_output_scale", lambda x: 1e-6 <= x <= 1e6, "None or a positive number (1e-6 .. 1e6)")
        integer("max_token_length", 1)
        flag("lowercase")
        integer("queue_size", 1)

    # ------------------------------------------------------------ state

    def _start(self):
        with self._lock:
            if not self._state_ready:
                self._init_state()

    def _init_state(self):
        dim = self.vector_size
        self.vocab = Vocabulary(min_count=self.min_count, max_vocab_size=self.max_vocab_size)
        self._syn0 = GrowableRows(dim)
        self._syn1neg = GrowableRows(dim) if self.negative else None
        # Inner-node rows grow at the front, so a grafted tree moves none (_rebuild_tree).
        self._syn1 = FrontRows(dim) if self.hs else None
        self._keep = GrowableRows(1)
        # count_half_life: the counts the noise and subsampling tables follow (else lifetime counts).
        self._decayed = RecentCounts(self.count_half_life) if self.count_half_life else None
        # AdaGrad accumulators, one per matrix: a float per row or per coordinate.
        self._lr_mode = KERNEL_MODES.get(self.lr_schedule, "sgd")
        width = dim if self._lr_mode == "adagrad_coord" else 1
        adagrad = self.lr_schedule in ADAGRAD_MODES
        self._acc0 = GrowableRows(width) if adagrad else None
        self._acc1neg = GrowableRows(width) if adagrad and self.negative else None
        self._acc1 = FrontRows(width, fill=self.adagrad_init) if adagrad and self.hs else None
        # lr_schedule="count": the counts the kernel reads (float32, clamped, see
        # _count_cap): the words' (syn0 and syn1neg share them) and the inner
        # nodes' (exact in _node_counts). Derived from the vocabulary and the
        # tree, so not checkpointed: _reset_counts rebuilds them on load.
        count = self._lr_mode == "count"
        self._count0 = GrowableRows(1) if count else None
        self._count1 = GrowableRows(1) if count and self.hs else None
        self._node_counts = np.zeros(0, np.int64)
        self._tree = self._huffman = self._noise = None
        self._tree_words = self._table_words = 0
        self._table_total = 0
        self._kernel = None
        self.counters = dict(words_seen=0, words_trained=0, words_skipped=0, docs_seen=0,
                             batches=0, words_done=0, examples=0, terms=0)
        self._loss_sum = 0.0
        self._recent = []          # (time, words) for words_per_sec
        self._wv = KeyedVectors([], np.zeros((0, dim), np.float32))
        self._published = self._wv_source = (0, self._wv.vectors)
        self._state_ready = True

    @property
    def stats(self) -> dict:
        c = getattr(self, "counters", None) or {}
        now = time.monotonic()
        recent = [(t, w) for t, w in getattr(self, "_recent", []) if now - t < 30]
        span = now - recent[0][0] if len(recent) > 1 else 0.0
        wps = sum(w for _, w in recent[1:]) / span if span > 0 else 0.0
        vocab = getattr(self, "vocab", None)
        return {
            "words_seen": c.get("words_seen", 0),
            "words_trained": c.get("words_trained", 0),
            "words_skipped": c.get("words_skipped", 0),
            "vocab_size": len(vocab.index_to_key) if vocab is not None else 0,
            "candidates": vocab.n_candidates if vocab is not None else 0,
            "alpha": self._schedule().rate(c.get("words_done", 0)),
            "loss": (self._loss_sum / c["terms"]) if c.get("terms") else None,
            "words_per_sec": wps,
        }

    def _schedule(self, total_words=None, start_alpha=None, end_alpha=None) -> Schedule:
        if total_words:
            # gensim's rule, whatever the stream schedule: plain SGD decayed
            # linearly over the known total (the kernel runs it as "sgd").
            start = start_alpha if start_alpha is not None else self._sgd_alpha()
            end = end_alpha if end_alpha is not None else min(self.min_alpha, start)
            return Schedule("linear", start, end, self.lr_horizon, total_words)
        kind = self.lr_schedule if self.lr_schedule != "linear" else "constant"
        return Schedule(kind, self.alpha, self.min_alpha, self.lr_horizon)

    def _sgd_alpha(self) -> float:
        """The start of the linear decay over a known total: ``alpha`` under
        the SGD schedules; under the per-row ones ``alpha`` is another
        quantity (AdaGrad's base step, a new word's rate), so SGD's default."""
        if self.lr_schedule in KERNEL_MODES:
            return default_alpha("linear", self.sg, self._shares_negatives())
        return self.alpha

    # ------------------------------------------------------------ training

    def train(self, corpus_iterable, epochs: int = 1, total_words: int | None = None, *,
              start_alpha: float | None = None, end_alpha: float | None = None,
              count_words: bool = True):
        """Train on an iterable of documents (strings or token lists), endless or not.

        Call it again and again: training continues. ``epochs > 1`` needs a
        re-iterable corpus (a list, a file-backed iterable); the words are
        counted in the first epoch only, as gensim's vocabulary comes from one
        scan: later epochs re-read text already counted, so they neither
        promote words nor move the counts and tables (without this a word
        seen once per epoch would reach min_count=5 in the fifth).
        ``count_words=False`` does the same for a whole call (a later pass of
        the caller's own).

        ``total_words`` (words per epoch) makes the call gensim's: plain SGD
        with a rate falling linearly from ``start_alpha`` to ``end_alpha``
        over ``total_words * epochs`` words, then held, whatever
        ``lr_schedule`` is (the AdaGrad accumulators are kept, unused, for
        later stream calls). ``start_alpha`` defaults to ``alpha`` under the
        SGD schedules and to word2vec's SGD rate under the per-row ones (0.05
        for CBOW, 0.025 per pair; 0.07 for shared-negative skip-gram, whose
        output rows step at half the rate: ``shared_output_scale``; their
        ``alpha`` is another quantity); ``end_alpha`` to ``min_alpha``.
        Measured over 5 passes of the benchmark corpus (README): AdaGrad,
        with or without a linear decay on top, fell short of gensim's 5
        epochs by up to .058 (CBOW-NS analogy); this rule came within 0.01
        of them on every score. Without a total the rate follows the stream
        schedule. Returns the stats once every batch is in the matrices.

        Calls from several threads take turns (one runs at a time). With a
        feed open (:meth:`submit`), the documents submitted before this call
        are trained first, then this call's, then the feed resumes.
        """
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"epochs must be a positive integer, not {epochs!r}")
        if not isinstance(count_words, bool):
            raise TypeError(f"count_words must be True or False, not {count_words!r}")
        if total_words is not None and (isinstance(total_words, bool) or not isinstance(total_words, (int, np.integer))
                                        or total_words < 1):
            raise ValueError(f"total_words must be None or a positive integer (words per epoch), not {total_words!r}")
        if self.lr_schedule == "linear" and total_words is None:
            raise ValueError("lr_schedule='linear' decays over a known total: pass total_words (words per epoch)")
        for name, value in (("start_alpha", start_alpha), ("end_alpha", end_alpha)):
            if value is None:
                continue
            if total_words is None:
                raise ValueError(f"{name} sets the linear decay over a known total: pass total_words too")
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
                    or not math.isfinite(value) or value < 0 or (name == "start_alpha" and value == 0):
                raise ValueError(f"{name} must be a {'positive' if name == 'start_alpha' else 'non-negative'} "
                                 f"number, not {value!r}")
        if start_alpha is not None and end_alpha is not None and end_alpha > start_alpha:
            raise ValueError(f"end_alpha ({end_alpha}) must not exceed start_alpha ({start_alpha})")
        if isinstance(corpus_iterable, (str, bytes)):
            raise TypeError("train() takes an iterable of documents, not a single string; wrap it in a list")
        if not isinstance(corpus_iterable, Iterable):
            raise TypeError(f"train() takes an iterable of documents, not {type(corpus_iterable).__name__}")
        if epochs > 1 and iter(corpus_iterable) is corpus_iterable:
            raise TypeError("epochs > 1 needs a re-iterable corpus (a list or a file-backed iterable), not an iterator")
        feeder = self._feeder
        if feeder is not None and not feeder.is_feeder_thread():
            with feeder.paused():
                return self._train(corpus_iterable, epochs, total_words, count_words, start_alpha, end_alpha)
        return self._train(corpus_iterable, epochs, total_words, count_words, start_alpha, end_alpha)

    def _train(self, corpus_iterable, epochs: int = 1, total_words: int | None = None, count_words: bool = True,
               start_alpha: float | None = None, end_alpha: float | None = None):
        """One training run: holds the run lock; each batch is prepared and handed
        over under the batch lock, so :meth:`save` sees whole batches only."""
        with self._call_lock:
            self._start()
            schedule = self._schedule(total_words * epochs if total_words else None, start_alpha, end_alpha)
            start_words = self.counters["words_done"] if total_words else 0
            # workers - 1 threads, and this one trains too when the queue is full
            # (workers.py: no third thread on the workers' cores).
            pool = (WorkerPool(self.workers - 1, self._run, queue_depth(self.workers, self.batch_words),
                               caller_runs=True)
                    if self.workers > 1 else None)
            self._pool = pool
            try:
                for epoch in range(epochs):
                    count = count_words and epoch == 0
                    for batch in batches(corpus_iterable, self.batch_words, self.lowercase, self.max_token_length,
                                         offer_gil=pool is not None):
                        with self._batch_lock:
                            job = self._prepare(batch, schedule, start_words, count)
                            if job is None:
                                continue
                            if pool is None:
                                self._run(job)
                            else:
                                pool.submit(job)
            finally:
                try:
                    if pool is not None:
                        pool.close()   # every job done before save() may see _pool gone
                        self._merge_syn1(force=True)
                finally:
                    self._pool = None
            return self.stats

    def _drain(self):
        """Wait for the queued batches (the caller holds the batch lock)."""
        if self._pool is not None:
            self._pool.drain()
        self._merge_syn1(force=True)

    # ------------------------------------------------------------ the feed

    def submit(self, doc, block: bool = True, timeout: float | None = None) -> None:
        """Queue one document for training in the background; returns at once.

        The queue holds at most ``queue_size`` documents (a constructor
        setting): when it is full, ``submit`` blocks until the trainer has
        taken one (back-pressure), or with ``block=False`` (or after
        ``timeout`` seconds) raises ``queue.Full``. A bad document raises
        TypeError here, in the caller's thread. An error of the background
        trainer is raised by the next ``submit``, ``flush`` or ``close``.
        See :mod:`stream_w2v.feeder` for what is trained when.
        """
        if self._feed_closed:
            raise RuntimeError("the feed is closed; use train() or a new 'with model:' block")
        doc = check_document(doc)
        with self._lock:
            if self._feeder is None:
                from stream_w2v.feeder import Feeder
                self._feeder = Feeder(self, self.queue_size)
            feeder = self._feeder
        feeder.submit(doc, block, timeout)

    def flush(self) -> dict:
        """Wait until every submitted document is trained; returns the stats."""
        if self._feeder is not None:
            self._feeder.flush()
        return self.stats

    def close(self) -> None:
        """Flush the feed and stop its thread; later submits raise RuntimeError.

        The model itself stays usable: queries, :meth:`save`, :meth:`train`,
        and a new ``with model:`` block (which reopens the feed).
        """
        self._feed_closed = True
        with self._lock:
            feeder, self._feeder = self._feeder, None
        if feeder is not None:
            feeder.close()

    def __enter__(self) -> "StreamingWord2Vec":
        self._feed_closed = False
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close()

    def _prepare(self, batch, schedule: Schedule, start_words: int, count: bool = True):
        self._merge_syn1()
        ids, ends, skipped = self._read(batch, count)
        c = self.counters
        c["words_skipped"] += skipped
        c["docs_seen"] += batch.docs
        if not len(ids):
            return None
        if count and self._decayed is not None:
            self._decayed.add(ids, self.vocab.counts[:len(self.vocab)], len(ids))
        c["words_seen"] += len(ids)
        self._grow()
        self._count_batch(ids)
        self._refresh_tables()
        if self._kernel is None:
            return None  # no word has reached min_count yet
        done = c["words_done"] - start_words
        alpha0 = schedule.rate(done)
        alpha1 = schedule.rate(done + len(ids))
        c["words_done"] += len(ids)
        rng = _splitmix64((self.seed << 32) ^ c["batches"])
        c["batches"] += 1
        lr_mode = KERNEL_MODES.get(schedule.kind, "sgd")   # a known total runs plain SGD
        return Job(self._kernel, ids, ends, alpha0, alpha1, rng, lr_mode, self._output_scale(schedule.kind, lr_mode))

    def _read(self, batch, count: bool) -> tuple[np.ndarray, np.ndarray, int]:
        """(ids, sentence ends, tokens skipped) of a batch; with ``count`` the
        vocabulary counts it (a later epoch only looks its text up)."""
        if isinstance(batch, TextBatch):
            tok = self.vocab.read(batch.text, batch.doc_ends, self.max_token_length, MAX_SENTENCE, count)
            return tok.ids, tok.sentence_ends, tok.skipped
        ids = self.vocab.update(batch.tokens) if count else self.vocab.lookup(batch.tokens)
        return ids, np.asarray(batch.ends, dtype=np.int64), batch.skipped

    def _run(self, job: Job):
        res = job.kernel.train(job.ids, job.ends, sg=self.sg, hs=self.hs, negative=self.negative,
                               window=self.window, cbow_mean=self.cbow_mean, alpha=job.alpha0,
                               alpha_end=job.alpha1, rng=job.rng, compute_loss=self.compute_loss,
                               lr_mode=job.lr_mode,
                               count_tau=self.lr_count_tau if job.lr_mode == "count" else None,
                               shared_negatives=self._shares_negatives(), shared_output_scale=job.output_scale)
        with self._lock:
            c = self.counters
            c["words_trained"] += res.words_kept
            c["examples"] += res.examples
            c["terms"] += res.terms
            self._loss_sum += res.loss
            self._recent.append((time.monotonic(), len(job.ids)))
            if len(self._recent) > 256:
                del self._recent[:128]

    def _output_scale(self, schedule_kind: str, lr_mode: str) -> float:
        """The output rows' SGD rate relative to alpha with shared negatives
        (csrc/w2v.h): ``shared_output_scale``, or by default 0.5 under the
        linear decay over a known total, where it was measured, and 1 (one
        rate, word2vec's) under the stream schedules. 1 wherever the kernel
        does not read it (per pair, AdaGrad, the count rule)."""
        if not self._shares_negatives() or lr_mode != "sgd":
            return 1.0
        if self.shared_output_scale is not None:
            return self.shared_output_scale
        return SHARED_OUTPUT_SCALE if schedule_kind == "linear" else 1.0

    def _shares_negatives(self) -> bool:
        """shared_negatives applies to skip-gram with negative sampling alone (CBOW
        already draws one set of noise words per window; with HS the kernel has
        no shared path)."""
        return bool(self.shared_negatives) and self.sg == 1 and not self.hs and self.negative > 0

    # ------------------------------------------------------------ growth

    def _grow(self):
        rows = len(self.vocab.index_to_key)
        old = self._syn0.rows
        if rows == old:
            return
        mats = [m for m in (self._syn0, self._syn1neg, self._keep, self._acc0, self._acc1neg, self._count0)
                if m is not None]
        if any(m.needs_copy(rows) for m in mats):
            self._drain()  # workers must not write into a buffer being replaced
        # word2vec.c's init: input rows uniform in [-0.5, 0.5) / dim, output rows zero.
        # Seeded by (seed, first new row) so a resumed run draws the same rows.
        init = np.random.default_rng((self.seed, old)).random((rows - old, self.vector_size), dtype=np.float32)
        self._syn0.grow(rows, (init - 0.5) / self.vector_size)
        if self._syn1neg is not None:
            self._syn1neg.grow(rows)
        for acc in (self._acc0, self._acc1neg):
            if acc is not None:
                acc.grow(rows, self.adagrad_init)
        counts = self.vocab.counts[old:rows]
        self._keep.grow(rows, self._keep_for(*self._table_counts(rows), first=old)[:, None])
        if self._count0 is not None:
            self._count0.grow(rows, np.minimum(counts, self._count_cap())[:, None])
        self._kernel = None

    # ------------------------------------------------------------ counts (lr_schedule="count")

    def _count_cap(self) -> float:
        """The largest count the kernel is given: at tau (alpha / min_alpha - 1) the
        rate alpha / (1 + n / tau) is min_alpha, so no rate falls below min_alpha."""
        if self.min_alpha <= 0:
            return math.inf
        return self.lr_count_tau * (self.alpha / self.min_alpha - 1.0)

    def _count_batch(self, ids: np.ndarray) -> None:
        """Bring the kernel's counts up to date with the batch just counted: its words
        (the vocabulary has their new counts) and the inner nodes on their Huffman
        paths (each gains the occurrences of the coded words below it). O(batch),
        plus O(inner nodes) vectorized when the batch holds coded words."""
        if self._count0 is None:
            return
        cap = self._count_cap()
        words = ids[ids >= 0]
        self._count0.buffer[words, 0] = np.minimum(self.vocab.counts[words], cap)
        tree = self._tree
        if self._count1 is None or tree is None:
            return
        coded, times = np.unique(words[words < tree.words], return_counts=True)
        if not len(coded):
            return
        lens = tree.code_lens[coded]
        on_path = np.arange(tree.points.shape[1])[None, :] < lens[:, None]
        gained = np.bincount(tree.points[coded][on_path], weights=np.repeat(times, lens),
                             minlength=len(self._node_counts))
        self._node_counts += gained.astype(np.int64)   # float64 sums of ints < 2^53: exact
        self._count1.buffer[:len(self._node_counts), 0] = np.minimum(self._node_counts, cap)

    def _set_node_counts(self, tree, counts) -> None:
        """Every inner node's count from scratch: the sum of the counts of the words below it."""
        on_path = np.arange(tree.points.shape[1])[None, :] < tree.code_lens[:, None]
        weights = np.broadcast_to(np.asarray(counts[:tree.words], np.float64)[:, None], on_path.shape)
        self._node_counts = np.bincount(tree.points[on_path], weights=weights[on_path],
                                        minlength=max(tree.words - 1, 0)).astype(np.int64)
        self._count1.replace(np.minimum(self._node_counts, self._count_cap())[:, None])

    def _reset_counts(self) -> None:
        """The kernel's counts rebuilt from the vocabulary and the tree (after a load):
        the same values the uninterrupted run maintained, so a resume stays exact."""
        if self._count0 is None:
            return
        rows = len(self.vocab.index_to_key)
        self._count0.replace(np.minimum(self.vocab.counts[:rows], self._count_cap())[:, None])
        if self._count1 is not None and self._tree is not None:
            self._set_node_counts(self._tree, self.vocab.counts)

    def _table_counts(self, rows: int) -> tuple[np.ndarray, float]:
        """The counts of the first ``rows`` words that the noise and subsampling
        tables follow, and their total: lifetime counts (word2vec.c), or with
        count_half_life the decayed ones (:mod:`stream_w2v.recent_counts`)."""
        counts = None if self._decayed is None else self._decayed.counts(rows)
        if counts is None or not counts.sum() > 0:  # (decayed to 0: no known word in ~1000 half-lives)
            return self.vocab.counts[:rows], self.vocab.total_words
        return counts, float(counts.sum())

    def _keep_for(self, counts, total, first: int = 0) -> np.ndarray:
        """Keep probabilities of the words ``counts[first:]``, ``total`` the sum of all."""
        counts = counts[first:]
        keep = keep_probabilities(counts, max(total, 1), self.sample)
        return np.ones(len(counts), np.float32) if keep is None else keep

    def _refresh_tables(self):
        rows = self._syn0.rows
        if rows == 0:
            return
        total = self.vocab.total_words
        # With decayed counts, also every 1/16 half-life (the counts moved by ~4%).
        drifted = self._decayed is not None and total - self._table_total >= self.count_half_life / 16
        if rows >= TABLE_GROWTH * self._table_words or total >= TABLE_GROWTH * self._table_total or drifted:
            counts, table_total = self._table_counts(rows)
            if self.negative:
                self._noise = _native.NoiseTable(_native.build_alias(noise_weights(counts, self.ns_exponent)))
            self._keep.buffer[:rows, 0] = self._keep_for(counts, table_total)
            self._table_words, self._table_total = rows, total
            self._kernel = None
        if self.hs and rows >= TREE_GROWTH * self._tree_words:
            self._rebuild_tree(rows)
        if self._kernel is None:
            self._publish()

    def _rebuild_tree(self, rows: int):
        """Cover the words promoted since the last tree, keeping what HS learned.

        First choice: graft the new words onto the old tree (every old inner
        node and its learned row kept: the loss on known text cannot jump). If
        that tree's mean code length has drifted more than TREE_SLACK above
        the optimal Huffman tree's, switch to the optimal tree and map the old
        inner nodes onto it (:func:`stream_w2v.huffman.carry_over`).
        """
        counts = self.vocab.counts[:rows]
        # The new tree and where its inner nodes come from depend on the counts
        # and the old tree only: planned while the workers still train (the
        # plan took ~85 ms per rebuild at 38k words with both workers idle);
        # only moving the rows waits for them.
        tree, source, factor = self._plan_tree(counts)
        huffman = _native.HuffmanTables(tree.points, tree.codes, tree.code_lens)
        if not self._graft_in_place(source, factor):
            self._move_syn1(source, factor)
        self._tree, self._tree_words = tree, rows
        self._huffman = huffman
        if self._count1 is not None:   # the nodes' counts under the new tree, from the current counts
            self._set_node_counts(tree, counts)
        self._kernel = None

    def _graft_in_place(self, source, factor) -> bool:
        """A grafted tree numbers its m new inner nodes first and every old one
        m higher (source = [-1] * m + [0, 1, ...]): prepending m zero rows to
        syn1 (and fresh accumulators) gives the new rows without moving an old
        one, so batches still queued on the old tree write where the new tree
        reads: no copy, no snapshot, no merge (a pending one, from an earlier
        move, finds its rows m further on). False when the rows would move:
        a re-mapped tree, or one beyond the capacity."""
        old = self._syn1.rows
        m = len(source) - old
        if factor is not None or m < 0 \
                or any(a is not None and a.needs_copy(len(source)) for a in (self._syn1, self._acc1)):
            return False
        if not (np.all(source[:m] == -1) and np.array_equal(source[m:], np.arange(old))):
            return False
        self._syn1.prepend(m)
        if self._acc1 is not None:
            self._acc1.prepend(m)
        return True

    def _move_syn1(self, source, factor):
        """The rows of a re-mapped tree (carry-over) or of one beyond the capacity,
        in new buffers: new inner node k from old row source[k] (times factor[k])."""
        rows = len(source) + 1
        pool = self._pool
        in_flight = pool is not None and not pool.finished_before(pool.submitted)
        if in_flight and self._syn1_merge is not None:
            self._drain()   # one pending merge at a time (rebuilds are >= 10% growth apart)
            in_flight = False
        # Batches still queued train the old tree in the old rows. Rather than
        # idle both workers until they are done (40 drains per 3M words cost
        # ~30% of 2-worker SG-HS), the rows are moved from a snapshot now and
        # what those batches change after it is added when they are done
        # (_merge_syn1). With one worker nothing is in flight: no snapshot.
        old_syn1 = self._syn1.view
        base = old_syn1.copy() if in_flight else old_syn1
        syn1 = np.zeros((max(rows - 1, 0), self.vector_size), np.float32)
        kept = source >= 0
        syn1[kept] = base[source[kept]] if factor is None else base[source[kept]] * factor[kept][:, None]
        old_acc = base_acc = None
        if factor is None and self._acc1 is not None:  # grafted: kept nodes keep their AdaGrad state
            old_acc = self._acc1.view
            base_acc = old_acc.copy() if in_flight else old_acc
            acc1 = np.full((rows - 1, self._acc1.dim), self.adagrad_init, np.float32)
            acc1[kept] = base_acc[source[kept]]
            self._acc1.replace(acc1)
        if in_flight:
            self._syn1_merge = (pool.submitted, old_syn1, base, source, factor, old_acc, base_acc, len(syn1))
        self._syn1.replace(syn1)
        if self._acc1 is not None and self._acc1.rows != len(syn1):
            # A new optimal tree: its nodes are new decisions, their steps start afresh.
            self._acc1.replace(np.full((len(syn1), self._acc1.dim), self.adagrad_init, np.float32))

    def _merge_syn1(self, force: bool = False) -> None:
        """Add to the new tree's rows what the batches queued before its rebuild
        changed in the old rows after the snapshot (mapped as the rows were,
        scaled by the carry-over factor), once they have all run (``force``:
        the caller has drained the workers)."""
        merge = self._syn1_merge
        if merge is None or not (force or self._pool is None or self._pool.finished_before(merge[0])):
            return
        self._syn1_merge = None
        _, old, base, source, factor, old_acc, base_acc, moved_rows = merge
        kept = np.flatnonzero(source >= 0)
        from_rows = source[kept]
        delta = old[from_rows] - base[from_rows]
        if factor is not None:
            delta *= factor[kept][:, None]
        # Grafts since the move prepended rows (a move drains first, so only
        # they came in between): the moved rows are now that many further on.
        to_rows = kept + (self._syn1.rows - moved_rows)
        self._syn1.view[to_rows] += delta
        if old_acc is not None:
            self._acc1.view[to_rows] += old_acc[from_rows] - base_acc[from_rows]

    def _plan_tree(self, counts):
        """The next tree and, per inner node, the old syn1 row it starts from (-1:
        zeros) and the factor applied (None: a plain copy). Reads no matrix."""
        best = build_huffman(counts)
        grown = extend_huffman(self._tree, counts) if self._tree is not None else None
        if grown is not None and expected_code_length(grown[0], counts) <= TREE_SLACK * expected_code_length(best, counts):
            return grown[0], grown[1], None
        if self._tree is not None:
            return (best, *carry_over_plan(self._tree, best, counts))
        return best, np.full(max(len(counts) - 1, 0), -1, np.int64), None

    def _publish(self):
        """Build the kernel view and hand queries a consistent snapshot."""
        self._kernel = _native.KernelModel(
            self._syn0.view, self._syn1.view if self._syn1 is not None else None,
            self._syn1neg.view if self._syn1neg is not None else None,
            huffman=self._huffman if self.hs else None,
            noise=self._noise if self.negative else None,
            keep_prob=self._keep.view.reshape(-1) if self.sample else None,
            syn0_acc=_acc_view(self._acc0), syn1_acc=_acc_view(self._acc1),
            syn1neg_acc=_acc_view(self._acc1neg), syn0_count=_acc_view(self._count0),
            syn1_count=_acc_view(self._count1),
            syn1neg_count=_acc_view(self._count0) if self.negative else None)
        # Queries build their snapshot from this on demand (see wv): building a
        # key -> row dict per batch would cost O(V) per batch.
        self._published = (self._syn0.rows, self._syn0.view)

    @property
    def wv(self) -> KeyedVectors:
        """The word vectors, safe to query from any thread while training runs."""
        self._start()
        published = self._published
        if self._wv_source is not published:
            rows, vectors = published
            self._wv._replace(self.vocab.index_to_key[:rows], vectors, self.vocab.counts[:rows].copy())
            self._wv_source = published
        else:
            self._wv._vectors_changed()  # rows were trained in place: drop cached norms
        return self._wv

    def averaged_wv(self) -> KeyedVectors:
        """A copy of the vectors as (input + output) / 2, the rows of ``syn0``
        and ``syn1neg`` averaged, as yskip writes them by default. ``wv`` (the
        input vectors, what word2vec.c and gensim export) stays the default;
        only negative sampling has an output vector per word, so this needs
        ``negative > 0``. Taken under the batch lock: no half-applied batch."""
        if not self.negative:
            raise ValueError("averaged vectors need negative sampling (negative > 0): "
                             "hierarchical softmax has no output vector per word")
        self._start()
        with self._batch_lock:
            self._drain()
            rows = self._syn0.rows
            vectors = (self._syn0.view[:rows] + self._syn1neg.view[:rows]) * np.float32(0.5)
            return KeyedVectors(self.vocab.index_to_key[:rows], vectors, self.vocab.counts[:rows].copy())


PARAMS = ("vector_size", "window", "min_count", "sg", "hs", "negative", "sample", "alpha",
          "min_alpha", "workers", "seed", "max_vocab_size", "cbow_mean", "ns_exponent",
          "batch_words", "compute_loss", "lr_schedule", "lr_horizon", "max_token_length",
          "lowercase", "queue_size", "adagrad_init", "lr_count_tau", "count_half_life", "shared_negatives",
          "shared_output_scale")


def default_alpha(lr_schedule: str, sg: int = 1, shared_negatives: bool = False) -> float:
    """The rate ``alpha=None`` stands for. Under AdaGrad its base step, measured
    on the benchmark corpus (one pass, README "Learning-rate schedules"): 0.1
    for skip-gram per pair (yskip's eta), 0.2 for skip-gram with shared
    negatives (0.05 / 0.1 / 0.2 / 0.3 / 0.4 gave analogy .066 / .163 / .184 /
    .148 / .121, SimLex .220 / .317 / .392 / .360 / .343: one update per
    output row per window instead of one per pair wants twice the step) and
    0.2 for CBOW (it averages its context into one input, so each context row
    gets a share of the step; word2vec.c also gives CBOW twice skip-gram's
    rate). Under SGD word2vec.c's 0.025 (skip-gram) and 0.05 (CBOW), except
    the linear decay over a known total with shared negatives: 0.07 for the
    input rows, the output rows at half of it (SHARED_OUTPUT_SCALE, where the
    measurements are). With one rate for both, 0.05 had beaten 0.025 (5
    passes over the benchmark corpus's 3M prefix, SG-NS: analogy / WS-353 /
    SimLex .092 / .484 / .288 at 0.025, .094 / .603 / .359 at 0.05; gensim
    .098 / .452 / .281)."""
    if lr_schedule in ADAGRAD_MODES:
        return 0.2 if shared_negatives or not sg else 0.1
    if lr_schedule == "linear" and shared_negatives:
        return 0.07
    return 0.025 if sg else 0.05


def _acc_view(acc: GrowableRows | None):
    """An accumulator as the kernel takes it: (rows,) per row, (rows, dim) per coordinate."""
    if acc is None:
        return None
    return acc.view.reshape(-1) if acc.dim == 1 else acc.view
