"""The worker pool: how many batches it holds, and that a full queue blocks."""
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
