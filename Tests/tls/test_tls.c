/*
 * test_tls.c — the library's TLS behaviour against the emulator serving
 * HTTPS (yc-emulator --tls-cert/--tls-key).  Run by Tests/tls/run.sh, which
 * makes a throw-away CA and certificates with openssl and passes their
 * folder in YCBG_TLS_DIR:
 *
 *   ca.pem                  the CA (not in the system store)
 *   server.pem, server.key  signed by it, subjectAltName IP:127.0.0.1, DNS:localhost
 *   wrong.pem,  wrong.key   signed by it, subjectAltName DNS:wrong.example only
 *   expired.pem, expired.key signed by it, right names, expired
 *   not-a-cert.pem          a readable file that is not PEM
 *
 * Everything talks to 127.0.0.1 only.  The plain-http:// check runs inside
 * `unshare -n` (a network namespace with nothing in it) when that works.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

/* ------------------------------------------------------------- helpers */

static const char *tls_dir(void) {
    const char *d = getenv("YCBG_TLS_DIR");
    return d && *d ? d : NULL;
}

/* <dir>/<name>, in a static ring of buffers. */
static const char *tls_file(const char *name) {
    static char bufs[8][1024];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof bufs[0], "%s/%s", tls_dir() ? tls_dir() : "(YCBG_TLS_DIR unset)", name);
    return b;
}

/* Emulator arguments serving the certificate pair `which` ("server" or "wrong"). */
static char *tls_args(const char *which, const char *more) {
    return th_strdup_printf("--tls-cert %s/%s.pem --tls-key %s/%s.key %s", tls_dir(), which, tls_dir(), which,
                            more ? more : "");
}

static bool contains_ci(const char *hay, const char *needle) { return hay && strcasestr(hay, needle) != NULL; }

/* A message that clearly says the TLS layer failed because of the certificate. */
static bool says_tls_certificate(const char *msg) {
    return contains_ci(msg, "TLS") && (contains_ci(msg, "certificate") || contains_ci(msg, "issuer"));
}

/* How many API requests (anything but /_emulator) reached the emulator. */
static long api_requests(emu_t *emu) {
    json_t *all = emu_requests(emu, 1000);
    long n = (long)json_array_size(all);
    json_decref(all);
    return n;
}

/* yc_create_background that is expected to fail: returns the parsed error
 * (caller json_decref) and the time it took. */
static json_t *create_must_fail(yc_client *client, const char *request, double *elapsed_ms) {
    char *err = NULL;
    double t0 = th_now_ms();
    yc_task *task = yc_create_background(client, request, &err);
    if (elapsed_ms) *elapsed_ms = th_now_ms() - t0;
    if (task) {
        th_fail(__FILE__, __LINE__, "yc_create_background succeeded (task %s); a failure was expected",
                yc_task_id(task));
        yc_task_free(task);
        yc_free(err);
        return NULL;
    }
    if (!err) {
        th_fail(__FILE__, __LINE__, "yc_create_background failed without an error document");
        return NULL;
    }
    return take_error(err);
}

static const char *REQ = "{\"model\": \"yandexgpt\", \"input\": \"hello over TLS\"}";

/* -------------------------------------------------------------- tests */

TEST(certificates_present) {
    REQUIRE(tls_dir(), "YCBG_TLS_DIR is not set (run Tests/tls/run.sh)");
    REQUIRE(strchr(tls_dir(), ' ') == NULL, "YCBG_TLS_DIR must not contain spaces: %s", tls_dir());
    const char *files[] = {"ca.pem",    "server.pem",  "server.key", "wrong.pem",
                           "wrong.key", "expired.pem", "expired.key", "not-a-cert.pem"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        CHECK(access(tls_file(files[i]), R_OK) == 0, "%s: %s", tls_file(files[i]), strerror(errno));
}

TEST(emulator_checks_its_tls_options) {
    const char *exe = getenv("YC_EMULATOR");
    char fallback[4096];
    if (!exe || !*exe) {
        snprintf(fallback, sizeof fallback, "%s/build/bin/yc-emulator", th_repo());
        exe = fallback;
    }
    /* One without the other is a usage error (2); files that are not a
     * certificate and key stop it before it listens (1).  `timeout` in case
     * it starts serving anyway. */
    char *cmd = th_strdup_printf("timeout 10 %s --tls-cert %s </dev/null >/dev/null 2>&1", exe,
                                 tls_file("server.pem"));
    int rc = system(cmd);
    CHECK(WIFEXITED(rc) && WEXITSTATUS(rc) == 2, "--tls-cert alone: exit status %d, want 2", WEXITSTATUS(rc));
    free(cmd);
    cmd = th_strdup_printf("timeout 10 %s --tls-cert %s --tls-key %s </dev/null >/dev/null 2>&1", exe,
                           tls_file("not-a-cert.pem"), tls_file("server.key"));
    rc = system(cmd);
    CHECK(WIFEXITED(rc) && WEXITSTATUS(rc) == 1, "a file that is not a certificate: exit status %d, want 1",
          WEXITSTATUS(rc));
    free(cmd);
    cmd = th_strdup_printf("timeout 10 %s --tls-cert %s --tls-key %s </dev/null >/dev/null 2>&1", exe,
                           tls_file("server.pem"), tls_file("wrong.key"));
    rc = system(cmd);
    CHECK(WIFEXITED(rc) && WEXITSTATUS(rc) == 1, "a key that does not match the certificate: exit status %d, want 1",
          WEXITSTATUS(rc));
    free(cmd);
}

/* The workflow on `emu` (ca_file `ca`, or none for plain HTTP): task 1
 * create -> wait -> output_text, then task 2 create -> cancel.  Returns the
 * connections each part used (control calls not counted). */
static void workflow(emu_t *emu, const char *ca, long *first, long *second) {
    *first = *second = -1;
    long c0 = emu_stat(emu, "connections");
    long c1 = emu_stat(emu, "connections");
    long overhead = c1 - c0; /* each control call is a connection of its own */

    yc_client *client = ca ? client_for(emu, "\"ca_file\": \"%s\"", ca) : client_for(emu, NULL);
    if (!client) return;
    yc_task *t = CREATE(client, REQ);
    if (!t) {
        yc_client_free(client);
        return;
    }
    CHECK(th_is_uuid(yc_task_id(t)), "id %s", yc_task_id(t));
    CHECK_STATUS(yc_wait(t, 15000), YC_STATUS_COMPLETED);
    char *text = yc_output_text(t);
    CHECK_STR(text, "Echo: hello over TLS");
    yc_free(text);
    long c2 = emu_stat(emu, "connections");
    *first = c2 - c1 - overhead;

    json_t *creates = emu_creates(emu);
    json_t *retrieves = emu_retrieves(emu);
    th_note("%s: 1 create + %zu retrieves over %ld connection(s)", ca ? "https" : "http", json_array_size(retrieves),
            *first);
    CHECK_INT(json_array_size(creates), 1);
    CHECK(json_array_size(retrieves) >= 3, "only %zu retrieves", json_array_size(retrieves));
    CHECK_STR(req_header(json_array_get(creates, 0), "authorization"), "Api-Key test-key");
    json_decref(creates);
    json_decref(retrieves);

    /* A second task on the same client: create, then cancel. */
    c2 = emu_stat(emu, "connections"); /* past the control calls above */
    yc_task *t2 = CREATE(client, "{\"model\": \"yandexgpt\", \"input\": \"second\"}");
    if (t2) {
        CHECK_STATUS(yc_cancel(t2), YC_STATUS_CANCELLED);
        yc_task_free(t2);
    }
    long c3 = emu_stat(emu, "connections");
    *second = c3 - c2 - overhead;
    th_note("%s: second task (create + cancel) over %ld more connection(s)", ca ? "https" : "http", *second);
    yc_task_free(t);
    yc_client_free(client);
}

TEST(https_workflow_with_ca_file) {
    char *args = tls_args("server", "--queue-ms 200 --work-ms 500");
    emu_t *tls = emu_start(args);
    free(args);
    emu_t *plain = emu_start("--queue-ms 200 --work-ms 500");
    REQUIRE(tls && plain);
    CHECK(strncmp(tls->base_url, "https://127.0.0.1:", 18) == 0, "base_url %s", tls->base_url);
    long tls_first, tls_second, plain_first, plain_second;
    workflow(tls, tls_file("ca.pem"), &tls_first, &tls_second);
    workflow(plain, NULL, &plain_first, &plain_second);
    /* Connections are reused over TLS as over plain HTTP: one for a create
     * and all its polls, and the same count for what follows. */
    CHECK_INT(tls_first, 1);
    CHECK_INT(tls_second, plain_second);
    CHECK(tls_second <= 2, "%ld connections for a create and a cancel", tls_second);
}

/* TLS connections the library opened while `call` ran: the emulator counts
 * every TCP connection it accepts, and each stats call is one of them. */
typedef struct {
    long before, overhead;
} conn_count_t;

static conn_count_t conn_begin(emu_t *emu) {
    long c0 = emu_stat(emu, "connections");
    long c1 = emu_stat(emu, "connections");
    return (conn_count_t){.before = c1, .overhead = c1 - c0};
}

static long conn_end(emu_t *emu, conn_count_t c) { return emu_stat(emu, "connections") - c.before - c.overhead; }

/* A certificate verification failure: kind network, not retryable, one
 * connection attempt even with retries allowed, and a message that names
 * the check (`check_words`: any of them, case-insensitive, "|"-separated). */
static void expect_verification_failure(emu_t *emu, yc_client *client, const char *check_words, const char *what) {
    conn_count_t cc = conn_begin(emu);
    double ms = 0;
    json_t *e = create_must_fail(client, REQ, &ms);
    long handshakes = conn_end(emu, cc);
    CHECK_ERROR_SHAPE(e);
    CHECK_STR(err_kind(e), "network");
    const char *msg = jstr(e, "message");
    CHECK(json_is_false(json_object_get(e, "retryable")), "%s: a certificate failure is retryable: %s", what,
          msg ? msg : "(null)");
    CHECK(says_tls_certificate(msg), "%s: message does not say TLS/certificate: %s", what, msg ? msg : "(null)");
    bool named = false;
    char words[256];
    snprintf(words, sizeof words, "%s", check_words);
    for (char *save = NULL, *w = strtok_r(words, "|", &save); w; w = strtok_r(NULL, "|", &save))
        named = named || contains_ci(msg, w);
    CHECK(named, "%s: message does not name the failed check (%s): %s", what, check_words, msg ? msg : "(null)");
    CHECK(handshakes == 1, "%s: %ld connection attempts for a create with max_retries 2 (a certificate does not "
                           "change between attempts)", what, handshakes);
    th_note("%s: create -> %ld handshake(s) in %.0f ms: %s", what, handshakes, ms, msg ? msg : "(null)");
    json_decref(e);

    /* The retrieve path (yc_attach): the same, one attempt. */
    cc = conn_begin(emu);
    char *err = NULL;
    yc_task *t = yc_attach(client, "00000000-0000-4000-8000-000000000000", &err);
    handshakes = conn_end(emu, cc);
    CHECK(t == NULL, "%s: yc_attach succeeded", what);
    yc_task_free(t);
    e = take_error(err);
    CHECK_STR(err_kind(e), "network");
    CHECK(json_is_false(json_object_get(e, "retryable")), "%s: attach error retryable", what);
    CHECK(handshakes == 1, "%s: %ld connection attempts for an attach with max_retries 2", what, handshakes);
    json_decref(e);
    CHECK_INT(emu_stat(emu, "requests.create"), 0);
    CHECK_INT(emu_stat(emu, "requests.retrieve"), 0);
    CHECK_INT(api_requests(emu), 0);
}

TEST(untrusted_ca_fails_before_any_request) {
    char *args = tls_args("server", NULL);
    emu_t *emu = emu_start(args);
    free(args);
    REQUIRE(emu);
    /* Default retries (2); no ca_file: the system store, which lacks our CA. */
    yc_client *client = client_for(emu, NULL);
    REQUIRE(client);
    expect_verification_failure(emu, client, "not trusted", "untrusted CA");
    yc_client_free(client);
}

TEST(hostname_mismatch_fails_before_any_request) {
    char *args = tls_args("wrong", NULL); /* DNS:wrong.example only, signed by our CA */
    emu_t *emu = emu_start(args);
    free(args);
    REQUIRE(emu);
    /* The CA is trusted; only the name is wrong. Default retries (2). */
    yc_client *client = client_for(emu, "\"ca_file\": \"%s\"", tls_file("ca.pem"));
    REQUIRE(client);
    expect_verification_failure(emu, client, "host name mismatch", "name mismatch");
    yc_client_free(client);
}

TEST(expired_certificate_fails_before_any_request) {
    char *args = tls_args("expired", NULL); /* right names, trusted CA, expired */
    emu_t *emu = emu_start(args);
    free(args);
    REQUIRE(emu);
    yc_client *client = client_for(emu, "\"ca_file\": \"%s\"", tls_file("ca.pem"));
    REQUIRE(client);
    expect_verification_failure(emu, client, "expired", "expired certificate");
    yc_client_free(client);
}

TEST(missing_ca_file_is_config_error) {
    const char *missing = "/nonexistent-ycbg-tls/ca.pem";
    char *cfg = th_strdup_printf(
        "{\"base_url\": \"https://127.0.0.1:9/v1\", \"api_key\": \"test-key\", \"ca_file\": \"%s\"}", missing);
    char *err = NULL;
    double t0 = th_now_ms();
    yc_client *client = yc_client_new(cfg, &err);
    double ms = th_now_ms() - t0;
    free(cfg);
    CHECK(client == NULL, "yc_client_new accepted a ca_file that does not exist");
    yc_client_free(client);
    json_t *e = take_error(err);
    CHECK_ERROR_SHAPE(e);
    CHECK_STR(err_kind(e), "config");
    const char *msg = jstr(e, "message");
    CHECK(contains_ci(msg, "ca_file") && contains_ci(msg, missing), "message: %s", msg ? msg : "(null)");
    CHECK(!json_is_true(json_object_get(e, "retryable")), "a config error is retryable");
    th_note("%.1f ms: %s", ms, msg ? msg : "(null)");
    json_decref(e);
}

TEST(ca_file_that_is_not_pem_is_config_error) {
    /* Readable but holding no certificate (or a directory): caught at
     * yc_client_new rather than as a TLS error on every request. */
    const char *bad[] = {tls_file("not-a-cert.pem"), "/tmp"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *config = th_strdup_printf(
            "{\"base_url\": \"https://127.0.0.1:9/v1\", \"api_key\": \"test-key\", \"ca_file\": \"%s\"}", bad[i]);
        char *err = NULL;
        yc_client *client = yc_client_new(config, &err);
        free(config);
        CHECK(client == NULL, "yc_client_new accepted ca_file %s", bad[i]);
        yc_client_free(client);
        json_t *e = take_error(err);
        CHECK_STR(err_kind(e), "config");
        const char *msg = jstr(e, "message");
        CHECK(contains_ci(msg, "ca_file"), "message: %s", msg ? msg : "(null)");
        th_note("%s: %s", bad[i], msg ? msg : "(null)");
        json_decref(e);
    }
}

TEST(plain_http_to_the_tls_port_fails_cleanly) {
    /* A client speaking plain HTTP to the HTTPS emulator: the handshake
     * fails on the server, the client gets no answer and sends no API request
     * that the emulator would process. */
    char *args = tls_args("server", NULL);
    emu_t *emu = emu_start(args);
    free(args);
    REQUIRE(emu);
    char *cfg = th_strdup_printf("{\"base_url\": \"http://127.0.0.1:%d/v1\", \"api_key\": \"test-key\", "
                                 "\"folder_id\": \"b1gtestfolder\", \"max_retries\": 0, \"timeout_ms\": 10000}",
                                 emu->port);
    char *err = NULL;
    yc_client *client = yc_client_new(cfg, &err);
    free(cfg);
    REQUIRE(client, "%s", err ? err : "");
    json_t *e = create_must_fail(client, REQ, NULL);
    CHECK_ERROR_SHAPE(e);
    th_note("kind %s: %s", err_kind(e), jstr(e, "message") ? jstr(e, "message") : "(null)");
    CHECK(strcmp(err_kind(e), "network") == 0 || strcmp(err_kind(e), "protocol") == 0, "kind %s", err_kind(e));
    CHECK_INT(api_requests(emu), 0);
    json_decref(e);
    yc_client_free(client);
}

/* ---------------------------------------------- faults: TLS vs plain HTTP */

typedef struct {
    const char *name;
    const char *fault;  /* the fault object */
    bool on_retrieve;   /* else on the create */
    const char *cfg;    /* extra config members */
    const char *expect; /* the error kind, or "ok" */
} scenario;

static const scenario scenarios[] = {
    {"reset on create", "{\"match\": \"create\", \"kind\": \"reset\"}", false, "\"max_retries\": 0", "network"},
    {"accept_then_reset on create (never retried)", "{\"match\": \"create\", \"kind\": \"accept_then_reset\"}",
     false, "\"max_retries\": 2", "network"},
    {"503 on create, retried", "{\"match\": \"create\", \"kind\": \"status\", \"status\": 503, \"retry_after_ms\": \"10\"}",
     false, "\"max_retries\": 1", "ok"},
    {"malformed create", "{\"match\": \"create\", \"kind\": \"malformed\"}", false, "\"max_retries\": 0", "protocol"},
    {"reset on retrieve, retried", "{\"match\": \"retrieve\", \"kind\": \"reset\"}", true, "\"max_retries\": 1", "ok"},
    {"truncated retrieve", "{\"match\": \"retrieve\", \"kind\": \"truncated\"}", true, "\"max_retries\": 0", "protocol"},
    {"hang on retrieve", "{\"match\": \"retrieve\", \"kind\": \"hang\"}", true,
     "\"max_retries\": 0, \"timeout_ms\": 700", "timeout"},
    {"delay on retrieve", "{\"match\": \"retrieve\", \"kind\": \"delay\", \"delay_ms\": 150}", true,
     "\"max_retries\": 0", "ok"},
    {"trickle on retrieve", "{\"match\": \"retrieve\", \"kind\": \"trickle\", \"interval_ms\": 1}", true,
     "\"max_retries\": 0", "ok"},
    {"html 502 on retrieve", "{\"match\": \"retrieve\", \"kind\": \"html\"}", true, "\"max_retries\": 0", "http"},
};

/* Runs one scenario against `emu`; writes the outcome ("ok" or the error
 * kind) and the message. */
static void run_scenario(emu_t *emu, const scenario *s, const char *ca, char *kind, size_t kind_size, char *msg,
                         size_t msg_size) {
    snprintf(kind, kind_size, "(not run)");
    msg[0] = '\0';
    if (!emu_reset(emu)) return;
    yc_client *client = ca ? client_for(emu, "\"ca_file\": \"%s\", %s", ca, s->cfg) : client_for(emu, "%s", s->cfg);
    if (!client) return;
    yc_task *task = NULL;
    if (s->on_retrieve) {
        task = CREATE(client, REQ);
        if (!task) goto out;
    }
    if (!emu_fault(emu, "%s", s->fault)) goto out;
    json_t *e = NULL;
    if (s->on_retrieve) {
        yc_status st = yc_poll(task);
        if (st == YC_STATUS_ERROR) {
            json_t *r = task_result(task);
            e = json_incref(json_object_get(r, "error"));
            json_decref(r);
        }
    } else {
        char *err = NULL;
        task = yc_create_background(client, REQ, &err);
        if (!task) e = take_error(err);
        else yc_free(err);
    }
    if (e) {
        CHECK_ERROR_SHAPE(e);
        snprintf(kind, kind_size, "%s", err_kind(e));
        snprintf(msg, msg_size, "%s", jstr(e, "message") ? jstr(e, "message") : "");
        json_decref(e);
    } else {
        snprintf(kind, kind_size, "ok");
    }
    long applied = emu_stat(emu, "faults_applied");
    if (applied != 1) th_fail(__FILE__, __LINE__, "%s: faults_applied %ld, want 1", s->name, applied);
out:
    yc_task_free(task);
    yc_client_free(client);
}

TEST(faults_behave_the_same_over_tls) {
    emu_t *plain = emu_start("--queue-ms 60000 --work-ms 1000");
    char *args = tls_args("server", "--queue-ms 60000 --work-ms 1000");
    emu_t *tls = emu_start(args);
    free(args);
    REQUIRE(plain && tls);
    for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++) {
        const scenario *s = &scenarios[i];
        char kp[32], kt[32], mp[512], mt[512];
        double t0 = th_now_ms();
        run_scenario(plain, s, NULL, kp, sizeof kp, mp, sizeof mp);
        double t1 = th_now_ms();
        run_scenario(tls, s, tls_file("ca.pem"), kt, sizeof kt, mt, sizeof mt);
        double t2 = th_now_ms();
        th_note("%-44s http: %-8s (%4.0f ms)  https: %-8s (%4.0f ms)%s%s", s->name, kp, t1 - t0, kt, t2 - t1,
                mt[0] ? "  https message: " : "", mt);
        if (strcmp(kp, kt) != 0 && mp[0]) th_note("    http message: %s", mp);
        CHECK(strcmp(kt, s->expect) == 0, "%s over https: %s, want %s (%s)", s->name, kt, s->expect, mt);
        CHECK(strcmp(kp, kt) == 0, "%s: http gives %s, https gives %s", s->name, kp, kt);
    }
    /* The accept_then_reset create was processed once, never twice. */
    emu_reset(tls);
    yc_client *client = client_for(tls, "\"ca_file\": \"%s\", \"max_retries\": 2", tls_file("ca.pem"));
    if (client) {
        emu_fault(tls, "{\"match\": \"create\", \"kind\": \"accept_then_reset\"}");
        json_t *e = create_must_fail(client, REQ, NULL);
        json_decref(e);
        CHECK_INT(emu_stat(tls, "requests.create"), 1);
        CHECK_INT(emu_stat(tls, "responses"), 1);
        yc_client_free(client);
    }
}

/* ------------------------------------------- HTTP/2 and HTTP/1.1 by ALPN */

static size_t discard(char *data, size_t size, size_t n, void *user) {
    (void)data;
    (void)user;
    return size * n;
}

/* One GET of an unknown response over TLS with libcurl asking for `version`;
 * returns the HTTP version curl used (CURL_HTTP_VERSION_*), or -1. */
static long get_over_tls(emu_t *emu, long version, long *status) {
    char url[128];
    snprintf(url, sizeof url, "%s/responses/none", emu->base_url);
    CURL *c = curl_easy_init();
    if (!c) return -1;
    struct curl_slist *headers = curl_slist_append(NULL, "Authorization: Api-Key test-key");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_CAINFO, tls_file("ca.pem"));
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, version);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    long used = -1;
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
        curl_easy_getinfo(c, CURLINFO_HTTP_VERSION, &used);
    } else {
        th_fail(__FILE__, __LINE__, "curl over TLS: %s", curl_easy_strerror(rc));
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
    return used;
}

TEST(h2_and_http1_over_tls_by_alpn) {
    char *args = tls_args("server", NULL);
    emu_t *emu = emu_start(args);
    free(args);
    REQUIRE(emu);
    long status = 0;
    CHECK_INT(get_over_tls(emu, CURL_HTTP_VERSION_2TLS, &status), CURL_HTTP_VERSION_2_0);
    CHECK_INT(status, 404);
    status = 0;
    CHECK_INT(get_over_tls(emu, CURL_HTTP_VERSION_1_1, &status), CURL_HTTP_VERSION_1_1);
    CHECK_INT(status, 404);
    json_t *stats = emu_stats(emu);
    json_t *by = json_object_get(stats, "requests_by_protocol");
    CHECK_INT(json_integer_value(json_object_get(by, "h2")), 1);
    CHECK_INT(json_integer_value(json_object_get(by, "http/1.1")), 1);
    /* (h2_connections also counts the harness's own control calls, over h2 too.) */
    CHECK(json_integer_value(json_object_get(stats, "h2_connections")) >= 1, "no h2 connection counted");
    json_decref(stats);
    json_t *log = emu_requests(emu, 10);
    CHECK_INT(json_array_size(log), 2);
    CHECK_STR(jstr(json_array_get(log, 0), "protocol"), "h2");
    CHECK_STR(jstr(json_array_get(log, 1), "protocol"), "http/1.1");
    json_decref(log);
}

/* Many submitted tasks over HTTP/2 (h2 by ALPN over TLS): the client's
 * engine multiplexes every create and poll as streams over a few
 * connections, and each task ends with exactly one event and one job. */
TEST(many_tasks_multiplex_over_h2) {
    enum { N = 300 };
    char *args = tls_args("server", "--queue-ms 100 --work-ms 300");
    emu_t *emu = emu_start(args);
    free(args);
    REQUIRE(emu);
    conn_count_t cc = conn_begin(emu);
    yc_client *client = client_for(emu, "\"ca_file\": \"%s\", \"http_version\": \"2\", \"poll_interval_ms\": 100",
                                   tls_file("ca.pem"));
    REQUIRE(client);
    static yc_task *tasks[N];
    for (int i = 0; i < N; i++) {
        char *err = NULL;
        char req[128];
        snprintf(req, sizeof req, "{\"model\": \"yandexgpt\", \"input\": \"h2 %d\"}", i);
        tasks[i] = yc_submit(client, req, (uint64_t)i, &err);
        CHECK(tasks[i], "yc_submit %d: %s", i, err ? err : "");
        yc_free(err);
    }
    static bool seen[N];
    int events = 0, completed = 0, rounds = 0;
    while (events < N && rounds++ < 2000) {
        yc_event ev[64];
        int got = yc_next_events(client, ev, 64, 100);
        REQUIRE(got >= 0);
        for (int k = 0; k < got; k++, events++) {
            uint64_t tag = ev[k].tag;
            CHECK(tag < N && !seen[tag] && ev[k].task == tasks[tag], "event for tag %llu", (unsigned long long)tag);
            if (tag >= N) continue;
            seen[tag] = true;
            if (ev[k].status == YC_STATUS_COMPLETED) {
                char want[64], *text = yc_output_text(ev[k].task);
                snprintf(want, sizeof want, "Echo: h2 %llu", (unsigned long long)tag);
                CHECK_STR(text, want);
                yc_free(text);
                completed++;
            } else {
                CHECK(0, "task %llu ended %s: %s", (unsigned long long)tag, yc_status_name(ev[k].status),
                      ev[k].error_json ? ev[k].error_json : "");
            }
            yc_free(ev[k].error_json);
        }
    }
    CHECK_INT(events, N);
    CHECK_INT(completed, N);
    long used = conn_end(emu, cc);
    CHECK_INT(emu_stat(emu, "requests.create"), N); /* one create per task: none resent */
    json_t *stats = emu_stats(emu);
    long long h2 = json_integer_value(json_object_get(json_object_get(stats, "requests_by_protocol"), "h2"));
    json_decref(stats);
    th_note("%d tasks over h2: %lld h2 requests, %ld TLS connection(s)", N, h2, used);
    CHECK(h2 >= 2 * N, "only %lld requests went over h2", h2);
    CHECK(used >= 1 && used <= 4, "%ld connections for %d multiplexed tasks", used, N);
    for (int i = 0; i < N; i++) yc_task_free(tasks[i]);
    yc_client_free(client);
}

/* ----------------------------------- plain http:// to a non-loopback host */

/* The checks, with no emulator: yc_client_new must refuse without trying
 * any connection.  Returns the number of failed checks; prints each. */
static int check_plain_http_refused(const char *where) {
    static const char *refused[] = {
        "http://192.0.2.1/v1",            /* TEST-NET-1 */
        "http://198.51.100.7:8080/v1",    /* TEST-NET-2 */
        "http://[2001:db8::1]:443/v1",    /* IPv6 documentation prefix */
        "http://api.example/v1",          /* a name (no DNS look-up needed) */
        "http://127.0.0.1.example/v1",    /* looks loopback, is not */
    };
    int failures = 0;
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        char *cfg = th_strdup_printf("{\"base_url\": \"%s\", \"api_key\": \"secret-key-tls-test\", "
                                     "\"connect_timeout_ms\": 60000, \"timeout_ms\": 60000}",
                                     refused[i]);
        char *err = NULL;
        double t0 = th_now_ms();
        yc_client *c = yc_client_new(cfg, &err);
        double ms = th_now_ms() - t0;
        json_t *e = th_parse(err);
        const char *kind = jstr(e, "kind");
        const char *msg = jstr(e, "message");
        bool ok = c == NULL && kind && strcmp(kind, "config") == 0 && msg && strstr(msg, "http://") &&
                  strstr(msg, "allow_insecure_http") && !strstr(err, "secret-key-tls-test") && ms < 1000;
        printf("    %s [%s] %s: %s in %.1f ms: %s\n", ok ? "ok  " : "FAIL", where, refused[i],
               c ? "accepted" : (kind ? kind : "?"), ms, msg ? msg : "(no message)");
        if (!ok) failures++;
        json_decref(e);
        yc_free(err);
        yc_client_free(c);
        free(cfg);
    }
    /* The rule is about the scheme and the host, not reachability: loopback
     * http://, https:// anywhere, and allow_insecure_http are accepted (and
     * yc_client_new connects to none of them). */
    static const char *accepted[] = {
        "{\"base_url\": \"http://127.0.0.1:9/v1\", \"api_key\": \"k\"}",
        "{\"base_url\": \"http://localhost:9/v1\", \"api_key\": \"k\"}",
        "{\"base_url\": \"https://192.0.2.1/v1\", \"api_key\": \"k\"}",
        "{\"base_url\": \"http://192.0.2.1/v1\", \"api_key\": \"k\", \"allow_insecure_http\": true}",
    };
    for (size_t i = 0; i < sizeof accepted / sizeof accepted[0]; i++) {
        char *err = NULL;
        yc_client *c = yc_client_new(accepted[i], &err);
        printf("    %s [%s] accepted %s%s%s\n", c ? "ok  " : "FAIL", where, accepted[i], err ? ": " : "",
               err ? err : "");
        if (!c) failures++;
        yc_free(err);
        yc_client_free(c);
    }
    fflush(stdout);
    return failures;
}

static bool unshare_net_works(void) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, 1);
            dup2(null, 2);
        }
        execlp("unshare", "unshare", "-n", "true", (char *)NULL);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid) return false;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

TEST(plain_http_to_non_loopback_is_refused_at_client_new) {
    if (!unshare_net_works()) {
        th_note("`unshare -n` is not available here: checking in this namespace (validation only)");
        CHECK_INT(check_plain_http_refused("here"), 0);
        return;
    }
    /* This program again, as a child in an empty network namespace: had the
     * library tried to connect, there was nothing to reach. */
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    REQUIRE(n > 0, "readlink /proc/self/exe: %s", strerror(errno));
    exe[n] = '\0';
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        execlp("unshare", "unshare", "-n", "--", exe, "--netns-child", (char *)NULL);
        _exit(127);
    }
    REQUIRE(pid > 0, "fork: %s", strerror(errno));
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the check in `unshare -n` failed (status %d)", status);
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "--netns-child") == 0) {
        setvbuf(stdout, NULL, _IOLBF, 0);
        return check_plain_http_refused("unshare -n") == 0 ? 0 : 1;
    }
    return th_main(argc, argv);
}
