"""What of a StreamingWord2Vec is saved, and how it comes back.

Everything that influences future training is saved, so that with
``workers=1`` save -> load -> continue gives exactly the vectors of an
uninterrupted run: the matrices, the vocabulary with its candidates, the
Huffman tree and noise table as they were last built (not rebuilt from the
current counts, which have drifted since), and the counters that seed each
batch's random state and drive the learning rate.

Values split mechanically: NumPy arrays go to .npy files, everything else to
the JSON manifest (see :mod:`stream_w2v.checkpoint`).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from stream_w2v import _native, checkpoint
from stream_w2v.huffman import HuffmanTree
from stream_w2v.recent_counts import RecentCounts
from stream_w2v.vocab import Vocabulary


def _split(prefix: str, values: dict, arrays: dict) -> dict:
    """Move the array values of ``values`` into ``arrays`` (prefixed); return the rest."""
    rest = {}
    for key, value in values.items():
        if isinstance(value, np.ndarray):
            arrays[f"{prefix}_{key}".lower()] = value
        else:
            rest[key] = value
    return rest


def _join(prefix: str, rest: dict, arrays: dict) -> dict:
    out = dict(rest)
    for name, value in arrays.items():
        if name.startswith(prefix + "_"):
            out[name[len(prefix) + 1:]] = value
    return out


def save_model(model, directory: str, extra: dict | None = None) -> str:
    """Safe while another thread trains: waits for the batch being prepared and the
    batches queued to the workers, and holds the next one back until written."""
    model._start()
    with model._batch_lock:
        if model._pool is not None:
            model._pool.wait()   # a worker's error is the training thread's to raise
        model._merge_syn1(force=True)
        return _save_locked(model, directory, extra)


ACCUMULATORS = ("acc0", "acc1", "acc1neg")


def _save_locked(model, directory: str, extra: dict | None) -> str:
    arrays = {"syn0": model._syn0.view, "keep": model._keep.view.reshape(-1)}
    if model._syn1neg is not None:
        arrays["syn1neg"] = model._syn1neg.view
    if model._syn1 is not None:
        arrays["syn1"] = model._syn1.view
    if model._noise is not None:
        arrays["noise"] = model._noise.table
    for name in ACCUMULATORS:  # AdaGrad state: part of the schedule, so resumes stay exact
        acc = getattr(model, "_" + name)
        if acc is not None:
            arrays[name] = acc.view
    tree = None
    if model._tree is not None:
        tree = _split("tree", {f.name: getattr(model._tree, f.name) for f in dataclasses.fields(model._tree)}, arrays)
    meta = {
        "params": model.get_params(),
        "counters": dict(model.counters),
        "loss_sum": model._loss_sum,
        "tables": {"table_words": model._table_words, "table_total": model._table_total,
                   "tree_words": model._tree_words},
        "vocab": _split("vocab", model.vocab.state(), arrays),
        "recent": None if model._decayed is None else _split("recent", model._decayed.state(), arrays),
        "tree": tree,
        "kernel": _native.kernel_info()["isa"],
        "extra": extra or {},
    }
    return checkpoint.save(directory, arrays, meta)


def load_model(cls, directory: str, name: str | None = None):
    arrays, meta = checkpoint.load(directory, name)
    try:
        return _restore(cls, arrays, meta)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise checkpoint.CheckpointError(
            f"{directory}: checkpoint {meta.get('checkpoint')} is inconsistent ({exc})") from None


def count(value, what: str) -> int:
    """A count from a manifest: a plain non-negative int (a manifest is not trusted)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{what} is {value!r}, not a count")
    return value


def _check_meta(meta: dict) -> None:
    """The scalar values that training will compute with: types and ranges."""
    import math
    for key in ("params", "counters", "tables", "vocab"):
        if not isinstance(meta.get(key), dict):
            raise ValueError(f"{key} is not a mapping")
    for key, value in meta["counters"].items():
        count(value, f"counters.{key}")
    for key in ("table_words", "table_total", "tree_words"):
        count(meta["tables"][key], f"tables.{key}")
    loss = meta["loss_sum"]
    if isinstance(loss, bool) or not isinstance(loss, (int, float)) or not math.isfinite(loss):
        raise ValueError(f"loss_sum is {loss!r}")
    if not isinstance(meta.get("extra", {}), dict):
        raise ValueError("extra is not a mapping")
    if meta.get("tree") is not None and not isinstance(meta["tree"], dict):
        raise ValueError("tree is not a mapping")


def _restore(cls, arrays: dict, meta: dict):
    _check_meta(meta)
    # A model saved before shared negatives existed was trained per pair: it
    # goes on so (its alpha was chosen for that), not with today's default;
    # one saved before shared_output_scale existed goes on with one rate.
    model = cls(**{"shared_negatives": False, "shared_output_scale": 1.0, **meta["params"]})
    model._start()
    model.vocab = Vocabulary.from_state(_join("vocab", meta["vocab"], arrays))
    rows = len(model.vocab.index_to_key)
    if arrays["syn0"].shape != (rows, model.vector_size):
        raise ValueError(f"syn0 has shape {arrays['syn0'].shape}, the vocabulary {rows} words")
    if model.count_half_life is not None:
        if not isinstance(meta.get("recent"), dict):
            raise ValueError("count_half_life is set but the recent counts are missing")
        model._decayed = RecentCounts.from_state(_join("recent", meta["recent"], arrays), model.count_half_life, rows)
    model._syn0.grow(rows, arrays["syn0"])
    if model._syn1neg is not None:
        model._syn1neg.grow(rows, arrays["syn1neg"])
    model._keep.grow(rows, arrays["keep"][:, None])
    if model._syn1 is not None:
        model._syn1.replace(arrays["syn1"])
    for name in ACCUMULATORS:
        acc = getattr(model, "_" + name)
        if acc is not None:
            acc.replace(np.asarray(arrays[name], dtype=np.float32).reshape(-1, acc.dim))
    if meta.get("tree") is not None:
        model._tree = HuffmanTree(**_join("tree", meta["tree"], arrays))
        model._huffman = _native.HuffmanTables(model._tree.points, model._tree.codes, model._tree.code_lens)
    if "noise" in arrays:
        model._noise = _native.NoiseTable(arrays["noise"])
    tables = meta["tables"]
    model._table_words, model._table_total = tables["table_words"], tables["table_total"]
    model._tree_words = tables["tree_words"]
    # Training trusts these counts to decide whether the tree and the noise
    # table are current: a count without its table is damage, not a state.
    if model.hs and model._tree_words and model._tree is None:
        raise ValueError(f"tree_words is {model._tree_words} but there is no Huffman tree")
    if model.negative and model._table_words and model._noise is None:
        raise ValueError(f"table_words is {model._table_words} but there is no noise table")
    model.counters.update(meta["counters"])
    model._loss_sum = float(meta["loss_sum"])
    model.extra = meta.get("extra", {})
    model.checkpoint_time = meta.get("checkpoint_time")
    model._reset_counts()   # lr_schedule="count": derived from the vocabulary and the tree
    if rows:
        model._publish()
    return model
