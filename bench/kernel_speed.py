"""Single-thread kernel throughput per ISA, next to the NumPy oracle's.

    python bench/kernel_speed.py [--words 200000] [--vocab 30000]

One C call trains a whole batch (Zipf-distributed word ids, sentences of
1000 words, dim 100, window 5, negative 5, no subsampling). An *update* is
one logistic term: one dot product and two axpys of an (input, output row)
pair. The oracle replays the same equations in float64 Python on a slice of
the batch; its rate shows what the C path saves, and that the C path does
not fall back to Python per word.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from stream_w2v import _native, oracle

MODES = {"SG-NS": 1, "CBOW-NS": 0}


def _problem(vocab: int, words: int, dim: int = 100, seed: int = 0):
    rs = np.random.default_rng(seed)
    counts = 1e7 / np.arange(1, vocab + 1)
    ids = rs.choice(vocab, size=words, p=counts / counts.sum()).astype(np.int32)
    ends = np.arange(1000, words + 1, 1000, dtype=np.int64)
    if len(ends) == 0 or ends[-1] != words:
        ends = np.append(ends, words)
    syn0 = ((rs.random((vocab, dim)) - 0.5) / dim).astype(np.float32)
    return ids, ends, syn0, np.zeros((vocab, dim), np.float32), _native.build_alias(counts ** 0.75)


def measure(vocab: int = 30000, words: int = 200000, oracle_words: int = 2000) -> list[dict]:
    ids, ends, syn0, syn1neg, alias = _problem(vocab, words)
    noise = _native.NoiseTable(alias)
    kw = dict(hs=0, negative=5, window=5, alpha=0.025, rng=1)
    rows, before = [], _native.get_isa()
    try:
        for name, sg in MODES.items():
            for isa in _native.available_isas():
                _native.set_isa(isa)
                model = _native.KernelModel(syn0.copy(), None, syn1neg.copy(), noise=noise)
                start = time.perf_counter()
                res = model.train(ids, ends, sg=sg, **kw)
                rows.append(_row(name, isa, len(ids), res.terms, time.perf_counter() - start))
            o_ids, o_ends = ids[:oracle_words], np.array([oracle_words], np.int64)
            start = time.perf_counter()
            res = oracle.train_batch_oracle(syn0, None, syn1neg, o_ids, o_ends, sg=sg,
                                            neg_alias=alias, **kw)
            rows.append(_row(name, "oracle", oracle_words, res.terms, time.perf_counter() - start))
    finally:
        _native.set_isa(before)
    return rows


def _row(mode, isa, words, terms, seconds) -> dict:
    return dict(mode=mode, isa=isa, words=words, updates=terms, seconds=seconds,
                words_per_sec=words / seconds, updates_per_sec=terms / seconds)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=200000)
    parser.add_argument("--vocab", type=int, default=30000)
    parser.add_argument("--oracle-words", type=int, default=2000)
    args = parser.parse_args(argv)
    rows = measure(args.vocab, args.words, args.oracle_words)
    print(f"{'mode':8} {'isa':7} {'words/s':>12} {'updates/s':>12} {'x oracle':>9}")
    for row in rows:
        base = next(r for r in rows if r["mode"] == row["mode"] and r["isa"] == "oracle")
        print(f"{row['mode']:8} {row['isa']:7} {row['words_per_sec']:12,.0f} "
              f"{row['updates_per_sec']:12,.0f} {row['updates_per_sec'] / base['updates_per_sec']:9.0f}")


if __name__ == "__main__":
    main()
