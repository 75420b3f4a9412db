/* test_faults.c — every emulator fault kind on create and on poll, with and
 * without retries: error kinds, retry policy, Idempotency-Key, timeouts. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

/* Queued for 2 s so that a task stays non-terminal while faults play. */
#define EMU_ARGS "--queue-ms 2000 --work-ms 200"
#define REQ "{\"model\": \"yandexgpt\", \"input\": \"fault test\"}"

/* Runs a create expected to fail; returns the parsed error (or NULL). */
static json_t *create_error(yc_client *client, const char *file, int line) {
    char *err = NULL;
    yc_task *t = yc_create_background(client, REQ, &err);
    if (t) {
        th_fail(file, line, "create succeeded although it should have failed");
        yc_task_free(t);
    }
    if (!err) th_fail(file, line, "no error_json from a failed create");
    json_t *e = take_error(err);
    th_check_error_shape(e, file, line);
    return e;
}
#define CREATE_ERROR(client) create_error((client), __FILE__, __LINE__)

/* The error recorded by the last call on a task (new reference or NULL). */
static json_t *task_error(yc_task *t) {
    json_t *r = task_result(t);
    json_t *e = json_object_get(r, "error");
    if (e) json_incref(e);
    json_decref(r);
    return json_is_object(e) ? e : (json_decref(e), NULL);
}

static const char *task_status_text(yc_task *t, char *buf, size_t n) {
    json_t *r = task_result(t);
    snprintf(buf, n, "%s", jstr(r, "status") ? jstr(r, "status") : "(none)");
    json_decref(r);
    return buf;
}

/* A poll expected to fail: ERROR, the status kept, the error returned. */
static json_t *poll_error(yc_task *t, const char *file, int line) {
    char before[32], after[32];
    task_status_text(t, before, sizeof before);
    yc_status s = yc_poll(t);
    if (s != YC_STATUS_ERROR) th_fail(file, line, "yc_poll returned %s, expected error", yc_status_name(s));
    task_status_text(t, after, sizeof after);
    if (strcmp(before, after) != 0)
        th_fail(file, line, "a failed poll changed the task's status from %s to %s", before, after);
    json_t *e = task_error(t);
    if (!e) th_fail(file, line, "no error recorded after a failed poll");
    th_check_error_shape(e, file, line);
    return e;
}
#define POLL_ERROR(t) poll_error((t), __FILE__, __LINE__)

static bool message_has(json_t *e, const char *needle) {
    const char *m = jstr(e, "message");
    return m && strcasestr(m, needle) != NULL;
}

static long creates(emu_t *emu) { return emu_stat(emu, "requests.create"); }
static long retrieves(emu_t *emu) { return emu_stat(emu, "requests.retrieve"); }

/* ---------------------------------------------------------- status kinds */

TEST(rate_limit_429_retry_after_on_create) {
    emu_t *emu = emu_start(EMU_ARGS);
    REQUIRE(emu);
    yc_client *client = client_for(emu, "\"max_retries\": 2");
    REQUIRE(client);
    emu_fault(emu, "{\"match\": \"create\", \"kind\": \"status\", \"status\": 429, \"retry_after\": \"1\"}");
    double t0 = th_now_ms();
    yc_task *t = CREATE(client, REQ);
    double dt = th_now_ms() - t0;
    CHECK(t != NULL, "create not retried after 429");
    CHECK(dt >= 900, "retried after %.0f ms, before Retry-After: 1", dt);
    CHECK(dt < 4000 + th_slack_ms(), "create took %.0f ms", dt);
    CHECK_INT(creates(emu), 2);
    CHECK_INT(emu_stat(emu, "responses"), 1);
    yc_task_free(t);

    /* Without retries: the 429 is the answer. */
    yc_client *once = client_for(emu, "\"max_retries\": 0");
    emu_fault(emu, "{\"match\": \"create\", \"kind\": \"status\", \"status\": 429, \"retry_after\": \"1\"}");
    json_t *e = CREATE_ERROR(once);
    CHECK_STR(err_kind(e), "api");
    CHECK_INT(jint(e, "http_status", -1), 429);
    CHECK_STR(jstr(e, "code"), "rate_limit_exceeded");
    CHECK(json_is_true(json_object_get(e, "retryable")), "429 is retryable");
    CHECK(th_is_uuid(jstr(e, "request_id")), "request_id (x-request-id) missing");
    json_decref(e);
    CHECK_INT(creates(emu), 3);

    /* Retries used up: 3 attempts, the last error. */
    emu_fault(emu, "{\"match\": \"create\", \"kind\": \"status\", \"status\": 429, \"retry_after_ms\": \"20\", "
                   "\"count\": 3}");
    e = CREATE_ERROR(client);
    CHECK_STR(err_kind(e), "api");
    CHECK_INT(jint(e, "http_status", -1), 429);
    json_decref(e);
    CHECK_INT(creates(emu), 6);
    yc_client_free(once);
    yc_client_free(client);
}

TEST(rate_limit_429_retry_after_on_poll) {
    emu_t *emu = emu_start(EMU_ARGS);
    REQUIRE(emu);
    yc_client *client = client_for(emu, "\"max_retries\": 2");
    REQUIRE(client);
    yc_task *t = CREATE(client, REQ);
    REQUIRE(t);
    emu_fault(emu, "{\"match\": \"retrieve\", \"kind\": \"status\", \"status\": 429, \"retry_after\": \"1\"}");
    double t0 = th_now_ms();
    yc_status s = yc_poll(t);
    double dt = th_now_ms() - t0;
    CHECK_STATUS(s, YC_STATUS_QUEUED);
    CHECK(dt >= 900 && dt < 4000 + th_slack_ms(), "poll retried after %.0f ms (Retry-After: 1)", dt);
    CHECK_INT(retrieves(emu), 2);
    json_t *e = task_error(t);
    CHECK(e == NULL, "error not cleared by the successful retry");
    json_decref(e);

    /* retry-after-ms wins and is short. */
    emu_fault(emu, "{\"match\": \"retrieve\", \"kind\": \"status\", \"status\": 429, \"retry_after_ms\": \"30\", "
                   "\"count\": 2}");
    t0 = th_now_ms();
    CHECK_STATUS(yc_poll(t), YC_STATUS_QUEUED);
    dt = th_now_ms() - t0;
    CHECK(dt < 1000 + th_slack_ms(), "retry-after-ms 30 twice took %.0f ms", dt);
    CHECK_INT(retrieves(emu), 5);

    yc_client *once = client_for(emu, "\"max_retries\": 0");
    yc_task *t1 = yc_attach(once, yc_task_id(t), NULL);
    REQUIRE(t1);
    emu_fault(emu, "{\"match\": \"retrieve\", \"kind\": \"status\", \"status\": 429}");
    e = POLL_ERROR(t1);
    CHECK_STR(err_kind(e), "api");
    CHECK_INT(jint(e, "http_status", -1), 429);
    CHECK_STR(jstr(e, "code"), "rate_limit_exceeded");
    CHECK(json_is_true(json_object_get(e, "retryable")), "429 retryable");
    json_decref(e);
    yc_task_free(t1);
    yc_task_free(t);
    yc_client_free(once);
    yc_client_free(client);
}

TEST(server_errors_5xx_retried_on_poll) {
    emu_t *emu = emu_start(EMU_ARGS);
    REQUIRE(emu);
    yc_client *client = client_for(emu, "\"max_retries\": 2");
    REQUIRE(client);
    yc_task *t = CREATE(client, REQ);
    REQUIRE(t);
    int statuses[] = {500, 502, 503, 504, 599};
    long n = 0;
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        emu_fault(emu, "{\"match\": \"retrieve\", \"kind\": \"status\", \"status\": %d, \"retry_after_ms\": \"10\", "
                       "\"count\": 2}",
                  statuses[i]);
        CHECK(yc_poll(t) == YC_STATUS_QUEUED, "poll not retried through two %d answers", statuses[i]);
        n += 3;
        CHECK_INT(retrieves(emu), n);
    }
    /* Without retry hints: the library's own backoff, still bounded. */
    emu_fault(emu, "{\"match\": \"retrieve\", \"kind\": \"status\", \"status\": 500}");
    double t0 = th_now_ms();
    CHECK_STATUS(yc_poll(t), YC_STATUS_QUEUED);
    double dt = th_now_ms() - t0;
    CHECK(dt < 3000 + th_slack_ms(), "one default backoff took %.0f ms", dt);
    th_note("default backoff before the first retry: %.0f ms", dt);
    /* 408 and 409 are retried on a retrieve too. */
    emu_fault(emu, "[{\"match\": \"retrieve\", \"kind\": \"status\", \"status\": 408, \"retry_after_ms\": \"10\"},"
                   " {\"match\": \"retrieve\", \"kind\": \"status\", \"status\": 409, \"retry_after_ms\": \"10\"}]");
    long before = retrieves(emu);
    CHECK_STATUS(yc_poll(t), YC_STATUS_QUEUED);
    CHECK_INT(retrieves(emu), before + 3);
    /* 400 is not retried. */
    emu_fault(emu, "{\"match\": \"retrieve\", \"kind\": \"status\", \"status\": 400}");
    before = retrieves(emu);
    json_t *e = POLL_ERROR(t);
    CHECK_STR(err_kind(e), "api");
    CHECK_INT(jint(e, "http_status", -1), 400);
    CHECK(json_is_false(json_object_get(e, "retryable")), "400 is not retryable");
    json_decref(e);
    CHECK_INT(retrieves(emu), before + 1);
    yc_task_free(t);
    yc_client_free(client);
}

TEST(server_error_on_poll_without_retries) {
    emu_t *emu = emu_start(EMU_ARGS);
    REQUIRE(emu);
    yc_client *client = client_for(emu, "\"max_retries\": 0");
    REQUIRE(client);
    yc_task *t = CREATE(client, REQ);
    REQUIRE(t);
    emu_fault(emu, "{\"match\": \"retrieve\", \"kind\": \"status\", \"status\": 503, \"retry_after_ms\": \"10\"}");
    json_t *e = POLL_ERROR(t);
    CHECK_STR(err_kind(e), "api");
    CHECK_INT(jint(e, "http_status", -1), 503);
    CHECK_STR(jstr(e, "code"), "server_error");
    CHECK(json_is_true(json_object_get(e, "retryable")), "503 retryable");
    CHECK(th_is_uuid(jstr(e, "request_id")), "request_id missing");
    json_decref(e);
    CHECK_INT(retrieves(emu), 1);
    yc_task_free(t);
    yc_client_free(client);
}

/* The creates the emulator saw all carry one Idempotency-Key, each its own
 * x-client-request-id; returns how many there were. */
static size_t creates_share_one_key(emu_t *emu, const char *file, int line) {
    json_t *cr = emu_creates(emu);
    size_t n = json_array_size(cr);
    const char *key0 = req_header(json_array_get(cr, 0), "idempotency-key");
    const char *id0 = req_header(json_array_get(cr, 0), "x-client-request-id");
    if (!th_is_uuid(key0)) th_fail(file, line, "no Idempotency-Key on the first create");
    for (size_t i = 1; i < n; i++) {
        const char *key = req_header(json_array_get(cr, i), "idempotency-key");
        if (!key || !key0 || strcmp(key, key0) != 0)
            th_fail(file, line, "create %zu: Idempotency-Key %s, the first had %s", i, key ? key : "(none)",
                    key0 ? key0 : "(none)");
        const char *idi = req_header(json_array_get(cr, i), "x-client-request-id");
        if (!th_is_uuid(idi) || !id0 || strcmp(idi, id0) == 0)
            th_fail(file, line, "create %zu reused x-client-request-id", i);
    }
    json_decref(cr);
    return n;
}

/* ycbg.h: without trust_idempotency_key a create is resent only when no
 * connection was made or the server answered 429 or 503; a gateway's 502 or
 * 504 may come after it passed the create on, so it goes to the caller,
 * retryable, saying that the job may exist. */
TEST(create_retried_only_on_429_and_503) {
    emu_t *emu = emu_start(EMU_ARGS);
    REQUIRE(emu);
    yc_client *client = client_for(emu, "\"max_retries\": 3");
    REQUIRE(client);
    /* 500, 502, 504: exactly one create reaches the server. */
    int once[] = {500, 502, 504};
    for (size_t k = 0; k < sizeof once / sizeof once[0]; k++) {
        emu_reset(emu);
        emu_fault(emu, "{\"match\": \"create\", \"kind\": \"status\", \"status\": %d, \"retry_after_ms\": \"10\"}",
                  once[k]);
        json_t *e = CREATE_ERROR(client);
        CHECK_STR(err_kind(e), "api");
        CHECK_INT(jint(e, "http_status", -1), once[k]);
        CHECK_STR(jstr(e, "code"), "server_error");
        CHECK(json_is_true(json_object_get(e, "retryable")), "%d is retryable per the error table", once[k]);
        if (once[k] != 500)
            CHECK(message_has(e, "may exist"), "%d on create: the message does not say the job may exist: %s",
                  once[k], jstr(e, "message"));
        th_note("%d on create -> %s", once[k], jstr(e, "message"));
        json_decref(e);
        CHECK(creates(emu) == 1, "%d on create: %ld creates reached the server", once[k], creates(emu));
        json_t *all = emu_requests(emu, 100);
        CHECK(json_array_size(all) == 1, "%d on create: %zu API requests in the log", once[k], json_array_size(all));
        json_decref(all);
    }
    /* The HTML proxy page (502) and the empty 504 are refused the same way. */
    const char *gateway_kinds[] = {"html", "empty"};
    for (int k = 0; k < 2; k++) {
        emu_reset(emu);
        emu_fault(emu, "{\"match\": \"create\", \"kind\": \"%s\", \"retry_after_ms\": \"10\"}", gateway_kinds[k]);
        json_t *e = CREATE_ERROR(client);
        CHECK_STR(err_kind(e), "http");
        CHECK(json_is_true(json_object_get(e, "retryable")), "%s: retryable", gateway_kinds[k]);
        CHECK(message_has(e, "may exist"), "%s on create: %s", gateway_kinds[k], jstr(e, "message"));
        json_decref(e);
        CHECK(creates(emu) == 1, "%s on create: %ld creates", gateway_kinds[k], creates(emu));
    }

    /* 429 and 503: retried with the same Idempotency-Key; one job. */
    int retried[] = {429, 503};
    for (size_t k = 0; k < sizeof retried / sizeof retried[0]; k++) {
        emu_reset(emu);
        emu_fault(emu, "{\"match\": \"create\", \"kind\": \"status\", \"status\": %d, \"retry_after_ms\": \"10\", "
                       "\"count\": 2}",
                  retried[k]);
        yc_task *t = CREATE(client, REQ);
        CHECK(t != NULL, "create not retried through %d", retried[k]);
        CHECK(creates_share_one_key(emu, __FILE__, __LINE__) == 3, "%d: not 3 creates", retried[k]);
        CHECK_INT(emu_stat(emu, "responses"), 1);
        yc_task_free(t);
        /* Retries used up: the last answer, with nothing said about a job. */
        emu_reset(emu);
        emu_fault(emu, "{\"match\": \"create\", \"kind\": \"status\", \"status\": %d, \"retry_after_ms\": \"10\", "
                       "\"count\": 4}",
                  retried[k]);
        json_t *e = CREATE_ERROR(client);
        CHECK_INT(jint(e, "http_status", -1), retried[k]);
        CHECK(json_is_true(json_object_get(e, "retryable")), "%d retryable", retried[k]);
        CHECK(!message_has(e, "may exist"), "%d: no job can exist, yet: %s", retried[k], jstr(e, "message"));
        json_decref(e);
        CHECK_INT(creates(emu), 4);
        CHECK_INT(emu_stat(emu, "responses"), 0);
    }

    /* trust_idempotency_key: 502 and 504 are retried like a retrieve, with
     * the same key, and the caller gets the one job. */
    yc_client *trusting = client_for(emu, "\"max_retries\": 3, \"trust_idempotency_key\": true");
    REQUIRE(trusting);
    for (size_t k = 1; k < sizeof once / sizeof once[0]; k++) {
        emu_reset(emu);
        emu_fault(emu, "{\"match\": \"create\", \"kind\": \"status\", \"status\": %d, \"retry_after_ms\": \"10\", "
                       "\"count\": 2}",
                  once[k]);
        yc_task *t = CREATE(trusting, REQ);
        CHECK(t != NULL, "trust_idempotency_key: create not retried through %d", once[k]);
        CHECK(creates_share_one_key(emu, __FILE__, __LINE__) == 3, "%d: not 3 creates", once[k]);
        CHECK_INT(emu_stat(emu, "responses"), 1);
        yc_task_free(t);
    }
    yc_client_free(trusting);
    yc_client_free(client);
}

TEST(x_should_retry_false_stops_retries) {
    emu_t *emu = emu_start(EMU_ARGS);
    REQUIRE(emu);
    yc_client *client = client_for(emu, "\"max_retries\": 3");
    REQUIRE(client);
    emu_fault(emu, "{\"match\": \"create\", \"kind\": \"status\", \"status\": 503, \"should_retry\": \"false\", "
                   "\"retry_after_ms\": \"10\"}");
    json_t *e = CREATE_ERROR(client);
    CHECK_INT(jint(e, "http_status", -1), 503);
    json_decref(e);
    CHECK_INT(creates(emu), 1);

    yc_task *t = CREATE(client, REQ);
    REQUIRE(t);
    emu_fault(emu, "{\"match\": \"retrieve\", \"kind\": \"status\", \"status\": 503, \"should_retry\": \"false\", "
                   "\"retry_after_ms\": \"10\"}");
    e = POLL_ERROR(t);
    CHECK_INT(jint(e, "http_status", -1), 503);
    json_decref(e);
    CHECK_INT(retrieves(emu), 1);

    /* x-should-retry: true makes a retrieve retry an answer it would not. */
    emu_fault(emu, "{\"match\": \"retrieve\", \"kind\": \"status\", \"status\": 400, \"should_retry\": \"true\", "
                   "\"retry_after_ms\": \"10\"}");
    CHECK_STATUS(yc_poll(t), YC_STATUS_QUEUED);
    CHECK_INT(retrieves(emu), 3);
    yc_task_free(t);
    yc_client_free(client);
}

/* ------------------------------------------------------- body shapes */

TEST(html_502_is_http_error) {
    emu_t *emu = emu_start(EMU_ARGS);
    REQUIRE(emu);
    yc_client *client = client_for(emu, "\"max_retries\": 0");
    REQUIRE(client);
    emu_fault(emu, "{\"match\": \"create\", \"kind\": \"html\"}");
    json_t *e = CREATE_ERROR(client);
    CHECK_STR(err_kind(e), "http");
    CHECK_INT(jint(e, "http_status", -1), 502);
    CHECK(message_has(e, "502"), "message does not name the status: %s", jstr(e, "message"));
    CHECK(!message_has(e, "<html"), "message dumps the HTML page: %s", jstr(e, "message"));
    CHECK(json_is_true(json_object_get(e, "retryable")), "502 retryable");
    CHECK(th_is_uuid(jstr(e, "request_id")), "request_id missing");
    json_decref(e);

    yc_task *t = CREATE(client, REQ);
    REQUIRE(t);
    emu_fault(emu, "{\"match\": \"retrieve\", \"kind\": \"html\", \"status\": 504}");
    e = POLL_ERROR(t);
    CHECK_STR(err_kind(e), "http");
    CHECK_INT(jint(e, "http_status", -1), 504);
    json_decref(e);

    /* With retries, a 502 proxy page on create is still not resent (the
     * job may exist), but on a retrieve it is. */
    yc_client *retrying = client_for(emu, "\"max_retries\": 2");
    emu_fault(emu, "{\"match\": \"create\", \"kind\": \"html\", \"retry_after_ms\": \"10\"}");
    long before = creates(emu);
    e = CREATE_ERROR(retrying);
    CHECK_INT(jint(e, "http_status", -1), 502);
    CHECK(message_has(e, "may exist"), "message: %s", jstr(e, "message"));
    json_decref(e);
    CHECK_INT(creates(emu), before + 1);
    yc_task *t2 = yc_attach(retrying, yc_task_id(t), NULL);
    REQUIRE(t2);
    emu_fault(emu, "{\"match\": \"retrieve\", \"kind\": \"html\", \"retry_after_ms\": \"10\"}");
    long r0 = retrieves(emu);
    CHECK_STATUS(yc_poll(t2), YC_STATUS_QUEUED);
    CHECK_INT(retrieves(emu), r0 + 2);
    yc_task_free(t2);
    yc_client_free(retrying);
    yc_task_free(t);
    yc_client_free(client);
}

TEST(yandex_error_shapes_are_api_errors) {
    emu_t *emu = emu_start(EMU_ARGS);
    REQUIRE(emu);
    yc_client *client = client_for(emu, "\"max_retries\": 0");
    REQUIRE(client);
    const char *kinds[] = {"yandex", "yandex_gateway"};
    for (int k = 0; k < 2; k++) {
        emu_fault(emu, "{\"match\": \"create\", \"kind\": \"%s\"}", kinds[k]);
        json_t *e = CREATE_ERROR(client);
        CHECK_STR(err_kind(e), "api");
        CHECK_INT(jint(e, "http_status", -1), 503);
        CHECK(jstr(e, "code") && *jstr(e, "code"), "%s shape: no code", kinds[k]);
        CHECK(message_has(e, "service unavailable"), "%s shape: message not the server's: %s", kinds[k],
              jstr(e, "message"));
        CHECK(json_is_true(json_object_get(e, "retryable")), "503 retryable");
        th_note("%s 503 -> code %s, message %s", kinds[k], jstr(e, "code"), jstr(e, "message"));
        json_decref(e);

        emu_fault(emu, "{\"match\": \"create\", \"kind\": \"%s\", \"status\": 403}", kinds[k]);
        e = CREATE_ERROR(client);
        CHECK_STR(err_kind(e), "api");
        CHECK_INT(jint(e, "http_status", -1), 403);
        CHECK(jstr(e, "code") && *jstr(e, "code"), "%s 403: no code", kinds[k]);
        CHECK(json_is_false(json_object_get(e, "retryable")), "403 not retryable");
        json_decref(e);
    }
    yc_task *t = CREATE(client, REQ);
    REQUIRE(t);
    for (int k = 0; k < 2; k++) {
        emu_fault(emu, "{\"match\": \"retrieve\", \"kind\": \"%s\", \"status\": 429}", kinds[k]);
        json_t *e = POLL_ERROR(t);
        CHECK_STR(err_kind(e), "api");
        CHECK_INT(jint(e, "http_status", -1), 429);
        CHECK(jstr(e, "code") && *jstr(e, "code"), "no code");
        CHECK(message_has(e, "quota"), "message: %s", jstr(e, "message"));
        json_decref(e);
    }
    /* With retries, both shapes of 503 are retried, on create and on poll. */
    yc_client *retrying = client_for(emu, "\"max_retries\": 2");
    emu_fault(emu, "[{\"match\": \"create\", \"kind\": \"yandex\", \"retry_after_ms\": \"10\"},"
                   " {\"match\": \"create\", \"kind\": \"yandex_gateway\", \"retry_after_ms\": \"10\"}]");
    long c0 = creates(emu);
    yc_task *t2 = CREATE(retrying, REQ);
    CHECK(t2 != NULL, "Yandex-shaped 503s on create not retried");
    CHECK_INT(creates(emu), c0 + 3);
    if (t2) {
        emu_fault(emu, "[{\"match\": \"retrieve\", \"kind\": \"yandex\", \"retry_after_ms\": \"10\"},"
                       " {\"match\": \"retrieve\", \"kind\": \"yandex_gateway\", \"retry_after_ms\": \"10\"}]");
        long r0 = retrieves(emu);
        CHECK_STATUS(yc_poll(t2), YC_STATUS_QUEUED);
        CHECK_INT(retrieves(emu), r0 + 3);
    }
    yc_task_free(t2);
    yc_client_free(retrying);
    yc_task_free(t);
    yc_client_free(client);
}

TEST(empty_504_is_http_error) {
    emu_t *emu = emu_start(EMU_ARGS);
    REQUIRE(emu);
    yc_client *client = client_for(emu, "\"max_retries\": 0");
    REQUIRE(client);
    emu_fault(emu, "{\"match\": \"create\", \"kind\": \"empty\"}");
    json_t *e = CREATE_ERROR(client);
    CHECK_STR(err_kind(e), "http");
    CHECK_INT(jint(e, "http_status", -1), 504);
    CHECK(json_is_true(json_object_get(e, "retryable")), "504 retryable");
    CHECK(message_has(e, "504"), "message: %s", jstr(e, "message"));
    json_decref(e);
    yc_task *t = CREATE(client, REQ);
    REQUIRE(t);
    emu_fault(emu, "{\"match\": \"retrieve\", \"kind\": \"empty\"}");
    e = POLL_ERROR(t);
    CHECK_STR(err_kind(e), "http");
    CHECK_INT(jint(e, "http_status", -1), 504);
    json_decref(e);
    /* With retries: the poll goes through. */
    yc_client *retrying = client_for(emu, "\"max_retries\": 1");
    yc_task *t2 = yc_attach(retrying, yc_task_id(t), NULL);
    REQUIRE(t2);
    emu_fault(emu, "{\"match\": \"retrieve\", \"kind\": \"empty\", \"retry_after_ms\": \"10\"}");
    CHECK_STATUS(yc_poll(t2), YC_STATUS_QUEUED);
    yc_task_free(t2);
    yc_client_free(retrying);
    yc_task_free(t);
    yc_client_free(client);
}

/* A 2xx that is not a Response: kind protocol on create (not retried) and
 * on poll (not retried either). */
static void check_protocol_fault(emu_t *emu, const char *kind) {
    yc_client *client = client_for(emu, "\"max_retries\": 2");
    if (!client) return;
    long c0 = creates(emu);
    emu_fault(emu, "{\"match\": \"create\", \"kind\": \"%s\"}", kind);
    json_t *e = CREATE_ERROR(client);
    CHECK(strcmp(err_kind(e), "protocol") == 0, "%s on create: kind %s, message %s", kind, err_kind(e),
          jstr(e, "message"));
    CHECK(json_is_false(json_object_get(e, "retryable")), "%s: protocol errors are not retryable", kind);
    json_decref(e);
    CHECK(creates(emu) == c0 + 1, "%s on create: %ld creates (a 2xx is never retried)", kind, creates(emu) - c0);

    yc_task *t = CREATE(client, REQ);
    if (t) {
        long r0 = retrieves(emu);
        emu_fault(emu, "{\"match\": \"retrieve\", \"kind\": \"%s\"}", kind);
        e = POLL_ERROR(t);
        CHECK(strcmp(err_kind(e), "protocol") == 0, "%s on poll: kind %s, message %s", kind, err_kind(e),
              jstr(e, "message"));
        json_decref(e);
        CHECK(retrieves(emu) == r0 + 1, "%s on poll: %ld retrieves", kind, retrieves(emu) - r0);
        /* The next poll works and clears the error. */
        CHECK_STATUS(yc_poll(t), YC_STATUS_QUEUED);
        e = task_error(t);
        CHECK(e == NULL, "error not cleared by a successful poll");
        json_decref(e);
        yc_task_free(t);
    }
    yc_client_free(client);
}

/* One test per 2xx answer that is not a Response object. */
#define PROTOCOL_FAULT_TEST(kind)              \
    TEST(kind##_is_protocol) {                 \
        emu_t *emu = emu_start(EMU_ARGS);      \
        REQUIRE(emu);                          \
        check_protocol_fault(emu, #kind);      \
    }

PROTOCOL_FAULT_TEST(malformed)
PROTOCOL_FAULT_TEST(truncated)
PROTOCOL_FAULT_TEST(not_object)
PROTOCOL_FAULT_TEST(missing_id)
PROTOCOL_FAULT_TEST(unknown_status)

TEST(error_200_is_api) {
    emu_t *emu = emu_start(EMU_ARGS);
    REQUIRE(emu);
    yc_client *client = client_for(emu, "\"max_retries\": 2");
    REQUIRE(client);
    emu_fault(emu, "{\"match\": \"create\", \"kind\": \"error_200\"}");
    json_t *e = CREATE_ERROR(client);
    CHECK_STR(err_kind(e), "api");
    CHECK_STR(jstr(e, "code"), "server_error");
    CHECK(message_has(e, "Emulated error delivered with HTTP 200"), "message: %s", jstr(e, "message"));
    json_decref(e);
    CHECK_INT(creates(emu), 1);
    yc_task *t = CREATE(client, REQ);
    REQUIRE(t);
    emu_fault(emu, "{\"match\": \"retrieve\", \"kind\": \"error_200\"}");
    e = POLL_ERROR(t);
    CHECK_STR(err_kind(e), "api");
    CHECK_STR(jstr(e, "code"), "server_error");
    json_decref(e);
    yc_task_free(t);
    yc_client_free(client);
}

TEST(large_answer_over_max_response_bytes_is_protocol) {
    /* A queue long enough that the last poll finds the job queued however
     * slowly a loaded machine builds the 4 MB answers before it. */
    emu_t *emu = emu_start("--queue-ms 600000 --work-ms 200");
    REQUIRE(emu);
    yc_client *client = client_for(emu, "\"max_retries\": 0, \"max_response_bytes\": 100000");
    REQUIRE(client);
    emu_fault(emu, "{\"match\": \"create\", \"kind\": \"large\", \"bytes\": 4000000}");
    json_t *e = CREATE_ERROR(client);
    CHECK_STR(err_kind(e), "protocol");
    CHECK(message_has(e, "100000"), "message does not name the limit: %s", jstr(e, "message"));
    json_decref(e);
    yc_task *t = CREATE(client, REQ);
    REQUIRE(t);
    emu_fault(emu, "{\"match\": \"retrieve\", \"kind\": \"large\", \"bytes\": 4000000}");
    e = POLL_ERROR(t);
    CHECK_STR(err_kind(e), "protocol");
    CHECK(message_has(e, "100000"), "message does not name the limit: %s", jstr(e, "message"));
    json_decref(e);
    /* Under the limit the padding is fine. */
    emu_fault(emu, "{\"match\": \"retrieve\", \"kind\": \"large\", \"bytes\": 90000}");
    CHECK_STATUS(yc_poll(t), YC_STATUS_QUEUED);
    yc_task_free(t);
    yc_client_free(client);
}

/* ------------------------------------------------------ transport kinds */

TEST(reset_is_network) {
    emu_t *emu = emu_start(EMU_ARGS);
    REQUIRE(emu);
    yc_client *once = client_for(emu, "\"max_retries\": 0");
    yc_client *retrying = client_for(emu, "\"max_retries\": 2");
    REQUIRE(once && retrying);
    emu_fault(emu, "{\"match\": \"create\", \"kind\": \"reset\"}");
    json_t *e = CREATE_ERROR(once);
    CHECK_STR(err_kind(e), "network");
    CHECK(json_is_true(json_object_get(e, "retryable")), "network is retryable");
    json_decref(e);
    /* A create that was sent is not retried after a reset: the job may exist. */
    emu_fault(emu, "{\"match\": \"create\", \"kind\": \"accept_then_reset\"}");
    long c0 = creates(emu);
    e = CREATE_ERROR(retrying);
    CHECK_STR(err_kind(e), "network");
    json_decref(e);
    CHECK_INT(creates(emu), c0 + 1);
    CHECK_INT(emu_stat(emu, "responses"), 1);

    yc_task *t = CREATE(once, REQ);
    REQUIRE(t);
    /* A retrieve reset on a fresh connection (a new client's attach); the
     * same on a reused connection is in reset_on_a_reused_connection. */
    yc_client *fresh = client_for(emu, "\"max_retries\": 0");
    emu_fault(emu, "{\"match\": \"retrieve\", \"kind\": \"reset\"}");
    char *err = NULL;
    yc_task *attached = yc_attach(fresh, yc_task_id(t), &err);
    CHECK(attached == NULL, "attach through a reset gave a task");
    yc_task_free(attached);
    e = take_error(err);
    CHECK_ERROR_SHAPE(e);
    CHECK_STR(err_kind(e), "network");
    CHECK(json_is_true(json_object_get(e, "retryable")), "network is retryable");
    json_decref(e);
    yc_client_free(fresh);
    /* A retrieve is retried after a reset (and after accept_then_reset). */
    yc_task *t2 = yc_attach(retrying, yc_task_id(t), NULL);
    REQUIRE(t2);
    long r0 = retrieves(emu);
    emu_fault(emu, "[{\"match\": \"retrieve\", \"kind\": \"reset\"}, {\"match\": \"retrieve\", \"kind\": "
                   "\"accept_then_reset\"}]");
    CHECK_STATUS(yc_poll(t2), YC_STATUS_QUEUED);
    CHECK_INT(retrieves(emu), r0 + 3);
    yc_task_free(t2);
    yc_task_free(t);
    yc_client_free(once);
    yc_client_free(retrying);
}

TEST(hang_with_small_timeout_is_timeout) {
    emu_t *emu = emu_start(EMU_ARGS);
    REQUIRE(emu);
    yc_client *client = client_for(emu, "\"max_retries\": 0, \"timeout_ms\": 300");
    REQUIRE(client);
    emu_fault(emu, "{\"match\": \"create\", \"kind\": \"hang\"}");
    double t0 = th_now_ms();
    json_t *e = CREATE_ERROR(client);
    double dt = th_now_ms() - t0;
    CHECK_STR(err_kind(e), "timeout");
    CHECK(json_is_true(json_object_get(e, "retryable")), "timeout retryable");
    CHECK(dt >= 250 && dt < 300 + 3000 + th_slack_ms(), "hang with timeout_ms 300 took %.0f ms", dt);
    json_decref(e);

    yc_task *t = CREATE(client, REQ);
    REQUIRE(t);
    emu_fault(emu, "{\"match\": \"retrieve\", \"kind\": \"hang\"}");
    t0 = th_now_ms();
    e = POLL_ERROR(t);
    dt = th_now_ms() - t0;
    CHECK_STR(err_kind(e), "timeout");
    CHECK(dt >= 250 && dt < 300 + 3000 + th_slack_ms(), "poll hang took %.0f ms", dt);
    json_decref(e);

    /* A create that timed out after being sent is not retried; with
     * max_retries 2 it still ends after about one timeout. */
    yc_client *retrying = client_for(emu, "\"max_retries\": 2, \"timeout_ms\": 300");
    emu_fault(emu, "{\"match\": \"create\", \"kind\": \"hang\", \"count\": 3}");
    long c0 = creates(emu);
    t0 = th_now_ms();
    e = CREATE_ERROR(retrying);
    dt = th_now_ms() - t0;
    CHECK_STR(err_kind(e), "timeout");
    CHECK_INT(creates(emu), c0 + 1);
    CHECK(dt < 3 * 300 + 3000 + th_slack_ms(), "took %.0f ms", dt);
    json_decref(e);
    emu_clear_faults(emu);

    /* A trickled answer is cut at timeout_ms for the whole request. */
    emu_fault(emu, "{\"match\": \"retrieve\", \"kind\": \"trickle\", \"interval_ms\": 50}");
    t0 = th_now_ms();
    e = POLL_ERROR(t);
    dt = th_now_ms() - t0;
    CHECK_STR(err_kind(e), "timeout");
    CHECK(dt < 300 + 3000 + th_slack_ms(), "trickle with timeout_ms 300 took %.0f ms", dt);
    json_decref(e);
    /* A delay shorter than the timeout is fine. */
    emu_fault(emu, "{\"match\": \"retrieve\", \"kind\": \"delay\", \"delay_ms\": 100}");
    CHECK_STATUS(yc_poll(t), YC_STATUS_QUEUED);
    yc_task_free(t);
    yc_client_free(retrying);
    yc_client_free(client);
}

static int closed_loopback_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0) close(fd);
    return port;
}

TEST(closed_port_is_network) {
    int port = closed_loopback_port();
    REQUIRE(port > 0);
    char *cfg = th_strdup_printf("{\"base_url\": \"http://127.0.0.1:%d/v1\", \"api_key\": \"k\", \"folder_id\": \"f\", "
                                 "\"max_retries\": 0}",
                                 port);
    yc_client *client = yc_client_new(cfg, NULL);
    free(cfg);
    REQUIRE(client);
    double t0 = th_now_ms();
    json_t *e = CREATE_ERROR(client);
    CHECK_STR(err_kind(e), "network");
    CHECK(json_is_true(json_object_get(e, "retryable")), "network errors are retryable");
    CHECK(json_object_get(e, "http_status") == NULL || json_is_null(json_object_get(e, "http_status")),
          "no HTTP answer, yet http_status is set");
    json_decref(e);
    char *err = NULL;
    yc_task *t = yc_attach(client, "some-id", &err);
    CHECK(t == NULL, "attach through a closed port gave a task");
    e = take_error(err);
    CHECK_STR(err_kind(e), "network");
    json_decref(e);
    CHECK(th_now_ms() - t0 < 3000 + th_slack_ms(), "connection refused took %.0f ms", th_now_ms() - t0);
    yc_client_free(client);

    /* With a retry allowed it is still a network error, in bounded time. */
    cfg = th_strdup_printf("{\"base_url\": \"http://127.0.0.1:%d/v1\", \"api_key\": \"k\", \"folder_id\": \"f\", "
                           "\"max_retries\": 1}",
                           port);
    client = yc_client_new(cfg, NULL);
    free(cfg);
    REQUIRE(client);
    t0 = th_now_ms();
    e = CREATE_ERROR(client);
    double dt = th_now_ms() - t0;
    CHECK_STR(err_kind(e), "network");
    CHECK(dt < 5000 + th_slack_ms(), "took %.0f ms", dt);
    th_note("refused connection with max_retries 1: %.0f ms", dt);
    json_decref(e);
    yc_client_free(client);
}

/* --------------------------------------------------- poll and wait flows */

TEST(poll_failure_keeps_status_then_recovers) {
    emu_t *emu = emu_start("--queue-ms 100 --work-ms 5000");
    REQUIRE(emu);
    yc_client *client = client_for(emu, "\"max_retries\": 0");
    REQUIRE(client);
    yc_task *t = CREATE(client, REQ);
    REQUIRE(t);
    th_sleep_ms(200);
    CHECK_STATUS(yc_poll(t), YC_STATUS_IN_PROGRESS);
    emu_fault(emu, "{\"match\": \"retrieve\", \"kind\": \"status\", \"status\": 500}");
    json_t *e = POLL_ERROR(t);
    CHECK_STR(err_kind(e), "api");
    CHECK_INT(jint(e, "http_status", -1), 500);
    json_decref(e);
    json_t *r = task_result(t);
    CHECK_STR(jstr(r, "status"), "in_progress");
    CHECK_STR(jstr(json_object_get(r, "response"), "status"), "in_progress");
    json_decref(r);
    CHECK_STATUS(yc_poll(t), YC_STATUS_IN_PROGRESS);
    e = task_error(t);
    CHECK(e == NULL, "error not cleared by the next successful poll");
    json_decref(e);
    /* A failed cancel behaves the same. */
    emu_fault(emu, "{\"match\": \"cancel\", \"kind\": \"status\", \"status\": 503}");
    CHECK_STATUS(yc_cancel(t), YC_STATUS_ERROR);
    e = task_error(t);
    CHECK_STR(err_kind(e), "api");
    CHECK_INT(jint(e, "http_status", -1), 503);
    json_decref(e);
    r = task_result(t);
    CHECK_STR(jstr(r, "status"), "in_progress");
    json_decref(r);
    CHECK_STATUS(yc_cancel(t), YC_STATUS_CANCELLED);
    yc_task_free(t);
    yc_client_free(client);
}

TEST(wait_goes_through_retryable_failures) {
    emu_t *emu = emu_start("--queue-ms 100 --work-ms 300");
    REQUIRE(emu);
    yc_client *client = client_for(emu, "\"max_retries\": 0");
    REQUIRE(client);
    yc_task *t = CREATE(client, REQ);
    REQUIRE(t);
    emu_fault(emu, "[{\"match\": \"retrieve\", \"kind\": \"status\", \"status\": 503, \"count\": 2},"
                   " {\"match\": \"retrieve\", \"kind\": \"reset\"},"
                   " {\"match\": \"retrieve\", \"kind\": \"html\"},"
                   " {\"match\": \"retrieve\", \"kind\": \"status\", \"status\": 429, \"retry_after_ms\": \"20\"}]");
    double t0 = th_now_ms();
    CHECK_STATUS(yc_wait(t, 20000), YC_STATUS_COMPLETED);
    double dt = th_now_ms() - t0;
    CHECK(retrieves(emu) >= 6, "only %ld retrieves", retrieves(emu));
    CHECK_INT(emu_stat(emu, "faults_applied"), 5);
    CHECK(dt < 10000 + th_slack_ms(), "took %.0f ms", dt);
    json_t *e = task_error(t);
    CHECK(e == NULL, "error left after completion");
    json_decref(e);
    char *text = yc_output_text(t);
    CHECK_STR(text, "Echo: fault test");
    yc_free(text);
    yc_task_free(t);
    yc_client_free(client);
}

TEST(wait_stops_on_non_retryable_failure) {
    emu_t *emu = emu_start(EMU_ARGS);
    REQUIRE(emu);
    yc_client *client = client_for(emu, "\"max_retries\": 2");
    REQUIRE(client);
    yc_task *t = CREATE(client, REQ);
    REQUIRE(t);
    emu_fault(emu, "{\"match\": \"retrieve\", \"kind\": \"status\", \"status\": 404}");
    double t0 = th_now_ms();
    CHECK_STATUS(yc_wait(t, 20000), YC_STATUS_ERROR);
    double dt = th_now_ms() - t0;
    CHECK(dt < 2000 + th_slack_ms(), "yc_wait took %.0f ms to give up on a 404", dt);
    CHECK_INT(retrieves(emu), 1);
    json_t *e = task_error(t);
    CHECK_ERROR_SHAPE(e);
    CHECK_STR(err_kind(e), "api");
    CHECK_INT(jint(e, "http_status", -1), 404);
    CHECK(json_is_false(json_object_get(e, "retryable")), "404 not retryable");
    json_decref(e);
    json_t *r = task_result(t);
    CHECK_STR(jstr(r, "status"), "queued");
    json_decref(r);
    /* A protocol error also ends the wait. */
    emu_fault(emu, "{\"match\": \"retrieve\", \"kind\": \"malformed\"}");
    CHECK_STATUS(yc_wait(t, 20000), YC_STATUS_ERROR);
    e = task_error(t);
    CHECK_STR(err_kind(e), "protocol");
    json_decref(e);
    /* And the task still finishes normally afterwards. */
    CHECK_STATUS(yc_wait(t, 20000), YC_STATUS_COMPLETED);
    yc_task_free(t);
    yc_client_free(client);
}

TEST(wait_deadline_beats_retry_after) {
    emu_t *emu = emu_start(EMU_ARGS);
    REQUIRE(emu);
    yc_client *client = client_for(emu, "\"max_retries\": 2");
    REQUIRE(client);
    yc_task *t = CREATE(client, REQ);
    REQUIRE(t);
    /* Retry-After: 10 s on every retrieve; a 500 ms wait ends in time. */
    emu_fault(emu, "{\"match\": \"retrieve\", \"kind\": \"status\", \"status\": 503, \"retry_after\": \"10\", "
                   "\"count\": 20}");
    double t0 = th_now_ms();
    yc_status s = yc_wait(t, 500);
    double dt = th_now_ms() - t0;
    /* A 503 is retryable: yc_wait records it and goes on until its deadline. */
    CHECK_STATUS(s, YC_STATUS_QUEUED);
    json_t *e = task_error(t);
    CHECK(e && jint(e, "http_status", -1) == 503, "the 503 is not recorded");
    json_decref(e);
    CHECK(dt < 500 + 3000 + th_slack_ms(), "yc_wait(500) with Retry-After: 10 took %.0f ms", dt);
    th_note("yc_wait(500) over 503 + Retry-After 10: %s after %.0f ms", yc_status_name(s), dt);
    yc_task_free(t);
    yc_client_free(client);
}

/* yc_wait never sleeps or starts a request past its deadline; a request
 * already under way is bounded by timeout_ms (ycbg.h: it is not cut at the
 * deadline, so that waits in short slices work against a slow server). */
TEST(wait_deadline_bounds_sleeping_and_timeout_ms_bounds_a_hanging_request) {
    emu_t *emu = emu_start(EMU_ARGS);
    REQUIRE(emu);
    /* poll_interval_ms 1: the first poll is due at once. */
    yc_client *client = client_for(emu, "\"max_retries\": 1, \"timeout_ms\": 1500, \"poll_interval_ms\": 1");
    REQUIRE(client);
    yc_task *t = CREATE(client, REQ);
    REQUIRE(t);
    emu_fault(emu, "{\"match\": \"retrieve\", \"kind\": \"hang\", \"count\": 10}");
    long r0 = retrieves(emu);
    double t0 = th_now_ms();
    yc_status s = yc_wait(t, 500);
    double dt = th_now_ms() - t0;
    CHECK(s == YC_STATUS_QUEUED, "yc_wait(500) over a hang returned %s", yc_status_name(s));
    CHECK(dt >= 400 && dt < 1500 + th_slack_ms(), "yc_wait(500) over a hanging server took %.0f ms", dt);
    /* The hung request timed out; its retry would start past the deadline, so none was sent. */
    CHECK_INT(retrieves(emu), r0 + 1);
    char *result = yc_result(t);
    REQUIRE(result);
    json_t *doc = json_loads(result, 0, NULL);
    yc_free(result);
    CHECK_STR(err_kind(json_object_get(doc, "error")), "timeout");
    json_decref(doc);
    th_note("yc_wait(500) over a hang: %s after %.0f ms", yc_status_name(s), dt);
    /* A slow (not hung) server: short waits still complete polls. */
    emu_clear_faults(emu);
    emu_fault(emu, "{\"match\": \"retrieve\", \"kind\": \"delay\", \"delay_ms\": 300, \"count\": 1000}");
    emu_settings(emu, "{\"queue_ms\": 0, \"work_ms\": 0}");
    yc_task *slow = CREATE(client, REQ);
    REQUIRE(slow);
    int slices = 0;
    while (yc_wait(slow, 100) != YC_STATUS_COMPLETED && slices < 100) slices++;
    CHECK(slices < 100, "100 waits of 100 ms against a 300 ms server never completed");
    yc_task_free(slow);
    yc_task_free(t);
    yc_client_free(client);
}

/* libcurl resends a request once, on a new connection, when a reused
 * keep-alive connection dies before any answer (the server may have closed
 * it while idle). That is harmless for a retrieve, but a create must never be
 * sent twice: ycbg gives a create's body to libcurl in a form it cannot
 * rewind, so it fails instead of resending (the job may exist). */
TEST(reset_on_a_reused_connection) {
    emu_t *emu = emu_start(EMU_ARGS);
    REQUIRE(emu);
    yc_client *client = client_for(emu, "\"max_retries\": 0");
    REQUIRE(client);
    yc_task *t = CREATE(client, REQ); /* opens the connection the next calls reuse */
    REQUIRE(t);
    emu_fault(emu, "{\"match\": \"retrieve\", \"kind\": \"reset\"}");
    long r0 = retrieves(emu);
    yc_status s = yc_poll(t);
    /* Either libcurl resent it on a new connection (2 requests, success), or it failed (1 request). */
    CHECK((s == YC_STATUS_QUEUED && retrieves(emu) == r0 + 2) || (s == YC_STATUS_ERROR && retrieves(emu) == r0 + 1),
          "reset retrieve on a reused connection: %s after %ld retrieves", yc_status_name(s), retrieves(emu) - r0);

    for (int round = 0; round < 3; round++) { /* the connection is warm and reused each round */
        CHECK_STATUS(yc_poll(t), YC_STATUS_QUEUED);
        emu_fault(emu, "{\"match\": \"create\", \"kind\": \"accept_then_reset\"}");
        long c0 = creates(emu);
        char *err = NULL;
        yc_task *t2 = yc_create_background(client, REQ, &err);
        CHECK(t2 == NULL, "a create the server processed and then reset succeeded after %ld create requests",
              creates(emu) - c0);
        json_t *e = take_error(err);
        CHECK(strcmp(err_kind(e), "network") == 0, "kind %s", err_kind(e));
        json_decref(e);
        CHECK(creates(emu) == c0 + 1, "a create that reached the server was sent %ld times", creates(emu) - c0);
        yc_task_free(t2);
    }

    /* No two requests share an x-client-request-id, except libcurl's resend of the reset retrieve. */
    json_t *all = emu_requests(emu, 1000);
    for (size_t i = 0; i < json_array_size(all); i++)
        for (size_t j = 0; j < i; j++) {
            json_t *first = json_array_get(all, j);
            const char *fault = jstr(first, "fault");
            if (fault && strcmp(fault, "reset") == 0 && j + 1 == i) continue;
            const char *a = req_header(json_array_get(all, i), "x-client-request-id");
            const char *b = req_header(first, "x-client-request-id");
            CHECK(a && b && strcmp(a, b) != 0, "requests %zu (%s %s) and %zu (%s %s) share x-client-request-id %s", j,
                  jstr(first, "method"), jstr(first, "fault"), i,
                  jstr(json_array_get(all, i), "method"), jstr(json_array_get(all, i), "fault"), a ? a : "");
        }
    json_decref(all);
    yc_task_free(t);
    yc_client_free(client);
}

TEST(auth_failure_is_api_401) {
    emu_t *emu = emu_start(EMU_ARGS " --api-key the-right-key");
    REQUIRE(emu);
    char *cfg = th_strdup_printf("{\"base_url\": \"%s\", \"api_key\": \"WRONG-KEY-SECRET-8e1\", \"folder_id\": \"f\"}",
                                 emu->base_url);
    th_add_secret("WRONG-KEY-SECRET-8e1");
    yc_client *client = yc_client_new(cfg, NULL);
    free(cfg);
    REQUIRE(client);
    json_t *e = CREATE_ERROR(client);
    CHECK_STR(err_kind(e), "api");
    CHECK_INT(jint(e, "http_status", -1), 401);
    CHECK_STR(jstr(e, "code"), "invalid_api_key");
    CHECK(json_is_false(json_object_get(e, "retryable")), "401 not retryable");
    json_decref(e);
    CHECK_INT(creates(emu), 1);
    yc_client_free(client);
}

int main(int argc, char **argv) { return th_main(argc, argv); }
