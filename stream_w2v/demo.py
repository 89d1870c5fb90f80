"""``stream-w2v demo``: a bundled text played as a live feed, trained as it grows.

A writer thread appends the King James Version (public domain; see
stream_w2v/data/README.md for its provenance) to ``MODEL_DIR/feed.txt`` at a
steady rate, so the whole text arrives in ``--seconds``. The trainer follows
that file exactly as ``stream-w2v train --follow`` does, and every few seconds
prints the nearest neighbours of a few probe words: they start as noise and
settle as the text flows. At the end the model is checkpointed with its read
position, ready for ``similar``, ``analogy``, ``info`` and ``export``.
"""
from __future__ import annotations

import gzip
import os
import signal
import sys
import threading
import time
from importlib import resources

from stream_w2v.model import StreamingWord2Vec
from stream_w2v.queries import UserError
from stream_w2v.sources import FileSource, iter_sources
from stream_w2v.train_command import _lock

PROBES = ("god", "king", "egypt", "gold", "water", "son")
SHOW_EVERY = 5.0
CHUNK_LINES = 500


def demo_text() -> list[str]:
    with resources.files("stream_w2v.data").joinpath("kjv.txt.gz").open("rb") as raw:
        return gzip.decompress(raw.read()).decode("utf-8").splitlines()


def _play(lines: list[str], path: str, seconds: float, done: threading.Event) -> None:
    """Append ``lines`` to ``path`` in slices, evenly over ``seconds``."""
    slices = max(1, int(seconds * 10))
    step = -(-len(lines) // slices)
    start = time.monotonic()
    with open(path, "a", encoding="utf-8") as feed:
        for i in range(0, len(lines), step):
            feed.write("\n".join(lines[i:i + step]) + "\n")
            feed.flush()
            delay = start + (i // step + 1) * seconds / slices - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    done.set()


def _show(model: StreamingWord2Vec, out) -> None:
    s = model.stats
    print(f"\n{s['words_seen']:,} words read, {s['vocab_size']:,} in the vocabulary, "
          f"{s['words_per_sec']:,.0f} words/s", file=out)
    wv = model.wv
    for word in PROBES:
        if word in wv:
            near = ", ".join(w for w, _ in wv.most_similar(word, topn=6))
            print(f"  {word:>6}: {near}", file=out)
        else:
            print(f"  {word:>6}: (not yet seen {model.min_count} times)", file=out)
    out.flush()


def run_demo(args, out=sys.stdout) -> int:
    model_dir = os.path.abspath(args.model_dir)
    if os.path.exists(model_dir) and not os.path.isdir(model_dir):
        raise UserError(f"{args.model_dir}: not a directory; pass another --model-dir")
    if os.path.exists(model_dir) and os.listdir(model_dir):
        raise UserError(f"{model_dir} exists and is not empty; remove it or pass --model-dir")
    lock = _lock(model_dir)  # noqa: F841 -- no `train` on this directory while the demo writes it
    feed = os.path.join(model_dir, "feed.txt")
    open(feed, "w").close()
    lines = demo_text()
    print(f"Playing {len(lines):,} verses of the King James Bible into {feed} over "
          f"{args.seconds:g} s; training skip-gram on it as it grows.", file=out, flush=True)
    model = StreamingWord2Vec(sg=1, vector_size=100, window=5, min_count=5, negative=5,
                              workers=2, seed=1)
    done = threading.Event()
    writer = threading.Thread(target=_play, args=(lines, feed, args.seconds, done), daemon=True)
    source = FileSource(feed, follow=True)
    writer.start()
    interrupted = threading.Event()

    def on_signal(signum, frame):  # Ctrl-C, kill: finish the chunk in hand and keep what was trained
        interrupted.set()
        source.stop()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        _train_following(model, source, done, out, model_dir)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if interrupted.is_set():
        print("\nInterrupted: saving what has been trained so far.", file=out, flush=True)
    model.save(model_dir, extra={"sources": [source.position()]})
    _show(model, out)
    print(f"\nModel saved in {model_dir}. Try:\n"
          f"  stream-w2v similar {args.model_dir} moses\n"
          f"  stream-w2v analogy {args.model_dir} man king woman\n"
          f"  stream-w2v info {args.model_dir}\n"
          f"  stream-w2v export {args.model_dir} vectors.txt", file=out, flush=True)
    return 130 if interrupted.is_set() else 0


def _train_following(model, source, done: threading.Event, out, model_dir: str) -> None:
    """Train on the followed feed until the writer is done and the file is drained.

    Every SHOW_EVERY seconds the probes are shown and the model is
    checkpointed, so ``similar`` and ``info`` work from another terminal
    while the demo runs.
    """
    chunk, last_show = [], time.monotonic()
    for line in iter_sources([source]):
        if line is not None:
            chunk.append(line.text)
        if chunk and (len(chunk) >= CHUNK_LINES or line is None):
            model.train(chunk)
            chunk = []
        if not chunk and time.monotonic() - last_show >= SHOW_EVERY:
            _show(model, out)
            model.save(model_dir, extra={"sources": [source.position()]})
            last_show = time.monotonic()
        if line is None and done.is_set():
            source.stop()  # idle after the writer finished: everything is read
    if chunk:
        model.train(chunk)
