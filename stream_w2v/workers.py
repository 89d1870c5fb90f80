"""Worker threads that run kernel calls while the caller prepares the next batch.

The C kernels release the GIL, so N threads train N batches at once on the
shared matrices (Hogwild, as word2vec.c does). The queue is bounded, so a
fast producer never piles batches up in memory: it blocks, or with
``caller_runs`` it trains the oldest queued batch itself. The trainer uses
the latter with N - 1 threads for N workers, so N threads are busy at once,
not N workers plus a reader sharing N cores: with the reader as a third
thread on 2 cores, the workers were preempted mid-call (their C calls took
~20% more wall than CPU time) and came back to caches the reader had used.
An exception in a worker is re-raised in the producer at its next submit or
drain (see :func:`queue_depth` for its size). Jobs are
numbered in submission order, so the producer can ask whether every job
before a given one has run (:meth:`WorkerPool.finished_before`) without
waiting for the ones after it.
"""
from __future__ import annotations

import queue
import threading
from typing import Callable


# Batches queued for the workers: enough words to keep them busy through the
# producer's longest pauses (a Huffman tree rebuild: up to ~0.2 s at 86k words,
# while a pair of workers trains a 10k-word CBOW-HS batch every ~7 ms), and
# never fewer than two per worker. Measured, CBOW-HS at 2 workers, one pass:
# idle CPU 3.6-3.9% with 4 batches queued, 2.0-3.1% with 32.
QUEUE_WORDS = 320_000


def queue_depth(workers: int, batch_words: int) -> int:
    """Batches the pool holds at most: QUEUE_WORDS of them, at least 2 per worker."""
    return max(2 * workers, QUEUE_WORDS // max(batch_words, 1))


class WorkerPool:
    def __init__(self, workers: int, run: Callable[[object], None], depth: int | None = None,
                 caller_runs: bool = False):
        """``workers`` threads (at least 1); with ``caller_runs`` a submit to a
        full queue runs the oldest queued job in the caller instead of blocking,
        and drain and close run what is queued in the caller too."""
        if workers < 1:
            raise ValueError(f"a pool needs at least one worker thread, got {workers}")
        self._run = run
        self._caller_runs = caller_runs
        self._queue: queue.Queue = queue.Queue(maxsize=2 * workers if depth is None else depth)
        self._error: BaseException | None = None
        self._lock = threading.Lock()
        self.submitted = 0                 # jobs numbered 0, 1, ... in submission order
        self._low = 0                      # every job numbered below this has run
        self._finished: set[int] = set()   # jobs at or above _low that have run
        self._threads = [threading.Thread(target=self._loop, name=f"stream_w2v-worker-{i}", daemon=True)
                         for i in range(workers)]
        for t in self._threads:
            t.start()

    def _loop(self):
        while self._take(self._queue.get()):
            pass

    def _take(self, item) -> bool:
        """Run one queued item (in a worker or, with caller_runs, the caller);
        False for the stop sentinel."""
        try:
            if item is None:
                return False
            seq, job = item
            try:
                if self._error is None:
                    self._run(job)
            finally:
                self._mark(seq)
        except BaseException as exc:  # re-raised in the producer
            self._error = exc
        finally:
            self._queue.task_done()
        return True

    def _mark(self, seq: int) -> None:
        with self._lock:
            self._finished.add(seq)
            while self._low in self._finished:
                self._finished.remove(self._low)
                self._low += 1

    def finished_before(self, seq: int) -> bool:
        """Have all jobs numbered below ``seq`` run (failed ones included)?"""
        return self._low >= seq

    def _raise(self):
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def submit(self, job) -> int:
        """Queue ``job``; returns its number."""
        self._raise()
        seq = self.submitted
        self.submitted += 1
        while self._caller_runs:
            try:
                self._queue.put_nowait((seq, job))
                return seq
            except queue.Full:
                pass
            try:
                self._take(self._queue.get_nowait())   # the oldest first: the order stays FIFO
            except queue.Empty:
                pass                                  # a worker took it: try the put again
            self._raise()
        self._queue.put((seq, job))
        return seq

    def wait(self) -> None:
        """Wait until every submitted job has run; an error stays for the producer."""
        self._queue.join()

    def _help(self) -> None:
        """With caller_runs, the caller trains queued jobs too instead of idling
        while the workers empty the queue."""
        while self._caller_runs:
            try:
                self._take(self._queue.get_nowait())
            except queue.Empty:
                return

    def drain(self) -> None:
        """Wait until every submitted job has run; re-raise a worker's error."""
        self._help()
        self._queue.join()
        self._raise()

    def close(self) -> None:
        self._help()
        for _ in self._threads:
            self._queue.put(None)
        for t in self._threads:
            t.join()
        self._raise()
