"""Results as people read them: a markdown table, PNG plots, a README section."""
from __future__ import annotations

import math
import os
import re
from pathlib import Path

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
OURS, THEIRS = "stream_w2v", "gensim"


def _num(x, fmt):
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, fmt)


def _pair(entry, field, fmt):
    """'ours / gensim' (or the one trainer that ran)."""
    vals = [_num(entry[t][field], fmt) for t in (OURS, THEIRS) if t in entry]
    return " / ".join(vals)


def _words(x):
    if x is None or math.isnan(x):
        return "-"
    return f"{x / 1e6:.2f}M" if x >= 1e6 else f"{x / 1e3:.0f}k"


def markdown(results: dict) -> str:
    meta = results["meta"]
    trainers = [t for t in (OURS, THEIRS) if t in meta["trainers"]]
    if set(reported(meta)) - {OURS, THEIRS}:
        out = by_trainer(results) + ("\n" + _pair_table(results) if trainers else "")
    else:
        out = _pair_table(results)
    return out + _scaling_table(results.get("scaling") or [])


def per_round(values, median: float | None = None, unit: str = "x") -> str:
    """Ratios of repeated rounds as the logs and tables print them: "1.50, 1.90"
    and, given their median, " (median 1.90x)"."""
    text = ", ".join(f"{v:.2f}" for v in values)
    return text if median is None else f"{text} (median {median:.2f}{unit})"


def _scaling_table(scaling: list[dict]) -> str:
    """T threads over 1 thread, per repeat (runs minutes apart) and their median."""
    if not scaling:
        return ""
    lines = ["| mode | passes | trainer | threads | words/s T threads / 1 thread, per repeat | median "
             "| CPU s T threads / 1 thread, per repeat |",
             "|---|---|---|---|---|---|---|"]
    for s in scaling:
        per = per_round(s["ratios"])
        cpu = per_round(s["cpu_ratios"]) if s.get("cpu_ratios") else "-"
        lines.append(f"| {s['mode']} | {s['passes']} | {s['trainer']} | {s['threads']} | {per} | {s['median']:.2f}x "
                     f"| {cpu} |")
    return "\n" + "\n".join(lines) + "\n"


def _pair_table(results: dict) -> str:
    """stream_w2v vs gensim, one line per configuration, with the ratios."""
    meta, summary = results["meta"], results["summary"]
    trainers = [t for t in (OURS, THEIRS) if t in meta["trainers"]]
    both = len(trainers) == 2
    who = " / ".join(trainers)
    head = ["mode", "threads", "passes"] + [f"words/s {t}" for t in trainers]
    head += ["speed ratio"] if both else []
    head += [f"CPU s ({who})", f"peak RSS MB ({who})", f"analogy ({who})", f"WS-353 ({who})", f"SimLex-999 ({who})"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in summary:
        cells = [s["mode"], str(s["threads"]), str(s["passes"])]
        cells += [_words(s[t]["words_per_sec"]) if t in s else "-" for t in trainers]
        if both:
            r = s.get("ratio", {}).get("words_per_sec")
            cells.append("-" if r is None else f"{r:.2f}x")
        cells += [_pair(s, "cpu_s", ".1f"), _pair(s, "peak_rss_mb", ".0f"), _pair(s, "analogy", ".3f"), _pair(s, "ws353", ".3f"),
                  _pair(s, "simlex", ".3f")]
        lines.append("| " + " | ".join(cells) + " |")
    out = "\n".join(lines) + "\n"
    h = results.get("headline") or {}
    if both and any(v is not None for v in h.values()):
        parts = []
        for f, label in (("words_per_sec", "words/s"), ("peak_rss_mb", "peak RSS"), ("analogy", "analogy"),
                         ("ws353", "WS-353"), ("simlex", "SimLex-999")):
            ratio = "-" if h.get(f) is None else f"{h[f]:.2f}x"
            diff = h.get(f + "_diff")
            parts.append(f"{label} {ratio}" + ("" if diff is None else f" ({diff:+.3f})"))
        out += (f"\nstream_w2v / gensim, geometric mean over {len(summary)} configuration(s) "
                f"(quality: mean difference in brackets): " + ", ".join(parts) + ".\n")
    return out


def reported(meta: dict) -> list[str]:
    return meta.get("trainers_reported") or meta["trainers"]


def by_trainer(results: dict) -> str:
    """One line per (mode, threads, passes, trainer): every trainer of the run,
    variants and peers included, with its words/s relative to gensim's."""
    meta, summary = results["meta"], results["summary"]
    trainers = reported(meta)
    head = ["mode", "threads", "passes", "trainer", "words/s", "x gensim", "wall s", "CPU s", "words/CPU s",
            "load", "peak RSS MB", "vocab", "analogy", "WS-353", "SimLex-999"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in summary:
        ref = s.get(THEIRS, {}).get("words_per_sec")
        for t in trainers:
            if t not in s:
                continue
            e = s[t]
            x = "-" if not ref or e["words_per_sec"] is None else f"{e['words_per_sec'] / ref:.2f}x"
            cells = [s["mode"], str(s["threads"]), str(s["passes"]), t, _words(e["words_per_sec"]), x,
                     _num(e["wall_s"], ".1f"), _num(e["cpu_s"], ".1f"), _words(e.get("words_per_cpu_sec")),
                     _num(e.get("load_before"), ".1f"), _num(e["peak_rss_mb"], ".0f"),
                     _num(e["vocab_size"], ",.0f"), _num(e["analogy"], ".3f"), _num(e["ws353"], ".3f"),
                     _num(e["simlex"], ".3f")]
            lines.append("| " + " | ".join(cells) + " |")
    notes = []
    for t, v in (meta.get("variants") or {}).items():
        notes.append(f"`{t}`: {v['base']} with " + ", ".join(f"{k}={v2!r}" for k, v2 in v["settings"].items()))
    for t, cmd in (meta.get("peers") or {}).items():
        notes.append(f"`{t}`: `{cmd}`")
    if "yskip-avg" in trainers:
        notes.append("`yskip-avg`: the (input + output) / 2 vectors of the same yskip run (same time and RSS)")
    if any(t in (meta.get("peers") or {}) for t in trainers):
        notes.append("peers' peak RSS: /usr/bin/time -v, largest process of the tree (bench/peers.py)")
    notes.append("words/s = tokens x passes / wall seconds of the whole process; words/CPU s the same over its "
                 "CPU seconds; load: 1-minute load average when it started (above the cores: shared machine)")
    out = "\n".join(lines) + "\n"
    if notes:
        out += "\n" + "; ".join(notes) + ".\n"
    return out


def describe_run(meta: dict) -> str:
    m, c, v = meta["machine"], meta["corpus"], meta["versions"]
    return (f"Measured {meta['date'][:10]} on {m['cpu']} ({m['cores']} cores, {m['mem_gib']} GiB), "
            f"load average {meta['load_at_start'][0]:.1f} at start, {meta['load_at_end'][0]:.1f} at end; corpus `{c['name']}`: "
            f"{c['tokens']:,} tokens, sha256 `{c['sha256'][:16]}…`; stream_w2v {v.get('stream_w2v')} "
            f"({v.get('stream_w2v_isa')}), gensim {v.get('gensim')} (input: {meta['gensim_input']}); "
            f"each training in its own process, words/s = tokens x passes / wall seconds of that process, "
            f"runs alternating, {meta['repeats']} per configuration (median)"
            f"{_seeds(meta)}; "
            f"took {meta['total_s'] / 60:.1f} min.")


def _seeds(meta: dict) -> str:
    """How the repeats were seeded (--seeds), for the run's description; a
    combined table says which of its runs (bench/combine.py: "some")."""
    if not meta.get("seeds"):
        return ""
    where = " in the runs with --seeds" if meta["seeds"] == "some" else ""
    return f", repeat r with seed 1 + r{where} (stream_w2v and gensim; the peers have no seed option)"


def plots(results: dict, out_dir: Path, name: str) -> list[Path]:
    """{name}-speed.png and {name}-quality.png; nothing (and no error) without matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    summary = results["summary"]
    trainers = reported(results["meta"])
    labels = [f"{s['mode']}\n{s['threads']}t {s['passes']}p" for s in summary]
    width = 0.8 / len(trainers)
    paths = []

    def bars(ax, field, scale=1.0):
        for i, t in enumerate(trainers):
            vals = [s[t][field] / scale if t in s and s[t][field] is not None else math.nan for s in summary]
            ax.bar([x + (i - (len(trainers) - 1) / 2) * width for x in range(len(summary))], vals, width, label=t)
        ax.set_xticks(range(len(summary)), labels, fontsize=7)

    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(summary)), 4))
    bars(ax, "words_per_sec", 1e3)
    ax.set_ylabel("thousand words/s (whole process)")
    ax.set_title(f"Throughput, corpus {results['meta']['corpus']['name']} "
                 f"({results['meta']['corpus']['tokens'] / 1e6:.1f}M tokens)")
    ax.legend()
    fig.tight_layout()
    paths.append(Path(out_dir) / f"{name}-speed.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(1, 3, figsize=(max(9, 2.4 * len(summary)), 3.8))
    for ax, (field, title) in zip(axes, (("analogy", "analogy accuracy (top 30k)"),
                                        ("ws353", "WS-353 Spearman"), ("simlex", "SimLex-999 Spearman"))):
        bars(ax, field)
        ax.set_title(title, fontsize=10)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    paths.append(Path(out_dir) / f"{name}-quality.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)
    return paths


def section(results: dict, images: list[Path], readme_dir: Path) -> str:
    rel = [os.path.relpath(p, readme_dir) for p in images]
    body = [describe_run(results["meta"]), "", "```sh", results["meta"]["command"], "```", "",
            markdown(results).rstrip()]
    if rel:
        body += [""] + [f"![{Path(p).stem}]({p})" for p in rel]
    return "\n".join(body)


def update_readme(readme: str | Path, results: dict, images: list[Path] = ()) -> None:
    """Replace what lies between the bench markers; the markers must already be there
    (the section's place in the README is an editorial choice, not the script's)."""
    readme = Path(readme)
    text = readme.read_text()
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise ValueError(f"{readme}: no '{BEGIN}' ... '{END}' section to rewrite; add the two markers first")
    new = BEGIN + "\n" + section(results, list(images), readme.resolve().parent) + "\n" + END
    readme.write_text(pattern.sub(lambda _: new, text, count=1))
