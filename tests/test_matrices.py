"""Row storage: what workers training on an older view rely on.

A worker holds the view it was given when its batch was prepared; the model
may grow the rows meanwhile. Inside the capacity, the old view must stay the
same memory as the corresponding rows of the new one (GrowableRows: the same
indices; FrontRows: m rows further on after a prepend), so nothing a worker
writes is lost. Checked against a plain list of rows over random sequences
of operations.
"""
import os

import numpy as np
from hypothesis import given, strategies as st

from stream_w2v import matrices
from stream_w2v.matrices import FrontRows, GrowableRows

DIM = 3
ops = st.lists(st.tuples(st.sampled_from(["grow", "replace"]), st.integers(0, 40)), max_size=12)


@given(ops, st.integers(1, 16), st.sampled_from([0.0, 1e-8]))
def test_front_rows_prepend_keeps_every_row_in_place(seq, capacity, fill):
    rows = FrontRows(DIM, capacity=capacity, fill=fill)
    ref = np.zeros((0, DIM), np.float32)
    rng = np.random.default_rng(len(seq))
    for op, m in seq:
        before, old_rows, old_capacity = rows.view, rows.rows, rows.capacity
        if op == "grow":
            rows.prepend(m)
            ref = np.concatenate([np.full((m, DIM), fill, np.float32), ref])
            if old_rows + m <= old_capacity:     # inside the capacity: nothing moved, so
                before += 1.0                    # what a worker on the old view writes ...
                ref[m:] += 1.0                   # ... is in the rows the new view holds
        else:
            ref = rng.normal(size=(m, DIM)).astype(np.float32)
            rows.replace(ref)
        assert rows.rows == len(ref) <= rows.capacity
        np.testing.assert_array_equal(rows.view, ref)


@given(ops, st.integers(1, 16))
def test_growable_rows_grow_keeps_every_row_in_place(seq, capacity):
    rows = GrowableRows(DIM, capacity=capacity)
    ref = np.zeros((0, DIM), np.float32)
    for op, m in seq:
        before, old_capacity = rows.view, rows.capacity
        init = np.full((m, DIM), float(m), np.float32)
        rows.grow(rows.rows + m, init)
        ref = np.concatenate([ref, init])
        if len(ref) <= old_capacity and len(before):
            assert np.shares_memory(rows.view, before)
            before += 1.0
            ref[:len(before)] += 1.0
        np.testing.assert_array_equal(rows.view, ref)


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_first_buffer_reserves_address_space_not_memory():
    """The first buffer holds RESERVE_BYTES of rows (so a vocabulary of that
    size never drains the workers for a copy) but costs memory only for the
    rows grown into: 8 stores reserve 512 MiB, and RSS grows by about what
    their live rows take (1000 rows x 100 floats each, 3.2 MB in all). The
    bound, 32 MiB, is far below one reservation touched (64 MiB), and well
    above allocator noise."""
    assert GrowableRows(100).capacity == matrices.RESERVE_BYTES // 400
    assert FrontRows(8, fill=0.5).capacity == matrices.RESERVE_BYTES // 32
    before = _rss_bytes()
    stores = [GrowableRows(100) for _ in range(4)] + [FrontRows(100, fill=0.1) for _ in range(4)]
    for s in stores:
        if isinstance(s, GrowableRows):
            s.grow(1000, np.ones((1000, 100), np.float32))
        else:
            s.prepend(1000)
    assert _rss_bytes() - before < 32 << 20
    assert all(np.all(s.view == 0.1) for s in stores[4:])
