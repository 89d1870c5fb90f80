"""``stream-w2v train``: read sources, train, checkpoint with the read positions.

The invariant that makes restarts exact: a checkpoint holds the model and,
for each source, the byte offset up to which every line has been trained,
and nothing after it. Lines are read into a chunk; the chunk is trained
(model.train returns only when all of it is in the matrices); only then do
the positions advance. A checkpoint is written between chunks: on a timer,
at the end of input, and on SIGINT/SIGTERM (after the chunk in hand).

Chunks are cut by content (characters), never by timing, so the same input gives
the same batches whether it comes from a file or a pipe; a followed source
that goes quiet flushes what it has after one idle poll, and so does a stdin
pipe quiet for a second (``tail -F log | stream-w2v train m -`` trains a
slow log as it comes, not once a megabyte has piled up).

If training stops in the middle of a chunk (an error, a second signal), the
model holds part of lines that the positions do not claim: then no checkpoint
is written and the previous one stays, as after a kill -9. A timer checkpoint
that would hold exactly what the last one holds (an idle follower) is skipped.

A broker source (``--redis``, see stream_w2v.redis_source) is read the same
way; it also has ``acknowledge(position)``, called once a checkpoint holding
that position is written: entries are acknowledged only then, so a crash
re-delivers what the checkpoint does not hold.

MODEL_DIR/LOCK (flock) keeps a second trainer off a directory in training;
queries do not take it. Saved positions of files that a run does not read are
carried over, so each file keeps resuming where it was; the epoch of an
interrupted ``--epochs`` run resumes only on the same list of files.
"""
from __future__ import annotations

import os
import signal
import sys
import time

from stream_w2v import checkpoint
from stream_w2v.model import StreamingWord2Vec
from stream_w2v.progress import Progress
from stream_w2v.queries import UserError, load_model
from stream_w2v.redis_source import BrokerError
from stream_w2v.schedule import Schedule
from stream_w2v.sources import FileSource, StdinSource, iter_sources

CHUNK_BYTES = 1 << 20
ARCH_OPTIONS = ("sg", "hs", "negative", "vector_size", "window", "min_count", "sample", "alpha", "lr_schedule",
                "max_vocab_size", "seed", "lowercase", "lr_count_tau", "count_half_life", "shared_negatives",
                "shared_output_scale")
# The command-line spelling of a parameter, for messages.
OPTION_NAMES = {"sg": "--sg/--cbow", "vector_size": "--dim", "max_vocab_size": "--max-vocab"}
LOCK_NAME = "LOCK"
# What a directory may hold and still count as empty: a lock file, and what
# a kill -9 in the middle of a first checkpoint leaves (CURRENT.tmp, .tmp-*).
_NOT_A_MODEL = (LOCK_NAME, "CURRENT.tmp")


def _option(name: str) -> str:
    return OPTION_NAMES.get(name, "--" + name.replace("_", "-"))


def _lock(model_dir: str):
    """Hold MODEL_DIR/LOCK for this process: two trainers would overwrite each other's checkpoints.

    The lock (flock) goes away with the process, however it ends, so a
    ``kill -9`` leaves nothing to clean up. Returns the open file; keep it.
    """
    import fcntl
    try:
        os.makedirs(model_dir, exist_ok=True)
        f = open(os.path.join(model_dir, LOCK_NAME), "a+")
    except OSError as exc:
        raise UserError(f"{model_dir}: {exc.strerror or exc}") from None
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.seek(0)
        holder = f.read().strip() or "?"
        f.close()
        raise UserError(f"{model_dir} is being trained by another process (pid {holder}); "
                        f"stop it first (queries such as similar and info work meanwhile)") from None
    f.seek(0)
    f.truncate()
    f.write(f"{os.getpid()}\n")
    f.flush()
    return f


def _model_for(args) -> StreamingWord2Vec:
    given = {k: getattr(args, k) for k in ARCH_OPTIONS if getattr(args, k) is not None}
    checkpoint.recover_current(args.model_dir)  # a kill -9 during the first checkpoint
    if os.path.exists(os.path.join(args.model_dir, "CURRENT")):
        model, _ = load_model(args.model_dir)
        params = model.get_params()
        clash = [_option(k) for k, v in given.items() if params.get(k) != v]
        if clash:
            raise UserError(f"{args.model_dir} holds a model trained with other settings ({', '.join(clash)}); "
                            f"use another directory or drop those options")
        if args.workers:
            model.workers = args.workers
        return model
    if os.path.isdir(args.model_dir) and any(not (n in _NOT_A_MODEL or n.startswith(".tmp-"))
                                             for n in os.listdir(args.model_dir)):
        raise UserError(f"{args.model_dir}: exists, is not empty and holds no model")
    params = dict(sg=0, hs=0, negative=5, workers=2, seed=1)
    params.update(given)
    if args.workers:
        params["workers"] = args.workers
    if params.get("hs") and args.negative is None:
        params["negative"] = 0
    # Without --alpha the model picks its default for the schedule and mode
    # (stream_w2v.model.default_alpha).
    try:
        return StreamingWord2Vec(**params)
    except ValueError as exc:
        raise UserError(str(exc)) from None


def _check_sources(args) -> None:
    """Refuse what cannot work before anything is created or loaded."""
    if args.sources is None:  # no SOURCE given: stdin, unless a broker is the source
        args.sources = [] if args.redis else ["-"]
    if args.redis is None:
        given = [o for o, v in (("--stream", args.stream), ("--group", args.group), ("--consumer", args.consumer),
                                ("--field", args.field)) if v is not None]
        if given:
            raise UserError(f"{given[0]} needs --redis URL")
    else:
        if not args.stream:
            raise UserError("--redis needs --stream KEY")
        if args.epochs > 1:
            raise UserError("--epochs cannot be used with --redis")
    if "-" in args.sources and (args.follow or args.epochs > 1):
        raise UserError("--follow and --epochs need files, not stdin")
    if args.follow and args.epochs > 1:
        raise UserError("--epochs cannot be used with --follow")
    if getattr(args, "lr_schedule", None) == "linear":
        _check_linear(args)
    if args.sources.count("-") > 1:
        raise UserError("stdin (-) can be given only once")
    for path in args.sources:
        if path == "-":
            continue
        if os.path.isdir(path):
            raise UserError(f"{path}: is a directory")
        if not args.follow and not os.path.exists(path):
            raise UserError(f"{path}: no such file")
        if os.path.exists(path) and not os.access(path, os.R_OK):
            raise UserError(f"{path}: permission denied")


def _open_sources(args, saved: list[dict]):
    by_path = {s.get("path"): s for s in saved if isinstance(s, dict)}
    sources = [StdinSource() if path == "-" else
               FileSource(path, follow=args.follow, start=by_path.get(os.path.abspath(path)))
               for path in args.sources]
    if args.redis:
        sources.append(_redis_source(args, saved, by_path))
    return sources


def _redis_source(args, saved: list[dict], by_path: dict):
    """The --redis source, connected, resuming after what the checkpoint holds.

    Without --consumer, the consumer of the saved position for this stream and
    group is kept (its pending entries are re-read only under its name), else
    one named after this host and MODEL_DIR.
    """
    from stream_w2v import redis_source as rs
    group = args.group or rs.DEFAULT_GROUP
    consumer = args.consumer or next(
        (s["consumer"] for s in saved if isinstance(s, dict) and s.get("kind") == rs.KIND
         and s.get("stream") == args.stream and s.get("group") == group and s.get("consumer")),
        None) or rs.default_consumer(args.model_dir)
    try:
        return rs.RedisStreamSource(args.redis, args.stream, group, consumer, field=args.field or rs.DEFAULT_FIELD,
                                    start=by_path.get(rs.source_path(args.stream, group, consumer))).open()
    except BrokerError as exc:
        raise UserError(str(exc)) from None


def _acknowledge(sources, positions) -> None:
    """After a checkpoint: let broker sources acknowledge what it holds."""
    for source, position in zip(sources, positions):
        if hasattr(source, "acknowledge"):
            source.acknowledge(position)


def _notice(args, progress):
    """One-line notes (a broker gone and back): a JSON event or a plain line on stderr."""
    def notice(text: str) -> None:
        if args.quiet:
            return
        if progress.json_lines:
            progress.note(text)
        else:
            print(f"stream-w2v: {text}", file=sys.stderr, flush=True)
    return notice


def _carried_over(saved: list, sources) -> list[dict]:
    """The saved positions of files this run does not read: kept, so that a
    later run on them still resumes where it was."""
    paths = {s.path for s in sources}
    return [s for s in saved if isinstance(s, dict) and s.get("path") not in paths]


class _Stop:
    """SIGINT/SIGTERM: finish the chunk in hand, checkpoint, exit 0.

    A second signal quits at once (exit 128 + signal), like a kill -9 that
    still cleans up: the checkpoint is written only if no chunk was half
    trained, else the previous one stays.
    """

    def __init__(self, sources):
        self.requested = False
        self.sources = sources
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._handle)

    def _handle(self, signum, frame):
        if self.requested:
            raise SystemExit(128 + signum)
        self.requested = True
        for s in self.sources:
            s.stop()
        if os.isatty(2):  # not into JSON lines; os.write is safe in a handler
            os.write(2, b"\nstream-w2v: stopping after the chunk in hand (again to quit at once)\n")


def _positions(sources) -> list[dict]:
    return [s.position() for s in sources]


def _check_linear(args) -> None:
    if args.redis or args.follow or "-" in args.sources:
        raise UserError("--lr-schedule linear decays over the files' known size: "
                        "it needs files, not stdin, --follow or --redis")


class _LinearRate:
    """--lr-schedule linear: gensim's decay from alpha to min_alpha over every
    pass, its progress measured in bytes of the files read. Their sizes are
    the known total (word2vec.c and gensim count words in a first scan); bytes
    also come back exactly from a checkpoint's positions, so a resumed run
    continues on the same line."""

    def __init__(self, model, paths: list[str], epochs: int):
        self.epoch_bytes = max(1, sum(os.path.getsize(p) for p in paths))
        self.schedule = Schedule("linear", model.alpha, model.min_alpha, total_words=epochs * self.epoch_bytes)

    def at(self, epoch: int, positions: list[dict]) -> float:
        return self.schedule.rate(epoch * self.epoch_bytes + sum(p.get("offset") or 0 for p in positions))


def _checkpoint(model, args, positions, epoch, paths, progress) -> bool:
    try:
        path = model.save(args.model_dir, extra={"sources": positions, "epoch": epoch, "epoch_paths": paths})
        name = os.path.basename(path)
        progress.note(f"checkpoint {name}", checkpoint=name)
        return True
    except OSError as exc:  # disk full, permissions: keep training, keep the old checkpoint
        print(f"stream-w2v: checkpoint failed ({exc}); the previous one is kept", file=sys.stderr)
        return False


def run_train(args) -> int:
    if os.path.exists(args.model_dir) and not os.path.isdir(args.model_dir):
        raise UserError(f"{args.model_dir}: not a directory (a model directory was expected)")
    _check_sources(args)
    created = not os.path.exists(args.model_dir)
    lock = _lock(args.model_dir)  # noqa: F841 -- held until the process ends
    try:
        model = _model_for(args)
        saved = model.extra.get("sources", [])
        sources = _open_sources(args, saved)
    except UserError:
        if created:  # leave no empty directory behind a refused command
            os.unlink(os.path.join(args.model_dir, LOCK_NAME))
            os.rmdir(args.model_dir)
        raise
    if model.lr_schedule == "linear":
        _check_linear(args)   # a model resumed with the schedule it was created with
        linear = _LinearRate(model, [s.path for s in sources], args.epochs)
    else:
        linear = None
    kept = _carried_over(saved, sources)
    if "-" in args.sources and sys.stdin.isatty() and not args.quiet:
        print("stream-w2v: reading text from the terminal; end it with Ctrl-D", file=sys.stderr)
    # A pass interrupted by a signal or a crash is resumed, but only on the
    # same files: a finished run's last epoch number says nothing about others.
    paths = [s.path for s in sources]
    resumed_epoch = int(model.extra.get("epoch", 0)) if model.extra.get("epoch_paths") == paths else 0
    first_epoch = min(resumed_epoch, args.epochs - 1) if not args.follow else 0
    stop = _Stop(sources)
    progress = Progress(model, json_lines=args.log_json or not sys.stderr.isatty(),
                        every=args.log_every, quiet=args.quiet)
    for s in sources:
        if hasattr(s, "on_event"):
            s.on_event = _notice(args, progress)
    # Positions up to which every line is trained: taken only when no chunk is
    # pending, so a checkpoint after an error never claims untrained lines.
    trained = _positions(sources)
    epoch = first_epoch
    last_checkpoint = time.monotonic()

    last_saved = None  # what the last checkpoint holds: an idle follower does not rewrite it

    def save() -> bool:
        nonlocal last_saved
        state = (trained, epoch, model.stats["words_seen"])
        if state == last_saved:
            return True
        if _checkpoint(model, args, trained + kept, epoch, paths, progress):
            last_saved = state
            _acknowledge(sources, trained)
            return True
        return False

    ok = False
    clean = True  # no chunk is half trained: the model matches `trained`

    def train(lines):
        nonlocal clean
        clean = False
        if linear is None:
            model.train(lines, count_words=epoch == 0)   # later epochs re-read counted text
        else:  # from the rate where the chunk starts (trained) to where it ends (read)
            start, end = linear.at(epoch, trained), linear.at(epoch, _positions(sources))
            words = sum(t.count(" ") + 1 for t in lines)   # an estimate, as batches() makes
            model.train(lines, count_words=epoch == 0, total_words=words, start_alpha=start, end_alpha=end)
        clean = True

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
                    train(chunk)
                    chunk, size = [], 0
                    progress.update()
                if not chunk:
                    trained = _positions(sources)
                    if time.monotonic() - last_checkpoint >= args.checkpoint_every:
                        save()
                        last_checkpoint = time.monotonic()
                if stop.requested:
                    break
            if chunk:
                train(chunk)
                trained = _positions(sources)
                progress.update()
            if stop.requested:
                break
            if epoch + 1 < args.epochs:  # this pass is done: a resume starts the next one
                epoch += 1
                trained = [dict(p, offset=0) for p in _positions(sources)]
        ok = True
    except BrokerError as exc:  # the broker refuses something mid-run: what is trained is checkpointed
        raise UserError(str(exc)) from None
    finally:
        if clean:
            saved_ok = save()
        else:  # the model holds part of a chunk that `trained` does not claim
            saved_ok = False
            print("stream-w2v: stopped in the middle of a chunk: not checkpointed, "
                  "the last checkpoint is kept", file=sys.stderr)
        progress.close()
    if ok and not saved_ok:
        raise UserError(f"{args.model_dir}: the final checkpoint could not be written (see above)")
    return 0
