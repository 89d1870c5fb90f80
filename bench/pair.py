"""What two cores give this workload: ``python -m bench pair [--modes ...] [--rounds N]``.

The 2-worker ratio of the main benchmark mixes two things: how well our two
worker threads share one model, and how much a second busy core slows the
first on this machine (shared L3 and memory bandwidth, and on a virtual
machine whatever the host runs beside it). This separates them. Each round,
per mode, in this order:

1. one 1-worker training alone (``solo``);
2. two 1-worker trainings of the same pass at once, in separate processes
   (``pair``): no shared rows, no GIL, no common feeding thread, so their
   throughput over one's is what the machine itself gives two cores running
   this code: the ceiling of any 2-worker ratio here;
3. one 2-worker training (``two``).

Each is a bench.child process (the main benchmark's, start-up and writing
the vectors included); its vectors are not evaluated. Per round:
``machine`` = 2 x solo wall / the later of the pair's walls, ``workers`` =
solo wall / the 2-worker wall, and ``of_machine`` = workers / machine.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

from bench.child import MODES
from bench.report import per_round
from bench.run import _wait, child_report, child_spec, launch, resolve_corpus

RESULTS_DIR = Path(__file__).parent / "results"


def timed_runs(specs: list[dict]) -> list[dict]:
    """Start every spec at once; each one's wall and CPU seconds once all have ended."""
    out: list[dict] = [{} for _ in specs]
    start = time.perf_counter()
    procs = [launch(spec) for spec in specs]

    def wait(k: int) -> None:
        status, usage = _wait(procs[k], None)
        out[k] = dict(wall_s=time.perf_counter() - start, cpu_s=usage.ru_utime + usage.ru_stime, status=status)

    waiters = [threading.Thread(target=wait, args=(k,)) for k in range(len(specs))]
    for t in waiters:
        t.start()
    for t in waiters:
        t.join()
    for spec, res in zip(specs, out):
        child_report(spec, res.pop("status"))   # raises with the log's tail if it failed
        if os.path.exists(spec["vectors"]):
            os.unlink(spec["vectors"])
    return out


def one_round(mode: str, corpus: dict, workdir: str) -> dict:
    def spec(threads: int, tag: str) -> dict:
        return child_spec("stream_w2v", mode, threads, 1, corpus, workdir, tag=f"{mode}-{tag}")

    (solo,) = timed_runs([spec(1, "solo")])
    pair = timed_runs([spec(1, "pair-a"), spec(1, "pair-b")])
    (two,) = timed_runs([spec(2, "two")])
    machine = 2 * solo["wall_s"] / max(p["wall_s"] for p in pair)
    workers = solo["wall_s"] / two["wall_s"]
    return dict(solo=solo, pair=pair, two=two, machine=machine, workers=workers, of_machine=workers / machine)


def main(argv=None, log=print) -> dict:
    p = argparse.ArgumentParser(prog="python -m bench pair", description=__doc__.splitlines()[0])
    p.add_argument("--corpus", default="full", help="'small', 'full' or a text file")
    p.add_argument("--modes", nargs="+", choices=list(MODES), default=list(MODES))
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--data-dir", type=Path, default=Path(__file__).parent / "data")
    p.add_argument("--out", type=Path, default=RESULTS_DIR)
    p.add_argument("--name", default="pair")
    args = p.parse_args(argv)
    corpus = resolve_corpus(args.corpus, args.data_dir)
    results = {"command": "python -m bench pair " + " ".join(argv or []), "corpus": corpus["path"],
               "tokens": corpus["tokens"], "modes": {}}
    with tempfile.TemporaryDirectory(prefix="bench-pair-") as workdir:
        for _ in range(args.rounds):           # rounds outermost: a drift of the machine hits every mode
            for mode in args.modes:
                results["modes"].setdefault(mode, {"rounds": []})["rounds"].append(one_round(mode, corpus, workdir))
    for mode, res in results["modes"].items():
        for key in ("machine", "workers", "of_machine"):
            res["median_" + key] = statistics.median(r[key] for r in res["rounds"])
        rounds = res["rounds"]
        log(f"{mode}: two 1-worker processes / one: {per_round([r['machine'] for r in rounds], res['median_machine'])};"
            f" 2 workers / 1: {per_round([r['workers'] for r in rounds], res['median_workers'])};"
            f" of the machine's: median {res['median_of_machine']:.2f}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"pair-{args.name}.json").write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
