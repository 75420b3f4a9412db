/* scan.c: a quick, conservative look at a Response object (ycs_scan_response).
 * Most answers a client gets are polls of a queued or in-progress task: it
 * needs their id and status only, and building a Jansson tree for each costs
 * more than the rest of the request.  This checks the text against a strict
 * subset of JSON (anything outside it, valid or not, is left to Jansson). */
#include "ycshim.h"

#include <string.h>

typedef struct {
    const unsigned char *base, *p, *end;
} scanner;

enum { MAX_DEPTH = 64, MAX_INTEGER_DIGITS = 18, MAX_DIGITS = 300 };

static void skip_ws(scanner *s) {
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r')) s->p++;
}

/* The length of the well-formed UTF-8 sequence (Unicode Table 3-7: no
 * overlong forms, no surrogates, nothing above U+10FFFF) that starts a
 * non-ASCII byte at p, or 0. */
static size_t utf8_sequence(const unsigned char *p, const unsigned char *end) {
    unsigned char c = p[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf; /* the second byte's range */
    if (c >= 0xc2 && c <= 0xdf) n = 2;
    else if (c == 0xe0) { n = 3; lo = 0xa0; }
    else if (c == 0xed) { n = 3; hi = 0x9f; }
    else if (c >= 0xe1 && c <= 0xef) n = 3;
    else if (c == 0xf0) { n = 4; lo = 0x90; }
    else if (c == 0xf4) { n = 4; hi = 0x8f; }
    else if (c >= 0xf1 && c <= 0xf3) n = 4;
    else return 0;
    if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi) return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xbf) return 0;
    return n;
}

/* A string at s->p ('"'): well-formed UTF-8, no control characters, simple
 * escapes only (no \\u).  *escaped says whether it had any. */
static int scan_string(scanner *s, const unsigned char **start, size_t *len, int *escaped) {
    s->p++;
    *start = s->p;
    *escaped = 0;
    while (s->p < s->end) {
        unsigned char c = *s->p;
        if (c == '"') {
            *len = (size_t)(s->p - *start);
            s->p++;
            return 1;
        }
        if (c < 0x20) return 0;
        if (c >= 0x80) {
            size_t n = utf8_sequence(s->p, s->end);
            if (n == 0) return 0;
            s->p += n;
            continue;
        }
        if (c == '\\') {
            if (s->p + 1 >= s->end) return 0;
            switch (s->p[1]) {
            case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't': break;
            default: return 0;
            }
            *escaped = 1;
            s->p += 2;
            continue;
        }
        s->p++;
    }
    return 0;
}

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?, short enough for Jansson never to overflow. */
static int scan_number(scanner *s) {
    if (s->p < s->end && *s->p == '-') s->p++;
    const unsigned char *digits = s->p;
    if (s->p >= s->end || !is_digit(*s->p)) return 0;
    if (*s->p == '0') {
        s->p++;
    } else {
        while (s->p < s->end && is_digit(*s->p)) s->p++;
    }
    size_t integer_digits = (size_t)(s->p - digits);
    int real = 0;
    if (s->p < s->end && *s->p == '.') {
        real = 1;
        s->p++;
        const unsigned char *frac = s->p;
        while (s->p < s->end && is_digit(*s->p)) s->p++;
        if (s->p == frac) return 0;
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) return 0;
    return real ? integer_digits <= MAX_DIGITS && (size_t)(s->p - digits) <= MAX_DIGITS
                : integer_digits <= MAX_INTEGER_DIGITS;
}

static int scan_literal(scanner *s, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0) return 0;
    s->p += n;
    return 1;
}

static int scan_value(scanner *s, int depth, ycs_member *m);

static int scan_object(scanner *s, int depth, ycs_response_scan *top) {
    if (depth > MAX_DEPTH) return 0;
    s->p++; /* '{' */
    skip_ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        return 1;
    }
    while (1) {
        skip_ws(s);
        if (s->p >= s->end || *s->p != '"') return 0;
        const unsigned char *key;
        size_t key_len;
        int escaped;
        if (!scan_string(s, &key, &key_len, &escaped)) return 0;
        ycs_member *slot = NULL, ignored;
        if (top && !escaped) {
            if (key_len == 2 && memcmp(key, "id", 2) == 0) slot = &top->id;
            else if (key_len == 6 && memcmp(key, "status", 6) == 0) slot = &top->status;
            else if (key_len == 11 && memcmp(key, "output_text", 11) == 0) slot = &top->output_text;
            else if (key_len == 6 && memcmp(key, "output", 6) == 0) slot = &top->output;
            if (slot && slot->kind != YCS_MEMBER_ABSENT) return 0; /* repeated: Jansson decides */
        }
        skip_ws(s);
        if (s->p >= s->end || *s->p != ':') return 0;
        s->p++;
        skip_ws(s);
        if (!scan_value(s, depth, slot ? slot : &ignored)) return 0;
        skip_ws(s);
        if (s->p >= s->end) return 0;
        if (*s->p == ',') {
            s->p++;
            continue;
        }
        if (*s->p == '}') {
            s->p++;
            return 1;
        }
        return 0;
    }
}

static int scan_array(scanner *s, int depth, ycs_member *m) {
    if (depth > MAX_DEPTH) return 0;
    s->p++; /* '[' */
    skip_ws(s);
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        m->kind = YCS_MEMBER_EMPTY_ARRAY;
        return 1;
    }
    while (1) {
        ycs_member ignored;
        skip_ws(s);
        if (!scan_value(s, depth, &ignored)) return 0;
        skip_ws(s);
        if (s->p >= s->end) return 0;
        if (*s->p == ',') {
            s->p++;
            continue;
        }
        if (*s->p == ']') {
            s->p++;
            return 1;
        }
        return 0;
    }
}

/* One value at s->p (whitespace skipped), described in *m. */
static int scan_value(scanner *s, int depth, ycs_member *m) {
    m->kind = YCS_MEMBER_OTHER;
    m->escaped = 0;
    m->start = m->len = 0;
    if (s->p >= s->end) return 0;
    switch (*s->p) {
    case '{':
        return scan_object(s, depth + 1, NULL);
    case '[':
        return scan_array(s, depth + 1, m);
    case '"': {
        const unsigned char *start;
        size_t len;
        int escaped;
        if (!scan_string(s, &start, &len, &escaped)) return 0;
        m->kind = YCS_MEMBER_STRING;
        m->escaped = escaped;
        m->start = (size_t)(start - s->base);
        m->len = len;
        return 1;
    }
    case 't': return scan_literal(s, "true");
    case 'f': return scan_literal(s, "false");
    case 'n':
        if (!scan_literal(s, "null")) return 0;
        m->kind = YCS_MEMBER_NULL;
        return 1;
    default:
        return scan_number(s);
    }
}

int ycs_scan_response(const char *text, size_t len, ycs_response_scan *out) {
    memset(out, 0, sizeof *out);
    if (!text) return 0;
    scanner s = {(const unsigned char *)text, (const unsigned char *)text, (const unsigned char *)text + len};
    skip_ws(&s);
    if (s.p >= s.end || *s.p != '{') return 0;
    if (!scan_object(&s, 1, out)) return 0;
    skip_ws(&s);
    return s.p == s.end;
}
