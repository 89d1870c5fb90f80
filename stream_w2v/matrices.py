"""Row storage that grows by doubling its capacity.

Training threads hold views of the first ``rows`` rows. A view of the first
rows of a C-contiguous buffer is itself C-contiguous and shares its memory,
so promoting new words inside the capacity needs no copy, and a worker still
training on the previous (shorter) view writes into the same memory: nothing
is lost. Only a capacity doubling copies, and the model drains its workers
before one (it happens log2(V) times in a model's life).
"""
from __future__ import annotations

import numpy as np


class GrowableRows:
    def __init__(self, dim: int, capacity: int = 1024):
        self.dim = dim
        self.rows = 0
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
            capacity = self.capacity
            while capacity < rows:
                capacity *= 2
            bigger = np.zeros((capacity, self.dim), dtype=np.float32)
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
