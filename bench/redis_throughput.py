"""Redis Streams vs a file: ``python -m bench redis [--corpus small|full] [--workers N] [--mode SG-NS]``.

Issue 9's throughput figure: entries/s and words/s that ``stream-w2v train``
ingests and trains when the text comes from a Redis stream, next to the same
text read from a file.

Method:

1. A redis-server of our own on a free loopback port, in a temporary
   directory, without persistence (no RDB, no AOF).
2. Every corpus line (its newline stripped) is pushed as one stream entry
   {text: line} with XADD, in the Redis protocol over one socket, in
   pipelined batches. The push is done before any trainer starts and is not
   timed against them (its rate is reported apart).
3. Alternating, ``--repeats`` times: (a) ``stream-w2v train MODEL FILE`` on
   the corpus file; (b) ``stream-w2v train MODEL --redis URL --stream KEY
   --group bench-N`` (a new consumer group per run, so each reads the stream
   from its start). Both with the benchmark's hyperparameters
   (bench/child.py params(); alpha left to the default AdaGrad schedule as
   child.py does), ``--workers N``, no checkpoint until the end, and a
   ``--log-json`` progress line per 1 MB chunk. Each is timed from process
   start (imports included, alike for both) to the progress line that
   reports every corpus token seen. The file trainer then exits by itself;
   the Redis trainer, which never ends, gets SIGTERM (it checkpoints, then
   acknowledges its entries). After the exit ``stream-w2v info --json`` gives
   the checkpoint's words_seen, checked against the corpus tokens.

The Redis trainer flushes its last chunk when the stream goes idle (up to one
200 ms blocking read), which is inside its time. Writes
bench/results/redis-NAME.json and redis-NAME.md (NAME: CORPUS-Nw by default).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench import corpus as corpus_mod
from bench.child import MODES, params
from bench.run import RESULTS_DIR, machine, resolve_corpus, versions

KEY = "texts"
PUSH_BATCH = 20_000  # entries per pipelined write


# ---------------------------------------------------------------- redis-server

class RedisServer:
    """redis-server on 127.0.0.1 (a free port), no persistence, in ``directory``."""

    def __init__(self, directory: str):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        log = os.path.join(directory, "redis.log")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", directory,
             "--save", "", "--appendonly", "no", "--logfile", log],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(64) == b"+PONG\r\n":
                        return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                text = open(log).read()[-2000:] if os.path.exists(log) else ""
                raise RuntimeError(f"redis-server did not start on port {self.port}:\n{text}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def client(self):
        import redis
        return redis.Redis(port=self.port)


def push_lines(port: int, path: str, key: str = KEY, field: str = "text") -> int:
    """XADD every line of ``path`` (newline stripped) as {field: line}; the entries pushed.

    Raw RESP over one socket, PUSH_BATCH commands per write, then their
    replies read back (bulk-string IDs; an error reply raises).
    """
    k, f = key.encode(), field.encode()
    head = b"*5\r\n$4\r\nXADD\r\n$%d\r\n%s\r\n$1\r\n*\r\n$%d\r\n%s\r\n" % (len(k), k, len(f), f)
    pushed = 0
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s, open(path, "rb") as lines:
        reader = s.makefile("rb")
        while True:
            batch = [line.rstrip(b"\r\n") for _, line in zip(range(PUSH_BATCH), lines)]
            if not batch:
                return pushed
            s.sendall(b"".join(head + b"$%d\r\n%s\r\n" % (len(b), b) for b in batch))
            for _ in batch:
                reply = reader.readline()
                if not reply.startswith(b"$"):
                    raise RuntimeError(f"XADD refused: {reply[:200]!r}")
                reader.read(int(reply[1:]) + 2)  # the entry ID and its CRLF
            pushed += len(batch)


# ---------------------------------------------------------------- one timed trainer

def _stream_w2v() -> list[str]:
    exe = os.path.join(os.path.dirname(sys.executable), "stream-w2v")
    return [exe] if os.path.exists(exe) else [sys.executable, "-m", "stream_w2v"]


def train_args(mode: str, workers: int) -> list[str]:
    """The benchmark's hyperparameters as ``stream-w2v train`` options (as bench/child.py trains)."""
    p = params(mode, workers)
    args = ["--sg" if p["sg"] else "--cbow", "--negative", str(p["negative"]), "--dim", str(p["vector_size"]),
            "--window", str(p["window"]), "--min-count", str(p["min_count"]), "--sample", str(p["sample"]),
            "--workers", str(workers), "--seed", str(p["seed"])]
    # alpha is SGD's rate: under the default AdaGrad schedule child.py leaves the base step at its default.
    return args + (["--hs"] if p["hs"] else []) + [
        "--checkpoint-every", "1e9", "--log-json", "--log-every", "0"]


def timed_train(cmd: list[str], tokens: int, timeout: float, stop: bool) -> dict:
    """Run ``cmd``; seconds until a progress line reports ``tokens`` words seen.

    ``stop``: SIGTERM the trainer then (a Redis trainer never ends by itself).
    """
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    reached = threading.Event()
    seen = {"seconds": None, "words_seen": 0, "tail": []}

    def reader():
        for line in proc.stderr:
            seen["tail"] = (seen["tail"] + [line])[-5:]
            try:
                words = json.loads(line).get("words_seen", 0)
            except ValueError:
                continue
            seen["words_seen"] = max(seen["words_seen"], words)
            if words >= tokens and seen["seconds"] is None:
                seen["seconds"] = time.perf_counter() - start
                reached.set()
    watcher = threading.Thread(target=reader, daemon=True)
    watcher.start()
    deadline = start + timeout
    while not reached.wait(0.02) and proc.poll() is None and time.perf_counter() < deadline:
        pass
    if stop or not reached.is_set():
        proc.send_signal(signal.SIGTERM)  # checkpoint, acknowledge, exit 0
    try:
        proc.wait(timeout=300)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    watcher.join(10)
    out = dict(seconds=seen["seconds"], process_wall_s=time.perf_counter() - start, exit=proc.returncode,
               progress_words_seen=seen["words_seen"])
    if seen["seconds"] is None:
        out["error"] = f"never reported {tokens} words seen (exit {proc.returncode}): " + "".join(seen["tail"])
    return out


def run_once(how: str, run: int, corpus: dict, server: RedisServer, args, work: str) -> dict:
    model_dir = os.path.join(work, f"{how}-{run}")
    group = f"bench-{run}"
    source = [corpus["path"]] if how == "file" else ["--redis", server.url, "--stream", KEY, "--group", group]
    cmd = [*_stream_w2v(), "train", model_dir, *source, *train_args(args.mode, args.workers)]
    row = dict(how=how, run=run, **timed_train(cmd, corpus["tokens"], args.timeout, stop=how == "redis"))
    info = subprocess.run([*_stream_w2v(), "info", model_dir, "--json"], capture_output=True, text=True)
    final = json.loads(info.stdout) if info.returncode == 0 else {}
    row["final_words_seen"] = final.get("words_seen")
    row["all_tokens"] = row["final_words_seen"] == corpus["tokens"]
    if row["seconds"]:
        row["entries_per_sec"] = corpus["lines"] / row["seconds"]
        row["words_per_sec"] = corpus["tokens"] / row["seconds"]
    if how == "redis":
        src = (final.get("sources") or [{}])[0]
        row["source"] = {k: src.get(k) for k in ("entries", "redelivered", "duplicates", "skipped", "decode_errors")}
        client = server.client()
        row["pending_after"] = client.xpending(KEY, group)["pending"]  # acknowledged after the final checkpoint?
        client.xgroup_destroy(KEY, group)
    shutil.rmtree(model_dir, ignore_errors=True)
    return row


# ---------------------------------------------------------------- main

def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m bench redis", description=__doc__.splitlines()[0])
    p.add_argument("--corpus", default="full", help="'small', 'full' or a text file (default full)")
    p.add_argument("--workers", type=int, default=1, help="trainer threads (default 1)")
    p.add_argument("--mode", choices=list(MODES), default="SG-NS")
    p.add_argument("--repeats", type=int, default=2, help="file/Redis pairs, alternating (default 2)")
    p.add_argument("--timeout", type=float, default=3600, help="seconds allowed per training")
    p.add_argument("--out", type=Path, default=RESULTS_DIR)
    p.add_argument("--name", help="results file name: redis-NAME.json (default CORPUS-Nw)")
    p.add_argument("--data-dir", type=Path, default=corpus_mod.DEFAULT_DATA_DIR)
    args = p.parse_args(argv)
    args.name = args.name or f"{Path(args.corpus).stem}-{args.workers}w"
    return args


def summarize(runs: list[dict]) -> dict:
    out = {}
    for how in ("file", "redis"):
        ok = [r for r in runs if r["how"] == how and r["seconds"]]
        out[how] = None if not ok else {
            "median_seconds": statistics.median(r["seconds"] for r in ok),
            "entries_per_sec": statistics.median(r["entries_per_sec"] for r in ok),
            "words_per_sec": statistics.median(r["words_per_sec"] for r in ok),
            "all_tokens_every_run": all(r["all_tokens"] for r in runs if r["how"] == how)}
    if out["file"] and out["redis"]:
        out["ratio_redis_over_file"] = out["redis"]["words_per_sec"] / out["file"]["words_per_sec"]
    return out


def markdown(results: dict) -> str:
    meta, s = results["meta"], results["summary"]
    c = meta["corpus"]
    lines = [f"# Redis Streams vs file: {c['name']} ({c['tokens']:,} tokens, {c['lines']:,} entries), "
             f"{meta['mode']}, {meta['workers']} worker(s)", "",
             f"`{meta['command']}`; median of {meta['repeats']} alternating runs; load average "
             f"{meta['load_at_start'][0]:.1f} at start, {meta['load_at_end'][0]:.1f} at end.", "",
             "| source | entries/s | words/s | s to the last token | words_seen = corpus tokens |",
             "|---|---:|---:|---:|---|"]
    for how in ("file", "redis"):
        h = s[how]
        lines.append(f"| {how} | " + ("failed | | | |" if h is None else
                     f"{h['entries_per_sec']:,.0f} | {h['words_per_sec']:,.0f} | {h['median_seconds']:.1f} | "
                     f"{'yes' if h['all_tokens_every_run'] else 'NO'} |"))
    if "ratio_redis_over_file" in s:
        lines += ["", f"Redis / file (words/s): **{s['ratio_redis_over_file']:.2f}**."]
    lines += ["", f"Push (not timed against the trainers): {meta['push']['entries']:,} entries in "
              f"{meta['push']['seconds']:.1f} s ({meta['push']['entries_per_sec']:,.0f} entries/s).", ""]
    return "\n".join(lines)


def main(argv=None, log=print) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    corpus = resolve_corpus(args.corpus, args.data_dir)
    started = time.perf_counter()
    meta = dict(command="python -m bench redis " + " ".join(argv), machine=machine(), versions=versions(),
                corpus={k: corpus[k] for k in ("name", "tokens", "lines", "bytes", "sha256")},
                mode=args.mode, workers=args.workers, repeats=args.repeats, load_at_start=os.getloadavg(),
                trainer_options=train_args(args.mode, args.workers))
    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-redis-") as work:
        server = RedisServer(work)
        try:
            meta["redis_server"] = server.client().info("server")["redis_version"]
            t = time.perf_counter()
            pushed = push_lines(server.port, corpus["path"])
            push_s = time.perf_counter() - t
            assert pushed == server.client().xlen(KEY) == corpus["lines"], (pushed, corpus["lines"])
            meta["push"] = dict(entries=pushed, seconds=push_s, entries_per_sec=pushed / push_s)
            log(f"{corpus['name']}: {pushed:,} entries pushed in {push_s:.1f} s; {args.mode}, "
                f"{args.workers} worker(s), {args.repeats} x (file, redis)")
            for run in range(args.repeats):
                for how in ("file", "redis"):
                    row = run_once(how, run, corpus, server, args, work)
                    runs.append(row)
                    log(f"  {how:5} #{run}: " + (row.get("error") or
                        f"{row['entries_per_sec']:,.0f} entries/s, {row['words_per_sec']:,.0f} words/s "
                        f"({row['seconds']:.1f} s; process {row['process_wall_s']:.1f} s); "
                        f"final words_seen {row['final_words_seen']:,}"
                        f"{'' if row['all_tokens'] else ' != corpus tokens'}"))
        finally:
            server.stop()
    meta["load_at_end"] = os.getloadavg()
    meta["total_s"] = time.perf_counter() - started
    results = dict(meta=meta, runs=runs, summary=summarize(runs))
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"redis-{args.name}.json"
    with open(path, "w") as f:
        json.dump(results, f, indent=1)
    (args.out / f"redis-{args.name}.md").write_text(markdown(results))
    s = results["summary"]
    if "ratio_redis_over_file" in s:
        log(f"redis/file words/s: {s['ratio_redis_over_file']:.2f}")
    log(f"wrote {path} in {meta['total_s']:.0f} s")
    return results


if __name__ == "__main__":
    main()
