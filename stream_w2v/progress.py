"""Progress on stderr: a live bar on a terminal, JSON lines otherwise."""
from __future__ import annotations

import json
import sys
import time


class Progress:
    def __init__(self, model, json_lines: bool, every: float = 10.0, quiet: bool = False):
        self.model, self.json_lines, self.every, self.quiet = model, json_lines, every, quiet
        self._last = 0.0
        self._bar = None
        if not quiet and not json_lines:
            from tqdm import tqdm
            self._bar = tqdm(unit=" words", unit_scale=True, file=sys.stderr, dynamic_ncols=True)

    def update(self):
        if self.quiet:
            return
        stats = self.model.stats
        if self._bar is not None:
            self._bar.update(stats["words_seen"] - self._bar.n)
            loss = stats["loss"]
            self._bar.set_postfix(vocab=stats["vocab_size"], alpha=f"{stats['alpha']:.5f}",
                                  loss="-" if loss is None else f"{loss:.4f}", refresh=False)
            return
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            print(json.dumps({"time": round(time.time(), 3), **stats}), file=sys.stderr, flush=True)

    def note(self, text: str):
        if self.quiet:
            return
        if self._bar is not None:
            self._bar.set_description(text, refresh=True)
        elif self.json_lines:
            print(json.dumps({"time": round(time.time(), 3), "event": text}), file=sys.stderr, flush=True)

    def close(self):
        if self._bar is not None:
            self._bar.close()
        elif not self.quiet and self.json_lines:
            self._last = 0.0
            self.update()
