"""``stream-w2v train``: read sources, train, checkpoint with the read positions.

The invariant that makes restarts exact: a checkpoint holds the model and,
for each source, the byte offset up to which every line has been trained,
and nothing after it. Lines are read into a chunk; the chunk is trained
(model.train returns only when all of it is in the matrices); only then do
the positions advance. A checkpoint is written between chunks: on a timer,
at the end of input, and on SIGINT/SIGTERM (after the chunk in hand).

Chunks are cut by content (characters), never by timing, so the same input gives
the same batches whether it comes from a file or a pipe; a followed source
that goes quiet flushes what it has after one idle poll.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import time

from stream_w2v import checkpoint
from stream_w2v.model import StreamingWord2Vec
from stream_w2v.progress import Progress
from stream_w2v.queries import UserError
from stream_w2v.sources import FileSource, StdinSource, iter_sources

CHUNK_BYTES = 1 << 20
ARCH_OPTIONS = ("sg", "hs", "negative", "vector_size", "window", "min_count", "sample", "alpha",
                "max_vocab_size", "seed", "lowercase")


def _model_for(args) -> StreamingWord2Vec:
    given = {k: getattr(args, k) for k in ARCH_OPTIONS if getattr(args, k) is not None}
    if os.path.exists(os.path.join(args.model_dir, "CURRENT")):
        try:
            model = StreamingWord2Vec.load(args.model_dir)
        except checkpoint.CheckpointError as exc:
            raise UserError(str(exc)) from None
        params = model.get_params()
        clash = [f"--{k.replace('_', '-')}" for k, v in given.items() if params.get(k) != v]
        if clash:
            raise UserError(f"{args.model_dir} holds a model trained with other settings ({', '.join(clash)}); "
                            f"use another directory or drop those options")
        if args.workers:
            model.workers = args.workers
        return model
    if os.path.isdir(args.model_dir) and os.listdir(args.model_dir):
        raise UserError(f"{args.model_dir}: exists, is not empty and holds no model")
    params = dict(sg=0, hs=0, negative=5, workers=2, seed=1)
    params.update(given)
    if args.workers:
        params["workers"] = args.workers
    if params.get("hs") and args.negative is None:
        params["negative"] = 0
    params.setdefault("alpha", 0.025 if params["sg"] else 0.05)
    try:
        return StreamingWord2Vec(**params)
    except ValueError as exc:
        raise UserError(str(exc)) from None


def _open_sources(args, saved: list[dict]):
    by_path = {s.get("path"): s for s in saved if isinstance(s, dict)}
    sources = []
    for path in args.sources:
        if path == "-":
            if args.follow or args.epochs > 1:
                raise UserError("--follow and --epochs need files, not stdin")
            sources.append(StdinSource())
            continue
        if not args.follow and not os.path.isfile(path):
            raise UserError(f"{path}: no such file")
        sources.append(FileSource(path, follow=args.follow, start=by_path.get(os.path.abspath(path))))
    if args.follow and args.epochs > 1:
        raise UserError("--epochs cannot be used with --follow")
    return sources


class _Stop:
    """SIGINT/SIGTERM: finish the chunk in hand, checkpoint, exit 0."""

    def __init__(self, sources):
        self.requested = False
        self.sources = sources
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._handle)

    def _handle(self, signum, frame):
        self.requested = True
        for s in self.sources:
            s.stop()


def _positions(sources) -> list[dict]:
    return [s.position() for s in sources]


def _checkpoint(model, args, positions, epoch, progress):
    try:
        path = model.save(args.model_dir, extra={"sources": positions, "epoch": epoch})
        progress.note(f"checkpoint {os.path.basename(path)}")
    except OSError as exc:  # disk full, permissions: keep training, keep the old checkpoint
        print(f"stream-w2v: checkpoint failed ({exc}); the previous one is kept", file=sys.stderr)


def run_train(args) -> int:
    model = _model_for(args)
    sources = _open_sources(args, model.extra.get("sources", []))
    first_epoch = min(int(model.extra.get("epoch", 0)), args.epochs - 1) if not args.follow else 0
    stop = _Stop(sources)
    progress = Progress(model, json_lines=args.log_json or not sys.stderr.isatty(),
                        every=args.log_every, quiet=args.quiet)
    # Positions up to which every line is trained: taken only when no chunk is
    # pending, so a checkpoint after an error never claims untrained lines.
    trained = _positions(sources)
    epoch = first_epoch
    last_checkpoint = time.monotonic()
    try:
        for epoch in range(first_epoch, args.epochs):
            if epoch > first_epoch:  # another pass over the same files, from their start
                sources = [FileSource(s.path) for s in sources]
                stop.sources = sources
                trained = _positions(sources)
            chunk, size = [], 0
            for line in iter_sources(sources):
                if line is not None:
                    chunk.append(line.text)
                    size += len(line.text)
                if chunk and (size >= CHUNK_BYTES or line is None or stop.requested):
                    model.train(chunk)
                    chunk, size = [], 0
                    progress.update()
                if not chunk:
                    trained = _positions(sources)
                    if time.monotonic() - last_checkpoint >= args.checkpoint_every:
                        _checkpoint(model, args, trained, epoch, progress)
                        last_checkpoint = time.monotonic()
                if stop.requested:
                    break
            if chunk:
                model.train(chunk)
                trained = _positions(sources)
            if stop.requested:
                break
            if epoch + 1 < args.epochs:  # this pass is done: a resume starts the next one
                epoch += 1
                trained = [dict(p, offset=0) for p in _positions(sources)]
    finally:
        _checkpoint(model, args, trained, epoch, progress)
        progress.close()
    return 0
