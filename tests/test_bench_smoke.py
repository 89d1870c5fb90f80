"""CI smoke of the benchmark harness (bench/): it runs end to end and writes what it promises.

The real benchmark (python -m bench, ~10M tokens, an hour) is never run here.
Here both trainers train one mode, one pass, one thread, each in its own
process, on a synthetic corpus of 20,000 short lines written into tmp_path
(5,000 for the streaming figures):
capital/country sentences (so the analogy questions of that section can be
answered) padded with WordSim-353 words (so the word-pair scores are
defined). It checks the JSON's fields, that the ratios are finite, the
markdown table, the README rewrite, and the streaming figures' parts.
The Redis throughput bench runs on 2,000 lines against a redis-server of its own.
About 15 s on the 2-core machine (20 s when it is shared and loaded).
"""
import json
import math
import random

import pytest
from gensim.test.utils import datapath
from redis_required import require_redis

from bench import combine as bench_combine
from bench import report
from bench import run as bench_run
from bench import stream as bench_stream

ROW_FIELDS = ("trainer", "mode", "threads", "passes", "wall_s", "words_per_sec", "peak_rss_mb", "cpu_s",
              "train_s", "vocab_size", "analogy", "ws353", "simlex")


def synthetic_corpus(path, lines=20000, seed=0):
    rs = random.Random(seed)
    pairs = []
    with open(datapath("questions-words.txt")) as f:
        for line in f:
            if line.startswith(": "):
                if pairs:
                    break  # the first section only: capital-common-countries
                continue
            a, b, c, d = line.lower().split()
            pairs += [(a, b), (c, d)]
    pairs = sorted(set(pairs))
    with open(datapath("wordsim353.tsv")) as f:
        fillers = sorted({w for line in f if not line.startswith("#") for w in line.lower().split("\t")[:2]})
    templates = ["the capital of {b} is {a}", "{a} is a city in {b}", "people in {a} {b} speak",
                 "{b} has its government in {a}"]
    with open(path, "w") as f:
        for _ in range(lines):
            a, b = rs.choice(pairs)
            f.write(" ".join(rs.choice(templates).format(a=a, b=b).split() + rs.sample(fillers, 2)) + "\n")
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return synthetic_corpus(tmp_path_factory.mktemp("bench") / "tiny.txt")


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory):
    return synthetic_corpus(tmp_path_factory.mktemp("bench") / "tinier.txt", lines=5000)


def test_runner_end_to_end(corpus, tmp_path):
    out = tmp_path / "results"
    results = bench_run.main(["--corpus", str(corpus), "--modes", "SG-NS", "--threads", "1", "--passes", "1",
                              "--trainers", "stream_w2v", "gensim", "--out", str(out), "--name", "smoke"],
                             log=lambda *_: None)
    with open(out / "smoke.json") as f:
        saved = json.load(f)
    assert saved["meta"]["corpus"]["tokens"] == sum(len(l.split()) for l in open(corpus))
    assert saved["meta"]["machine"]["cores"] >= 1
    # alternating, one process each: exactly these two rows, ours first
    assert [r["trainer"] for r in saved["runs"]] == ["stream_w2v", "gensim"]
    for row in saved["runs"]:
        for field in ROW_FIELDS:
            assert field in row, field
        assert row["words_per_sec"] > 0 and row["peak_rss_mb"] > 0 and row["vocab_size"] > 0
        assert all(math.isfinite(row[f]) for f in ("analogy", "ws353", "simlex"))
        assert row["analogy_answered"] > 0
    (entry,) = saved["summary"]
    assert (entry["mode"], entry["threads"], entry["passes"]) == ("SG-NS", 1, 1)
    assert set(entry["ratio"]) == set(bench_run.RATIO_FIELDS)
    for field, ratio in entry["ratio"].items():
        if field in ("words_per_sec", "peak_rss_mb"):
            assert ratio is not None and math.isfinite(ratio) and ratio > 0, field
        else:  # a quality ratio is left undefined (None) only when gensim's score is not positive
            assert (ratio is None) == (entry["gensim"][field] <= 0), field
            assert ratio is None or math.isfinite(ratio), field
        if field in bench_run.QUALITY_FIELDS:
            assert math.isfinite(saved["headline"][field + "_diff"])
    assert saved["headline"]["words_per_sec"] == pytest.approx(entry["ratio"]["words_per_sec"])
    table = (out / "smoke.md").read_text()
    assert "| SG-NS | 1 | 1 |" in table and "speed ratio" in table
    assert results["summary"] == saved["summary"]

    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\nbefore\n{report.BEGIN}\nold\n{report.END}\nafter\n")
    report.update_readme(readme, saved)
    text = readme.read_text()
    assert "old" not in text and "before" in text and "after" in text
    assert saved["meta"]["command"] in text and "| SG-NS | 1 | 1 |" in text
    with pytest.raises(ValueError):
        report.update_readme(out / "smoke.md", saved)  # no markers: refuses, changes nothing

    # Two runs joined into one table (bench/combine.py): the rows of both, a
    # summary per configuration, every command in the description.
    other = json.loads(json.dumps(saved))
    for row in other["runs"]:
        row["passes"] = 5
    other["meta"]["command"] = "python -m bench --passes 5"
    joined = bench_combine.main([str(out / "smoke.json"), str(_write(tmp_path / "other.json", other)),
                                 "--name", "joined", "--out", str(out), "--no-plots",
                                 "--update-readme", str(readme)], log=lambda *_: None)
    assert len(joined["runs"]) == 4 and [(e["passes"]) for e in joined["summary"]] == [1, 5]
    assert joined["meta"]["total_s"] == pytest.approx(2 * saved["meta"]["total_s"])
    text = readme.read_text()
    assert "| SG-NS | 1 | 5 |" in text and "&& python -m bench --passes 5" in text
    # A later part measuring a configuration again replaces its rows.
    again = json.loads(json.dumps(saved))
    for row in again["runs"]:
        row["words_per_sec"] *= 2
    rerun = bench_combine.combine([saved, other, again])
    assert len(rerun["runs"]) == 4
    assert sorted(r["words_per_sec"] for r in rerun["runs"] if r["passes"] == 1) == \
        sorted(2 * r["words_per_sec"] for r in saved["runs"])
    other["meta"]["corpus"] = dict(other["meta"]["corpus"], sha256="0" * 64)
    with pytest.raises(ValueError, match="corpora"):
        bench_combine.combine([saved, other])


def _write(path, obj):
    path.write_text(json.dumps(obj))
    return path


def test_stream_figures(small_corpus, tmp_path):
    results = bench_stream.main(["--corpus", str(small_corpus), "--threads", "1", "--no-reference",
                                 "--upkeep-modes", "SG-HS", "--out", str(tmp_path), "--name", "smoke"],
                                log=lambda *_: None)
    points = results["curve"]["points"]
    assert [p["fraction"] for p in points] == list(bench_stream.FRACTIONS)
    assert points[-1]["words_seen"] == results["meta"]["corpus"]["tokens"]
    (up,) = results["upkeep"]
    assert up["calls"]["Huffman rebuild"] >= 1
    assert sum(up["seconds"].values()) == pytest.approx(up["total_s"])
    for how in ("bulk", "pipe", "follow", "iterable"):
        assert results["cli"][how]["words_per_sec"] > 0, results["cli"][how]
    assert results["cli"]["iterable"]["vs_bulk"] > 0
    assert (tmp_path / "stream-smoke.json").exists()


def test_stream_curve_added_to_an_earlier_run(small_corpus, tmp_path):
    """--add-to: a second schedule's curve joins the first run's file and plot;
    a run on another corpus is refused."""
    common = ["--parts", "curve", "--threads", "1", "--no-reference", "--fractions", "0.5", "1",
              "--out", str(tmp_path)]
    bench_stream.main(["--corpus", str(small_corpus), *common, "--name", "s"], log=lambda *_: None)
    merged = bench_stream.main(["--corpus", str(small_corpus), *common, "--schedules", "count", "--add-to", "s"],
                               log=lambda *_: None)
    saved = json.loads((tmp_path / "stream-s.json").read_text())
    assert saved == json.loads(json.dumps(merged)) and list(saved["curve"]["runs"]) == ["adagrad", "count"]
    assert saved["curve"]["schedules"] == ["adagrad", "count"] and saved["meta"]["added"][0]["schedules"] == ["count"]
    assert (tmp_path / "stream-s-curve.png").exists()
    other = tmp_path / "other.txt"
    other.write_text(small_corpus.read_text()[:len(small_corpus.read_text()) // 2])
    with pytest.raises(SystemExit, match="another sha256"):
        bench_stream.main(["--corpus", str(other), *common, "--add-to", "s"], log=lambda *_: None)


FAKE_PEER = r"""
import collections, sys
import numpy as np
corpus, out = sys.argv[1], sys.argv[2]
counts = collections.Counter(w for line in open(corpus) for w in line.split())
words = [w for w, c in counts.most_common() if c >= 5]
big = np.ones(30_000_000, dtype=np.uint8)  # 30 MB touched: the peak RSS must see it
rs = np.random.default_rng(0)
for path in [out] + ([out + ".avg.bin"] if len(sys.argv) > 3 else []):
    with open(path, "wb") as f:
        f.write(f"{len(words)} 10\n".encode())
        for w in words:
            f.write(w.encode() + b" " + rs.standard_normal(10).astype(np.float32).tobytes() + b"\n")
"""


def test_variants_prefix_and_peer_rows(small_corpus, tmp_path, monkeypatch):
    """Trainer variants, --corpus-prefix-tokens, and the peers' path through the runner
    (timing under /usr/bin/time, RSS, yskip's second vectors file, the table) with a
    stand-in for the peer binaries: the real peers are never built here."""
    from bench import peers

    script = tmp_path / "fake_peer.py"
    script.write_text(FAKE_PEER)
    monkeypatch.setattr(peers, "binary", lambda name, peers_dir=None, log=print: script)
    monkeypatch.setattr(peers, "command", lambda name, exe, corpus, vectors, threads, passes: [
        bench_run.sys.executable, str(exe), corpus, vectors] + (["avg"] if name == "yskip" else []))
    out = tmp_path / "results"
    results = bench_run.main(["--corpus", str(small_corpus), "--corpus-prefix-tokens", "20000", "--modes", "SG-NS",
                              "--threads", "1", "--passes", "1", "--data-dir", str(tmp_path),
                              "--variant", "stream_w2v-const=stream_w2v:lr_schedule=constant,alpha=0.02",
                              "--trainers", "stream_w2v-const", "yskip", "pword2vec", "--out", str(out),
                              "--no-plots"], log=lambda *_: None)
    assert results["meta"]["corpus"]["tokens"] == 20000
    assert results["meta"]["variants"]["stream_w2v-const"]["settings"] == {"lr_schedule": "constant", "alpha": 0.02}
    rows = {r["trainer"]: r for r in results["runs"]}
    assert list(rows) == ["stream_w2v-const", "yskip", "yskip-avg", "pword2vec"]
    assert rows["stream_w2v-const"]["settings"]["lr_schedule"] == "constant"
    for name in ("yskip", "yskip-avg", "pword2vec"):
        row = rows[name]
        assert row["words_per_sec"] == pytest.approx(20000 / row["wall_s"])
        assert row["peak_rss_mb"] > 30 and row["vocab_size"] > 0 and row["analogy_answered"] > 0
    assert rows["yskip-avg"]["wall_s"] == rows["yskip"]["wall_s"] and rows["yskip-avg"]["same_run_as"] == "yskip"
    table = (out / f"{small_corpus.stem}-prefix20000.md").read_text()
    assert "| SG-NS | 1 | 1 | yskip-avg |" in table and "stream_w2v-const" in table


def test_seeds_per_repeat(small_corpus, tmp_path):
    """--seeds: repeat r trains with seed 1 + r, as the child reports it used;
    without it every repeat trains with seed 1."""
    def seeds(extra):
        results = bench_run.main(["--corpus", str(small_corpus), "--modes", "CBOW-NS", "--threads", "1",
                                  "--passes", "1", "--trainers", "stream_w2v", "gensim", "--repeats", "2",
                                  "--out", str(tmp_path), "--no-plots"] + extra, log=lambda *_: None)
        return [(r["trainer"], r["repeat"], r["seed"]) for r in results["runs"]], results
    runs, results = seeds(["--seeds"])
    assert runs == [("stream_w2v", 0, 1), ("gensim", 0, 1), ("stream_w2v", 1, 2), ("gensim", 1, 2)]
    assert results["meta"]["seeds"] and "repeat r with seed 1 + r" in report.describe_run(results["meta"])
    seeded = results
    runs, results = seeds([])
    assert [seed for _, _, seed in runs] == [1, 1, 1, 1] and "with seed" not in report.describe_run(results["meta"])
    # A table joined from a seeded run and one that is not says which.
    joined = bench_combine.combine([results, json.loads(json.dumps(seeded))])
    assert "in the runs with --seeds" in report.describe_run(joined["meta"])
    assert "in the runs" not in report.describe_run(bench_combine.combine([seeded])["meta"])


def test_trainer_arguments():
    assert bench_run.parse_variant("a=gensim:alpha=0.05,hs=1,lr_schedule=x") == (
        "a", ("gensim", {"alpha": 0.05, "hs": 1, "lr_schedule": "x"}))
    with pytest.raises(ValueError):
        bench_run.parse_variant("a=word2vec:alpha=1")
    with pytest.raises(SystemExit):
        bench_run.parse_args(["--trainers", "stream_w2v", "nosuch"])
    args = bench_run.parse_args(["--trainers", "stream_w2v-adagrad", "yskip"])
    assert args.variants["stream_w2v-adagrad"] == ("stream_w2v", {"lr_schedule": "adagrad", "alpha": 0.1})
    assert bench_run.parse_args([]).trainers == ["stream_w2v", "gensim"]  # peers are opt-in only


def test_redis_throughput(tmp_path):
    """bench/redis_throughput.py on 2,000 lines: its own redis-server, both arms see every token.

    Needs Debian's redis-server and the redis package: fails under CI=true
    without them (as tests/test_redis.py does), skipped elsewhere."""
    require_redis("the Redis bench smoke")
    from bench import redis_throughput
    tiny = synthetic_corpus(tmp_path / "tiny.txt", lines=2000)
    results = redis_throughput.main(["--corpus", str(tiny), "--repeats", "1", "--timeout", "60",
                                     "--out", str(tmp_path), "--name", "smoke"], log=lambda *_: None)
    assert [(r["how"], r["exit"]) for r in results["runs"]] == [("file", 0), ("redis", 0)], results["runs"]
    tokens = results["meta"]["corpus"]["tokens"]
    assert results["meta"]["push"]["entries"] == 2000
    for row in results["runs"]:
        assert row["final_words_seen"] == tokens and row["words_per_sec"] > 0, row
    redis_row = results["runs"][1]
    assert redis_row["source"]["entries"] == 2000 and redis_row["pending_after"] == 0, redis_row
    assert math.isfinite(results["summary"]["ratio_redis_over_file"])
    assert json.loads((tmp_path / "redis-smoke.json").read_text())["summary"] == results["summary"]
    assert "| redis |" in (tmp_path / "redis-smoke.md").read_text()


def test_stream_schedules_and_usable(small_corpus, tmp_path):
    """The curve per lr_schedule and the usable part (bench/curve.py, bench/usable.py) on
    the tiny corpus; the gensim reference lines come from a results JSON already in --out
    (the cache), so no gensim is trained here. A few seconds."""
    from bench import curve as bench_curve

    out = tmp_path / "results"
    out.mkdir()
    corpus = bench_run.resolve_corpus(str(small_corpus), tmp_path)
    fake = {f"gensim-{p}": dict(analogy=0.1 * p, ws353=0.2, simlex=0.3, wall_s=1.0, words_per_sec=1.0,
                                key=bench_curve.reference_key("SG-NS", 1, p, corpus, "stream_w2v"))
            for p in bench_curve.REFERENCE_PASSES}
    (out / "stream-cached.json").write_text(json.dumps({"curve": {"reference": fake}}))

    common = ["--corpus", str(small_corpus), "--threads", "1", "--out", str(out), "--data-dir", str(tmp_path),
              "--fractions", "0.1", "0.5", "1"]
    results = bench_stream.main(common + [
        "--parts", "curve", "usable", "--schedules", "adagrad", "linear", "--no-reference",
        "--usable-targets", "20", "--usable-rate", "100", "1000", "--usable-arrival", "0.2", "--name", "smoke"],
        log=lambda *_: None)
    runs = results["curve"]["runs"]
    assert list(runs) == ["adagrad", "linear"] and "reference" not in results["curve"]
    assert runs["adagrad"]["settings"]["alpha"] == 0.2  # AdaGrad keeps its own base step (SG-NS, shared negatives)
    assert runs["linear"]["settings"]["alpha"] == 0.025 and runs["linear"]["settings"]["total_words"] == corpus["tokens"]
    for run in runs.values():
        assert [p["fraction"] for p in run["points"]] == [0.1, 0.5, 1.0]
        assert run["points"][-1]["words_seen"] == corpus["tokens"]
        assert math.isfinite(run["points"][-1]["ws353"])
    assert (out / "stream-smoke-curve.png").exists() and (out / "stream-smoke-usable.png").exists()

    usable = results["usable"]
    assert len(usable["targets"]) == 20 and usable["deleted_tokens"] > 0
    for name in ("adagrad", "linear"):
        u = usable["schedules"][name]
        assert u["targets_measured"] > 0 and u["tokens"] == corpus["tokens"] - usable["deleted_tokens"]
        assert set(u["agree"]) == {"pass"} and set(u["settle"]) == {"0.8", "0.9", "0.95"}
        assert 0 <= u["settle"]["0.9"]["reached"] <= 1 and u["by_occurrences"][0]["occurrences"] == 0
        for row in u["per_target"]:  # promoted after the arrival point, in the late stream
            assert row["promoted_at"] > 0.15 * corpus["tokens"]
            assert row["settle_0.95"] is None or row["settle_0.95"][0] >= 0

    again = bench_stream.main(common + ["--parts", "curve", "--schedules", "adagrad", "--name", "again"],
                              log=lambda *_: None)
    ref = again["curve"]["reference"]
    assert ref["gensim-5"]["cached_from"] == "stream-cached.json" and ref["gensim-5"]["analogy"] == 0.5
    # workers=1: the same curve twice
    assert [p["ws353"] for p in again["curve"]["points"]] == [p["ws353"] for p in runs["adagrad"]["points"]]


def test_the_report_shows_a_peers_passes_as_a_placeholder():
    """A run of 1 and 5 passes shares one footnote per peer: it must not show
    the first configuration's -iter (it said -iter 1 under 5-pass rows)."""
    from bench import peers
    line = peers.command_template("pword2vec")
    assert "-threads THREADS" in line and "-iter PASSES" in line
    assert "THREADS" in peers.command_template("yskip")


def test_scaling_pairs_the_thread_counts_of_each_repeat():
    """2 threads / 1 thread is taken within a repeat (the runs minutes apart),
    never across repeats, and shown per repeat with the median."""
    def row(threads, repeat, wps, trainer="stream_w2v", cpu=10.0):
        return dict(mode="SG-NS", passes=1, trainer=trainer, threads=threads, repeat=repeat, words_per_sec=wps,
                    cpu_s=cpu)
    rows = [row(1, 0, 100.0), row(2, 0, 150.0, cpu=15.0), row(1, 1, 200.0), row(2, 1, 380.0, cpu=10.5),
            row(1, 2, 100.0), row(2, 2, 190.0), row(2, 3, 999.0),      # repeat 3 has no 1-thread run
            row(1, 0, 10.0, "gensim")]                                   # no 2-thread run at all
    (s,) = bench_run.scaling(rows)
    assert (s["trainer"], s["threads"]) == ("stream_w2v", 2)
    assert s["ratios"] == [1.5, 1.9, 1.9] and s["median"] == 1.9   # not 380 / 100 or median 190 / 100
    assert s["cpu_ratios"] == [1.5, 1.05, 1.0]                       # the same repeats' CPU seconds
    table = report._scaling_table([s])
    assert "| SG-NS | 1 | stream_w2v | 2 | 1.50, 1.90, 1.90 | 1.90x | 1.50, 1.05, 1.00 |" in table
    del rows[1]["cpu_s"]                                               # one repeat without its CPU: no column
    (s,) = bench_run.scaling(rows)
    assert s["cpu_ratios"] is None and "| 1.90x | - |" in report._scaling_table([s])


def test_replay_scaling(small_corpus, tmp_path):
    """The kernel-only replay trains every recorded batch on 1 and on 2 threads
    and reports both, per round."""
    from bench import replay as bench_replay
    results = bench_replay.main(["--corpus", str(small_corpus), "--modes", "CBOW-HS", "--tokens", "20000",
                                 "--rounds", "2", "--out", str(tmp_path), "--name", "smoke"], log=lambda *_: None)
    res = results["modes"]["CBOW-HS"]
    assert res["words"] >= 20000 and res["batches"] >= 2 and len(res["rounds"]) == 2
    for r in res["rounds"]:
        assert r["words_per_sec_1"] > 0 and r["words_per_sec_2"] > 0 and r["cpu_s_1"] > 0 and r["cpu_s_2"] > 0
    assert (tmp_path / "replay-smoke.json").exists()


def test_replay_separate_copies(small_corpus, tmp_path):
    """--separate adds, every round, two threads on separate copies of the
    matrices: the copies share no memory with the model's rows, training one
    leaves the other as it was, and each round reports both 2-thread runs."""
    import numpy as np
    from bench import replay as bench_replay
    model = bench_replay.record(str(small_corpus), "SG-NS", 5000)
    kernel = model.jobs[-1].kernel
    copy = bench_replay.separate_copy(kernel)
    for name in ("syn0", "syn1neg", "syn0_acc", "syn1neg_acc"):
        a, b = getattr(kernel, name), getattr(copy, name)
        assert not np.shares_memory(a, b) and np.array_equal(a, b), name
    before = kernel.syn0.copy(), kernel.syn1neg.copy()
    bench_replay._train(model, copy, model.jobs, [], 0)
    assert np.array_equal(kernel.syn0, before[0]) and np.array_equal(kernel.syn1neg, before[1])
    assert not np.array_equal(copy.syn0, before[0])
    results = bench_replay.main(["--corpus", str(small_corpus), "--modes", "SG-NS", "--tokens", "5000",
                                 "--rounds", "2", "--separate", "--out", str(tmp_path), "--name", "sep"],
                                log=lambda *_: None)
    res = results["modes"]["SG-NS"]
    assert len(res["rounds"]) == 2 and res["median_ratio_separate"] > 0
    for r in res["rounds"]:
        assert r["words_per_sec_separate"] > 0 and r["cpu_s_separate"] > 0
        # the same quotient computed from the walls or from the rates: rounding apart
        assert r["ratio_separate"] == pytest.approx(r["words_per_sec_separate"] / r["words_per_sec_1"], rel=1e-12)


def test_replay_compares_hot_row_counts_within_rounds(small_corpus, tmp_path):
    """--hs-hot-rows with several values replays every round once per value,
    each reported under its own name."""
    from bench import replay as bench_replay
    results = bench_replay.main(["--corpus", str(small_corpus), "--modes", "SG-HS", "--tokens", "5000",
                                 "--rounds", "2", "--hs-hot-rows", "0", "16", "--out", str(tmp_path),
                                 "--name", "hot"], log=lambda *_: None)
    assert set(results["modes"]) == {"SG-HS hs_hot_rows=0", "SG-HS hs_hot_rows=16"}
    for hot in (0, 16):
        res = results["modes"][f"SG-HS hs_hot_rows={hot}"]
        assert res["hs_hot_rows"] == hot and len(res["rounds"]) == 2


def test_pair_control(small_corpus, tmp_path):
    """bench pair runs a 1-worker training alone, two at once and a 2-worker
    one, and reports each round's ratios from those walls."""
    from bench import pair as bench_pair
    results = bench_pair.main(["--corpus", str(small_corpus), "--modes", "CBOW-NS", "--rounds", "1",
                               "--out", str(tmp_path), "--name", "smoke"], log=lambda *_: None)
    (r,) = results["modes"]["CBOW-NS"]["rounds"]
    assert len(r["pair"]) == 2 and all(p["wall_s"] > 0 and p["cpu_s"] > 0 for p in r["pair"] + [r["solo"], r["two"]])
    assert r["machine"] == 2 * r["solo"]["wall_s"] / max(p["wall_s"] for p in r["pair"])
    assert r["of_machine"] == r["workers"] / r["machine"]
    assert (tmp_path / "pair-smoke.json").exists()
