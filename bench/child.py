"""One training, in its own process: ``python -m bench.child SPEC_JSON``.

The parent (bench/run.py) starts this once per (trainer, mode, threads,
passes), times the whole process and reads its peak RSS from ``wait4``, so
every figure belongs to one trainer alone: imports, reading the corpus,
training and writing the vectors are all inside it.

SPEC: {"trainer", "mode", "threads", "passes", "corpus", "tokens",
"vectors" (output, word2vec binary), "report" (output JSON), "gensim_input", "settings" (optional: keyword
arguments that override the benchmark's for this trainer variant, e.g.
{"lr_schedule": "adagrad", "alpha": 0.1} for ``stream_w2v-adagrad``, or
{"export": "average"} to write (input + output) / 2 vectors; the
"trainer" is then the base trainer, stream_w2v or gensim)}.
The report holds the times seen from inside (import, train, save), the
vocabulary size and the peak RSS; the parent adds wall and CPU time.
"""
from __future__ import annotations

import json
import sys
import time

# (sg, hs, negative, alpha): the benchmark's settings (DESIGN.md section 6).
MODES = {
    "SG-NS": (1, 0, 5, 0.025),
    "SG-HS": (1, 1, 0, 0.025),
    "CBOW-NS": (0, 0, 5, 0.05),
    "CBOW-HS": (0, 1, 0, 0.05),
}
COMMON = dict(vector_size=100, window=5, min_count=5, sample=1e-3, min_alpha=0.0001, seed=1)


def params(mode: str, threads: int, settings: dict | None = None) -> dict:
    sg, hs, negative, alpha = MODES[mode]
    out = dict(COMMON, sg=sg, hs=hs, negative=negative, alpha=alpha, workers=threads)
    out.update(settings or {})
    return out


def stream_params(mode: str, threads: int, settings: dict | None = None) -> dict:
    """:func:`params` for StreamingWord2Vec. The benchmark's alpha is SGD's
    learning rate; under AdaGrad (the default schedule) alpha is a base step,
    so unless ``settings`` give one it is left to the library's default."""
    kw = params(mode, threads, settings)
    if kw.get("lr_schedule", "adagrad").startswith("adagrad") and "alpha" not in (settings or {}):
        del kw["alpha"]
    return kw


class Lines:
    """The corpus file as a re-iterable of lines: each pass reopens it (what a
    streaming trainer sees: no list of the corpus in memory)."""

    def __init__(self, path: str):
        self.path = path

    def __iter__(self):
        with open(self.path, encoding="utf-8") as f:
            yield from f


def train_stream_w2v(spec: dict) -> dict:
    t0 = time.perf_counter()
    from stream_w2v.model import StreamingWord2Vec
    from stream_w2v import kernel_info
    t1 = time.perf_counter()
    settings = dict(spec.get("settings") or {})
    export = settings.pop("export", "input")  # "average": (input + output) / 2, as yskip writes
    kw = stream_params(spec["mode"], spec["threads"], settings)
    model = StreamingWord2Vec(**kw)
    if spec["passes"] == 1:
        model.train(Lines(spec["corpus"]))  # one streaming pass: no vocabulary scan, stream schedule
    else:
        model.train(Lines(spec["corpus"]), epochs=spec["passes"], total_words=spec["tokens"])
    t2 = time.perf_counter()
    wv = model.averaged_wv() if export == "average" else model.wv
    wv.save_word2vec_format(spec["vectors"], binary=True)
    t3 = time.perf_counter()
    stats = model.stats
    return dict(import_s=t1 - t0, train_s=t2 - t1, save_s=t3 - t2, vocab_size=len(model.wv),
                words_seen=stats["words_seen"], loss=stats["loss"], isa=kernel_info().get("isa"), seed=model.seed)


def train_gensim(spec: dict) -> dict:
    t0 = time.perf_counter()
    import logging
    logging.disable(logging.WARNING)  # "EPOCH - 1 : supplied example count..." on tiny corpora
    from gensim.models import Word2Vec
    from gensim.models.word2vec import LineSentence
    t1 = time.perf_counter()
    kw = dict(params(spec["mode"], spec["threads"], spec.get("settings")), epochs=spec["passes"])
    if spec.get("gensim_input") == "corpus_file":
        model = Word2Vec(corpus_file=spec["corpus"], **kw)
    else:
        model = Word2Vec(sentences=LineSentence(spec["corpus"]), **kw)
    t2 = time.perf_counter()
    model.wv.save_word2vec_format(spec["vectors"], binary=True)
    t3 = time.perf_counter()
    return dict(import_s=t1 - t0, train_s=t2 - t1, save_s=t3 - t2, vocab_size=len(model.wv),
                words_seen=model.corpus_total_words, loss=None, isa=None, seed=model.seed)


TRAINERS = {"stream_w2v": train_stream_w2v, "gensim": train_gensim}


def peak_rss_mb() -> float | None:
    """This process's peak resident set (VmHWM), read just before it exits.

    Not the parent's wait4 ru_maxrss: on Linux a child's ru_maxrss starts from
    the RSS of the process that forked it (the runner, which holds evaluated
    vectors), so every trainer after the first would show the runner's size.
    VmHWM belongs to the address space created by exec: this trainer's alone.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def main() -> None:
    spec = json.loads(sys.argv[1])
    report = TRAINERS[spec["trainer"]](spec)
    report["vmhwm_mb"] = peak_rss_mb()
    with open(spec["report"], "w") as f:
        json.dump(report, f)


if __name__ == "__main__":
    main()
