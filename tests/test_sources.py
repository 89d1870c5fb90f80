"""Tests of stream_w2v.sources: exact resume, line semantics, follow mode (tail -F), stdin."""
import hashlib
import io
import json
import os
import queue
import sys
import threading
import time

import pytest

from stream_w2v import sources
from stream_w2v.sources import MAX_LINE_BYTES, FileSource, StdinSource, iter_sources

TIMEOUT = 5.0  # a follower that has not produced what we wait for by then is a failure, not a hang


@pytest.fixture(autouse=True)
def fast_poll(monkeypatch):
    monkeypatch.setattr(sources, "POLL_SECONDS", 0.01)


def texts(items):
    return [x.text for x in items if x is not None]


def read_all(*srcs):
    return texts(iter_sources(srcs))


def take(it, n):
    """The next n lines of a non-follow iterator."""
    return [next(it).text for _ in range(n)]


class Follower:
    """Runs iter_sources in a thread, so the test can change files while it reads."""

    _DONE = object()

    def __init__(self, *srcs):
        self.srcs = srcs
        self.items = queue.Queue()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            for item in iter_sources(self.srcs):
                self.items.put(item)
        except BaseException as exc:  # surfaced by lines()
            self.items.put(exc)
        self.items.put(self._DONE)

    def lines(self, n):
        """The next n lines (Nones skipped), or fail after TIMEOUT."""
        got, deadline = [], time.monotonic() + TIMEOUT
        while len(got) < n:
            try:
                item = self.items.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"timed out with {got!r}, wanted {n} lines")
            if isinstance(item, BaseException):
                raise item
            assert item is not self._DONE, f"iteration ended early after {got!r}"
            if item is not None:
                got.append(item.text)
        return got

    def idle(self):
        """Wait for the None that says every source is idle; return lines seen before it."""
        got, deadline = [], time.monotonic() + TIMEOUT
        while True:
            item = self.items.get(timeout=max(0.0, deadline - time.monotonic()))
            assert item is not self._DONE
            if item is None:
                return got
            got.append(item.text)

    def stop(self):
        t0 = time.monotonic()
        for s in self.srcs:
            s.stop()
        self.thread.join(TIMEOUT)
        assert not self.thread.is_alive(), "stop() did not end iteration"
        return time.monotonic() - t0


def append(path, data: bytes):
    with open(path, "ab") as f:
        f.write(data)


# --- positions and resume -------------------------------------------------------------------


def test_resume_yields_exactly_the_remaining_lines(tmp_path):
    path = tmp_path / "a.txt"
    lines = [f"line {i} " + "x" * (i % 7) for i in range(200)]
    path.write_bytes(("\n".join(lines) + "\n").encode())
    for cut in (0, 1, 99, 199, 200):
        src = FileSource(str(path))
        it = iter_sources([src])
        assert take(it, cut) == lines[:cut]
        # The read buffer holds the whole file by now: it must not count.
        pos = json.loads(json.dumps(src.position()))
        it.close()
        assert pos["offset"] == sum(len(s) + 1 for s in lines[:cut])
        again = FileSource(str(path), start=pos)
        assert read_all(again) == lines[cut:]
        assert again.position()["restarts"] == 0


def test_position_fields(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"hello\nworld\n")
    src = FileSource(str(tmp_path / "." / "a.txt"))
    assert src.path == str(path)
    read_all(src)
    st = os.stat(path)
    pos = src.position()
    assert pos["path"] == str(path) and pos["offset"] == 12
    assert (pos["dev"], pos["ino"]) == (st.st_dev, st.st_ino)
    assert pos["head"] == hashlib.sha256(b"hello\nworld\n").hexdigest() and pos["head_len"] == 12
    assert pos["lines"] == 2
    for key in ("long_lines", "decode_errors", "restarts", "truncations", "rotations"):
        assert pos[key] == 0


def test_resume_after_append_continues(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"a\nb\n")
    src = FileSource(str(path))
    read_all(src)
    append(path, b"c\n" + b"y" * 5000 + b"\n")
    again = FileSource(str(path), start=src.position())
    assert read_all(again) == ["c", "y" * 5000]
    assert again.position()["restarts"] == 0
    assert again.position()["head_len"] == sources.HEAD_BYTES


@pytest.mark.parametrize("change", ["replaced", "truncated", "garbage"])
def test_resume_on_another_file_starts_at_zero(tmp_path, change):
    path = tmp_path / "a.txt"
    path.write_bytes(b"one\ntwo\nthree\n")
    src = FileSource(str(path))
    it = iter_sources([src])
    take(it, 2)
    pos = src.position()
    it.close()
    if change == "replaced":  # same size, other content
        path.write_bytes(b"uno\ndos\ntres!\n")
        expected = ["uno", "dos", "tres!"]
    elif change == "truncated":
        path.write_bytes(b"one\n")
        expected = ["one"]
    else:
        pos = {"path": str(path), "offset": "nonsense"}
        expected = ["one", "two", "three"]
    again = FileSource(str(path), start=pos)
    assert read_all(again) == expected
    assert again.position()["restarts"] == 1


def test_resume_on_a_new_file_with_the_same_head_starts_at_zero(tmp_path):
    # Rotated while no trainer ran, and the new file starts like the old one (a
    # banner longer than the head): the head matches, the inode does not, so the
    # new file is read whole instead of from the old file's offset.
    path = tmp_path / "a.txt"
    banner = [f"banner line {i:04d} " + "=" * 60 for i in range(80)]
    assert len("\n".join(banner)) > sources.HEAD_BYTES
    path.write_bytes(("\n".join(banner + ["old 1", "old 2"]) + "\n").encode())
    src = FileSource(str(path))
    read_all(src)
    pos = src.position()
    os.rename(path, tmp_path / "a.txt.1")
    new_lines = banner + ["new 1", "new 2", "new 3"]
    path.write_bytes(("\n".join(new_lines) + "\n").encode())
    again = FileSource(str(path), start=pos)
    assert read_all(again) == new_lines
    assert again.position()["restarts"] == 1


def test_resume_without_inode_trusts_the_head(tmp_path):
    # A position saved before the file existed has no inode: the head decides.
    path = tmp_path / "a.txt"
    path.write_bytes(b"one\ntwo\n")
    pos = {"path": str(path), "offset": 4, "dev": None, "ino": None,
           "head": hashlib.sha256(b"one\ntwo\n").hexdigest(), "head_len": 8}
    assert read_all(FileSource(str(path), start=pos)) == ["two"]


def test_head_grows_with_a_small_file(tmp_path):
    # A file opened while tiny must not be identified by its first few bytes only.
    path = tmp_path / "a.txt"
    path.write_bytes(b"a\n")
    src = FileSource(str(path), follow=True)
    assert src.position()["head_len"] == 2
    body = b"a\n" + b"".join(b"%d\n" % i for i in range(2000))
    path.write_bytes(body)
    f = Follower(src)
    f.lines(2001)
    f.stop()
    pos = src.position()
    assert pos["head_len"] == sources.HEAD_BYTES
    assert pos["head"] == hashlib.sha256(body[:sources.HEAD_BYTES]).hexdigest()


# --- line semantics ----------------------------------------------------------------------------


def test_final_line_without_newline(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"a\n\nlast")
    src = FileSource(str(path))
    assert read_all(src) == ["a", "", "last"]
    assert src.position()["offset"] == 7


def test_crlf_and_stray_cr(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"a\r\nb\rc\r\n\r\nd\r")
    assert read_all(FileSource(str(path))) == ["a", "b\rc", "", "d"]


def test_invalid_utf8_counted_and_nul_kept(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"ok\nbad\xff\xfe\nnul\x00here\n\xc3\xa9t\xc3\xa9\n")
    src = FileSource(str(path))
    assert read_all(src) == ["ok", "bad\ufffd\ufffd", "nul\x00here", "été"]
    assert src.position()["decode_errors"] == 1


def test_long_line_is_cut_with_bounded_reads(tmp_path, monkeypatch):
    path = tmp_path / "a.txt"
    long_ascii = b"x" * (2 * MAX_LINE_BYTES + 10)
    long_utf8 = "é" * (MAX_LINE_BYTES // 2 + 1) + "z"  # the cut falls inside a 2-byte character
    exact = b"e" * MAX_LINE_BYTES  # fits exactly, even with "\r\n"
    path.write_bytes(b"short\n" + long_ascii + b"\n" + long_utf8.encode() + b"\n" + exact + b"\r\nend")
    reads = []
    real_read = os.read
    monkeypatch.setattr(os, "read", lambda fd, n: reads.append(n) or real_read(fd, n))
    src = FileSource(str(path))
    got = []
    for line in iter_sources([src]):
        got.append(line.text)
        assert len(src._buf) <= MAX_LINE_BYTES + 1 + sources.READ_BYTES
    assert max(reads) <= sources.READ_BYTES
    assert all(len(t.encode()) <= MAX_LINE_BYTES for t in got)
    assert got[0] == "short" and got[-2:] == [exact.decode(), "end"]
    assert got[1:4] == ["x" * MAX_LINE_BYTES, "x" * MAX_LINE_BYTES, "x" * 10]
    assert got[4:6] == [long_utf8[:MAX_LINE_BYTES // 2], long_utf8[MAX_LINE_BYTES // 2:]]
    pos = src.position()
    assert pos["long_lines"] == 2 and pos["decode_errors"] == 0 and pos["lines"] == 8
    assert pos["offset"] == path.stat().st_size


def test_sources_read_one_after_another(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(b"a1\na2")
    b.write_bytes(b"b1\n")
    assert read_all(FileSource(str(a)), FileSource(str(b))) == ["a1", "a2", "b1"]


def test_finished_source_yields_nothing_again(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"1\n2\n")
    src = FileSource(str(path))
    assert read_all(src) == ["1", "2"]
    assert read_all(src) == []
    assert src.position()["offset"] == 4


def test_missing_file_without_follow_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_all(FileSource(str(tmp_path / "nope")))


def test_plain_source_keeps_start_until_read(tmp_path):
    # Sources are read one after another: a checkpoint taken while the first is
    # read must keep the resume point of the second.
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(b"a1\n")
    b.write_bytes(b"b1\nb2\n")
    first_b = FileSource(str(b))
    it = iter_sources([first_b])
    take(it, 1)
    saved = first_b.position()
    it.close()
    second_b = FileSource(str(b), start=saved)
    it = iter_sources([FileSource(str(a)), second_b])
    assert take(it, 1) == ["a1"]
    assert second_b.position()["offset"] == saved["offset"]
    assert texts(it) == ["b2"]


def test_stop_ends_plain_reading(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"1\n2\n3\n")
    a, b = FileSource(str(path)), FileSource(str(path))
    got = []
    for line in iter_sources([a, b]):
        got.append(line.text)
        a.stop()
        b.stop()
    assert got == ["1"] and a.position()["offset"] == 2


# --- follow mode --------------------------------------------------------------------------------


def test_follow_picks_up_appended_lines(tmp_path):
    path = tmp_path / "a.log"
    path.write_bytes(b"1\n2\n")
    src = FileSource(str(path), follow=True)
    f = Follower(src)
    assert f.lines(2) == ["1", "2"]
    assert f.idle() == []
    append(path, b"3\n4\n")
    assert f.lines(2) == ["3", "4"]
    f.stop()
    assert src.position()["offset"] == 8


def test_follow_holds_partial_line_until_newline(tmp_path):
    path = tmp_path / "a.log"
    path.write_bytes(b"1\npart")
    src = FileSource(str(path), follow=True)
    f = Follower(src)
    assert f.lines(1) == ["1"]
    assert f.idle() == []
    assert f.idle() == []  # still held after more polls
    assert src.position()["offset"] == 2  # the partial line is not counted
    append(path, b"ial\n")
    assert f.lines(1) == ["partial"]
    f.stop()
    assert src.position()["offset"] == 10


def test_follow_waits_for_missing_path(tmp_path):
    path = tmp_path / "later.log"
    src = FileSource(str(path), follow=True)
    assert src.position()["offset"] == 0
    f = Follower(src)
    f.idle()
    path.write_bytes(b"here\n")
    assert f.lines(1) == ["here"]
    f.stop()


def test_follow_keeps_start_until_path_appears(tmp_path):
    path = tmp_path / "a.log"
    path.write_bytes(b"1\n2\n")
    first = FileSource(str(path))
    read_all(first)
    saved = first.position()
    path.rename(tmp_path / "away")
    src = FileSource(str(path), follow=True, start=saved)
    assert src.position()["offset"] == saved["offset"]  # a checkpoint now must not lose it
    (tmp_path / "away").rename(path)
    append(path, b"3\n")
    f = Follower(src)
    assert f.lines(1) == ["3"]
    f.stop()


def test_follow_truncation_restarts_at_zero(tmp_path):
    path = tmp_path / "a.log"
    path.write_bytes(b"old 1\nold 2\n")
    src = FileSource(str(path), follow=True)
    f = Follower(src)
    assert f.lines(2) == ["old 1", "old 2"]
    f.idle()
    with open(path, "r+b") as fh:  # copytruncate-style: same file, emptied
        fh.truncate(0)
    f.idle()
    f.idle()
    append(path, b"new\n")
    assert f.lines(1) == ["new"]
    f.stop()
    pos = src.position()
    assert pos["truncations"] == 1 and pos["offset"] == 4
    assert pos["head"] == hashlib.sha256(b"new\n").hexdigest()


def test_follow_rotation_reads_rest_of_old_then_new(tmp_path):
    path = tmp_path / "a.log"
    path.write_bytes(b"old 1\n")
    src = FileSource(str(path), follow=True)
    f = Follower(src)
    assert f.lines(1) == ["old 1"]
    f.idle()
    with open(path, "ab") as writer:  # the writer keeps its descriptor across the rename
        os.rename(path, tmp_path / "a.log.1")
        writer.write(b"old 2\nold tail")
        writer.flush()
        got = f.idle()  # the path is missing for a while: keep following the old file
        got += f.idle()
        path.write_bytes(b"new 1\n")
    got += f.lines(3 - len(got))
    assert got == ["old 2", "old tail", "new 1"]  # the old file's unfinished last line is flushed
    f.stop()
    pos = src.position()
    assert pos["rotations"] == 1 and pos["offset"] == 6 and pos["ino"] == os.stat(path).st_ino


def test_stop_ends_follow_within_a_poll(tmp_path):
    path = tmp_path / "a.log"
    path.write_bytes(b"x\n")
    f = Follower(FileSource(str(path), follow=True))
    f.lines(1)
    f.idle()
    assert f.stop() < 1.0


def test_idle_follow_sleeps_instead_of_spinning(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "POLL_SECONDS", 0.05)
    path = tmp_path / "a.log"
    path.write_bytes(b"")
    src = FileSource(str(path), follow=True)
    it = iter_sources([src])
    t0, nones = time.monotonic(), 0
    while time.monotonic() - t0 < 0.3:
        assert next(it) is None
        nones += 1
    it.close()
    assert nones <= 8  # one None per poll, not thousands


def test_round_robin_of_two_followed_files(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "TURN_LINES", 3)
    a, b = tmp_path / "a.log", tmp_path / "b.log"
    a.write_bytes(b"".join(b"a%d\n" % i for i in range(7)))
    b.write_bytes(b"b0\nb1\n")
    f = Follower(FileSource(str(a), follow=True), FileSource(str(b), follow=True))
    assert f.idle() == ["a0", "a1", "a2", "b0", "b1", "a3", "a4", "a5", "a6"]
    append(b, b"b2\n")
    append(a, b"a7\n")
    assert sorted(f.lines(2)) == ["a7", "b2"]
    f.stop()


# --- stdin -----------------------------------------------------------------------------------------


def test_stdin(monkeypatch):
    data = b"one\r\ntwo \xff\n\nlast"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    src = StdinSource()
    assert src.path == "-"
    assert read_all(src) == ["one", "two \ufffd", "", "last"]
    pos = src.position()
    assert pos["path"] == "-" and pos["lines"] == 4 and pos["decode_errors"] == 1
    assert pos["offset"] == len(data)
    json.dumps(pos)


def test_stdin_pipe_read_as_it_comes_and_stop_while_quiet(monkeypatch):
    # `tail -F log | stream-w2v train m -`: lines arrive when written, and a stop
    # (SIGTERM) ends the reading while the writer is quiet instead of waiting for it.
    r, w = os.pipe()
    with open(r, "rb", buffering=0) as raw:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(raw)))
        src = StdinSource()
        os.write(w, b"first\nsecond\n")
        f = Follower(src)
        assert f.lines(2) == ["first", "second"]
        time.sleep(0.05)
        started = time.monotonic()
        src.stop()
        f.thread.join(TIMEOUT)
        assert not f.thread.is_alive() and time.monotonic() - started < 1.0
        os.close(w)
    assert src.position()["offset"] == len(b"first\nsecond\n")


def test_quiet_stdin_pipe_says_so(monkeypatch):
    # A consumer can train what it holds when the pipe goes quiet (a slow log).
    monkeypatch.setattr(sources, "STDIN_QUIET_SECONDS", 0.05)
    r, w = os.pipe()
    with open(r, "rb", buffering=0) as raw:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(raw)))
        src = StdinSource()
        os.write(w, b"one\n")
        f = Follower(src)
        assert f.idle() == ["one"]
        os.write(w, b"two\n")
        assert f.idle() == ["two"]
        os.close(w)
        f.thread.join(TIMEOUT)
        assert not f.thread.is_alive()  # EOF ends it


def test_stdin_long_line_and_stop(monkeypatch):
    data = b"y" * (MAX_LINE_BYTES + 5) + b"\nnext\nmore\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    src = StdinSource()
    got = []
    for line in iter_sources([src]):
        got.append(line.text)
        if line.text == "next":
            src.stop()
    assert got == ["y" * MAX_LINE_BYTES, "yyyyy", "next"]
    assert src.position()["long_lines"] == 1
