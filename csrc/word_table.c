/* word_table.c -- the vocabulary's words and candidates in a C hash table.
 *
 * Why C: counting and looking up every token in Python dicts held the GIL
 * for each one, and the reading thread then limited how far the training
 * threads scale. Here a whole batch is looked up and counted in one call
 * (tokenize.c) without the GIL; Python hears only of the words promoted.
 *
 * Layout: entries (one per key: words and candidates) live in a dense array,
 * so their indices stay valid while the slot array is rehashed; their bytes
 * live in one arena (no allocation per key). Slots: open addressing with
 * linear probing over a power-of-two array at most half full, each holding
 * the full 64-bit hash, so bytes are compared only when the hashes agree.
 * Words are never removed (a vocabulary only grows); candidates are removed
 * only by w2v_words_forget, which compacts everything.
 */
#include <stdlib.h>
#include <string.h>
#include "w2v.h"
#include "word_table.h"

uint64_t w2v_hash_bytes(const char *key, int64_t len)
{
    uint64_t h = W2V_HASH_START;
    for (int64_t i = 0; i < len; i++) h = w2v_hash_step(h, (unsigned char)key[i]);
    return w2v_hash_finish(h);
}

static int alloc_slots(w2v_words *w, uint64_t capacity)
{
    w2v_slot *s = malloc(sizeof(w2v_slot) * capacity);
    if (!s) return W2V_ERR_NOMEM;
    for (uint64_t i = 0; i < capacity; i++) s[i].entry = -1;
    free(w->slots);
    w->slots = s;
    w->mask = capacity - 1;
    return W2V_OK;
}

w2v_words *w2v_words_new(void)
{
    w2v_words *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->arena_cap = 1 << 14;
    w->entries_cap = 1 << 10;
    w->arena = malloc((size_t)w->arena_cap);
    w->entries = malloc(sizeof(w2v_entry) * (size_t)w->entries_cap);
    if (!w->arena || !w->entries || alloc_slots(w, 2048) != W2V_OK) {
        w2v_words_free(w);
        return NULL;
    }
    return w;
}

void w2v_words_free(w2v_words *words)
{
    if (!words) return;
    free(words->slots);
    free(words->entries);
    free(words->arena);
    free(words);
}

int64_t w2v_words_size(const w2v_words *words) { return words->n_words; }
int64_t w2v_words_candidates(const w2v_words *words) { return words->n_entries - words->n_words; }

static int same_key(const w2v_words *w, const w2v_slot *s, const char *key, int64_t len)
{
    if (s->len != len) return 0;
    int64_t head = len < W2V_HEAD ? len : W2V_HEAD;
    for (int64_t i = 0; i < head; i++)       /* a short loop, inlined: most keys end here */
        if (s->head[i] != key[i]) return 0;
    return len <= W2V_HEAD ||
           memcmp(w->arena + w->entries[s->entry].offset + W2V_HEAD, key + W2V_HEAD, (size_t)(len - W2V_HEAD)) == 0;
}

w2v_slot *w2v_words_find(const w2v_words *w, const char *key, int64_t len, uint64_t hash)
{
    for (uint64_t i = hash & w->mask;; i = (i + 1) & w->mask) {
        w2v_slot *s = &w->slots[i];
        if (s->entry < 0) return NULL;
        if (s->hash == hash && same_key(w, s, key, len)) return s;
    }
}

int32_t w2v_words_get(const w2v_words *words, const char *key, int64_t len)
{
    const w2v_slot *s = w2v_words_find(words, key, len, w2v_hash_bytes(key, len));
    return s == NULL ? -1 : s->id >= 0 ? s->id : -2;
}

static w2v_slot *place(w2v_words *w, uint64_t hash, int32_t entry)
{
    const w2v_entry *x = &w->entries[entry];
    uint64_t i = hash & w->mask;
    while (w->slots[i].entry >= 0) i = (i + 1) & w->mask;
    w2v_slot *s = &w->slots[i];
    *s = (w2v_slot){hash, entry, x->id, x->len, {0}};
    memcpy(s->head, w->arena + x->offset, (size_t)(x->len < W2V_HEAD ? x->len : W2V_HEAD));
    return s;
}

static int rehash(w2v_words *w, uint64_t capacity)
{
    if (alloc_slots(w, capacity) != W2V_OK) return W2V_ERR_NOMEM;
    for (int64_t e = 0; e < w->n_entries; e++) {
        const w2v_entry *x = &w->entries[e];
        place(w, w2v_hash_bytes(w->arena + x->offset, x->len), (int32_t)e);
    }
    return W2V_OK;
}

static int reserve(w2v_words *w, int64_t len)
{
    if (w->arena_used + len > w->arena_cap) {
        int64_t cap = w->arena_cap;
        while (cap < w->arena_used + len) cap *= 2;
        char *arena = realloc(w->arena, (size_t)cap);
        if (!arena) return W2V_ERR_NOMEM;
        w->arena = arena;
        w->arena_cap = cap;
    }
    if (w->n_entries == w->entries_cap) {
        w2v_entry *entries = realloc(w->entries, sizeof(w2v_entry) * (size_t)w->entries_cap * 2);
        if (!entries) return W2V_ERR_NOMEM;
        w->entries = entries;
        w->entries_cap *= 2;
    }
    if (2 * (uint64_t)(w->n_entries + 1) > w->mask + 1) return rehash(w, 2 * (w->mask + 1));
    return W2V_OK;
}

w2v_slot *w2v_words_insert(w2v_words *w, const char *key, int64_t len, uint64_t hash, int32_t id, int64_t count)
{
    if (reserve(w, len) != W2V_OK) return NULL;
    int32_t e = (int32_t)w->n_entries++;
    memcpy(w->arena + w->arena_used, key, (size_t)len);
    w->entries[e] = (w2v_entry){w->arena_used, (int32_t)len, id, count, -1, 0};
    w->arena_used += len;
    if (id >= 0) w->n_words++;
    return place(w, hash, e);
}

int w2v_words_add(w2v_words *w, const char *key, int64_t len)
{
    return w2v_words_insert(w, key, len, w2v_hash_bytes(key, len), (int32_t)w->n_words, 0) == NULL
        ? W2V_ERR_NOMEM : W2V_OK;
}

int w2v_words_add_candidate(w2v_words *w, const char *key, int64_t len, int64_t count)
{
    return w2v_words_insert(w, key, len, w2v_hash_bytes(key, len), -1, count) == NULL ? W2V_ERR_NOMEM : W2V_OK;
}

int64_t w2v_words_candidate_bytes(const w2v_words *w)
{
    int64_t n = 0;
    for (int64_t e = 0; e < w->n_entries; e++)
        if (w->entries[e].id < 0) n += w->entries[e].len;
    return n;
}

void w2v_words_export_candidates(const w2v_words *w, char *keys, int64_t *offsets, int64_t *counts)
{
    int64_t k = 0, at = 0;
    if (offsets) offsets[0] = 0;
    for (int64_t e = 0; e < w->n_entries; e++) {
        const w2v_entry *x = &w->entries[e];
        if (x->id >= 0) continue;
        if (keys) memcpy(keys + at, w->arena + x->offset, (size_t)x->len);
        at += x->len;
        counts[k++] = x->count;
        if (offsets) offsets[k] = at;
    }
}

int w2v_words_forget(w2v_words *w, int64_t cut)
{
    int64_t kept = 0;
    for (int64_t e = 0; e < w->n_entries; e++)
        kept += w->entries[e].id >= 0 || w->entries[e].count > cut;
    uint64_t capacity = 2048;
    while (capacity < 2 * (uint64_t)kept + 2) capacity *= 2;
    /* The new slots first: if they cannot be had, nothing has changed. */
    if (alloc_slots(w, capacity) != W2V_OK) return W2V_ERR_NOMEM;
    /* Compact in place: entries and their bytes keep their order, so the
     * survivors only move down, and the words' ids are untouched. */
    int64_t at = 0;
    kept = 0;
    for (int64_t e = 0; e < w->n_entries; e++) {
        w2v_entry x = w->entries[e];
        if (x.id < 0 && (x.count -= cut) <= 0) continue;
        memmove(w->arena + at, w->arena + x.offset, (size_t)x.len);
        x.offset = at;
        at += x.len;
        w->entries[kept] = x;
        place(w, w2v_hash_bytes(w->arena + x.offset, x.len), (int32_t)kept++);
    }
    w->n_entries = kept;
    w->arena_used = at;
    return W2V_OK;
}
