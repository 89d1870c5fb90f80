/* word_table.c -- the vocabulary's keys in a C hash table: word bytes -> row id.
 *
 * Why C: looking every token up in a Python dict holds the GIL for each one,
 * and the reading thread then limits how far the training threads scale.
 * Here a whole batch is looked up in one call (tokenize.c) without the GIL.
 *
 * Open addressing with linear probing over a power-of-two array, at most half
 * full, so a probe sequence is short and one cache line usually holds it.
 * Keys are copied into one growing arena (no allocation per word). Words are
 * never removed: a vocabulary only grows. The slot array keeps the full
 * 64-bit hash, so a probe compares bytes only when the hashes agree.
 */
#include <stdlib.h>
#include <string.h>
#include "w2v.h"
#include "word_table.h"

typedef struct {
    uint64_t hash;
    int64_t offset;          /* into the arena */
    int32_t len;
    int32_t id;              /* -1: empty slot */
} slot;

struct w2v_words {
    slot *slots;
    uint64_t mask;           /* capacity - 1 */
    int64_t size;
    char *arena;
    int64_t arena_used, arena_cap;
};

uint64_t w2v_hash_bytes(const char *key, int64_t len)
{
    uint64_t h = W2V_HASH_START;
    for (int64_t i = 0; i < len; i++) h = w2v_hash_step(h, (unsigned char)key[i]);
    return w2v_hash_finish(h);
}

static slot *new_slots(uint64_t capacity)
{
    slot *s = malloc(sizeof(slot) * capacity);
    if (s)
        for (uint64_t i = 0; i < capacity; i++) s[i].id = -1;
    return s;
}

w2v_words *w2v_words_new(void)
{
    w2v_words *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->mask = 1023;
    w->slots = new_slots(w->mask + 1);
    w->arena_cap = 1 << 14;
    w->arena = malloc((size_t)w->arena_cap);
    if (!w->slots || !w->arena) {
        w2v_words_free(w);
        return NULL;
    }
    return w;
}

void w2v_words_free(w2v_words *words)
{
    if (!words) return;
    free(words->slots);
    free(words->arena);
    free(words);
}

int64_t w2v_words_size(const w2v_words *words) { return words->size; }

int32_t w2v_words_find(const w2v_words *w, const char *key, int64_t len, uint64_t hash)
{
    for (uint64_t i = hash & w->mask;; i = (i + 1) & w->mask) {
        const slot *s = &w->slots[i];
        if (s->id < 0) return -1;
        if (s->hash == hash && s->len == len && memcmp(w->arena + s->offset, key, (size_t)len) == 0)
            return s->id;
    }
}

int32_t w2v_words_get(const w2v_words *words, const char *key, int64_t len)
{
    return w2v_words_find(words, key, len, w2v_hash_bytes(key, len));
}

static void place(slot *slots, uint64_t mask, slot s)
{
    uint64_t i = s.hash & mask;
    while (slots[i].id >= 0) i = (i + 1) & mask;
    slots[i] = s;
}

static int grow_slots(w2v_words *w)
{
    uint64_t capacity = 2 * (w->mask + 1);
    slot *slots = new_slots(capacity);
    if (!slots) return W2V_ERR_NOMEM;
    for (uint64_t i = 0; i <= w->mask; i++)
        if (w->slots[i].id >= 0) place(slots, capacity - 1, w->slots[i]);
    free(w->slots);
    w->slots = slots;
    w->mask = capacity - 1;
    return W2V_OK;
}

static int reserve_arena(w2v_words *w, int64_t more)
{
    if (w->arena_used + more <= w->arena_cap) return W2V_OK;
    int64_t cap = w->arena_cap;
    while (cap < w->arena_used + more) cap *= 2;
    char *arena = realloc(w->arena, (size_t)cap);
    if (!arena) return W2V_ERR_NOMEM;
    w->arena = arena;
    w->arena_cap = cap;
    return W2V_OK;
}

int w2v_words_add(w2v_words *w, const char *key, int64_t len, int32_t id)
{
    if (2 * (uint64_t)(w->size + 1) > w->mask + 1 && grow_slots(w) != W2V_OK) return W2V_ERR_NOMEM;
    if (reserve_arena(w, len) != W2V_OK) return W2V_ERR_NOMEM;
    memcpy(w->arena + w->arena_used, key, (size_t)len);
    slot s = {w2v_hash_bytes(key, len), w->arena_used, (int32_t)len, id};
    w->arena_used += len;
    place(w->slots, w->mask, s);
    w->size++;
    return W2V_OK;
}
