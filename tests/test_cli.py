"""Acceptance of the ``stream-w2v`` command (issue 5), run as subprocesses.

Every child gets a timeout, so a hang is a failure, not a stuck CI. Models are
tiny (--dim 16) so the whole file runs in well under a minute on 2 cores.
"""
import functools
import gc
import json
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from stream_w2v.model import StreamingWord2Vec
from trainer_process import Trainer, info, ok, run, trainers  # noqa: F401 (a fixture)

TIMEOUT = 60      # no single command of these tests may take longer
WAIT = 20         # waiting for a running trainer to reach a state
TINY = ["--dim", "16", "--min-count", "2", "--window", "3"]
CMD = [sys.executable, "-m", "stream_w2v"]


# --- helpers --------------------------------------------------------------------------------------


def peek(model_dir) -> dict:
    """What ``info --json`` says, read in this process: cheap enough to poll."""
    from stream_w2v.queries import load_model
    model, _ = load_model(str(model_dir))
    return {**model.stats, "sources": model.extra.get("sources", [])}


VOCAB = [f"w{i}" for i in range(300)]
WEIGHTS = [1 / (i + 1) for i in range(len(VOCAB))]  # Zipf-like: many words reach min_count


def make_lines(rng: random.Random, n: int, first: int = 0) -> list[str]:
    """Numbered lines of 3..20 words (the number is a word too)."""
    return [f"n{first + i} " + " ".join(rng.choices(VOCAB, WEIGHTS, k=rng.randint(2, 19)))
            for i in range(n)]


def n_words(data) -> int:
    if isinstance(data, bytes):
        data = data.decode()
    return len(data.split())


def wait_for(predicate, what: str, timeout=WAIT, every=0.2):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(every)


def checkpoint_exists(model_dir) -> bool:
    return os.path.exists(os.path.join(model_dir, "CURRENT"))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A file of about 1.3 MB: more than one of train's 1 MB chunks."""
    path = tmp_path_factory.mktemp("corpus") / "corpus.txt"
    path.write_text("\n".join(make_lines(random.Random(5), 30000)) + "\n")
    return path


@pytest.fixture(scope="module")
def model(corpus, tmp_path_factory):
    """A small trained model to query."""
    d = tmp_path_factory.mktemp("model") / "m"
    ok("train", d, corpus, *TINY, "--workers", "2", "-q")
    return d


# --- 1. stdin and file give the same model --------------------------------------------------------


def test_stdin_and_file_give_the_same_model(tmp_path, corpus):
    data = corpus.read_bytes()
    assert len(data) > 1 << 20
    ok("train", tmp_path / "m1", "-", *TINY, "--workers", "1", "--seed", "1", "-q", input=data)
    ok("train", tmp_path / "m2", corpus, *TINY, "--workers", "1", "--seed", "1", "-q")
    m1, m2 = StreamingWord2Vec.load(str(tmp_path / "m1")), StreamingWord2Vec.load(str(tmp_path / "m2"))
    assert m1.wv.index_to_key == m2.wv.index_to_key and len(m1.wv) > 200
    assert np.array_equal(m1.wv.vectors, m2.wv.vectors)
    assert m1.stats["words_seen"] == m2.stats["words_seen"] == n_words(data)
    i1, i2 = info(tmp_path / "m1"), info(tmp_path / "m2")
    assert i1["sources"][0]["path"] == "-" and i1["sources"][0]["offset"] == len(data)
    assert i2["sources"][0]["path"] == str(corpus) and i2["sources"][0]["offset"] == len(data)


def test_train_again_continues_and_reads_only_what_is_new(tmp_path, corpus):
    d, f = tmp_path / "m", tmp_path / "f.txt"
    lines = make_lines(random.Random(1), 3000)
    f.write_text("\n".join(lines[:2000]) + "\n")
    ok("train", d, f, *TINY, "-q")
    assert peek(d)["words_seen"] == n_words(f.read_bytes())
    ok("train", d, f, "-q")  # nothing new: nothing trained
    assert peek(d)["words_seen"] == n_words(f.read_bytes())
    with open(f, "a") as out:
        out.write("\n".join(lines[2000:]) + "\n")
    ok("train", d, f, "-q")
    assert peek(d)["words_seen"] == n_words(f.read_bytes())
    ok("train", d, corpus, "-q")  # another file: from its start, and f's position is kept
    got = peek(d)
    assert got["words_seen"] == n_words(f.read_bytes()) + n_words(corpus.read_bytes())
    assert {s["path"]: s["offset"] for s in got["sources"]} == {
        str(f): f.stat().st_size, str(corpus): corpus.stat().st_size}


def test_epochs_reread_the_files(tmp_path):
    f, g = tmp_path / "f.txt", tmp_path / "g.txt"
    f.write_text("\n".join(make_lines(random.Random(2), 500)) + "\n")
    g.write_text("\n".join(make_lines(random.Random(3), 300)) + "\n")
    ok("train", tmp_path / "m", f, *TINY, "--epochs", "3", "-q")
    assert peek(tmp_path / "m")["words_seen"] == 3 * n_words(f.read_bytes())
    # Counted once, as gensim's vocabulary scan: the vocabulary of one pass.
    ok("train", tmp_path / "one", f, *TINY, "-q")
    assert peek(tmp_path / "m")["vocab_size"] == peek(tmp_path / "one")["vocab_size"]
    # The finished run's last epoch number does not cut short a run on other files.
    ok("train", tmp_path / "m", g, "--epochs", "2", "-q")
    assert peek(tmp_path / "m")["words_seen"] == 3 * n_words(f.read_bytes()) + 2 * n_words(g.read_bytes())


# --- 2. follow, rotate twice, SIGTERM and SIGKILL, resume -----------------------------------------


class Feed:
    """The writer: appends numbered lines to a log and rotates it by rename + re-creation.

    It remembers every file it wrote (by inode) and how many words each holds,
    so that any checkpointed position (inode, offset) can be turned into the
    number of words a trainer must have seen up to it.
    """

    def __init__(self, path):
        self.path = path
        self.rng = random.Random(7)
        self.next = 0
        self.files = []      # [(inode, path now), ...] in the order written
        self.rotations = 0

    def append(self, n_lines: int) -> None:
        lines = make_lines(self.rng, n_lines, self.next)
        self.next += n_lines
        with open(self.path, "a") as f:
            f.write("\n".join(lines) + "\n")
        ino = os.stat(self.path).st_ino
        if not self.files or self.files[-1][0] != ino:
            self.files.append((ino, self.path))

    def trickle(self, bursts: int, lines: int = 40, pause: float = 0.03) -> None:
        for _ in range(bursts):
            self.append(lines)
            time.sleep(pause)

    def rotate(self) -> None:
        self.rotations += 1
        moved = f"{self.path}.{self.rotations}"
        os.rename(self.path, moved)
        self.files[-1] = (self.files[-1][0], moved)

    @property
    def words(self) -> int:
        return sum(n_words(open(p, "rb").read()) for _, p in self.files)

    def words_up_to(self, position: dict) -> int:
        """Words in the files before the one at ``position``, plus that one's up to its offset."""
        total = 0
        for ino, p in self.files:
            if ino == position["ino"]:
                with open(p, "rb") as f:
                    return total + n_words(f.read(position["offset"]))
            total += n_words(open(p, "rb").read())
        raise AssertionError(f"position of an unknown file: {position}")

    def caught_up(self, model_dir) -> bool:
        """The last checkpoint has every line of the current file."""
        if not checkpoint_exists(model_dir):
            return False
        pos = peek(model_dir)["sources"][0]
        st = os.stat(self.path)
        return pos.get("ino") == st.st_ino and pos["offset"] == st.st_size


def check_checkpoint(model_dir, feed: Feed) -> dict:
    """The invariant of every checkpoint: words_seen is exactly the words before its position."""
    got = info(model_dir)
    pos = got["sources"][0]
    assert got["words_seen"] == feed.words_up_to(pos), (got["words_seen"], pos)
    return got


def test_follow_rotate_term_kill_resume(tmp_path, trainers):
    model_dir, log = tmp_path / "m", tmp_path / "app.log"
    feed = Feed(str(log))
    args = (tmp_path, model_dir, log, "--follow", "--checkpoint-every", "0.5", *TINY,
            "--log-json", "--log-every", "0.2")
    figures = {}

    # The trainer starts before the file exists (like tail -F).
    t1 = trainers(*args)
    time.sleep(0.5)
    feed.trickle(10)
    wait_for(lambda: checkpoint_exists(model_dir) and peek(model_dir)["words_seen"] > 0, "a first checkpoint")
    # SIGTERM mid-stream: a burst of several of train's 1 MB chunks is being read
    # when the signal arrives; the trainer finishes the chunk in hand and stops.
    feed.append(40000)
    time.sleep(0.3)
    assert t1.signal(signal.SIGTERM) == 0, t1.stderr()
    got = check_checkpoint(model_dir, feed)
    figures["term"] = (got["words_seen"], feed.words)

    feed.trickle(5)  # written while no trainer runs
    t2 = trainers(*args)
    feed.trickle(10)
    # Rotation 1, once the old file is in a checkpoint (see Feed: lines written to a
    # rotated file after its trainer moved on are lost, as with tail -F).
    wait_for(lambda: feed.caught_up(model_dir), "the trainer to catch up before rotation 1")
    feed.rotate()
    feed.trickle(10)
    wait_for(lambda: peek(model_dir)["sources"][0].get("ino") == os.stat(log).st_ino,
             "a checkpoint in the new file")
    # SIGKILL mid-stream: whatever was trained after the last checkpoint is lost
    # with the process, and trained again from that checkpoint after the restart.
    feed.append(20000)
    time.sleep(0.3)
    t2.proc.kill()
    assert t2.wait() == -signal.SIGKILL
    got = check_checkpoint(model_dir, feed)
    # The progress lines show how far the killed trainer had got past its checkpoint.
    reported = [json.loads(line).get("words_seen", 0) for line in t2.stderr().splitlines() if line.strip()]
    figures["kill"] = (got["words_seen"], max(reported), feed.words)

    feed.trickle(5)
    t3 = trainers(*args)
    feed.trickle(10)
    wait_for(lambda: feed.caught_up(model_dir), "the trainer to catch up before rotation 2")
    feed.rotate()
    feed.trickle(10)
    feed.append(3000)
    wait_for(lambda: feed.caught_up(model_dir), "the trainer to catch up at the end")
    assert t3.signal(signal.SIGTERM) == 0, t3.stderr()

    final = check_checkpoint(model_dir, feed)
    assert final["words_seen"] == feed.words
    assert final["sources"][0]["path"] == str(log) and final["sources"][0]["offset"] == log.stat().st_size
    assert feed.rotations == 2 and len(feed.files) == 3
    # Progress: JSON lines on a non-terminal stderr, the last one with the final count.
    lines = [json.loads(line) for line in t3.stderr().splitlines()]
    progress = [x for x in lines if "words_seen" in x]
    assert progress and progress[-1]["words_seen"] == feed.words
    print(f"\nfollow scenario: words written {feed.words}, words_seen {final['words_seen']}; "
          f"at SIGTERM checkpoint {figures['term'][0]} of {figures['term'][1]} written, "
          f"at SIGKILL checkpoint {figures['kill'][0]}, last progress {figures['kill'][1]}, "
          f"{figures['kill'][2]} written")


def test_follow_survives_truncation(tmp_path, trainers):
    model_dir, log = tmp_path / "m", tmp_path / "app.log"
    first = "\n".join(make_lines(random.Random(3), 300)) + "\n"
    log.write_text(first)
    t = trainers(tmp_path, model_dir, log, "--follow", "--checkpoint-every", "0.3", *TINY, "-q")
    wait_for(lambda: checkpoint_exists(model_dir) and peek(model_dir)["sources"][0]["offset"] == len(first),
             "the first file to be read")
    second = "\n".join(make_lines(random.Random(4), 100)) + "\n"
    log.write_text(second)  # truncated and rewritten (copytruncate), shorter than before
    wait_for(lambda: peek(model_dir)["sources"][0]["offset"] == len(second), "the rewritten file to be read")
    assert t.signal(signal.SIGTERM) == 0
    got = info(model_dir)
    assert got["words_seen"] == n_words(first) + n_words(second)
    assert got["sources"][0]["truncations"] == 1


def test_a_quiet_pipe_is_trained_as_it_comes_and_sigterm_ends_it(tmp_path):
    # `tail -F log | stream-w2v train m -`: a few lines, then tail has nothing to say.
    # They are trained and checkpointed without waiting for more, and kill -TERM
    # ends the trainer although its read would block.
    r, w = os.pipe()
    data = ("\n".join(make_lines(random.Random(6), 200)) + "\n").encode()
    os.write(w, data)
    proc = subprocess.Popen([*CMD, "train", str(tmp_path / "m"), "-", "--checkpoint-every", "0", *TINY, "-q"],
                            stdin=r, stderr=subprocess.PIPE)
    os.close(r)
    try:
        wait_for(lambda: checkpoint_exists(tmp_path / "m") and peek(tmp_path / "m")["words_seen"] == n_words(data),
                 "the lines to be trained")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(WAIT) == 0, proc.stderr.read()
    finally:
        os.close(w)
        if proc.poll() is None:
            proc.kill()
    assert info(tmp_path / "m")["words_seen"] == n_words(data)


def test_a_second_trainer_on_the_same_directory_is_refused(tmp_path, trainers, corpus):
    log = tmp_path / "app.log"
    log.write_text("a b c\n")
    t = trainers(tmp_path, tmp_path / "m", log, "--follow", "--checkpoint-every", "0.2", *TINY, "-q")
    wait_for(lambda: checkpoint_exists(tmp_path / "m") or t.proc.poll() is not None, "the first trainer", every=0.1)
    res = run("train", tmp_path / "m", corpus, "-q")
    assert res.returncode == 2 and b"being trained by another process" in res.stderr
    assert t.signal(signal.SIGTERM) == 0


# --- 3. info --------------------------------------------------------------------------------------


def test_info_json_and_text(model, corpus):
    got = info(model)
    for key in ("words_seen", "vocab_size", "sources", "checkpoint_time", "params"):
        assert key in got
    assert got["words_seen"] == n_words(corpus.read_bytes()) and got["vocab_size"] > 200
    assert [(s["path"], s["offset"]) for s in got["sources"]] == [(str(corpus), corpus.stat().st_size)]
    assert got["params"]["vector_size"] == 16 and got["params"]["min_count"] == 2
    assert got["checkpoint_time"].endswith("Z")
    from datetime import datetime, timezone
    when = datetime.fromisoformat(got["checkpoint_time"].replace("Z", "+00:00"))
    assert abs((datetime.now(timezone.utc) - when).total_seconds()) < 3600
    assert got["checkpoint"].startswith("ckpt-")
    text = ok("info", model).stdout.decode()
    unset = ("max_vocab_size=None", "count_half_life=None", "shared_output_scale=None")  # None: by design
    assert "None" not in functools.reduce(lambda t, u: t.replace(u, ""), unset, text)
    assert f"checkpoint: {got['checkpoint']}" in text and f"checkpoint_time: {got['checkpoint_time']}" in text


# --- 4. queries, also while a train runs ----------------------------------------------------------


def check_queries(model_dir, tmp_path, word="w1"):
    out = ok("similar", model_dir, word, "w2", "-n", "3", "--json").stdout
    near = json.loads(out)
    assert set(near) == {word, "w2"} and all(len(v) == 3 for v in near.values())
    assert ok("similar", model_dir, word).stdout.decode().startswith(f"{word}: ")
    assert len(json.loads(ok("analogy", model_dir, "w1", "w2", "w3", "--json").stdout)) == 5
    from gensim.models import KeyedVectors
    for fmt in ("text", "binary"):
        out = tmp_path / f"vectors.{fmt}"
        ok("export", model_dir, out, "--format", fmt)
        kv = KeyedVectors.load_word2vec_format(str(out), binary=fmt == "binary")
        assert kv.vector_size == 16 and word in kv.key_to_index
    return kv


def test_queries_and_export_load_in_gensim(model, tmp_path):
    kv = check_queries(model, tmp_path)
    m = StreamingWord2Vec.load(str(model))
    assert len(kv) == len(m.wv)
    # binary is exact; text has 6 decimals
    assert np.allclose(kv[m.wv.index_to_key[0]], m.wv.vectors[0], atol=1e-6)


def test_export_averaged_vectors(model, tmp_path):
    """--vectors average writes (syn0 + syn1neg) / 2, row for row (binary: exact)."""
    from gensim.models import KeyedVectors
    out = tmp_path / "avg.bin"
    ok("export", model, out, "--format", "binary", "--vectors", "average")
    kv = KeyedVectors.load_word2vec_format(str(out), binary=True)
    m = StreamingWord2Vec.load(str(model))
    rows = len(m.wv)
    expected = (m._syn0.view[:rows] + m._syn1neg.view[:rows]) * np.float32(0.5)
    assert sorted(kv.index_to_key) == sorted(m.wv.index_to_key)
    got = np.stack([kv[w] for w in m.wv.index_to_key])  # the file is in count order
    np.testing.assert_array_equal(got, expected)
    assert not np.array_equal(got, m.wv.vectors)  # not the input vectors under another name


def test_queries_while_training(tmp_path, trainers):
    model_dir, log = tmp_path / "m", tmp_path / "app.log"
    feed = Feed(str(log))
    feed.append(2000)
    t = trainers(tmp_path, model_dir, log, "--follow", "--checkpoint-every", "0", *TINY, "-q")
    wait_for(lambda: checkpoint_exists(model_dir) and peek(model_dir)["vocab_size"] > 100, "a model")
    feed.append(20000)  # keeps the trainer busy and checkpointing while we read
    check_queries(model_dir, tmp_path)
    assert t.proc.poll() is None
    assert t.signal(signal.SIGTERM) == 0
    check_checkpoint(model_dir, feed)


def test_evaluate(model, tmp_path):
    pairs, analogies = tmp_path / "pairs.tsv", tmp_path / "questions.txt"
    pairs.write_text("w0\tw1\t9\nw1\tw2\t5\nw0\tw9\t1\nw3\tzzz\t2\n")
    analogies.write_text(": section\nw0 w1 w2 w3\nw1 w2 w3 w4\n")
    got = json.loads(ok("evaluate", model, "--pairs", pairs, "--analogies", analogies, "--json").stdout)
    assert set(got) == {"analogy_accuracy", "pairs_pearson", "pairs_spearman", "pairs_oov_percent"}
    assert got["pairs_oov_percent"] == 25.0 and 0 <= got["analogy_accuracy"] <= 1
    pairs.write_text("w0 w1 9\n")  # spaces, not tabs
    one_line_error(run("evaluate", model, "--pairs", pairs), "pairs.tsv")


# --- 5. user errors -------------------------------------------------------------------------------


def one_line_error(res, *expected: str):
    err = res.stderr.decode()
    assert res.returncode == 2, (res.returncode, err)
    assert "Traceback" not in err
    assert err.count("\n") == 1 and err.startswith("stream-w2v: "), err
    for text in expected:
        assert text in err, err
    return err


def test_schedule_and_count_options_reach_the_model_and_stay(tmp_path, corpus):
    """--count-half-life, --lr-count-tau and --shared-negatives are model settings: stored in the
    checkpoint, kept by a restart without them, refused when they differ."""
    d = tmp_path / "m"
    ok("train", d, corpus, *TINY, "--sg", "--lr-schedule", "count", "--lr-count-tau", "500",
       "--count-half-life", "20000", "--shared-negatives", "-q")
    ok("train", d, corpus, "-q")
    m = StreamingWord2Vec.load(str(d))
    assert (m.lr_count_tau, m.count_half_life, m.lr_schedule, m.shared_negatives) == (500.0, 20000.0, "count", True)
    assert m._decayed is not None and m._decayed.position == m.stats["words_seen"]
    one_line_error(run("train", d, corpus, "--count-half-life", "100"), "--count-half-life")
    one_line_error(run("train", d, corpus, "--no-shared-negatives"), "--shared-negatives")
    one_line_error(run("train", tmp_path / "m2", corpus, "--count-half-life", "0"), "count_half_life")


def test_shared_output_scale_option_reaches_the_model_and_stays(tmp_path, corpus):
    """--shared-output-scale is a model setting like the others: stored, kept by a restart
    without it, refused when it differs, and a bad value is one line on stderr."""
    d = tmp_path / "m"
    ok("train", d, corpus, *TINY, "--sg", "--lr-schedule", "linear", "--shared-output-scale", "0.25", "-q")
    ok("train", d, corpus, "-q")
    assert StreamingWord2Vec.load(str(d)).shared_output_scale == 0.25
    one_line_error(run("train", d, corpus, "--shared-output-scale", "0.5"), "--shared-output-scale")
    one_line_error(run("train", tmp_path / "m2", corpus, "--shared-output-scale", "0"), "shared_output_scale")


def test_linear_schedule_decays_over_the_passes_and_resumes_on_its_line(tmp_path, monkeypatch):
    """--lr-schedule linear: gensim's SGD decay from alpha to min_alpha over
    every --epochs pass, its progress in bytes read. A run that dies in its
    second pass resumes on the same line: the rates of the chunks it trains
    again are those of the uninterrupted run, not a restart from alpha."""
    from stream_w2v import cli
    f = tmp_path / "f.txt"
    f.write_text("\n".join(make_lines(random.Random(4), 3000)) + "\n")
    rates, crash_at = [], [None]
    real = StreamingWord2Vec.train

    def train(self, docs, **kw):
        if len(rates) == crash_at[0]:
            raise RuntimeError("killed")
        rates.append((kw["start_alpha"], kw["end_alpha"]))
        return real(self, docs, **kw)
    monkeypatch.setattr(StreamingWord2Vec, "train", train)
    monkeypatch.setattr("stream_w2v.train_command.CHUNK_BYTES", 4096)   # many chunks per pass

    def command(name):
        return ["train", str(tmp_path / name), str(f), *TINY, "--lr-schedule", "linear", "--alpha", "0.04",
                "--epochs", "3", "--checkpoint-every", "0", "-q"]
    assert cli.main(command("whole")) == 0
    whole = list(rates)
    flat = [r for pair in whole for r in pair]
    assert flat[0] == 0.04 and flat[-1] == pytest.approx(1e-4) and flat == sorted(flat, reverse=True)
    per_chunk = 0.04 * 4096 / f.stat().st_size        # the rate's fall over one chunk
    assert whole[len(whole) // 3][0] == pytest.approx(0.04 - (0.04 - 1e-4) / 3, abs=2 * per_chunk)
    rates.clear()
    crash_at[0] = len(whole) // 2                      # in the second pass
    with pytest.raises(RuntimeError, match="killed"):
        cli.main(command("resumed"))
    gc.collect()   # the dead run's frames hold its lock on the directory (a process would just exit)
    done = len(rates)
    rates.clear()
    crash_at[0] = None
    assert cli.main(command("resumed")) == 0
    assert 0 < len(whole) - len(rates) <= done and rates == whole[len(whole) - len(rates):]


def test_user_errors(model, tmp_path, corpus):
    plain_dir = tmp_path / "plain"
    plain_dir.mkdir()
    (plain_dir / "x").write_text("x")
    one_line_error(run("train", tmp_path / "m", tmp_path / "missing.txt"), "missing.txt", "no such file")
    assert not (tmp_path / "m").exists()
    one_line_error(run("similar", tmp_path / "nowhere", "w1"), "no such model directory")
    one_line_error(run("info", plain_dir), "not a stream_w2v model directory")
    one_line_error(run("info", corpus), "not a directory")
    one_line_error(run("train", plain_dir, corpus), "holds no model")
    one_line_error(run("train", tmp_path / "m", corpus, "--dim", "0"), "--dim")
    one_line_error(run("train", tmp_path / "m", corpus, "--bogus"), "--bogus")
    one_line_error(run("similar", model), "WORD")
    one_line_error(run("nonsense"), "invalid choice")
    one_line_error(run("similar", model, "no-such-word"), "'no-such-word' is not in the vocabulary")
    one_line_error(run("analogy", model, "w1", "w2", "no-such-word"), "not in the vocabulary")
    one_line_error(run("train", tmp_path / "m", "-", "--epochs", "2", input=b"a b\n"), "stdin")
    one_line_error(run("train", tmp_path / "m", corpus, "--follow", "--epochs", "2"), "--epochs")
    one_line_error(run("train", tmp_path / "m", "-", "--lr-schedule", "linear", input=b"a b\n"), "linear", "stdin")
    one_line_error(run("train", tmp_path / "m", corpus, "--follow", "--lr-schedule", "linear"), "linear")
    ok("train", tmp_path / "lin", corpus, *TINY, "--lr-schedule", "linear", "-q")
    one_line_error(run("train", tmp_path / "lin", "-", input=b"a b\n"), "linear", "stdin")   # the model's schedule
    one_line_error(run("train", model, corpus, "--dim", "32"), "--dim")
    one_line_error(run("export", model, tmp_path / "no" / "dir" / "v.txt"), "v.txt")
    one_line_error(run("evaluate", model, "--pairs", tmp_path / "missing.tsv"), "missing.tsv")


def test_damaged_checkpoint(model, tmp_path, corpus):
    import shutil
    d = tmp_path / "m"
    shutil.copytree(model, d)
    ok("train", d, corpus, "-q")  # a second checkpoint, so there is one to go back to
    current = (d / "CURRENT").read_text().strip()
    syn0 = d / current / "syn0.npy"
    raw = bytearray(syn0.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    syn0.write_bytes(bytes(raw))
    for args in (("similar", d, "w1"), ("info", d, "--json"), ("export", d, tmp_path / "v.txt"),
                 ("train", d, corpus)):
        err = one_line_error(run(*args), "syn0.npy", "damaged")
    assert "echo ckpt-" in err  # how to go back to the previous checkpoint
    (d / "CURRENT").write_text(err.split("echo ")[1].split(" >")[0] + "\n")
    ok("similar", d, "w1")
    (d / "CURRENT").write_text("garbage\n")
    one_line_error(run("info", d), "CURRENT", "damaged", "echo ckpt-")


# --- 6. the demo ----------------------------------------------------------------------------------


def test_demo(tmp_path):
    d = tmp_path / "demo"
    res = ok("demo", "--model-dir", d, "--seconds", "2", timeout=90)
    out = res.stdout.decode()
    assert "  god: " in out and "  king: " in out and "stream-w2v similar" in out
    assert "words read" in out
    near = json.loads(ok("similar", d, "god", "--json").stdout)["god"]
    assert len(near) == 10
    got = info(d)
    assert got["words_seen"] > 700_000 and got["sources"][0]["offset"] == (d / "feed.txt").stat().st_size
    one_line_error(run("demo", "--model-dir", d, "--seconds", "1"), "not empty")


# --- 7. progress ----------------------------------------------------------------------------------


def test_progress_json_lines(tmp_path, corpus):
    res = ok("train", tmp_path / "m", corpus, *TINY, "--log-json", "--log-every", "0")
    lines = [json.loads(line) for line in res.stderr.decode().splitlines()]
    progress = [x for x in lines if "words_seen" in x]
    assert len(progress) >= 2
    for x in progress:
        assert {"time", "words_seen", "words_per_sec", "vocab_size", "alpha", "loss"} <= set(x)
    assert progress[-1]["words_seen"] == n_words(corpus.read_bytes())
    assert [x["words_seen"] for x in progress] == sorted(x["words_seen"] for x in progress)
    assert any(x.get("event", "").startswith("checkpoint") for x in lines)


def test_quiet_is_quiet(tmp_path, corpus):
    assert ok("train", tmp_path / "m", corpus, *TINY, "-q").stderr == b""
