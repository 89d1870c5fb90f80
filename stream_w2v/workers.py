"""Worker threads that run kernel calls while the caller prepares the next batch.

The C kernels release the GIL, so N threads train N batches at once on the
shared matrices (Hogwild, as word2vec.c does). The queue is bounded, so a
fast producer blocks instead of piling batches up in memory. An exception in
a worker is re-raised in the producer at its next submit or drain.
"""
from __future__ import annotations

import queue
import threading
from typing import Callable


class WorkerPool:
    def __init__(self, workers: int, run: Callable[[object], None]):
        self._run = run
        self._queue: queue.Queue = queue.Queue(maxsize=2 * workers)
        self._error: BaseException | None = None
        self._threads = [threading.Thread(target=self._loop, name=f"stream_w2v-worker-{i}", daemon=True)
                         for i in range(workers)]
        for t in self._threads:
            t.start()

    def _loop(self):
        while True:
            job = self._queue.get()
            try:
                if job is None:
                    return
                if self._error is None:
                    self._run(job)
            except BaseException as exc:  # re-raised in the producer
                self._error = exc
            finally:
                self._queue.task_done()

    def _raise(self):
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def submit(self, job) -> None:
        self._raise()
        self._queue.put(job)

    def wait(self) -> None:
        """Wait until every submitted job has run; an error stays for the producer."""
        self._queue.join()

    def drain(self) -> None:
        """Wait until every submitted job has run; re-raise a worker's error."""
        self._queue.join()
        self._raise()

    def close(self) -> None:
        for _ in self._threads:
            self._queue.put(None)
        for t in self._threads:
            t.join()
        self._raise()
