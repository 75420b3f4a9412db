/* test_args.c — NULL and invalid arguments, invalid JSON, invalid configs,
 * freed and never-valid handles, and secrets kept out of everything the
 * library returns. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define SECRET_KEY "sk-ycbg-TOPSECRET-7f3e9a41"
#define SECRET_IAM "t1.ycbg-IAMSECRET-c0ffee77"

static void clear_env(void) {
    unsetenv("YC_API_KEY");
    unsetenv("YC_IAM_TOKEN");
    unsetenv("YC_FOLDER_ID");
    unsetenv("YC_BASE_URL");
}

/* yc_client_new expected to fail: returns the parsed error. */
static json_t *client_error(const char *config, const char *file, int line) {
    char *err = NULL;
    yc_client *c = yc_client_new(config, &err);
    if (c) {
        th_fail(file, line, "yc_client_new(%s) succeeded", config ? config : "NULL");
        yc_client_free(c);
    }
    if (!err) th_fail(file, line, "yc_client_new(%s) gave no error_json", config ? config : "NULL");
    json_t *e = take_error(err);
    th_check_error_shape(e, file, line);
    return e;
}
#define CLIENT_ERROR(config) client_error((config), __FILE__, __LINE__)

/* A config error of kind `kind` whose message names `needle`. */
static void expect_config_error(const char *config, const char *kind, const char *needle, const char *file, int line) {
    json_t *e = client_error(config, file, line);
    if (strcmp(err_kind(e), kind) != 0)
        th_fail(file, line, "config %s: kind \"%s\", expected \"%s\" (%s)", config, err_kind(e), kind,
                jstr(e, "message") ? jstr(e, "message") : "");
    const char *m = jstr(e, "message");
    if (needle && (!m || !strstr(m, needle)))
        th_fail(file, line, "config %s: message does not name \"%s\": %s", config, needle, m ? m : "(null)");
    if (!json_is_false(json_object_get(e, "retryable")))
        th_fail(file, line, "config %s: a %s error is not retryable", config, kind);
    json_decref(e);
}
#define EXPECT_CONFIG_ERROR(config, kind, needle) expect_config_error((config), (kind), (needle), __FILE__, __LINE__)

/* ---------------------------------------------------------------- NULLs */

TEST(null_arguments_everywhere) {
    clear_env();
    /* Library functions. */
    yc_free(NULL);
    yc_client_free(NULL);
    yc_task_free(NULL);
    CHECK(yc_task_id(NULL) == NULL, "yc_task_id(NULL)");
    CHECK_STATUS(yc_poll(NULL), YC_STATUS_ERROR);
    CHECK_STATUS(yc_wait(NULL, -1), YC_STATUS_ERROR);
    CHECK_STATUS(yc_wait(NULL, 0), YC_STATUS_ERROR);
    CHECK_STATUS(yc_wait(NULL, 1000), YC_STATUS_ERROR);
    CHECK_STATUS(yc_cancel(NULL), YC_STATUS_ERROR);
    CHECK(yc_result(NULL) == NULL, "yc_result(NULL)");
    CHECK(yc_output_text(NULL) == NULL, "yc_output_text(NULL)");
    CHECK_STR(yc_status_name((yc_status)42), "unknown");

    /* Constructors with NULL and with error_json NULL. */
    CHECK(yc_client_new(NULL, NULL) == NULL, "client without credentials");
    CHECK(yc_create_background(NULL, NULL, NULL) == NULL, "create(NULL, NULL, NULL)");
    CHECK(yc_create_background(NULL, "{\"model\": \"m\", \"input\": \"x\"}", NULL) == NULL, "create(NULL client)");
    CHECK(yc_attach(NULL, NULL, NULL) == NULL, "attach(NULL, NULL, NULL)");
    CHECK(yc_attach(NULL, "id", NULL) == NULL, "attach(NULL client)");

    char *err = NULL;
    CHECK(yc_create_background(NULL, "{}", &err) == NULL, "create(NULL client)");
    json_t *e = take_error(err);
    CHECK_ERROR_SHAPE(e);
    CHECK_STR(err_kind(e), "invalid_argument");
    json_decref(e);
    err = NULL;
    CHECK(yc_attach(NULL, "some-id", &err) == NULL, "attach(NULL client)");
    e = take_error(err);
    CHECK_STR(err_kind(e), "invalid_argument");
    json_decref(e);

    /* A live client with NULL request / id. */
    yc_client *client = yc_client_new("{\"base_url\": \"http://127.0.0.1:9/v1\", \"api_key\": \"k\"}", NULL);
    REQUIRE(client, "a valid config was refused");
    err = NULL;
    CHECK(yc_create_background(client, NULL, &err) == NULL, "create(client, NULL)");
    e = take_error(err);
    CHECK_ERROR_SHAPE(e);
    CHECK_STR(err_kind(e), "invalid_argument");
    json_decref(e);
    err = NULL;
    CHECK(yc_attach(client, NULL, &err) == NULL, "attach(client, NULL)");
    e = take_error(err);
    CHECK_ERROR_SHAPE(e);
    CHECK_STR(err_kind(e), "invalid_argument");
    json_decref(e);
    CHECK(yc_create_background(client, NULL, NULL) == NULL, "create(client, NULL, NULL)");
    CHECK(yc_attach(client, NULL, NULL) == NULL, "attach(client, NULL, NULL)");
    yc_client_free(client);
}

TEST(error_json_null_on_success) {
    emu_t *emu = emu_start("--queue-ms 0 --work-ms 0");
    REQUIRE(emu);
    static char sentinel[] = "sentinel";
    char *cfg = cfg_for(emu, NULL);
    char *err = sentinel;
    yc_client *client = yc_client_new(cfg, &err);
    free(cfg);
    REQUIRE(client);
    CHECK(err == NULL, "yc_client_new: *error_json not set to NULL on success");
    err = sentinel;
    yc_task *t = yc_create_background(client, "{\"model\": \"yandexgpt\", \"input\": \"x\"}", &err);
    CHECK(t != NULL, "create failed");
    CHECK(err == NULL, "yc_create_background: *error_json not set to NULL on success");
    err = sentinel;
    yc_task *t2 = t ? yc_attach(client, yc_task_id(t), &err) : NULL;
    CHECK(t2 != NULL, "attach failed");
    CHECK(err == NULL, "yc_attach: *error_json not set to NULL on success");
    /* A failure after a success stores a fresh error; error_json NULL is fine. */
    err = NULL;
    CHECK(yc_create_background(client, "[]", &err) == NULL, "array accepted as a request");
    CHECK(err != NULL, "no error");
    yc_free(err);
    CHECK(yc_create_background(client, "[]", NULL) == NULL, "array accepted as a request");
    CHECK(yc_attach(client, "no-such-id", NULL) == NULL, "unknown id attached");
    yc_task_free(t);
    yc_task_free(t2);
    yc_client_free(client);
}

/* ------------------------------------------------------------ JSON input */

TEST(invalid_request_json) {
    emu_t *emu = emu_start(NULL);
    REQUIRE(emu);
    yc_client *client = client_for(emu, NULL);
    REQUIRE(client);
    const char *bad[] = {
        "{\"model\": \"yandexgpt\",\n  \"input\": }",
        "{\"model\": \"yandexgpt\", \"input\": \"x\"",
        "not json at all",
        "",
        "{\"a\": 1,}",
        "{\"model\": \"yandexgpt\"} trailing",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *err = NULL;
        yc_task *t = yc_create_background(client, bad[i], &err);
        CHECK(t == NULL, "invalid JSON #%zu accepted", i);
        yc_task_free(t);
        json_t *e = take_error(err);
        CHECK_ERROR_SHAPE(e);
        CHECK(strcmp(err_kind(e), "invalid_json") == 0, "#%zu: kind %s (%s)", i, err_kind(e), jstr(e, "message"));
        const char *m = jstr(e, "message");
        CHECK(m && strstr(m, "line") && strstr(m, "column"), "#%zu: message lacks line and column: %s", i,
              m ? m : "(null)");
        CHECK(json_is_false(json_object_get(e, "retryable")), "invalid_json not retryable");
        json_decref(e);
    }
    /* The first one is on line 2. */
    char *err = NULL;
    CHECK(yc_create_background(client, bad[0], &err) == NULL, "accepted");
    json_t *e = take_error(err);
    const char *m = jstr(e, "message");
    CHECK(m && strstr(m, "line 2"), "error on the second line not reported as line 2: %s", m ? m : "(null)");
    json_decref(e);
    /* Invalid JSON as config. */
    err = NULL;
    CHECK(yc_client_new("{\"api_key\": \"k\",\n\n \"base_url\": nope}", &err) == NULL, "config accepted");
    e = take_error(err);
    CHECK_STR(err_kind(e), "invalid_json");
    m = jstr(e, "message");
    CHECK(m && strstr(m, "line 3") && strstr(m, "column"), "config message: %s", m ? m : "(null)");
    json_decref(e);
    CHECK_INT(emu_stat(emu, "requests.create"), 0);
    yc_client_free(client);
}

TEST(invalid_utf8_is_invalid_json) {
    emu_t *emu = emu_start(NULL);
    REQUIRE(emu);
    yc_client *client = client_for(emu, NULL);
    REQUIRE(client);
    /* JSON text is UTF-8 (RFC 8259); bytes that are not UTF-8 do not parse. */
    const char *bad[] = {
        "{\"model\": \"yandexgpt\", \"input\": \"\xff\xfe\"}",
        "{\"model\": \"yandexgpt\", \"input\": \"\xc3\x28\"}",
        "{\"model\": \"yandexgpt\", \"input\": \"\xed\xa0\x80\"}", /* an encoded surrogate */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *err = NULL;
        yc_task *t = yc_create_background(client, bad[i], &err);
        CHECK(t == NULL, "request #%zu with invalid UTF-8 accepted", i);
        yc_task_free(t);
        json_t *e = take_error(err);
        CHECK(strcmp(err_kind(e), "invalid_json") == 0, "#%zu: kind \"%s\" (%s)", i, err_kind(e),
              jstr(e, "message") ? jstr(e, "message") : "");
        json_decref(e);
    }
    json_t *e = CLIENT_ERROR("{\"api_key\": \"k\", \"folder_id\": \"\xff\"}");
    CHECK(strcmp(err_kind(e), "invalid_json") == 0, "config with invalid UTF-8: kind %s", err_kind(e));
    json_decref(e);
    CHECK(emu_stat(emu, "requests.create") == 0, "%ld requests with invalid UTF-8 were sent",
          emu_stat(emu, "requests.create"));
    yc_client_free(client);
}

TEST(json_that_is_not_an_object) {
    emu_t *emu = emu_start(NULL);
    REQUIRE(emu);
    yc_client *client = client_for(emu, NULL);
    REQUIRE(client);
    const char *docs[] = {"[1, 2]", "\"a string\"", "42", "null", "true", "[]"};
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        char *err = NULL;
        yc_task *t = yc_create_background(client, docs[i], &err);
        CHECK(t == NULL, "request %s accepted", docs[i]);
        yc_task_free(t);
        json_t *e = take_error(err);
        CHECK_ERROR_SHAPE(e);
        CHECK(strcmp(err_kind(e), "invalid_argument") == 0, "request %s: kind %s", docs[i], err_kind(e));
        json_decref(e);
        e = CLIENT_ERROR(docs[i]);
        CHECK(strcmp(err_kind(e), "invalid_argument") == 0, "config %s: kind %s", docs[i], err_kind(e));
        json_decref(e);
    }
    CHECK_INT(emu_stat(emu, "requests.create"), 0);
    yc_client_free(client);
}

/* --------------------------------------------------------------- configs */

TEST(invalid_configs) {
    clear_env();
#define BASE "\"base_url\": \"http://127.0.0.1:9/v1\", "
#define KEY "\"api_key\": \"k\", "
    EXPECT_CONFIG_ERROR("{" BASE KEY "\"api_kye\": \"x\"}", "config", "api_kye");
    EXPECT_CONFIG_ERROR("{" BASE KEY "\"timeout\": 5}", "config", "timeout");
    /* Wrong types for every key. */
    struct {
        const char *member, *key;
    } wrong[] = {
        {"\"base_url\": 1", "base_url"},
        {"\"folder_id\": []", "folder_id"},
        {"\"timeout_ms\": \"100\"", "timeout_ms"},
        {"\"timeout_ms\": 1.5", "timeout_ms"},
        {"\"connect_timeout_ms\": true", "connect_timeout_ms"},
        {"\"max_retries\": \"2\"", "max_retries"},
        {"\"max_retries\": {}", "max_retries"},
        {"\"poll_interval_ms\": [500]", "poll_interval_ms"},
        {"\"max_poll_interval_ms\": \"5000\"", "max_poll_interval_ms"},
        {"\"data_logging\": \"false\"", "data_logging"},
        {"\"data_logging\": 0", "data_logging"},
        {"\"user_agent\": 5", "user_agent"},
        {"\"ca_file\": false", "ca_file"},
        {"\"headers\": \"X-A: b\"", "headers"},
        {"\"headers\": [\"X-A\"]", "headers"},
        {"\"headers\": {\"X-A\": 1}", "headers"},
        {"\"max_response_bytes\": \"1000\"", "max_response_bytes"},
        {"\"allow_insecure_http\": \"yes\"", "allow_insecure_http"},
    };
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
        char *cfg = th_strdup_printf("{" BASE KEY "%s}", wrong[i].member);
        if (strstr(wrong[i].member, "base_url")) {
            free(cfg);
            cfg = th_strdup_printf("{" KEY "%s}", wrong[i].member);
        }
        EXPECT_CONFIG_ERROR(cfg, "config", wrong[i].key);
        free(cfg);
    }
    EXPECT_CONFIG_ERROR("{" BASE "\"api_key\": 12345}", "config", "api_key");
    EXPECT_CONFIG_ERROR("{" BASE "\"iam_token\": true}", "config", "iam_token");
    /* Both credentials. */
    json_t *e = CLIENT_ERROR("{" BASE "\"api_key\": \"" SECRET_KEY "\", \"iam_token\": \"" SECRET_IAM "\"}");
    CHECK_STR(err_kind(e), "config");
    const char *m = jstr(e, "message");
    CHECK(m && (strstr(m, "api_key") || strstr(m, "iam_token")), "message: %s", m ? m : "");
    json_decref(e);
    /* No credentials at all (environment cleared). */
    EXPECT_CONFIG_ERROR("{" BASE "\"folder_id\": \"f\"}", "config", NULL);
    EXPECT_CONFIG_ERROR("{}", "config", NULL);
    e = CLIENT_ERROR(NULL);
    CHECK_STR(err_kind(e), "config");
    json_decref(e);
    /* Both in the environment. */
    setenv("YC_API_KEY", SECRET_KEY, 1);
    setenv("YC_IAM_TOKEN", SECRET_IAM, 1);
    setenv("YC_BASE_URL", "http://127.0.0.1:9/v1", 1);
    e = CLIENT_ERROR(NULL);
    CHECK_STR(err_kind(e), "config");
    json_decref(e);
    clear_env();
    /* Unusable base URLs. */
    EXPECT_CONFIG_ERROR("{" KEY "\"base_url\": \"ftp://127.0.0.1/v1\"}", "config", "base_url");
    EXPECT_CONFIG_ERROR("{" KEY "\"base_url\": \"not a url\"}", "config", "base_url");
    EXPECT_CONFIG_ERROR("{" KEY "\"base_url\": \"\"}", "config", "base_url");
    /* Values the contract does not rule on (out of range, headers the
     * library sets itself, header injection, a missing CA file): refused as
     * "config" naming the key, or accepted; never a crash or another kind. */
    const char *doubtful[][2] = {
        {"{" BASE KEY "\"max_retries\": -1}", "max_retries"},
        {"{" BASE KEY "\"timeout_ms\": 0}", "timeout_ms"},
        {"{" BASE KEY "\"timeout_ms\": -100}", "timeout_ms"},
        {"{" BASE KEY "\"max_response_bytes\": -5}", "max_response_bytes"},
        {"{" BASE KEY "\"poll_interval_ms\": 0}", "poll_interval_ms"},
        {"{" BASE KEY "\"headers\": {\"Bad Name\": \"x\"}}", "headers"},
        {"{" BASE KEY "\"ca_file\": \"/nonexistent/ca.pem\"}", "ca_file"},
        {"{" BASE KEY "\"folder_id\": \"\"}", "folder_id"},
        {"{" BASE "\"api_key\": \"\"}", "api_key"},
    };
    for (size_t i = 0; i < sizeof doubtful / sizeof doubtful[0]; i++) {
        char *err = NULL;
        yc_client *c = yc_client_new(doubtful[i][0], &err);
        if (c) {
            CHECK(err == NULL, "accepted but error_json set");
            yc_client_free(c);
            th_note("accepted: %s", doubtful[i][0]);
        } else {
            json_t *ee = take_error(err);
            CHECK_ERROR_SHAPE(ee);
            const char *mm = jstr(ee, "message");
            CHECK(strcmp(err_kind(ee), "config") == 0 || strcmp(err_kind(ee), "invalid_json") == 0,
                  "%s: kind %s", doubtful[i][0], err_kind(ee));
            CHECK(mm && strstr(mm, doubtful[i][1]), "%s: message does not name %s: %s", doubtful[i][0],
                  doubtful[i][1], mm ? mm : "");
            json_decref(ee);
            err = NULL;
        }
        yc_free(err);
    }
    /* Valid configs with every key. */
    char *err = NULL;
    yc_client *c = yc_client_new("{\"base_url\": \"http://127.0.0.1:9/v1\", \"api_key\": \"k\", \"folder_id\": \"f\", "
                                 "\"timeout_ms\": 1000, \"connect_timeout_ms\": 500, \"max_retries\": 0, "
                                 "\"poll_interval_ms\": 10, \"max_poll_interval_ms\": 20, \"data_logging\": true, "
                                 "\"user_agent\": \"ua/1\", \"ca_file\": \"/etc/ssl/certs/ca-certificates.crt\", "
                                 "\"headers\": {\"X-A\": \"b\"}, \"max_response_bytes\": 1000, "
                                 "\"allow_insecure_http\": false}",
                                 &err);
    CHECK(c != NULL, "a config with every key was refused: %s", err ? err : "");
    yc_free(err);
    yc_client_free(c);
    /* JSON null for an optional key counts as absent (or is a config error,
     * never a crash). */
    c = yc_client_new("{\"base_url\": \"http://127.0.0.1:9/v1\", \"api_key\": \"k\", \"folder_id\": null}", &err);
    yc_free(err);
    yc_client_free(c);
#undef BASE
#undef KEY
}

/* Extra headers that would inject a header line, or replace a header the
 * library sets itself (the credential, the Idempotency-Key): a client that
 * accepts them must still send exactly its own values, and nothing injected
 * (checked in the emulator's request log); a client that refuses them says
 * "config" and names the key. */
TEST(header_injection_and_authorization_override) {
    clear_env();
    emu_t *emu = emu_start("--queue-ms 0 --work-ms 0");
    REQUIRE(emu);
    const char *extras[] = {
        "\"headers\": {\"Authorization\": \"Bearer evil-token\"}",
        "\"headers\": {\"authorization\": \"Api-Key evil-key\"}",
        "\"headers\": {\"AUTHORIZATION\": \"Bearer evil-token\"}",
        "\"headers\": {\"Idempotency-Key\": \"fixed-key\"}",
        "\"headers\": {\"X-A\": \"line\\r\\nInjected: 1\"}",
        "\"headers\": {\"X-A\": \"line\\nAuthorization: Bearer evil-token\"}",
        "\"headers\": {\"X-A\": \"line\\rInjected: 1\"}",
        "\"headers\": {\"X-A\\r\\nInjected\": \"1\"}",
    };
    int refused = 0;
    for (size_t i = 0; i < sizeof extras / sizeof extras[0]; i++) {
        emu_reset(emu);
        char *cfg = cfg_for(emu, "%s", extras[i]);
        char *err = NULL;
        yc_client *c = yc_client_new(cfg, &err);
        free(cfg);
        if (!c) {
            refused++;
            json_t *e = take_error(err);
            CHECK_ERROR_SHAPE(e);
            CHECK(strcmp(err_kind(e), "config") == 0, "%s: kind %s", extras[i], err_kind(e));
            const char *m = jstr(e, "message");
            CHECK(m && strstr(m, "headers"), "%s: message does not name headers: %s", extras[i], m ? m : "");
            json_decref(e);
            CHECK(emu_stat(emu, "connections") <= 1, "%s: refused, yet the library connected", extras[i]);
            continue;
        }
        CHECK(err == NULL, "%s: accepted but error_json set", extras[i]);
        yc_free(err);
        yc_task *t = CREATE(c, "{\"model\": \"yandexgpt\", \"input\": \"headers\"}");
        CHECK(t != NULL, "%s: accepted but the create failed", extras[i]);
        json_t *seen = emu_requests(emu, 10);
        CHECK(json_array_size(seen) == 1, "%s: %zu requests", extras[i], json_array_size(seen));
        json_t *req = json_array_get(seen, 0);
        CHECK_STR(req_header(req, "authorization"), "Api-Key test-key");
        CHECK(th_is_uuid(req_header(req, "idempotency-key")), "%s: Idempotency-Key replaced: %s", extras[i],
              req_header(req, "idempotency-key") ? req_header(req, "idempotency-key") : "(none)");
        CHECK(req_header(req, "injected") == NULL, "%s: a header was injected", extras[i]);
        th_note("accepted: %s", extras[i]);
        json_decref(seen);
        yc_task_free(t);
        yc_client_free(c);
    }
    th_note("%d of %zu refused as config errors", refused, sizeof extras / sizeof extras[0]);

    /* Ordinary extra headers arrive as given, beside the library's own. */
    emu_reset(emu);
    yc_client *c = client_for(emu, "\"headers\": {\"X-Extra\": \"value 1\", \"x-other\": \"two\"}");
    REQUIRE(c);
    yc_task *t = CREATE(c, "{\"model\": \"yandexgpt\", \"input\": \"headers\"}");
    CHECK(t != NULL, "create failed");
    json_t *seen = emu_requests(emu, 10);
    REQUIRE(json_array_size(seen) == 1, "%zu requests", json_array_size(seen));
    json_t *req = json_array_get(seen, 0);
    CHECK_STR(req_header(req, "x-extra"), "value 1");
    CHECK_STR(req_header(req, "x-other"), "two");
    CHECK_STR(req_header(req, "authorization"), "Api-Key test-key");
    CHECK(th_is_uuid(req_header(req, "idempotency-key")), "no Idempotency-Key");
    json_decref(seen);
    yc_task_free(t);
    yc_client_free(c);
}

TEST(plain_http_rules) {
    clear_env();
    /* Plain http to a non-loopback host: refused before any connection. */
    double t0 = th_now_ms();
    json_t *e = CLIENT_ERROR("{\"base_url\": \"http://example.com/v1\", \"api_key\": \"" SECRET_KEY "\"}");
    CHECK_STR(err_kind(e), "config");
    const char *m = jstr(e, "message");
    CHECK(m && (strstr(m, "base_url") || strstr(m, "allow_insecure_http")), "message: %s", m ? m : "");
    json_decref(e);
    e = CLIENT_ERROR("{\"base_url\": \"http://10.1.2.3:8080/v1\", \"iam_token\": \"" SECRET_IAM "\"}");
    CHECK_STR(err_kind(e), "config");
    json_decref(e);
    setenv("YC_BASE_URL", "http://example.com/v1", 1);
    setenv("YC_API_KEY", SECRET_KEY, 1);
    e = CLIENT_ERROR(NULL);
    CHECK_STR(err_kind(e), "config");
    json_decref(e);
    clear_env();
    CHECK(th_now_ms() - t0 < 1000 + th_slack_ms(), "config checks took %.0f ms (a connection attempt?)", th_now_ms() - t0);
    /* Allowed: loopback over http, https anywhere, http with the opt-in.
     * No request is made to any of them. */
    const char *ok[] = {
        "{\"base_url\": \"http://127.0.0.1:9/v1\", \"api_key\": \"k\"}",
        "{\"base_url\": \"http://localhost:9/v1\", \"api_key\": \"k\"}",
        "{\"base_url\": \"http://[::1]:9/v1\", \"api_key\": \"k\"}",
        "{\"base_url\": \"https://example.com/v1\", \"api_key\": \"k\"}",
        "{\"base_url\": \"http://example.com/v1\", \"api_key\": \"k\", \"allow_insecure_http\": true}",
        "{\"api_key\": \"k\"}",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char *err = NULL;
        yc_client *c = yc_client_new(ok[i], &err);
        CHECK(c != NULL, "%s refused: %s", ok[i], err ? err : "");
        yc_free(err);
        yc_client_free(c);
    }
}

TEST(model_short_name_without_folder) {
    clear_env();
    emu_t *emu = emu_start(NULL);
    REQUIRE(emu);
    char *cfg = th_strdup_printf("{\"base_url\": \"%s\", \"api_key\": \"%s\"}", emu->base_url, emu->api_key);
    yc_client *client = yc_client_new(cfg, NULL);
    free(cfg);
    REQUIRE(client);
    const char *models[] = {"yandexgpt", "yandexgpt/latest"};
    for (int i = 0; i < 2; i++) {
        char *req = th_strdup_printf("{\"model\": \"%s\", \"input\": \"x\"}", models[i]);
        char *err = NULL;
        yc_task *t = yc_create_background(client, req, &err);
        free(req);
        CHECK(t == NULL, "short model name without a folder accepted");
        yc_task_free(t);
        json_t *e = take_error(err);
        CHECK_ERROR_SHAPE(e);
        CHECK_STR(err_kind(e), "config");
        const char *m = jstr(e, "message");
        CHECK(m && strstr(m, "folder_id"), "message does not name folder_id: %s", m ? m : "");
        json_decref(e);
    }
    CHECK_INT(emu_stat(emu, "requests.create"), 0);
    /* A full model URI needs no folder. */
    yc_task *t = CREATE(client, "{\"model\": \"gpt://b1gx/yandexgpt/latest\", \"input\": \"x\"}");
    CHECK(t != NULL, "full model URI refused");
    yc_task_free(t);
    yc_client_free(client);
}

/* ----------------------------------------------------- invalid handles */

TEST(freed_and_never_valid_handles) {
    emu_t *emu = emu_start("--queue-ms 0 --work-ms 0");
    REQUIRE(emu);
    /* Never-valid pointers: stack variables, a heap block, a string. */
    long on_stack[8] = {0};
    void *heap = calloc(1, 256);
    void *bogus[] = {on_stack, heap, (void *)"not a handle"};
    for (size_t i = 0; i < sizeof bogus / sizeof bogus[0]; i++) {
        yc_task *t = bogus[i];
        yc_client *c = bogus[i];
        CHECK(yc_task_id(t) == NULL, "yc_task_id(bogus)");
        CHECK_STATUS(yc_poll(t), YC_STATUS_ERROR);
        CHECK_STATUS(yc_wait(t, 0), YC_STATUS_ERROR);
        CHECK_STATUS(yc_cancel(t), YC_STATUS_ERROR);
        CHECK(yc_result(t) == NULL, "yc_result(bogus)");
        CHECK(yc_output_text(t) == NULL, "yc_output_text(bogus)");
        char *err = NULL;
        CHECK(yc_create_background(c, "{\"model\": \"gpt://f/m\", \"input\": \"x\"}", &err) == NULL, "create(bogus)");
        json_t *e = take_error(err);
        CHECK_STR(err_kind(e), "invalid_argument");
        json_decref(e);
        err = NULL;
        CHECK(yc_attach(c, "id", &err) == NULL, "attach(bogus)");
        e = take_error(err);
        CHECK_STR(err_kind(e), "invalid_argument");
        json_decref(e);
        yc_task_free(t);
        yc_client_free(c);
    }
    CHECK(on_stack[0] == 0 && on_stack[7] == 0, "the library wrote into a bogus handle");
    free(heap);

    /* Handles of the wrong type. */
    yc_client *client = client_for(emu, NULL);
    REQUIRE(client);
    yc_task *task = CREATE(client, "{\"model\": \"yandexgpt\", \"input\": \"x\"}");
    REQUIRE(task);
    CHECK_STATUS(yc_poll((yc_task *)client), YC_STATUS_ERROR);
    CHECK(yc_result((yc_task *)client) == NULL, "yc_result(client as task)");
    CHECK(yc_create_background((yc_client *)task, "{\"model\": \"gpt://f/m\", \"input\": \"x\"}", NULL) == NULL,
          "create(task as client)");
    yc_task_free((yc_task *)client);   /* must not free the client */
    yc_client_free((yc_client *)task); /* must not free the task */
    CHECK(yc_task_id(task) != NULL, "the task was freed through yc_client_free");
    yc_task *t2 = CREATE(client, "{\"model\": \"yandexgpt\", \"input\": \"still alive\"}");
    CHECK(t2 != NULL, "the client was freed through yc_task_free");

    /* Freed handles: every call is ignored, double frees too. */
    yc_task_free(t2);
    yc_task_free(task);
    yc_client_free(client);
    yc_task *dead_task = task;
    yc_client *dead_client = client;
    CHECK(yc_task_id(dead_task) == NULL, "yc_task_id(freed)");
    CHECK_STATUS(yc_poll(dead_task), YC_STATUS_ERROR);
    CHECK_STATUS(yc_wait(dead_task, 100), YC_STATUS_ERROR);
    CHECK_STATUS(yc_cancel(dead_task), YC_STATUS_ERROR);
    CHECK(yc_result(dead_task) == NULL, "yc_result(freed)");
    CHECK(yc_output_text(dead_task) == NULL, "yc_output_text(freed)");
    char *err = NULL;
    CHECK(yc_create_background(dead_client, "{\"model\": \"yandexgpt\", \"input\": \"x\"}", &err) == NULL,
          "create(freed client)");
    json_t *e = take_error(err);
    CHECK_STR(err_kind(e), "invalid_argument");
    json_decref(e);
    CHECK(yc_attach(dead_client, "x", NULL) == NULL, "attach(freed client)");
    yc_task_free(dead_task);
    yc_task_free(dead_task);
    yc_client_free(dead_client);
    yc_client_free(dead_client);
}

/* A handle carries a generation: once freed it stays refused even after
 * its slot holds a new task, and a stale free cannot reach that task. Tasks
 * are made and freed over and over (each new one takes the slot the last
 * one left); after each, every handle freed so far is used: refused, and
 * the live tasks are unaffected. */
TEST(stale_handles_after_slot_reuse) {
    emu_t *emu = emu_start("--queue-ms 60000 --work-ms 0");
    REQUIRE(emu);
    yc_client *client = client_for(emu, NULL);
    REQUIRE(client);
    yc_task *keeper = CREATE(client, "{\"model\": \"yandexgpt\", \"input\": \"keeper\"}");
    REQUIRE(keeper);
    char *keeper_id = strdup(yc_task_id(keeper));
    char *id = strdup(yc_task_id(keeper));
    enum { ROUNDS = 60 };
    yc_task *stale[ROUNDS];
    int n_stale = 0, refused_all = 1, live_ok = 1, distinct = 1;
    for (int round = 0; round < ROUNDS; round++) {
        /* attach: one GET, and the same server id each time. */
        yc_task *t = yc_attach(client, id, NULL);
        if (!t) {
            CHECK(t != NULL, "round %d: attach failed", round);
            break;
        }
        for (int i = 0; i < n_stale; i++) {
            if (stale[i] == t) distinct = 0; /* a stale handle equals a live one */
            /* Every call on a stale handle is refused, frees included. */
            if (yc_task_id(stale[i]) != NULL || yc_poll(stale[i]) != YC_STATUS_ERROR ||
                yc_wait(stale[i], 0) != YC_STATUS_ERROR || yc_cancel(stale[i]) != YC_STATUS_ERROR ||
                yc_result(stale[i]) != NULL || yc_output_text(stale[i]) != NULL)
                refused_all = 0;
            yc_task_free(stale[i]);
            yc_task_free(stale[i]);
        }
        /* The live task that may now sit in a stale handle's slot works. */
        const char *tid = yc_task_id(t);
        if (!tid || strcmp(tid, id) != 0 || yc_poll(t) != YC_STATUS_QUEUED) live_ok = 0;
        char *result = yc_result(t);
        json_t *doc = th_parse(result);
        if (!doc || strcmp(jstr(doc, "id") ? jstr(doc, "id") : "", id) != 0) live_ok = 0;
        json_decref(doc);
        yc_free(result);
        if (yc_task_id(keeper) == NULL || strcmp(yc_task_id(keeper), keeper_id) != 0) live_ok = 0;
        yc_task_free(t);
        stale[n_stale++] = t;
        if (!refused_all || !live_ok) break;
    }
    CHECK(refused_all, "a call on a freed handle was not refused after %d rounds", n_stale);
    CHECK(live_ok, "a live task was harmed by calls on stale handles after %d rounds", n_stale);
    CHECK(distinct, "a freed handle compared equal to a live one (the handle is an address)");
    CHECK_INT(n_stale, ROUNDS);
    /* Nothing went to the server for the stale handles: one GET per attach
     * and one per live poll, no cancel. */
    CHECK_INT(emu_stat(emu, "requests.retrieve"), 2 * ROUNDS);
    CHECK_INT(emu_stat(emu, "requests.cancel"), 0);
    CHECK_STATUS(yc_poll(keeper), YC_STATUS_QUEUED);
    /* A client handle is never a task handle and vice versa, live or not. */
    CHECK((void *)client != (void *)keeper, "a client and a task share a handle value");
    CHECK(yc_task_id((yc_task *)client) == NULL, "a client handle works as a task");
    yc_task_free((yc_task *)client);
    yc_client_free((yc_client *)keeper);
    CHECK(yc_task_id(keeper) != NULL, "yc_client_free freed a task");
    yc_task *t = yc_attach(client, id, NULL);
    CHECK(t != NULL, "yc_task_free freed a client");
    yc_task_free(t);
    /* A freed client handle: refused, even when a new client took its slot. */
    yc_client *old = client;
    yc_client_free(client);
    client = client_for(emu, NULL);
    REQUIRE(client);
    CHECK(yc_attach(old, id, NULL) == NULL, "a freed client handle still works");
    yc_client_free(old);
    t = yc_attach(client, id, NULL);
    CHECK(t != NULL, "a stale yc_client_free freed the client in its slot");
    yc_task_free(t);
    yc_task_free(keeper);
    yc_client_free(client);
    free(keeper_id);
    free(id);
}

/* -------------------------------------------------------------- secrets */

TEST(secrets_never_returned) {
    th_add_secret(SECRET_KEY);
    th_add_secret(SECRET_IAM);
    clear_env();
    char args[256];
    snprintf(args, sizeof args, "--queue-ms 0 --work-ms 50 --api-key %s", SECRET_KEY);
    emu_t *emu = emu_start(args);
    REQUIRE(emu);

    /* Config errors that sit next to the secret or contain it. */
    const char *configs[] = {
        "{\"api_key\": \"" SECRET_KEY "\", \"unknown_key\": 1}",
        "{\"api_key\": \"" SECRET_KEY "\", \"iam_token\": \"" SECRET_IAM "\"}",
        "{\"api_key\": \"" SECRET_KEY "\", \"base_url\": \"http://example.com/" SECRET_KEY "\"}",
        "{\"api_key\": \"" SECRET_KEY "\", \"base_url\": \"https://user:" SECRET_KEY "@example.com/v1\"}",
        "{\"api_key\": \"" SECRET_KEY "\\n\"}",
        "{\"api_key\": \"" SECRET_KEY "\", \"timeout_ms\": \"" SECRET_KEY "\"}",
        "{\"api_key\": \"" SECRET_KEY "\", \"headers\": {\"X-Key\": \"" SECRET_KEY "\\r\\n\"}}",
        "{\"api_key\": \"" SECRET_KEY "\", \"base_url\": \"" SECRET_KEY "\"}",
        "{\"iam_token\": \"" SECRET_IAM "\", \"base_url\": \"http://example.com/v1\"}",
        "{\"api_key\": \"" SECRET_KEY "\" \"broken json\"}",
    };
    for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++) {
        char *err = NULL;
        yc_client *c = yc_client_new(configs[i], &err);
        if (c) yc_client_free(c); /* any that is accepted is fine, no request */
        json_decref(take_error(err)); /* take_error checks for the secrets */
    }

    yc_client *client = client_for(emu, NULL);
    REQUIRE(client);
    /* The server echoing the key in its error message. */
    emu_fault(emu, "{\"match\": \"create\", \"kind\": \"status\", \"status\": 401, \"body\": "
                   "\"{\\\"error\\\": {\\\"message\\\": \\\"Bad key " SECRET_KEY
                   "\\\", \\\"type\\\": \\\"invalid_request_error\\\", \\\"code\\\": \\\"invalid_api_key\\\"}}\"}");
    char *err = NULL;
    CHECK(yc_create_background(client, "{\"model\": \"yandexgpt\", \"input\": \"x\"}", &err) == NULL, "accepted");
    json_t *e = take_error(err);
    CHECK_STR(err_kind(e), "api");
    CHECK_INT(jint(e, "http_status", -1), 401);
    json_decref(e);
    /* ... in an HTML page, in a Yandex-shaped body. */
    emu_fault(emu, "{\"match\": \"create\", \"kind\": \"status\", \"status\": 403, \"content_type\": "
                   "\"text/html\", \"body\": \"<html>key=" SECRET_KEY "</html>\"}");
    err = NULL;
    CHECK(yc_create_background(client, "{\"model\": \"yandexgpt\", \"input\": \"x\"}", &err) == NULL, "accepted");
    json_decref(take_error(err));
    emu_fault(emu, "{\"match\": \"create\", \"kind\": \"status\", \"status\": 400, \"body\": "
                   "\"{\\\"code\\\": 3, \\\"message\\\": \\\"Api-Key " SECRET_KEY " is invalid\\\", \\\"details\\\": "
                   "[]}\"}");
    err = NULL;
    CHECK(yc_create_background(client, "{\"model\": \"yandexgpt\", \"input\": \"x\"}", &err) == NULL, "accepted");
    json_decref(take_error(err));

    /* The secret in the request the caller sent is echoed into the output:
     * the result, the output text and errors must not carry it. */
    yc_task *t = CREATE(client, "{\"model\": \"yandexgpt\", \"input\": \"my key is " SECRET_KEY "\"}");
    REQUIRE(t);
    CHECK_STATUS(yc_wait(t, 10000), YC_STATUS_COMPLETED);
    char *text = yc_output_text(t);
    CHECK_NO_SECRET(text);
    CHECK(text && strncmp(text, "Echo: my key is ", 16) == 0, "output: %s", text ? text : "");
    yc_free(text);
    json_decref(task_result(t)); /* task_result checks */
    yc_task_free(t);
    t = CREATE(client, "{\"model\": \"yandexgpt\", \"input\": \"x\", \"metadata\": {\"emulator_output_text\": "
                       "\"" SECRET_KEY "\", \"emulator_omit_output_text\": \"true\"}}");
    REQUIRE(t);
    CHECK_STATUS(yc_wait(t, 10000), YC_STATUS_COMPLETED);
    text = yc_output_text(t);
    CHECK_NO_SECRET(text);
    yc_free(text);
    json_decref(task_result(t));
    /* Errors recorded on the task (poll failure whose body has the key). */
    emu_fault(emu, "{\"match\": \"any\", \"kind\": \"status\", \"status\": 500, \"should_retry\": \"false\", "
                   "\"body\": \"{\\\"error\\\": {\\\"message\\\": \\\"" SECRET_KEY "\\\", \\\"code\\\": \\\""
                   SECRET_KEY "\\\"}}\"}");
    yc_task *t2 = yc_attach(client, yc_task_id(t), &err);
    CHECK(t2 == NULL, "attach through a 500 worked");
    json_decref(take_error(err));
    yc_task_free(t);

    yc_task *q = CREATE(client, "{\"model\": \"yandexgpt\", \"input\": \"x\", \"metadata\": "
                                "{\"emulator_queue_ms\": \"5000\"}}");
    REQUIRE(q);
    emu_fault(emu, "{\"match\": \"retrieve\", \"kind\": \"status\", \"status\": 500, \"should_retry\": \"false\", "
                   "\"body\": \"{\\\"error\\\": {\\\"message\\\": \\\"echo " SECRET_KEY "\\\"}}\"}");
    CHECK_STATUS(yc_poll(q), YC_STATUS_ERROR);
    json_t *r = task_result(q);
    CHECK_STR(err_kind(json_object_get(r, "error")), "api");
    json_decref(r);
    yc_task_free(q);
    yc_client_free(client);

    /* IAM token too. */
    emu_t *emu2 = emu_start("--queue-ms 0 --work-ms 0 --iam-token " SECRET_IAM);
    REQUIRE(emu2);
    char *cfg = th_strdup_printf("{\"base_url\": \"%s\", \"iam_token\": \"" SECRET_IAM "\", \"folder_id\": \"f\"}",
                                 emu2->base_url);
    client = yc_client_new(cfg, NULL);
    free(cfg);
    REQUIRE(client);
    emu_fault(emu2, "{\"match\": \"create\", \"kind\": \"status\", \"status\": 401, \"body\": "
                    "\"{\\\"error\\\": {\\\"message\\\": \\\"token " SECRET_IAM " expired\\\"}}\"}");
    err = NULL;
    CHECK(yc_create_background(client, "{\"model\": \"yandexgpt\", \"input\": \"x\"}", &err) == NULL, "accepted");
    json_decref(take_error(err));
    t = CREATE(client, "{\"model\": \"yandexgpt\", \"input\": \"" SECRET_IAM "\"}");
    if (t) {
        CHECK_STATUS(yc_wait(t, 10000), YC_STATUS_COMPLETED);
        text = yc_output_text(t);
        CHECK_NO_SECRET(text);
        yc_free(text);
        json_decref(task_result(t));
        yc_task_free(t);
    }
    yc_client_free(client);
}

int main(int argc, char **argv) { return th_main(argc, argv); }
