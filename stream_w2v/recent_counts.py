"""Word counts that forget, for the noise and subsampling distributions of a
stream whose word frequencies drift.

word2vec.c and gensim draw negatives from, and subsample by, the counts of
the whole corpus. On a stream that runs for months those lifetime counts lag
what the stream says now: a word that was frequent a year ago keeps being
drawn as noise and subsampled, one that became frequent last week is not.
With ``count_half_life=H`` each occurrence weighs 2^(-age / H), age in words
of stream since it was seen, so both distributions follow the recent stream
(an effective window of H / ln 2 words). The vocabulary's own counts (what
``min_count`` and ``get_vecattr(w, "count")`` see) stay exact lifetime counts.

Cost: one ``np.bincount`` per batch (the batch shares one weight: H is many
batches long) and the weights are kept scaled by 2^(position / H) so that
nothing is rescaled per batch; they are rebased when the scale grows large.
"""
from __future__ import annotations

import numpy as np

# Rebase when the scale 2^(age / H) passes 2^REBASE_AT: float64 holds 2^1023,
# and a weight scaled this far stays exact to its 53 bits relative to the rest.
REBASE_AT = 256.0


class RecentCounts:
    def __init__(self, half_life: float):
        self.half_life = float(half_life)
        self.scaled = np.zeros(1024, dtype=np.float64)  # first `rows` are live
        self.rows = 0
        self.origin = 0      # stream position (words) where an occurrence weighs 1 in `scaled`
        self.position = 0    # words of stream counted so far

    def _scale(self) -> float:
        return 2.0 ** ((self.position - self.origin) / self.half_life)

    def add(self, ids: np.ndarray, lifetime_counts: np.ndarray, n_words: int) -> None:
        """Count one batch: ``ids`` its tokens' rows (-1: not a word), ``lifetime_counts``
        the vocabulary's counts after it (rows past ``self.rows`` are words
        promoted in this batch: their count so far is taken as recent)."""
        rows = len(lifetime_counts)
        if rows > len(self.scaled):
            grown = np.zeros(max(rows, 2 * len(self.scaled)), dtype=np.float64)
            grown[:self.rows] = self.scaled[:self.rows]
            self.scaled = grown
        w = self._scale()
        old = self.rows
        hits = ids[(ids >= 0) & (ids < old)]
        if len(hits):
            self.scaled[:old] += np.bincount(hits, minlength=old) * w
        self.scaled[old:rows] = np.asarray(lifetime_counts[old:rows], dtype=np.float64) * w
        self.rows = rows
        self.position += int(n_words)
        if (self.position - self.origin) / self.half_life > REBASE_AT:
            self.scaled[:rows] /= self._scale()
            self.origin = self.position

    def counts(self, rows: int) -> np.ndarray:
        """The decayed counts of the first ``rows`` words, as of now."""
        return self.scaled[:rows] / self._scale()

    # ------------------------------------------------------------ persistence

    def state(self) -> dict:
        return {"half_life": self.half_life, "origin": self.origin, "position": self.position,
                "scaled": self.scaled[:self.rows].copy()}

    @classmethod
    def from_state(cls, state: dict, half_life: float, rows: int) -> "RecentCounts":
        if float(state["half_life"]) != half_life:
            raise ValueError(f"recent counts have half-life {state['half_life']!r}, the model {half_life!r}")
        origin, position = state["origin"], state["position"]
        for key, value in (("origin", origin), ("position", position)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"recent counts {key} is {value!r}")
        if origin > position or (position - origin) / half_life > 2 * REBASE_AT:  # 2^512: no overflow
            raise ValueError(f"recent counts origin {origin} and position {position} disagree")
        scaled = np.asarray(state["scaled"], dtype=np.float64)
        if scaled.shape != (rows,) or not np.all(np.isfinite(scaled)) or np.any(scaled < 0):
            raise ValueError(f"recent counts: {scaled.shape[0] if scaled.ndim else 0} values for {rows} words, "
                             "or not finite and >= 0")
        out = cls(half_life)
        out.origin, out.position, out.rows = origin, position, rows
        out.scaled = np.zeros(max(1024, 2 * rows), dtype=np.float64)
        out.scaled[:rows] = scaled
        return out
