/* word_table.h -- what tokenize.c shares with word_table.c (not part of the
 * Python contract, w2v.h): the hash, computed byte by byte while a token is
 * scanned, and a lookup by precomputed hash. */
#ifndef STREAM_W2V_WORD_TABLE_H
#define STREAM_W2V_WORD_TABLE_H

#include <stdint.h>
#include "w2v.h"

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
int32_t w2v_words_find(const w2v_words *words, const char *key, int64_t len, uint64_t hash);

#endif
