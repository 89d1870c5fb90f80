"""Row storage that grows by doubling its capacity.

Training threads hold views of the first ``rows`` rows. A view of the first
rows of a C-contiguous buffer is itself C-contiguous and shares its memory,
so promoting new words inside the capacity needs no copy, and a worker still
training on the previous (shorter) view writes into the same memory: nothing
is lost. Only a capacity doubling copies, and the model drains its workers
before one: both of its cores stand idle while the rows are copied.

So the first buffer reserves ``RESERVE_BYTES`` of address space (at least
1024 rows): ``np.zeros`` of that size is a lazily zeroed mapping, and a page
costs memory only once a row on it is grown into. A vocabulary of up to
~168k words at dimension 100 then never copies (measured: the 7 doublings
to 86k words cost 0.15-0.22 s of a 5.5 s CBOW-NS pass at 2 workers, the
workers idle); beyond it the capacity doubles as before.

:class:`FrontRows` is the same idea for the Huffman tree's inner nodes,
whose rows are numbered so that a grafted tree puts its new nodes first and
shifts every old one by as many (stream_w2v.huffman): its live rows sit at
the end of the buffer and new ones are prepended, so a graft moves no row.
"""
from __future__ import annotations

import numpy as np

RESERVE_BYTES = 64 << 20
MIN_CAPACITY = 1024


def initial_capacity(dim: int) -> int:
    """Rows of a first buffer: RESERVE_BYTES of float32 rows, at least MIN_CAPACITY."""
    return max(MIN_CAPACITY, RESERVE_BYTES // (4 * max(dim, 1)))


class GrowableRows:
    def __init__(self, dim: int, capacity: int | None = None):
        self.dim = dim
        self.rows = 0
        capacity = initial_capacity(dim) if capacity is None else capacity
        self.buffer = np.zeros((max(capacity, 1), dim), dtype=np.float32)

    @property
    def capacity(self) -> int:
        return self.buffer.shape[0]

    def needs_copy(self, rows: int) -> bool:
        """Would growing to ``rows`` reallocate (so workers must be drained first)?"""
        return rows > self.capacity

    def grow(self, rows: int, init: np.ndarray | None = None) -> None:
        """Make ``rows`` rows live; the new ones get ``init`` (else zeros)."""
        if rows <= self.rows:
            return
        if rows > self.capacity:
            bigger = np.zeros((_doubled(self.capacity, rows), self.dim), dtype=np.float32)
            bigger[:self.rows] = self.buffer[:self.rows]
            self.buffer = bigger
        if init is not None:
            self.buffer[self.rows:rows] = init
        self.rows = rows

    @property
    def view(self) -> np.ndarray:
        return self.buffer[:self.rows]

    def replace(self, array: np.ndarray) -> None:
        """Swap in new contents (e.g. a re-mapped HS tree); capacity kept."""
        rows = array.shape[0]
        capacity = max(self.capacity, rows)
        buffer = np.zeros((capacity, self.dim), dtype=np.float32)
        buffer[:rows] = array
        self.buffer, self.rows = buffer, rows


class FrontRows:
    """Rows that grow at the front: the live rows are the last ``rows`` of the
    buffer, and :meth:`prepend` makes the ``m`` rows before them live.

    A row keeps its memory when rows are prepended (its index grows by ``m``),
    so a worker still training on the previous view, which indexes the same
    row ``m`` lower, writes into the row the new view sees. Only a prepend
    beyond the capacity (or :meth:`replace`) moves the rows.
    """

    def __init__(self, dim: int, capacity: int | None = None, fill: float = 0.0):
        self.dim, self.fill = dim, fill
        self.rows = 0
        capacity = initial_capacity(dim) if capacity is None else capacity
        # Zeros, whatever the fill: a row takes the fill when it is prepended,
        # and the untouched front stays a lazily zeroed mapping.
        self.buffer = np.zeros((max(capacity, 1), dim), np.float32)

    @property
    def capacity(self) -> int:
        return self.buffer.shape[0]

    def needs_copy(self, rows: int) -> bool:
        """Would holding ``rows`` rows reallocate (move the live rows)?"""
        return rows > self.capacity

    @property
    def view(self) -> np.ndarray:
        return self.buffer[self.capacity - self.rows:]

    def prepend(self, m: int) -> None:
        """Make the ``m`` rows before the live ones live, at ``fill`` (in place
        unless the capacity is exceeded)."""
        if m <= 0:
            return
        rows = self.rows + m
        if self.needs_copy(rows):
            self.replace(np.concatenate([np.full((m, self.dim), self.fill, np.float32), self.view]))
            return
        start = self.capacity - rows
        self.buffer[start:start + m] = self.fill
        self.rows = rows

    def replace(self, array: np.ndarray) -> None:
        """Swap in new contents (a re-mapped tree), in a new buffer with room
        in front to grow by doubling."""
        rows = array.shape[0]
        capacity = _doubled(self.capacity, rows)
        buffer = np.zeros((capacity, self.dim), np.float32)   # the front: lazily zeroed, filled by prepend
        buffer[capacity - rows:] = array
        self.buffer, self.rows = buffer, rows


def _doubled(capacity: int, rows: int) -> int:
    """``capacity`` doubled until it holds ``rows``."""
    while capacity < rows:
        capacity *= 2
    return capacity
