#define _GNU_SOURCE
#include "yctext.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct ycx_secrets {
    size_t n;
    struct { const char *bytes; size_t len; } item[];
};

ycx_secrets *ycx_secrets_new(const char *const *secrets, const size_t *lens, size_t n) {
    size_t total = sizeof(ycx_secrets), kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (!secrets[i] || lens[i] == 0) continue;
        /* No size_t overflow: each secret is an object in memory already. */
        total += sizeof(((ycx_secrets *)0)->item[0]) + lens[i];
        kept++;
    }
    ycx_secrets *s = malloc(total);
    if (!s) return NULL;
    s->n = kept;
    char *bytes = (char *)&s->item[kept];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!secrets[i] || lens[i] == 0) continue;
        memcpy(bytes, secrets[i], lens[i]);
        s->item[k].bytes = bytes;
        s->item[k].len = lens[i];
        bytes += lens[i];
        k++;
    }
    return s;
}

void ycx_secrets_free(ycx_secrets *s) { free(s); }

static size_t count_hits(const char *text, size_t len, const char *secret, size_t slen) {
    size_t hits = 0;
    const char *p = text, *end = text + len, *hit;
    while ((hit = memmem(p, (size_t)(end - p), secret, slen))) {
        hits++;
        p = hit + slen;
    }
    return hits;
}

/* One secret masked in text[0, len): a new malloc'd buffer of exactly the
 * size needed, or NULL when memory runs out (or the size would overflow). */
static char *mask_one(const char *text, size_t len, const char *secret, size_t slen, size_t hits, size_t *out_len) {
    static const char mask[] = YCX_MASK;
    const size_t mask_len = sizeof mask - 1;
    /* len - hits*slen + hits*mask_len: hits*slen <= len, so only the
     * growth can overflow, and only when mask_len > slen. */
    size_t n = len - hits * slen;
    if (hits > (SIZE_MAX - 1 - n) / mask_len) return NULL;
    n += hits * mask_len;
    char *out = malloc(n + 1);
    if (!out) return NULL;
    char *w = out;
    const char *p = text, *end = text + len, *hit;
    while ((hit = memmem(p, (size_t)(end - p), secret, slen))) {
        memcpy(w, p, (size_t)(hit - p));
        w += hit - p;
        memcpy(w, mask, mask_len);
        w += mask_len;
        p = hit + slen;
    }
    memcpy(w, p, (size_t)(end - p));
    w += end - p;
    *w = '\0';
    *out_len = n;
    return out;
}

/* Masks every secret in turn.  `owned` says whether `text` is a malloc'd
 * buffer this call may return or must free. */
static char *redact(const ycx_secrets *s, char *text, size_t len, int owned, size_t *out_len) {
    char *cur = text;
    size_t cur_len = len;
    int cur_owned = owned;
    for (size_t i = 0; s && i < s->n; i++) {
        size_t hits = count_hits(cur, cur_len, s->item[i].bytes, s->item[i].len);
        if (hits == 0) continue;
        size_t n = 0;
        char *next = mask_one(cur, cur_len, s->item[i].bytes, s->item[i].len, hits, &n);
        if (cur_owned) free(cur);
        if (!next) return NULL;
        cur = next;
        cur_len = n;
        cur_owned = 1;
    }
    if (!cur_owned) {
        /* Nothing was masked in a borrowed text: the caller still gets a copy of its own. */
        char *copy = malloc(cur_len + 1);
        if (!copy) return NULL;
        memcpy(copy, cur, cur_len);
        copy[cur_len] = '\0';
        cur = copy;
    }
    if (out_len) *out_len = cur_len;
    return cur;
}

char *ycx_redacted_copy(const ycx_secrets *s, const char *text, size_t len, size_t *out_len) {
    return redact(s, (char *)text, len, 0, out_len);
}

char *ycx_redacted(const ycx_secrets *s, char *owned, size_t len, size_t *out_len) {
    if (!owned) return NULL;
    return redact(s, owned, len, 1, out_len);
}

char *ycx_json_text(const json_t *json, size_t *out_len) {
    const size_t flags = JSON_COMPACT | JSON_ENCODE_ANY;
    if (!json) return NULL;
    /* Twice through json_dumpb: once for the size, once into a buffer of
     * exactly that size from our own malloc (no regrowing copies). */
    size_t n = json_dumpb(json, NULL, 0, flags);
    if (n == 0 || n == SIZE_MAX) return NULL; /* Jansson's own allocation failed */
    char *buf = malloc(n + 1);
    if (!buf) return NULL;
    if (json_dumpb(json, buf, n, flags) != n) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    if (out_len) *out_len = n;
    return buf;
}

char *ycx_export_json(const ycx_secrets *s, const json_t *json, size_t *out_len) {
    size_t n = 0;
    char *text = ycx_json_text(json, &n);
    return text ? ycx_redacted(s, text, n, out_len) : NULL;
}
