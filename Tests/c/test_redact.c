/* test_redact.c — the one exit every string leaving the library goes
 * through (Sources/CYCText/text.c: JSON text in the library's own memory,
 * credentials masked) under allocation failure.  The file is compiled into
 * this program with its malloc/realloc/calloc routed to a counting
 * allocator, and Jansson's allocator is the same counter, so each
 * allocation the exit makes (its own, and Jansson's inside json_dumpb) is
 * failed in turn: the result must then be NULL, never the unmasked text,
 * and nothing may leak (ASan, valgrind). */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* ------------------------------------------------- the failing allocator */

static long alloc_calls;   /* allocations since arm() */
static long fail_at;       /* fail the allocation with this number (0: none) */
static int failed;         /* whether one was failed since arm() */

static int fail_now(void) {
    if (fail_at <= 0) return 0;
    if (++alloc_calls != fail_at) return 0;
    failed = 1;
    return 1;
}
static void *tr_malloc(size_t n) { return fail_now() ? NULL : malloc(n); }
__attribute__((unused)) static void *tr_realloc(void *p, size_t n) { return fail_now() ? NULL : realloc(p, n); }
__attribute__((unused)) static void *tr_calloc(size_t a, size_t b) { return fail_now() ? NULL : calloc(a, b); }
static void *tr_jansson_malloc(size_t n) { return fail_now() ? NULL : malloc(n); }

static void arm(long n) { alloc_calls = 0; failed = 0; fail_at = n; }
static void disarm(void) { fail_at = 0; }

#define malloc tr_malloc
#define realloc tr_realloc
#define calloc tr_calloc
#include "../../Sources/CYCText/text.c"
#undef malloc
#undef realloc
#undef calloc

#include "harness.h"

#define KEY "sk-redact-SECRET-5d1c0a77"
/* A credential with characters JSON escapes: in JSON text it is spelled
 * KEY_Q_ESCAPED. */
#define KEY_Q "tok\"en\\QUOTE-SECRET-9"
#define KEY_Q_ESCAPED "tok\\\"en\\\\QUOTE-SECRET-9"

/* As the library passes them (longest first): the raw spellings for plain
 * text, the JSON-escaped ones for JSON text. */
static ycx_secrets *make_secrets(int json) {
    const char *list[] = {KEY, json ? KEY_Q_ESCAPED : KEY_Q, "inner"};
    size_t lens[] = {strlen(KEY), strlen(list[1]), 0 /* dropped: empty */};
    return ycx_secrets_new(list, lens, 3);
}

/* No secret, raw or escaped, appears in `text`. */
static void check_clean(const char *text, size_t len, const char *what, const char *file, int line) {
    const char *secrets[] = {KEY, KEY_Q, KEY_Q_ESCAPED};
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
        if (memmem(text, len, secrets[i], strlen(secrets[i])))
            th_fail(file, line, "%s: \"%s\" in the output: %.300s", what, secrets[i], text);
}

/* Runs `produce` failing its 1st, 2nd, ... allocation until it succeeds:
 * every failed run gives NULL, the successful one gives `expected`.
 * Returns how many allocations the successful run made. */
typedef char *(*producer)(void *ctx, size_t *len);
static long each_failure(producer produce, void *ctx, const char *expected, size_t expected_len, const char *what,
                         const char *file, int line) {
    for (long n = 1; n <= 64; n++) {
        arm(n);
        size_t len = 0;
        char *out = produce(ctx, &len);
        int was_failed = failed;
        long made = alloc_calls;
        disarm();
        if (was_failed) {
            if (out) {
                check_clean(out, len, what, file, line);
                th_fail(file, line, "%s: allocation %ld failed but a string came back: %.200s", what, n, out);
                free(out);
            }
            continue;
        }
        if (!out) {
            th_fail(file, line, "%s: NULL with no allocation failed (run %ld)", what, n);
            return -1;
        }
        if (len != expected_len || memcmp(out, expected, len) != 0 || out[len] != '\0')
            th_fail(file, line, "%s: got %.300s (%zu bytes), expected %.300s (%zu bytes)", what, out, len,
                    expected, expected_len);
        check_clean(out, len, what, file, line);
        free(out);
        return made;
    }
    th_fail(file, line, "%s: still failing after 64 allocations", what);
    return -1;
}
#define EACH_FAILURE(produce, ctx, expected, what) \
    each_failure((produce), (ctx), (expected), strlen(expected), (what), __FILE__, __LINE__)

/* ------------------------------------------------------------- producers */

struct text_case {
    const ycx_secrets *secrets;
    const char *text;
};

static char *copy_producer(void *ctx, size_t *len) {
    struct text_case *c = ctx;
    return ycx_redacted_copy(c->secrets, c->text, strlen(c->text), len);
}

/* ycx_redacted on a buffer made before arming: the call owns it. */
static char *owned_producer(void *ctx, size_t *len) {
    struct text_case *c = ctx;
    long saved = fail_at;
    fail_at = 0;
    char *buf = strdup(c->text);
    fail_at = saved;
    if (!buf) return NULL;
    return ycx_redacted(c->secrets, buf, strlen(c->text), len);
}

struct json_case {
    const ycx_secrets *secrets;
    json_t *doc;
};

static char *export_producer(void *ctx, size_t *len) {
    struct json_case *c = ctx;
    return ycx_export_json(c->secrets, c->doc, len);
}

/* ----------------------------------------------------------------- tests */

TEST(masking_text_fails_closed_at_every_allocation) {
    ycx_secrets *secrets = make_secrets(0);
    REQUIRE(secrets);
    const struct {
        const char *text, *expected;
    } cases[] = {
        {"", ""},
        {"nothing to mask here", "nothing to mask here"},
        {KEY, YCX_MASK},
        {"key " KEY " and " KEY "!", "key " YCX_MASK " and " YCX_MASK "!"},
        {KEY KEY KEY, YCX_MASK YCX_MASK YCX_MASK},
        {"a " KEY_Q " b " KEY_Q " c " KEY, "a " YCX_MASK " b " YCX_MASK " c " YCX_MASK},
        {"almost sk-redact-SECRET-5d1c0a7 but not", "almost sk-redact-SECRET-5d1c0a7 but not"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct text_case c = {secrets, cases[i].text};
        char *what = th_strdup_printf("copy #%zu", i);
        long made = EACH_FAILURE(copy_producer, &c, cases[i].expected, what);
        /* One allocation per secret found, or one copy when none is. */
        CHECK(made >= 1, "%s: %ld allocations", what, made);
        free(what);
        what = th_strdup_printf("owned #%zu", i);
        made = EACH_FAILURE(owned_producer, &c, cases[i].expected, what);
        CHECK(made >= 0, "%s", what);
        free(what);
    }
    /* No secrets at all: a plain copy, still from the library's malloc. */
    struct text_case plain = {NULL, "plain text"};
    EACH_FAILURE(copy_producer, &plain, "plain text", "no secrets");
    ycx_secrets_free(secrets);
}

TEST(exporting_json_fails_closed_at_every_allocation) {
    ycx_secrets *secrets = make_secrets(1);
    REQUIRE(secrets);
    /* A document like yc_result's, with the credentials echoed at every
     * level; the quote-and-backslash one appears escaped in JSON text. */
    json_t *doc = json_pack("{s:s, s:s, s:{s:s, s:[s, s, i]}, s:n}", "id", "resp-1", "output_text",
                            "the key is " KEY ", the token " KEY_Q, "error", "message", "echo " KEY KEY, "list",
                            KEY, "x" KEY_Q "y", 42, "usage");
    REQUIRE(doc);
    /* Expected: Jansson's compact text with each credential masked. */
    char *plain = json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY);
    REQUIRE(plain);
    size_t plain_len = strlen(plain);
    char *expected = ycx_redacted_copy(secrets, plain, plain_len, NULL);
    free(plain);
    REQUIRE(expected);
    CHECK(strstr(expected, YCX_MASK) != NULL, "nothing masked: %s", expected);
    struct json_case c = {secrets, doc};
    long made = EACH_FAILURE(export_producer, &c, expected, "export");
    /* Jansson's own (json_dumpb's loop check), the text, the masks. */
    CHECK(made >= 2, "export made %ld allocations", made);
    th_note("export: %ld allocations, each failed in turn", made);
    free(expected);

    /* A JSON string on its own (JSON_ENCODE_ANY) and a document without a
     * credential: the text is handed out as it is, from our malloc. */
    json_t *s = json_string("only " KEY);
    c.doc = s;
    EACH_FAILURE(export_producer, &c, "\"only " YCX_MASK "\"", "string");
    json_decref(s);
    json_t *clean = json_pack("{s:s}", "status", "completed");
    c.doc = clean;
    EACH_FAILURE(export_producer, &c, "{\"status\":\"completed\"}", "clean");
    json_decref(clean);
    json_decref(doc);
    ycx_secrets_free(secrets);
}

TEST(a_secret_list_that_cannot_be_made_is_null) {
    const char *list[] = {KEY};
    size_t lens[] = {strlen(KEY)};
    arm(1);
    ycx_secrets *s = ycx_secrets_new(list, lens, 1);
    int was_failed = failed;
    disarm();
    CHECK(was_failed, "ycx_secrets_new made no allocation");
    CHECK(s == NULL, "ycx_secrets_new succeeded with its allocation failed");
    ycx_secrets_free(s);
    /* NULL in, NULL out. */
    CHECK(ycx_redacted(NULL, NULL, 0, NULL) == NULL, "ycx_redacted(NULL)");
    CHECK(ycx_json_text(NULL, NULL) == NULL, "ycx_json_text(NULL)");
}

int main(int argc, char **argv) {
    /* Jansson's allocations count too (json_dumpb's own bookkeeping). */
    json_set_alloc_funcs(tr_jansson_malloc, free);
    return th_main(argc, argv);
}
