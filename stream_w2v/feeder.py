"""Feeding a model from a service: ``submit(doc)`` returns at once, one thread trains.

``StreamingWord2Vec.submit`` puts a document into a bounded queue
(``queue_size`` documents, a constructor setting, 1000 by default); a single
background thread takes them in order and trains them through the normal
path (``train``: same batching, same worker threads). So:

* memory is bounded: at most ``queue_size`` documents wait in the queue, plus
  the batch being filled (``batch_words`` tokens) and the batches handed to
  the worker threads (at most 320,000 tokens' worth, or 2 per worker:
  :func:`stream_w2v.workers.queue_depth`);
* a full queue blocks ``submit`` (back-pressure), or raises ``queue.Full``
  with ``block=False`` / after ``timeout`` seconds: memory never grows;
* documents are trained in submission order, in batches of ``batch_words``
  tokens; a batch is trained when it is full, or at ``flush()``: the
  documents ``d1..dn`` submitted and then flushed give exactly the vectors of
  ``train([d1..dn])`` (with ``workers=1``, deterministic);
* ``flush()`` waits until every document submitted before it is trained;
  ``close()`` flushes and stops the thread (the ``with`` statement calls it);
* a bad document is refused by ``submit`` itself (TypeError); an error of the
  background thread is raised by the next ``submit``, ``flush`` or
  ``close`` (once), and the thread goes on with the next documents (those of
  the batch that failed are lost);
* ``train()`` and ``save()`` may be called meanwhile from any thread:
  ``train()`` parks the feed between two of its runs (what was submitted
  before is trained first), ``save()`` waits for the batch in hand.

The thread is a daemon: documents not flushed when the interpreter exits are
lost, so close the feed (or use ``with model:``), after the threads that
submit have stopped: a ``submit`` still blocked on a full queue when
``close`` runs may land after the end and not be trained.
"""
from __future__ import annotations

import queue
import threading
from contextlib import contextmanager

_FLUSH, _PAUSE, _CLOSE = "flush", "pause", "close"


class _Marker:
    """A control item in the document queue: it ends the current training run."""

    __slots__ = ("kind", "reached", "resume")

    def __init__(self, kind: str):
        self.kind = kind
        self.reached = threading.Event()   # set by the feeder once every earlier document is trained
        self.resume = threading.Event()    # _PAUSE: the feeder waits for it


class Feeder:
    def __init__(self, model, queue_size: int):
        self._model = model
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self._error: BaseException | None = None
        self._error_lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="stream_w2v-feeder", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------ callers' side

    @property
    def maxsize(self) -> int:
        return self._queue.maxsize

    def qsize(self) -> int:
        """Documents (and control items) waiting in the queue now."""
        return self._queue.qsize()

    def is_feeder_thread(self) -> bool:
        return threading.current_thread() is self._thread

    def submit(self, doc, block: bool = True, timeout: float | None = None) -> None:
        self._raise()
        if self._closed:
            raise RuntimeError("the feed is closed")
        self._queue.put(doc, block, timeout)

    def flush(self) -> None:
        if not self._closed:
            self._send(_FLUSH).reached.wait()
        self._raise()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._send(_CLOSE)
            self._thread.join()
        self._raise()

    @contextmanager
    def paused(self):
        """Everything submitted so far is trained, then the feeder waits until the block ends."""
        if self._closed:
            yield
            return
        marker = self._send(_PAUSE)
        marker.reached.wait()
        try:
            yield
        finally:
            marker.resume.set()

    def _send(self, kind: str) -> _Marker:
        marker = _Marker(kind)
        self._queue.put(marker)   # blocks while the queue is full: the feeder is working
        return marker

    def _raise(self) -> None:
        with self._error_lock:
            error, self._error = self._error, None
        if error is not None:
            raise error

    # ------------------------------------------------------------ the thread

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if not isinstance(item, _Marker):
                item = self._train_run(item)
                if item is None:
                    continue          # the run failed; its error waits for the caller
            item.reached.set()
            if item.kind == _PAUSE:
                item.resume.wait()
            elif item.kind == _CLOSE:
                return

    def _train_run(self, first) -> _Marker | None:
        """Train documents from ``first`` on, as one ``train`` call, until a marker.

        Returns that marker, or None when training failed before reaching it.
        """
        ended: list[_Marker] = []

        def documents():
            item = first
            while not isinstance(item, _Marker):
                yield item
                item = self._queue.get()
            ended.append(item)

        try:
            self._model._train(documents())
        except BaseException as exc:  # re-raised in the caller's thread
            with self._error_lock:
                if self._error is None:
                    self._error = exc
        return ended[0] if ended else None
