/* test_allocator.c — a host that installs its own Jansson allocator
 * (json_set_alloc_funcs) before it uses the library.  Jansson's allocator is
 * process-wide, and the library uses the same libjansson; yet every string
 * the library hands out must come from the library's own malloc, so that
 * yc_free (free) matches.  The host's allocator puts a header with a canary
 * before each block: a block of the host's given to free() is an invalid
 * free (ASan, valgrind, glibc), a block of the library's given to the host's
 * free shows a wrong canary, and every returned string is checked against
 * the host's live blocks before it is released with yc_free. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define CANARY 0x59434247414c4c43ULL /* "YCBGALLC" */
#define HEADER 32

/* Live host blocks, to tell whether a pointer is one (a small open hash). */
#define SLOTS (1 << 16)
static void *live[SLOTS];
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static long host_allocs, host_frees, bad_canaries, table_full;

static size_t slot_of(void *p) { return ((uintptr_t)p >> 4) * 2654435761u % SLOTS; }

static void remember(void *p) {
    pthread_mutex_lock(&live_lock);
    size_t i = slot_of(p);
    for (size_t k = 0; k < SLOTS; k++, i = (i + 1) % SLOTS) {
        if (!live[i] || live[i] == (void *)1) {
            live[i] = p;
            pthread_mutex_unlock(&live_lock);
            return;
        }
    }
    table_full++;
    pthread_mutex_unlock(&live_lock);
}

static int forget(void *p) {
    pthread_mutex_lock(&live_lock);
    size_t i = slot_of(p);
    for (size_t k = 0; k < SLOTS && live[i]; k++, i = (i + 1) % SLOTS) {
        if (live[i] == p) {
            live[i] = (void *)1; /* tombstone */
            pthread_mutex_unlock(&live_lock);
            return 1;
        }
    }
    pthread_mutex_unlock(&live_lock);
    return 0;
}

static int is_host_block(const void *p) {
    pthread_mutex_lock(&live_lock);
    size_t i = slot_of((void *)p);
    int found = 0;
    for (size_t k = 0; k < SLOTS && live[i]; k++, i = (i + 1) % SLOTS) {
        if (live[i] == p) { found = 1; break; }
    }
    pthread_mutex_unlock(&live_lock);
    return found;
}

static void *host_malloc(size_t n) {
    unsigned char *raw = malloc(n + HEADER);
    if (!raw) return NULL;
    uint64_t canary = CANARY;
    memcpy(raw, &canary, sizeof canary);
    memcpy(raw + 8, &n, sizeof n);
    __atomic_add_fetch(&host_allocs, 1, __ATOMIC_RELAXED);
    remember(raw + HEADER);
    return raw + HEADER;
}

static void host_free(void *p) {
    if (!p) return;
    unsigned char *raw = (unsigned char *)p - HEADER;
    uint64_t canary;
    memcpy(&canary, raw, sizeof canary);
    if (canary != CANARY || !forget(p)) {
        /* Not one of ours: Jansson was given a block from elsewhere.  Do not
         * free it (that would crash); count it. */
        __atomic_add_fetch(&bad_canaries, 1, __ATOMIC_RELAXED);
        return;
    }
    memset(raw, 0, sizeof canary);
    __atomic_add_fetch(&host_frees, 1, __ATOMIC_RELAXED);
    free(raw);
}

/* Checks that `s` is not a host block, then releases it with yc_free. */
static void release(char *s, const char *what, const char *file, int line) {
    if (!s) return;
    if (is_host_block(s)) {
        th_fail(file, line, "%s came from the host's Jansson allocator", what);
        host_free(s); /* the matching release, so the run goes on */
        return;
    }
    yc_free(s);
}
#define RELEASE(s, what) release((s), (what), __FILE__, __LINE__)

/* -------------------------------------------------------------- tests */

TEST(every_returned_string_comes_from_the_library) {
    emu_t *emu = emu_start("--queue-ms 50 --work-ms 50");
    REQUIRE(emu);
    long allocs_before = host_allocs;

    /* Errors from yc_client_new: config and JSON errors. */
    char *err = NULL;
    CHECK(yc_client_new("{\"api_key\": \"k\", \"timeout_ms\": -1}", &err) == NULL, "bad config accepted");
    CHECK(err != NULL, "no error");
    RELEASE(err, "a config error");
    err = NULL;
    CHECK(yc_client_new("{nope", &err) == NULL, "bad JSON accepted");
    RELEASE(err, "an invalid_json error");

    char *cfg = cfg_for(emu, NULL);
    err = NULL;
    yc_client *client = yc_client_new(cfg, &err);
    free(cfg);
    REQUIRE(client, "yc_client_new: %s", err ? err : "");

    /* Errors from the task constructors. */
    err = NULL;
    CHECK(yc_create_background(client, "[1, 2]", &err) == NULL, "an array accepted");
    RELEASE(err, "a create error");
    err = NULL;
    CHECK(yc_attach(client, "no-such-response", &err) == NULL, "unknown id attached");
    RELEASE(err, "an attach error");

    /* The workflow, every string released with yc_free. */
    yc_task *t = CREATE(client, "{\"model\": \"yandexgpt\", \"input\": \"allocator check\"}");
    REQUIRE(t);
    CHECK_STATUS(yc_wait(t, 30000), YC_STATUS_COMPLETED);
    char *result = yc_result(t);
    CHECK(result && strstr(result, "Echo: allocator check"), "result: %s", result ? result : "(null)");
    RELEASE(result, "yc_result");
    char *text = yc_output_text(t);
    CHECK(text && strcmp(text, "Echo: allocator check") == 0, "output: %s", text ? text : "(null)");
    RELEASE(text, "yc_output_text");
    CHECK_STATUS(yc_cancel(t), YC_STATUS_COMPLETED);
    yc_task *again = yc_attach(client, yc_task_id(t), &err);
    CHECK(again != NULL, "attach failed");
    CHECK_STATUS(yc_poll(again), YC_STATUS_COMPLETED);
    RELEASE(yc_result(again), "yc_result of an attached task");

    /* A task whose last call failed: its result carries an error document. */
    yc_task *q = CREATE(client, "{\"model\": \"yandexgpt\", \"input\": \"x\", \"metadata\": "
                                "{\"emulator_queue_ms\": \"60000\"}}");
    REQUIRE(q);
    emu_fault(emu, "{\"match\": \"retrieve\", \"kind\": \"status\", \"status\": 400}");
    CHECK_STATUS(yc_poll(q), YC_STATUS_ERROR);
    result = yc_result(q);
    CHECK(result && strstr(result, "\"http_status\":400"), "result: %s", result ? result : "(null)");
    RELEASE(result, "yc_result with an error");
    RELEASE(yc_output_text(q), "yc_output_text of a queued task");
    yc_task_free(q);
    yc_task_free(again);
    yc_task_free(t);
    yc_client_free(client);

    /* The host's allocator really was the one Jansson used. */
    CHECK(host_allocs > allocs_before, "Jansson never called the host's allocator");
    CHECK_INT(bad_canaries, 0);
    CHECK_INT(table_full, 0);
    th_note("%ld host allocations, %ld host frees", host_allocs, host_frees);
}

int main(int argc, char **argv) {
    /* Before anything uses Jansson (the harness too). */
    json_set_alloc_funcs(host_malloc, host_free);
    return th_main(argc, argv);
}
