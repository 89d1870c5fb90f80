"""Streaming figures: ``python -m bench stream [--quick] [--parts curve usable upkeep cli]``.

- curve: quality against stream position, one line per ``--schedules``
  (bench/curve.py): one StreamingWord2Vec per schedule (workers=1) makes one
  pass over the corpus and is evaluated between batches at fixed fractions of
  it; gensim's 1 and 5 epochs on the whole corpus are the reference lines
  (their scores are cached in the results JSON; --no-reference skips them).
- usable: how soon a new word is usable after it reaches min_count
  (bench/usable.py: words deleted from the first 30% of the stream, measured
  after their promotion against the same schedule's pass over the corpus).
- upkeep: where a streaming pass spends its time. The model's own methods are
  wrapped with timers from outside (nothing in the library changes):
  vocabulary counting, matrix growth, noise/subsampling tables, Huffman
  rebuilds, kernel view rebuilds, the C kernel; the rest is reading,
  tokenizing and batching. workers=1, so every part runs in one thread and
  the shares add up to the wall time.
- cli: throughput of ``stream-w2v train`` reading a file in bulk, a pipe
  (stdin) and a file followed while it is being written (--follow), each
  timed until the trainer's progress line reports every token seen; and,
  as "iterable", of the library's ``StreamingWord2Vec.train`` given the
  open file (an iterable of str) with the same settings, timed from its
  process's start to the end of ``train``. Each is also given as a ratio to
  the bulk file's words/s.

Writes stream-NAME.json (and stream-NAME-curve.png, stream-NAME-usable.png)
under bench/results/. ``--parts curve --add-to NAME`` instead adds the
schedules' curves to an earlier stream-NAME.json (same corpus, mode,
fractions and evaluator, checked) and redraws its plot: one more schedule
without rerunning the others.
"""
from __future__ import annotations

import argparse
import contextlib
import json
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
from bench import curve as curve_mod
from bench import usable as usable_mod
from bench.child import MODES, params, stream_params
from bench.curve import FRACTIONS
from bench.evaluate import EVALUATORS
from bench.run import RESULTS_DIR, machine, resolve_corpus, versions
from stream_w2v.schedule import SCHEDULES


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
    model = StreamingWord2Vec(**stream_params(mode, 1))
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
    p = stream_params(mode, threads)  # no alpha: the command's default schedule keeps its own
    args = ["--sg" if p["sg"] else "--cbow", "--negative", str(p["negative"]), "--dim", str(p["vector_size"]),
            "--window", str(p["window"]), "--min-count", str(p["min_count"]), "--sample", str(p["sample"]),
            "--workers", str(threads), "--seed", str(p["seed"]),
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
    """stream-w2v train on a file (bulk), on stdin from a pipe, on a followed file being
    written; StreamingWord2Vec.train on the open file (iterable)."""
    exe = shutil.which("stream-w2v") or os.path.join(os.path.dirname(sys.executable), "stream-w2v")
    if not os.path.exists(exe):
        return {"skipped": "stream-w2v not installed"}
    path, tokens, out = corpus["path"], corpus["tokens"], {}
    for how in ("bulk", "pipe", "follow", "iterable"):
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
        elif how == "iterable":
            proc = subprocess.Popen([sys.executable, "-c", _ITERABLE, path, mode, str(threads)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=_REPO)
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
        if seen_s and "words_per_sec" in out.get("bulk", {}):
            out[how]["vs_bulk"] = out[how]["words_per_sec"] / out["bulk"]["words_per_sec"]
        log(f"  {how:8}: " + (f"{out[how]['words_per_sec']:,.0f} words/s ({seen_s:.1f} s to the last word, "
                                f"{wall:.1f} s process, {out[how].get('vs_bulk', 1.0):.2f}x bulk)"
                                if seen_s else out[how]["error"]))
        shutil.rmtree(model_dir, ignore_errors=True)
    return out


_REPO = str(Path(__file__).resolve().parent.parent)
# The library path: train() on the open file, then the progress line _watch
# waits for (the command prints its own).
_ITERABLE = """
import json, sys
from bench.child import stream_params
from stream_w2v import StreamingWord2Vec
path, mode, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
model = StreamingWord2Vec(**stream_params(mode, threads))
with open(path, encoding="utf-8") as f:
    model.train(f)
print(json.dumps({"words_seen": model.stats["words_seen"]}), file=sys.stderr, flush=True)
"""


def _append(src: str, dst: str, block: int = 1 << 20) -> None:
    """Write src into dst 1 MB at a time, as fast as possible: a log being written."""
    with open(src, "rb") as fin, open(dst, "ab") as fout:
        for chunk in iter(lambda: fin.read(block), b""):
            fout.write(chunk)
            fout.flush()


# ---------------------------------------------------------------- main

def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m bench stream", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small corpus")
    p.add_argument("--corpus", help="'small', 'full' or a text file (default full, small with --quick)")
    p.add_argument("--parts", nargs="+", choices=("curve", "usable", "upkeep", "cli"),
                   default=["curve", "upkeep", "cli"], help="default: curve upkeep cli (usable is opt-in)")
    p.add_argument("--mode", choices=list(MODES), default="SG-NS", help="mode of the curve, usable and cli parts")
    p.add_argument("--schedules", nargs="+", choices=SCHEDULES, default=["adagrad"], metavar="SCHEDULE",
                   help=f"lr_schedule of each curve (and usable pass): {', '.join(SCHEDULES)}; default adagrad")
    p.add_argument("--fractions", nargs="+", type=float, default=list(FRACTIONS), metavar="F",
                   help="where the curves are evaluated: fractions of the corpus's lines, increasing, in (0, 1]")
    p.add_argument("--upkeep-modes", nargs="+", choices=list(MODES), default=["SG-NS", "SG-HS"])
    p.add_argument("--threads", type=int, default=2,
                   help="threads of the cli part and of gensim's reference lines (the curves use one worker)")
    p.add_argument("--no-reference", action="store_true", help="skip gensim's 1 and 5 epoch reference lines")
    p.add_argument("--refresh-reference", action="store_true",
                   help="retrain the reference lines even if a results JSON in --out has them")
    p.add_argument("--usable-targets", type=int, default=usable_mod.N_TARGETS, help="words made to arrive late")
    p.add_argument("--usable-rate", nargs=2, type=float, default=list(usable_mod.RATE), metavar=("LO", "HI"),
                   help="their frequency band, occurrences per million tokens")
    p.add_argument("--usable-arrival", type=float, default=usable_mod.ARRIVAL,
                   help="share of the lines from which the targets appear")
    p.add_argument("--evaluator", choices=EVALUATORS, default="stream_w2v")
    p.add_argument("--out", type=Path, default=RESULTS_DIR)
    p.add_argument("--name")
    p.add_argument("--data-dir", type=Path, default=corpus_mod.DEFAULT_DATA_DIR)
    p.add_argument("--add-to", metavar="NAME", help="add the curves to bench/results/stream-NAME.json (--parts curve)")
    args = p.parse_args(argv)
    if args.add_to and args.parts != ["curve"]:
        p.error("--add-to adds curves only: use it with --parts curve")
    args.corpus = args.corpus or ("small" if args.quick else "full")
    args.name = args.name or ("quick" if args.quick else "full" if args.corpus == "full" else Path(args.corpus).stem)
    args.schedules = list(dict.fromkeys(args.schedules))
    if not all(0 < f <= 1 for f in args.fractions) or args.fractions != sorted(set(args.fractions)):
        p.error("--fractions must be increasing, in (0, 1]")
    return args


def schedules(args, corpus: dict, work: str, log=print) -> tuple[dict | None, dict | None]:
    """The curve and usable parts: gensim's reference lines (cached), then per
    schedule one pass over the corpus (evaluated along the way for the curve; a
    reference for the usable part) and the usable part's late pass."""
    want_curve, want_usable = "curve" in args.parts, "usable" in args.parts
    curve = usable = sel = None
    if want_curve:
        curve = dict(mode=args.mode, workers=1, fractions=args.fractions, schedules=args.schedules, runs={})
    if want_usable:
        t = time.perf_counter()
        sel = usable_mod.select(corpus, params(args.mode, 1)["min_count"], args.usable_targets,
                                args.usable_rate, args.usable_arrival)
        usable = dict(mode=args.mode, workers=1, arrival=args.usable_arrival, arrival_line=sel["arrival_line"],
                      rate_band_per_million=args.usable_rate, rate_band_counts=sel["rate_band"],
                      settle_thresholds=list(usable_mod.SETTLE), agree_share=usable_mod.AGREE_SHARE,
                      deleted_tokens=sel["deleted_tokens"], targets=sel["targets"], controls=sel["controls"],
                      anchors=len(sel["anchors"]), target_counts_before_after=sel["counts"], schedules={})
        log(f"usable: {len(sel['targets'])} targets, {len(sel['controls'])} controls, {len(sel['anchors'])} anchors; "
            f"{sel['deleted_tokens']:,} tokens deleted before line {sel['arrival_line']:,} "
            f"({time.perf_counter() - t:.0f} s)")
        if not sel["targets"]:
            usable["skipped"] = "no word in the frequency band"
            want_usable = False
    refs = {}
    if not args.no_reference:
        log(f"gensim on the whole corpus ({args.threads} threads), the reference lines:")
        refs = curve_mod.reference_lines(corpus, args.mode, args.threads, work, args.out, args.data_dir,
                                         args.evaluator, args.refresh_reference,
                                         need_vectors=(5,) if want_usable else (), log=log)
    gensim5 = None
    if want_usable and "vectors" in refs.get("gensim-5", {}):
        from stream_w2v.keyedvectors import KeyedVectors
        gensim5 = KeyedVectors.load_word2vec_format(str(args.data_dir / refs["gensim-5"]["vectors"]), binary=True)
    log(f"one pass per schedule ({args.mode}, workers=1):")
    for schedule in args.schedules:
        record, model = curve_mod.schedule_curve(corpus, args.mode, schedule, work, args.evaluator,
                                                 args.fractions if want_curve else (), log=log)
        log(f"  {schedule:13} trained in {record['train_s']:.0f} s")
        if want_curve:
            curve["runs"][schedule] = record
        if want_usable:
            references = {"pass": model.wv} | ({"gensim5": gensim5} if gensim5 is not None else {})
            usable["schedules"][schedule] = usable_mod.late_pass(corpus, args.mode, schedule, sel, references,
                                                                 log=log)
        del model
    if want_curve:
        curve["points"] = curve["runs"][args.schedules[0]]["points"]  # the first schedule's, as before
        if refs:
            curve["reference"] = refs
    return curve, usable


def add_curves(path: Path, new: dict) -> dict:
    """The results in ``path`` with the curves of ``new`` added (a schedule run
    again replaces its old curve); refused when they were not measured alike."""
    try:
        old = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise SystemExit(f"--add-to: cannot read {path}: {exc}") from None
    a, b = old.get("curve"), new["curve"]
    if a is None:
        raise SystemExit(f"--add-to: {path} has no curve")
    differ = [k for k in ("mode", "fractions") if a.get(k) != b.get(k)]
    differ += [k for k in ("sha256", "tokens") if old["meta"]["corpus"].get(k) != new["meta"]["corpus"].get(k)]
    differ += ["evaluator"] * (old["meta"].get("evaluator") != new["meta"].get("evaluator"))
    if differ:
        raise SystemExit(f"--add-to: {path} was measured with another {', '.join(differ)}")
    a["runs"].update(b["runs"])
    a["schedules"] = list(dict.fromkeys(a["schedules"] + b["schedules"]))
    old["meta"].setdefault("added", []).append(
        {k: new["meta"][k] for k in ("command", "date", "versions", "total_s", "load_at_start", "load_at_end")}
        | {"schedules": b["schedules"]})
    return old


def main(argv=None, log=print) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    corpus = resolve_corpus(args.corpus, args.data_dir)
    meta = dict(command="python -m bench stream " + " ".join(argv), machine=machine(), versions=versions(),
                corpus={k: corpus[k] for k in ("name", "tokens", "lines", "bytes", "sha256")},
                threads=args.threads, evaluator=args.evaluator, load_at_start=os.getloadavg(),
                date=time.strftime("%Y-%m-%d"))
    results = {"meta": meta}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="stream_w2v_stream_") as work:
        if "curve" in args.parts or "usable" in args.parts:
            curve, usable = schedules(args, corpus, work, log=log)
            if curve is not None:
                results["curve"] = curve
            if usable is not None:
                results["usable"] = usable
        if "upkeep" in args.parts:
            log("time shares of one streaming pass (workers=1):")
            results["upkeep"] = [upkeep(corpus, m, log=log) for m in args.upkeep_modes]
        if "cli" in args.parts:
            log(f"stream-w2v train, {args.mode}, {args.threads} threads:")
            results["cli"] = cli_throughput(corpus, args.mode, args.threads, work, log=log)
    meta["total_s"] = time.perf_counter() - started
    meta["load_at_end"] = os.getloadavg()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.add_to:
        results, args.name = add_curves(args.out / f"stream-{args.add_to}.json", results), args.add_to
    path = args.out / f"stream-{args.name}.json"
    with open(path, "w") as f:
        json.dump(results, f, indent=1)
    pngs = []
    if "curve" in results:
        pngs.append(curve_mod.plot(results["curve"], corpus["name"], args.out / f"stream-{args.name}-curve.png"))
    if results.get("usable", {}).get("schedules"):
        pngs.append(usable_mod.plot(results["usable"], corpus["name"], args.out / f"stream-{args.name}-usable.png"))
    log(f"wrote {path}" + "".join(f", {p}" for p in pngs if p) + f" in {meta['total_s']:.0f} s")
    return results


if __name__ == "__main__":
    main()
