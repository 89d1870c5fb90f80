"""Learning-rate schedules that need no corpus total.

word2vec.c and gensim decay alpha linearly from ``alpha`` to ``min_alpha``
over a total they know in advance (corpus size x epochs). A stream has no
total, so the schedules here need none (except ``linear``); the model's
default is per-row AdaGrad (below). The inverse decay goes with the number of
words trained so far:

    inverse:  alpha_t = max(min_alpha, alpha / (1 + t / horizon))

which starts at ``alpha``, halves after ``horizon`` words, and never reaches
zero, so a model keeps learning from new text after months. ``constant``
keeps ``alpha``.

    linear:   alpha_t = alpha - (alpha - min_alpha) * min(1, t / total_words)

is the linear decay CLAMPED over a horizon: gensim's decay when the total is
known (``total_words`` = corpus words x epochs, given to ``train``; a call
with a total runs this decay with plain SGD whatever the model's schedule,
see ``StreamingWord2Vec.train``), falling
linearly from ``alpha`` to ``min_alpha`` over those words, then held at
``min_alpha`` however far the stream runs past the total (it never goes
below ``min_alpha``, never to zero or negative). The horizon starts at each
``train`` call that passes ``total_words``.

    adagrad:        per-row AdaGrad in the kernel: each row r of every matrix
                    keeps G_r (starting at ``adagrad_init``), adds
                    |gradient|^2 / dim at each update and steps by
                    alpha * gradient / sqrt(G_r). Frequent words slow down by
                    themselves, rare words keep large steps: what a single
                    pass over a stream needs. One float per row.
    adagrad_coord:  the same per coordinate (yskip's rule): as much state as
                    the matrices, about half the speed.
    count:          per-word decay by count, in the kernel: row r steps with
                    alpha / (1 + n_r / tau). For a word's input and output
                    rows n_r is the word's count in the stream so far (the
                    vocabulary's, the current batch included); for an inner
                    node of the Huffman tree it is the sum of the counts of
                    the words below it (the node's Huffman weight: how often
                    it is on a trained path). ``alpha`` is the rate of a word
                    not seen yet (word2vec.c's 0.025 for skip-gram), ``tau``
                    (the model's ``lr_count_tau``, 10000 by default) the count
                    at which a row's rate has halved; a word seen 10 tau times
                    steps with alpha / 11. Counts are clamped at
                    tau (alpha / min_alpha - 1), so no rate falls below
                    ``min_alpha`` (a frequent word keeps adapting to a
                    drifting stream). No state beyond the vocabulary's
                    counts: one float per row for the kernel, rebuilt on load.
                    Measured (SG-NS, one pass over the 11M-token benchmark
                    corpus, bench/results/schedule-count.md): better than the
                    inverse decay and gensim's linear epoch, well below
                    per-row AdaGrad (analogy 0.132 vs 0.180), at about
                    AdaGrad's speed; so "adagrad" stays the default.

A schedule is a small value object: its whole state is ``words_done``, which
the model checkpoints, so a resumed run continues on the same curve.
"""
from __future__ import annotations

from dataclasses import dataclass

SCHEDULES = ("inverse", "linear", "constant", "adagrad", "adagrad_coord", "count")
# AdaGrad adapts the step of every row (or coordinate) in the kernel, from the
# squared gradients it accumulated: alpha is its base step eta, held constant.
ADAGRAD_MODES = {"adagrad": "adagrad_row", "adagrad_coord": "adagrad_coord"}
# The schedules whose per-row decay happens in the kernel (_native.LR_MODES):
# the batch's alpha stays constant; the rest run the kernel's plain SGD.
KERNEL_MODES = {**ADAGRAD_MODES, "count": "count"}


@dataclass
class Schedule:
    kind: str = "inverse"
    alpha: float = 0.025
    min_alpha: float = 0.0001
    horizon: float = 5_000_000.0     # words; see the module docstring
    total_words: float | None = None  # linear only

    def __post_init__(self):
        if self.kind not in SCHEDULES:
            raise ValueError(f"unknown lr_schedule {self.kind!r}; choose one of {', '.join(SCHEDULES)}")
        if self.kind == "linear" and not self.total_words:
            raise ValueError("the linear schedule needs total_words (corpus words x epochs)")
        if not self.alpha > 0 or not 0 <= self.min_alpha <= self.alpha:
            raise ValueError(f"need alpha > 0 and 0 <= min_alpha <= alpha, got {self.alpha}, {self.min_alpha}")
        if not self.horizon > 0:
            raise ValueError(f"horizon must be positive, not {self.horizon}")

    def rate(self, words_done: float) -> float:
        """The learning rate after ``words_done`` words have been trained."""
        if self.kind == "constant" or self.kind in KERNEL_MODES:
            return self.alpha
        if self.kind == "linear":
            if words_done >= self.total_words:
                return self.min_alpha        # clamped: held exactly past the horizon
            progress = words_done / self.total_words
            # max(): alpha - (alpha - min_alpha) could round to just below min_alpha.
            return max(self.min_alpha, self.alpha - (self.alpha - self.min_alpha) * progress)
        return max(self.min_alpha, self.alpha / (1.0 + words_done / self.horizon))
