"""The read-only commands: similar, analogy, export, evaluate, info.

They read the last checkpoint of a model directory, so they work while a
``stream-w2v train`` on the same directory is running.
"""
from __future__ import annotations

import json
import sys

from stream_w2v import checkpoint
from stream_w2v.keyedvectors import KeyedVectors


class UserError(Exception):
    """An error the user can fix: printed as one line, exit status 2."""


def load_vectors(model_dir: str) -> tuple[KeyedVectors, dict]:
    from stream_w2v.model import StreamingWord2Vec
    try:
        model = StreamingWord2Vec.load(model_dir)
    except checkpoint.CheckpointError as exc:
        raise UserError(str(exc)) from None
    if len(model.wv) == 0:
        raise UserError(f"{model_dir}: the model has no words yet (none has reached min_count)")
    return model.wv, model


def _print(obj, as_json: bool, text: str) -> None:
    print(json.dumps(obj, ensure_ascii=False) if as_json else text)


def similar(args) -> int:
    wv, _ = load_vectors(args.model_dir)
    result = {}
    for word in args.words:
        if word not in wv:
            raise UserError(f"{word!r} is not in the vocabulary ({len(wv)} words)")
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
            raise UserError(f"{word!r} is not in the vocabulary ({len(wv)} words)")
    pairs = wv.most_similar(positive=[args.b, args.c], negative=[args.a], topn=args.n)
    _print([[k, round(float(s), 6)] for k, s in pairs], args.json,
           f"{args.a} : {args.b} :: {args.c} : " + ", ".join(f"{k} ({s:.3f})" for k, s in pairs))
    return 0


def export(args) -> int:
    wv, _ = load_vectors(args.model_dir)
    wv.save_word2vec_format(args.out, binary=args.format == "binary")
    print(f"wrote {len(wv)} vectors of {wv.vector_size} dimensions to {args.out} ({args.format})", file=sys.stderr)
    return 0


def evaluate(args) -> int:
    if not args.analogies and not args.pairs:
        raise UserError("give --analogies FILE and/or --pairs FILE (word2vec's questions-words, WordSim-353 formats)")
    wv, _ = load_vectors(args.model_dir)
    out = {}
    try:
        if args.analogies:
            score, _sections = wv.evaluate_word_analogies(args.analogies, restrict_vocab=args.restrict_vocab)
            out["analogy_accuracy"] = score
        if args.pairs:
            (pearson, _), (spearman, _), oov = wv.evaluate_word_pairs(args.pairs, restrict_vocab=args.restrict_vocab)
            out.update(pairs_pearson=pearson, pairs_spearman=spearman, pairs_oov_percent=oov)
    except OSError as exc:
        raise UserError(f"{exc.filename}: {exc.strerror}") from None
    _print(out, args.json, "\n".join(f"{k}: {v:.4f}" for k, v in out.items()))
    return 0


def info(args) -> int:
    from stream_w2v._native import kernel_info
    _, model = load_vectors_or_empty(args.model_dir)
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
        "checkpoint": model.extra.get("checkpoint_name"),
        "checkpoint_time": model.checkpoint_time,
        "params": model.get_params(),
        "kernel": kernel_info()["isa"],
    }
    if args.json:
        print(json.dumps(obj, ensure_ascii=False))
    else:
        for key, value in obj.items():
            print(f"{key}: {value}")
    return 0


def load_vectors_or_empty(model_dir: str):
    from stream_w2v.model import StreamingWord2Vec
    try:
        model = StreamingWord2Vec.load(model_dir)
    except checkpoint.CheckpointError as exc:
        raise UserError(str(exc)) from None
    return model.wv, model
