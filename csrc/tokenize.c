/* tokenize.c -- documents (UTF-8 bytes) to token ids in one pass, no Python per token.
 *
 * The split is Python's str.split() (what the Python path did before this
 * file existed, and what tests/test_tokenize.py checks it against), so a
 * document gives the same tokens whichever path reads it. Each token is
 * hashed while it is scanned and looked up in the word table; unknown tokens
 * are handed back as text for the vocabulary's candidate counting, which
 * stays in Python (they are few once the vocabulary has settled).
 */
#include <string.h>
#include "w2v.h"
#include "word_table.h"

/* The length of the multi-byte whitespace character at p (0: none), p[0] >= 0xC2. */
static int wide_space_len(const unsigned char *p, int64_t left)
{
    if (p[0] == 0xC2) return left >= 2 && (p[1] == 0x85 || p[1] == 0xA0) ? 2 : 0;   /* U+0085, U+00A0 */
    if (left < 3) return 0;
    if (p[0] == 0xE1) return p[1] == 0x9A && p[2] == 0x80 ? 3 : 0;               /* U+1680 */
    if (p[0] == 0xE3) return p[1] == 0x80 && p[2] == 0x80 ? 3 : 0;               /* U+3000 */
    if (p[0] != 0xE2) return 0;
    if (p[1] == 0x80)                                  /* U+2000-U+200A, U+2028, U+2029, U+202F */
        return (p[2] >= 0x80 && p[2] <= 0x8A) || p[2] == 0xA8 || p[2] == 0xA9 || p[2] == 0xAF ? 3 : 0;
    return p[1] == 0x81 && p[2] == 0x9F ? 3 : 0;                                  /* U+205F */
}

/* Whitespace at t[i] (i < end): its length in bytes, 0 if none. Letters and
 * digits leave at the first test. */
static inline int space_len(const unsigned char *t, int64_t i, int64_t end)
{
    unsigned char c = t[i];
    if (c > 0x20 && c < 0xC2) return 0;
    if (c <= 0x20) return (c >= 0x09 && c <= 0x0D) || c >= 0x1C;  /* \t\n\v\f\r, 0x1C-0x1F, space */
    return wide_space_len(t + i, end - i);
}

/* One counting or look-up call: its outputs, and (when counting) which
 * entries it touched, in first-occurrence order. */
typedef struct {
    w2v_words *words;
    w2v_tokens *out;
    int64_t min_count;       /* 0: look up only */
    int32_t *entry_of;       /* per unknown token: its entry (counting) */
    int32_t *touched;        /* entries first seen by this call, in order */
    int64_t n_touched;
} reading;

static void start_reading(reading *r, w2v_words *words, int64_t min_count, w2v_tokens *out)
{
    out->tokens = out->sentences = out->unknown = out->unknown_bytes = 0;
    out->skipped = out->promoted = out->promoted_bytes = 0;
    *r = (reading){words, out, min_count, out->scratch, NULL, 0};
}

/* The next kept token: its id, or -1 and (when counting) one more sighting of
 * its candidate entry, created if new. */
static int see(reading *r, const char *key, int64_t len, uint64_t hash)
{
    w2v_tokens *o = r->out;
    w2v_words *w = r->words;
    w2v_slot *s = w2v_words_find(w, key, len, hash);
    int64_t t = o->tokens++;
    if (s != NULL && s->id >= 0) {
        o->ids[t] = s->id;
        if (o->counts) o->counts[s->id]++;
        return W2V_OK;
    }
    o->ids[t] = -1;
    if (o->unknown_text) {
        memcpy(o->unknown_text + o->unknown_bytes, key, (size_t)len);
        o->unknown_bytes += len;
        o->unknown_text[o->unknown_bytes++] = '\n';
    }
    if (r->min_count > 0) {
        if (s == NULL && (s = w2v_words_insert(w, key, len, hash, -1, 0)) == NULL) return W2V_ERR_NOMEM;
        int32_t e = s->entry;
        w2v_entry *x = &w->entries[e];
        if (x->stamp != w->calls) {
            x->stamp = w->calls;
            x->seen = 0;
            r->touched[r->n_touched++] = e;
        }
        x->seen++;
        r->entry_of[o->unknown] = e;
    }
    o->unknown_pos[o->unknown++] = (int32_t)t;
    return W2V_OK;
}

/* Counting: add this call's sightings to the candidates, promote those that
 * reach min_count (in the order of their first occurrence in the call) and
 * give every occurrence of a promoted word, earlier ones too, its new id. */
static int finish_reading(reading *r, int status)
{
    w2v_words *w = r->words;
    w2v_tokens *o = r->out;
    w->calls++;   /* even after a failure: stale sightings are never counted */
    if (status != W2V_OK || r->min_count <= 0) return status;
    for (int64_t k = 0; k < r->n_touched; k++) {
        w2v_entry *x = &w->entries[r->touched[k]];
        x->count += x->seen;
        if (x->count < r->min_count) continue;
        x->id = (int32_t)w->n_words++;
        const char *key = w->arena + x->offset;
        w2v_words_find(w, key, x->len, w2v_hash_bytes(key, x->len))->id = x->id;   /* the slot's copy */
        memcpy(o->promoted_text + o->promoted_bytes, w->arena + x->offset, (size_t)x->len);
        o->promoted_bytes += x->len;
        o->promoted_ends[o->promoted] = o->promoted_bytes;   /* no separator: a token list's key may hold any byte */
        o->promoted_counts[o->promoted++] = x->count;
        x->count = 0;
    }
    if (o->promoted)
        for (int64_t u = 0; u < o->unknown; u++)
            o->ids[o->unknown_pos[u]] = w->entries[r->entry_of[u]].id;
    return W2V_OK;
}

/* Pass 1 of w2v_tokenize: the kept tokens' (start << 32 | length, hash) into
 * spans, the sentence ends, the skipped count. Returns the kept tokens. */
static int64_t split_documents(const unsigned char *t, const int64_t *doc_ends, int64_t n_docs,
                               int64_t max_chars, int64_t max_sentence, uint64_t *spans, w2v_tokens *out)
{
    int64_t i = 0, kept = 0;
    for (int64_t d = 0; d < n_docs; d++) {
        int64_t end = doc_ends[d], in_sentence = 0;
        for (;;) {
            int w;
            while (i < end && (w = space_len(t, i, end)) > 0) i += w;
            if (i >= end) break;
            int64_t tok = i, chars = 0;
            uint64_t h = W2V_HASH_START;
            do {
                h = w2v_hash_step(h, t[i]);
                chars += (t[i] & 0xC0) != 0x80;   /* a code point starts at every non-continuation byte */
                i++;
            } while (i < end && space_len(t, i, end) == 0);
            if (in_sentence == max_sentence) {     /* cut a long document (tokens dropped below count) */
                out->sentence_ends[out->sentences++] = kept;
                in_sentence = 0;
            }
            in_sentence++;
            if (chars > max_chars) {
                out->skipped++;
                continue;
            }
            spans[2 * kept] = (uint64_t)tok << 32 | (uint64_t)(i - tok);
            spans[2 * kept + 1] = w2v_hash_finish(h);
            kept++;
        }
        i = end;
        out->sentence_ends[out->sentences++] = kept;
    }
    return kept;
}

/* How many tokens ahead pass 2 prefetches the slot: enough to cover a miss
 * to L3 or memory while the tokens in between are looked up. */
#define AHEAD 8

int w2v_tokenize(w2v_words *words, const char *text, int64_t text_len,
                 const int64_t *doc_ends, int64_t n_docs,
                 int64_t max_chars, int64_t max_sentence, int64_t min_count, w2v_tokens *out)
{
    reading r;
    start_reading(&r, words, min_count, out);
    r.touched = out->scratch + text_len;
    uint64_t *spans = out->spans;
    int64_t n = split_documents((const unsigned char *)text, doc_ends, n_docs, max_chars, max_sentence, spans, out);
    /* Pass 2: look up (and count) with the slot of a later token already on
     * its way, so the table's cache misses overlap instead of adding up. */
    int status = W2V_OK;
    for (int64_t k = 0; k < n && status == W2V_OK; k++) {
        if (k + AHEAD < n) __builtin_prefetch(&words->slots[spans[2 * (k + AHEAD) + 1] & words->mask]);
        status = see(&r, text + (spans[2 * k] >> 32), (int64_t)(spans[2 * k] & 0xFFFFFFFFu), spans[2 * k + 1]);
    }
    return finish_reading(&r, status);
}

int w2v_count_tokens(w2v_words *words, const char *keys, const int64_t *key_ends, int64_t n_keys,
                     int64_t min_count, w2v_tokens *out)
{
    reading r;
    start_reading(&r, words, min_count, out);
    r.touched = out->scratch + n_keys;
    int status = W2V_OK;
    for (int64_t k = 0, start = 0; k < n_keys && status == W2V_OK; start = key_ends[k++]) {
        int64_t len = key_ends[k] - start;
        status = see(&r, keys + start, len, w2v_hash_bytes(keys + start, len));
    }
    return finish_reading(&r, status);
}
