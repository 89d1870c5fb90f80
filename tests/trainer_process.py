"""The command in a subprocess, for the end-to-end tests: one-shot runs
(``run``, ``ok``, ``info``) and a ``stream-w2v train`` running in the
background (``Trainer``).

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
TIMEOUT = 60  # no single one-shot command of the tests may take longer


def run(*args, input=None, timeout=TIMEOUT, cwd=None):
    """``stream-w2v ARGS`` to completion; stdin is ``input`` (bytes) or nothing."""
    return subprocess.run([*CMD, *map(str, args)], input=input, capture_output=True,
                          timeout=timeout, cwd=cwd, stdin=None if input is not None else subprocess.DEVNULL)


def ok(*args, **kw):
    """``run`` that must succeed (its stderr is the assertion message)."""
    res = run(*args, **kw)
    assert res.returncode == 0, res.stderr.decode()
    return res


def info(model_dir) -> dict:
    return json.loads(ok("info", model_dir, "--json").stdout)


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
