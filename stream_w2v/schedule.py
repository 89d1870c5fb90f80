"""Learning-rate schedules that need no corpus total.

word2vec.c and gensim decay alpha linearly from ``alpha`` to ``min_alpha``
over a total they know in advance (corpus size x epochs). A stream has no
total, so the default here decays with the number of words trained so far:

    inverse:  alpha_t = max(min_alpha, alpha / (1 + t / horizon))

which starts at ``alpha``, halves after ``horizon`` words, and never reaches
zero, so a model keeps learning from new text after months. ``linear`` is
gensim's behaviour when the total is known (e.g. ``epochs`` passes over
files); it holds ``min_alpha`` once the total is exceeded. ``constant``
keeps ``alpha``.

    adagrad:        per-row AdaGrad in the kernel: each row r of every matrix
                    keeps G_r (starting at ``adagrad_init``), adds
                    |gradient|^2 / dim at each update and steps by
                    alpha * gradient / sqrt(G_r). Frequent words slow down by
                    themselves, rare words keep large steps: what a single
                    pass over a stream needs. One float per row.
    adagrad_coord:  the same per coordinate (yskip's rule): as much state as
                    the matrices, about half the speed.

A schedule is a small value object: its whole state is ``words_done``, which
the model checkpoints, so a resumed run continues on the same curve.
"""
from __future__ import annotations

from dataclasses import dataclass

SCHEDULES = ("inverse", "linear", "constant", "adagrad", "adagrad_coord")
# AdaGrad adapts the step of every row (or coordinate) in the kernel, from the
# squared gradients it accumulated: alpha is its base step eta, held constant.
ADAGRAD_MODES = {"adagrad": "adagrad_row", "adagrad_coord": "adagrad_coord"}


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
        if self.kind == "constant" or self.kind in ADAGRAD_MODES:
            return self.alpha
        if self.kind == "linear":
            progress = min(1.0, words_done / self.total_words)
            return self.alpha - (self.alpha - self.min_alpha) * progress
        return max(self.min_alpha, self.alpha / (1.0 + words_done / self.horizon))
