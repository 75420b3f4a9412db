/* harness.c — see harness.h. */
#define _GNU_SOURCE
#include "harness.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#ifndef YCBG_REPO
#define YCBG_REPO "."
#endif

/* ------------------------------------------------------------ registry */

#define TH_MAX_TESTS 256
#define TH_MAX_EMUS 32
#define TH_MAX_SECRETS 16

typedef struct {
    const char *name;
    th_test_fn fn;
    int line;
} th_test;

static th_test tests[TH_MAX_TESTS];
static int test_count;

static pthread_mutex_t th_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *current_test = "(none)";
static int current_failures;

static emu_t *emus[TH_MAX_EMUS];   /* emulators of the current test */
static volatile pid_t emu_pids[TH_MAX_EMUS]; /* for the signal handler */

static char *secrets[TH_MAX_SECRETS];
static int secret_count;

static int tests_run, tests_passed, tests_failed;

void th_register(const char *name, th_test_fn fn, int line) {
    if (test_count >= TH_MAX_TESTS) {
        fprintf(stderr, "harness: too many tests\n");
        abort();
    }
    tests[test_count++] = (th_test){name, fn, line};
}

/* Copies `in` with bytes that are not valid UTF-8 (and control characters
 * other than tab) written as \xNN, so that logs stay readable text. */
static void printable(char *out, size_t size, const char *in) {
    size_t o = 0;
    const unsigned char *p = (const unsigned char *)in;
    while (*p && o + 5 < size) {
        int len = 0;
        if (*p < 0x80) len = (*p >= 0x20 || *p == '\t') ? 1 : 0;
        else if ((*p & 0xE0) == 0xC0 && *p >= 0xC2) len = 2;
        else if ((*p & 0xF0) == 0xE0) len = 3;
        else if ((*p & 0xF8) == 0xF0 && *p <= 0xF4) len = 4;
        for (int k = 1; k < len; k++)
            if ((p[k] & 0xC0) != 0x80) len = 0;
        if (len == 3 && *p == 0xED && p[1] >= 0xA0) len = 0; /* surrogates */
        if (len == 0) {
            o += (size_t)snprintf(out + o, size - o, "\\x%02X", *p);
            p++;
        } else {
            if (o + (size_t)len >= size) break;
            memcpy(out + o, p, (size_t)len);
            o += (size_t)len;
            p += len;
        }
    }
    out[o] = '\0';
}

void th_fail(const char *file, int line, const char *fmt, ...) {
    char raw[2048], msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    printable(msg, sizeof msg, raw);
    pthread_mutex_lock(&th_lock);
    current_failures++;
    fprintf(stdout, "    FAIL %s:%d: [%s] %s\n", file, line, current_test, msg);
    fflush(stdout);
    pthread_mutex_unlock(&th_lock);
}

void th_note(const char *fmt, ...) {
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&th_lock);
    fprintf(stdout, "    note [%s] %s\n", current_test, msg);
    fflush(stdout);
    pthread_mutex_unlock(&th_lock);
}

int th_failures(void) {
    pthread_mutex_lock(&th_lock);
    int n = current_failures;
    pthread_mutex_unlock(&th_lock);
    return n;
}

/* ------------------------------------------------------------- utilities */

double th_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

double th_slack_ms(void) {
    const char *e = getenv("YCBG_TIME_SLACK_MS");
    long v = e ? strtol(e, NULL, 10) : 0;
    return v > 0 && v < 3600L * 1000 ? (double)v : 2500.0;
}

void th_sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

char *th_strdup_printf(const char *fmt, ...) {
    va_list ap;
    char *out = NULL;
    va_start(ap, fmt);
    if (vasprintf(&out, fmt, ap) < 0) out = NULL;
    va_end(ap);
    return out;
}

const char *th_repo(void) {
    const char *env = getenv("YCBG_REPO");
    return env && *env ? env : YCBG_REPO;
}

bool th_is_uuid(const char *s) {
    if (!s || strlen(s) != 36) return false;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') return false;
        } else if (!isxdigit((unsigned char)s[i])) {
            return false;
        }
    }
    return true;
}

/* ------------------------------------------------------------- emulator */

static void kill_all_emulators_signal_safe(void) {
    for (int i = 0; i < TH_MAX_EMUS; i++) {
        pid_t p = emu_pids[i];
        if (p > 0) kill(p, SIGKILL);
    }
}

static const char *emulator_path(void) {
    static char path[4096];
    const char *env = getenv("YC_EMULATOR");
    if (env && *env) return env;
    snprintf(path, sizeof path, "%s/build/bin/yc-emulator", th_repo());
    return path;
}

emu_t *emu_start(const char *extra_args) {
    char *argv[64];
    int argc = 0;
    char *copy = strdup(extra_args ? extra_args : "");
    const char *exe = emulator_path();
    bool has_key = false;
    emu_t *emu = calloc(1, sizeof *emu);
    if (!emu || !copy) {
        free(emu);
        free(copy);
        th_fail(__FILE__, __LINE__, "emu_start: out of memory");
        return NULL;
    }
    emu->pid = -1;
    emu->stdin_fd = emu->stdout_fd = -1;

    argv[argc++] = (char *)exe;
    argv[argc++] = "--host";
    argv[argc++] = "127.0.0.1";
    argv[argc++] = "--port";
    argv[argc++] = "0";
    argv[argc++] = "--exit-on-stdin-eof";
    for (char *save = NULL, *tok = strtok_r(copy, " ", &save); tok && argc < 60;
         tok = strtok_r(NULL, " ", &save)) {
        argv[argc] = tok;
        if (strcmp(tok, "--api-key") == 0) has_key = true;
        if (argc > 0 && strcmp(argv[argc - 1], "--api-key") == 0)
            snprintf(emu->api_key, sizeof emu->api_key, "%s", tok);
        if (argc > 0 && strcmp(argv[argc - 1], "--iam-token") == 0)
            snprintf(emu->iam_token, sizeof emu->iam_token, "%s", tok);
        argc++;
    }
    if (!has_key) {
        argv[argc++] = "--api-key";
        argv[argc++] = "test-key";
        snprintf(emu->api_key, sizeof emu->api_key, "test-key");
    }
    argv[argc] = NULL;

    int in_pipe[2], out_pipe[2];
    if (pipe2(in_pipe, O_CLOEXEC) != 0) {
        th_fail(__FILE__, __LINE__, "emu_start: pipe: %s", strerror(errno));
        free(copy);
        free(emu);
        return NULL;
    }
    if (pipe2(out_pipe, O_CLOEXEC) != 0) {
        th_fail(__FILE__, __LINE__, "emu_start: pipe: %s", strerror(errno));
        close(in_pipe[0]);
        close(in_pipe[1]);
        free(copy);
        free(emu);
        return NULL;
    }

    int slot = -1;
    pthread_mutex_lock(&th_lock);
    for (int i = 0; i < TH_MAX_EMUS; i++)
        if (!emus[i]) {
            slot = i;
            emus[i] = emu;
            break;
        }
    pthread_mutex_unlock(&th_lock);
    if (slot < 0) {
        th_fail(__FILE__, __LINE__, "emu_start: too many emulators");
        close(in_pipe[0]); close(in_pipe[1]); close(out_pipe[0]); close(out_pipe[1]);
        free(copy);
        free(emu);
        return NULL;
    }

    pid_t pid = fork();
    if (pid == 0) {
        /* Child: only async-signal-safe calls until execv. */
        dup2(in_pipe[0], 0);
        dup2(out_pipe[1], 1);
        execv(exe, argv);
        static const char msg[] = "harness: execv of the emulator failed\n";
        ssize_t ignored = write(2, msg, sizeof msg - 1);
        (void)ignored;
        _exit(127);
    }
    free(copy); /* argv pointed into it; the child has its own copy */
    close(in_pipe[0]);
    close(out_pipe[1]);
    if (pid < 0) {
        th_fail(__FILE__, __LINE__, "emu_start: fork: %s", strerror(errno));
        close(in_pipe[1]);
        close(out_pipe[0]);
        pthread_mutex_lock(&th_lock);
        emus[slot] = NULL;
        pthread_mutex_unlock(&th_lock);
        free(emu);
        return NULL;
    }
    emu->pid = pid;
    emu_pids[slot] = pid;
    emu->stdin_fd = in_pipe[1];
    emu->stdout_fd = out_pipe[0];
    emu->running = true;

    /* Read the "listening" line (20 s at most). */
    char line[512];
    size_t len = 0;
    double deadline = th_now_ms() + 20000 + th_slack_ms();
    while (len < sizeof line - 1) {
        int left = (int)(deadline - th_now_ms());
        if (left <= 0) break;
        struct pollfd pfd = {emu->stdout_fd, POLLIN, 0};
        int r = poll(&pfd, 1, left);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        ssize_t n = read(emu->stdout_fd, line + len, 1);
        if (n <= 0) break;
        if (line[len] == '\n') break;
        len++;
    }
    line[len] = '\0';
    /* http://, or https:// when it was started with --tls-cert/--tls-key. */
    const char *marker = "yc-emulator listening on http://127.0.0.1:";
    const char *tls_marker = "yc-emulator listening on https://127.0.0.1:";
    const char *at = strstr(line, marker);
    const char *tls_at = strstr(line, tls_marker);
    const char *scheme = tls_at ? "https" : "http";
    if (tls_at) {
        at = tls_at;
        marker = tls_marker;
    }
    if (!at || sscanf(at + strlen(marker), "%d", &emu->port) != 1 || emu->port <= 0) {
        th_fail(__FILE__, __LINE__, "emu_start: %s did not report its port (got \"%s\")", exe, line);
        emu_stop(emu);
        return NULL;
    }
    snprintf(emu->base_url, sizeof emu->base_url, "%s://127.0.0.1:%d/v1", scheme, emu->port);
    snprintf(emu->control_url, sizeof emu->control_url, "%s://127.0.0.1:%d/_emulator", scheme, emu->port);
    return emu;
}

void emu_stop(emu_t *emu) {
    if (!emu) return;
    pthread_mutex_lock(&th_lock);
    for (int i = 0; i < TH_MAX_EMUS; i++)
        if (emus[i] == emu) {
            emus[i] = NULL;
            emu_pids[i] = 0;
        }
    pthread_mutex_unlock(&th_lock);
    if (emu->stdin_fd >= 0) close(emu->stdin_fd);
    if (emu->pid > 0) {
        kill(emu->pid, SIGTERM);
        int status = 0;
        double deadline = th_now_ms() + 5000;
        for (;;) {
            pid_t r = waitpid(emu->pid, &status, WNOHANG);
            if (r == emu->pid || (r < 0 && errno != EINTR)) break;
            if (th_now_ms() > deadline) {
                kill(emu->pid, SIGKILL);
                waitpid(emu->pid, &status, 0);
                break;
            }
            th_sleep_ms(10);
        }
    }
    if (emu->stdout_fd >= 0) close(emu->stdout_fd);
    free(emu);
}

static void stop_all_emulators(void) {
    for (;;) {
        emu_t *e = NULL;
        pthread_mutex_lock(&th_lock);
        for (int i = 0; i < TH_MAX_EMUS && !e; i++) e = emus[i];
        pthread_mutex_unlock(&th_lock);
        if (!e) break;
        emu_stop(e);
    }
}

/* ------------------------------------------------------- control (curl) */

typedef struct {
    char *data;
    size_t len;
} buf_t;

static size_t collect(char *ptr, size_t size, size_t nmemb, void *userdata) {
    buf_t *b = userdata;
    size_t n = size * nmemb;
    char *p = realloc(b->data, b->len + n + 1);
    if (!p) return 0;
    b->data = p;
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

json_t *emu_http(emu_t *emu, const char *method, const char *path, const char *body, long *status) {
    if (status) *status = 0;
    if (!emu) return NULL;
    CURL *curl = curl_easy_init();
    if (!curl) return NULL;
    char url[512];
    bool tls = strncmp(emu->base_url, "https:", 6) == 0;
    snprintf(url, sizeof url, "%s://127.0.0.1:%d%s", tls ? "https" : "http", emu->port, path);
    buf_t b = {NULL, 0};
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 15000L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
    if (tls) {
        /* The harness's own control requests to the child it started on
         * 127.0.0.1: the certificate under test is the library's business,
         * not theirs (a test may serve one made not to verify). */
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (body) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    }
    CURLcode rc = curl_easy_perform(curl);
    long code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    if (status) *status = code;
    if (rc != CURLE_OK) {
        th_fail(__FILE__, __LINE__, "control %s %s: %s", method, path, curl_easy_strerror(rc));
        free(b.data);
        return NULL;
    }
    json_error_t jerr;
    json_t *doc = b.data ? json_loads(b.data, JSON_DECODE_ANY, &jerr) : NULL;
    free(b.data);
    return doc;
}

static bool control_ok(emu_t *emu, const char *method, const char *path, const char *body) {
    long status = 0;
    json_t *doc = emu_http(emu, method, path, body, &status);
    if (status != 200) {
        char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
        th_fail(__FILE__, __LINE__, "control %s %s (%s) -> %ld %s", method, path, body ? body : "",
                status, text ? text : "");
        free(text);
    }
    json_decref(doc);
    return status == 200;
}

bool emu_reset(emu_t *emu) { return control_ok(emu, "POST", "/_emulator/reset", ""); }

bool emu_clear_faults(emu_t *emu) { return control_ok(emu, "DELETE", "/_emulator/faults", NULL); }

/* POSTs a printf-formatted JSON body to a control endpoint. */
static bool control_post(emu_t *emu, const char *path, const char *fmt, va_list ap) {
    char *body = NULL;
    if (vasprintf(&body, fmt, ap) < 0) body = NULL;
    bool ok = control_ok(emu, "POST", path, body);
    free(body);
    return ok;
}

bool emu_fault(emu_t *emu, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    bool ok = control_post(emu, "/_emulator/faults", fmt, ap);
    va_end(ap);
    return ok;
}

bool emu_settings(emu_t *emu, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    bool ok = control_post(emu, "/_emulator/settings", fmt, ap);
    va_end(ap);
    return ok;
}

json_t *emu_stats(emu_t *emu) {
    long status = 0;
    json_t *doc = emu_http(emu, "GET", "/_emulator/stats", NULL, &status);
    if (status != 200) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

long emu_stat(emu_t *emu, const char *dotted) {
    json_t *doc = emu_stats(emu);
    json_t *v = doc;
    char *copy = strdup(dotted);
    for (char *save = NULL, *tok = strtok_r(copy, ".", &save); tok && v;
         tok = strtok_r(NULL, ".", &save))
        v = json_object_get(v, tok);
    long out = json_is_integer(v) ? (long)json_integer_value(v) : -1;
    free(copy);
    json_decref(doc);
    return out;
}

json_t *emu_requests(emu_t *emu, int limit) {
    char path[64];
    snprintf(path, sizeof path, "/_emulator/requests?limit=%d", limit);
    long status = 0;
    json_t *doc = emu_http(emu, "GET", path, NULL, &status);
    if (status != 200 || !json_is_array(doc)) {
        json_decref(doc);
        return json_array();
    }
    return doc;
}

json_t *emu_requests_matching(emu_t *emu, const char *method, const char *prefix) {
    json_t *all = emu_requests(emu, 1000);
    json_t *out = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(all, i, r) {
        const char *m = jstr(r, "method");
        const char *p = jstr(r, "path");
        if (method && (!m || strcmp(m, method) != 0)) continue;
        if (prefix && (!p || strncmp(p, prefix, strlen(prefix)) != 0)) continue;
        json_array_append(out, r);
    }
    json_decref(all);
    return out;
}

json_t *emu_creates(emu_t *emu) {
    json_t *all = emu_requests_matching(emu, "POST", "/v1/responses");
    json_t *out = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(all, i, r) {
        if (strcmp(jstr(r, "path"), "/v1/responses") == 0) json_array_append(out, r);
    }
    json_decref(all);
    return out;
}

json_t *emu_retrieves(emu_t *emu) { return emu_requests_matching(emu, "GET", "/v1/responses/"); }

json_t *req_body(json_t *req) { return th_parse(jstr(req, "body")); }

const char *req_header(json_t *req, const char *name) {
    return jstr(json_object_get(req, "headers"), name);
}

/* ----------------------------------------------------------- ycbg helpers */

static char *vcfg_for(emu_t *emu, const char *extra_fmt, va_list ap) {
    char *extra = NULL;
    if (extra_fmt && vasprintf(&extra, extra_fmt, ap) < 0) extra = NULL;
    char *cfg = th_strdup_printf(
        "{\"base_url\": \"%s\", \"api_key\": \"%s\", \"folder_id\": \"b1gtestfolder\", "
        "\"poll_interval_ms\": 20, \"max_poll_interval_ms\": 100%s%s}",
        emu ? emu->base_url : "http://127.0.0.1:9/v1", emu ? emu->api_key : "test-key",
        extra && *extra ? ", " : "", extra ? extra : "");
    free(extra);
    return cfg;
}

char *cfg_for(emu_t *emu, const char *extra_fmt, ...) {
    va_list ap;
    va_start(ap, extra_fmt);
    char *cfg = vcfg_for(emu, extra_fmt, ap);
    va_end(ap);
    return cfg;
}

yc_client *client_for(emu_t *emu, const char *extra_fmt, ...) {
    va_list ap;
    va_start(ap, extra_fmt);
    char *cfg = vcfg_for(emu, extra_fmt, ap);
    va_end(ap);
    char *err = NULL;
    yc_client *client = yc_client_new(cfg, &err);
    if (!client) th_fail(__FILE__, __LINE__, "yc_client_new(%s) failed: %s", cfg, err ? err : "(no error)");
    if (err) {
        th_check_no_secret(err, __FILE__, __LINE__);
        yc_free(err);
    }
    free(cfg);
    return client;
}

json_t *th_parse(const char *text) {
    if (!text) return NULL;
    json_error_t jerr;
    return json_loads(text, JSON_DECODE_ANY, &jerr);
}

json_t *task_result(yc_task *task) {
    char *text = yc_result(task);
    if (!text) return NULL;
    th_check_no_secret(text, __FILE__, __LINE__);
    json_t *doc = th_parse(text);
    if (!doc) th_fail(__FILE__, __LINE__, "yc_result is not JSON: %.300s", text);
    yc_free(text);
    return doc;
}

json_t *take_error(char *error_json) {
    if (!error_json) return NULL;
    th_check_no_secret(error_json, __FILE__, __LINE__);
    json_t *doc = th_parse(error_json);
    if (!doc) th_fail(__FILE__, __LINE__, "error_json is not JSON: %.300s", error_json);
    yc_free(error_json);
    return doc;
}

const char *jstr(json_t *obj, const char *key) {
    json_t *v = obj ? json_object_get(obj, key) : NULL;
    return json_is_string(v) ? json_string_value(v) : NULL;
}

long long jint(json_t *obj, const char *key, long long missing) {
    json_t *v = obj ? json_object_get(obj, key) : NULL;
    return json_is_integer(v) ? (long long)json_integer_value(v) : missing;
}

const char *err_kind(json_t *err) {
    const char *k = jstr(err, "kind");
    return k ? k : "";
}

void th_check_error_shape(json_t *err, const char *file, int line) {
    static const char *kinds[] = {"invalid_argument", "invalid_json", "config", "network", "timeout",
                                  "http", "api", "protocol", "generation"};
    if (!json_is_object(err)) {
        th_fail(file, line, "error is not a JSON object");
        return;
    }
    const char *kind = jstr(err, "kind");
    bool known = false;
    for (size_t i = 0; kind && i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(kind, kinds[i]) == 0) known = true;
    char *text = json_dumps(err, JSON_COMPACT);
    if (!known) th_fail(file, line, "error kind missing or unknown: %s", text);
    const char *msg = jstr(err, "message");
    if (!msg || !*msg) th_fail(file, line, "error message missing or empty: %s", text);
    if (!json_is_boolean(json_object_get(err, "retryable")))
        th_fail(file, line, "error retryable missing or not a bool: %s", text);
    json_t *v;
    if ((v = json_object_get(err, "http_status")) && !json_is_integer(v) && !json_is_null(v))
        th_fail(file, line, "error http_status not an integer: %s", text);
    if ((v = json_object_get(err, "code")) && !json_is_string(v) && !json_is_null(v))
        th_fail(file, line, "error code not a string: %s", text);
    if ((v = json_object_get(err, "request_id")) && !json_is_string(v) && !json_is_null(v))
        th_fail(file, line, "error request_id not a string: %s", text);
    free(text);
}

void th_add_secret(const char *secret) {
    pthread_mutex_lock(&th_lock);
    if (secret_count < TH_MAX_SECRETS) secrets[secret_count++] = strdup(secret);
    pthread_mutex_unlock(&th_lock);
}

void th_check_no_secret(const char *text, const char *file, int line) {
    if (!text) return;
    pthread_mutex_lock(&th_lock);
    int n = secret_count;
    pthread_mutex_unlock(&th_lock);
    for (int i = 0; i < n; i++)
        if (secrets[i] && strstr(text, secrets[i]))
            th_fail(file, line, "a secret (%.6s...) appears in a string from the library: %.400s", secrets[i],
                    text);
}

yc_task *th_create(yc_client *client, const char *request_json, const char *file, int line) {
    char *err = NULL;
    yc_task *task = yc_create_background(client, request_json, &err);
    if (!task) th_fail(file, line, "yc_create_background(%.200s) failed: %s", request_json, err ? err : "(no error)");
    else if (err) th_fail(file, line, "yc_create_background succeeded but *error_json is not NULL: %s", err);
    if (err) {
        th_check_no_secret(err, file, line);
        yc_free(err);
    }
    return task;
}

/* -------------------------------------------------------------- running */

static volatile sig_atomic_t in_test_index = -1;
static int timeout_s = 120;

static void on_fatal(int sig) {
    kill_all_emulators_signal_safe();
    char msg[256];
    int n = snprintf(msg, sizeof msg, "\n    FATAL signal %d in test %s\n", sig, current_test);
    if (n > 0) {
        ssize_t ignored = write(1, msg, (size_t)n);
        (void)ignored;
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static void on_alarm(int sig) {
    (void)sig;
    kill_all_emulators_signal_safe();
    char msg[256];
    /* The running test and the ones not yet run count as failed. */
    int failed = test_count - tests_passed;
    int n = snprintf(msg, sizeof msg, "    FAIL [%s] timed out after %d s (YCBG_TEST_TIMEOUT)\n%d passed, %d failed\n",
                     current_test, timeout_s, tests_passed, failed);
    if (n > 0) {
        ssize_t ignored = write(1, msg, (size_t)n);
        (void)ignored;
    }
    _exit(2);
}

static void at_exit_cleanup(void) {
    stop_all_emulators();
}

static int by_line(const void *a, const void *b) {
    const th_test *x = a, *y = b;
    return x->line - y->line;
}

int th_main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    atexit(at_exit_cleanup);
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fatal;
#if !defined(__SANITIZE_ADDRESS__)
    /* Under AddressSanitizer its own handlers report crashes; emulators
     * still go, as they exit when our end of their stdin closes. */
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    sigaction(SIGABRT, &sa, NULL);
    sigaction(SIGILL, &sa, NULL);
    sigaction(SIGFPE, &sa, NULL);
    sigaction(SIGTRAP, &sa, NULL);
#endif
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    const char *t = getenv("YCBG_TEST_TIMEOUT");
    if (t && atoi(t) > 0) timeout_s = atoi(t);

    qsort(tests, (size_t)test_count, sizeof tests[0], by_line);
    const char *prog = strrchr(argv[0], '/');
    prog = prog ? prog + 1 : argv[0];

    /* Only the tests named on the command line, if any. */
    bool selected[TH_MAX_TESTS];
    int selected_count = 0;
    for (int i = 0; i < test_count; i++) {
        selected[i] = argc <= 1;
        for (int a = 1; a < argc; a++)
            if (strcmp(argv[a], tests[i].name) == 0) selected[i] = true;
        if (selected[i]) selected_count++;
    }
    for (int a = 1; a < argc; a++) {
        bool found = false;
        for (int i = 0; i < test_count; i++)
            if (strcmp(argv[a], tests[i].name) == 0) found = true;
        if (!found) {
            fprintf(stdout, "%s: no test named %s; tests are:\n", prog, argv[a]);
            for (int i = 0; i < test_count; i++) fprintf(stdout, "  %s\n", tests[i].name);
            fprintf(stdout, "0 passed, 1 failed\n");
            return 1;
        }
    }
    int total = test_count;
    test_count = selected_count; /* for the timeout line */
    double start_all = th_now_ms();
    for (int i = 0; i < total; i++) {
        if (!selected[i]) continue;
        pthread_mutex_lock(&th_lock);
        current_test = tests[i].name;
        current_failures = 0;
        pthread_mutex_unlock(&th_lock);
        in_test_index = i;
        double t0 = th_now_ms();
        alarm((unsigned)timeout_s);
        tests[i].fn();
        alarm(0);
        stop_all_emulators();
        double dt = th_now_ms() - t0;
        tests_run++;
        if (th_failures() == 0) {
            tests_passed++;
            fprintf(stdout, "ok   %s (%.0f ms)\n", tests[i].name, dt);
        } else {
            tests_failed++;
            fprintf(stdout, "FAIL %s (%.0f ms, %d failed checks)\n", tests[i].name, dt, th_failures());
        }
        fflush(stdout);
    }
    pthread_mutex_lock(&th_lock);
    current_test = "(end)";
    pthread_mutex_unlock(&th_lock);
    fprintf(stdout, "# %s: %.1f s\n", prog, (th_now_ms() - start_all) / 1000.0);
    fprintf(stdout, "%d passed, %d failed\n", tests_passed, tests_failed);
    fflush(stdout);
    for (int i = 0; i < secret_count; i++) free(secrets[i]);
    secret_count = 0;
    curl_global_cleanup();
    return tests_failed ? 1 : 0;
}
