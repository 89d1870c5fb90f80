"""Streaming figures: ``python -m bench stream [--quick] [--parts curve upkeep cli]``.

- curve: quality against stream position. One StreamingWord2Vec is trained on
  successive slices of the corpus (one pass in all) and evaluated between
  slices; gensim's 1-pass score on the whole corpus is the reference line.
- upkeep: where a streaming pass spends its time. The model's own methods are
  wrapped with timers from outside (nothing in the library changes):
  vocabulary counting, matrix growth, noise/subsampling tables, Huffman
  rebuilds, kernel view rebuilds, the C kernel; the rest is reading,
  tokenizing and batching. workers=1, so every part runs in one thread and
  the shares add up to the wall time.
- cli: throughput of ``stream-w2v train`` reading a file in bulk, a pipe
  (stdin) and a file followed while it is being written (--follow), each
  timed until the trainer's progress line reports every token seen.

Writes stream-NAME.json (and stream-NAME-curve.png) under bench/results/.
"""
from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench import corpus as corpus_mod
from bench.child import MODES, params
from bench.evaluate import EVALUATORS, evaluate_model_wv
from bench.run import RESULTS_DIR, machine, resolve_corpus, run_one, versions

# Evaluation points, as fractions of the corpus's lines: dense at the start,
# where quality moves fastest.
FRACTIONS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


# ---------------------------------------------------------------- curve

def quality_curve(corpus: dict, mode: str, threads: int, evaluator: str, work: str,
                  fractions=FRACTIONS, log=print) -> list[dict]:
    from stream_w2v.model import StreamingWord2Vec
    model = StreamingWord2Vec(**params(mode, threads))
    points, train_s, done = [], 0.0, 0
    with open(corpus["path"], encoding="utf-8") as f:
        for frac in fractions:
            upto = max(done, round(frac * corpus["lines"]))
            start = time.perf_counter()
            model.train(itertools.islice(f, upto - done))  # the next slice of the same open file
            train_s += time.perf_counter() - start
            done = upto
            stats = model.stats
            point = dict(fraction=frac, lines=done, words_seen=stats["words_seen"], vocab_size=stats["vocab_size"],
                         train_s=train_s, alpha=stats["alpha"], loss=stats["loss"],
                         **evaluate_model_wv(model.wv, work, evaluator))
            points.append(point)
            log(f"  {frac:5.0%} {point['words_seen']:>11,} words  vocab {point['vocab_size']:>7,}  "
                f"analogy {point['analogy']:.3f}  ws353 {point['ws353']:.3f}  simlex {point['simlex']:.3f}  "
                f"({train_s:.0f} s training)")
    return points


# ---------------------------------------------------------------- upkeep

@contextlib.contextmanager
def _timers(targets):
    """Wrap (owner, attribute, label) methods so each call adds its time to totals[label]."""
    totals = {label: 0.0 for _, _, label in targets}
    calls = {label: 0 for _, _, label in targets}
    saved = []
    for owner, name, label in targets:
        original = getattr(owner, name)
        saved.append((owner, name, original))

        def timed(*args, _f=original, _label=label, **kwargs):
            t = time.perf_counter()
            try:
                return _f(*args, **kwargs)
            finally:
                totals[_label] += time.perf_counter() - t
                calls[_label] += 1
        setattr(owner, name, timed)
    try:
        yield totals, calls
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)


def upkeep(corpus: dict, mode: str, log=print) -> dict:
    from stream_w2v import _native
    from stream_w2v.model import StreamingWord2Vec
    from stream_w2v.vocab import Vocabulary
    from bench.child import Lines
    targets = [(Vocabulary, "update", "vocabulary counting"),
               (StreamingWord2Vec, "_grow", "matrix growth"),
               (StreamingWord2Vec, "_refresh_tables", "tables"),
               (StreamingWord2Vec, "_rebuild_tree", "Huffman rebuild"),
               (StreamingWord2Vec, "_publish", "kernel view"),
               (_native.KernelModel, "train", "C kernel")]
    model = StreamingWord2Vec(**params(mode, 1))
    with _timers(targets) as (totals, calls):
        start = time.perf_counter()
        model.train(Lines(corpus["path"]))
        total = time.perf_counter() - start
    # _refresh_tables contains the tree rebuilds and the view rebuilds: count each once.
    parts = dict(totals)
    parts["noise/subsampling tables"] = parts.pop("tables") - totals["Huffman rebuild"] - totals["kernel view"]
    parts["reading, tokenizing, batching (rest)"] = total - sum(parts.values())
    out = dict(mode=mode, total_s=total, words_per_sec=corpus["tokens"] / total,
               vocab_size=model.stats["vocab_size"], calls=calls,
               seconds=parts, share={k: v / total for k, v in parts.items()})
    log(f"  {mode}: {total:.1f} s, " + ", ".join(f"{k} {v:.1%}" for k, v in out["share"].items()) +
        f"; Huffman rebuilds: {calls['Huffman rebuild']}")
    return out


# ---------------------------------------------------------------- cli

def _cli_args(mode: str, threads: int) -> list[str]:
    p = params(mode, threads)
    args = ["--sg" if p["sg"] else "--cbow", "--negative", str(p["negative"]), "--dim", str(p["vector_size"]),
            "--window", str(p["window"]), "--min-count", str(p["min_count"]), "--sample", str(p["sample"]),
            "--alpha", str(p["alpha"]), "--workers", str(threads), "--seed", str(p["seed"]),
            "--checkpoint-every", "1e9", "--log-json", "--log-every", "0"]
    return args + (["--hs"] if p["hs"] else [])


def _watch(proc, tokens: int, start: float, timeout: float) -> float | None:
    """Seconds from start until a progress line reports ``tokens`` words seen; None on timeout/exit."""
    result = [None]

    def reader():
        for line in proc.stderr:
            try:
                seen = json.loads(line).get("words_seen", 0)
            except ValueError:
                continue
            if seen >= tokens and result[0] is None:
                result[0] = time.perf_counter() - start
    t = threading.Thread(target=reader, daemon=True)
    t.start()
    deadline = start + timeout
    while result[0] is None and proc.poll() is None and time.perf_counter() < deadline:
        time.sleep(0.02)
    if result[0] is None and proc.poll() is not None:
        t.join(5)  # the last lines may still be in the pipe
    return result[0]


def cli_throughput(corpus: dict, mode: str, threads: int, work: str, timeout: float = 3600, log=print) -> dict:
    """stream-w2v train on a file (bulk), on stdin from a pipe, on a followed file being written."""
    exe = shutil.which("stream-w2v") or os.path.join(os.path.dirname(sys.executable), "stream-w2v")
    if not os.path.exists(exe):
        return {"skipped": "stream-w2v not installed"}
    path, tokens, out = corpus["path"], corpus["tokens"], {}
    for how in ("bulk", "pipe", "follow"):
        model_dir = os.path.join(work, f"cli-{how}")
        shutil.rmtree(model_dir, ignore_errors=True)
        start = time.perf_counter()
        if how == "bulk":
            proc = subprocess.Popen([exe, "train", model_dir, path, *_cli_args(mode, threads)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        elif how == "pipe":
            cat = subprocess.Popen(["cat", path], stdout=subprocess.PIPE)
            proc = subprocess.Popen([exe, "train", model_dir, "-", *_cli_args(mode, threads)],
                                    stdin=cat.stdout, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            cat.stdout.close()  # the trainer holds the pipe's only read end
        else:
            live = os.path.join(work, "live.txt")
            with contextlib.suppress(FileNotFoundError):
                os.unlink(live)
            proc = subprocess.Popen([exe, "train", model_dir, live, "--follow", *_cli_args(mode, threads)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            writer = threading.Thread(target=_append, args=(path, live), daemon=True)
            writer.start()
        seen_s = _watch(proc, tokens, start, timeout)
        if how == "follow":
            proc.send_signal(signal.SIGINT)  # a follower never ends by itself: checkpoint and exit
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        wall = time.perf_counter() - start
        if seen_s is None:
            out[how] = {"error": f"never reported {tokens} words (exit {proc.returncode})"}
        else:
            out[how] = dict(seconds_to_all_words=seen_s, words_per_sec=tokens / seen_s, process_wall_s=wall,
                            exit=proc.returncode)
        log(f"  {how:6}: " + (f"{out[how]['words_per_sec']:,.0f} words/s ({seen_s:.1f} s to the last word, "
                              f"{wall:.1f} s process)" if seen_s else out[how]["error"]))
        shutil.rmtree(model_dir, ignore_errors=True)
    return out


def _append(src: str, dst: str, block: int = 1 << 20) -> None:
    """Write src into dst 1 MB at a time, as fast as possible: a log being written."""
    with open(src, "rb") as fin, open(dst, "ab") as fout:
        for chunk in iter(lambda: fin.read(block), b""):
            fout.write(chunk)
            fout.flush()


# ---------------------------------------------------------------- plot, main

def plot_curve(results: dict, path: Path) -> Path | None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    pts = results["curve"]["points"]
    ref = results["curve"].get("gensim_1pass") or {}
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.8))
    x = [p["words_seen"] / 1e6 for p in pts]
    for ax, (field, title) in zip(axes, (("analogy", "analogy (top 30k)"), ("ws353", "WS-353 Spearman"),
                                        ("simlex", "SimLex-999 Spearman"))):
        ax.plot(x, [p[field] for p in pts], "o-", label="stream_w2v, along one pass")
        if field in ref and not math.isnan(ref[field]):
            ax.axhline(ref[field], color="C1", ls="--", label="gensim, 1 pass (end)")
        ax.set_xlabel("million words seen")
        ax.set_title(title, fontsize=10)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"{results['curve']['mode']}, corpus {results['meta']['corpus']['name']}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m bench stream", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small corpus")
    p.add_argument("--corpus", help="'small', 'full' or a text file (default full, small with --quick)")
    p.add_argument("--parts", nargs="+", choices=("curve", "upkeep", "cli"), default=["curve", "upkeep", "cli"])
    p.add_argument("--mode", choices=list(MODES), default="SG-NS", help="mode of the curve and the cli part")
    p.add_argument("--upkeep-modes", nargs="+", choices=list(MODES), default=["SG-NS", "SG-HS"])
    p.add_argument("--threads", type=int, default=2, help="threads for the curve and the cli part")
    p.add_argument("--no-reference", action="store_true", help="skip gensim's 1-pass reference line")
    p.add_argument("--evaluator", choices=EVALUATORS, default="stream_w2v")
    p.add_argument("--out", type=Path, default=RESULTS_DIR)
    p.add_argument("--name")
    p.add_argument("--data-dir", type=Path, default=corpus_mod.DEFAULT_DATA_DIR)
    args = p.parse_args(argv)
    args.corpus = args.corpus or ("small" if args.quick else "full")
    args.name = args.name or ("quick" if args.quick else "full" if args.corpus == "full" else Path(args.corpus).stem)
    return args


def main(argv=None, log=print) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    corpus = resolve_corpus(args.corpus, args.data_dir)
    meta = dict(command="python -m bench stream " + " ".join(argv), machine=machine(), versions=versions(),
                corpus={k: corpus[k] for k in ("name", "tokens", "lines", "bytes", "sha256")},
                threads=args.threads, evaluator=args.evaluator, load_at_start=os.getloadavg())
    results = {"meta": meta}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="stream_w2v_stream_") as work:
        if "curve" in args.parts:
            log(f"quality along one pass ({args.mode}, {args.threads} threads):")
            curve = dict(mode=args.mode, points=quality_curve(corpus, args.mode, args.threads, args.evaluator,
                                                              work, log=log))
            if not args.no_reference:
                ref = run_one("gensim", args.mode, args.threads, 1, corpus, work, evaluator=args.evaluator)
                curve["gensim_1pass"] = {k: ref[k] for k in ("analogy", "ws353", "simlex", "words_per_sec")}
                log(f"  gensim 1 pass: analogy {ref['analogy']:.3f}  ws353 {ref['ws353']:.3f}  "
                    f"simlex {ref['simlex']:.3f}")
            results["curve"] = curve
        if "upkeep" in args.parts:
            log("time shares of one streaming pass (workers=1):")
            results["upkeep"] = [upkeep(corpus, m, log=log) for m in args.upkeep_modes]
        if "cli" in args.parts:
            log(f"stream-w2v train, {args.mode}, {args.threads} threads:")
            results["cli"] = cli_throughput(corpus, args.mode, args.threads, work, log=log)
    meta["total_s"] = time.perf_counter() - started
    meta["load_at_end"] = os.getloadavg()
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"stream-{args.name}.json"
    with open(path, "w") as f:
        json.dump(results, f, indent=1)
    png = plot_curve(results, args.out / f"stream-{args.name}-curve.png") if "curve" in results else None
    log(f"wrote {path}" + (f", {png}" if png else "") + f" in {meta['total_s']:.0f} s")
    return results


if __name__ == "__main__":
    main()
