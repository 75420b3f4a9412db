/* test_limits.c — every number that comes from outside the library, at the
 * extremes of its type: yc_wait's timeout (LONG_MAX, LONG_MIN, -1, 0), every
 * integer config key (INT64_MAX, INT64_MIN, -1, 0, 1e300, -1e300, 1.5, an
 * integer beyond int64), yc_status_name's enum, and absurd Retry-After /
 * retry-after-ms / openai-poll-after-ms values from the server.  Each gives a
 * clear result or error; none may trap (a trap kills this program, which
 * run.sh counts as a failure). */
#define _GNU_SOURCE
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* A task whose job finishes on its own shortly (emulator --queue-ms 100
 * --work-ms 200), so that a wait without a real limit still returns. */
#define SHORT_JOB "{\"model\": \"yandexgpt\", \"input\": \"limits\"}"

/* ------------------------------------------------------------- yc_wait */

TEST(wait_with_the_extremes_of_long) {
    emu_t *emu = emu_start("--queue-ms 100 --work-ms 200");
    REQUIRE(emu);
    yc_client *client = client_for(emu, NULL);
    REQUIRE(client);
    /* No limit, or a limit so far away that it is none: the job ends first. */
    const long unlimited[] = {LONG_MAX, LONG_MAX - 1, LONG_MAX / 2, LONG_MAX / 1000, LONG_MIN, LONG_MIN + 1, -1};
    for (size_t i = 0; i < sizeof unlimited / sizeof unlimited[0]; i++) {
        yc_task *t = CREATE(client, SHORT_JOB);
        REQUIRE(t);
        CHECK_STATUS(yc_wait(t, unlimited[i]), YC_STATUS_COMPLETED);
        /* Terminal: every timeout returns the status at once. */
        CHECK_STATUS(yc_wait(t, unlimited[i]), YC_STATUS_COMPLETED);
        CHECK_STATUS(yc_wait(t, 0), YC_STATUS_COMPLETED);
        json_t *r = task_result(t);
        CHECK(r && json_is_null(json_object_get(r, "error")), "timeout %ld: an error was recorded", unlimited[i]);
        json_decref(r);
        yc_task_free(t);
    }
    /* 0 on an unfinished task: at most one poll, no sleeping, a status from
     * the server (not ERROR); then LONG_MAX finishes it. */
    yc_task *t = CREATE(client, SHORT_JOB);
    REQUIRE(t);
    int s = yc_wait(t, 0);
    CHECK(s == YC_STATUS_QUEUED || s == YC_STATUS_IN_PROGRESS || s == YC_STATUS_COMPLETED,
          "yc_wait(t, 0) = %s", yc_status_name((yc_status)s));
    CHECK_STATUS(yc_wait(t, LONG_MAX), YC_STATUS_COMPLETED);
    yc_task_free(t);
    yc_client_free(client);
}

static void *cancel_later(void *arg) {
    th_sleep_ms(300);
    return (void *)(intptr_t)yc_cancel((yc_task *)arg);
}

TEST(wait_long_max_returns_when_another_thread_cancels) {
    /* A job that would run for an hour: a LONG_MAX wait returns because
     * another thread cancels the job meanwhile (through a second handle). */
    emu_t *emu = emu_start("--queue-ms 0 --work-ms 3600000");
    REQUIRE(emu);
    yc_client *client = client_for(emu, NULL);
    REQUIRE(client);
    yc_task *t = CREATE(client, SHORT_JOB);
    REQUIRE(t);
    yc_task *same = yc_attach(client, yc_task_id(t), NULL);
    REQUIRE(same);
    pthread_t canceller;
    REQUIRE(pthread_create(&canceller, NULL, cancel_later, same) == 0);
    CHECK_STATUS(yc_wait(t, LONG_MAX), YC_STATUS_CANCELLED);
    void *cancelled = NULL;
    pthread_join(canceller, &cancelled);
    CHECK_STATUS((intptr_t)cancelled, YC_STATUS_CANCELLED);
    yc_task_free(same);
    yc_task_free(t);
    yc_client_free(client);
}

TEST(status_name_of_the_extremes_of_the_enum) {
    const int values[] = {INT_MIN, INT_MIN + 1, -2, 6, 7, 1000, INT_MAX};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        CHECK_STR(yc_status_name((yc_status)values[i]), "unknown");
    CHECK_STR(yc_status_name((yc_status)-1), "error");
    CHECK_STR(yc_status_name((yc_status)5), "incomplete");
}

/* ------------------------------------------------------- config integers */

/* The integer keys and the ranges include/ycbg.h documents. */
static const struct {
    const char *key;
    long long lo, hi;
} keys[] = {
    {"timeout_ms", 1, 86400000},
    {"connect_timeout_ms", 1, 3600000},
    {"max_retries", 0, 100},
    {"poll_interval_ms", 1, 3600000},
    {"max_poll_interval_ms", 1, 3600000},
    {"max_response_bytes", 1, 1099511627776LL},
};

/* poll_interval_ms must not exceed max_poll_interval_ms: give the other one
 * a value that keeps a valid `key` valid. */
static const char *companion(const char *key) {
    if (strcmp(key, "poll_interval_ms") == 0) return ", \"max_poll_interval_ms\": 3600000";
    if (strcmp(key, "max_poll_interval_ms") == 0) return ", \"poll_interval_ms\": 1";
    return "";
}

static char *config_with(const char *key, const char *literal) {
    return th_strdup_printf("{\"base_url\": \"http://127.0.0.1:9/v1\", \"api_key\": \"limits-key\", "
                            "\"%s\": %s%s}", key, literal, companion(key));
}

/* yc_client_new must fail with kind `kind`; the message names `needle` (and
 * `needle2` when not NULL). */
static void expect_refused(const char *config, const char *kind, const char *needle, const char *needle2,
                           const char *file, int line) {
    char *err = NULL;
    yc_client *c = yc_client_new(config, &err);
    if (c) {
        th_fail(file, line, "accepted: %s", config);
        yc_client_free(c);
    }
    json_t *e = take_error(err);
    if (!e) {
        th_fail(file, line, "no error document for %s", config);
        return;
    }
    th_check_error_shape(e, file, line);
    const char *m = jstr(e, "message");
    if (strcmp(err_kind(e), kind) != 0)
        th_fail(file, line, "%s: kind %s, expected %s (%s)", config, err_kind(e), kind, m ? m : "");
    if (needle && (!m || !strstr(m, needle))) th_fail(file, line, "%s: message lacks \"%s\": %s", config, needle, m ? m : "");
    if (needle2 && (!m || !strstr(m, needle2)))
        th_fail(file, line, "%s: message lacks \"%s\": %s", config, needle2, m ? m : "");
    if (!json_is_false(json_object_get(e, "retryable"))) th_fail(file, line, "%s: retryable", config);
    json_decref(e);
}
#define EXPECT_REFUSED(config, kind, needle, needle2) expect_refused((config), (kind), (needle), (needle2), __FILE__, __LINE__)

TEST(every_integer_config_key_at_the_extremes) {
    unsetenv("YC_API_KEY");
    unsetenv("YC_IAM_TOKEN");
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        const char *key = keys[k].key;
        char *range = th_strdup_printf("from %lld to %lld", keys[k].lo, keys[k].hi);
        /* Integers outside the range (int64's extremes included). */
        char *below = th_strdup_printf("%lld", keys[k].lo - 1);
        char *above = th_strdup_printf("%lld", keys[k].hi + 1);
        const char *out_of_range[] = {"9223372036854775807", "-9223372036854775808", "-1", below, above};
        for (size_t i = 0; i < sizeof out_of_range / sizeof out_of_range[0]; i++) {
            if (strcmp(out_of_range[i], "-1") == 0 && keys[k].lo == 0) continue; /* "-1" is `below` then */
            char *cfg = config_with(key, out_of_range[i]);
            EXPECT_REFUSED(cfg, "config", key, range);
            free(cfg);
        }
        /* 0: in range only for max_retries. */
        char *cfg = config_with(key, "0");
        if (keys[k].lo == 0) {
            yc_client *c = yc_client_new(cfg, NULL);
            CHECK(c != NULL, "refused: %s", cfg);
            yc_client_free(c);
        } else {
            EXPECT_REFUSED(cfg, "config", key, range);
        }
        free(cfg);
        /* Numbers that are not integers. */
        const char *reals[] = {"1e300", "-1e300", "1.5", "1e3", "-0.0", "1.7976931348623157e308"};
        for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++) {
            cfg = config_with(key, reals[i]);
            EXPECT_REFUSED(cfg, "config", key, range);
            free(cfg);
        }
        /* Integers beyond int64 do not even parse as JSON numbers Jansson
         * can hold: invalid_json with the place. */
        const char *huge[] = {"99999999999999999999999", "-99999999999999999999999", "18446744073709551616"};
        for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
            cfg = config_with(key, huge[i]);
            EXPECT_REFUSED(cfg, "invalid_json", "line 1", "column");
            free(cfg);
        }
        /* Both ends of the range are accepted. */
        char *lo = th_strdup_printf("%lld", keys[k].lo), *hi = th_strdup_printf("%lld", keys[k].hi);
        const char *ends[] = {lo, hi};
        for (size_t i = 0; i < 2; i++) {
            cfg = config_with(key, ends[i]);
            char *err = NULL;
            yc_client *c = yc_client_new(cfg, &err);
            CHECK(c != NULL, "refused: %s: %s", cfg, err ? err : "");
            yc_free(err);
            yc_client_free(c);
            free(cfg);
        }
        free(lo);
        free(hi);
        free(below);
        free(above);
        free(range);
    }
}

TEST(a_client_at_the_ends_of_every_range_works) {
    emu_t *emu = emu_start("--queue-ms 50 --work-ms 50");
    REQUIRE(emu);
    /* Every integer key at its maximum: the arithmetic on them (deadlines,
     * poll schedule, curl's long options, the body limit) must hold. */
    char *cfg = th_strdup_printf("{\"base_url\": \"%s\", \"api_key\": \"%s\", \"folder_id\": \"b1gtestfolder\", "
                                 "\"timeout_ms\": 86400000, \"connect_timeout_ms\": 3600000, \"max_retries\": 100, "
                                 "\"poll_interval_ms\": 3600000, \"max_poll_interval_ms\": 3600000, "
                                 "\"max_response_bytes\": 1099511627776}",
                                 emu->base_url, emu->api_key);
    char *err = NULL;
    yc_client *client = yc_client_new(cfg, &err);
    free(cfg);
    REQUIRE(client, "refused: %s", err ? err : "");
    yc_task *t = CREATE(client, SHORT_JOB);
    REQUIRE(t);
    /* The first poll is due in an hour: a short wait ends without one. */
    long before = emu_stat(emu, "requests.retrieve");
    int s = yc_wait(t, 50);
    CHECK(s == YC_STATUS_QUEUED || s == YC_STATUS_IN_PROGRESS, "yc_wait(t, 50) = %s", yc_status_name((yc_status)s));
    CHECK_INT(emu_stat(emu, "requests.retrieve"), before);
    /* yc_poll does not wait for the schedule. */
    th_sleep_ms(300);
    CHECK_STATUS(yc_poll(t), YC_STATUS_COMPLETED);
    yc_task_free(t);
    yc_client_free(client);

    /* And at the minimum: 1 ms for the whole request is a clear timeout (or,
     * on a fast machine, a success), never a crash. */
    cfg = th_strdup_printf("{\"base_url\": \"%s\", \"api_key\": \"%s\", \"folder_id\": \"b1gtestfolder\", "
                           "\"timeout_ms\": 1, \"connect_timeout_ms\": 1, \"max_retries\": 0, "
                           "\"poll_interval_ms\": 1, \"max_poll_interval_ms\": 1, \"max_response_bytes\": 1}",
                           emu->base_url, emu->api_key);
    client = yc_client_new(cfg, NULL);
    free(cfg);
    REQUIRE(client);
    err = NULL;
    t = yc_create_background(client, SHORT_JOB, &err);
    /* One byte is never enough for a Response object. */
    CHECK(t == NULL, "a create fitted in one byte");
    json_t *e = take_error(err);
    CHECK_ERROR_SHAPE(e);
    const char *kind = err_kind(e);
    CHECK(strcmp(kind, "timeout") == 0 || strcmp(kind, "protocol") == 0 || strcmp(kind, "network") == 0,
          "kind %s: %s", kind, jstr(e, "message") ? jstr(e, "message") : "");
    json_decref(e);
    yc_task_free(t);
    yc_client_free(client);
}

/* ---------------------------------------------------- server's numbers */

static const char *absurd_delays[] = {
    "99999999999999999999999", "-99999999999999999999999", "9223372036854775807", "-9223372036854775808",
    "18446744073709551616", "1e300", "-1e300", "1e400", "-1e400", "1.7976931348623157e308", "nan", "inf", "-inf",
    "-1", "0", "-0", "0.0000001", "Fri, 31 Dec 9999 23:59:59 GMT", "Thu, 01 Jan 1970 00:00:00 GMT",
    "Sun, 06 Nov 1994 08:49:37 GMT", "0x7fffffffffffffff", "1e-300",
};
#define N_ABSURD (sizeof absurd_delays / sizeof absurd_delays[0])

TEST(absurd_retry_after_values_from_the_server) {
    emu_t *emu = emu_start("--queue-ms 60000 --work-ms 0");
    REQUIRE(emu);
    yc_client *client = client_for(emu, "\"max_retries\": 1");
    REQUIRE(client);
    yc_task *t = CREATE(client, SHORT_JOB);
    REQUIRE(t);
    const char *headers[] = {"retry_after", "retry_after_ms"};
    for (size_t h = 0; h < 2; h++) {
        for (size_t i = 0; i < N_ABSURD; i++) {
            /* A 503 carrying the value, then the real answer: the retry is
             * made (after at most the 8 s backoff cap: an absurd value is
             * not honoured, and a huge one is not waited for). */
            long before = emu_stat(emu, "requests.retrieve");
            emu_fault(emu, "{\"match\": \"retrieve\", \"kind\": \"status\", \"status\": 503, \"%s\": \"%s\"}",
                      headers[h], absurd_delays[i]);
            int s = yc_poll(t);
            CHECK(s == YC_STATUS_QUEUED, "%s: %s: yc_poll = %s", headers[h], absurd_delays[i],
                  yc_status_name((yc_status)s));
            CHECK(emu_stat(emu, "requests.retrieve") == before + 2, "%s: %s: %ld retrieves", headers[h],
                  absurd_delays[i], emu_stat(emu, "requests.retrieve") - before);
        }
    }
    yc_task_free(t);
    yc_client_free(client);
}

TEST(absurd_retry_after_on_a_failed_poll_inside_wait) {
    emu_t *emu = emu_start("--queue-ms 60000 --work-ms 0");
    REQUIRE(emu);
    yc_client *client = client_for(emu, "\"max_retries\": 0");
    REQUIRE(client);
    const char *headers[] = {"retry_after", "retry_after_ms"};
    for (size_t h = 0; h < 2; h++) {
        for (size_t i = 0; i < N_ABSURD; i++) {
            /* A fresh task polls 20 ms in; that poll fails with the value,
             * which then schedules the next one; the wait ends at its
             * deadline with the last status from the server. */
            yc_task *t = CREATE(client, SHORT_JOB);
            REQUIRE(t);
            long before = emu_stat(emu, "requests.retrieve");
            emu_fault(emu, "{\"match\": \"retrieve\", \"kind\": \"status\", \"status\": 503, \"%s\": \"%s\"}",
                      headers[h], absurd_delays[i]);
            int s = yc_wait(t, 150);
            CHECK(s == YC_STATUS_QUEUED, "%s: %s: yc_wait = %s", headers[h], absurd_delays[i],
                  yc_status_name((yc_status)s));
            CHECK(emu_stat(emu, "requests.retrieve") > before, "%s: %s: no poll", headers[h], absurd_delays[i]);
            json_t *r = task_result(t);
            json_t *e = json_object_get(r, "error");
            /* The failure is recorded (unless a later poll in the slice succeeded). */
            CHECK(json_is_null(e) || jint(e, "http_status", 0) == 503, "%s: %s: error %s", headers[h],
                  absurd_delays[i], jstr(e, "message") ? jstr(e, "message") : "");
            json_decref(r);
            emu_clear_faults(emu);
            yc_task_free(t);
        }
    }
    yc_client_free(client);
}

TEST(a_poll_after_hint_of_a_day_is_capped_not_overflowed) {
    emu_t *emu = emu_start("--queue-ms 0 --work-ms 300");
    REQUIRE(emu);
    REQUIRE(emu_settings(emu, "{\"poll_after_ms\": 86400000}"));
    yc_client *client = client_for(emu, NULL);
    REQUIRE(client);
    yc_task *t = CREATE(client, SHORT_JOB);
    REQUIRE(t);
    /* The server asks to come back in a day (capped at 120 s): a wait of
     * 200 ms makes no poll.  A deadline that overflowed into the past would
     * poll at once. */
    long before = emu_stat(emu, "requests.retrieve");
    int s = yc_wait(t, 200);
    CHECK(s == YC_STATUS_QUEUED || s == YC_STATUS_IN_PROGRESS, "yc_wait = %s", yc_status_name((yc_status)s));
    CHECK_INT(emu_stat(emu, "requests.retrieve"), before);
    CHECK(yc_poll(t) != YC_STATUS_ERROR, "yc_poll failed");
    yc_task_free(t);
    /* A hint of 0 polls at once each time; a LONG_MAX wait ends with the job. */
    REQUIRE(emu_settings(emu, "{\"poll_after_ms\": 0}"));
    t = CREATE(client, SHORT_JOB);
    REQUIRE(t);
    CHECK_STATUS(yc_wait(t, LONG_MAX), YC_STATUS_COMPLETED);
    yc_task_free(t);
    yc_client_free(client);
}

int main(int argc, char **argv) { return th_main(argc, argv); }
