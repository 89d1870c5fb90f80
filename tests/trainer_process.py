"""A ``stream-w2v train`` running in the background, for the end-to-end tests.

Shared by the CLI, Redis and reliability tests: each starts trainers, signals
or kills them and reads their stderr; the ``trainers`` fixture makes sure a
failed test leaves none running.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

CMD = [sys.executable, "-m", "stream_w2v"]
WAIT = 20  # seconds: a trainer that has not stopped by then is a failure, not a hang


class Trainer:
    """A ``stream-w2v train`` in the background, its stderr kept in a file."""

    def __init__(self, tmp_path, *args):
        self.log = tmp_path / f"train-{time.monotonic_ns()}.err"
        self._err = open(self.log, "wb")
        self.proc = subprocess.Popen([*CMD, "train", *map(str, args)], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=self._err)

    def signal(self, sig) -> int:
        self.proc.send_signal(sig)
        return self.wait()

    def wait(self, timeout=WAIT) -> int:
        try:
            return self.proc.wait(timeout)
        finally:
            self._err.close()

    def stderr(self) -> str:
        return self.log.read_text()

    def events(self) -> list[dict]:
        """The JSON lines of --log-json."""
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.startswith("{")]

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self._err.close()


@pytest.fixture
def trainers():
    started = []
    yield lambda *args: started.append(Trainer(*args)) or started[-1]
    for t in started:  # a failed test must not leave trainers running
        t.kill()
