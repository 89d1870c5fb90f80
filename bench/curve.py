"""Quality against stream position, one line per learning-rate schedule.

``python -m bench stream --parts curve --schedules adagrad adagrad_coord inverse linear constant``

For each schedule one StreamingWord2Vec (workers=1: deterministic) makes one
pass over the corpus in a single ``train()`` call; the corpus is fed by a
generator that, between batches, evaluates the live vectors (analogy, WS-353,
SimLex-999; bench/evaluate.py) once the first ``fraction`` of the corpus's
lines have been trained. With workers=1 every batch is trained in the calling
thread before the next line is read, so an evaluation sees exactly the batches
trained so far (positions are the batch ends just after each fraction, the
same for every schedule).

Settings: the benchmark's (bench/child.py ``params``) plus ``lr_schedule``.
The SGD schedules (inverse, linear, constant) use the benchmark's alpha
(gensim's: 0.025 in SG); under AdaGrad alpha is a base step, not a learning
rate, so it is left to the library's default (0.2 for SG-NS with shared negatives, 0.1 per pair) as bench/child.py does.
``linear`` decays from alpha to min_alpha over the corpus's tokens (one pass),
which is what gensim does for one epoch: the only schedule that needs to know
the stream's length in advance.

Reference lines: gensim on the whole corpus, 1 and 5 epochs, same settings
(bench/child.py, own process, --threads workers). Training 5 epochs takes
minutes, so the scores are kept in the results JSON with everything they
depend on (corpus sha256, settings, versions, evaluator) and reused by later
runs that write into the same results directory; the vectors (the usable
part's reference) are kept in the data directory under the same key
(``--refresh-reference`` retrains).
"""
from __future__ import annotations

import glob
import json
import math
import os
import time
from pathlib import Path

from bench.child import params, stream_params
from bench.evaluate import evaluate_model_wv

# Evaluation points, as fractions of the corpus's lines: dense at the start,
# where quality moves fastest.
FRACTIONS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
REFERENCE_PASSES = (1, 5)


def model_settings(mode: str, schedule: str) -> dict:
    """StreamingWord2Vec keyword arguments for one curve: the benchmark's, one worker,
    this schedule; AdaGrad keeps the library's own base step (see the module docstring)."""
    return stream_params(mode, 1, {"lr_schedule": schedule})


def make_model(mode: str, schedule: str):
    from stream_w2v.model import StreamingWord2Vec
    return StreamingWord2Vec(**model_settings(mode, schedule))


def stream_pass(model, lines, total_words: int | None = None, after_batch=None) -> float:
    """Train ``model`` (workers=1) on ``lines`` in one ``train()`` call; after every
    trained batch call ``after_batch(model)`` once more input is needed, and
    once at the end. Returns the training seconds (the callbacks' time left out)."""
    if model.workers != 1:
        raise ValueError("stream_pass needs workers=1: batches must be trained before the next line is read")
    hook_s = [0.0]
    last = [0]

    def call():
        t = time.perf_counter()
        after_batch(model)
        hook_s[0] += time.perf_counter() - t

    def feed():
        for line in lines:
            counters = getattr(model, "counters", None)
            if after_batch is not None and counters is not None and counters["words_seen"] != last[0]:
                last[0] = counters["words_seen"]
                call()
            yield line

    start = time.perf_counter()
    model.train(feed(), total_words=total_words)
    train_s = time.perf_counter() - start - hook_s[0]
    if after_batch is not None:
        call()
    return train_s


def schedule_curve(corpus: dict, mode: str, schedule: str, work: str, evaluator: str = "stream_w2v",
                   fractions=FRACTIONS, tracker=None, log=print) -> tuple[dict, object]:
    """One pass with ``schedule``, evaluated at ``fractions`` of the lines (none: no
    evaluation). ``tracker(model)``, if given, is called after every batch too.
    Returns (the run's record, the trained model)."""
    model = make_model(mode, schedule)
    uptos = [max(1, round(f * corpus["lines"])) for f in fractions]
    points, state = [], {"next": 0, "train_s": 0.0}
    started = time.perf_counter()

    def evaluate(m, final=False):
        while state["next"] < len(uptos) and (m.counters["docs_seen"] >= uptos[state["next"]] or final):
            stats = m.stats
            point = dict(fraction=fractions[state["next"]], lines=m.counters["docs_seen"],
                         words_seen=stats["words_seen"], vocab_size=stats["vocab_size"],
                         elapsed_s=time.perf_counter() - started, alpha=stats["alpha"], loss=stats["loss"],
                         **evaluate_model_wv(m.wv, work, evaluator))
            points.append(point)
            log(f"  {schedule:13} {point['fraction']:5.0%} {point['words_seen']:>11,} words  "
                f"vocab {point['vocab_size']:>7,}  analogy {point['analogy']:.3f}  ws353 {point['ws353']:.3f}  "
                f"simlex {point['simlex']:.3f}")
            state["next"] += 1

    def after_batch(m):
        if tracker is not None:
            tracker(m)
        if uptos:
            evaluate(m)

    with open(corpus["path"], encoding="utf-8") as f:
        total_words = corpus["tokens"] if schedule == "linear" else None
        train_s = stream_pass(model, f, total_words, after_batch)
    if uptos:
        evaluate(model, final=True)  # the last fraction (1.0) is the end of the stream
    settings = {k: getattr(model, k) for k in ("lr_schedule", "alpha", "min_alpha", "lr_horizon", "adagrad_init")}
    if total_words:
        settings["total_words"] = total_words
    record = dict(schedule=schedule, settings=settings, train_s=train_s,
                  words_per_sec=model.stats["words_seen"] / train_s if train_s > 0 else None, points=points)
    return record, model


# ---------------------------------------------------------------- gensim reference lines

def reference_key(mode: str, threads: int, passes: int, corpus: dict, evaluator: str) -> dict:
    from importlib.metadata import version
    return dict(trainer="gensim", mode=mode, threads=threads, passes=passes,
                settings=params(mode, threads), corpus_sha256=corpus["sha256"], gensim=version("gensim"),
                evaluator=evaluator)


def _key_name(key: dict) -> str:
    import hashlib
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    return f"reference-gensim-{key['mode']}-t{key['threads']}-p{key['passes']}-{digest}"


def cached_reference(key: dict, results_dir: Path) -> dict | None:
    """A gensim reference with exactly this key in any stream-*.json of results_dir."""
    for path in sorted(glob.glob(os.path.join(results_dir, "stream-*.json"))):
        try:
            with open(path) as f:
                refs = (json.load(f).get("curve") or {}).get("reference") or {}
        except (OSError, ValueError):
            continue
        for ref in refs.values():
            if isinstance(ref, dict) and ref.get("key") == key:
                return dict(ref, cached_from=os.path.basename(path))
    return None


def _train_gensim(key: dict, corpus: dict, vectors: str, work: str) -> dict:
    """gensim in its own process (bench/child.py, as bench/run.py runs it), its vectors kept."""
    import subprocess
    import sys
    from bench.run import _env, _wait
    spec = dict(trainer="gensim", mode=key["mode"], threads=key["threads"], passes=key["passes"],
                corpus=corpus["path"], tokens=corpus["tokens"], vectors=vectors,
                report=os.path.join(work, "reference.json"), gensim_input="sentences", settings={})
    env = _env()
    with open(os.path.join(work, "reference.log"), "w") as log:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "bench.child", json.dumps(spec)], stdout=log,
                                stderr=subprocess.STDOUT, env=env, cwd=env["PYTHONPATH"].split(os.pathsep)[0])
        status, _usage = _wait(proc, None)
        wall = time.perf_counter() - start
    if status != 0:
        with open(log.name) as f:
            raise RuntimeError(f"gensim reference failed (exit {status}):\n{f.read()[-3000:]}")
    return dict(wall_s=wall, words_per_sec=corpus["tokens"] * key["passes"] / wall)


def reference_lines(corpus: dict, mode: str, threads: int, work: str, results_dir: Path, cache_dir: Path,
                    evaluator: str = "stream_w2v", refresh: bool = False, need_vectors=(), log=print) -> dict:
    """{"gensim-1": {...}, "gensim-5": {...}}: scores of gensim on the whole corpus,
    1 and 5 epochs. Scores are reused from a results JSON with the same key, the
    vectors (needed for ``need_vectors`` passes: the usable part's reference)
    from ``cache_dir``; "vectors" names the file when it is there."""
    from bench.evaluate import evaluate_file
    out = {}
    for passes in REFERENCE_PASSES:
        key = reference_key(mode, threads, passes, corpus, evaluator)
        vectors = Path(cache_dir) / (_key_name(key) + ".bin")
        ref = None if refresh else cached_reference(key, results_dir)
        if ref is None or (passes in need_vectors and not vectors.exists()):
            if refresh or not vectors.exists():
                cache_dir.mkdir(parents=True, exist_ok=True)
                tmp = str(vectors) + ".tmp"
                timing = _train_gensim(key, corpus, tmp, work)
                os.replace(tmp, vectors)
            else:
                timing = {k: ref[k] for k in ("wall_s", "words_per_sec")} if ref else {}
            scores = evaluate_file(str(vectors), evaluator)
            ref = dict(scores, **timing, key=key, measured=(ref or {}).get("measured") or time.strftime("%Y-%m-%d"))
        ref = {k: v for k, v in ref.items() if k != "vectors"}
        if vectors.exists():
            ref["vectors"] = vectors.name  # in cache_dir
        out[f"gensim-{passes}"] = ref
        log(f"  gensim {passes} epoch{'s' if passes > 1 else ''}: analogy {ref['analogy']:.3f}  "
            f"ws353 {ref['ws353']:.3f}  simlex {ref['simlex']:.3f}"
            + (f"  (cached, {ref['cached_from']})" if "cached_from" in ref else
               f"  ({ref['wall_s']:.0f} s)" if "wall_s" in ref else ""))
    return out


# ---------------------------------------------------------------- plot

METRICS = (("analogy", "analogy accuracy (top 30k)"), ("ws353", "WS-353 Spearman"),
           ("simlex", "SimLex-999 Spearman"))


def plot(curve: dict, corpus_name: str, path: Path) -> Path | None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    refs = curve.get("reference") or {}
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2))
    for ax, (field, title) in zip(axes, METRICS):
        for i, (name, run) in enumerate(curve["runs"].items()):
            pts = [p for p in run["points"] if not math.isnan(p[field])]
            alpha = run["settings"]["alpha"]
            ax.plot([p["words_seen"] / 1e6 for p in pts], [p[field] for p in pts], "o-", ms=3, color=f"C{i}",
                    label=f"{name} (alpha {alpha:g})")
        for (name, ref), style in zip(refs.items(), ("--", ":")):
            if not math.isnan(ref[field]):
                passes = ref["key"]["passes"]
                ax.axhline(ref[field], color="0.3", ls=style, lw=1.2,
                           label=f"gensim, {passes} epoch{'s' if passes > 1 else ''}, whole corpus")
        ax.set_xlabel("million words of stream seen")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7.5, loc="upper left")
    fig.suptitle(f"one streaming pass per lr_schedule, {curve['mode']}, workers=1, corpus {corpus_name}",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
