"""Single-thread kernel throughput per ISA, next to the NumPy oracle's.

    python bench/kernel_speed.py [--words 200000] [--vocab 30000]
    python bench/kernel_speed.py --shared [--words 2000000 --vocab 80000 --sample 1e-3]

One C call trains a whole batch (Zipf-distributed word ids, sentences of
1000 words, dim 100, window 5, negative 5, no subsampling). An *update* is
one logistic term: one dot product and two axpys of an (input, output row)
pair. The oracle replays the same equations in float64 Python on a slice of
the batch; its rate shows what the C path saves, and that the C path does
not fall back to Python per word.

``--shared`` instead compares skip-gram NS per pair with ``shared_negatives``
(one minibatch per center, noise drawn once per center) on the same batch,
under "sgd" (alpha 0.025) and "adagrad_row" (the model's skip-gram defaults:
eta 0.1, accumulators 1e-8), with the current ISA: ``--reps`` alternating
runs of each, every run on fresh copies of the same matrices. ``--sample``
subsamples with word2vec.c's keep probability of the batch's own counts.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from stream_w2v import _native, oracle
from stream_w2v.sampling import keep_probabilities

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


def measure_shared(vocab: int = 80000, words: int = 2_000_000, reps: int = 3,
                   lr_modes=("sgd", "adagrad_row"), sample: float = 0.0) -> list[dict]:
    """SG-NS per pair against shared negatives, alternating, ``reps`` runs each (module docstring)."""
    ids, ends, syn0, syn1neg, alias = _problem(vocab, words)
    keep = keep_probabilities(np.bincount(ids, minlength=vocab), words, sample)
    noise = _native.NoiseTable(alias)
    rows = []
    for lr_mode in lr_modes:
        kw = dict(sg=1, hs=0, negative=5, window=5, rng=1, lr_mode=lr_mode,
                  alpha=0.025 if lr_mode == "sgd" else 0.1)
        for rep in range(reps):
            for shared in (False, True):
                accs = {} if lr_mode == "sgd" else {
                    "syn0_acc": np.full(vocab, 1e-8, np.float32),
                    "syn1neg_acc": np.full(vocab, 1e-8, np.float32)}
                model = _native.KernelModel(syn0.copy(), None, syn1neg.copy(), noise=noise,
                                            keep_prob=keep, **accs)
                start = time.perf_counter()
                res = model.train(ids, ends, shared_negatives=shared, **kw)
                row = _row("SG-NS", _native.get_isa(), len(ids), res.terms,
                           time.perf_counter() - start)
                rows.append(dict(row, lr_mode=lr_mode, shared=shared, rep=rep,
                                 words_kept=res.words_kept, examples=res.examples))
    return rows


def _print_shared(rows) -> None:
    print(f"{'lr_mode':12} {'shared':6} {'rep':>3} {'words/s':>12} {'updates/s':>12} {'seconds':>8}")
    for r in rows:
        print(f"{r['lr_mode']:12} {str(r['shared']):6} {r['rep']:3d} {r['words_per_sec']:12,.0f} "
              f"{r['updates_per_sec']:12,.0f} {r['seconds']:8.2f}")
    for lr_mode in dict.fromkeys(r["lr_mode"] for r in rows):
        med = {sh: float(np.median([r["words_per_sec"] for r in rows
                                    if r["lr_mode"] == lr_mode and r["shared"] == sh]))
               for sh in (False, True)}
        print(f"{lr_mode}: median words/s per pair {med[False]:,.0f}, shared {med[True]:,.0f} "
              f"(x{med[True] / med[False]:.2f})")


def _row(mode, isa, words, terms, seconds) -> dict:
    return dict(mode=mode, isa=isa, words=words, updates=terms, seconds=seconds,
                words_per_sec=words / seconds, updates_per_sec=terms / seconds)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=200000)
    parser.add_argument("--vocab", type=int, default=30000)
    parser.add_argument("--oracle-words", type=int, default=2000)
    parser.add_argument("--shared", action="store_true",
                        help="compare SG-NS per pair with shared_negatives (module docstring)")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--sample", type=float, default=0.0)
    args = parser.parse_args(argv)
    if args.shared:
        print(f"isa {_native.get_isa()}, {args.words:,} words, vocab {args.vocab:,}, sample {args.sample}")
        _print_shared(measure_shared(args.vocab, args.words, args.reps, sample=args.sample))
        return
    rows = measure(args.vocab, args.words, args.oracle_words)
    print(f"{'mode':8} {'isa':7} {'words/s':>12} {'updates/s':>12} {'x oracle':>9}")
    for row in rows:
        base = next(r for r in rows if r["mode"] == row["mode"] and r["isa"] == "oracle")
        print(f"{row['mode']:8} {row['isa']:7} {row['words_per_sec']:12,.0f} "
              f"{row['updates_per_sec']:12,.0f} {row['updates_per_sec'] / base['updates_per_sec']:9.0f}")


if __name__ == "__main__":
    main()
