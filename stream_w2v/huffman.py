"""The Huffman tree of hierarchical softmax, and carrying it over a rebuild.

Node numbering (word2vec.c's): leaves are word ids 0..V-1, inner nodes are
V..2V-2 in creation order, the root is 2V-2; inner node V+k is row k of
``syn1``. Each merge joins the two lightest nodes: the first (lighter) gets
branch bit 0, the second bit 1. A word's path runs from the root down.

A growing vocabulary needs a new tree now and then (the model rebuilds it
when the vocabulary grew 10%, so O(V log V) work per 0.1 V new words). The
new tree's inner nodes are not the old ones: zeroing ``syn1`` would throw away
what HS learned and make the loss jump. :func:`carry_over` gives each new
inner node the vector of the old node that made the same decision: a node
separates its left subtree from its right one, so take the most frequent
already-known word on each side, find where the old tree separated those two
words (their lowest common ancestor) and copy that node's vector, negated if
the two words went the other way round there (sigma(-x) = 1 - sigma(x) flips
the bit). Nodes with no known word on a side start at zero, as in word2vec.c.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np


@dataclass
class HuffmanTree:
    points: np.ndarray     # (V, L) int32: syn1 rows on each word's path, root first
    codes: np.ndarray      # (V, L) uint8: branch bit taken at each of them
    code_lens: np.ndarray  # (V,) int32
    children: np.ndarray   # (V-1, 2) int32: node ids joined by inner node V+k

    @property
    def words(self) -> int:
        return len(self.code_lens)


def build_huffman(counts) -> HuffmanTree:
    """The Huffman tree of ``counts`` (ties broken by id, so it is deterministic)."""
    counts = np.asarray(counts, dtype=np.int64)
    n = len(counts)
    if n == 0:
        raise ValueError("a Huffman tree needs at least one word")
    heap = [(int(c), i) for i, c in enumerate(counts.tolist())]
    heapq.heapify(heap)
    children = np.zeros((max(n - 1, 0), 2), dtype=np.int32)
    for k in range(n - 1):  # O(V log V), once per 10% of vocabulary growth
        c0, a = heapq.heappop(heap)
        c1, b = heapq.heappop(heap)
        children[k] = (a, b)
        heapq.heappush(heap, (c0 + c1, n + k))
    return _paths(children, n)


def _paths(children: np.ndarray, n: int) -> HuffmanTree:
    """Root-first paths of every leaf, walking up all leaves at once."""
    parent = np.full(2 * n - 1, -1, dtype=np.int64)
    bit = np.zeros(2 * n - 1, dtype=np.uint8)
    inner = np.arange(n, 2 * n - 1)
    parent[children[:, 0]], parent[children[:, 1]] = inner, inner
    bit[children[:, 1]] = 1
    up_points, up_codes = [], []
    node = np.arange(n)
    depth = np.zeros(n, dtype=np.int32)
    while True:
        live = parent[node] >= 0
        if not live.any():
            break
        up_points.append(np.where(live, parent[node] - n, -1))
        up_codes.append(np.where(live, bit[node], 0))
        depth += live
        node = np.where(live, parent[node], node)
    width = max(len(up_points), 1)
    points = np.zeros((n, width), dtype=np.int32)
    codes = np.zeros((n, width), dtype=np.uint8)
    # Step s up from the leaf is position depth - 1 - s from the root.
    for s, (p, c) in enumerate(zip(up_points, up_codes)):
        rows = np.nonzero(depth > s)[0]
        col = depth[rows] - 1 - s
        points[rows, col] = p[rows]
        codes[rows, col] = c[rows]
    return HuffmanTree(points, codes, depth, children)


def carry_over(old: HuffmanTree, new: HuffmanTree, old_syn1: np.ndarray, counts=None) -> np.ndarray:
    """syn1 for ``new``: each inner node takes the old node that made its decision.

    ``counts`` (of the new tree's words) pick each side's representative;
    without them the lowest id stands in (words are promoted roughly in
    order of frequency).
    """
    n_old, n = old.words, new.words
    syn1 = np.zeros((max(n - 1, 0), old_syn1.shape[1]), dtype=np.float32)
    if n < 2 or n_old < 2:
        return syn1
    left, right = _known_representatives(new, n_old, counts)
    ok = (left >= 0) & (right >= 0)
    a, b = left[ok], right[ok]
    # Lowest common ancestor in the old tree: the first depth where the paths part.
    width = old.codes.shape[1]
    depth = np.arange(width)[None, :]
    shared = np.minimum(old.code_lens[a], old.code_lens[b])[:, None]
    parted = (old.codes[a] != old.codes[b]) | (depth >= shared)
    d = np.argmax(parted, axis=1)
    row = old.points[a, d]
    sign = np.where(old.codes[a, d] == 0, 1.0, -1.0).astype(np.float32)
    syn1[np.nonzero(ok)[0]] = old_syn1[row] * sign[:, None]
    return syn1


def _known_representatives(tree: HuffmanTree, n_known: int, counts=None):
    """For each inner node, the most frequent known word (id < n_known) under each child."""
    n = tree.words
    weight = (np.asarray(counts, dtype=np.int64)[:n] if counts is not None else -np.arange(n)).tolist()
    best = [w if w < n_known else -1 for w in range(n)] + [-1] * (n - 1)
    for k, (a, b) in enumerate(tree.children.tolist()):  # children come before parents
        x, y = best[a], best[b]
        best[n + k] = x if y < 0 or (x >= 0 and (weight[x], -x) >= (weight[y], -y)) else y
    best = np.asarray(best, dtype=np.int64)
    return best[tree.children[:, 0]], best[tree.children[:, 1]]
