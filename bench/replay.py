"""Kernel-only scaling: ``python -m bench replay [--modes ...] [--tokens N] [--rounds N]``.

A pass over the first ``--tokens`` tokens of the corpus is trained once with
one worker while its batches are recorded (token ids, sentence ends, learning
rates, random states). Then, ``--rounds`` times, the recorded batches are
trained again on the final matrices: all on one thread, then split over two
threads (even and odd batches) started together. No reading, no vocabulary,
no queue: only the C calls, so the ratio of the two is what two workers get
from the kernels themselves on this machine (their contention for shared
rows and caches included), apart from the thread that feeds them.

Per round: words/s on 1 and 2 threads and the CPU seconds each spent (thread
CPU time, summed over the threads); the 2-thread CPU over the 1-thread CPU is
1.0 when two threads do the same work with no extra cost. Rounds alternate,
so a drift of the shared machine's speed shows as a spread between them.
``--hs-hot-rows A B ...`` replays every round once per value (HS: how many
of the heaviest inner nodes each call trains in a private copy), so the
values are compared within the same rounds.

``--separate`` adds to every round the same two threads, each on its own
copy of the matrices and accumulators (the tables are shared: they are only
read): what two cores give these kernels when no row is written by both.
The shared and the separate runs alternate in order from round to round.
Against the shared run it tells the cost of two cores writing the same rows
apart from the machine's memory and caches (the copies double the memory).
"""
from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from pathlib import Path

from bench import corpus as corpus_mod
from bench.child import MODES, stream_params
from bench.report import per_round
from stream_w2v._native import HS_HOT_ROWS, KernelModel
from stream_w2v.model import StreamingWord2Vec

RESULTS_DIR = Path(__file__).parent / "results"


class _Recording(StreamingWord2Vec):
    """A model that keeps every batch it trains (one worker: in order)."""

    def _run(self, job):
        self.jobs.append(job)
        super()._run(job)


def record(path: str, mode: str, tokens: int):
    """The model after one pass over the first ``tokens`` tokens, and its batches."""
    lines, n = [], 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            lines.append(line)
            n += len(line.split())
            if n >= tokens:
                break
    model = _Recording(**stream_params(mode, 1))
    model.jobs = []
    model.train(lines)
    return model


def _train(model, kernel, jobs, cpu: list, hot_rows: int) -> None:
    start = time.thread_time()
    for job in jobs:
        kernel.train(job.ids, job.ends, sg=model.sg, hs=model.hs, negative=model.negative, window=model.window,
                     cbow_mean=model.cbow_mean, alpha=job.alpha0, alpha_end=job.alpha1, rng=job.rng,
                     compute_loss=model.compute_loss, lr_mode=job.lr_mode,
                     shared_negatives=model._shares_negatives(), shared_output_scale=job.output_scale,
                     hs_hot_rows=hot_rows)
    cpu.append(time.thread_time() - start)


def separate_copy(kernel: KernelModel) -> KernelModel:
    """A kernel view on copies of ``kernel``'s matrices and accumulators; the
    tables (tree, noise, keep probabilities, counts) are shared, as they are
    only read."""
    def copy(a):
        return None if a is None else a.copy()
    return KernelModel(copy(kernel.syn0), copy(kernel.syn1), copy(kernel.syn1neg), huffman=kernel.huffman,
                       noise=kernel.noise, keep_prob=kernel.keep_prob, syn0_acc=copy(kernel.syn0_acc),
                       syn1_acc=copy(kernel.syn1_acc), syn1neg_acc=copy(kernel.syn1neg_acc),
                       syn0_count=kernel.syn0_count, syn1_count=kernel.syn1_count,
                       syn1neg_count=kernel.syn1neg_count)


def _two_threads(model, kernels, jobs, hot_rows: int) -> tuple[float, float]:
    """Even batches on kernels[0], odd ones on kernels[1], two threads started
    together: wall seconds and CPU seconds summed over the threads."""
    cpu: list = []
    threads = [threading.Thread(target=_train, args=(model, kernels[k], jobs[k::2], cpu, hot_rows)) for k in (0, 1)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start, sum(cpu)


def _one_round(model, kernel, jobs, words: int, hot_rows: int, copy: KernelModel | None = None,
               copy_first: bool = False) -> dict:
    """The batches on 1 thread, then split over 2 (even and odd) started together;
    with ``copy``, also split over 2 threads on separate matrices (``kernel``
    and ``copy``), before the shared run if ``copy_first``."""
    cpu1: list = []
    start = time.perf_counter()
    _train(model, kernel, jobs, cpu1, hot_rows)
    one = time.perf_counter() - start
    if copy is not None and copy_first:
        sep = _two_threads(model, (kernel, copy), jobs, hot_rows)
    two, cpu2 = _two_threads(model, (kernel, kernel), jobs, hot_rows)
    if copy is not None and not copy_first:
        sep = _two_threads(model, (kernel, copy), jobs, hot_rows)
    row = dict(words_per_sec_1=words / one, words_per_sec_2=words / two, ratio=one / two,
               cpu_s_1=cpu1[0], cpu_s_2=cpu2, cpu_ratio=cpu2 / cpu1[0])
    if copy is not None:
        row.update(words_per_sec_separate=words / sep[0], ratio_separate=one / sep[0], cpu_s_separate=sep[1],
                   cpu_ratio_separate=sep[1] / cpu1[0])
    return row


def replay(model, rounds: int, hot_rows: tuple = (HS_HOT_ROWS,), separate: bool = False) -> dict:
    """``rounds`` alternating replays on 1 and on 2 threads (see the module
    docstring), each round once per value of ``hot_rows``; keyed by that
    value. With ``separate`` each round also runs 2 threads on separate copies."""
    jobs = model.jobs
    kernel = jobs[-1].kernel   # the last kernel view: every recorded id is a row of it
    copy = separate_copy(kernel) if separate else None
    words = sum(len(job.ids) for job in jobs)
    out: dict = {hot: [] for hot in hot_rows}
    for n in range(rounds):
        for hot in hot_rows:
            out[hot].append(_one_round(model, kernel, jobs, words, hot, copy, copy_first=n % 2 == 1))
    keys = ("ratio", "cpu_ratio") + (("ratio_separate", "cpu_ratio_separate") if separate else ())
    return {hot: dict(words=words, batches=len(jobs), hs_hot_rows=hot, rounds=r,
                      **{f"median_{k}": statistics.median(x[k] for x in r) for k in keys})
            for hot, r in out.items()}


def main(argv=None, log=print) -> dict:
    p = argparse.ArgumentParser(prog="python -m bench replay", description=__doc__.splitlines()[0])
    p.add_argument("--corpus", default="full", help="'small', 'full' or a text file")
    p.add_argument("--modes", nargs="+", choices=list(MODES), default=["CBOW-NS", "CBOW-HS"])
    p.add_argument("--tokens", type=int, default=3_000_000, help="length of the recorded pass")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--hs-hot-rows", type=int, nargs="+", default=[HS_HOT_ROWS],
                   help="HS private inner nodes per call; several values alternate within each round")
    p.add_argument("--separate", action="store_true",
                   help="also run the 2 threads on separate copies of the matrices, every round")
    p.add_argument("--data-dir", type=Path, default=Path(__file__).parent / "data")
    p.add_argument("--out", type=Path, default=RESULTS_DIR)
    p.add_argument("--name", default="replay")
    args = p.parse_args(argv)
    if args.corpus in ("small", "full"):
        path = corpus_mod.ensure(args.corpus, args.data_dir)["path"]
    else:
        path = args.corpus
    results = {"command": "python -m bench replay " + " ".join(argv or []), "modes": {}}
    for mode in args.modes:
        for hot, res in replay(record(path, mode, args.tokens), args.rounds, tuple(args.hs_hot_rows),
                               args.separate).items():
            name = mode if len(args.hs_hot_rows) == 1 else f"{mode} hs_hot_rows={hot}"
            results["modes"][name] = res
            rounds = res["rounds"]
            cpu1 = ", ".join(f"{r['cpu_s_1']:.1f}" for r in rounds)
            log(f"{name}: {res['words']:,} words in {res['batches']} batches; 2 threads / 1 thread: "
                f"{per_round([r['ratio'] for r in rounds], res['median_ratio'])}; "
                f"CPU s 2 / 1: {per_round([r['cpu_ratio'] for r in rounds], res['median_cpu_ratio'], unit='')}; "
                f"1-thread CPU s: {cpu1}" + (_separate_line(rounds, res) if args.separate else ""))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"replay-{args.name}.json").write_text(json.dumps(results, indent=1))
    return results


def _separate_line(rounds: list, res: dict) -> str:
    return (f"; separate copies, 2 threads / 1 thread: "
            f"{per_round([r['ratio_separate'] for r in rounds], res['median_ratio_separate'])}; CPU s 2 / 1: "
            f"{per_round([r['cpu_ratio_separate'] for r in rounds], res['median_cpu_ratio_separate'], unit='')}")


if __name__ == "__main__":
    main()
