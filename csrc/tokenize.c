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

static void add_unknown(const char *tok, int64_t len, int64_t position,
                        int32_t *unknown_pos, char *unknown_text, w2v_tokenized *r)
{
    unknown_pos[r->unknown++] = (int32_t)position;
    memcpy(unknown_text + r->unknown_bytes, tok, (size_t)len);
    r->unknown_bytes += len;
    unknown_text[r->unknown_bytes++] = '\n';
}

void w2v_tokenize(const w2v_words *words, const char *text, int64_t text_len,
                  const int64_t *doc_ends, int64_t n_docs,
                  int64_t max_chars, int64_t max_sentence,
                  int32_t *ids, int64_t *sentence_ends, int32_t *unknown_pos,
                  char *unknown_text, w2v_tokenized *out)
{
    (void)text_len;  /* the sizes of the outputs follow from it (w2v.h) */
    const unsigned char *t = (const unsigned char *)text;
    w2v_tokenized r = {0};
    int64_t i = 0;
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
                sentence_ends[r.sentences++] = r.tokens;
                in_sentence = 0;
            }
            in_sentence++;
            if (chars > max_chars) {
                r.skipped++;
                continue;
            }
            int32_t id = w2v_words_find(words, text + tok, i - tok, w2v_hash_finish(h));
            if (id < 0) add_unknown(text + tok, i - tok, r.tokens, unknown_pos, unknown_text, &r);
            ids[r.tokens++] = id;
        }
        i = end;
        sentence_ends[r.sentences++] = r.tokens;
    }
    *out = r;
}
