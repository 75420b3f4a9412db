/*
 * harness.h — a tiny test framework for the ycbg C test programs, plus
 * control of the local Responses API emulator (yc-emulator).
 *
 *   TEST(name) { ... CHECK(cond, "fmt", ...); REQUIRE(cond, "fmt", ...); }
 *   int main(int argc, char **argv) { return th_main(argc, argv); }
 *
 * CHECK records a failure (file:line and message) and goes on; REQUIRE also
 * returns from the test function.  Every emulator started during a test is
 * stopped when the test ends, whatever happened, and at exit, and on a
 * fatal signal; emulators run with --exit-on-stdin-eof, so even a killed
 * test program leaves no server behind.
 *
 * At the end th_main() prints exactly one line "N passed, N failed" (N =
 * test functions run) and returns non-zero if any failed.  Arguments name
 * the tests to run (exact names); none runs all.  YCBG_TEST_TIMEOUT (s,
 * default 120) bounds each test; a test that overruns counts as failed and
 * the program stops.
 *
 * Tests talk only to 127.0.0.1.
 */
#ifndef YCBG_TEST_HARNESS_H
#define YCBG_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include <jansson.h>

#include "ycbg.h"

/* ------------------------------------------------------------ framework */

typedef void (*th_test_fn)(void);

void th_register(const char *name, th_test_fn fn, int line);
int th_main(int argc, char **argv);

/* Records a failure of the current test. */
void th_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prints a note under the current test (always shown). */
void th_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Number of failures recorded so far in the current test. */
int th_failures(void);

#define TEST(name)                                                          \
    static void name(void);                                                 \
    __attribute__((constructor)) static void th_reg_##name(void) {          \
        th_register(#name, name, __LINE__);                                 \
    }                                                                       \
    static void name(void)

#define CHECK(cond, ...)                                                    \
    do {                                                                    \
        if (!(cond)) th_fail(__FILE__, __LINE__, "CHECK(" #cond ") " __VA_ARGS__); \
    } while (0)

#define REQUIRE(cond, ...)                                                  \
    do {                                                                    \
        if (!(cond)) {                                                      \
            th_fail(__FILE__, __LINE__, "REQUIRE(" #cond ") " __VA_ARGS__); \
            return;                                                         \
        }                                                                   \
    } while (0)

/* Equality checks with both values in the message. */
#define CHECK_STR(a, b)                                                     \
    do {                                                                    \
        const char *th_a_ = (a), *th_b_ = (b);                              \
        if (!th_a_ || !th_b_ || strcmp(th_a_, th_b_) != 0)                  \
            th_fail(__FILE__, __LINE__, "CHECK_STR(%s, %s): \"%.300s\" != \"%.300s\"", \
                    #a, #b, th_a_ ? th_a_ : "(null)", th_b_ ? th_b_ : "(null)"); \
    } while (0)

#define CHECK_INT(a, b)                                                     \
    do {                                                                    \
        long long th_a_ = (long long)(a), th_b_ = (long long)(b);           \
        if (th_a_ != th_b_)                                                 \
            th_fail(__FILE__, __LINE__, "CHECK_INT(%s, %s): %lld != %lld",  \
                    #a, #b, th_a_, th_b_);                                  \
    } while (0)

/* Status check that prints names. */
#define CHECK_STATUS(a, b)                                                  \
    do {                                                                    \
        int th_a_ = (int)(a), th_b_ = (int)(b);                             \
        if (th_a_ != th_b_)                                                 \
            th_fail(__FILE__, __LINE__, "CHECK_STATUS(%s, %s): %s (%d) != %s (%d)", \
                    #a, #b, yc_status_name((yc_status)th_a_), th_a_,        \
                    yc_status_name((yc_status)th_b_), th_b_);               \
    } while (0)

/* ------------------------------------------------------------- utilities */

double th_now_ms(void);               /* monotonic clock, milliseconds */
/* The slack every wall-clock bound in a test adds to itself, in ms:
 * $YCBG_TIME_SLACK_MS if it is a positive number, else 2500.  The same
 * variable scales the bounds of the Python, Go and Rust suites; run.sh raises
 * it where the library runs slower (valgrind). */
double th_slack_ms(void);
void th_sleep_ms(long ms);
char *th_strdup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The directory of the repository (compile-time YCBG_REPO, or $YCBG_REPO). */
const char *th_repo(void);
/* Whether `s` looks like a canonical UUID (8-4-4-4-12 hex digits). */
bool th_is_uuid(const char *s);

/* ------------------------------------------------------------- emulator */

typedef struct emu {
    pid_t pid;
    int stdin_fd;   /* write end of the emulator's stdin, kept open */
    int stdout_fd;  /* read end of its stdout */
    int port;
    char base_url[64];     /* http://127.0.0.1:<port>/v1 (https:// under --tls-cert) */
    char control_url[64];  /* http://127.0.0.1:<port>/_emulator (likewise) */
    char api_key[128];     /* the --api-key it accepts */
    char iam_token[128];   /* the --iam-token it accepts ("" if not given) */
    bool running;
} emu_t;

/* Starts `$YC_EMULATOR` (else <repo>/build/bin/yc-emulator) with
 * --port 0 --exit-on-stdin-eof and `extra_args` (space-separated, may be
 * NULL), adding --api-key test-key when the extras give none.  Returns NULL
 * (and records a failure) if it does not start within 20 s + th_slack_ms().
 * The emulator is stopped automatically at the end of the current test.  With --tls-cert and
 * --tls-key in the extras it serves HTTPS: base_url and control_url are then
 * https://, and the control calls below do not verify its certificate. */
emu_t *emu_start(const char *extra_args);
/* Closes its stdin, sends SIGTERM, reaps it (SIGKILL after 5 s). */
void emu_stop(emu_t *emu);

/* Control endpoints (JSON results are owned by the caller: json_decref). */
json_t *emu_http(emu_t *emu, const char *method, const char *path, const char *body, long *status);
bool emu_reset(emu_t *emu);
bool emu_fault(emu_t *emu, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool emu_clear_faults(emu_t *emu);
bool emu_settings(emu_t *emu, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
json_t *emu_stats(emu_t *emu);
/* A counter from /_emulator/stats by dotted path ("requests.create",
 * "connections", ...); -1 if missing. */
long emu_stat(emu_t *emu, const char *dotted);
/* The last `limit` recorded API requests, oldest first (a JSON array). */
json_t *emu_requests(emu_t *emu, int limit);
/* The recorded requests whose path starts with `prefix` and method equals
 * `method` (either may be NULL for any): a new JSON array. */
json_t *emu_requests_matching(emu_t *emu, const char *method, const char *prefix);
/* The recorded creates (POST /v1/responses): a new JSON array. */
json_t *emu_creates(emu_t *emu);
/* The recorded retrieves (GET /v1/responses/<id>): a new JSON array. */
json_t *emu_retrieves(emu_t *emu);
/* The body of a recorded request parsed as JSON (new reference) or NULL. */
json_t *req_body(json_t *req);
/* A header of a recorded request (lower-case name), or NULL. */
const char *req_header(json_t *req, const char *name);

/* ----------------------------------------------------------- ycbg helpers */

/* A config for `emu`: base_url, api_key, folder_id "b1gtestfolder",
 * poll_interval_ms 20, max_poll_interval_ms 100, then `extra` (more
 * members, without braces, may be NULL or "") — a new string (free()). */
char *cfg_for(emu_t *emu, const char *extra_fmt, ...) __attribute__((format(printf, 2, 3)));
/* yc_client_new(cfg_for(emu, extra)); records a failure on NULL. */
yc_client *client_for(emu_t *emu, const char *extra_fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parses a string returned by the library (does not free it); NULL if it is
 * NULL or not JSON. */
json_t *th_parse(const char *text);
/* yc_result(task) parsed (the string is released with yc_free); also checks
 * that no secret registered with th_add_secret() appears in it. */
json_t *task_result(yc_task *task);
/* Takes an error_json string: checks it against the secrets, parses it,
 * releases it with yc_free and returns the parsed object (or NULL). */
json_t *take_error(char *error_json);
/* Field accessors that tolerate NULL. */
const char *jstr(json_t *obj, const char *key);
long long jint(json_t *obj, const char *key, long long missing);
/* The "kind" of an error object ("" if none). */
const char *err_kind(json_t *err);
/* Checks the shape every error document must have: kind (one of the nine),
 * message (string), retryable (bool); http_status/code/request_id typed
 * right when present. */
#define CHECK_ERROR_SHAPE(err) th_check_error_shape((err), __FILE__, __LINE__)
void th_check_error_shape(json_t *err, const char *file, int line);

/* Secrets that must never appear in what the library returns. */
void th_add_secret(const char *secret);
#define CHECK_NO_SECRET(text) th_check_no_secret((text), __FILE__, __LINE__)
void th_check_no_secret(const char *text, const char *file, int line);

/* Creates a task from `request_json` on `client`; records a failure (with the
 * error) and returns NULL when it fails. */
#define CREATE(client, request) th_create((client), (request), __FILE__, __LINE__)
yc_task *th_create(yc_client *client, const char *request_json, const char *file, int line);

#endif
