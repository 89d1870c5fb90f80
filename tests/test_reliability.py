"""Reliability (issue 7): crashes at any moment, damaged checkpoints, a full
disk, and hostile input -- tried, not assumed.

Every child process has a timeout, so a hang is a failure. Figures (how many
kills landed inside a checkpoint write, RSS growth) are printed: ``pytest -s``.
"""
import errno
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from stream_w2v import checkpoint
from stream_w2v.checkpoint import CheckpointError
from stream_w2v.model import StreamingWord2Vec
from stream_w2v.sources import MAX_LINE_BYTES
from trainer_process import info, ok, run

CMD = [sys.executable, "-m", "stream_w2v"]
TIMEOUT = 60
TINY = ["--dim", "16", "--min-count", "2", "--window", "3"]
# Runs the command in-process, then prints its peak RSS (KiB, Linux) on stdout.
WITH_MAXRSS = ("import resource, sys\n"
               "from stream_w2v.cli import main\n"
               "rc = main(sys.argv[1:])\n"
               "print('MAXRSS', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, flush=True)\n"
               "sys.exit(rc)\n")


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def tmp_dirs(model_dir) -> list[str]:
    return sorted(n for n in os.listdir(model_dir) if n.startswith(".tmp-"))


def words_before(data: bytes, offset: int) -> int:
    return len(data[:offset].split())


# --- 1. SIGKILL at random moments, in training and in checkpoint writes ----------------------------

def _block(rng: random.Random, n_lines: int) -> bytes:
    vocab = [f"w{i}" for i in range(20000)]
    weights = [1 / (i + 1) for i in range(len(vocab))]
    return ("\n".join(" ".join(rng.choices(vocab, weights, k=rng.randint(3, 20))) for _ in range(n_lines))
            + "\n").encode()


def _check_after_kill(model_dir, block: bytes, copies: int) -> dict:
    """The directory loads, and the saved position matches the model exactly
    (the file is ``copies`` times ``block``)."""
    model = StreamingWord2Vec.load(str(model_dir))
    src = model.extra["sources"][0]
    offset = src["offset"]
    whole, part = divmod(offset, len(block))
    assert 0 <= offset <= copies * len(block)
    assert part == 0 or block[part - 1:part] == b"\n", "a saved position must end a line"
    expected = whole * len(block.split()) + words_before(block, part)
    assert model.stats["words_seen"] == expected, (model.stats, src)
    assert np.isfinite(model.wv.vectors).all()
    return {"words_seen": model.stats["words_seen"], "offset": offset,
            "checkpoint": checkpoint.current_name(str(model_dir))}


def test_sigkill_at_random_moments_then_resume(tmp_path):
    """20 trainers on one directory, each killed with SIGKILL: half after a random
    delay, half inside a checkpoint write (as soon as its temporary directory
    appears, plus 0-30 ms). After every kill the directory loads and the saved
    offset holds exactly the words the model has seen; a last run finishes the
    file and has seen every word once: nothing lost, nothing trained twice."""
    rng = random.Random(7)
    # ~460k words, 2 MB a block. The file must outlast the 20 trials, or the later
    # ones find nothing left to read and finish before a save to kill (2026-12-05:
    # with 2 workers at full speed 10 copies were read through by the 5th trial,
    # and only 4 trials could kill inside a save). 20 trials get through ~20M.
    block, copies = _block(rng, 40000), 60
    corpus = tmp_path / "corpus.txt"
    corpus.write_bytes(block * copies)
    model_dir = tmp_path / "m"
    args = [*CMD, "train", str(model_dir), str(corpus), "--dim", "32", "--min-count", "2",
            "--checkpoint-every", "0.2", "-q"]
    figures = {"random": 0, "in_save": 0, "left_tmp": 0, "finished": 0, "no_checkpoint": 0}
    seen, last_name = 0, None
    for trial in range(20):
        err = tmp_path / f"err-{trial}"
        with open(err, "wb") as ferr:
            proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=ferr)
            try:
                if trial % 2 == 0:
                    figures["random"] += 1
                    try:
                        proc.wait(rng.uniform(0.3, 1.2))
                    except subprocess.TimeoutExpired:
                        pass
                else:
                    # Wait for the n-th checkpoint write of this run to start, then kill inside it.
                    n, starts, deadline, was_in = rng.randint(1, 2), 0, time.monotonic() + 20, False
                    while proc.poll() is None and time.monotonic() < deadline:
                        now_in = os.path.isdir(model_dir) and bool(tmp_dirs(model_dir))
                        starts += now_in and not was_in
                        was_in = now_in
                        if starts >= n:
                            time.sleep(rng.uniform(0, 0.03))
                            figures["in_save"] += 1
                            break
                        time.sleep(0.0005)
                proc.kill()
                rc = proc.wait(TIMEOUT)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        text = err.read_text()
        assert "Traceback" not in text, text
        if rc == 0:
            figures["finished"] += 1
        else:
            assert rc == -signal.SIGKILL, text
        left = tmp_dirs(model_dir) if model_dir.exists() else []
        figures["left_tmp"] += any(n.endswith(f"-{proc.pid}") for n in left)
        if not (model_dir / "CURRENT").exists():
            figures["no_checkpoint"] += 1  # killed before its first checkpoint
            continue
        got = _check_after_kill(model_dir, block, copies)
        if got["checkpoint"] != last_name:
            # This run completed a save: the temporaries of older runs were removed by it.
            assert all(n.endswith(f"-{proc.pid}") for n in left), (left, proc.pid)
        last_name = got["checkpoint"]
        assert got["words_seen"] >= seen  # resumed from the last checkpoint, never from an older one
        seen = got["words_seen"]
        # keep=2 newest + the one current before a save + one made current by a
        # save killed before it pruned (the next save prunes before writing).
        assert len(checkpoint.list_checkpoints(str(model_dir))) <= 4
    # One more run to the end: every word of the file seen exactly once.
    ok("train", model_dir, corpus, "-q", timeout=120)
    final = _check_after_kill(model_dir, block, copies)
    assert final["words_seen"] == copies * len(block.split()) and final["offset"] == copies * len(block)
    assert tmp_dirs(model_dir) == []
    print(f"\nSIGKILL trials: {figures}; words {final['words_seen']}, "
          f"last checkpoint before the final run held {seen}")
    assert figures["in_save"] >= 5 and figures["left_tmp"] >= 1


def test_stale_temporaries_are_removed_by_the_next_save(tmp_path):
    m = StreamingWord2Vec(vector_size=8, min_count=1, workers=1)
    m.train([["a", "b", "c"]] * 10)
    m.save(str(tmp_path))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a pid that is no longer running
    stale = tmp_path / f".tmp-ckpt-000002-{dead.pid}"
    live = tmp_path / f".tmp-ckpt-000002-{os.getppid()}"  # a live process may be saving: left alone
    for d in (stale, live):
        d.mkdir()
        (d / "syn0.npy").write_bytes(b"partial")
    m.save(str(tmp_path))
    assert not stale.exists() and live.exists()
    assert checkpoint.current_name(str(tmp_path)) == "ckpt-000002"


def test_a_checkpoint_renamed_but_not_yet_current_is_recovered(tmp_path, monkeypatch):
    """kill -9 between a first save's rename and its CURRENT: the next train
    takes the complete checkpoint (it is fsynced before the rename)."""
    corpus = tmp_path / "c.txt"
    corpus.write_bytes(_block(random.Random(1), 2000))
    model_dir = tmp_path / "m"
    ok("train", model_dir, corpus, *TINY, "-q")
    os.unlink(model_dir / "CURRENT")
    res = ok("train", model_dir, corpus, *TINY, "-q")
    assert info(model_dir)["words_seen"] == len(corpus.read_bytes().split()), res.stderr


# --- 2. damaged checkpoints, full disk ------------------------------------------------------------

def _two_checkpoints(tmp_path, name="model", seed=1):
    m = StreamingWord2Vec(vector_size=8, min_count=1, workers=1, hs=1, negative=2, seed=seed)
    docs = [_block(random.Random(seed), 200).decode().splitlines()]
    m.train(docs[0][:100])
    first = m.save(str(tmp_path / name))
    m.train(docs[0][100:])
    second = m.save(str(tmp_path / name))
    return str(tmp_path / name), first, second, m


def _damage(path, how, rng, other=None):
    data = bytearray(open(path, "rb").read())
    if how == "truncated":
        data = data[:rng.randrange(len(data))]
    elif how == "bit-flipped":
        i = rng.randrange(len(data))
        data[i] ^= 1 << rng.randrange(8)
    elif how == "swapped":
        data = bytearray(open(other, "rb").read())  # identical files (an empty array) stay as they are
    open(path, "wb").write(bytes(data))


@pytest.mark.parametrize("how", ["truncated", "bit-flipped", "swapped"])
def test_a_damaged_checkpoint_is_refused_naming_the_file_and_the_previous_one_loads(tmp_path, how):
    model_dir, first, second, _ = _two_checkpoints(tmp_path)
    other_dir, _, other, _ = _two_checkpoints(tmp_path, "other", seed=2)
    rng = random.Random(how)
    names = sorted(os.listdir(second))
    assert "manifest.json" in names and len(names) >= 8
    for name in names:  # every file of the checkpoint, one at a time
        victim = os.path.join(second, name)
        saved = open(victim, "rb").read()
        for _ in range(5 if how != "swapped" else 1):
            _damage(victim, how, rng, other=os.path.join(other, name))
            if open(victim, "rb").read() == saved:
                continue
            with pytest.raises(CheckpointError) as exc:
                StreamingWord2Vec.load(model_dir)
            assert os.path.join(second, name) in str(exc.value), str(exc.value)
            assert "damaged" in str(exc.value) or "missing" in str(exc.value) or "not a" in str(exc.value)
            # The command says the same in one line, with how to go back.
            if name in ("syn0.npy", "manifest.json") and how == "bit-flipped":
                res = run("info", model_dir)
                err = res.stderr.decode()
                assert res.returncode == 2 and err.count("\n") == 1 and name in err, err
                assert f"echo {os.path.basename(first)} > " in err
            open(victim, "wb").write(saved)
    # The previous checkpoint is kept and loadable by pointing CURRENT at it.
    _damage(os.path.join(second, "syn0.npy"), how, rng, other=os.path.join(other, "syn0.npy"))
    with pytest.raises(CheckpointError, match="syn0.npy"):
        StreamingWord2Vec.load(model_dir)
    open(os.path.join(model_dir, "CURRENT"), "w").write(os.path.basename(first) + "\n")
    back = StreamingWord2Vec.load(model_dir)
    assert back.extra == {} and len(back.wv) > 0


def test_a_damaged_current_checkpoint_stops_training_until_recovered(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_bytes(_block(random.Random(3), 3000))
    model_dir = tmp_path / "m"
    ok("train", model_dir, corpus, *TINY, "-q")
    more = tmp_path / "more.txt"
    more.write_bytes(_block(random.Random(4), 3000))
    ok("train", model_dir, more, "-q")
    first, second = checkpoint.list_checkpoints(str(model_dir))
    manifest = model_dir / second / "manifest.json"
    raw = bytearray(manifest.read_bytes())
    i = raw.index(b'"words_seen": ') + len(b'"words_seen": ')
    raw[i] ^= 0x01  # a digit of a count: still valid JSON, still a plausible number
    manifest.write_bytes(bytes(raw))
    res = run("train", model_dir, more, "-q")
    err = res.stderr.decode()
    assert res.returncode == 2 and "manifest.json" in err and f"echo {first}" in err, err
    assert checkpoint.list_checkpoints(str(model_dir)) == [first, second]  # nothing deleted
    (model_dir / "CURRENT").write_text(first + "\n")
    ok("train", model_dir, more, "-q")
    assert info(model_dir)["words_seen"] == len(corpus.read_bytes().split()) + len(more.read_bytes().split())
    assert first in checkpoint.list_checkpoints(str(model_dir))  # the one CURRENT named is kept


def test_saves_killed_before_pruning_do_not_pile_up(tmp_path, monkeypatch):
    """A save killed after making its checkpoint current but before pruning
    leaves one checkpoint too many. Each save prunes before it writes as well,
    so five such kills in a row leave at most keep + 2 (the newest two, the
    previous current, the one just made current), not keep + 5."""
    model_dir, _, _, m = _two_checkpoints(tmp_path)
    real, calls = checkpoint._prune, []

    def killed_after_commit(*args):  # every second call is the one after the commit
        calls.append(args)
        if len(calls) % 2:
            real(*args)

    monkeypatch.setattr(checkpoint, "_prune", killed_after_commit)
    for _ in range(5):
        m.train([["more", "words"]] * 5)
        m.save(model_dir)
        assert len(checkpoint.list_checkpoints(model_dir)) <= 2 + 2
    monkeypatch.setattr(checkpoint, "_prune", real)
    m.save(model_dir)
    assert len(checkpoint.list_checkpoints(model_dir)) == 2
    assert StreamingWord2Vec.load(model_dir).stats["words_seen"] == m.stats["words_seen"]


def _failing(monkeypatch, what: str, at: int):
    """Make the at-th call of checkpoint's ``what`` fail with ENOSPC; returns a call counter."""
    calls = [0]
    target = {"write": (checkpoint, "_write_file"), "fsync_dir": (checkpoint, "_fsync_dir"),
              "rename": (checkpoint.os, "rename"), "replace": (checkpoint.os, "replace")}[what]
    original = getattr(*target)

    def fail(*a, **kw):
        calls[0] += 1
        if calls[0] == at:
            raise OSError(errno.ENOSPC, "No space left on device", a[0])
        return original(*a, **kw)
    monkeypatch.setattr(*target, fail)
    return calls


def test_disk_full_at_every_step_of_a_save_keeps_the_old_checkpoint(tmp_path, monkeypatch):
    """ENOSPC at each write, fsync, rename of a save: the save raises, CURRENT
    still names the old checkpoint, which loads unchanged, and nothing of the
    failed save is left. (Only the last step, the fsync of the directory after
    CURRENT was replaced, fails with the new checkpoint already current: it is
    complete, and the save still reports the error, as its durability is not
    known.)"""
    model_dir, _, second, m = _two_checkpoints(tmp_path)
    n_files = len(os.listdir(second))
    steps = [("write", k) for k in range(1, n_files + 2)] + [("fsync_dir", k) for k in (1, 2, 3)] \
        + [("rename", 1), ("replace", 1)]
    for what, at in steps:
        old = checkpoint.current_name(model_dir)
        before = StreamingWord2Vec.load(model_dir)
        with monkeypatch.context() as mp:
            calls = _failing(mp, what, at)
            m.train([["more", "words", "w1"]] * 20)
            with pytest.raises(OSError) as exc:
                m.save(model_dir)
            assert exc.value.errno == errno.ENOSPC and calls[0] == at
        now = checkpoint.current_name(model_dir)
        assert tmp_dirs(model_dir) == [] and checkpoint.list_checkpoints(model_dir)[-1] == now, (what, at)
        again = StreamingWord2Vec.load(model_dir)
        if (what, at) == ("fsync_dir", 3):
            assert now != old and again.stats["words_seen"] == m.stats["words_seen"]
        else:
            assert now == old, (what, at)
            np.testing.assert_array_equal(again.wv.vectors, before.wv.vectors)
            assert again.stats == before.stats
    # The disk has room again: the next save works and holds everything trained meanwhile.
    m.train([["last"]] * 5)
    last = m.save(model_dir)
    assert StreamingWord2Vec.load(model_dir).stats["words_seen"] == m.stats["words_seen"]
    assert checkpoint.list_checkpoints(model_dir)[-1] == os.path.basename(last)
    assert len(checkpoint.list_checkpoints(model_dir)) == 2


DISK_FULL = """
import errno, os, sys
from stream_w2v import checkpoint
flag, original = sys.argv.pop(1), checkpoint._write_file
def write(path, data):
    if os.path.exists(flag):
        raise OSError(errno.ENOSPC, "No space left on device", path)
    original(path, data)
checkpoint._write_file = write
from stream_w2v.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_disk_full_while_training_reports_and_goes_on(tmp_path):
    """The disk is full for a while (every checkpoint write fails): the trainer
    says so, keeps training (its progress goes on), the old checkpoint stays;
    once there is room the next checkpoint holds everything."""
    log, model_dir, flag = tmp_path / "app.log", tmp_path / "m", tmp_path / "disk-full"
    rng = random.Random(5)
    log.write_bytes(_block(rng, 500))
    err = tmp_path / "err"
    with open(err, "wb") as ferr:
        proc = subprocess.Popen([sys.executable, "-c", DISK_FULL, str(flag), "train", str(model_dir), str(log),
                                 "--follow", "--checkpoint-every", "0.2", *TINY, "--log-json", "--log-every", "0.1"],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=ferr)
        try:
            deadline = time.monotonic() + 30
            while not (model_dir / "CURRENT").exists():
                assert time.monotonic() < deadline and proc.poll() is None, err.read_text()
                time.sleep(0.05)
            time.sleep(0.5)
            flag.touch()
            time.sleep(0.3)  # a save that had written all its files before the flag may still finish
            kept = checkpoint.current_name(str(model_dir))
            kept_words = StreamingWord2Vec.load(str(model_dir)).stats["words_seen"]
            for _ in range(5):
                with open(log, "ab") as f:
                    f.write(_block(rng, 500))
                time.sleep(0.3)
            assert checkpoint.current_name(str(model_dir)) == kept
            assert tmp_dirs(model_dir) == [] and checkpoint.list_checkpoints(str(model_dir))[-1] == kept
            text = err.read_text()
            assert "checkpoint failed" in text and "No space left on device" in text, text
            progress = [json.loads(x)["words_seen"] for x in text.splitlines() if '"words_seen"' in x]
            assert progress[-1] > kept_words  # training went on while no checkpoint could be written
            flag.unlink()
            total = len(log.read_bytes().split())
            while StreamingWord2Vec.load(str(model_dir)).stats["words_seen"] < total:
                assert time.monotonic() < deadline + 30 and proc.poll() is None, err.read_text()
                time.sleep(0.1)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(TIMEOUT) == 0, err.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert info(model_dir)["words_seen"] == total
    failures = err.read_text().count("checkpoint failed")
    print(f"\ndisk full: {failures} checkpoint attempts failed and were reported; "
          f"old checkpoint {kept} kept; {total} words all in the final checkpoint")


# --- 3. hostile input ----------------------------------------------------------------------------

def _expected_words(raw: bytes) -> tuple[int, int]:
    """Words and decode errors the way sources + tokenize see the file."""
    words = errors = 0
    for line in raw.split(b"\n"):
        if line.endswith(b"\r"):
            line = line[:-1]
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            text = line.decode("utf-8", "replace")
            errors += 1
        words += len(text.split())
    return words, errors


def test_invalid_utf8_nul_control_chars_crlf_through_the_command(tmp_path):
    lines = [b"caf\xe9 latin1 word word", b"nul\x00byte word word", b"ctl\x01\x1b[31mred word word",
             b"crlf word word\r", b"half \xe2\x82 euro word", "caf\u00e9 utf8 word".encode(),
             b"\xff\xfe\xfd", b"", b"\r", b"tab\tsep\x0bvt\x0cff\x1cfs word", b"over\xc0\xaflong word"] * 50
    raw = b"\n".join(lines) + b"\n"
    corpus = tmp_path / "bad.txt"
    corpus.write_bytes(raw)
    model_dir = tmp_path / "m"
    ok("train", model_dir, corpus, "--dim", "8", "--min-count", "1", "-q")
    got = info(model_dir)
    words, errors = _expected_words(raw)
    src = got["sources"][0]
    assert got["words_seen"] == words and src["decode_errors"] == errors and src["offset"] == len(raw)
    model = StreamingWord2Vec.load(str(model_dir))
    keys = model.wv.index_to_key
    assert "caf\ufffd" in keys and "nul\x00byte" in keys and "crlf" in keys
    assert not any("\r" in k or "\n" in k for k in keys)
    # Exports in both formats and reads back: every key survives.
    for fmt in ("text", "binary"):
        out = tmp_path / f"v.{fmt}"
        ok("export", model_dir, out, "--format", fmt)
        from stream_w2v.keyedvectors import KeyedVectors
        back = KeyedVectors.load_word2vec_format(str(out), binary=fmt == "binary")
        assert len(back) == len(keys)


def test_bad_documents_through_the_library():
    m = StreamingWord2Vec(vector_size=4, min_count=1, workers=1, max_token_length=100)
    stats = m.train([b"caf\xe9 ok ok", b"nul\x00 ok", "lone \udcff surrogate ok", "x" * 1_000_000 + " ok",
                     ["tok", "y" * 1_000_000, "ok"], "", [], "\r\n\t "])
    assert stats["words_skipped"] == 2  # the two 1 MB tokens, counted, never words
    assert "caf\ufffd" in m.wv and "\udcff" in m.wv and "ok" in m.wv
    assert max(map(len, m.wv.index_to_key)) <= 100
    with pytest.raises(TypeError):
        m.train([b"ok", 42])


def _maxrss_kib(*args, timeout=TIMEOUT) -> tuple[int, str]:
    res = subprocess.run([sys.executable, "-c", WITH_MAXRSS, *map(str, args)], capture_output=True,
                         timeout=timeout, stdin=subprocess.DEVNULL)
    assert res.returncode == 0, res.stderr.decode()
    return int(res.stdout.split()[-1]), res.stderr.decode()


def test_a_50mb_line_without_newline_and_1mb_tokens_use_bounded_memory(tmp_path):
    """A 50 MB line is read in pieces of MAX_LINE_BYTES (1 MiB): the trainer's
    peak RSS grows by far less than the line (bound: 200 MB; a reader that held
    the line, decoded it and split it would need several times 50 MB)."""
    small = tmp_path / "small.txt"
    small.write_bytes(b"alpha beta gamma\n" * 10)
    base, _ = _maxrss_kib("train", tmp_path / "m0", small, *TINY, "-q")
    rng = random.Random(9)
    words = [f"token{rng.randrange(10**9):09d}" for _ in range(5000)]
    piece = (" ".join(words) + " ").encode()
    big = tmp_path / "big.txt"
    with open(big, "wb") as f:
        for _ in range(50 * 2**20 // len(piece) + 1):
            f.write(piece)
        f.write(b"y" * (3 * MAX_LINE_BYTES // 2))  # and a 1.5 MB token at the end, still no newline
    size = big.stat().st_size
    peak, _ = _maxrss_kib("train", tmp_path / "m", big, *TINY, "-q", timeout=120)
    got = info(tmp_path / "m")
    src = got["sources"][0]
    assert src["offset"] == size and src["long_lines"] == 1 and src["lines"] >= size // MAX_LINE_BYTES
    assert got["words_skipped"] >= 2  # the pieces of the 1.5 MB token
    growth = (peak - base) / 1024
    print(f"\n50 MB line: peak RSS {peak / 1024:.0f} MB vs {base / 1024:.0f} MB on a tiny file "
          f"(+{growth:.0f} MB); {got['words_seen']:,} words, {got['words_skipped']} skipped")
    assert growth < 200


def test_a_flood_of_unique_tokens_keeps_the_candidates_bounded_and_rss_flat():
    """2M distinct random tokens with max_vocab_size=10000: after every batch
    the candidates are at most the bound plus that batch's distinct words; RSS
    after the flood is within 20 MB of RSS after its first tenth (the bound's
    dictionaries are ~ 2 x 10k entries, a few MB)."""
    bound, batch = 10_000, 10_000
    m = StreamingWord2Vec(vector_size=8, min_count=5, workers=1, max_vocab_size=bound, batch_words=batch)
    rng = np.random.default_rng(3)
    peak_candidates, samples = 0, []
    for step in range(200):
        ids = rng.integers(0, 2**62, size=batch)
        m.train([[f"{i:x}" for i in ids[j:j + 1000]] for j in range(0, batch, 1000)])
        cands = m.stats["candidates"]
        assert cands == m.vocab.n_candidates <= bound + batch, (step, cands)
        peak_candidates = max(peak_candidates, cands)
        if step % 20 == 19:
            samples.append(rss_kib())
    assert m.stats["words_seen"] == 200 * batch and m.stats["vocab_size"] == 0 and peak_candidates >= bound
    growth = (samples[-1] - samples[0]) / 1024
    print(f"\nflood of 2M unique tokens: candidates peak {peak_candidates} (bound {bound} + batch {batch}), "
          f"Misra-Gries floor {m.vocab.floor}; RSS MB {[round(s / 1024) for s in samples]}")
    assert growth < 20


@pytest.mark.parametrize("sg,hs,negative", [(0, 0, 5), (1, 0, 5), (0, 1, 0), (1, 1, 0), (1, 1, 3)])
def test_degenerate_streams(tmp_path, sg, hs, negative):
    kw = dict(vector_size=1, min_count=1, sg=sg, hs=hs, negative=negative, workers=2, window=2)
    empty = StreamingWord2Vec(**kw)
    assert empty.train([])["words_seen"] == 0 and len(empty.wv) == 0
    empty.save(str(tmp_path / "empty"))
    assert len(StreamingWord2Vec.load(str(tmp_path / "empty")).wv) == 0
    one = StreamingWord2Vec(**kw)
    one.train(["the " * 5000] * 3)  # one word: an HS tree of one leaf, noise of one word
    assert one.wv.index_to_key == ["the"] and np.isfinite(one.wv.vectors).all()
    assert one.wv.vectors.shape == (1, 1)
    one.save(str(tmp_path / "one"))
    back = StreamingWord2Vec.load(str(tmp_path / "one"))
    back.train(["the the the new word"] * 10)
    assert np.isfinite(back.wv.vectors).all() and len(back.wv) == 3
    assert back.wv.most_similar("the", topn=2)


def test_degenerate_streams_through_the_command(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    ok("train", tmp_path / "e", empty, "--dim", "1", "-q")
    assert info(tmp_path / "e")["words_seen"] == 0
    res = run("similar", tmp_path / "e", "x")
    assert res.returncode == 2 and res.stderr.decode().count("\n") == 1
    one = tmp_path / "one.txt"
    one.write_bytes(b"solo\n" * 1000)
    ok("train", tmp_path / "o", one, "--dim", "1", "--hs", "-q")
    assert info(tmp_path / "o")["vocab_size"] == 1
    ok("export", tmp_path / "o", tmp_path / "o.txt")
    assert (tmp_path / "o.txt").read_text().splitlines()[0] == "1 1"
    ok("similar", tmp_path / "o", "solo")


# --- 4. fuzz: a self-consistent but hostile checkpoint ---------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_JSON = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=True)
                     | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                     max_leaves=6)


def _paths(obj, prefix=()):
    """Every path to a value inside a JSON object."""
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, prefix + (i,))


@pytest.fixture(scope="module")
def fuzz_base(tmp_path_factory):
    d = tmp_path_factory.mktemp("fuzz")
    for hs, neg, sched in ((1, 2, "adagrad"), (0, 3, "inverse")):
        m = StreamingWord2Vec(vector_size=4, min_count=1, workers=1, hs=hs, negative=neg, lr_schedule=sched)
        m.train(_block(random.Random(hs), 50).decode().splitlines())
        m.save(str(d / f"m{hs}"))
    return d


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_fuzzed_but_resealed_checkpoints_fail_only_with_checkpoint_error(fuzz_base, tmp_path_factory, data):
    """Replace any value of the manifest (or any array, fixing its checksum) by
    anything: loading either works or raises CheckpointError -- never another
    exception, never a hang, never a huge allocation from a size in the file."""
    src = fuzz_base / data.draw(st.sampled_from(["m0", "m1"]))
    d = tmp_path_factory.mktemp("case") / "m"
    shutil.copytree(src, d)
    ckpt = d / checkpoint.current_name(str(d))
    mpath = ckpt / "manifest.json"
    manifest = json.loads(mpath.read_text())
    manifest.pop("manifest_sha256")
    if data.draw(st.booleans()):
        path = data.draw(st.sampled_from([p for p in _paths(manifest["meta"]) if p]))
        target = manifest["meta"]
        for k in path[:-1]:
            target = target[k]
        if data.draw(st.booleans()) and isinstance(target, dict):
            del target[path[-1]]
        else:
            target[path[-1]] = data.draw(_JSON)
    else:
        name = data.draw(st.sampled_from(sorted(manifest["files"])))
        shape = data.draw(st.lists(st.integers(0, 5), max_size=3))
        dtype = data.draw(st.sampled_from(["<f4", "<i8", "<i4", "|u1", "<f8", "|b1"]))
        arr = np.asarray(np.random.default_rng(0).integers(-3, 1000, size=shape)).astype(dtype)
        import io
        buf = io.BytesIO()
        np.save(buf, arr, allow_pickle=False)
        raw = buf.getvalue()
        (ckpt / f"{name}.npy").write_bytes(raw)
        import hashlib
        manifest["files"][name] = {"sha256": hashlib.sha256(raw).hexdigest(), "bytes": len(raw)}
    mpath.write_bytes(checkpoint.seal_manifest(manifest))
    try:
        m = StreamingWord2Vec.load(str(d))
    except CheckpointError:
        return
    m.train([["w1", "w2", "w3", "w1"]] * 3)  # what loads must also train (or fail cleanly)
