/* huffman.c -- the merges of Huffman's algorithm in O(V), on leaves sorted once.
 * In C because the merge loop is inherently sequential and the tree is rebuilt
 * as the vocabulary grows: a Python heap loop took ~60 ms per 38k words.
 *
 * The classic two-queue method: the leaves in (count, id) order are one queue;
 * merged nodes join a second queue in creation order, which is also (count,
 * id) order (the sum of the two lightest nodes never decreases, ids grow).
 * Taking the lighter head by (count, id) each time is what a heap keyed on
 * (count, id) pops, so the tree equals the heap build's, ties included. */
#include <stdlib.h>
#include "w2v.h"

/* Is node (ca, a) lighter than node (cb, b) under the (count, id) order? */
static inline int lighter(int64_t ca, int64_t a, int64_t cb, int64_t b)
{
    return ca < cb || (ca == cb && a < b);
}

int w2v_huffman_merge(const int64_t *counts, const int64_t *order, int64_t n, int32_t *children)
{
    if (n < 2) return W2V_OK;
    int64_t *inner = malloc(sizeof(int64_t) * (size_t)(n - 1));  /* counts of merged nodes */
    if (!inner) return W2V_ERR_NOMEM;
    int64_t leaf = 0, head = 0;   /* next unused leaf (in order) and merged node */
    for (int64_t k = 0; k < n - 1; k++) {
        for (int side = 0; side < 2; side++) {
            int take_leaf = leaf < n && (head == k ||
                lighter(counts[order[leaf]], order[leaf], inner[head], n + head));
            int64_t id = take_leaf ? order[leaf] : n + head;
            int64_t c = take_leaf ? counts[order[leaf]] : inner[head];
            if (take_leaf) leaf++; else head++;
            children[2 * k + side] = (int32_t)id;
            inner[k] = side ? inner[k] + c : c;
        }
    }
    free(inner);
    return W2V_OK;
}

void w2v_huffman_depths(const int32_t *children, int64_t n, int32_t *depth)
{
    depth[2 * n - 2] = 0;                          /* the root */
    for (int64_t k = n - 2; k >= 0; k--) {         /* parents before their children */
        depth[children[2 * k]] = depth[n + k] + 1;
        depth[children[2 * k + 1]] = depth[n + k] + 1;
    }
}

int w2v_huffman_paths(const int32_t *children, int64_t n, const int32_t *code_lens, int32_t width,
                      int32_t *points, uint8_t *codes)
{
    if (n < 2) return W2V_OK;
    int32_t *parent = malloc(sizeof(int32_t) * (size_t)(2 * n - 1));
    uint8_t *bit = malloc((size_t)(2 * n - 1));
    if (!parent || !bit) {
        free(parent); free(bit);
        return W2V_ERR_NOMEM;
    }
    for (int64_t k = 0; k < n - 1; k++)
        for (int side = 0; side < 2; side++) {
            parent[children[2 * k + side]] = (int32_t)(n + k);
            bit[children[2 * k + side]] = (uint8_t)side;
        }
    /* Each leaf walks up to the root, filling its row from the end. */
    for (int64_t w = 0; w < n; w++) {
        int64_t node = w;
        for (int32_t d = code_lens[w] - 1; d >= 0; d--) {
            points[w * width + d] = parent[node] - (int32_t)n;
            codes[w * width + d] = bit[node];
            node = parent[node];
        }
    }
    free(parent); free(bit);
    return W2V_OK;
}
