"""The ``stream-w2v`` command line.

Every error a user can cause (a missing file, a directory that is not a
model, a damaged checkpoint, a bad option, an unknown word) ends with one
line on stderr, starting "stream-w2v: ", and exit status 2; a traceback means
a bug. Option errors too are one line (argparse would print its usage first):
"stream-w2v: train: argument --dim: ... (see stream-w2v train --help)".
"""
from __future__ import annotations

import argparse
import sys

from stream_w2v import queries
from stream_w2v.queries import UserError


class _Parser(argparse.ArgumentParser):
    """argparse with its errors on one line, like every other error of the command."""

    def error(self, message):
        where = self.prog.split(" ", 1)[1] + ": " if " " in self.prog else ""
        self.exit(2, f"stream-w2v: {where}{message} (see {self.prog} --help)\n")


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


def _nonneg_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0: {text!r}")
    return value


def _train_parser(sub):
    p = sub.add_parser("train", help="train (or continue) a model on files, stdin or a Redis stream",
                       description="Train MODEL_DIR on SOURCEs (files, or - for stdin, the default) "
                                   "and/or a Redis stream (--redis). If MODEL_DIR holds a model, training continues it.")
    p.add_argument("model_dir")
    p.add_argument("sources", nargs="*", default=None, metavar="SOURCE")
    arch = p.add_mutually_exclusive_group()
    arch.add_argument("--sg", dest="sg", action="store_const", const=1, help="skip-gram")
    arch.add_argument("--cbow", dest="sg", action="store_const", const=0, help="CBOW (the default)")
    p.add_argument("--hs", action="store_const", const=1, help="hierarchical softmax")
    p.add_argument("--negative", type=int, metavar="N", help="noise words per example (default 5; 0 with --hs)")
    p.add_argument("--dim", "--size", dest="vector_size", type=_positive_int, metavar="N", help="vector size (100)")
    p.add_argument("--window", type=_positive_int, metavar="N", help="max half-window (5)")
    p.add_argument("--min-count", type=_positive_int, metavar="N", help="count for a word to be trained (5)")
    p.add_argument("--sample", type=_nonneg_float, metavar="F", help="subsampling threshold (1e-3)")
    p.add_argument("--alpha", type=_nonneg_float, metavar="F",
                   help="AdaGrad's base step (0.2; 0.1 skip-gram with --no-shared-negatives); with --lr-schedule inverse or count "
                        "the initial rate (0.025 skip-gram, 0.05 CBOW); with linear the initial rate "
                        "(0.07; 0.025 skip-gram with --no-shared-negatives)")
    p.add_argument("--lr-schedule", choices=("inverse", "adagrad", "adagrad_coord", "count", "linear"),
                   help="learning rate without a corpus total: AdaGrad per row (default) or per coordinate, "
                        "inverse decay, or count (each word's rate alpha / (1 + its count / 10000)); "
                        "or linear: gensim's SGD decay from alpha to 0.0001 over all the --epochs passes "
                        "(files only; progress in bytes read)")
    p.add_argument("--lr-count-tau", type=_nonneg_float, metavar="N",
                   help="with --lr-schedule count: the count at which a word's rate has halved (10000)")
    p.add_argument("--count-half-life", type=_nonneg_float, metavar="WORDS",
                   help="negatives and subsampling follow counts decayed with this half-life in words of stream, "
                        "for text whose word frequencies drift (default: lifetime counts, as word2vec.c)")
    p.add_argument("--shared-negatives", action=argparse.BooleanOptionalAction, default=None,
                   help="skip-gram NS: one set of noise words per window, trained as one minibatch "
                        "(on by default: 1.4-1.5x the words/s of one example per pair)")
    p.add_argument("--shared-output-scale", type=_nonneg_float, metavar="F",
                   help="with shared negatives under SGD: the output rows' rate over the input rows' "
                        "(0.5 with --lr-schedule linear, 1 otherwise)")
    p.add_argument("--workers", "--threads", dest="workers", type=_positive_int, metavar="N", help="training threads (2)")
    p.add_argument("--max-vocab", dest="max_vocab_size", type=_positive_int, metavar="N",
                   help="bound on candidate words being counted")
    p.add_argument("--seed", type=int, metavar="N", help="random seed (1)")
    p.add_argument("--epochs", "--iter", dest="epochs", type=_positive_int, default=1, metavar="N",
                   help="read the files N times (not with stdin or --follow)")
    p.add_argument("--lowercase", action="store_const", const=True, help="lowercase the text")
    p.add_argument("--follow", "-F", action="store_true", help="keep reading files as they grow, like tail -F")
    p.add_argument("--checkpoint-every", type=_nonneg_float, default=60.0, metavar="SECONDS",
                   help="checkpoint interval (60); also on end of input, SIGINT and SIGTERM")
    p.add_argument("--log-json", action="store_true", help="progress as one JSON line per --log-every on stderr")
    p.add_argument("--log-every", type=_nonneg_float, default=10.0, metavar="SECONDS")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    broker = p.add_argument_group("Redis Streams", "read a stream in a consumer group; entries are acknowledged "
                                                   "only once a checkpoint holds them")
    broker.add_argument("--redis", metavar="URL", help="redis://[:password@]host:port/db (also rediss://, unix://)")
    broker.add_argument("--stream", metavar="KEY", help="the stream to read")
    broker.add_argument("--group", metavar="G", help="consumer group (stream-w2v); created at the stream's start")
    broker.add_argument("--consumer", metavar="C",
                        help="consumer name; keep it across restarts (default: the checkpoint's, else HOST:MODEL_DIR)")
    broker.add_argument("--field", metavar="F", help="the entry field holding the text (text)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="stream-w2v", description="word2vec for text that never ends")
    sub = parser.add_subparsers(dest="command", required=True)
    _train_parser(sub)

    p = sub.add_parser("similar", help="nearest neighbours of words")
    p.add_argument("model_dir")
    p.add_argument("words", nargs="+", metavar="WORD")
    p.add_argument("-n", type=_positive_int, default=10)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("analogy", help="A is to B as C is to ?")
    p.add_argument("model_dir")
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("c")
    p.add_argument("-n", type=_positive_int, default=5)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("export", help="write the vectors in word2vec format")
    p.add_argument("model_dir")
    p.add_argument("out")
    p.add_argument("--format", choices=("text", "binary"), default="text")
    p.add_argument("--vectors", choices=("input", "average"), default="input",
                   help="input vectors (word2vec.c, gensim) or (input + output) / 2 (yskip; needs --negative)")

    p = sub.add_parser("evaluate", help="analogy accuracy and word-pair correlation")
    p.add_argument("model_dir")
    p.add_argument("--analogies", metavar="FILE")
    p.add_argument("--pairs", metavar="FILE")
    p.add_argument("--restrict-vocab", type=_positive_int, default=30000)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("info", help="parameters, counts, sources, last checkpoint")
    p.add_argument("model_dir")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("demo", help="train on a bundled text played as a live feed")
    p.add_argument("--model-dir", default="stream-w2v-demo")
    p.add_argument("--seconds", type=_nonneg_float, default=60.0, help="how long to play the feed")
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "train":
            from stream_w2v.train_command import run_train
            return run_train(args)
        if args.command == "demo":
            from stream_w2v.demo import run_demo
            return run_demo(args)
        return getattr(queries, args.command)(args)
    except UserError as exc:
        print(f"stream-w2v: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the disk, permissions: not a bug, but nothing the command could handle
        if isinstance(exc, BrokenPipeError):
            return _broken_pipe()
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"stream-w2v: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _broken_pipe() -> int:
    # `stream-w2v similar ... | head -1`: the reader left. Point stdout at
    # /dev/null so the interpreter's final flush does not complain.
    import os
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
