"""Line sources for ``stream-w2v train``: files (optionally followed like ``tail -F``) and stdin.

The position invariant
----------------------
``FileSource.position()["offset"]`` is the byte offset just after the last line
that has been *yielded*, and never a byte further: bytes read ahead (the rest of
the read buffer, a partial last line held back in follow mode) are not counted.
So a caller that saves ``position()`` only once every yielded line has been used
can later create ``FileSource(path, start=saved)`` and get exactly the next line:
nothing repeated, nothing skipped.

A saved position is trusted only for the same file. It records the file's
device and inode ("dev", "ino") and the sha256 of its first bytes ("head", over
"head_len" <= HEAD_BYTES bytes); on resume, if the file at the path is another
inode, has another head, or is shorter than the offset (rotated, truncated or
replaced meanwhile), reading starts at 0 and "restarts" is counted. (The inode
alone is not enough: a truncated or rewritten file keeps it, and a new file
may reuse a deleted one's. The head alone is not enough either: a rotated log
may start with the same banner as the old one.) A file rotated while nothing
followed it is therefore read from the start of the new file; lines appended
to the old one after the saved position are not read, as with ``tail -F``.

Lines are the bytes up to b"\\n"; the newline and one trailing b"\\r" are removed
and the rest is decoded as UTF-8 with errors="replace". Memory is bounded: at
most READ_BYTES are read at once, and a line longer than MAX_LINE_BYTES is
yielded in pieces of at most that size (each piece advances the offset like a
line), so no line is ever held whole.

Counters, reported in every position(), count since this object was created:
"lines" (yielded, pieces included), "long_lines" (lines that had to be cut),
"decode_errors" (lines with invalid UTF-8) and, for files, "restarts" (a saved
position was discarded), "truncations" and "rotations" (follow mode).
"""
from __future__ import annotations

import hashlib
import os
import select
import sys
import time
from typing import Iterable, Iterator

READ_BYTES = 64 * 1024     # the most read from a file or stdin at once
MAX_LINE_BYTES = 1 << 20   # longer lines are yielded in pieces of at most this size
HEAD_BYTES = 4096          # how much of a file's start identifies it
POLL_SECONDS = 0.2         # follow mode: how long to sleep when no source has anything
TURN_LINES = 1000          # follow mode: most lines taken from one source before the next one's turn
STDIN_QUIET_SECONDS = 1.0  # a pipe quiet this long yields None (see StdinSource)

_EMPTY_HEAD = hashlib.sha256(b"").hexdigest()


class Line:
    """One line of input, without its line ending."""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return f"Line({self.text!r})"


class _LineReader:
    """Cuts a byte stream into Lines with bounded memory; the part both sources share."""

    follow = False

    def __init__(self):
        self._buf = bytearray()     # read but not yet yielded; always starts at self._offset
        self._offset = 0            # bytes consumed by the lines yielded so far
        self._in_long_line = False  # the last piece yielded was cut from a longer line
        self._stopped = False
        self.counters = {"lines": 0, "long_lines": 0, "decode_errors": 0}

    def stop(self) -> None:
        """Make iteration end promptly. Only sets a flag, so it is safe in a signal handler."""
        self._stopped = True

    def _next_line(self, at_eof: bool) -> Line | None:
        """Take the next line (or piece of a long one) out of the buffer.

        Returns None if more input is needed. at_eof: no more input will come, so
        a last line without newline is complete.
        """
        buf = self._buf
        if not buf:
            return None
        # Look one byte further than a maximal line plus "\r": a line that fits
        # ends within that window, anything beyond it must be cut.
        nl = buf.find(b"\n", 0, MAX_LINE_BYTES + 2)
        if nl >= 0 or at_eof:
            end = nl if nl >= 0 else len(buf)
            raw = buf[:end]
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            if len(raw) <= MAX_LINE_BYTES:
                self._in_long_line = False
                return self._emit(raw, end + 1 if nl >= 0 else end)
        elif len(buf) <= MAX_LINE_BYTES + 1:
            return None  # the line may still end in time: read more
        # Too long to hold whole: yield a piece. Cut before a UTF-8 continuation
        # byte if one is near, so the pieces of valid text stay valid.
        cut = MAX_LINE_BYTES
        while cut > MAX_LINE_BYTES - 3 and buf[cut] & 0xC0 == 0x80:
            cut -= 1
        if not self._in_long_line:
            self.counters["long_lines"] += 1
            self._in_long_line = True
        return self._emit(buf[:cut], cut)

    def _emit(self, raw: bytearray, used: int) -> Line:
        # Offset and counters move before the line is handed out, so that
        # position() taken after receiving a line already includes it.
        del self._buf[:used]
        self._offset += used
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("utf-8", "replace")
            self.counters["decode_errors"] += 1
        self.counters["lines"] += 1
        return Line(text)


class FileSource(_LineReader):
    """Lines of a file, from its start or a saved position; with follow=True, like ``tail -F``.

    Without follow the file must exist (FileNotFoundError when its reading
    starts; until then position() is the start given). With
    follow a missing path is waited for; at EOF a partial last line is held
    until its newline arrives; truncation restarts at 0; when the path names a
    new file (rotation) the old one is read to its end, then the new one from 0.
    """

    def __init__(self, path: str, follow: bool = False, start: dict | None = None):
        super().__init__()
        self.path = os.path.abspath(path)
        self.follow = follow
        self.counters.update(restarts=0, truncations=0, rotations=0)
        self._start = start  # applies to the first file opened at the path only
        self._fd: int | None = None
        self._dev = self._ino = None
        self._head, self._head_len = _EMPTY_HEAD, 0
        # A followed file is opened now (if it exists), so position() describes
        # it right away. Plain files are read one after another and opened when
        # their turn comes, so a thousand files do not hold a thousand descriptors.
        if follow:
            self._open()

    def position(self) -> dict:
        if self._fd is None and self._dev is None and isinstance(self._start, dict):
            # Not opened yet (or the followed path does not exist): keep the resume
            # point we were given, so a checkpoint taken meanwhile does not lose it.
            pos = dict(self._start)
        else:
            pos = {"offset": self._offset, "dev": self._dev, "ino": self._ino,
                   "head": self._head, "head_len": self._head_len}
        pos["path"] = self.path
        pos.update(self.counters)
        return pos

    def close(self) -> None:
        """Stop reading and close the file now; position() stays valid."""
        self.stop()
        self._close_fd()

    def _close_fd(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _open(self) -> bool:
        """Open the path from its start or the saved position. False if it does not exist (follow)."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            if self.follow:
                return False
            raise
        self._fd = fd
        st = os.fstat(fd)
        self._dev, self._ino = st.st_dev, st.st_ino
        self._read_from(self._resume_offset(st))
        return True

    def _read_from(self, offset: int) -> None:
        """Go on reading at offset, with nothing buffered and the head taken afresh."""
        os.lseek(self._fd, offset, os.SEEK_SET)
        self._buf.clear()
        self._offset = offset
        self._in_long_line = False
        self._head, self._head_len = _EMPTY_HEAD, 0
        self._refresh_head()

    def _resume_offset(self, st: os.stat_result) -> int:
        start, self._start = self._start, None
        if start is None:
            return 0
        offset = None
        try:
            offset, head_len = int(start["offset"]), int(start["head_len"])
            same_inode = start.get("dev") is None or (start["dev"], start["ino"]) == (st.st_dev, st.st_ino)
            if same_inode and 0 <= offset <= st.st_size and 0 <= head_len <= HEAD_BYTES:
                head = os.pread(self._fd, head_len, 0)
                if len(head) == head_len and hashlib.sha256(head).hexdigest() == start["head"]:
                    return offset
        except (KeyError, TypeError, ValueError):
            pass  # not a position this module wrote: treat it as another file's
        if offset != 0:
            # A resume point past 0 is dropped: lines may be read twice or missed.
            self.counters["restarts"] += 1
        return 0

    def _refresh_head(self) -> None:
        # The head must cover min(HEAD_BYTES, offset) bytes, or a resume could
        # accept a different file. A file smaller than HEAD_BYTES when opened
        # therefore gets its head extended as it grows (only until HEAD_BYTES).
        if self._head_len < HEAD_BYTES:
            head = os.pread(self._fd, HEAD_BYTES, 0)
            if len(head) > self._head_len:
                self._head, self._head_len = hashlib.sha256(head).hexdigest(), len(head)

    def _path_change(self) -> str:
        """At EOF in follow mode: "truncated", "rotated" or "idle"."""
        st = os.fstat(self._fd)
        if st.st_size < self._offset + len(self._buf):
            return "truncated"
        try:
            now = os.stat(self.path)
        except OSError:
            # Moved away and not yet replaced: keep reading the old file, the
            # writer may still append to it until it reopens the path.
            return "idle"
        return "rotated" if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino) else "idle"

    def _lines(self) -> Iterator[Line | None]:
        """Yield Lines, or None when a followed file has nothing new right now."""
        finishing = not self.follow  # read this descriptor to its end, then flush the last partial line
        try:
            while not self._stopped:
                if self._fd is None and not self._open():
                    yield None  # followed path does not exist (yet)
                    continue
                line = self._next_line(at_eof=False)
                if line is None:
                    data = os.read(self._fd, READ_BYTES)
                    if data:
                        self._buf += data
                        self._refresh_head()
                        continue
                    if finishing:
                        line = self._next_line(at_eof=True)
                        if line is None:  # everything of this descriptor has been yielded
                            if not self.follow:
                                return
                            # Rotated: go on with the file now at the path, from its start.
                            self._close_fd()
                            self._dev = self._ino = None
                            self._offset, self._head, self._head_len = 0, _EMPTY_HEAD, 0
                            self.counters["rotations"] += 1
                            finishing = False
                            continue
                    else:
                        change = self._path_change()
                        if change == "truncated":
                            self.counters["truncations"] += 1
                            self._read_from(0)
                        elif change == "rotated":
                            # Read again before switching: the writer may have
                            # appended between our last read and the stat.
                            finishing = True
                        else:
                            yield None
                        continue
                yield line
        finally:
            self.close()  # finished or stopped: iterating again yields nothing


class StdinSource(_LineReader):
    """Lines of ``sys.stdin.buffer`` (as it is when created), read once to EOF.

    When stdin has a file descriptor (a pipe, a terminal, a redirected file) it
    is read with ``os.read`` after a ``select`` of at most POLL_SECONDS, so
    that stop() ends the reading promptly even while the writer of the pipe is
    quiet (``tail -F log | stream-w2v train m -`` then ``kill -TERM``): a
    blocking read would be resumed after the signal handler and wait for the
    next line. A pipe that stays quiet for STDIN_QUIET_SECONDS yields None
    (once per such period), as an idle followed file does, so that a consumer
    can train what it holds instead of waiting for more: a slow log piped in is
    trained as it comes. (A writer that pauses that long therefore changes
    where a consumer cuts its chunks; ``cat file |`` never does.)
    """

    path = "-"

    def __init__(self):
        super().__init__()
        self._stream = sys.stdin.buffer
        try:
            self._fd = self._stream.fileno()
        except (OSError, ValueError, AttributeError):  # an in-memory stream
            self._fd = None

    def position(self) -> dict:
        # A pipe cannot be resumed: the offset (bytes consumed by the lines
        # yielded) only reports progress.
        return {"path": self.path, "offset": self._offset, **self.counters}

    def _read(self):
        """The next bytes (b"" at EOF), _QUIET after STDIN_QUIET_SECONDS without any, None once stopped."""
        if self._fd is not None:
            quiet_since = time.monotonic()
            while not self._stopped:
                try:
                    ready, _, _ = select.select([self._fd], [], [], POLL_SECONDS)
                except (OSError, ValueError):  # not selectable: read blocking
                    break
                if ready:
                    return os.read(self._fd, READ_BYTES)
                if time.monotonic() - quiet_since >= STDIN_QUIET_SECONDS:
                    return _QUIET
            else:
                return None
            return os.read(self._fd, READ_BYTES)
        # read1 returns what is available (up to READ_BYTES) instead of waiting
        # for a full buffer, so lines from a slow pipe are not delayed.
        return getattr(self._stream, "read1", self._stream.read)(READ_BYTES)

    def _lines(self) -> Iterator[Line | None]:
        at_eof = False
        while not self._stopped:
            line = self._next_line(at_eof)
            if line is not None:
                yield line
            elif at_eof:
                return
            else:
                data = self._read()
                if data is None:
                    return
                if data is _QUIET:
                    yield None
                elif data:
                    self._buf += data
                else:
                    at_eof = True


_QUIET = object()
_END = object()


def iter_sources(sources: Iterable[FileSource | StdinSource]) -> Iterator[Line | None]:
    """Lines of all sources; None means "every source is idle right now".

    None comes in follow mode, and from a stdin pipe that has gone quiet.
    Without follow the sources are read one after another. With a followed
    source they take turns (at most TURN_LINES lines each, so one busy file
    cannot starve the others); a round in which none had a line yields None,
    then sleeps POLL_SECONDS. Ends when every source is done: non-follow ones at
    EOF, any source once stop() was called on it.
    """
    sources = list(sources)
    if not any(s.follow for s in sources):
        for source in sources:
            yield from source._lines()
        return
    readers = [s._lines() for s in sources]
    try:
        while readers:
            got_line = False
            for reader in list(readers):
                for _ in range(TURN_LINES):
                    line = next(reader, _END)
                    if line is _END:
                        readers.remove(reader)
                        break
                    if line is None:
                        break
                    got_line = True
                    yield line
            if readers and not got_line:
                yield None
                time.sleep(POLL_SECONDS)
    finally:
        for reader in readers:
            reader.close()  # closes its file now, not whenever it is collected
