"""The Huffman tree of hierarchical softmax, and carrying it over a rebuild.

Node numbering (word2vec.c's): leaves are word ids 0..V-1, inner nodes are
V..2V-2, inner node V+k is row k of ``syn1``, and children always come
before their parent (build_huffman: creation order, the root is 2V-2;
extend_huffman: the grafted nodes first, then the old ones in old order). Each merge joins the two lightest nodes: the first (lighter) gets
branch bit 0, the second bit 1. A word's path runs from the root down.

A growing vocabulary needs a new tree now and then (the model extends it
when the vocabulary grew 10%, so O(V log V) work per 0.1 V new words).
Rebuilding the optimal tree from the current counts is not an option for a
model that has learned something: even a small change in the counts
reshuffles the Huffman merges, the old words get other paths through other
inner nodes, and what ``syn1`` learned no longer applies (measured in
tests/test_huffman.py: the HS loss on known text jumps from 0.39 to 0.69 nats
per term with zeroed rows, to 0.97 with gensim's rows-by-index, to 0.76 with
each new node copying its best-matching old node, 0.68 with that copy scaled
down by the match; the 0.39 would only come back by retraining). So:

- :func:`extend_huffman` grafts the new words onto the old tree, each next to
  one of the rarest old leaves. Every old inner node survives with its
  decision and its row; only the hosts' paths grow by one (new, zero) node.
  The loss on known text stays where it was.
- Grafting drifts from optimal (new words stay deep even if they turn out
  frequent, the old shape follows old counts). When the grafted tree's mean
  code length exceeds the optimal one's by ``TREE_SLACK`` (model.py), the
  model switches to the optimal tree and :func:`carry_over` maps the old
  inner nodes onto it: each new node takes the old node that separated the
  most frequent known word on each of its sides (their lowest common ancestor),
  negated if those went the other way round (sigma(-x) = 1 - sigma(x) flips
  the bit), scaled by how far that old node agrees with the new split
  (so a poor match starts near zero, as word2vec.c's init, instead of being
  confidently wrong). On a Zipf stream this switch happened 3 times in 10M
  tokens (at 0.9k, 12k and 53k words).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stream_w2v import _native


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
    # The merge loop in C (O(V) after a sort): a Python heap loop cost ~60 ms
    # per rebuild at 38k words, with every worker idle (tests check it equals
    # the heap build, ties included).
    return _paths(_native.huffman_children(counts), n)


def _paths(children: np.ndarray, n: int) -> HuffmanTree:
    """Root-first paths of every leaf (in C: the NumPy walk up all leaves at once
    cost ~28 ms at 38k words, twice per rebuild, on the thread that feeds the workers)."""
    points, codes, code_lens = _native.huffman_paths(children)
    return HuffmanTree(points, codes, code_lens, children)


def expected_code_length(tree: HuffmanTree, counts) -> float:
    """Mean code length per token under ``counts``: the HS work per trained word."""
    # A product and a sum, not a dot product, on purpose: a float64 dot goes
    # to OpenBLAS, whose helper threads then spin for a while after each
    # call, taking a core's share from the training workers (CBOW-HS, one
    # pass over the benchmark corpus, 1 worker: 24.3 s of CPU in 21.9 s of
    # wall; 20.2 s in 20.7 s without the dot).
    counts = np.asarray(counts, dtype=np.float64)[:tree.words]
    total = counts.sum()
    return float((counts * tree.code_lens).sum()) / total if total > 0 else 0.0


def extend_huffman(old: HuffmanTree, counts) -> tuple[HuffmanTree, np.ndarray] | None:
    """``old`` with the words ``old.words .. len(counts) - 1`` grafted on, every old node kept.

    Each new word joins the rarest old leaves (one each, rarest new word with
    rarest leaf): the leaf's place in the tree goes to a new inner node whose
    children are that leaf and the new word. Every other path is unchanged, so
    every old inner node keeps its decision and its learned vector. Returns
    ``(tree, rows)``: ``rows[k]`` is the old syn1 row of the new tree's inner
    node ``k``, -1 for the grafted nodes (which start at zero). ``None`` when
    there are more new words than old leaves to graft them on.

    Inner nodes are numbered grafted ones first, then the old ones in their old
    order, so children still come before parents.
    """
    counts = np.asarray(counts, dtype=np.int64)
    n_old, n = old.words, len(counts)
    m = n - n_old
    if m < 1 or m > n_old:
        return None
    hosts = np.lexsort((np.arange(n_old), counts[:n_old]))[:m]           # rarest old leaves
    fresh = n_old + np.lexsort((np.arange(m), counts[n_old:]))           # rarest new words first
    # The lighter of the pair takes branch bit 0, as in build_huffman (ties: the host).
    pair = np.stack([hosts, fresh], axis=1)
    swap = counts[fresh] < counts[hosts]
    pair[swap] = pair[swap][:, ::-1]
    graft = np.full(n_old, -1, dtype=np.int64)
    graft[hosts] = n + np.arange(m)                                      # id of the node taking the host's place
    ids = old.children.astype(np.int64)
    inner = ids >= n_old
    leaf_ids = np.where(inner, 0, ids)
    moved = np.where(inner, ids - n_old + n + m,                         # old inner node k -> row m + k
                     np.where(graft[leaf_ids] >= 0, graft[leaf_ids], ids))
    children = np.concatenate([pair, moved]).astype(np.int32)
    rows = np.concatenate([np.full(m, -1, dtype=np.int64), np.arange(n_old - 1, dtype=np.int64)])
    return _paths(children, n), rows


def carry_over(old: HuffmanTree, new: HuffmanTree, old_syn1: np.ndarray, counts=None) -> np.ndarray:
    """syn1 for ``new``: each inner node takes the old node that made its decision.

    ``counts`` (of the new tree's words) pick each side's representative and
    weigh the agreement; without them the lowest id stands in (words are
    promoted roughly in order of frequency) and every word weighs the same.

    The copied vector is scaled by how far the old node agrees with the new
    one: the count-weighted share of the known words under the new node that
    the old node sends to the same side, minus the share it sends to the
    other side, clipped to [0, 1]. A node that matches (same known words on
    each side) keeps its vector exactly; one that would be confidently wrong
    for much of its traffic starts near zero instead (sigma(0) = 1/2, the
    naive rebuild's loss, not worse).
    """
    row, factor = carry_over_plan(old, new, counts)
    syn1 = np.zeros((max(new.words - 1, 0), old_syn1.shape[1]), dtype=np.float32)
    ok = row >= 0
    syn1[ok] = old_syn1[row[ok]] * factor[ok][:, None]
    return syn1


def carry_over_plan(old: HuffmanTree, new: HuffmanTree, counts=None) -> tuple[np.ndarray, np.ndarray]:
    """What :func:`carry_over` copies, without syn1: ``(row, factor)``, new inner
    node k takes old row ``row[k]`` times ``factor[k]`` (float32), or zeros where
    ``row[k]`` is -1. Depends on the trees and counts only, so the model plans
    it while workers still train on the old syn1."""
    n_old, n = old.words, new.words
    row = np.full(max(n - 1, 0), -1, dtype=np.int64)
    factor = np.zeros(max(n - 1, 0), dtype=np.float32)
    if n < 2 or n_old < 2:
        return row, factor
    left, right = _known_representatives(new, n_old, counts)
    ok = (left >= 0) & (right >= 0)
    a, b = left[ok], right[ok]
    # Lowest common ancestor in the old tree: the first depth where the paths part.
    width = old.codes.shape[1]
    depth = np.arange(width)[None, :]
    shared = np.minimum(old.code_lens[a], old.code_lens[b])[:, None]
    parted = (old.codes[a] != old.codes[b]) | (depth >= shared)
    d = np.argmax(parted, axis=1)
    flip = np.zeros(n - 1, dtype=np.uint8)
    row[ok] = old.points[a, d]
    flip[ok] = old.codes[a, d]          # a went right at the old node: negate
    scale = _agreement(old, new, row, flip, counts)
    sign = np.where(flip == 1, -1.0, 1.0).astype(np.float32)
    factor[ok] = sign[ok] * scale[ok]
    return row, factor


def _agreement(old: HuffmanTree, new: HuffmanTree, row, flip, counts, chunk: int = 2048) -> np.ndarray:
    """Per new inner node k: the count-weighted net share of the known words under k
    that old node ``row[k]`` (negated when ``flip[k]``) sends to the same side, in [0, 1].

    O(known words x new depth x old depth), vectorized over chunks of words.
    """
    n_old = old.words
    weight = np.ones(n_old) if counts is None else np.asarray(counts, dtype=np.float64)[:n_old]
    net = np.zeros(new.words - 1)
    total = np.zeros(new.words - 1)
    new_depth = np.arange(new.points.shape[1])[None, :]
    old_depth = np.arange(old.points.shape[1])[None, None, :]
    for start in range(0, n_old, chunk):
        words = np.arange(start, min(start + chunk, n_old))
        nodes = new.points[words].astype(np.int64)                      # (w, Ln) new inner rows
        live = new_depth < new.code_lens[words][:, None]
        target = np.where(live, row[nodes], -1)                         # the old node each step copies
        on_path = (old.points[words][:, None, :] == target[:, :, None]) \
            & (old_depth < old.code_lens[words][:, None, None]) & (target[:, :, None] >= 0)
        found = on_path.any(axis=2)
        old_bit = old.codes[words][np.arange(len(words))[:, None], np.argmax(on_path, axis=2)]
        same = (old_bit ^ flip[np.where(live, nodes, 0)]) == new.codes[words]
        w = np.broadcast_to(weight[words][:, None], nodes.shape)
        vote = np.where(found, np.where(same, 1.0, -1.0), 0.0)
        net += np.bincount(nodes[live], weights=(w * vote)[live], minlength=len(net))
        total += np.bincount(nodes[live], weights=w[live], minlength=len(total))
    return np.clip(np.divide(net, total, out=np.zeros_like(net), where=total > 0), 0.0, 1.0).astype(np.float32)


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
