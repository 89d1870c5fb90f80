"""stream_w2v against gensim, side by side: ``python -m bench [run] [options]``.

For every (mode, passes) the trainers run one after the other, alternating
(stream_w2v, gensim, stream_w2v, gensim, ...) and so do the thread counts
(1, 2, 1, 2, ... for --repeats), so a machine that slows down during the run
slows both, and both thread counts. Each training is its own
process (bench/child.py): wall time is the whole process (start-up, imports,
reading, training, writing the vectors) and peak RSS is that process's alone
(VmHWM, read by the child as it exits; see bench/child.py for why not wait4). words/s = corpus tokens x passes / wall seconds, the same
definition for every trainer (DESIGN.md section 6). Quality is measured
afterwards, by one evaluator for both (bench/evaluate.py).

Trainers (--trainers; default stream_w2v gensim):
- stream_w2v, gensim: Python, run by bench/child.py;
- variants of them with other settings, one row each: built in
  ``stream_w2v-adagrad`` (lr_schedule "adagrad", alpha 0.1), or your own with
  ``--variant 'NAME=BASE:key=value,...'`` (e.g. ``--variant
  'stream_w2v-coord=stream_w2v:lr_schedule=adagrad_coord,alpha=0.1'``);
- the published peers, opt-in, SG-NS only: ``pword2vec``, ``yskip`` (its input
  vectors) and ``yskip-avg`` (its (input + output) / 2 vectors, from the same
  run as ``yskip``: same time and RSS, only the vectors differ). Built from
  ../shared/peers into --peers-dir on first use; see bench/peers.py for how
  their time and peak RSS are measured (/usr/bin/time -v on the process tree).

--seeds: repeat r trains stream_w2v and gensim (and their variants) with
seed 1 + r instead of 1 every time, so the median over repeats is over seeds
and not over one seed's runs. It matters for quality at several passes:
gensim's own five-pass SG-NS analogy, one thread, was .284 / .274 / .262
with seeds 1 / 2 / 3, so one seed against one seed compares luck. The
peers have no seed option: every repeat runs their fixed one.

--corpus-prefix-tokens N trains on the first N tokens of the corpus (whole
lines, the last one cut), written once to the data directory.

Writes NAME.json, NAME.md and NAME-*.png under --out (bench/results/), and
with --update-readme the README section between the bench markers.
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import corpus as corpus_mod
from bench import peers as peers_mod
from bench import report
from bench.child import MODES, COMMON
from bench.evaluate import EVALUATORS, evaluate_file

TRAINERS = ("stream_w2v", "gensim")  # the default; the others are opt-in
PYTHON_TRAINERS = ("stream_w2v", "gensim")
# name -> (base trainer, settings that override the benchmark's for it)
VARIANTS = {"stream_w2v-adagrad": ("stream_w2v", {"lr_schedule": "adagrad", "alpha": 0.1}),
            "stream_w2v-avg": ("stream_w2v", {"export": "average"}),
            "stream_w2v-inverse": ("stream_w2v", {"lr_schedule": "inverse"})}
RESULTS_DIR = Path(__file__).parent / "results"
# Quick mode: the small corpus, the two NS modes at 1 and 2 threads, one pass:
# 8 trainings of ~1M tokens, about 2-3 minutes on the 2-core machine.
QUICK = dict(corpus="small", modes=["SG-NS", "CBOW-NS"], threads=[1, 2], passes=[1])
FULL = dict(corpus="full", modes=list(MODES), threads=[1, 2], passes=[1, 5])
# What the summary compares (median over repeats), ours / gensim.
RATIO_FIELDS = ("words_per_sec", "peak_rss_mb", "analogy", "ws353", "simlex")


def machine() -> dict:
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            model = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), model)
    except OSError:
        pass
    mem = None
    try:
        with open("/proc/meminfo") as f:
            mem = round(int(next(l.split()[1] for l in f if l.startswith("MemTotal"))) / 2**20, 1)
    except (OSError, StopIteration):
        pass
    return {"cpu": model, "cores": os.cpu_count(), "mem_gib": mem, "python": platform.python_version(),
            "platform": platform.platform()}


def versions() -> dict:
    out = {}
    for name in ("numpy", "gensim", "stream_w2v"):
        try:
            from importlib.metadata import version
            out[name] = version(name)
        except Exception:  # not installed: the run will fail later with a clearer error
            out[name] = None
    try:
        from stream_w2v import kernel_info
        out["stream_w2v_isa"] = kernel_info().get("isa")
    except Exception:
        out["stream_w2v_isa"] = None
    return out


def _env() -> dict:
    # BLAS thread pools would add threads nobody asked for (gensim calls BLAS
    # one vector at a time, stream_w2v not at all, pWord2Vec sets 1 itself):
    # the thread count is --threads.
    # PYTHONHASHSEED: gensim seeds each word's initial vector with hash(word + seed),
    # which Python randomizes per process; fixed, a 1-thread gensim run repeats exactly.
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONHASHSEED="0")
    repo = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = repo + os.pathsep + env.get("PYTHONPATH", "") if env.get("PYTHONPATH") else repo
    return env


def run_trainer(trainer: str, mode: str, threads: int, passes: int, corpus: dict, workdir: str,
                gensim_input: str = "sentences", evaluator: str = "stream_w2v", timeout: float | None = None,
                variants: dict | None = None, peers_dir: Path | None = None, seed: int | None = None) -> list[dict]:
    """Train once in its own process (tree), then evaluate its vectors: one row,
    or more when one run writes several vector files (yskip: yskip, yskip-avg).
    ``seed``: the Python trainers' seed (default the benchmark's, 1; a variant's
    own seed setting wins); the peers have none."""
    if trainer in peers_mod.PEERS:
        return _run_peer(trainer, mode, threads, passes, corpus, workdir, evaluator, timeout, peers_dir)
    spec = child_spec(trainer, mode, threads, passes, corpus, workdir, gensim_input, variants, seed=seed)
    settings = spec["settings"]
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    proc = launch(spec)
    status, usage = _wait(proc, timeout)
    wall = time.perf_counter() - start
    inside = child_report(spec, status)
    row = dict(trainer=trainer, mode=mode, threads=threads, passes=passes, wall_s=wall,
               words_per_sec=corpus["tokens"] * passes / wall,
               train_words_per_sec=corpus["tokens"] * passes / inside["train_s"],
               # Fallback only: ru_maxrss includes the runner's RSS at fork (see child.peak_rss_mb).
               peak_rss_mb=inside.pop("vmhwm_mb") or usage.ru_maxrss / 1024, rss_method="VmHWM",
               cpu_s=usage.ru_utime + usage.ru_stime, load_before=load_before, settings=settings, **inside)
    # CPU seconds say how much of the wall time the trainer actually ran: on a
    # shared machine (load > cores) wall time alone hides contention.
    row["words_per_cpu_sec"] = corpus["tokens"] * passes / row["cpu_s"]
    t = time.perf_counter()
    row.update(evaluate_file(spec["vectors"], evaluator))
    row["eval_s"] = time.perf_counter() - t
    os.unlink(spec["vectors"])  # up to ~30 MB each; the numbers are what is kept
    return [row]


def child_spec(trainer: str, mode: str, threads: int, passes: int, corpus: dict, workdir: str,
               gensim_input: str = "sentences", variants: dict | None = None, tag: str | None = None,
               seed: int | None = None) -> dict:
    """What bench.child is told to do: train, write its vectors and its report in ``workdir``."""
    variants = VARIANTS if variants is None else variants
    base, settings = variants.get(trainer, (trainer, {}))
    if seed is not None:
        settings = {"seed": seed, **settings}
    tag = tag or f"{trainer}-{mode}-t{threads}-p{passes}"
    return dict(trainer=base, mode=mode, threads=threads, passes=passes, corpus=corpus["path"],
                tokens=corpus["tokens"], vectors=os.path.join(workdir, tag + ".bin"),
                report=os.path.join(workdir, tag + ".json"), log=os.path.join(workdir, tag + ".log"),
                tag=tag, gensim_input=gensim_input, settings=settings)


def launch(spec: dict) -> subprocess.Popen:
    """Start bench.child on ``spec`` (its output goes to spec["log"])."""
    env = _env()
    repo = env["PYTHONPATH"].split(os.pathsep)[0]
    with open(spec["log"], "w") as log:
        return subprocess.Popen([sys.executable, "-m", "bench.child", json.dumps(spec)],
                                stdout=log, stderr=subprocess.STDOUT, env=env, cwd=repo)


def child_report(spec: dict, status: int) -> dict:
    """The report a finished child wrote, or RuntimeError with its log's tail."""
    if status != 0:
        with open(spec["log"]) as f:
            tail = f.read()[-3000:]
        raise RuntimeError(f"{spec['tag']} failed (exit {status}):\n{tail}")
    with open(spec["report"]) as f:
        return json.load(f)


def _run_peer(trainer, mode, threads, passes, corpus, workdir, evaluator, timeout, peers_dir) -> list[dict]:
    """A published peer (bench/peers.py): its own command line, timed and measured
    as one process tree; every vector file it writes evaluated by the same evaluator."""
    if mode not in peers_mod.PEER_MODES:
        raise ValueError(f"{trainer} trains {', '.join(peers_mod.PEER_MODES)} only, not {mode}")
    exe = peers_mod.binary(trainer, peers_dir or peers_mod.DEFAULT_PEERS_DIR)
    tag = f"{trainer}-{mode}-t{threads}-p{passes}"
    vectors = os.path.join(workdir, tag + ".bin")
    argv = peers_mod.command(trainer, exe, corpus["path"], vectors, threads, passes)
    load_before = os.getloadavg()[0]
    log_path = os.path.join(workdir, tag + ".log")
    res = peers_mod.run(argv, _env(), log_path, timeout)
    if res["status"] != 0:
        with open(log_path) as f:
            tail = f.read()[-3000:]
        raise RuntimeError(f"{tag} failed (exit {res['status']}):\n{tail}")
    rows = []
    for name, path in peers_mod.outputs(trainer, vectors).items():
        row = dict(trainer=name, mode=mode, threads=threads, passes=passes, wall_s=res["wall_s"],
                   words_per_sec=corpus["tokens"] * passes / res["wall_s"], train_words_per_sec=None,
                   peak_rss_mb=res["peak_rss_mb"], rss_method=res["rss_method"], cpu_s=res["cpu_s"],
                   load_before=load_before, command=" ".join(map(shlex.quote, argv)),
                   import_s=None, train_s=None, save_s=None, vocab_size=peers_mod.vocab_size(path),
                   words_seen=None, loss=None, isa=None, seed=None)
        if name != trainer:
            row["same_run_as"] = trainer
        row["words_per_cpu_sec"] = corpus["tokens"] * passes / row["cpu_s"]
        t = time.perf_counter()
        row.update(evaluate_file(path, evaluator))
        row["eval_s"] = time.perf_counter() - t
        os.unlink(path)
        rows.append(row)
    return rows


def _wait(proc: subprocess.Popen, timeout: float | None):
    """wait4 on the child: its exit status and its own rusage (CPU time)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, 0 if deadline is None else os.WNOHANG)
        if pid == proc.pid:
            proc.returncode = os.waitstatus_to_exitcode(status)  # Popen must not wait again
            return proc.returncode, usage
        if time.monotonic() > deadline:
            proc.kill()
            deadline = None  # the next wait4 blocks until the kill is reaped
        else:
            time.sleep(0.05)


def reported_trainers(trainers: list[str], rows: list[dict]) -> list[str]:
    """The trainers asked for, each followed by the rows it brought along (yskip: yskip-avg)."""
    out = []
    for t in trainers:
        out.append(t)
        out += [d for d, base in peers_mod.DERIVED.items() if base == t and any(r["trainer"] == d for r in rows)]
    return out + [t for t in dict.fromkeys(r["trainer"] for r in rows) if t not in out]


def summarize(rows: list[dict], trainers: list[str] | None = None) -> list[dict]:
    """Median of the repeats per (mode, threads, passes, trainer), and ours/gensim ratios.
    Every trainer that has rows is summarized (yskip-avg comes with yskip), in
    the order of ``trainers`` and then of first appearance."""
    trainers = reported_trainers(trainers or [], rows)
    configs = []
    for row in rows:
        key = (row["mode"], row["threads"], row["passes"])
        if key not in configs:
            configs.append(key)
    fields = ("words_per_sec", "train_words_per_sec", "words_per_cpu_sec", "wall_s", "peak_rss_mb", "cpu_s",
              "load_before",
              "vocab_size",
              "analogy", "ws353", "simlex")
    out = []
    for mode, threads, passes in configs:
        entry = dict(mode=mode, threads=threads, passes=passes)
        for trainer in trainers:
            mine = [r for r in rows if (r["mode"], r["threads"], r["passes"], r["trainer"]) ==
                    (mode, threads, passes, trainer)]
            if mine:
                entry[trainer] = {f: _median([r[f] for r in mine]) for f in fields}
                entry[trainer]["runs"] = len(mine)
        if "stream_w2v" in entry and "gensim" in entry:
            entry["ratio"] = {f: _ratio(entry["stream_w2v"][f], entry["gensim"][f]) for f in RATIO_FIELDS}
        out.append(entry)
    return out


def scaling(rows: list[dict]) -> list[dict]:
    """Per (mode, passes, trainer) and thread count T > 1: words/s at T threads over
    words/s at 1 thread, for each repeat that ran both. The repeats alternate the
    thread counts, so each ratio comes from two runs minutes apart, and their
    median moves less with the machine's drift than the ratio of two medians.

    ``cpu_ratios``: the same repeats' CPU seconds at T threads over those at 1
    (None unless every one of them reported its CPU): 1.0 when T threads did
    the same work for the same CPU; above it, what they paid for running
    together (on this host: cache lines both cores write, README)."""
    out = []
    for key in dict.fromkeys((r["mode"], r["passes"], r["trainer"]) for r in rows):
        mine = [r for r in rows if (r["mode"], r["passes"], r["trainer"]) == key]
        one = {r.get("repeat", 0): r for r in mine if r["threads"] == 1}
        for threads in sorted({r["threads"] for r in mine} - {1}):
            many = {r.get("repeat", 0): r for r in mine if r["threads"] == threads}
            both = [k for k in sorted(one.keys() & many.keys()) if one[k]["words_per_sec"]]
            if both:
                ratios = _per_repeat(one, many, both, "words_per_sec")
                out.append(dict(mode=key[0], passes=key[1], trainer=key[2], threads=threads, ratios=ratios,
                                median=statistics.median(ratios),
                                cpu_ratios=_per_repeat(one, many, both, "cpu_s")))
    return out


def _per_repeat(one: dict, many: dict, repeats: list, field: str) -> list[float] | None:
    """many[k][field] / one[k][field] for each repeat k, or None if a value is
    missing (or a divisor is not positive)."""
    pairs = [(many[k].get(field), one[k].get(field)) for k in repeats]
    if any(a is None or b is None or b <= 0 for a, b in pairs):
        return None
    return [a / b for a, b in pairs]


def _median(values):
    values = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return statistics.median(values) if values else math.nan


def _ratio(a, b):
    """a / b, or None when b is not positive or undefined: a ratio to nothing, or to
    a negative correlation, is not a figure (-0.01 / -0.004 = 2.5 would read as a win)."""
    if a is None or b is None or math.isnan(a) or math.isnan(b) or b <= 0:
        return None
    return a / b


QUALITY_FIELDS = ("analogy", "ws353", "simlex")


def headline(summary: list[dict]) -> dict:
    """One number per field over every configuration: the geometric mean of the
    ratios that are defined and positive, and for quality also the mean
    difference ours - gensim (near zero scores make ratios jumpy; differences are not)."""
    out = {}
    for f in RATIO_FIELDS:
        vals = [s["ratio"][f] for s in summary if s.get("ratio") and s["ratio"][f] is not None and s["ratio"][f] > 0]
        out[f] = math.exp(sum(map(math.log, vals)) / len(vals)) if vals else None
    for f in QUALITY_FIELDS:
        diffs = [s["stream_w2v"][f] - s["gensim"][f] for s in summary if "stream_w2v" in s and "gensim" in s]
        diffs = [d for d in diffs if not math.isnan(d)]
        out[f + "_diff"] = sum(diffs) / len(diffs) if diffs else None
    return out


def resolve_corpus(name_or_path: str, data_dir: Path) -> dict:
    """'small'/'full' (built and cached by bench/corpus.py) or a path to any text file."""
    if name_or_path in ("small", "full"):
        return corpus_mod.ensure(name_or_path, data_dir)
    path = Path(name_or_path)
    tokens = lines = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            tokens += len(line.split())
            lines += 1
    return {"name": path.stem, "path": str(path.resolve()), "tokens": tokens, "lines": lines,
            "bytes": path.stat().st_size, "sha256": corpus_mod._sha256(path)}


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true",
                   help="small corpus (~1M tokens), SG-NS and CBOW-NS, 1 pass: a few minutes")
    p.add_argument("--corpus", help="'small', 'full' or a text file (default: full, small with --quick)")
    p.add_argument("--modes", nargs="+", choices=list(MODES))
    p.add_argument("--threads", nargs="+", type=int)
    p.add_argument("--passes", nargs="+", type=int)
    p.add_argument("--trainers", nargs="+", default=list(TRAINERS), metavar="TRAINER",
                   help="any of stream_w2v, gensim, " + ", ".join(VARIANTS) + ", --variant names, and the "
                   "opt-in peers " + ", ".join(peers_mod.PEERS) + " (built on first use; SG-NS only; yskip also "
                   "reports yskip-avg). Default: " + " ".join(TRAINERS))
    p.add_argument("--variant", action="append", default=[], metavar="NAME=BASE:KEY=VALUE,...",
                   help="a trainer variant with other settings, e.g. "
                   "'stream_w2v-coord=stream_w2v:lr_schedule=adagrad_coord,alpha=0.1' (repeatable)")
    p.add_argument("--corpus-prefix-tokens", type=int, metavar="N",
                   help="train on the first N tokens of the corpus (cached as DATA_DIR/NAME-prefixN.txt)")
    p.add_argument("--peers-dir", type=Path, default=peers_mod.DEFAULT_PEERS_DIR,
                   help="where the peers are built on first use (default bench/cache/peers)")
    p.add_argument("--repeats", type=int, default=1, help="alternating runs per configuration (median kept)")
    p.add_argument("--seeds", action="store_true",
                   help="repeat r trains stream_w2v and gensim with seed 1 + r (default: seed 1 every repeat); "
                   "the peers have no seed option")
    p.add_argument("--gensim-input", choices=("sentences", "corpus_file"), default="sentences",
                   help="gensim reads LineSentence (like stream_w2v, one Python iterator) or corpus_file")
    p.add_argument("--evaluator", choices=EVALUATORS, default="stream_w2v")
    p.add_argument("--out", type=Path, default=RESULTS_DIR)
    p.add_argument("--name", help="results file stem (default: quick or full, or the corpus name)")
    p.add_argument("--data-dir", type=Path, default=corpus_mod.DEFAULT_DATA_DIR)
    p.add_argument("--timeout", type=float, help="seconds per training before it is killed")
    p.add_argument("--no-plots", action="store_true")
    p.add_argument("--update-readme", nargs="?", const=str(Path(__file__).parent.parent / "README.md"),
                   metavar="README", help="rewrite the section between the bench markers (default README.md)")
    args = p.parse_args(argv)
    args.variants = dict(VARIANTS)
    for text in args.variant:
        try:
            args.variants.update([parse_variant(text)])
        except ValueError as e:
            p.error(str(e))
    known = list(PYTHON_TRAINERS) + list(args.variants) + list(peers_mod.PEERS)
    for t in args.trainers:
        if t not in known:
            p.error(f"unknown trainer {t!r} (known: {', '.join(known)})")
    if len(set(args.trainers)) != len(args.trainers):
        p.error("a trainer is named twice")
    base = QUICK if args.quick else FULL
    args.corpus = args.corpus or base["corpus"]
    args.modes = args.modes or base["modes"]
    args.threads = args.threads or base["threads"]
    args.passes = args.passes or base["passes"]
    args.name = args.name or ("quick" if args.quick else "full" if args.corpus == "full" else Path(args.corpus).stem)
    if args.corpus_prefix_tokens and not any(a.startswith("--name") for a in argv):
        args.name += f"-prefix{args.corpus_prefix_tokens}"
    return args


def parse_variant(text: str) -> tuple[str, tuple[str, dict]]:
    """'NAME=BASE:key=value,...' -> (NAME, (BASE, {key: value})); values are
    read as JSON when they can be (0.1, 5, true), as strings otherwise."""
    name, sep, rest = text.partition("=")
    base, sep2, pairs = rest.partition(":")
    if not sep or not name or base not in PYTHON_TRAINERS:
        raise ValueError(f"--variant {text!r}: expected NAME=BASE:KEY=VALUE,... with BASE one of "
                         f"{', '.join(PYTHON_TRAINERS)}")
    settings = {}
    for pair in filter(None, pairs.split(",")):
        key, eq, value = pair.partition("=")
        if not eq:
            raise ValueError(f"--variant {text!r}: {pair!r} is not KEY=VALUE")
        try:
            settings[key] = json.loads(value)
        except json.JSONDecodeError:
            settings[key] = value
    return name, (base, settings)


def prefix_corpus(corpus: dict, tokens: int, data_dir: Path) -> dict:
    """The first ``tokens`` tokens of ``corpus`` as a corpus of its own: whole lines,
    the last one cut to make the count exact. Written once, next to the others."""
    if tokens >= corpus["tokens"]:
        return corpus
    name = f"{corpus['name']}-prefix{tokens}"
    path = Path(data_dir) / f"{name}.txt"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        left = tokens
        with open(corpus["path"], encoding="utf-8") as src, open(tmp, "w", encoding="utf-8") as dst:
            for line in src:
                words = line.split()
                if len(words) >= left:
                    dst.write(" ".join(words[:left]) + "\n")
                    break
                dst.write(line)
                left -= len(words)
        os.replace(tmp, path)
    out = resolve_corpus(str(path), data_dir)
    out["name"] = name
    assert out["tokens"] == tokens, (out["tokens"], tokens)
    return out


def main(argv=None, log=print) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    corpus = resolve_corpus(args.corpus, args.data_dir)
    if args.corpus_prefix_tokens:
        corpus = prefix_corpus(corpus, args.corpus_prefix_tokens, args.data_dir)
    started = time.perf_counter()
    meta = dict(date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                command="python -m bench " + " ".join(map(shlex.quote, argv)),
                machine=machine(), versions=versions(), settings=dict(COMMON, modes={m: dict(zip(
                    ("sg", "hs", "negative", "alpha"), v)) for m, v in MODES.items()}),
                corpus={k: corpus[k] for k in ("name", "tokens", "lines", "bytes", "sha256")},
                trainers=args.trainers, variants={t: dict(base=b, settings=st) for t, (b, st) in args.variants.items()
                                                  if t in args.trainers},
                peers={t: peers_mod.command_template(t) for t in args.trainers if t in peers_mod.PEERS},
                gensim_input=args.gensim_input, evaluator=args.evaluator,
                repeats=args.repeats, seeds=args.seeds, load_at_start=os.getloadavg())
    rows = []
    with tempfile.TemporaryDirectory(prefix="stream_w2v_bench_") as work:
        # Repeats outermost within a (mode, passes): thread counts alternate
        # too, so a drift of the shared machine's speed during the run (seen:
        # the same single-thread loop 1.8 s and 3.0 s minutes apart) moves
        # the 1- and 2-thread runs of a repeat alike, and their ratio less.
        for mode in args.modes:
            for passes in args.passes:
                for repeat in range(args.repeats):
                    for threads in args.threads:
                        for trainer in args.trainers:
                            if trainer in peers_mod.PEERS and (mode not in peers_mod.PEER_MODES or
                                                               (trainer == "yskip" and passes != 1)):
                                if repeat == 0:
                                    log(f"{trainer}: skipped for {mode}, {passes} passes (it has no such mode)")
                                continue
                            seed = COMMON["seed"] + repeat if args.seeds else None
                            for row in run_trainer(trainer, mode, threads, passes, corpus, work, args.gensim_input,
                                                   args.evaluator, args.timeout, args.variants, args.peers_dir,
                                                   seed):
                                row["repeat"] = repeat
                                rows.append(row)
                                log(f"{row['trainer']:18} {mode:7} threads {threads} passes {passes}: "
                                    f"{row['words_per_sec']:>10,.0f} words/s  {row['wall_s']:6.1f} s  "
                                    f"{row['peak_rss_mb']:6.0f} MB  analogy {row['analogy']:.3f}  "
                                    f"ws353 {row['ws353']:.3f}  simlex {row['simlex']:.3f}  "
                                    f"load {row['load_before']:.1f}"
                                    + (f"  seed {row['seed']}" if args.seeds and row["seed"] else ""))
    meta["total_s"] = time.perf_counter() - started
    meta["load_at_end"] = os.getloadavg()
    summary = summarize(rows, args.trainers)
    meta["trainers_reported"] = reported_trainers(args.trainers, rows)
    results = dict(meta=meta, runs=rows, summary=summary, headline=headline(summary), scaling=scaling(rows))
    args.out.mkdir(parents=True, exist_ok=True)
    json_path = args.out / f"{args.name}.json"
    with open(json_path, "w") as f:
        json.dump(results, f, indent=1, allow_nan=True)
    table = report.markdown(results)
    (args.out / f"{args.name}.md").write_text(table)
    plots = [] if args.no_plots else report.plots(results, args.out, args.name)
    log(table)
    log(f"wrote {json_path}" + "".join(f", {p}" for p in plots) + f" in {meta['total_s']:.0f} s")
    if args.update_readme:
        report.update_readme(args.update_readme, results, plots)
        log(f"updated {args.update_readme}")
    return results


if __name__ == "__main__":
    main()
