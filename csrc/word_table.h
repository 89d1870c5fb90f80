/* word_table.h -- what tokenize.c shares with word_table.c (not part of the
 * Python contract, w2v.h): the table's layout, the hash (computed byte by
 * byte while a token is scanned) and lookup / insertion by precomputed hash. */
#ifndef STREAM_W2V_WORD_TABLE_H
#define STREAM_W2V_WORD_TABLE_H

#include <stdint.h>
#include "w2v.h"

typedef struct {
    int64_t offset;          /* of the key's bytes in the arena */
    int32_t len;
    int32_t id;              /* row id of a word; -1 for a candidate */
    int64_t count;           /* a candidate's count (words' counts are Python's) */
    int64_t stamp;           /* the counting call that last saw it */
    int64_t seen;            /* ... and how often that call saw it */
} w2v_entry;

#define W2V_HEAD 12          /* key bytes held in the slot itself */

/* 32 bytes, two per cache line. A probe that finds a key of at most
 * W2V_HEAD bytes (most words) reads nothing but its slot: the id and the
 * key's first bytes are here, so the common case costs one cache miss
 * instead of three (slot, entry, arena). */
typedef struct {
    uint64_t hash;
    int32_t entry;           /* -1: empty */
    int32_t id;              /* the entry's id (-1: a candidate), kept in step */
    int32_t len;
    char head[W2V_HEAD];     /* the key's first bytes, zero padded */
} w2v_slot;

struct w2v_words {
    w2v_slot *slots;
    uint64_t mask;           /* slot capacity - 1 */
    w2v_entry *entries;
    int64_t n_entries, entries_cap, n_words;
    char *arena;
    int64_t arena_used, arena_cap;
    int64_t calls;           /* counting calls so far: the stamp of the next */
};

#define W2V_HASH_START 0xcbf29ce484222325ULL   /* FNV-1a offset basis */

static inline uint64_t w2v_hash_step(uint64_t h, unsigned char byte)
{
    return (h ^ byte) * 0x100000001b3ULL;      /* FNV-1a prime */
}

/* A final avalanche (splitmix64's): FNV-1a's low bits, the slot index, depend
 * weakly on the last bytes, so words differing in one letter would cluster. */
static inline uint64_t w2v_hash_finish(uint64_t h)
{
    h ^= h >> 30; h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27; h *= 0x94d049bb133111ebULL;
    return h ^ (h >> 31);
}

uint64_t w2v_hash_bytes(const char *key, int64_t len);
/* The slot of key, or NULL. */
w2v_slot *w2v_words_find(const w2v_words *words, const char *key, int64_t len, uint64_t hash);
/* A new entry (key not present); its slot, or NULL when out of memory. */
w2v_slot *w2v_words_insert(w2v_words *words, const char *key, int64_t len, uint64_t hash,
                           int32_t id, int64_t count);

#endif
