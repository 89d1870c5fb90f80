"""Quality of a vectors file, measured the same way for every trainer.

Every trainer's vectors are read back from the file it wrote and scored by
one evaluator, so a difference in scores is a difference in the vectors,
never in the evaluation code. The files are word2vec binary in descending
count order (both trainers write them so), which makes
``restrict_vocab=30000`` mean "the 30,000 most frequent words".

Two evaluators, same API (gensim's ``KeyedVectors`` names):
- ``stream_w2v`` (default): stream_w2v.keyedvectors answers the analogy
  questions in batched matrix products: ~3 s per model here instead of ~45 s;
  tests/test_keyedvectors.py checks it against gensim on the same vectors, and
  on the benchmark's own files it gave gensim's numbers to the last digit;
- ``gensim``: the reference implementation, for a cross-check.

- analogy: 3CosAdd accuracy on questions-words.txt, top 30k words;
- ws353 / simlex: Spearman correlation on wordsim353.tsv / simlex999.txt,
  with the share of pairs out of vocabulary (those pairs are skipped).
"""
from __future__ import annotations

import logging
import math
import warnings

ANALOGY_VOCAB = 30000


def _datapath(name: str) -> str:
    from gensim.test.utils import datapath
    return datapath(name)


EVALUATORS = ("stream_w2v", "gensim")


def evaluate_file(path: str, evaluator: str = "stream_w2v") -> dict:
    if evaluator == "gensim":
        from gensim.models import KeyedVectors
    elif evaluator == "stream_w2v":
        from stream_w2v.keyedvectors import KeyedVectors
    else:
        raise ValueError(f"evaluator must be one of {EVALUATORS}, not {evaluator!r}")
    return evaluate_kv(KeyedVectors.load_word2vec_format(path, binary=True))


def evaluate_kv(kv) -> dict:
    """{analogy, ws353, simlex, *_oov}; NaN where nothing could be scored."""
    out = {}
    logging.disable(logging.WARNING)  # gensim logs every section's accuracy and OOV pairs
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # constant input -> scipy's ConstantInputWarning
            score, sections = kv.evaluate_word_analogies(_datapath("questions-words.txt"),
                                                         restrict_vocab=ANALOGY_VOCAB)
            total = sections[-1]
            out["analogy"] = float(score)
            out["analogy_answered"] = len(total["correct"]) + len(total["incorrect"])
            for key, name in (("ws353", "wordsim353.tsv"), ("simlex", "simlex999.txt")):
                try:
                    _pearson, spearman, oov = kv.evaluate_word_pairs(_datapath(name))
                    out[key], out[key + "_oov"] = float(spearman[0]), float(oov)
                except (ValueError, ZeroDivisionError):  # no pair in vocabulary
                    out[key], out[key + "_oov"] = math.nan, 100.0
    finally:
        logging.disable(logging.NOTSET)
    return out


def evaluate_model_wv(wv, tmpdir: str, evaluator: str = "stream_w2v") -> dict:
    """Evaluate a live StreamingWord2Vec's vectors: export them (count order) and
    read them back, exactly what happens to a finished run's vectors."""
    import os
    path = os.path.join(tmpdir, "snapshot.bin")
    wv.save_word2vec_format(path, binary=True)
    return evaluate_file(path, evaluator)
