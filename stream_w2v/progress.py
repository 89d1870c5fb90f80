"""Progress on stderr: a live bar on a terminal, JSON lines otherwise.

The bar (tqdm) shows the words read, words/s, and as postfix the vocabulary
size, the learning rate, the mean loss and the last checkpoint. JSON lines
(``--log-json``, or whenever stderr is not a terminal) come at most one per
``every`` seconds, plus one per checkpoint ({"event": "checkpoint ckpt-..."})
and a last one with the final counts; every line is one JSON object with a
"time" (Unix seconds).
"""
from __future__ import annotations

import json
import sys
import time


class Progress:
    def __init__(self, model, json_lines: bool, every: float = 10.0, quiet: bool = False):
        self.model, self.json_lines, self.every, self.quiet = model, json_lines, every, quiet
        self._last = 0.0
        self._bar = None
        self._checkpoint = None
        if not quiet and not json_lines:
            from tqdm import tqdm
            self._bar = tqdm(unit=" words", unit_scale=True, file=sys.stderr, dynamic_ncols=True,
                             mininterval=0.5)

    def update(self, force: bool = False):
        if self.quiet:
            return
        stats = self.model.stats
        if self._bar is not None:
            loss = stats["loss"]
            postfix = dict(vocab=stats["vocab_size"], alpha=f"{stats['alpha']:.5f}",
                           loss="-" if loss is None else f"{loss:.4f}")
            if self._checkpoint:
                postfix["saved"] = self._checkpoint
            self._bar.set_postfix(postfix, refresh=False)
            self._bar.update(stats["words_seen"] - self._bar.n)
            if force:
                self._bar.refresh()
            return
        now = time.monotonic()
        if force or now - self._last >= self.every:
            self._last = now
            print(json.dumps({"time": round(time.time(), 3), **stats}), file=sys.stderr, flush=True)

    def note(self, text: str, checkpoint: str | None = None):
        if self.quiet:
            return
        if self._bar is not None:
            if checkpoint:
                self._checkpoint = checkpoint
                self.update(force=True)
        elif self.json_lines:
            print(json.dumps({"time": round(time.time(), 3), "event": text}), file=sys.stderr, flush=True)

    def close(self):
        if self.quiet:
            return
        self.update(force=True)
        if self._bar is not None:
            self._bar.close()
