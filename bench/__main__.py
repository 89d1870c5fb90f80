"""python -m bench [run|stream|redis|combine|corpus|kernel|replay|pair] [options]; without a subcommand: run.

- run     stream_w2v vs gensim, alternating, one process per training (bench/run.py);
          opt-in: variants (stream_w2v-adagrad, --variant) and the peers
          (--trainers ... yskip pword2vec: built from ../shared/peers on first use)
- stream  streaming figures: quality along one pass, time in vocabulary/tree
          upkeep, followed file and pipe vs bulk (bench/stream.py)
- redis   stream-w2v train reading a Redis stream vs the same text from a file:
          entries/s and words/s (bench/redis_throughput.py)
- combine join the JSON of several runs into one table, plots and README
          section (bench/combine.py)
- corpus  build/cache the Debian-text corpus, print its counts and sha256 (bench/corpus.py)
- kernel  single-thread kernel throughput per ISA (bench/kernel_speed.py)
- replay  kernel-only scaling: a real pass's batches trained again on 1 and on 2
          threads, words/s and CPU seconds; --separate: also 2 threads on separate
          copies of the matrices (bench/replay.py)
- pair    the machine's own 2-core ceiling: two 1-worker trainings at once (separate
          processes) against one alone, next to 2 workers against 1 (bench/pair.py)
"""
import sys


def main() -> None:
    argv = sys.argv[1:]
    command = argv[0] if argv and not argv[0].startswith("-") else "run"
    rest = argv[1:] if argv and argv[0] == command else argv
    if argv[:1] in (["-h"], ["--help"]):
        print(__doc__)  # the subcommands, then run's own options
    if command == "run":
        from bench.run import main as run
        run(rest)
    elif command == "stream":
        from bench.stream import main as stream
        stream(rest)
    elif command == "redis":
        from bench.redis_throughput import main as redis_throughput
        redis_throughput(rest)
    elif command == "combine":
        from bench.combine import main as combine
        combine(rest)
    elif command == "corpus":
        from bench.corpus import main as build
        build(rest)
    elif command == "kernel":
        from bench.kernel_speed import main as kernel
        kernel(rest)
    elif command == "replay":
        from bench.replay import main as replay
        replay(rest)
    elif command == "pair":
        from bench.pair import main as pair
        pair(rest)
    elif command == "help":
        print(__doc__)
    else:
        sys.exit(f"python -m bench: unknown command {command!r}\n{__doc__}")


if __name__ == "__main__":
    main()
