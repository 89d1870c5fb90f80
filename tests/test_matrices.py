"""Row storage: what workers training on an older view rely on.

A worker holds the view it was given when its batch was prepared; the model
may grow the rows meanwhile. Inside the capacity, the old view must stay the
same memory as the corresponding rows of the new one (GrowableRows: the same
indices; FrontRows: m rows further on after a prepend), so nothing a worker
writes is lost. Checked against a plain list of rows over random sequences
of operations.
"""
import numpy as np
from hypothesis import given, strategies as st

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
