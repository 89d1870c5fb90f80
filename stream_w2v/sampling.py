"""The two distributions drawn from while training: subsampling and noise.

Both follow the running counts. They are rebuilt by the model when the counts
have drifted (see ``TABLE_GROWTH`` in :mod:`stream_w2v.model`), so a new word
costs amortized O(1), not an O(V) rebuild each.
"""
from __future__ import annotations

import numpy as np


def keep_probabilities(counts: np.ndarray, total: int, sample: float) -> np.ndarray | None:
    """word2vec.c's probability of keeping each occurrence of a word.

    keep(f) = (sqrt(f / t) + 1) * t / f with t = sample * total, capped at 1:
    the formula word2vec.c and gensim use (the paper's 1 - sqrt(t / f) is
    a discard probability that drops more). ``None`` when subsampling is off,
    so the kernel skips the draw.
    """
    if not sample:
        return None
    counts = np.asarray(counts, dtype=np.float64)
    threshold = sample * max(int(total), 1)
    with np.errstate(divide="ignore"):
        keep = (np.sqrt(counts / threshold) + 1.0) * threshold / counts
    return np.minimum(np.nan_to_num(keep, nan=1.0, posinf=1.0), 1.0).astype(np.float32)


def noise_weights(counts: np.ndarray, exponent: float) -> np.ndarray:
    """Unigram counts raised to ``ns_exponent`` (0.75 in word2vec.c): the noise distribution."""
    return np.power(np.asarray(counts, dtype=np.float64), exponent)
