"""Several runs as one table: ``python -m bench combine A.json B.json ... --name NAME [--update-readme]``.

A full benchmark of every mode at 1 and 5 passes takes hours on 2 cores, so it
is run in parts (e.g. all modes at 1 pass, then the 5-pass runs of some
modes), each a ``python -m bench`` run that wrote its JSON. This joins their
runs into one results file, recomputes the summary (medians and ratios to
gensim) and writes NAME.json, NAME.md and the plots next to the inputs, and,
with --update-readme, the README's bench section. The parts must share the
corpus and the machine; the description lists every command and adds up
their times.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench import report
from bench.run import RESULTS_DIR, headline, summarize


def _config(row: dict) -> tuple:
    return row["trainer"], row["mode"], row["threads"], row["passes"]


def combine(parts: list[dict]) -> dict:
    corpora = {p["meta"]["corpus"]["sha256"] for p in parts}
    if len(corpora) != 1:
        raise ValueError(f"the results are on {len(corpora)} different corpora; combine runs of one corpus")
    meta = dict(parts[0]["meta"])
    meta["command"] = " && ".join(p["meta"]["command"] for p in parts)
    meta["total_s"] = sum(p["meta"]["total_s"] for p in parts)
    meta["load_at_end"] = parts[-1]["meta"]["load_at_end"]
    seeded = [bool(p["meta"].get("seeds")) for p in parts]
    meta["seeds"] = "all" if all(seeded) else "some" if any(seeded) else False
    trainers = []
    for p in parts:
        trainers += [t for t in report.reported(p["meta"]) if t not in trainers]
    meta["trainers"] = meta["trainers_reported"] = trainers
    rows = []
    for p in parts:
        again = {_config(row) for row in p["runs"]}
        rows = [row for row in rows if _config(row) not in again] + list(p["runs"])
    summary = summarize(rows, trainers)
    return dict(meta=meta, runs=rows, summary=summary, headline=headline(summary))


def main(argv=None, log=print) -> dict:
    p = argparse.ArgumentParser(prog="python -m bench combine", description=__doc__.split("\n\n")[0])
    p.add_argument("results", nargs="+", type=Path, help="results JSON files of python -m bench runs")
    p.add_argument("--name", required=True)
    p.add_argument("--out", type=Path, default=RESULTS_DIR)
    p.add_argument("--no-plots", action="store_true")
    p.add_argument("--update-readme", nargs="?", const=str(Path(__file__).parent.parent / "README.md"))
    args = p.parse_args(argv)
    parts = []
    for path in args.results:
        with open(path) as f:
            parts.append(json.load(f))
    results = combine(parts)
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / f"{args.name}.json", "w") as f:
        json.dump(results, f, indent=1, allow_nan=True)
    table = report.markdown(results)
    (args.out / f"{args.name}.md").write_text(table)
    plots = [] if args.no_plots else report.plots(results, args.out, args.name)
    log(table)
    if args.update_readme:
        report.update_readme(args.update_readme, results, plots)
        log(f"updated {args.update_readme}")
    return results
