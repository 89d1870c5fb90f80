"""The read-only commands: similar, analogy, export, evaluate, info.

They read the last checkpoint of a model directory, so they work while a
``stream-w2v train`` on the same directory is running.
"""
from __future__ import annotations

import datetime
import json
import os
import sys

from stream_w2v import checkpoint
from stream_w2v.keyedvectors import KeyedVectors


class UserError(Exception):
    """An error the user can fix: printed as one line, exit status 2."""


def load_model(model_dir: str, attempts: int = 5):
    """The model of the current checkpoint of ``model_dir``, and that checkpoint's name.

    A ``train`` running on the directory may replace the checkpoint while it
    is being read (and delete it two checkpoints later): then the new current
    one is read. Anything else that fails is a UserError, with a hint when an
    older checkpoint is there to go back to.
    """
    from stream_w2v.model import StreamingWord2Vec
    from stream_w2v.state import load_model as load_checkpoint
    if os.path.exists(model_dir) and not os.path.isdir(model_dir):
        raise UserError(f"{model_dir}: not a directory (a model directory was expected)")
    for attempt in range(attempts):
        name = None
        try:
            name = checkpoint.current_name(model_dir)
            return load_checkpoint(StreamingWord2Vec, model_dir, name), name
        except checkpoint.CheckpointError as exc:
            error = exc
        try:
            replaced = name is not None and checkpoint.current_name(model_dir) != name
        except checkpoint.CheckpointError:
            replaced = False
        if not replaced:
            break
    if name is None and not os.path.exists(os.path.join(model_dir, "CURRENT")) and _in_training(model_dir):
        raise UserError(f"{model_dir}: a train is running here but has not written its first checkpoint yet "
                        f"(it does every --checkpoint-every seconds, 60 by default)")
    raise UserError(str(error) + _recovery_hint(model_dir, name)) from None


def _in_training(model_dir: str) -> bool:
    """Whether a ``train`` holds MODEL_DIR/LOCK right now."""
    import fcntl
    try:
        with open(os.path.join(model_dir, "LOCK"), "rb") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(f, fcntl.LOCK_UN)
    except OSError:
        pass
    return False


def _recovery_hint(model_dir: str, damaged: str | None) -> str:
    """How to go back to an older checkpoint, if there is one (the damaged one, or CURRENT, is not)."""
    names = checkpoint.list_checkpoints(model_dir)
    if damaged is not None:
        names = names[:names.index(damaged)] if damaged in names else []
    if not names:
        return ""
    current = os.path.join(model_dir, "CURRENT")
    what = "the previous checkpoint is kept" if damaged is not None else f"{names[-1]} is there"
    return f"; {what}: to go back to it, run: echo {names[-1]} > {current}"


def load_vectors(model_dir: str) -> tuple[KeyedVectors, object]:
    model, _ = load_model(model_dir)
    if len(model.wv) == 0:
        raise UserError(f"{model_dir}: the model has no words yet (none has reached min_count)")
    return model.wv, model


def _unknown(word: str, wv) -> UserError:
    hint = ""
    if word.lower() != word and word.lower() in wv:
        hint = f"; did you mean {word.lower()!r}?"
    return UserError(f"{word!r} is not in the vocabulary ({len(wv):,} words){hint}")


def _print(obj, as_json: bool, text: str) -> None:
    print(json.dumps(obj, ensure_ascii=False) if as_json else text)


def similar(args) -> int:
    wv, _ = load_vectors(args.model_dir)
    result = {}
    for word in args.words:
        if word not in wv:
            raise _unknown(word, wv)
        result[word] = wv.most_similar(word, topn=args.n)
    if args.json:
        print(json.dumps({w: [[k, round(float(s), 6)] for k, s in r] for w, r in result.items()}, ensure_ascii=False))
    else:
        for word, pairs in result.items():
            print(f"{word}: " + ", ".join(f"{k} ({s:.3f})" for k, s in pairs))
    return 0


def analogy(args) -> int:
    wv, _ = load_vectors(args.model_dir)
    for word in (args.a, args.b, args.c):
        if word not in wv:
            raise _unknown(word, wv)
    pairs = wv.most_similar(positive=[args.b, args.c], negative=[args.a], topn=args.n)
    _print([[k, round(float(s), 6)] for k, s in pairs], args.json,
           f"{args.a} : {args.b} :: {args.c} : " + ", ".join(f"{k} ({s:.3f})" for k, s in pairs))
    return 0


def export(args) -> int:
    wv, model = load_vectors(args.model_dir)
    if args.vectors == "average":
        if not model.negative:
            raise UserError(f"{args.model_dir}: --vectors average needs a model trained with negative sampling "
                            "(hierarchical softmax has no output vector per word)")
        wv = model.averaged_wv()
    try:
        wv.save_word2vec_format(args.out, binary=args.format == "binary")
    except OSError as exc:
        raise UserError(f"{args.out}: {exc.strerror or exc}") from None
    print(f"wrote {len(wv)} {args.vectors} vectors of {wv.vector_size} dimensions to {args.out} ({args.format})",
          file=sys.stderr)
    return 0


def evaluate(args) -> int:
    if not args.analogies and not args.pairs:
        raise UserError("give --analogies FILE and/or --pairs FILE (word2vec's questions-words, WordSim-353 formats)")
    wv, _ = load_vectors(args.model_dir)
    out = {}
    if args.analogies:
        with _reading(args.analogies):
            score, _sections = wv.evaluate_word_analogies(args.analogies, restrict_vocab=args.restrict_vocab)
        out["analogy_accuracy"] = score
    if args.pairs:
        with _reading(args.pairs):
            (pearson, _), (spearman, _), oov = wv.evaluate_word_pairs(args.pairs, restrict_vocab=args.restrict_vocab)
        out.update(pairs_pearson=pearson, pairs_spearman=spearman, pairs_oov_percent=oov)
    # NaN (e.g. a correlation over constant scores) is not JSON: null instead.
    out = {k: None if v is None or v != v else float(v) for k, v in out.items()}
    _print(out, args.json, "\n".join(f"{k}: " + ("-" if v is None else f"{v:.4f}") for k, v in out.items()))
    return 0


class _reading:
    """Turns what a bad evaluation file raises into a one-line UserError naming it."""

    def __init__(self, path: str):
        self.path = path

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if isinstance(exc, OSError):
            raise UserError(f"{self.path}: {exc.strerror or exc}") from None
        if isinstance(exc, UnicodeDecodeError):
            raise UserError(f"{self.path}: not UTF-8 text (byte {exc.start})") from None
        if isinstance(exc, ValueError):  # another format, or no usable line
            raise UserError(f"{self.path}: {exc}") from None
        return False


def iso_utc(timestamp: float | None) -> str | None:
    """A Unix time as ISO-8601 UTC with milliseconds, e.g. 2025-01-31T12:00:00.000Z."""
    if timestamp is None:
        return None
    when = datetime.datetime.fromtimestamp(float(timestamp), datetime.timezone.utc)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def info(args) -> int:
    from stream_w2v._native import kernel_info
    model, name = load_model(args.model_dir)
    stats = model.stats
    obj = {
        "model_dir": args.model_dir,
        "words_seen": stats["words_seen"],
        "words_trained": stats["words_trained"],
        "words_skipped": stats["words_skipped"],
        "vocab_size": stats["vocab_size"],
        "candidates": stats["candidates"],
        "loss": stats["loss"],
        "alpha": stats["alpha"],
        "sources": model.extra.get("sources", []),
        "checkpoint": name,
        "checkpoint_time": iso_utc(model.checkpoint_time),
        "params": model.get_params(),
        "kernel": kernel_info()["isa"],
    }
    if args.json:
        print(json.dumps(obj, ensure_ascii=False))
        return 0
    for key, value in obj.items():
        if key == "sources":
            print(f"sources: {len(value)}")
            for src in value:
                print("  " + _describe_source(src))
        elif key == "params":
            print("params: " + " ".join(f"{k}={v}" for k, v in value.items()))
        elif key == "loss" and value is None:
            print("loss: - (nothing trained yet)")
        elif isinstance(value, int) and not isinstance(value, bool):
            print(f"{key}: {value:,}")
        elif isinstance(value, float):
            print(f"{key}: {value:.6g}")
        else:
            print(f"{key}: {value}")
    return 0


def _describe_source(src) -> str:
    if not isinstance(src, dict):
        return repr(src)
    text = f"{src.get('path')}: offset {src.get('offset', src.get('bytes', 0)):,} bytes"
    counts = [f"{k} {src[k]:,}" for k in ("lines", "long_lines", "decode_errors", "restarts", "truncations", "rotations")
              if isinstance(src.get(k), int) and (src[k] or k == "lines")]
    return text + (f" ({', '.join(counts)} in the last run)" if counts else "")
