/* test_oom.c — allocation failure on the exit path, through the real
 * library: this program defines malloc/calloc/realloc/free (the library
 * calls them through its PLT, so these interpose) and, while armed, fails
 * the Nth allocation of at least THRESHOLD bytes.  The task's text is far
 * larger than that and full of the credential, and Jansson's allocator is
 * pointed past the interposer, so the large allocations made inside
 * yc_result() and yc_output_text() are exactly those of the exit (the JSON
 * text and the masked copy).  Each one failed in turn must give NULL, never
 * a string with the credential; the run that fails nothing gives the masked
 * text.  (The same exit serves error documents; test_redact fails each of
 * its allocations directly.) */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define KEY "sk-oom-SECRET-0b5e2d94c1"
#define THRESHOLD (64 * 1024)

/* ---------------------------------------------------------- interposer */

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);

/* dlsym may allocate while the real functions are being looked up. */
static _Alignas(16) char boot[8192];
static size_t boot_used;
static __thread int resolving;

static atomic_int armed;
static atomic_long countdown;
static atomic_long large_seen;
static atomic_int failed;

static void *boot_alloc(size_t n) {
    n = (n + 15) & ~(size_t)15;
    if (boot_used + n > sizeof boot) return NULL;
    void *p = boot + boot_used;
    boot_used += n;
    return p;
}

static int from_boot(void *p) { return (char *)p >= boot && (char *)p < boot + sizeof boot; }

static void resolve(void) {
    resolving = 1;
    real_calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
    real_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
    real_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
    real_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
    resolving = 0;
}

static int fail_this(size_t n) {
    if (!atomic_load(&armed) || n < THRESHOLD) return 0;
    atomic_fetch_add(&large_seen, 1);
    if (atomic_fetch_sub(&countdown, 1) != 1) return 0;
    atomic_store(&failed, 1);
    return 1;
}

void *malloc(size_t n) {
    if (!real_malloc) {
        if (resolving) return boot_alloc(n);
        resolve();
    }
    return fail_this(n) ? NULL : real_malloc(n);
}

void *calloc(size_t a, size_t b) {
    if (!real_calloc) {
        if (resolving) return boot_alloc(a * b); /* zeroed: static storage */
        resolve();
    }
    return fail_this(a * b) ? NULL : real_calloc(a, b);
}

void *realloc(void *p, size_t n) {
    if (!real_realloc) resolve();
    if (from_boot(p)) {
        void *q = malloc(n);
        if (q) memcpy(q, p, n); /* boot blocks are small and never grow here */
        return q;
    }
    return fail_this(n) ? NULL : real_realloc(p, n);
}

void free(void *p) {
    if (!p || from_boot(p)) return;
    if (!real_free) resolve();
    real_free(p);
}

/* Jansson allocates past the interposer's failures. */
static void *jansson_malloc(size_t n) { return real_malloc(n); }
static void jansson_free(void *p) { real_free(p); }

static void arm(long n) {
    atomic_store(&failed, 0);
    atomic_store(&large_seen, 0);
    atomic_store(&countdown, n);
    atomic_store(&armed, 1);
}
static void disarm(void) { atomic_store(&armed, 0); }

/* ----------------------------------------------------------------- tests */

typedef char *(*exit_call)(yc_task *);

/* Fails the 1st, 2nd, ... large allocation of `call` until it succeeds. */
static void each_failure(yc_task *t, exit_call call, const char *what) {
    int failures = 0;
    for (long n = 1; n <= 16; n++) {
        arm(n);
        char *out = call(t);
        disarm();
        int was_failed = atomic_load(&failed);
        if (was_failed) {
            failures++;
            CHECK(out == NULL, "%s: large allocation %ld failed but a string came back", what, n);
            if (out) {
                CHECK_NO_SECRET(out);
                yc_free(out);
            }
            continue;
        }
        REQUIRE(out, "%s: NULL with no allocation failed", what);
        CHECK_NO_SECRET(out);
        CHECK(strstr(out, "[REDACTED]") != NULL, "%s: nothing masked", what);
        yc_free(out);
        /* Each large allocation of the exit was failed once. */
        CHECK(failures >= 1, "%s: no large allocation to fail (%ld seen)", what, atomic_load(&large_seen));
        th_note("%s: %d allocations failed in turn, then the masked text", what, failures);
        return;
    }
    th_fail(__FILE__, __LINE__, "%s: still failing after 16 allocations", what);
}

TEST(exit_allocations_fail_closed_through_the_library) {
    emu_t *emu = emu_start("--queue-ms 0 --work-ms 0 --api-key " KEY);
    REQUIRE(emu);
    th_add_secret(KEY);
    yc_client *client = client_for(emu, NULL);
    REQUIRE(client);
    /* An input of ~320 KiB with the credential every ~100 bytes; the output
     * echoes it (in output_text and in the response's output parts). */
    size_t reps = 3200;
    const char *chunk = "some words around the key " KEY " and more words after it, and so on .... ";
    size_t clen = strlen(chunk);
    char *input = malloc(reps * clen + 1);
    REQUIRE(input);
    for (size_t i = 0; i < reps; i++) memcpy(input + i * clen, chunk, clen);
    input[reps * clen] = '\0';
    char *request = th_strdup_printf("{\"model\": \"yandexgpt\", \"input\": \"%s\"}", input);
    free(input);
    yc_task *t = CREATE(client, request);
    free(request);
    REQUIRE(t);
    CHECK_STATUS(yc_wait(t, 30000), YC_STATUS_COMPLETED);
    /* Warm the paths once (one-time runtime allocations happen here). */
    char *warm = yc_result(t);
    CHECK_NO_SECRET(warm);
    CHECK(warm && strlen(warm) > THRESHOLD, "result of %zu bytes", warm ? strlen(warm) : 0);
    yc_free(warm);
    warm = yc_output_text(t);
    CHECK_NO_SECRET(warm);
    yc_free(warm);

    each_failure(t, yc_result, "yc_result");
    each_failure(t, yc_output_text, "yc_output_text");
    yc_task_free(t);
    yc_client_free(client);
}

int main(int argc, char **argv) {
    if (!real_malloc) resolve();
    json_set_alloc_funcs(jansson_malloc, jansson_free);
    return th_main(argc, argv);
}
