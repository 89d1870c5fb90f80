"""The published peers (pWord2Vec, yskip), built from ../shared/peers when asked.

Opt-in only: ``python -m bench --trainers stream_w2v gensim yskip pword2vec``.
Nothing here runs unless a peer is named; CI and the tests never need them.

- build: the first run that names a peer runs its build script
  (``PEERS_SRC/<peer>/build.sh OUTDIR``) into ``--peers-dir`` (default
  bench/cache/peers/, git-ignored); later runs reuse the binary. pWord2Vec's
  script installs Debian's libopenblas-dev if it is missing.
- run: the exact command lines of ../shared/peers/README.md (dim 100,
  window 5, negative 5, sample 1e-3, min_count 5, alpha 0.025 for pWord2Vec;
  yskip has no alpha: AdaGrad, eta 0.1, and applies min_count when its model
  is converted). Only SG-NS exists in both.
- measure: the whole command is one process tree started by the runner under
  ``/usr/bin/time -v``; its wall time gives words/s (tokens x passes / wall
  seconds, as for every trainer, so yskip's conversion of its text model to
  word2vec binary counts, like gensim's save) and its "Maximum resident set
  size" the peak RSS. GNU time forks the command from its own small process
  and reports the ru_maxrss that wait4 returns for it, which Linux keeps as
  the largest RSS of that process and of every descendant it reaped: the
  peak of the largest single process in the tree (not a sum). Both peers'
  trees run one process at a time (yskip's run.sh: yskip, then the Python
  converter), so that is the tree's peak. The runner's own RSS does not leak
  in (the problem bench/child.py describes) because the peer is forked by
  ``time``, not by the runner. Without /usr/bin/time the runner polls
  VmHWM of every process in the tree every 20 ms instead (a high-water mark:
  a poll misses only a process that lives less than 20 ms).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

PEERS_SRC = Path(os.environ.get("STREAM_W2V_PEERS", Path(__file__).resolve().parent.parent.parent / "shared" / "peers"))
DEFAULT_PEERS_DIR = Path(__file__).parent / "cache" / "peers"
# name -> (source subdirectory, binary name)
PEERS = {"pword2vec": ("pWord2Vec", "pWord2Vec"), "yskip": ("yskip", "yskip")}
# Rows derived from another peer's run (same process, same timing): yskip's
# (input + output) / 2 vectors, written by run.sh next to the input vectors.
DERIVED = {"yskip-avg": "yskip"}
PEER_MODES = ("SG-NS",)
TIME = "/usr/bin/time"


def binary(name: str, peers_dir: Path = DEFAULT_PEERS_DIR, log=print) -> Path:
    """The peer's binary, built on first use."""
    src, exe = PEERS[name]
    out = Path(peers_dir) / name
    path = out / exe
    if path.exists():
        return path
    script = PEERS_SRC / src / "build.sh"
    if not script.exists():
        raise FileNotFoundError(f"{name}: no build script at {script} (set STREAM_W2V_PEERS to the peers directory)")
    log(f"building {name}: {script} {out}")
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(["bash", str(script), str(out)], check=True)
    if not path.exists():
        raise RuntimeError(f"{name}: {script} did not produce {path}")
    return path


def command(name: str, exe: Path, corpus: str, vectors: str, threads: int, passes: int) -> list[str]:
    if name == "pword2vec":
        return [str(exe), "-train", corpus, "-output", vectors, "-size", "100", "-window", "5",
                "-negative", "5", "-sample", "1e-3", "-threads", str(threads), "-iter", str(passes),
                "-min-count", "5", "-alpha", "0.025", "-binary", "1", "-batch-size", "11"]
    if name == "yskip":
        if passes != 1:
            raise ValueError("yskip trains one pass only")
        return ["bash", str(PEERS_SRC / "yskip" / "run.sh"), corpus, vectors, str(threads), sys.executable, str(exe)]
    raise KeyError(name)


def command_template(name: str) -> str:
    """The command line as the report shows it, with THREADS and PASSES for
    what each run sets (yskip trains one pass only)."""
    passes = 1 if name == "yskip" else "PASSES"
    return " ".join(command(name, Path("BIN"), "CORPUS", "VECS.bin", "THREADS", passes))


def outputs(name: str, vectors: str) -> dict[str, str]:
    """Trainer name -> vectors file written by one run of peer ``name``."""
    out = {name: vectors}
    out.update({d: vectors + ".avg.bin" for d, base in DERIVED.items() if base == name})
    return out


def run(argv: list[str], env: dict, log_path: str, timeout: float | None = None) -> dict:
    """Run argv as one process tree: wall seconds, CPU seconds, peak RSS (MB), exit status."""
    use_time = os.access(TIME, os.X_OK)
    time_out = log_path + ".time"
    full = [TIME, "-v", "-o", time_out] + argv if use_time else argv
    polled = 0.0
    with open(log_path, "w") as log:
        start = time.perf_counter()
        proc = subprocess.Popen(full, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid == proc.pid:
                break
            if not use_time:
                polled = max(polled, _tree_hwm_mb(proc.pid))
            if deadline is not None and time.monotonic() > deadline:
                _kill_tree(proc.pid)  # children first, then time (or the shell) itself
                deadline = None
            time.sleep(0.02)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    peak = None
    if use_time and os.path.exists(time_out):
        with open(time_out) as f:
            text = f.read()
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
        peak = int(m.group(1)) / 1024 if m else None
        with open(log_path, "a") as log:
            log.write(text)
    return dict(status=proc.returncode, wall_s=wall, cpu_s=usage.ru_utime + usage.ru_stime,
                peak_rss_mb=peak if use_time else polled, rss_method="time -v" if use_time else "VmHWM poll")


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def _tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += _children(p)
    return out


def _tree_hwm_mb(pid: int) -> float:
    """Largest VmHWM among the processes now in the tree (each one's own peak)."""
    best = 0
    for p in _tree(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        best = max(best, int(line.split()[1]))
        except OSError:
            pass
    return best / 1024


def _kill_tree(pid: int) -> None:
    for p in reversed(_tree(pid)):
        try:
            os.kill(p, 9)
        except OSError:
            pass


def vocab_size(path: str) -> int:
    with open(path, "rb") as f:
        return int(f.readline().split()[0])


def available() -> bool:
    return PEERS_SRC.is_dir() and shutil.which("g++") is not None
