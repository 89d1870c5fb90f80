"""The worker pool: how many batches it holds, that a full queue blocks, and that
with caller_runs the producer trains the oldest queued job instead."""
import threading

from stream_w2v.workers import QUEUE_WORDS, WorkerPool, queue_depth


def test_queue_depth_is_bounded_in_words_and_keeps_two_per_worker():
    assert queue_depth(2, 10_000) == QUEUE_WORDS // 10_000 == 32
    assert queue_depth(2, 10**6) == 4           # huge batches: 2 per worker, as before
    assert queue_depth(8, 100_000) == 16
    assert queue_depth(1, 0) >= 2               # a degenerate batch size cannot divide by zero


def test_a_full_pool_blocks_the_producer_until_a_worker_takes_a_job():
    """depth jobs wait in the queue, one more runs: the next submit blocks."""
    release, started = threading.Event(), threading.Event()
    ran = []

    def run(job):
        started.set()
        release.wait()
        ran.append(job)

    pool = WorkerPool(1, run, depth=3)
    pool.submit(0)
    assert started.wait(5)
    filling = threading.Thread(target=lambda: [pool.submit(job) for job in (1, 2, 3)], daemon=True)
    filling.start()
    filling.join(5)
    assert not filling.is_alive()              # 3 fit in the queue (a smaller depth would block here)
    blocked = threading.Thread(target=pool.submit, args=(4,), daemon=True)
    blocked.start()
    blocked.join(0.2)
    assert blocked.is_alive()                  # the queue holds 3: the fifth job waits
    release.set()
    blocked.join(5)
    assert not blocked.is_alive()
    pool.close()
    assert ran == [0, 1, 2, 3, 4]


def test_with_caller_runs_a_full_queue_runs_the_oldest_job_in_the_caller():
    """The trainer's mode (N - 1 threads and the producer): a submit to a full
    queue does not block; the producer runs the oldest queued job, then queues
    its own. Every job runs once; close runs what is left."""
    release, started = threading.Event(), threading.Event()
    ran = []
    caller = threading.current_thread().name

    def run(job):
        if threading.current_thread().name != caller:
            started.set()
            release.wait()
        ran.append((job, threading.current_thread().name))

    pool = WorkerPool(1, run, depth=2, caller_runs=True)
    pool.submit(0)
    assert started.wait(5)                     # the worker holds job 0
    pool.submit(1)
    pool.submit(2)                             # the queue is full
    pool.submit(3)                             # returns: job 1, the oldest, ran here
    assert ran == [(1, caller)]
    pool.submit(4)                             # and job 2 for this one
    assert ran == [(1, caller), (2, caller)]
    release.set()
    pool.close()
    assert sorted(job for job, _ in ran) == [0, 1, 2, 3, 4]
    assert pool.finished_before(5)


def test_caller_runs_reraises_a_job_error_in_the_producer():
    def run(job):
        if job == 1:
            raise RuntimeError("boom")

    pool = WorkerPool(1, run, depth=1, caller_runs=True)
    try:
        for job in range(50):
            pool.submit(job)
        pool.drain()
    except RuntimeError as exc:
        assert str(exc) == "boom"
    else:
        raise AssertionError("the job's error was not raised")
    pool.close()
