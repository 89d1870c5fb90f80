"""Evaluation of word vectors as gensim does it: analogies and word-pair correlations.

``KeyedVectors.evaluate_word_analogies`` and ``evaluate_word_pairs`` delegate
here, with the snapshot they read once, so an evaluation sees one vocabulary
however the trainer grows it meanwhile. The results are gensim's, value for
value; analogy questions are answered in batches of matrix products. The
statistics (average ranks, Pearson's r with scipy's two-sided t-test p-value
through the regularized incomplete beta function) are done here in numpy and
math, so evaluating needs no scipy.
"""
import math

import numpy as np

from stream_w2v.keyedvectors import _cosine32, _top


def word_analogies(s, analogies, restrict_vocab=300000, case_insensitive=True):
    """``KeyedVectors.evaluate_word_analogies`` on snapshot `s`."""
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


def word_pairs(s, pairs, delimiter="\t", restrict_vocab=300000, case_insensitive=True, encoding="utf8"):
    """``KeyedVectors.evaluate_word_pairs`` on snapshot `s`."""
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
    of freedom equals I_{1-r^2}((n-2)/2, 1/2), which is exactly 0 at |r| = 1."""
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

