"""How soon is a new word usable after it reaches min_count? (``--parts usable``)

The benchmark corpus is shuffled (bench/corpus.py), so words that truly
appear late are rare ones, too rare to say anything about. Instead, words
of ordinary frequency are made to arrive late, and what the model makes of
them is compared with what it makes of them when they were there all along.

Method (one pass each, workers=1, the curve's settings per schedule):

1. Targets: ``--usable-targets`` words (default 200, a seeded sample) of
   middling frequency, 30-300 occurrences per million tokens
   (``--usable-rate``; ~330-3,300 in the 11M-token corpus), with at least
   min_count + 10 occurrences after the arrival point. Controls: as many
   other words from the same band. Anchors: the 1,000 most frequent words
   after the first 100 (none of them a target or a control).
2. The late stream: the corpus with every occurrence of a target in the
   first 30% of its lines deleted (``--usable-arrival``). A target first
   appears there, with its usual frequency and contexts, and gets a row at its
   min_count-th (5th) occurrence after that: its *promotion*. Nothing else
   changes (the deleted tokens are counted in the JSON: 0.3% of the full corpus).
3. References, at the end of a pass over the unmodified corpus: gensim
   5 epochs (the curve's reference line; not with --no-reference), and the
   same schedule's own pass (the curve's run, when both parts run). There
   each target's *profile* is taken: its cosine to each anchor, all vectors
   centred on the anchors' mean (word2vec's vectors share a common
   direction, which would make every profile alike).
4. During the late pass, after every batch (10k words), each promoted
   target's vector and its profile (against the anchors' current vectors)
   are recorded, with the number of its occurrences so far.
5. Measures per target and batch end, all against end states:
   - settle: cos(v_t, v_end), v_end its vector at the end of the late pass:
     has the vector stopped moving? (Blind to a vector that never learns:
     one that barely moves is "settled" at once.)
   - agree (per reference): the Pearson correlation between its profile now
     and its reference profile: does it stand to the common words where a
     model that had it all along puts it? Profiles compare two different
     models through the words they share, so no alignment of coordinates is
     needed. Against gensim 5 epochs this is comparable across schedules;
     against the schedule's own pass it only says how close the word gets
     to what this schedule would make of it anyway. The ceiling is measured,
     not assumed: the controls' agreement at the end of the late pass (same
     band, never removed: old words the model has had all along).
   A target is *usable* from the first batch end after which the measure
   stays at or above its threshold to the end of the stream (settle: cos >=
   0.9, also reported for 0.8 and 0.95; agree: >= 0.9 x the controls' median
   agreement with the same reference). Counted in occurrences after the
   promotion (the promoting occurrence is 0) and in words of stream after it.

Reported per schedule: the median over targets of both counts for each
measure, and the share of targets that got there at all (a target that
never does counts as infinitely late, so a median past the end is None);
the median settle and agree after k occurrences; the targets' final
agreement next to the controls'. Limits: "usable" is relative (to the word's
own end state, or to how well old words agree with the reference), the end of the
stream is a fixed horizon (70% of the stream is left after arrival, tens to
thousands of occurrences), and batch ends are the time resolution (10k words
of stream, a few occurrences of the most frequent targets).
"""
from __future__ import annotations

import bisect
import collections
import math
import random
import time
from pathlib import Path

import numpy as np

from bench.curve import make_model, stream_pass

ARRIVAL = 0.3
RATE = (30.0, 300.0)           # occurrences per million tokens
N_TARGETS = 200
N_ANCHORS, SKIP_ANCHORS = 1000, 100
SETTLE = (0.8, 0.9, 0.95)      # cos(v_t, v_end) thresholds; the middle one is the headline
AGREE_SHARE = 0.9              # of the controls' median agreement
MILESTONES = (0, 1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 70, 100, 150, 200, 300, 500, 1000)
EXTRA = 10                     # occurrences after promotion a target must have, at least


def select(corpus: dict, min_count: int, n: int = N_TARGETS, rate=RATE, arrival: float = ARRIVAL,
           seed: int = 0, max_token_length: int = 100) -> dict:
    """Targets, controls and anchors from one scan of the corpus."""
    cut = round(arrival * corpus["lines"])
    before, after = collections.Counter(), collections.Counter()
    with open(corpus["path"], encoding="utf-8") as f:
        for i, line in enumerate(f):
            (before if i < cut else after).update(t for t in line.split() if len(t) <= max_token_length)
    total = before + after
    ranked = [w for w, c in total.most_common() if c >= min_count]
    skip = min(SKIP_ANCHORS, len(ranked) // 10)
    lo, hi = (r * corpus["tokens"] / 1e6 for r in rate)
    band = sorted(w for w in ranked[skip + N_ANCHORS:] if lo <= total[w] <= hi and after[w] >= min_count + EXTRA)
    if len(band) < 2 * n:
        # A small corpus: the band left after the anchors is short; take the anchors from fewer words.
        band = sorted(w for w in ranked[skip:] if lo <= total[w] <= hi and after[w] >= min_count + EXTRA)
    rs = random.Random(seed)
    picked = rs.sample(band, min(len(band), 2 * n))
    targets, controls = sorted(picked[:len(picked) // 2]), sorted(picked[len(picked) // 2:])
    chosen = set(picked)
    anchors = [w for w in ranked[skip:] if w not in chosen][:N_ANCHORS]
    return dict(targets=targets, controls=controls, anchors=anchors, arrival_line=cut,
                deleted_tokens=sum(before[w] for w in targets), rate_band=[lo, hi],
                counts={w: [before[w], after[w]] for w in targets})


class LateStream:
    """The corpus with the targets' occurrences before ``arrival_line`` deleted; records,
    as the lines are read, where (in tokens of this stream) each target occurs."""

    def __init__(self, path: str, targets, arrival_line: int, max_token_length: int = 100):
        self.path, self.targets, self.cut, self.maxlen = path, set(targets), arrival_line, max_token_length
        self.positions = {w: [] for w in targets}
        self.tokens = 0

    def __iter__(self):
        targets, positions, maxlen = self.targets, self.positions, self.maxlen
        with open(self.path, encoding="utf-8") as f:
            for i, line in enumerate(f):
                toks = line.split()
                if not targets.isdisjoint(toks):
                    if i < self.cut:
                        toks = [t for t in toks if t not in targets]
                        line = " ".join(toks) + "\n"
                    else:
                        k = self.tokens
                        for t in toks:
                            if len(t) <= maxlen:
                                if t in targets:
                                    positions[t].append(k)
                                k += 1
                self.tokens += sum(1 for t in toks if len(t) <= maxlen) if len(line) > maxlen else len(toks)
                yield line


def _unit(m: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(m, axis=-1, keepdims=True)
    n[n == 0] = 1.0
    return m / n


def _rowwise_pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    den = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    den[den == 0] = np.nan
    return (a * b).sum(axis=1) / den


def _vectors(wv, words):
    """(rows present, their vectors) for ``words`` in a live model's vectors."""
    k2i = wv.key_to_index
    idx = np.array([k2i.get(w, -1) for w in words], dtype=np.int64)
    have = idx >= 0
    vecs = np.full((len(words), wv.vector_size), np.nan, np.float32)
    vecs[have] = wv.vectors[idx[have]]
    return have, vecs


def profiles(wv, words, anchors) -> np.ndarray:
    """Cosine of each word to each anchor (NaN rows for absent words, NaN columns for
    absent anchors), all vectors centred on the anchors' mean: word2vec's vectors
    share a common direction, which would make every word's profile alike."""
    have_w, w = _vectors(wv, words)
    have_a, a = _vectors(wv, anchors)
    out = np.full((len(words), len(anchors)), np.nan, np.float32)
    if have_a.any():
        mu = a[have_a].mean(axis=0)
        out[np.ix_(have_w, have_a)] = _unit(w[have_w] - mu) @ _unit(a[have_a] - mu).T
    return out


def agreement(now: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Per row, Pearson correlation of two profiles over the anchors both define."""
    cols = ~np.isnan(now).all(axis=0) & ~np.isnan(ref).all(axis=0)
    out = np.full(len(now), np.nan)
    rows = ~np.isnan(now[:, cols]).any(axis=1)
    if cols.sum() >= 3 and rows.any():
        out[rows] = _rowwise_pearson(now[rows][:, cols].astype(np.float64), ref[rows][:, cols].astype(np.float64))
    return out


def late_pass(corpus: dict, mode: str, schedule: str, sel: dict, references: dict, log=print) -> dict:
    """The late pass of one schedule, measured against each of ``references`` (name ->
    KeyedVectors: the same schedule's pass over the corpus as "pass", gensim's 5 epochs)."""
    targets, controls, anchors = sel["targets"], sel["controls"], sel["anchors"]
    ref_t = {name: profiles(wv, targets, anchors) for name, wv in references.items()}
    model = make_model(mode, schedule)
    stream = LateStream(corpus["path"], targets, sel["arrival_line"], model.max_token_length)
    seen, vecs, agree = [], [], {name: [] for name in references}

    def track(m):
        w = m.counters["words_seen"]
        if seen and seen[-1] == w:
            return
        wv = m.wv
        have, v = _vectors(wv, targets)
        if not have.any():
            return
        seen.append(w)
        vecs.append(v)
        now = profiles(wv, targets, anchors)
        for name, ref in ref_t.items():
            agree[name].append(agreement(now, ref).astype(np.float32))

    total_words = corpus["tokens"] - sel["deleted_tokens"] if schedule == "linear" else None
    start = time.perf_counter()
    train_s = stream_pass(model, stream, total_words, track)
    wall = time.perf_counter() - start
    if stream.tokens != model.stats["words_seen"]:
        raise RuntimeError(f"late stream: counted {stream.tokens} tokens, the model saw {model.stats['words_seen']}")
    controls_now = profiles(model.wv, controls, anchors)
    control_end = {name: agreement(controls_now, profiles(wv, controls, anchors)) for name, wv in references.items()}
    out = analyse(np.array(seen), np.stack(vecs), {k: np.stack(v) for k, v in agree.items()}, stream.positions,
                  targets, model.min_count,
                  {k: float(np.nanmedian(v)) if np.isfinite(v).any() else math.nan for k, v in control_end.items()})
    out.update(schedule=schedule, alpha=model.alpha, train_s=train_s, wall_s=wall, tokens=stream.tokens,
               snapshots=len(seen))
    s = out["settle"][f"{SETTLE[1]:g}"]
    line = (f"  {schedule:13} usable after promotion (median occurrences, words; share reached): "
            f"settle cos>={SETTLE[1]:g}: {_fmt(s['median_occurrences'])}, {_fmt(s['median_words'], ',')} "
            f"({s['reached']:.0%})")
    for name, a in out["agree"].items():
        line += (f"; agree with {name} >= {a['threshold']:.2f}: {_fmt(a['median_occurrences'])}, "
                 f"{_fmt(a['median_words'], ',')} ({a['reached']:.0%}), final {a['final_agreement']:.3f} "
                 f"vs controls {a['control_agreement']:.3f}")
    log(line + f"  ({wall:.0f} s)")
    return out


def _fmt(x, spec=""):
    return "never" if x is None else format(round(x), spec)


def _median_censored(values) -> float | None:
    """Median where None is 'never' (+infinity): None when the median is never."""
    vals = sorted(math.inf if v is None else v for v in values)
    if not vals:
        return None
    n = len(vals)
    mid = vals[n // 2] if n % 2 else (vals[n // 2 - 1] + vals[n // 2]) / 2
    return None if math.isinf(mid) else float(mid)


def _usable_from(series: np.ndarray, ok: np.ndarray, threshold: float):
    """Index of the first entry after which ``series`` stays >= threshold (over entries ``ok``); None if it ends below."""
    idx = np.flatnonzero(ok)
    if not len(idx):
        return None
    below = np.flatnonzero(~(series[idx] >= threshold))
    if not len(below):
        return int(idx[0])
    if below[-1] == len(idx) - 1:
        return None
    return int(idx[below[-1] + 1])


def analyse(seen, vecs, agree: dict, positions, targets, min_count, control_agreement: dict) -> dict:
    """Per target: promotion, occurrences and words of stream until usable; then medians."""
    last = vecs[-1]
    thresholds = {k: AGREE_SHARE * c for k, c in control_agreement.items()}
    rows, curves = [], collections.defaultdict(lambda: collections.defaultdict(list))
    for j, word in enumerate(targets):
        pos = positions[word]
        ok = ~np.isnan(vecs[:, j, 0])
        if len(pos) < min_count or not ok.any():
            continue
        promo = pos[min_count - 1] + 1   # words of stream through the promoting occurrence
        occ = np.array([bisect.bisect_left(pos, w) - min_count for w in seen])
        words = seen - promo
        cos = (_unit(vecs[:, j]) @ _unit(last[j])).astype(np.float64)
        row = dict(word=word, occurrences_after=len(pos) - min_count, promoted_at=int(promo))
        for tau in SETTLE:
            i = _usable_from(cos, ok, tau)
            row[f"settle_{tau:g}"] = None if i is None else [int(occ[i]), int(words[i])]
        for name, a in agree.items():
            i = _usable_from(a[:, j], ok, thresholds[name]) if math.isfinite(thresholds[name]) else None
            row[f"agree_{name}"] = None if i is None else [int(occ[i]), int(words[i])]
            row[f"final_agreement_{name}"] = float(a[-1, j])
        rows.append(row)
        for k in MILESTONES:
            at = np.flatnonzero(ok & (occ >= k))
            if len(at):
                curves[k]["settle"].append(cos[at[0]])
                for name, a in agree.items():
                    curves[k][name].append(float(a[at[0], j]))

    def summary(key):
        got = [r[key] for r in rows]
        return dict(median_occurrences=_median_censored([g and g[0] for g in got]),
                    median_words=_median_censored([g and g[1] for g in got]),
                    reached=sum(g is not None for g in got) / len(got) if got else math.nan)

    def med(values):
        values = np.array(values, dtype=np.float64)
        return float(np.nanmedian(values)) if np.isfinite(values).any() else math.nan

    by_occ = []
    for k in MILESTONES:
        c = curves.get(k)
        if c:
            q = np.nanpercentile(np.array(c["settle"]), [25, 50, 75])
            by_occ.append(dict(occurrences=k, n=len(c["settle"]), settle_q1=q[0], settle_median=q[1],
                               settle_q3=q[2], **{f"agree_{name}_median": med(c[name]) for name in agree}))
    return dict(targets_measured=len(rows),
                median_occurrences_after_promotion=float(np.median([r["occurrences_after"] for r in rows]))
                if rows else math.nan,
                settle={f"{tau:g}": summary(f"settle_{tau:g}") for tau in SETTLE},
                agree={name: dict(threshold=thresholds[name], control_agreement=control_agreement[name],
                                  final_agreement=med([r[f"final_agreement_{name}"] for r in rows]),
                                  **summary(f"agree_{name}")) for name in agree},
                by_occurrences=by_occ, per_target=rows)


def plot(usable: dict, corpus_name: str, path: Path) -> Path | None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    runs = usable["schedules"]
    refs = list(next(iter(runs.values()))["agree"])
    fig, axes = plt.subplots(1, 1 + len(refs), figsize=(5.2 * (1 + len(refs)), 4.3), squeeze=False)
    axes = axes[0]
    for i, (name, run) in enumerate(runs.items()):
        pts = [p for p in run["by_occurrences"] if p["n"] >= 10]
        x = [p["occurrences"] + 1 for p in pts]
        axes[0].plot(x, [p["settle_median"] for p in pts], "o-", ms=3, color=f"C{i}", label=name)
        for ax, ref in zip(axes[1:], refs):
            ax.plot(x, [p[f"agree_{ref}_median"] for p in pts], "o-", ms=3, color=f"C{i}", label=name)
            c = run["agree"][ref]["control_agreement"]
            if math.isfinite(c):
                ax.axhline(c, color=f"C{i}", ls=":", lw=1)
    axes[0].axhline(SETTLE[1], color="0.3", ls="--", lw=1)
    axes[0].set_title("settle: has the vector stopped moving?", fontsize=9)
    axes[0].set_ylabel("median cos(vector now, its vector at the end)")
    titles = {"pass": "agreement with the same schedule's pass over the corpus",
              "gensim5": "agreement with gensim, 5 epochs, whole corpus"}
    for ax, ref in zip(axes[1:], refs):
        ax.set_title(titles.get(ref, ref) + "\n(dotted: controls, there all along, at the end)", fontsize=9)
        ax.set_ylabel("median profile correlation")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel("occurrences since promotion + 1 (the 5th occurrence is 0)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"{len(usable['targets'])} words deleted from the first {usable['arrival']:.0%} of corpus "
                 f"{corpus_name}; after their promotion, per lr_schedule (SG-NS, workers=1)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
