/* test_workflow.c — the background workflow end to end against yc-emulator:
 * create → poll/wait → result, what goes on the wire, attach, cancel,
 * result documents, outcomes, keep-alive, and the library functions. */
#define _GNU_SOURCE
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define EMU_ARGS "--queue-ms 50 --work-ms 100"

/* Polls (yc_poll) until the task is terminal, `max_ms` at most; returns the
 * last status and the number of polls made in *polls. */
static yc_status poll_until_terminal(yc_task *task, long max_ms, long sleep_ms, int *polls) {
    double deadline = th_now_ms() + (double)max_ms;
    yc_status s = YC_STATUS_ERROR;
    int n = 0;
    while (th_now_ms() < deadline) {
        s = yc_poll(task);
        n++;
        if (s == YC_STATUS_COMPLETED || s == YC_STATUS_FAILED || s == YC_STATUS_CANCELLED ||
            s == YC_STATUS_INCOMPLETE)
            break;
        th_sleep_ms(sleep_ms);
    }
    if (polls) *polls = n;
    return s;
}

static char *expected_echo(const char *input) { return th_strdup_printf("Echo: %s", input); }

/* ------------------------------------------------------------------ */

TEST(seed_workflow) {
    const char *key = "ycbg-test-key-SEEDSECRET-93ad";
    th_add_secret(key);
    char args[256];
    /* Long enough that even a slow poll (valgrind) sees the job before it ends. */
    snprintf(args, sizeof args, "--queue-ms 400 --work-ms 800 --api-key %s", key);
    emu_t *emu = emu_start(args);
    REQUIRE(emu);
    yc_client *client = client_for(emu, "\"data_logging\": false, \"headers\": {\"X-Test-Header\": \"hello\", "
                                        "\"X-Other\": \"two words\"}");
    REQUIRE(client);

    const char *input = "Hello, background world";
    yc_task *task = CREATE(client, "{\"model\": \"yandexgpt\", \"input\": \"Hello, background world\"}");
    REQUIRE(task);
    const char *id = yc_task_id(task);
    CHECK(id && *id, "task id is empty");
    CHECK(th_is_uuid(id), "emulator ids are UUIDs, got %s", id ? id : "(null)");

    int polls = 0;
    yc_status s = poll_until_terminal(task, 10000, 20, &polls);
    CHECK_STATUS(s, YC_STATUS_COMPLETED);
    CHECK(polls >= 2, "expected several polls (queued, in progress), got %d", polls);

    char *want = expected_echo(input);
    char *text = yc_output_text(task);
    CHECK_STR(text, want);
    yc_free(text);
    json_t *result = task_result(task);
    CHECK_STR(jstr(result, "output_text"), want);
    CHECK_STR(jstr(result, "status"), "completed");
    json_decref(result);

    /* What went on the wire. */
    json_t *creates = emu_creates(emu);
    CHECK_INT(json_array_size(creates), 1);
    json_t *req = json_array_get(creates, 0);
    json_t *body = req_body(req);
    CHECK(json_is_object(body), "create body is not a JSON object: %s", jstr(req, "body"));
    CHECK_STR(jstr(body, "model"), "gpt://b1gtestfolder/yandexgpt");
    CHECK(json_is_true(json_object_get(body, "background")), "background is not true");
    CHECK_STR(jstr(body, "input"), input);
    json_decref(body);
    char *auth = th_strdup_printf("Api-Key %s", key);
    CHECK_STR(req_header(req, "authorization"), auth);
    free(auth);
    CHECK_STR(req_header(req, "openai-project"), "b1gtestfolder");
    CHECK(th_is_uuid(req_header(req, "x-client-request-id")), "x-client-request-id is not a UUID: %s",
          req_header(req, "x-client-request-id") ? req_header(req, "x-client-request-id") : "(none)");
    CHECK(req_header(req, "idempotency-key") && *req_header(req, "idempotency-key"),
          "no Idempotency-Key on create");
    CHECK(th_is_uuid(req_header(req, "idempotency-key")), "Idempotency-Key is not a UUID");
    char *ua = th_strdup_printf("ycbg/%s", yc_version());
    CHECK_STR(req_header(req, "user-agent"), ua);
    free(ua);
    CHECK_STR(req_header(req, "x-data-logging-enabled"), "false");
    CHECK_STR(req_header(req, "x-test-header"), "hello");
    CHECK_STR(req_header(req, "x-other"), "two words");
    const char *ct = req_header(req, "content-type");
    CHECK(ct && strstr(ct, "application/json"), "create Content-Type is %s", ct ? ct : "(none)");

    /* Every request: its own x-client-request-id, the same credentials. */
    json_t *all = emu_requests(emu, 1000);
    size_t n = json_array_size(all);
    CHECK(n >= 3, "expected a create and polls, got %zu requests", n);
    for (size_t i = 0; i < n; i++) {
        json_t *r = json_array_get(all, i);
        const char *rid = req_header(r, "x-client-request-id");
        CHECK(th_is_uuid(rid), "request %zu: x-client-request-id not a UUID", i);
        for (size_t j = 0; j < i; j++) {
            const char *other = req_header(json_array_get(all, j), "x-client-request-id");
            CHECK(!rid || !other || strcmp(rid, other) != 0, "requests %zu and %zu share x-client-request-id %s",
                  j, i, rid);
        }
        CHECK_STR(req_header(r, "openai-project"), "b1gtestfolder");
        CHECK_STR(req_header(r, "x-test-header"), "hello");
        CHECK_STR(req_header(r, "x-data-logging-enabled"), "false");
        if (i > 0) {
            char *path = th_strdup_printf("/v1/responses/%s", id);
            CHECK_STR(jstr(r, "path"), path);
            CHECK_STR(jstr(r, "method"), "GET");
            free(path);
        }
    }
    json_decref(all);

    /* A second create gets a new Idempotency-Key. */
    yc_task *task2 = CREATE(client, "{\"model\": \"yandexgpt\", \"input\": \"second\"}");
    json_t *creates2 = emu_creates(emu);
    CHECK_INT(json_array_size(creates2), 2);
    const char *k1 = req_header(json_array_get(creates2, 0), "idempotency-key");
    const char *k2 = req_header(json_array_get(creates2, 1), "idempotency-key");
    CHECK(k1 && k2 && strcmp(k1, k2) != 0, "two creates share Idempotency-Key %s", k1 ? k1 : "(null)");
    CHECK(task2 && strcmp(yc_task_id(task2), id) != 0, "two creates gave the same id");
    json_decref(creates2);
    json_decref(creates);
    free(want);
    yc_task_free(task2);
    yc_task_free(task);
    yc_client_free(client);
}

TEST(request_is_forwarded_with_model_expansion) {
    emu_t *emu = emu_start(EMU_ARGS);
    REQUIRE(emu);
    yc_client *client = client_for(emu, NULL);
    REQUIRE(client);
    struct {
        const char *model, *expect;
    } cases[] = {
        {"yandexgpt/latest", "gpt://b1gtestfolder/yandexgpt/latest"},
        {"yandexgpt-lite", "gpt://b1gtestfolder/yandexgpt-lite"},
        {"gpt://b1gtestfolder/yandexgpt/rc", "gpt://b1gtestfolder/yandexgpt/rc"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *request = th_strdup_printf(
            "{\"model\": \"%s\", \"input\": \"x y\", \"instructions\": \"be brief\", \"temperature\": 0.25, "
            "\"max_output_tokens\": 100, \"background\": false, \"metadata\": {\"k\": \"v\"}}",
            cases[i].model);
        yc_task *task = CREATE(client, request);
        free(request);
        json_t *creates = emu_creates(emu);
        json_t *body = req_body(json_array_get(creates, json_array_size(creates) - 1));
        CHECK_STR(jstr(body, "model"), cases[i].expect);
        CHECK(json_is_true(json_object_get(body, "background")), "background not forced to true");
        CHECK_STR(jstr(body, "instructions"), "be brief");
        CHECK(json_real_value(json_object_get(body, "temperature")) == 0.25, "temperature changed");
        CHECK_INT(jint(body, "max_output_tokens", -1), 100);
        CHECK_STR(jstr(json_object_get(body, "metadata"), "k"), "v");
        CHECK_STR(jstr(body, "input"), "x y");
        json_decref(body);
        json_decref(creates);
        yc_task_free(task);
    }
    /* Input as an item array is forwarded unchanged too. */
    yc_task *task = CREATE(client, "{\"model\": \"yandexgpt\", \"input\": [{\"role\": \"user\", \"content\": "
                                   "\"first\"}, {\"role\": \"user\", \"content\": \"second\"}]}");
    REQUIRE(task);
    CHECK_STATUS(yc_wait(task, 10000), YC_STATUS_COMPLETED);
    char *text = yc_output_text(task);
    CHECK_STR(text, "Echo: first\nsecond");
    yc_free(text);
    yc_task_free(task);
    yc_client_free(client);
}

TEST(data_logging_header_only_when_set) {
    emu_t *emu = emu_start(EMU_ARGS);
    REQUIRE(emu);
    yc_client *plain = client_for(emu, "\"user_agent\": \"my-agent/1.0\"");
    yc_client *logging = client_for(emu, "\"data_logging\": true");
    REQUIRE(plain && logging);
    yc_task *a = CREATE(plain, "{\"model\": \"yandexgpt\", \"input\": \"a\"}");
    yc_task *b = CREATE(logging, "{\"model\": \"yandexgpt\", \"input\": \"b\"}");
    json_t *creates = emu_creates(emu);
    REQUIRE(json_array_size(creates) == 2, "expected 2 creates");
    CHECK(req_header(json_array_get(creates, 0), "x-data-logging-enabled") == NULL,
          "x-data-logging-enabled sent although data_logging is unset: %s",
          req_header(json_array_get(creates, 0), "x-data-logging-enabled"));
    CHECK_STR(req_header(json_array_get(creates, 0), "user-agent"), "my-agent/1.0");
    CHECK_STR(req_header(json_array_get(creates, 1), "x-data-logging-enabled"), "true");
    json_decref(creates);
    yc_task_free(a);
    yc_task_free(b);
    yc_client_free(plain);
    yc_client_free(logging);
}

TEST(iam_token_is_sent_as_bearer) {
    const char *token = "t1.IAMTOKEN-SECRET-ycbg-51b2";
    th_add_secret(token);
    char args[256];
    snprintf(args, sizeof args, EMU_ARGS " --iam-token %s", token);
    emu_t *emu = emu_start(args);
    REQUIRE(emu);
    char *cfg = th_strdup_printf("{\"base_url\": \"%s\", \"iam_token\": \"%s\", \"folder_id\": \"b1gtestfolder\", "
                                 "\"poll_interval_ms\": 20}",
                                 emu->base_url, token);
    char *err = NULL;
    yc_client *client = yc_client_new(cfg, &err);
    free(cfg);
    CHECK(err == NULL, "error_json not NULL on success");
    json_decref(take_error(err));
    REQUIRE(client);
    yc_task *task = CREATE(client, "{\"model\": \"yandexgpt\", \"input\": \"bearer\"}");
    REQUIRE(task);
    CHECK_STATUS(yc_wait(task, 10000), YC_STATUS_COMPLETED);
    json_t *all = emu_requests(emu, 100);
    char *want = th_strdup_printf("Bearer %s", token);
    for (size_t i = 0; i < json_array_size(all); i++)
        CHECK_STR(req_header(json_array_get(all, i), "authorization"), want);
    free(want);
    json_decref(all);
    char *text = yc_output_text(task);
    CHECK_STR(text, "Echo: bearer");
    yc_free(text);
    yc_task_free(task);
    yc_client_free(client);
}

static void clear_env(void) {
    unsetenv("YC_API_KEY");
    unsetenv("YC_IAM_TOKEN");
    unsetenv("YC_FOLDER_ID");
    unsetenv("YC_BASE_URL");
}

TEST(config_from_environment_only) {
    emu_t *emu = emu_start(EMU_ARGS " --api-key env-key-ENVSECRET-1");
    REQUIRE(emu);
    th_add_secret("env-key-ENVSECRET-1");
    clear_env();
    setenv("YC_API_KEY", "env-key-ENVSECRET-1", 1);
    setenv("YC_FOLDER_ID", "b1genvfolder", 1);
    setenv("YC_BASE_URL", emu->base_url, 1);
    const char *configs[] = {NULL, "{}"};
    for (int c = 0; c < 2; c++) {
        char *err = (char *)"not touched";
        yc_client *client = yc_client_new(configs[c], &err);
        CHECK(client != NULL, "yc_client_new(%s) from the environment failed: %s", configs[c] ? configs[c] : "NULL",
              err ? err : "");
        CHECK(err == NULL, "*error_json not set to NULL on success");
        if (!client) {
            if (err && strcmp(err, "not touched") != 0) yc_free(err);
            continue;
        }
        yc_task *task = CREATE(client, "{\"model\": \"yandexgpt\", \"input\": \"from env\"}");
        if (task) {
            CHECK_STATUS(yc_wait(task, 10000), YC_STATUS_COMPLETED);
            char *text = yc_output_text(task);
            CHECK_STR(text, "Echo: from env");
            yc_free(text);
        }
        json_t *creates = emu_creates(emu);
        json_t *req = json_array_get(creates, json_array_size(creates) - 1);
        json_t *body = req_body(req);
        CHECK_STR(jstr(body, "model"), "gpt://b1genvfolder/yandexgpt");
        CHECK_STR(req_header(req, "authorization"), "Api-Key env-key-ENVSECRET-1");
        CHECK_STR(req_header(req, "openai-project"), "b1genvfolder");
        json_decref(body);
        json_decref(creates);
        yc_task_free(task);
        yc_client_free(client);
    }
    /* YC_IAM_TOKEN alone works as well (Bearer). */
    unsetenv("YC_API_KEY");
    setenv("YC_IAM_TOKEN", "env-key-ENVSECRET-1", 1);
    yc_client *client = yc_client_new(NULL, NULL);
    CHECK(client != NULL, "YC_IAM_TOKEN from the environment refused");
    if (client) {
        yc_task *task = CREATE(client, "{\"model\": \"yandexgpt\", \"input\": \"iam env\"}");
        json_t *creates = emu_creates(emu);
        CHECK_STR(req_header(json_array_get(creates, json_array_size(creates) - 1), "authorization"),
                  "Bearer env-key-ENVSECRET-1");
        json_decref(creates);
        yc_task_free(task);
        yc_client_free(client);
    }
    clear_env();
}

TEST(explicit_config_wins_over_environment) {
    emu_t *emu = emu_start(EMU_ARGS " --api-key right-key");
    REQUIRE(emu);
    clear_env();
    setenv("YC_API_KEY", "wrong-env-key", 1);
    setenv("YC_FOLDER_ID", "b1gwrongfolder", 1);
    setenv("YC_BASE_URL", "http://127.0.0.1:9/v1", 1); /* a closed port, in case it were used */
    char *cfg = th_strdup_printf("{\"base_url\": \"%s\", \"api_key\": \"right-key\", \"folder_id\": \"b1gright\"}",
                                 emu->base_url);
    yc_client *client = yc_client_new(cfg, NULL);
    free(cfg);
    CHECK(client != NULL, "client refused");
    if (client) {
        yc_task *task = CREATE(client, "{\"model\": \"yandexgpt\", \"input\": \"wins\"}");
        CHECK(task != NULL, "create failed: the explicit base_url/api_key were not used?");
        json_t *creates = emu_creates(emu);
        json_t *req = json_array_get(creates, 0);
        json_t *body = req_body(req);
        CHECK_STR(req_header(req, "authorization"), "Api-Key right-key");
        CHECK_STR(req_header(req, "openai-project"), "b1gright");
        CHECK_STR(jstr(body, "model"), "gpt://b1gright/yandexgpt");
        json_decref(body);
        json_decref(creates);
        yc_task_free(task);
        yc_client_free(client);
    }
    /* An explicit iam_token also wins over YC_API_KEY (no "both" error). */
    char *cfg2 = th_strdup_printf("{\"base_url\": \"%s\", \"iam_token\": \"right-key\"}", emu->base_url);
    char *err = NULL;
    yc_client *c2 = yc_client_new(cfg2, &err);
    free(cfg2);
    CHECK(c2 != NULL, "iam_token in config + YC_API_KEY in env refused: %s", err ? err : "");
    yc_free(err);
    if (c2) {
        yc_task *task = CREATE(c2, "{\"model\": \"gpt://b1gwrongfolder/yandexgpt\", \"input\": \"iam\"}");
        json_t *creates = emu_creates(emu);
        CHECK_STR(req_header(json_array_get(creates, json_array_size(creates) - 1), "authorization"),
                  "Bearer right-key");
        json_decref(creates);
        yc_task_free(task);
        yc_client_free(c2);
    }
    clear_env();
}

TEST(wait_until_completed) {
    emu_t *emu = emu_start(EMU_ARGS);
    REQUIRE(emu);
    yc_client *client = client_for(emu, NULL);
    REQUIRE(client);
    yc_task *task = CREATE(client, "{\"model\": \"yandexgpt\", \"input\": \"wait for me\"}");
    REQUIRE(task);
    double t0 = th_now_ms();
    yc_status s = yc_wait(task, -1);
    double dt = th_now_ms() - t0;
    CHECK_STATUS(s, YC_STATUS_COMPLETED);
    CHECK(dt < 5000 + th_slack_ms(), "yc_wait took %.0f ms for a 150 ms job", dt);
    char *text = yc_output_text(task);
    CHECK_STR(text, "Echo: wait for me");
    yc_free(text);
    /* A generous finite timeout also ends at completion. */
    yc_task *t2 = CREATE(client, "{\"model\": \"yandexgpt\", \"input\": \"again\"}");
    REQUIRE(t2);
    t0 = th_now_ms();
    CHECK_STATUS(yc_wait(t2, 30000), YC_STATUS_COMPLETED);
    dt = th_now_ms() - t0;
    CHECK(dt < 5000 + th_slack_ms(), "yc_wait(30000) took %.0f ms for a 150 ms job", dt);
    yc_task_free(t2);
    yc_task_free(task);
    yc_client_free(client);
}

TEST(wait_timeout_shorter_than_work) {
    emu_t *emu = emu_start(EMU_ARGS);
    REQUIRE(emu);
    yc_client *client = client_for(emu, NULL);
    REQUIRE(client);
    yc_task *task = CREATE(client, "{\"model\": \"yandexgpt\", \"input\": \"slow\", \"metadata\": "
                                   "{\"emulator_work_ms\": \"5000\"}}");
    REQUIRE(task);
    double t0 = th_now_ms();
    yc_status s = yc_wait(task, 300);
    double dt = th_now_ms() - t0;
    CHECK(s == YC_STATUS_QUEUED || s == YC_STATUS_IN_PROGRESS, "yc_wait(300) on a 5 s job returned %s",
          yc_status_name(s));
    CHECK(dt >= 250, "yc_wait(300) returned after only %.0f ms on a job that was not done", dt);
    CHECK(dt < 300 + 3000 + th_slack_ms(), "yc_wait(300) took %.0f ms", dt);
    th_note("yc_wait(300) returned %s after %.0f ms", yc_status_name(s), dt);
    json_t *r = task_result(task);
    CHECK(json_is_null(json_object_get(r, "error")), "a wait that ran out of time is not an error");
    json_decref(r);
    /* Short waits in a loop are the interruptible way to wait. */
    yc_cancel(task);
    yc_task_free(task);
    yc_client_free(client);
}

TEST(wait_zero_polls_at_most_once) {
    emu_t *emu = emu_start(EMU_ARGS);
    REQUIRE(emu);
    yc_client *client = client_for(emu, NULL);
    REQUIRE(client);
    yc_task *task = CREATE(client, "{\"model\": \"yandexgpt\", \"input\": \"zero\", \"metadata\": "
                                   "{\"emulator_work_ms\": \"3000\"}}");
    REQUIRE(task);
    long before = emu_stat(emu, "requests.retrieve");
    double t0 = th_now_ms();
    yc_status s = yc_wait(task, 0);
    double dt = th_now_ms() - t0;
    long after = emu_stat(emu, "requests.retrieve");
    CHECK(s == YC_STATUS_QUEUED || s == YC_STATUS_IN_PROGRESS, "yc_wait(0) returned %s", yc_status_name(s));
    CHECK(after - before <= 1, "yc_wait(0) made %ld retrieves", after - before);
    CHECK(dt < 1000 + th_slack_ms(), "yc_wait(0) took %.0f ms", dt);
    yc_task_free(task);
    yc_client_free(client);
}

TEST(wait_honours_poll_after_ms) {
    emu_t *emu = emu_start("--queue-ms 0 --work-ms 1500 --poll-after-ms 300");
    REQUIRE(emu);
    /* The client would poll every 10-20 ms on its own. */
    yc_client *client = client_for(emu, "\"poll_interval_ms\": 10, \"max_poll_interval_ms\": 20");
    REQUIRE(client);
    yc_task *task = CREATE(client, "{\"model\": \"yandexgpt\", \"input\": \"hint\"}");
    REQUIRE(task);
    CHECK_STATUS(yc_wait(task, 20000), YC_STATUS_COMPLETED);
    long with_hint = emu_stat(emu, "requests.retrieve");
    yc_task_free(task);

    /* The same job without the hint, as a contrast. */
    emu_settings(emu, "{\"poll_after_ms\": null}");
    yc_task *t2 = CREATE(client, "{\"model\": \"yandexgpt\", \"input\": \"no hint\"}");
    REQUIRE(t2);
    CHECK_STATUS(yc_wait(t2, 20000), YC_STATUS_COMPLETED);
    long without_hint = emu_stat(emu, "requests.retrieve") - with_hint;
    yc_task_free(t2);
    th_note("retrieves over a 1.5 s job: %ld with openai-poll-after-ms 300, %ld without", with_hint, without_hint);
    CHECK(with_hint >= 2 && with_hint <= 10, "with openai-poll-after-ms: 300 a 1.5 s job took %ld polls", with_hint);
    CHECK(without_hint > 2 * with_hint, "the hint made no difference (%ld vs %ld polls)", with_hint, without_hint);
    yc_client_free(client);
}

TEST(wait_never_sleeps_past_its_deadline) {
    /* The server asks for a 5 s pause between polls; a 400 ms wait must
     * still end after about 400 ms. */
    emu_t *emu = emu_start("--queue-ms 0 --work-ms 20000 --poll-after-ms 5000");
    REQUIRE(emu);
    yc_client *client = client_for(emu, "\"poll_interval_ms\": 3000, \"max_poll_interval_ms\": 10000");
    REQUIRE(client);
    yc_task *task = CREATE(client, "{\"model\": \"yandexgpt\", \"input\": \"deadline\"}");
    REQUIRE(task);
    double t0 = th_now_ms();
    yc_status s = yc_wait(task, 400);
    double dt = th_now_ms() - t0;
    CHECK_STATUS(s, YC_STATUS_IN_PROGRESS);
    CHECK(dt >= 350 && dt < 400 + th_slack_ms(), "yc_wait(400) with openai-poll-after-ms 5000 took %.0f ms", dt);
    th_note("yc_wait(400) with a 5 s server hint: %.0f ms", dt);
    yc_cancel(task);
    yc_task_free(task);
    yc_client_free(client);
}

TEST(wait_interval_grows_to_ceiling) {
    emu_t *emu = emu_start("--queue-ms 0 --work-ms 3000");
    REQUIRE(emu);
    yc_client *client = client_for(emu, "\"poll_interval_ms\": 50, \"max_poll_interval_ms\": 400");
    REQUIRE(client);
    yc_task *task = CREATE(client, "{\"model\": \"yandexgpt\", \"input\": \"grow\"}");
    REQUIRE(task);
    CHECK_STATUS(yc_wait(task, 20000), YC_STATUS_COMPLETED);
    long n = emu_stat(emu, "requests.retrieve");
    th_note("a 3 s job polled %ld times with poll_interval 50 ms, ceiling 400 ms", n);
    /* Fixed at 50 ms it would be ~60 polls; fixed at 400 ms ~8. */
    CHECK(n >= 5 && n <= 25, "polls: %ld", n);
    yc_task_free(task);
    yc_client_free(client);
}

TEST(cancel_in_progress_and_queued) {
    emu_t *emu = emu_start("--queue-ms 300 --work-ms 5000");
    REQUIRE(emu);
    yc_client *client = client_for(emu, NULL);
    REQUIRE(client);
    /* queued → cancelled */
    yc_task *q = CREATE(client, "{\"model\": \"yandexgpt\", \"input\": \"cancel queued\"}");
    REQUIRE(q);
    CHECK_STATUS(yc_cancel(q), YC_STATUS_CANCELLED);
    json_t *r = task_result(q);
    CHECK_STR(jstr(r, "status"), "cancelled");
    CHECK(json_is_null(json_object_get(r, "error")), "a cancelled task has no error");
    json_decref(r);
    /* in_progress → cancelled */
    yc_task *t = CREATE(client, "{\"model\": \"yandexgpt\", \"input\": \"cancel running\"}");
    REQUIRE(t);
    yc_status s = YC_STATUS_QUEUED;
    for (int i = 0; i < 200 && s == YC_STATUS_QUEUED; i++) {
        th_sleep_ms(20);
        s = yc_poll(t);
    }
    CHECK_STATUS(s, YC_STATUS_IN_PROGRESS);
    long cancels = emu_stat(emu, "requests.cancel");
    CHECK_STATUS(yc_cancel(t), YC_STATUS_CANCELLED);
    CHECK_INT(emu_stat(emu, "requests.cancel"), cancels + 1);
    json_t *cancel_reqs = emu_requests_matching(emu, "POST", "/v1/responses/");
    char *path = th_strdup_printf("/v1/responses/%s/cancel", yc_task_id(t));
    CHECK_STR(jstr(json_array_get(cancel_reqs, json_array_size(cancel_reqs) - 1), "path"), path);
    free(path);
    json_decref(cancel_reqs);
    /* Terminal now: no more requests. */
    long total = emu_stat(emu, "requests.retrieve") + emu_stat(emu, "requests.cancel");
    CHECK_STATUS(yc_poll(t), YC_STATUS_CANCELLED);
    CHECK_STATUS(yc_wait(t, -1), YC_STATUS_CANCELLED);
    CHECK_STATUS(yc_cancel(t), YC_STATUS_CANCELLED);
    CHECK_INT(emu_stat(emu, "requests.retrieve") + emu_stat(emu, "requests.cancel"), total);
    char *text = yc_output_text(t);
    CHECK(text != NULL, "yc_output_text NULL");
    yc_free(text);
    yc_task_free(q);
    yc_task_free(t);
    yc_client_free(client);
}

TEST(cancel_of_completed_is_a_noop) {
    emu_t *emu = emu_start(EMU_ARGS);
    REQUIRE(emu);
    yc_client *client = client_for(emu, NULL);
    REQUIRE(client);
    yc_task *t = CREATE(client, "{\"model\": \"yandexgpt\", \"input\": \"done\"}");
    REQUIRE(t);
    CHECK_STATUS(yc_wait(t, 10000), YC_STATUS_COMPLETED);
    json_t *before = emu_stats(emu);
    CHECK_STATUS(yc_cancel(t), YC_STATUS_COMPLETED);
    json_t *after = emu_stats(emu);
    CHECK_INT(jint(json_object_get(after, "requests"), "cancel", -1), 0);
    CHECK_INT(jint(json_object_get(after, "requests"), "retrieve", -1),
              jint(json_object_get(before, "requests"), "retrieve", -2));
    json_decref(before);
    json_decref(after);
    char *text = yc_output_text(t);
    CHECK_STR(text, "Echo: done");
    yc_free(text);
    yc_task_free(t);
    yc_client_free(client);
}

/* ycbg.h (yc_cancel): "a response that finished first stays completed".
 * The task finished on the server, but this handle has not polled since it
 * was queued: the cancel goes out, the server answers with the completed
 * response, and the task takes that status and text. */
TEST(cancel_of_a_task_finished_but_not_yet_known) {
    emu_t *emu = emu_start("--queue-ms 0 --work-ms 0");
    REQUIRE(emu);
    yc_client *client = client_for(emu, NULL);
    REQUIRE(client);
    /* Queued for 100 ms, working for 100 ms: the create's answer says queued. */
    yc_task *t = CREATE(client, "{\"model\": \"yandexgpt\", \"input\": \"finished first\", \"metadata\": "
                                "{\"emulator_queue_ms\": \"100\", \"emulator_work_ms\": \"100\"}}");
    REQUIRE(t);
    json_t *r = task_result(t);
    CHECK_STR(jstr(r, "status"), "queued");
    json_decref(r);
    /* Let it finish on the server, unobserved. */
    th_sleep_ms(600);
    CHECK_INT(emu_stat(emu, "requests.retrieve"), 0);
    CHECK_STATUS(yc_cancel(t), YC_STATUS_COMPLETED);
    CHECK_INT(emu_stat(emu, "requests.cancel"), 1);
    r = task_result(t);
    CHECK_STR(jstr(r, "status"), "completed");
    CHECK_STR(jstr(r, "output_text"), "Echo: finished first");
    CHECK(json_is_null(json_object_get(r, "error")), "an error after the cancel");
    json_decref(r);
    /* Terminal now: no more requests, and it stays completed on the server. */
    long requests = emu_stat(emu, "requests.retrieve") + emu_stat(emu, "requests.cancel");
    CHECK_STATUS(yc_cancel(t), YC_STATUS_COMPLETED);
    CHECK_STATUS(yc_poll(t), YC_STATUS_COMPLETED);
    CHECK_INT(emu_stat(emu, "requests.retrieve") + emu_stat(emu, "requests.cancel"), requests);
    yc_task *again = yc_attach(client, yc_task_id(t), NULL);
    REQUIRE(again);
    CHECK_STATUS(yc_poll(again), YC_STATUS_COMPLETED);
    yc_task_free(again);
    yc_task_free(t);
    yc_client_free(client);
}

/* ycbg.h (yc_task_free): "The response on the server is not cancelled or
 * deleted." Freed while queued, it goes on to complete; freed when
 * completed, it can still be fetched. */
TEST(task_free_neither_cancels_nor_deletes) {
    emu_t *emu = emu_start("--queue-ms 0 --work-ms 0");
    REQUIRE(emu);
    yc_client *client = client_for(emu, NULL);
    REQUIRE(client);
    yc_task *running = CREATE(client, "{\"model\": \"yandexgpt\", \"input\": \"left running\", \"metadata\": "
                                      "{\"emulator_queue_ms\": \"1000\", \"emulator_work_ms\": \"300\"}}");
    yc_task *done = CREATE(client, "{\"model\": \"yandexgpt\", \"input\": \"left done\"}");
    REQUIRE(running && done);
    char *running_id = strdup(yc_task_id(running));
    char *done_id = strdup(yc_task_id(done));
    CHECK_STATUS(yc_wait(done, 10000), YC_STATUS_COMPLETED);
    json_t *before = emu_requests(emu, 1000);
    yc_task_free(running);
    yc_task_free(done);
    yc_client_free(client);
    th_sleep_ms(200); /* anything the frees might send has time to arrive */
    json_t *after = emu_requests(emu, 1000);
    CHECK(json_array_size(after) == json_array_size(before), "freeing sent %zu requests",
          json_array_size(after) - json_array_size(before));
    json_decref(before);
    json_decref(after);
    CHECK_INT(emu_stat(emu, "requests.cancel"), 0);
    CHECK_INT(emu_stat(emu, "requests.delete"), 0);
    /* The server still has both, and the running one finishes. */
    yc_client *other = client_for(emu, NULL);
    REQUIRE(other);
    yc_task *r = yc_attach(other, running_id, NULL);
    CHECK(r != NULL, "the freed running task is gone from the server");
    if (r) {
        /* Not cancelled (and, unless this machine is very slow, not yet done). */
        json_t *doc = task_result(r);
        const char *st = jstr(doc, "status") ? jstr(doc, "status") : "";
        CHECK(strcmp(st, "queued") == 0 || strcmp(st, "in_progress") == 0 || strcmp(st, "completed") == 0,
              "status after free: %s", st);
        json_decref(doc);
        CHECK_STATUS(yc_wait(r, 10000), YC_STATUS_COMPLETED);
        char *text = yc_output_text(r);
        CHECK_STR(text, "Echo: left running");
        yc_free(text);
    }
    yc_task *d = yc_attach(other, done_id, NULL);
    CHECK(d != NULL, "the freed completed task is gone from the server");
    if (d) {
        char *text = yc_output_text(d);
        CHECK_STR(text, "Echo: left done");
        yc_free(text);
    }
    yc_task_free(r);
    yc_task_free(d);
    yc_client_free(other);
    free(running_id);
    free(done_id);
}

TEST(terminal_task_makes_no_requests) {
    emu_t *emu = emu_start(EMU_ARGS);
    REQUIRE(emu);
    yc_client *client = client_for(emu, NULL);
    REQUIRE(client);
    const char *outcomes[] = {"completed", "failed", "incomplete"};
    yc_status expect[] = {YC_STATUS_COMPLETED, YC_STATUS_FAILED, YC_STATUS_INCOMPLETE};
    for (int i = 0; i < 3; i++) {
        char *req = th_strdup_printf("{\"model\": \"yandexgpt\", \"input\": \"t\", \"metadata\": "
                                     "{\"emulator_outcome\": \"%s\"}}",
                                     outcomes[i]);
        yc_task *t = CREATE(client, req);
        free(req);
        if (!t) continue;
        CHECK_STATUS(yc_wait(t, 10000), expect[i]);
        json_t *r0 = emu_stats(emu);
        json_t *q0 = json_object_get(r0, "requests");
        for (int k = 0; k < 3; k++) {
            CHECK_STATUS(yc_poll(t), expect[i]);
            CHECK_STATUS(yc_wait(t, -1), expect[i]);
            CHECK_STATUS(yc_wait(t, 0), expect[i]);
            CHECK_STATUS(yc_wait(t, 1000), expect[i]);
            CHECK_STATUS(yc_cancel(t), expect[i]);
        }
        json_t *r1 = emu_stats(emu);
        json_t *q1 = json_object_get(r1, "requests");
        CHECK(json_equal(q0, q1), "requests made on a %s task", outcomes[i]);
        json_decref(r0);
        json_decref(r1);
        yc_task_free(t);
    }
    yc_client_free(client);
}

TEST(attach_from_another_client) {
    emu_t *emu = emu_start("--queue-ms 100 --work-ms 300");
    REQUIRE(emu);
    yc_client *a = client_for(emu, NULL);
    yc_client *b = client_for(emu, NULL);
    REQUIRE(a && b);
    yc_task *t = CREATE(a, "{\"model\": \"yandexgpt\", \"input\": \"attach me\"}");
    REQUIRE(t);
    char *id = strdup(yc_task_id(t));
    long retrieves = emu_stat(emu, "requests.retrieve");
    char *err = (char *)"untouched";
    yc_task *t2 = yc_attach(b, id, &err);
    CHECK(t2 != NULL, "attach failed: %s", err ? err : "");
    CHECK(err == NULL, "*error_json not NULL after a successful attach");
    REQUIRE(t2);
    CHECK_INT(emu_stat(emu, "requests.retrieve"), retrieves + 1);
    CHECK_STR(yc_task_id(t2), id);
    json_t *r = task_result(t2);
    CHECK_STR(jstr(r, "id"), id);
    const char *st = jstr(r, "status");
    CHECK(st && (strcmp(st, "queued") == 0 || strcmp(st, "in_progress") == 0), "attached status %s",
          st ? st : "(null)");
    CHECK(json_is_object(json_object_get(r, "response")), "attach fetched no Response object");
    json_decref(r);
    CHECK_STATUS(yc_wait(t2, 10000), YC_STATUS_COMPLETED);
    char *text = yc_output_text(t2);
    CHECK_STR(text, "Echo: attach me");
    yc_free(text);
    /* Attaching to a finished response gives it finished, without polling. */
    yc_task *t3 = yc_attach(a, id, NULL);
    REQUIRE(t3);
    json_t *r3 = task_result(t3);
    CHECK_STR(jstr(r3, "status"), "completed");
    CHECK_STR(jstr(r3, "output_text"), "Echo: attach me");
    json_decref(r3);
    long n = emu_stat(emu, "requests.retrieve");
    CHECK_STATUS(yc_poll(t3), YC_STATUS_COMPLETED);
    CHECK_INT(emu_stat(emu, "requests.retrieve"), n);
    free(id);
    yc_task_free(t);
    yc_task_free(t2);
    yc_task_free(t3);
    yc_client_free(a);
    yc_client_free(b);
}

TEST(attach_unknown_id_is_api_404) {
    emu_t *emu = emu_start(EMU_ARGS);
    REQUIRE(emu);
    yc_client *client = client_for(emu, NULL);
    REQUIRE(client);
    char *err = NULL;
    yc_task *t = yc_attach(client, "00000000-0000-4000-8000-000000000000", &err);
    CHECK(t == NULL, "attach of an unknown id gave a task");
    CHECK(err != NULL, "no error_json");
    json_t *e = take_error(err);
    CHECK_ERROR_SHAPE(e);
    CHECK_STR(err_kind(e), "api");
    CHECK_INT(jint(e, "http_status", -1), 404);
    CHECK_STR(jstr(e, "code"), "not_found");
    CHECK(th_is_uuid(jstr(e, "request_id")), "request_id from x-request-id missing");
    CHECK(json_is_false(json_object_get(e, "retryable")), "404 is not retryable");
    json_decref(e);
    /* An empty id is refused; an id with odd characters is sent safely. */
    err = NULL;
    t = yc_attach(client, "", &err);
    CHECK(t == NULL, "attach of an empty id gave a task");
    e = take_error(err);
    CHECK(e != NULL, "no error for an empty id");
    CHECK_ERROR_SHAPE(e);
    json_decref(e);
    err = NULL;
    long before = emu_stat(emu, "requests.retrieve");
    t = yc_attach(client, "../../_emulator/reset?x=1#y", &err);
    CHECK(t == NULL, "attach of a path-like id gave a task");
    e = take_error(err);
    CHECK(e != NULL, "no error for an odd id");
    CHECK_INT(jint(e, "http_status", -1), 404);
    json_decref(e);
    yc_task_free(t);
    /* The id went as one escaped path segment under /v1/responses/: the
     * server saw a retrieve of that id, not a path that climbs out of it
     * (the reset would have cleared the counters and the log). */
    CHECK_INT(emu_stat(emu, "requests.retrieve"), before + 1);
    json_t *log = emu_requests(emu, 1);
    json_t *last = json_array_get(log, 0);
    CHECK_STR(jstr(last, "method"), "GET");
    CHECK_STR(jstr(last, "path"), "/v1/responses/..%2F..%2F_emulator%2Freset%3Fx%3D1%23y");
    CHECK_INT(jint(last, "status", -1), 404);
    json_decref(log);
    json_t *all = emu_requests(emu, 100);
    CHECK(json_array_size(all) >= 2, "the request log was cleared: %zu entries", json_array_size(all));
    json_decref(all);
    yc_client_free(client);
}

TEST(result_document_shape) {
    emu_t *emu = emu_start("--queue-ms 400 --work-ms 100");
    REQUIRE(emu);
    yc_client *client = client_for(emu, NULL);
    REQUIRE(client);
    yc_task *t = CREATE(client, "{\"model\": \"yandexgpt\", \"input\": \"one two three\"}");
    REQUIRE(t);
    json_t *r = task_result(t);
    REQUIRE(json_is_object(r), "yc_result is not an object");
    CHECK_STR(jstr(r, "id"), yc_task_id(t));
    CHECK_STR(jstr(r, "status"), "queued");
    CHECK_STR(jstr(r, "output_text"), "");
    CHECK(json_object_get(r, "usage") && json_is_null(json_object_get(r, "usage")), "usage not null before");
    CHECK(json_object_get(r, "error") && json_is_null(json_object_get(r, "error")), "error not null");
    json_t *resp = json_object_get(r, "response");
    CHECK(json_is_object(resp), "response is not an object");
    CHECK_STR(jstr(resp, "id"), yc_task_id(t));
    CHECK_STR(jstr(resp, "status"), "queued");
    json_decref(r);
    char *text = yc_output_text(t);
    CHECK_STR(text, "");
    yc_free(text);

    CHECK_STATUS(yc_wait(t, 10000), YC_STATUS_COMPLETED);
    r = task_result(t);
    CHECK_STR(jstr(r, "status"), "completed");
    CHECK_STR(jstr(r, "output_text"), "Echo: one two three");
    json_t *usage = json_object_get(r, "usage");
    CHECK(json_is_object(usage), "usage not an object after completion");
    CHECK_INT(jint(usage, "input_tokens", -1), 3);
    CHECK_INT(jint(usage, "output_tokens", -1), 4);
    CHECK_INT(jint(usage, "total_tokens", -1), 7);
    CHECK(json_is_null(json_object_get(r, "error")), "error not null after completion");
    resp = json_object_get(r, "response");
    CHECK_STR(jstr(resp, "status"), "completed");
    CHECK(json_is_array(json_object_get(resp, "output")), "response.output missing");
    CHECK_INT(json_object_size(r), 6);
    json_decref(r);
    yc_task_free(t);
    yc_client_free(client);
}

TEST(output_text_computed_from_output_items) {
    emu_t *emu = emu_start(EMU_ARGS);
    REQUIRE(emu);
    yc_client *client = client_for(emu, NULL);
    REQUIRE(client);
    /* Per response: the emulator_omit_output_text directive. */
    yc_task *t = CREATE(client, "{\"model\": \"yandexgpt\", \"input\": \"computed from parts\", \"metadata\": "
                                "{\"emulator_omit_output_text\": \"true\"}}");
    REQUIRE(t);
    CHECK_STATUS(yc_wait(t, 10000), YC_STATUS_COMPLETED);
    json_t *r = task_result(t);
    CHECK(json_object_get(json_object_get(r, "response"), "output_text") == NULL,
          "the server did send output_text; the test proves nothing");
    CHECK_STR(jstr(r, "output_text"), "Echo: computed from parts");
    json_decref(r);
    char *text = yc_output_text(t);
    CHECK_STR(text, "Echo: computed from parts");
    yc_free(text);
    yc_task_free(t);

    /* For all responses: settings output_text false. */
    emu_settings(emu, "{\"output_text\": false}");
    t = CREATE(client, "{\"model\": \"yandexgpt\", \"input\": \"Ünïcödé parts ✓\"}");
    REQUIRE(t);
    CHECK_STATUS(yc_wait(t, 10000), YC_STATUS_COMPLETED);
    text = yc_output_text(t);
    CHECK_STR(text, "Echo: Ünïcödé parts ✓");
    yc_free(text);
    yc_task_free(t);

    /* A hand-made Response: output_text null counts as absent; only
     * output_text parts of message items count, in order. */
    emu_fault(emu,
              "{\"match\": \"create\", \"kind\": \"status\", \"status\": 200, \"body\": "
              "\"{\\\"id\\\": \\\"resp-handmade\\\", \\\"object\\\": \\\"response\\\", \\\"status\\\": "
              "\\\"completed\\\", \\\"output_text\\\": null, \\\"usage\\\": {\\\"input_tokens\\\": 1, "
              "\\\"output_tokens\\\": 2, \\\"total_tokens\\\": 3}, \\\"output\\\": ["
              "{\\\"type\\\": \\\"reasoning\\\", \\\"id\\\": \\\"r1\\\", \\\"summary\\\": [{\\\"type\\\": "
              "\\\"summary_text\\\", \\\"text\\\": \\\"NOT-THIS\\\"}]},"
              "{\\\"type\\\": \\\"message\\\", \\\"role\\\": \\\"assistant\\\", \\\"content\\\": ["
              "{\\\"type\\\": \\\"output_text\\\", \\\"text\\\": \\\"Hel\\\", \\\"annotations\\\": []},"
              "{\\\"type\\\": \\\"refusal\\\", \\\"refusal\\\": \\\"NOT-THIS\\\"},"
              "{\\\"type\\\": \\\"output_text\\\", \\\"text\\\": \\\"lo\\\", \\\"annotations\\\": []}]},"
              "{\\\"type\\\": \\\"function_call\\\", \\\"call_id\\\": \\\"c\\\", \\\"name\\\": \\\"f\\\", "
              "\\\"arguments\\\": \\\"{}\\\"},"
              "{\\\"type\\\": \\\"message\\\", \\\"role\\\": \\\"assistant\\\", \\\"content\\\": ["
              "{\\\"type\\\": \\\"output_text\\\", \\\"text\\\": \\\", world\\\", \\\"annotations\\\": []}]}"
              "]}\"}");
    char *err = NULL;
    t = yc_create_background(client, "{\"model\": \"yandexgpt\", \"input\": \"x\"}", &err);
    CHECK(t != NULL, "hand-made completed Response refused: %s", err ? err : "");
    yc_free(err);
    if (t) {
        CHECK_STR(yc_task_id(t), "resp-handmade");
        CHECK_STATUS(yc_poll(t), YC_STATUS_COMPLETED);
        text = yc_output_text(t);
        CHECK_STR(text, "Hello, world");
        yc_free(text);
        r = task_result(t);
        CHECK_STR(jstr(r, "output_text"), "Hello, world");
        CHECK_INT(jint(json_object_get(r, "usage"), "total_tokens", -1), 3);
        json_decref(r);
        yc_task_free(t);
    }
    yc_client_free(client);
}

TEST(non_ascii_output) {
    emu_t *emu = emu_start(EMU_ARGS);
    REQUIRE(emu);
    yc_client *client = client_for(emu, NULL);
    REQUIRE(client);
    const char *input = "Привет, мир! 你好，世界 🌍🚀 — «ё» \\\"quoted\\\" tab\\t";
    const char *expect = "Echo: Привет, мир! 你好，世界 🌍🚀 — «ё» \"quoted\" tab\t";
    char *req = th_strdup_printf("{\"model\": \"yandexgpt\", \"input\": \"%s\"}", input);
    yc_task *t = CREATE(client, req);
    free(req);
    REQUIRE(t);
    CHECK_STATUS(yc_wait(t, 10000), YC_STATUS_COMPLETED);
    char *text = yc_output_text(t);
    CHECK_STR(text, expect);
    yc_free(text);
    json_t *r = task_result(t);
    CHECK_STR(jstr(r, "output_text"), expect);
    json_decref(r);
    yc_task_free(t);
    /* Same with the text computed from the output parts (split in the middle
     * of the multi-byte text). */
    req = th_strdup_printf("{\"model\": \"yandexgpt\", \"input\": \"%s\", \"metadata\": "
                           "{\"emulator_omit_output_text\": \"true\"}}",
                           input);
    t = CREATE(client, req);
    free(req);
    REQUIRE(t);
    CHECK_STATUS(yc_wait(t, 10000), YC_STATUS_COMPLETED);
    text = yc_output_text(t);
    CHECK_STR(text, expect);
    yc_free(text);
    yc_task_free(t);
    yc_client_free(client);
}

TEST(large_output_one_megabyte) {
    emu_t *emu = emu_start(EMU_ARGS);
    REQUIRE(emu);
    yc_client *client = client_for(emu, NULL);
    REQUIRE(client);
    yc_task *t = CREATE(client, "{\"model\": \"yandexgpt\", \"input\": \"big\", \"metadata\": "
                                "{\"emulator_output_bytes\": \"1048576\"}}");
    REQUIRE(t);
    CHECK_STATUS(yc_wait(t, 20000), YC_STATUS_COMPLETED);
    char *text = yc_output_text(t);
    REQUIRE(text);
    CHECK_INT(strlen(text), 1048576);
    CHECK(strncmp(text, "abcdefghi", 9) == 0, "unexpected start: %.20s", text);
    json_t *r = task_result(t);
    CHECK_STR(jstr(r, "output_text"), text);
    json_decref(r);
    yc_free(text);
    yc_task_free(t);
    /* The same, computed from the two output parts. */
    t = CREATE(client, "{\"model\": \"yandexgpt\", \"input\": \"big\", \"metadata\": "
                       "{\"emulator_output_bytes\": \"1048576\", \"emulator_omit_output_text\": \"true\"}}");
    REQUIRE(t);
    CHECK_STATUS(yc_wait(t, 20000), YC_STATUS_COMPLETED);
    text = yc_output_text(t);
    CHECK(text && strlen(text) == 1048576, "computed text length %zu", text ? strlen(text) : 0);
    yc_free(text);
    yc_task_free(t);
    yc_client_free(client);
}

/* Generated text may contain NUL ("\u0000" in JSON): yc_output_text_len
 * returns all of it, byte for byte what yc_result's "output_text" holds,
 * while yc_output_text can only be read up to the first NUL. */
TEST(output_text_len_keeps_inner_nul) {
    emu_t *emu = emu_start(EMU_ARGS);
    REQUIRE(emu);
    yc_client *client = client_for(emu, NULL);
    REQUIRE(client);
    yc_task *t = CREATE(client, "{\"model\": \"yandexgpt\", \"input\": \"before\\u0000after\"}");
    REQUIRE(t);
    CHECK_STATUS(yc_wait(t, 10000), YC_STATUS_COMPLETED);
    static const char want[] = "Echo: before\0after";
    const size_t want_len = sizeof want - 1;

    size_t len = 12345;
    char *text = yc_output_text_len(t, &len);
    REQUIRE(text);
    CHECK_INT(len, want_len);
    CHECK(len == want_len && memcmp(text, want, want_len) == 0, "text differs: %.*s", (int)len, text);
    CHECK(text[len] == '\0', "no terminating NUL after %zu bytes", len);
    yc_free(text);

    /* The same bytes as yc_result's "output_text". */
    char *doc_text = yc_result(t);
    REQUIRE(doc_text);
    json_error_t jerr;
    json_t *doc = json_loads(doc_text, JSON_ALLOW_NUL, &jerr);
    yc_free(doc_text);
    REQUIRE(doc, "yc_result is not JSON: %s", jerr.text);
    json_t *ot = json_object_get(doc, "output_text");
    CHECK(json_is_string(ot) && json_string_length(ot) == want_len &&
              memcmp(json_string_value(ot), want, want_len) == 0,
          "yc_result output_text differs");
    json_decref(doc);

    /* yc_output_text: the same text, readable only up to the NUL. */
    text = yc_output_text(t);
    CHECK_STR(text, "Echo: before");
    yc_free(text);

    /* length may be NULL; a NULL task gives NULL and *length 0. */
    text = yc_output_text_len(t, NULL);
    CHECK_STR(text, "Echo: before");
    yc_free(text);
    len = 99;
    CHECK(yc_output_text_len(NULL, &len) == NULL, "NULL task gave text");
    CHECK_INT(len, 0);
    yc_task_free(t);

    /* Before there is output: "" with length 0. */
    t = CREATE(client, "{\"model\": \"yandexgpt\", \"input\": \"later\"}");
    REQUIRE(t);
    len = 7;
    text = yc_output_text_len(t, &len);
    CHECK_STR(text, "");
    CHECK_INT(len, 0);
    yc_free(text);
    yc_task_free(t);
    yc_client_free(client);
}

static void check_generation_error(yc_client *client, const char *metadata, const char *extra, yc_status want,
                                   const char *want_status, const char *want_code) {
    char *req = th_strdup_printf("{\"model\": \"yandexgpt\", \"input\": \"a b c d e f\"%s, \"metadata\": {%s}}",
                                 extra, metadata);
    yc_task *t = CREATE(client, req);
    free(req);
    if (!t) return;
    CHECK_STATUS(yc_wait(t, 10000), want);
    json_t *r = task_result(t);
    CHECK_STR(jstr(r, "status"), want_status);
    json_t *e = json_object_get(r, "error");
    CHECK(json_is_object(e), "no error for a %s task", want_status);
    CHECK_ERROR_SHAPE(e);
    CHECK_STR(err_kind(e), "generation");
    CHECK_STR(jstr(e, "code"), want_code);
    CHECK(json_is_false(json_object_get(e, "retryable")), "generation errors are not retryable");
    json_decref(r);
    /* The error stays after more calls (they make no request). */
    CHECK_STATUS(yc_poll(t), want);
    r = task_result(t);
    CHECK_STR(err_kind(json_object_get(r, "error")), "generation");
    json_decref(r);
    yc_task_free(t);
}

TEST(failed_and_incomplete_outcomes) {
    emu_t *emu = emu_start(EMU_ARGS);
    REQUIRE(emu);
    yc_client *client = client_for(emu, NULL);
    REQUIRE(client);
    check_generation_error(client, "\"emulator_outcome\": \"failed\"", "", YC_STATUS_FAILED, "failed",
                           "server_error");
    check_generation_error(client, "\"emulator_outcome\": \"incomplete\"", "", YC_STATUS_INCOMPLETE, "incomplete",
                           "max_output_tokens");
    check_generation_error(client, "\"emulator_outcome\": \"content_filter\"", "", YC_STATUS_INCOMPLETE,
                           "incomplete", "content_filter");
    check_generation_error(client, "\"k\": \"v\"", ", \"max_output_tokens\": 2", YC_STATUS_INCOMPLETE,
                           "incomplete", "max_output_tokens");
    /* The failed task's message is the server's. */
    yc_task *t = CREATE(client, "{\"model\": \"yandexgpt\", \"input\": \"x\", \"metadata\": "
                                "{\"emulator_outcome\": \"failed\"}}");
    REQUIRE(t);
    CHECK_STATUS(yc_wait(t, 10000), YC_STATUS_FAILED);
    json_t *r = task_result(t);
    const char *msg = jstr(json_object_get(r, "error"), "message");
    CHECK(msg && strstr(msg, "Emulated generation failure"), "message: %s", msg ? msg : "(null)");
    json_decref(r);
    yc_task_free(t);
    /* Incomplete by max_output_tokens keeps the cut text. */
    t = CREATE(client, "{\"model\": \"yandexgpt\", \"input\": \"a b c d e f\", \"max_output_tokens\": 3}");
    REQUIRE(t);
    CHECK_STATUS(yc_wait(t, 10000), YC_STATUS_INCOMPLETE);
    char *text = yc_output_text(t);
    CHECK_STR(text, "Echo: a b");
    yc_free(text);
    yc_task_free(t);
    yc_client_free(client);
}

TEST(keep_alive_single_connection) {
    emu_t *emu = emu_start("--queue-ms 200 --work-ms 500");
    REQUIRE(emu);
    /* The overhead of one stats call on the counter (its own connection). */
    long c0 = emu_stat(emu, "connections");
    long c1 = emu_stat(emu, "connections");
    long overhead = c1 - c0;
    yc_client *client = client_for(emu, NULL);
    REQUIRE(client);
    yc_task *t = CREATE(client, "{\"model\": \"yandexgpt\", \"input\": \"keep alive\"}");
    REQUIRE(t);
    int polls = 0;
    CHECK_STATUS(poll_until_terminal(t, 10000, 25, &polls), YC_STATUS_COMPLETED);
    CHECK(polls >= 10, "only %d polls; the test wants 10 or more", polls);
    char *text = yc_output_text(t);
    CHECK_STR(text, "Echo: keep alive");
    yc_free(text);
    long c2 = emu_stat(emu, "connections");
    long used = c2 - c1 - overhead;
    th_note("%d polls + 1 create over %ld connection(s)", polls, used);
    CHECK_INT(used, 1);
    yc_task_free(t);
    yc_client_free(client);
}

TEST(version_and_status_names) {
    const char *v = yc_version();
    REQUIRE(v != NULL);
    regex_t re;
    regcomp(&re, "^[0-9]+\\.[0-9]+\\.[0-9]+$", REG_EXTENDED | REG_NOSUB);
    CHECK(regexec(&re, v, 0, NULL, 0) == 0, "yc_version() = \"%s\" is not MAJOR.MINOR.PATCH", v);
    regfree(&re);
    CHECK(yc_version() == v, "yc_version() is not a static string");
    struct {
        yc_status s;
        const char *name;
    } names[] = {
        {YC_STATUS_ERROR, "error"},         {YC_STATUS_QUEUED, "queued"},
        {YC_STATUS_IN_PROGRESS, "in_progress"}, {YC_STATUS_COMPLETED, "completed"},
        {YC_STATUS_FAILED, "failed"},       {YC_STATUS_CANCELLED, "cancelled"},
        {YC_STATUS_INCOMPLETE, "incomplete"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        CHECK_STR(yc_status_name(names[i].s), names[i].name);
        CHECK(yc_status_name(names[i].s) == yc_status_name(names[i].s), "not static");
    }
    int out_of_range[] = {-2, 6, 7, 100, -1000, 0x7fffffff, (int)0x80000000};
    for (size_t i = 0; i < sizeof out_of_range / sizeof out_of_range[0]; i++)
        CHECK_STR(yc_status_name((yc_status)out_of_range[i]), "unknown");
    /* The numbers of the enum. */
    CHECK_INT(YC_STATUS_ERROR, -1);
    CHECK_INT(YC_STATUS_QUEUED, 0);
    CHECK_INT(YC_STATUS_IN_PROGRESS, 1);
    CHECK_INT(YC_STATUS_COMPLETED, 2);
    CHECK_INT(YC_STATUS_FAILED, 3);
    CHECK_INT(YC_STATUS_CANCELLED, 4);
    CHECK_INT(YC_STATUS_INCOMPLETE, 5);
}

TEST(task_id_is_the_server_id) {
    emu_t *emu = emu_start(EMU_ARGS);
    REQUIRE(emu);
    yc_client *client = client_for(emu, NULL);
    REQUIRE(client);
    yc_task *t = CREATE(client, "{\"model\": \"yandexgpt\", \"input\": \"id\"}");
    REQUIRE(t);
    const char *id = yc_task_id(t);
    REQUIRE(id);
    CHECK(yc_task_id(t) == id, "yc_task_id is not stable (borrowed for the task's lifetime)");
    CHECK_STATUS(yc_wait(t, 10000), YC_STATUS_COMPLETED);
    CHECK_STR(yc_task_id(t), id);
    json_t *r = task_result(t);
    CHECK_STR(jstr(json_object_get(r, "response"), "id"), id);
    json_decref(r);
    json_t *gets = emu_retrieves(emu);
    char *path = th_strdup_printf("/v1/responses/%s", id);
    for (size_t i = 0; i < json_array_size(gets); i++) CHECK_STR(jstr(json_array_get(gets, i), "path"), path);
    free(path);
    json_decref(gets);
    CHECK(yc_task_id(NULL) == NULL, "yc_task_id(NULL) is not NULL");
    yc_task_free(t);
    yc_client_free(client);
}

/* ycbg.h: "Nothing here aborts, traps or prints."  stdout and stderr (the
 * file descriptors, so writes from any layer count) go to a file around a
 * whole workflow with its error paths; not one byte may arrive. */
TEST(library_prints_nothing) {
    emu_t *emu = emu_start("--queue-ms 0 --work-ms 0"); /* before the capture: its output is its own */
    REQUIRE(emu);
    char *good_cfg = cfg_for(emu, "\"max_retries\": 1, \"timeout_ms\": 1000");
    char *refused_cfg = th_strdup_printf("{\"base_url\": \"http://127.0.0.1:1/v1\", \"api_key\": \"k\", "
                                         "\"folder_id\": \"f\", \"max_retries\": 0}");
    fflush(stdout);
    fflush(stderr);
    FILE *capture = tmpfile();
    REQUIRE(capture);
    int saved_out = dup(1), saved_err = dup(2);
    REQUIRE(saved_out >= 0 && saved_err >= 0);
    dup2(fileno(capture), 1);
    dup2(fileno(capture), 2);

    /* Checked after the capture ends (a failure message would be output too). */
    int calls = 0, wrong = 0;
#define EXPECT(cond) (calls++, (cond) ? (void)0 : (void)wrong++)
    EXPECT(yc_version() && yc_status_name((yc_status)99));
    char *err = NULL;
    const char *bad_configs[] = {"{", "[]", "{\"api_key\": \"k\", \"nope\": 1}", ("{\"base_url\": \"ftp://x\", "
                                  "\"api_key\": \"k\"}"), "{\"api_key\": \"k\", \"iam_token\": \"t\"}"};
    for (size_t i = 0; i < sizeof bad_configs / sizeof bad_configs[0]; i++) {
        EXPECT(yc_client_new(bad_configs[i], &err) == NULL && err);
        yc_free(err);
        err = NULL;
    }
    yc_client *client = yc_client_new(good_cfg, &err);
    EXPECT(client && !err);
    const char *bad_requests[] = {"{", "[1]", "{\"model\": \"yandexgpt\", \"stream\": true, \"input\": \"x\"}"};
    for (size_t i = 0; i < sizeof bad_requests / sizeof bad_requests[0]; i++) {
        EXPECT(yc_create_background(client, bad_requests[i], &err) == NULL && err);
        yc_free(err);
        err = NULL;
    }
    /* The happy path. */
    yc_task *t = yc_create_background(client, "{\"model\": \"yandexgpt\", \"input\": \"quiet\"}", &err);
    EXPECT(t != NULL);
    EXPECT(yc_wait(t, 10000) == YC_STATUS_COMPLETED);
    char *text = yc_output_text(t);
    EXPECT(text && strcmp(text, "Echo: quiet") == 0);
    yc_free(text);
    yc_free(yc_result(t));
    EXPECT(yc_cancel(t) == YC_STATUS_COMPLETED);
    /* Server errors, retried and not, on create and on poll. */
    yc_task *q = yc_create_background(client, "{\"model\": \"yandexgpt\", \"input\": \"q\", \"metadata\": "
                                              "{\"emulator_queue_ms\": \"60000\"}}", NULL);
    EXPECT(q != NULL);
    emu_fault(emu, "{\"match\": \"create\", \"kind\": \"status\", \"status\": 500}");
    EXPECT(yc_create_background(client, "{\"model\": \"yandexgpt\", \"input\": \"x\"}", &err) == NULL);
    yc_free(err);
    err = NULL;
    emu_fault(emu, "{\"match\": \"retrieve\", \"kind\": \"status\", \"status\": 503, \"retry_after_ms\": \"10\"}");
    EXPECT(yc_poll(q) == YC_STATUS_QUEUED);
    const char *poll_faults[] = {"malformed", "reset", "truncated", "not_object", "html"};
    for (size_t i = 0; i < sizeof poll_faults / sizeof poll_faults[0]; i++) {
        emu_fault(emu, "{\"match\": \"retrieve\", \"kind\": \"%s\", \"count\": 2}", poll_faults[i]);
        yc_status s = yc_poll(q);
        EXPECT(s == YC_STATUS_ERROR || s == YC_STATUS_QUEUED);
        yc_free(yc_result(q));
        emu_clear_faults(emu);
    }
    emu_fault(emu, "{\"match\": \"retrieve\", \"kind\": \"hang\", \"count\": 2}");
    EXPECT(yc_poll(q) == YC_STATUS_ERROR); /* two timeouts of 1 s */
    emu_clear_faults(emu);
    EXPECT(yc_attach(client, "no-such-id", &err) == NULL && err);
    yc_free(err);
    err = NULL;
    /* Nothing listens there: a network error. */
    yc_client *refused = yc_client_new(refused_cfg, NULL);
    EXPECT(refused != NULL);
    EXPECT(yc_create_background(refused, "{\"model\": \"yandexgpt\", \"input\": \"x\"}", &err) == NULL && err);
    yc_free(err);
    err = NULL;
    yc_client_free(refused);
    /* Bad handles: NULL, freed, never valid. */
    yc_task_free(q);
    EXPECT(yc_poll(q) == YC_STATUS_ERROR && yc_task_id(q) == NULL && yc_result(q) == NULL);
    yc_task_free(q);
    int not_a_handle = 0;
    EXPECT(yc_poll((yc_task *)&not_a_handle) == YC_STATUS_ERROR);
    EXPECT(yc_poll(NULL) == YC_STATUS_ERROR && yc_output_text(NULL) == NULL);
    EXPECT(yc_create_background(NULL, "{}", &err) == NULL && err);
    yc_free(err);
    yc_task_free(t);
    yc_client_free(client);
    yc_client_free(client);
#undef EXPECT

    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, 1);
    dup2(saved_err, 2);
    close(saved_out);
    close(saved_err);
    long printed = -1;
    if (fseek(capture, 0, SEEK_END) == 0) printed = ftell(capture);
    char head[512] = "";
    if (printed > 0) {
        rewind(capture);
        size_t got = fread(head, 1, sizeof head - 1, capture);
        head[got] = '\0';
    }
    fclose(capture);
    free(good_cfg);
    free(refused_cfg);
    CHECK(printed == 0, "%ld bytes printed during the workflow, starting: %.300s", printed, head);
    CHECK(wrong == 0, "%d of %d calls did not do what they should", wrong, calls);
    th_note("%d calls, %ld bytes on stdout/stderr", calls, printed);
}

int main(int argc, char **argv) { return th_main(argc, argv); }
