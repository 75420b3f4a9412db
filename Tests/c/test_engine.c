/* test_engine.c — many tasks per client: yc_submit / yc_watch, events through
 * yc_next_events and the client's fd, the _ex calls, cancel across threads,
 * client lifetime, task_timeout_ms, max_in_flight, a bounded run of many
 * tasks through one client (memory and threads flat), and connection reuse
 * for creates without ever sending a create twice.
 *
 * YCBG_ENGINE_TASKS sets the size of the many-tasks run (default 3000;
 * run.sh lowers it under valgrind and the sanitizers).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"
#include "procinfo.h"

#define EMU_ARGS "--queue-ms 30 --work-ms 60"
#define EVENT_WAIT_MS 30000

_Static_assert(sizeof(yc_event) == 32, "yc_event is {pointer, uint64, int, pointer} on LP64");

static bool is_terminal(yc_status s) {
    return s == YC_STATUS_COMPLETED || s == YC_STATUS_FAILED || s == YC_STATUS_CANCELLED || s == YC_STATUS_INCOMPLETE;
}

static int engine_tasks(void) {
    const char *e = getenv("YCBG_ENGINE_TASKS");
    int n = e ? atoi(e) : 0;
    return n > 0 ? n : 3000;
}

static long creates(emu_t *emu) { return emu_stat(emu, "requests.create"); }

static char *request_for(const char *input) {
    return th_strdup_printf("{\"model\": \"yandexgpt\", \"input\": \"%s\"}", input);
}

static yc_task *submit(yc_client *client, const char *input, uint64_t tag) {
    char *req = request_for(input);
    char *err = NULL;
    yc_task *t = yc_submit(client, req, tag, &err);
    free(req);
    if (!t) th_note("yc_submit failed: %s", err ? err : "(no error)");
    CHECK(t != NULL || err != NULL, "NULL task without an error");
    yc_free(err);
    return t;
}

/* Collects exactly `want` events (bounded by EVENT_WAIT_MS overall) into
 * `out`; returns how many came. */
static int collect(yc_client *client, yc_event *out, int want) {
    int got = 0;
    double t0 = th_now_ms();
    while (got < want && th_now_ms() - t0 < EVENT_WAIT_MS) {
        int n = yc_next_events(client, out + got, want - got, 500);
        if (n < 0) {
            th_fail(__FILE__, __LINE__, "yc_next_events returned %d", n);
            break;
        }
        got += n;
    }
    return got;
}

static void release_events(yc_event *events, int n) {
    for (int i = 0; i < n; i++) yc_free(events[i].error_json);
}

/* Submits n tasks with inputs "<prefix> 0" ... and tags 0 ...; false (and a
 * failure noted) if one is refused. */
static bool submit_numbered(yc_client *client, const char *prefix, yc_task **tasks, int n) {
    for (int i = 0; i < n; i++) {
        char input[32];
        snprintf(input, sizeof input, "%s %d", prefix, i);
        tasks[i] = submit(client, input, (uint64_t)i);
        if (!tasks[i]) return false;
    }
    return true;
}

/* Collects n events and checks that every task completed. */
static void collect_all_completed(yc_client *client, int n) {
    yc_event *ev = calloc((size_t)n, sizeof *ev);
    REQUIRE(ev);
    int got = collect(client, ev, n);
    CHECK_INT(got, n);
    for (int i = 0; i < got; i++) CHECK_STATUS(ev[i].status, YC_STATUS_COMPLETED);
    release_events(ev, got);
    free(ev);
}

/* Connections the emulator accepted between two stats calls a and b (each
 * stats call is a connection of its own and counts itself). */
static long connections(emu_t *emu) { return emu_stat(emu, "connections"); }

/* =================================================== submit and events */

TEST(submit_n_tasks_collect_n_events) {
    emu_t *emu = emu_start(EMU_ARGS);
    REQUIRE(emu);
    yc_client *client = client_for(emu, NULL);
    REQUIRE(client);
    enum { N = 40 };
    yc_task *tasks[N];
    for (int i = 0; i < N; i++) {
        char input[32];
        snprintf(input, sizeof input, "task %d", i);
        tasks[i] = submit(client, input, 1000 + (uint64_t)i);
        REQUIRE(tasks[i]);
    }
    yc_event ev[N + 1];
    int got = collect(client, ev, N);
    CHECK_INT(got, N);
    bool seen[N] = {false};
    for (int i = 0; i < got; i++) {
        CHECK(ev[i].tag >= 1000 && ev[i].tag < 1000 + N, "tag %llu", (unsigned long long)ev[i].tag);
        if (ev[i].tag < 1000 || ev[i].tag >= 1000 + N) continue;
        int k = (int)(ev[i].tag - 1000);
        CHECK(!seen[k], "tag %d came twice", k);
        seen[k] = true;
        CHECK(ev[i].task == tasks[k], "event %d: task %p, submitted %p", k, (void *)ev[i].task, (void *)tasks[k]);
        CHECK_STATUS(ev[i].status, YC_STATUS_COMPLETED);
        CHECK(ev[i].error_json == NULL, "a completed task's event has an error: %s", ev[i].error_json);
        char want[48];
        snprintf(want, sizeof want, "Echo: task %d", k);
        char *text = yc_output_text(tasks[k]);
        CHECK_STR(text, want);
        yc_free(text);
        CHECK(yc_task_id(tasks[k]) != NULL, "no id after the event");
        json_t *r = task_result(tasks[k]);
        CHECK_STR(jstr(r, "status"), "completed");
        CHECK(r && jstr(r, "id") && yc_task_id(tasks[k]) && strcmp(jstr(r, "id"), yc_task_id(tasks[k])) == 0, "result id");
        json_decref(r);
    }
    release_events(ev, got);
    /* Nothing more comes: exactly one event per task. */
    CHECK_INT(yc_next_events(client, ev, N, 200), 0);
    CHECK_INT(creates(emu), N);
    for (int i = 0; i < N; i++) yc_task_free(tasks[i]);
    yc_client_free(client);
}

static bool fd_readable(int fd, int timeout_ms) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int rc;
    do rc = poll(&p, 1, timeout_ms);
    while (rc < 0 && errno == EINTR);
    return rc == 1 && (p.revents & POLLIN);
}

TEST(client_fd_is_readable_exactly_while_events_are_pending) {
    emu_t *emu = emu_start(EMU_ARGS);
    REQUIRE(emu);
    yc_client *client = client_for(emu, NULL);
    REQUIRE(client);
    int fd = yc_client_fd(client);
    REQUIRE(fd >= 0, "yc_client_fd: %d", fd);
    CHECK_INT(yc_client_fd(client), fd);
    CHECK(!fd_readable(fd, 0), "readable before any event");
    enum { N = 12 };
    yc_task *tasks[N];
    REQUIRE(submit_numbered(client, "fd", tasks, N));
    int got = 0;
    bool tags[N] = {false};
    double t0 = th_now_ms();
    while (got < N && th_now_ms() - t0 < EVENT_WAIT_MS) {
        if (!fd_readable(fd, 1000)) continue;
        /* Level-triggered: still readable until the events are taken. */
        CHECK(fd_readable(fd, 0), "readable once, then not, with events pending");
        yc_event ev;
        int n = yc_next_events(client, &ev, 1, 0);
        CHECK_INT(n, 1);
        if (n != 1) break;
        CHECK(ev.tag < N && !tags[ev.tag], "tag %llu", (unsigned long long)ev.tag);
        if (ev.tag < N) tags[ev.tag] = true;
        CHECK_STATUS(ev.status, YC_STATUS_COMPLETED);
        yc_free(ev.error_json);
        got++;
    }
    CHECK_INT(got, N);
    CHECK(!fd_readable(fd, 0), "still readable after every event was taken");
    yc_event ev;
    CHECK_INT(yc_next_events(client, &ev, 1, 0), 0);
    CHECK_INT(yc_next_events(client, NULL, 1, 0), -1);
    CHECK_INT(yc_next_events(client, &ev, 0, 0), -1);
    CHECK_INT(yc_next_events(NULL, &ev, 1, 0), -1);
    CHECK_INT(yc_client_fd(NULL), -1);
    for (int i = 0; i < N; i++) yc_task_free(tasks[i]);
    yc_client_free(client);
}

TEST(a_submitted_task_has_no_id_until_the_create_is_answered) {
    emu_t *emu = emu_start(EMU_ARGS);
    REQUIRE(emu);
    yc_client *client = client_for(emu, NULL);
    REQUIRE(client);
    emu_fault(emu, "{\"match\": \"create\", \"kind\": \"delay\", \"delay_ms\": 800}");
    yc_task *t = submit(client, "slow create", 5);
    REQUIRE(t);
    CHECK(yc_task_id(t) == NULL, "an id before the server answered: %s", yc_task_id(t));
    json_t *r = task_result(t);
    CHECK(r && json_is_null(json_object_get(r, "id")), "result id is not null");
    CHECK_STR(jstr(r, "status"), "queued");
    CHECK(r && json_is_null(json_object_get(r, "error")), "an error before anything failed");
    json_decref(r);
    CHECK_STATUS(yc_poll(t), YC_STATUS_QUEUED);
    yc_event ev;
    CHECK_INT(collect(client, &ev, 1), 1);
    CHECK_STATUS(ev.status, YC_STATUS_COMPLETED);
    CHECK(ev.tag == 5, "tag");
    CHECK(yc_task_id(t) != NULL, "no id after the event");
    CHECK_INT(creates(emu), 1);
    yc_task_free(t);
    yc_client_free(client);
}

/* ========================================================== yc_watch */

TEST(watch_created_and_attached_tasks) {
    emu_t *emu = emu_start(EMU_ARGS);
    REQUIRE(emu);
    yc_client *client = client_for(emu, NULL);
    REQUIRE(client);
    yc_task *a = CREATE(client, "{\"model\": \"yandexgpt\", \"input\": \"created\"}");
    REQUIRE(a);
    yc_task *other = CREATE(client, "{\"model\": \"yandexgpt\", \"input\": \"attached\"}");
    REQUIRE(other);
    char *err = NULL;
    yc_task *b = yc_attach(client, yc_task_id(other), &err);
    REQUIRE(b, "attach: %s", err ? err : "");
    CHECK_INT(yc_watch(a, 1), 0);
    CHECK_INT(yc_watch(b, 2), 0);
    CHECK_INT(yc_watch(a, 3), -1);
    CHECK_INT(yc_watch(NULL, 4), -1);
    yc_event ev[2];
    int got = collect(client, ev, 2);
    CHECK_INT(got, 2);
    for (int i = 0; i < got; i++) {
        CHECK(ev[i].tag == 1 || ev[i].tag == 2, "tag %llu", (unsigned long long)ev[i].tag);
        CHECK(ev[i].task == (ev[i].tag == 1 ? a : b), "event's task");
        CHECK_STATUS(ev[i].status, YC_STATUS_COMPLETED);
    }
    release_events(ev, got);
    char *text = yc_output_text(b);
    CHECK_STR(text, "Echo: attached");
    yc_free(text);

    /* Already terminal: the event comes at once, with no request. */
    CHECK_STATUS(yc_wait(other, 20000), YC_STATUS_COMPLETED);
    long before = emu_stat(emu, "requests.retrieve");
    CHECK_INT(yc_watch(other, 9), 0);
    CHECK_INT(yc_next_events(client, ev, 2, 5000), 1);
    CHECK(ev[0].tag == 9 && ev[0].task == other, "the terminal task's event");
    CHECK_STATUS(ev[0].status, YC_STATUS_COMPLETED);
    CHECK_INT(emu_stat(emu, "requests.retrieve"), before);

    /* A submitted task cannot be watched; nor a freed one. */
    yc_task *s = submit(client, "submitted", 11);
    REQUIRE(s);
    CHECK_INT(yc_watch(s, 12), -1);
    CHECK_INT(collect(client, ev, 1), 1);
    CHECK(ev[0].tag == 11, "the submitted task's own event");
    yc_task_free(s);
    CHECK_INT(yc_watch(s, 13), -1); /* freed: recognised, refused */
    yc_task_free(a);
    yc_task_free(b);
    yc_task_free(other);
    yc_client_free(client);
}

/* ==================================================== failing creates */

TEST(submit_with_a_bad_request_fails_at_once_and_sends_nothing) {
    emu_t *emu = emu_start(EMU_ARGS);
    REQUIRE(emu);
    yc_client *client = client_for(emu, NULL);
    REQUIRE(client);
    struct {
        const char *request;
        const char *kind;
    } cases[] = {
        {"{not json", "invalid_json"},
        {"[1, 2]", "invalid_argument"},
        {"{\"model\": \"yandexgpt\", \"input\": \"x\", \"stream\": true}", "invalid_argument"},
        {NULL, "invalid_argument"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *err = NULL;
        yc_task *t = yc_submit(client, cases[i].request, 1, &err);
        CHECK(t == NULL, "case %zu: a task", i);
        json_t *e = take_error(err);
        CHECK_ERROR_SHAPE(e);
        CHECK_STR(err_kind(e), cases[i].kind);
        json_decref(e);
        yc_task_free(t);
    }
    char *err = NULL;
    CHECK(yc_submit(NULL, "{}", 1, &err) == NULL, "NULL client");
    json_t *e = take_error(err);
    CHECK_STR(err_kind(e), "invalid_argument");
    json_decref(e);
    /* A short model name without a folder id: a config error, nothing sent. */
    char *cfg = th_strdup_printf("{\"base_url\": \"%s\", \"api_key\": \"%s\"}", emu->base_url, emu->api_key);
    yc_client *nofolder = yc_client_new(cfg, NULL);
    free(cfg);
    REQUIRE(nofolder);
    err = NULL;
    CHECK(yc_submit(nofolder, "{\"model\": \"yandexgpt\", \"input\": \"x\"}", 1, &err) == NULL, "no folder");
    e = take_error(err);
    CHECK_STR(err_kind(e), "config");
    json_decref(e);
    yc_event ev;
    CHECK_INT(yc_next_events(client, &ev, 1, 100), 0);
    CHECK_INT(creates(emu), 0);
    yc_client_free(nofolder);
    yc_client_free(client);
}

TEST(a_create_failing_for_good_gives_an_error_event) {
    emu_t *emu = emu_start(EMU_ARGS);
    REQUIRE(emu);
    yc_client *client = client_for(emu, NULL);
    REQUIRE(client);
    emu_fault(emu, "{\"match\": \"create\", \"kind\": \"status\", \"status\": 400}");
    yc_task *t = submit(client, "rejected", 77);
    REQUIRE(t);
    yc_event ev;
    REQUIRE(collect(client, &ev, 1) == 1);
    CHECK(ev.task == t && ev.tag == 77, "the event's task and tag");
    CHECK_STATUS(ev.status, YC_STATUS_ERROR);
    json_t *e = take_error(ev.error_json);
    CHECK_ERROR_SHAPE(e);
    CHECK_STR(err_kind(e), "api");
    CHECK_INT(jint(e, "http_status", 0), 400);
    json_decref(e);
    CHECK(yc_task_id(t) == NULL, "an id for a create that failed");
    json_t *r = task_result(t);
    CHECK(r && json_is_null(json_object_get(r, "id")), "result id is not null");
    CHECK_STR(err_kind(json_object_get(r, "error")), "api");
    json_decref(r);
    char *err = NULL;
    CHECK_STATUS(yc_poll_ex(t, &err), YC_STATUS_ERROR);
    e = take_error(err);
    CHECK_STR(err_kind(e), "api");
    json_decref(e);
    CHECK_INT(creates(emu), 1);

    /* A 503 says the job was not started: resent, and the task completes. */
    emu_fault(emu, "{\"match\": \"create\", \"kind\": \"status\", \"status\": 503, \"retry_after_ms\": \"20\"}");
    yc_task *u = submit(client, "resent", 78);
    REQUIRE(u);
    REQUIRE(collect(client, &ev, 1) == 1);
    CHECK_STATUS(ev.status, YC_STATUS_COMPLETED);
    CHECK_INT(creates(emu), 3);
    yc_task_free(t);
    yc_task_free(u);
    yc_client_free(client);
}

TEST(retryable_poll_failures_never_end_a_driven_task_others_do) {
    emu_t *emu = emu_start("--queue-ms 30 --work-ms 300");
    REQUIRE(emu);
    yc_client *client = client_for(emu, "\"max_retries\": 0");
    REQUIRE(client);
    emu_fault(emu, "[{\"match\": \"retrieve\", \"kind\": \"status\", \"status\": 503, \"retry_after_ms\": \"10\", \"count\": 3},"
                   " {\"match\": \"retrieve\", \"kind\": \"reset\", \"count\": 2}]");
    yc_task *t = submit(client, "bumpy", 1);
    REQUIRE(t);
    yc_event ev;
    REQUIRE(collect(client, &ev, 1) == 1);
    CHECK_STATUS(ev.status, YC_STATUS_COMPLETED);
    yc_free(ev.error_json);
    CHECK_INT(emu_stat(emu, "faults_applied"), 5);
    /* A 401 on a poll is for good. */
    emu_fault(emu, "{\"match\": \"retrieve\", \"kind\": \"status\", \"status\": 401}");
    yc_task *u = submit(client, "unauthorised", 2);
    REQUIRE(u);
    REQUIRE(collect(client, &ev, 1) == 1);
    CHECK_STATUS(ev.status, YC_STATUS_ERROR);
    json_t *e = take_error(ev.error_json);
    CHECK_INT(jint(e, "http_status", 0), 401);
    json_decref(e);
    CHECK(yc_task_id(u) != NULL, "the create was answered");
    /* The task keeps working through the blocking calls. */
    CHECK_STATUS(yc_wait(u, 20000), YC_STATUS_COMPLETED);
    yc_task_free(t);
    yc_task_free(u);
    yc_client_free(client);
}

/* ========================================================== _ex calls */

TEST(ex_calls_return_this_calls_error) {
    emu_t *emu = emu_start("--queue-ms 30 --work-ms 5000");
    REQUIRE(emu);
    yc_client *client = client_for(emu, "\"max_retries\": 0");
    REQUIRE(client);
    yc_task *t = CREATE(client, "{\"model\": \"yandexgpt\", \"input\": \"ex\"}");
    REQUIRE(t);
    char *err = (char *)1;
    yc_status s = yc_poll_ex(t, &err);
    CHECK(s == YC_STATUS_QUEUED || s == YC_STATUS_IN_PROGRESS, "poll_ex: %s", yc_status_name(s));
    CHECK(err == NULL, "an error for a good poll");
    emu_fault(emu, "{\"match\": \"retrieve\", \"kind\": \"status\", \"status\": 404}");
    CHECK_STATUS(yc_poll_ex(t, &err), YC_STATUS_ERROR);
    json_t *e = take_error(err);
    CHECK_ERROR_SHAPE(e);
    CHECK_INT(jint(e, "http_status", 0), 404);
    json_decref(e);
    emu_fault(emu, "{\"match\": \"retrieve\", \"kind\": \"status\", \"status\": 403}");
    err = NULL;
    CHECK_STATUS(yc_wait_ex(t, 5000, &err), YC_STATUS_ERROR);
    e = take_error(err);
    CHECK_INT(jint(e, "http_status", 0), 403);
    json_decref(e);
    err = (char *)1;
    s = yc_wait_ex(t, 0, &err);
    CHECK(!is_terminal(s) && s != YC_STATUS_ERROR, "wait_ex 0: %s", yc_status_name(s));
    CHECK(err == NULL, "an error for a wait that ran out of time");
    emu_fault(emu, "{\"match\": \"cancel\", \"kind\": \"status\", \"status\": 400}");
    err = NULL;
    CHECK_STATUS(yc_cancel_ex(t, &err), YC_STATUS_ERROR);
    e = take_error(err);
    CHECK_INT(jint(e, "http_status", 0), 400);
    json_decref(e);
    err = (char *)1;
    CHECK_STATUS(yc_cancel_ex(t, &err), YC_STATUS_CANCELLED);
    CHECK(err == NULL, "an error for a good cancel");
    /* NULL errors out-parameters are fine; NULL tasks are errors. */
    CHECK_STATUS(yc_poll_ex(t, NULL), YC_STATUS_CANCELLED);
    err = NULL;
    CHECK_STATUS(yc_poll_ex(NULL, &err), YC_STATUS_ERROR);
    e = take_error(err);
    CHECK_STR(err_kind(e), "invalid_argument");
    json_decref(e);
    yc_task_free(t);
    yc_client_free(client);
}

/* ================================================ cancel across threads */

typedef struct {
    yc_task *task;
    yc_status status;
    double ended_ms;
} waiter_t;

static void *wait_thread(void *arg) {
    waiter_t *w = arg;
    w->status = yc_wait(w->task, 120000);
    w->ended_ms = th_now_ms();
    return NULL;
}

static void cancel_ends_wait(bool driven) {
    emu_t *emu = emu_start("--queue-ms 30 --work-ms 60000");
    REQUIRE(emu);
    yc_client *client = client_for(emu, "\"poll_interval_ms\": 2000, \"max_poll_interval_ms\": 5000");
    REQUIRE(client);
    yc_task *t = driven ? submit(client, "long", 1) : CREATE(client, "{\"model\": \"yandexgpt\", \"input\": \"long\"}");
    REQUIRE(t);
    if (driven) {
        for (int i = 0; i < 400 && !yc_task_id(t); i++) th_sleep_ms(10);
        REQUIRE(yc_task_id(t), "the create was not answered");
    }
    waiter_t w = {.task = t, .status = YC_STATUS_ERROR};
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, wait_thread, &w) == 0);
    th_sleep_ms(300);
    double t0 = th_now_ms();
    CHECK_STATUS(yc_cancel(t), YC_STATUS_CANCELLED);
    double cancelled = th_now_ms();
    pthread_join(th, NULL);
    CHECK_STATUS(w.status, YC_STATUS_CANCELLED);
    th_note("cancel took %.0f ms; the wait ended %.0f ms after it", cancelled - t0, w.ended_ms - cancelled);
    /* Generous: the schedule's next poll is seconds away, so the wait
     * ending at all before it shows the cancel woke it. */
    CHECK(w.ended_ms - cancelled < 1500, "the wait went on %.0f ms after the cancel", w.ended_ms - cancelled);
    if (driven) {
        yc_event ev;
        CHECK_INT(collect(client, &ev, 1), 1);
        CHECK_STATUS(ev.status, YC_STATUS_CANCELLED);
    }
    yc_task_free(t);
    yc_client_free(client);
}

TEST(cancel_from_another_thread_ends_a_wait) { cancel_ends_wait(false); }
TEST(cancel_from_another_thread_ends_a_wait_on_a_driven_task) { cancel_ends_wait(true); }

/* ===================================================== client lifetime */

TEST(client_free_while_tasks_are_driven) {
    emu_t *emu = emu_start(EMU_ARGS);
    REQUIRE(emu);
    yc_client *client = client_for(emu, NULL);
    REQUIRE(client);
    enum { N = 6 };
    yc_task *tasks[N];
    REQUIRE(submit_numbered(client, "orphan", tasks, N));
    yc_client_free(client);
    for (int i = 0; i < N; i++) {
        CHECK_STATUS(yc_wait(tasks[i], 20000), YC_STATUS_COMPLETED);
        char want[32];
        snprintf(want, sizeof want, "Echo: orphan %d", i);
        char *text = yc_output_text(tasks[i]);
        CHECK_STR(text, want);
        yc_free(text);
    }
    for (int i = 0; i < N; i++) yc_task_free(tasks[i]);
    CHECK_INT(creates(emu), N);
}

TEST(freeing_a_driven_task_drops_it_and_its_event) {
    emu_t *emu = emu_start(EMU_ARGS);
    REQUIRE(emu);
    yc_client *client = client_for(emu, NULL);
    REQUIRE(client);
    yc_task *gone = submit(client, "gone", 1);
    yc_task *kept = submit(client, "kept", 2);
    REQUIRE(gone && kept);
    CHECK_STATUS(yc_wait(kept, 20000), YC_STATUS_COMPLETED);
    yc_task_free(gone);
    yc_event ev[2];
    int got = collect(client, ev, 1);
    CHECK_INT(got, 1);
    CHECK(got == 1 && ev[0].tag == 2 && ev[0].task == kept, "only the kept task's event");
    CHECK_INT(yc_next_events(client, ev, 2, 300), 0);
    yc_task_free(kept);
    yc_client_free(client);
}

TEST(task_timeout_gives_a_timeout_event) {
    emu_t *emu = emu_start("--queue-ms 30 --work-ms 60000");
    REQUIRE(emu);
    yc_client *client = client_for(emu, "\"task_timeout_ms\": 400");
    REQUIRE(client);
    yc_task *t = submit(client, "never ends in time", 3);
    REQUIRE(t);
    yc_event ev;
    REQUIRE(collect(client, &ev, 1) == 1);
    CHECK_STATUS(ev.status, YC_STATUS_ERROR);
    json_t *e = take_error(ev.error_json);
    CHECK_ERROR_SHAPE(e);
    CHECK_STR(err_kind(e), "timeout");
    json_decref(e);
    CHECK(yc_task_id(t) != NULL, "the create was answered");
    yc_task_free(t);
    yc_client_free(client);
    /* Bad values are config errors naming the key. */
    const char *bad[] = {"\"task_timeout_ms\": -2", "\"max_in_flight\": 0", "\"max_polls_per_second\": -1",
                         "\"max_creates_per_second\": \"fast\"", "\"http_version\": \"3\""};
    const char *key[] = {"task_timeout_ms", "max_in_flight", "max_polls_per_second", "max_creates_per_second",
                         "http_version"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *cfg = cfg_for(emu, "%s", bad[i]);
        char *err = NULL;
        yc_client *c = yc_client_new(cfg, &err);
        free(cfg);
        CHECK(c == NULL, "%s accepted", bad[i]);
        json_t *ce = take_error(err);
        CHECK_STR(err_kind(ce), "config");
        CHECK(jstr(ce, "message") && strstr(jstr(ce, "message"), key[i]), "%s: message does not name the key", bad[i]);
        json_decref(ce);
        yc_client_free(c);
    }
}

/* ===================================================== limits and scale */

TEST(max_in_flight_bounds_concurrent_requests) {
    emu_t *emu = emu_start(EMU_ARGS);
    REQUIRE(emu);
    yc_client *client = client_for(emu, "\"max_in_flight\": 2, \"http_version\": \"1.1\"");
    REQUIRE(client);
    /* Every create is held 150 ms: with more than two at once, HTTP/1.1
     * would need more than two connections. */
    emu_fault(emu, "{\"match\": \"create\", \"kind\": \"delay\", \"delay_ms\": 150, \"probability\": 1}");
    long a = connections(emu), b = connections(emu);
    long overhead = b - a;
    enum { N = 10 };
    yc_task *tasks[N];
    REQUIRE(submit_numbered(client, "paced", tasks, N));
    collect_all_completed(client, N);
    long used = connections(emu) - b - overhead;
    th_note("%d tasks with max_in_flight 2 used %ld connection(s)", N, used);
    CHECK(used >= 1 && used <= 2, "%ld connections: more than 2 requests ran at once", used);
    for (int i = 0; i < N; i++) yc_task_free(tasks[i]);
    yc_client_free(client);
}

TEST(many_tasks_through_one_client_keep_memory_and_threads_flat) {
    emu_t *emu = emu_start("--queue-ms 0 --work-ms 20");
    REQUIRE(emu);
    long threads0 = pi_status_field("Threads");
    yc_client *client = client_for(emu, NULL);
    REQUIRE(client);
    int total = engine_tasks();
    int half = total / 2;
    yc_task **tasks = calloc((size_t)total, sizeof *tasks);
    yc_event *ev = calloc((size_t)total, sizeof *ev);
    REQUIRE(tasks && ev);
    long rss_half = 0, threads_max = 0;
    int completed = 0;
    for (int round = 0; round < 2; round++) {
        int from = round == 0 ? 0 : half, to = round == 0 ? half : total;
        for (int i = from; i < to; i++) {
            char input[32];
            snprintf(input, sizeof input, "many %d", i);
            tasks[i] = submit(client, input, (uint64_t)i);
            REQUIRE(tasks[i]);
        }
        long th = pi_status_field("Threads");
        if (th > threads_max) threads_max = th;
        int want = to - from, got = 0;
        double t0 = th_now_ms();
        while (got < want && th_now_ms() - t0 < 120000) {
            int n = yc_next_events(client, ev, want - got, 1000);
            REQUIRE(n >= 0);
            for (int k = 0; k < n; k++) {
                if (ev[k].status == YC_STATUS_COMPLETED) completed++;
                yc_free(ev[k].error_json);
                yc_task_free(ev[k].task);
            }
            got += n;
        }
        CHECK_INT(got, want);
        if (round == 0) rss_half = pi_rss_kib();
    }
    long rss_end = pi_rss_kib();
    CHECK_INT(completed, total);
    th_note("%d tasks: threads %ld before the client, at most %ld; RSS %ld KiB after half, %ld KiB at the end",
            total, threads0, threads_max, rss_half, rss_end);
    CHECK(threads_max - threads0 <= 1, "the library started %ld threads for one client", threads_max - threads0);
    if (pi_rss_meaningful())
        CHECK(rss_end - rss_half < 16 * 1024, "RSS grew by %ld KiB over the second half", rss_end - rss_half);
    else
        th_note("RSS not judged in this build (sanitizer or YCBG_MEMORY_NO_RSS)");
    CHECK_INT(creates(emu), total);
    free(tasks);
    free(ev);
    yc_client_free(client);
}

TEST(fixed_rates_space_out_creates_and_polls) {
    emu_t *emu = emu_start("--queue-ms 0 --work-ms 1000");
    REQUIRE(emu);
    yc_client *client = client_for(emu, "\"max_creates_per_second\": 10, \"max_polls_per_second\": 20");
    REQUIRE(client);
    enum { N = 6 };
    yc_task *tasks[N];
    double t0 = th_now_ms();
    REQUIRE(submit_numbered(client, "paced", tasks, N));
    /* The sixth create may leave no sooner than 5 / 10 s after the first. */
    bool all_ids = false;
    for (int k = 0; k < 3000 && !all_ids; k++) {
        all_ids = true;
        for (int i = 0; i < N; i++) all_ids = all_ids && yc_task_id(tasks[i]) != NULL;
        if (!all_ids) th_sleep_ms(2);
    }
    double ids_ms = th_now_ms() - t0;
    CHECK(all_ids, "not every create was answered");
    th_note("%d creates at 10 per second were answered after %.0f ms", N, ids_ms);
    CHECK(ids_ms >= 450, "%d creates took only %.0f ms at 10 per second", N, ids_ms);
    yc_event ev[N];
    int got = collect(client, ev, N);
    double elapsed_s = (th_now_ms() - t0) / 1000;
    CHECK_INT(got, N);
    for (int i = 0; i < got; i++) CHECK_STATUS(ev[i].status, YC_STATUS_COMPLETED);
    release_events(ev, got);
    /* Polls every 20 ms would be ~50 per task-second; 20 per second overall is the cap. */
    long polls = emu_stat(emu, "requests.retrieve");
    th_note("%ld polls in %.2f s at most 20 per second", polls, elapsed_s);
    CHECK(polls <= (long)(20 * elapsed_s) + 2, "%ld polls in %.2f s", polls, elapsed_s);
    CHECK_INT(creates(emu), N);
    for (int i = 0; i < N; i++) yc_task_free(tasks[i]);
    yc_client_free(client);
}

TEST(a_429_slows_the_whole_client_and_every_task_completes_once) {
    emu_t *emu = emu_start("--queue-ms 0 --work-ms 50");
    REQUIRE(emu);
    yc_client *client = client_for(emu, NULL);
    REQUIRE(client);
    emu_fault(emu, "[{\"match\": \"create\", \"kind\": \"status\", \"status\": 429, \"retry_after_ms\": \"200\", \"count\": 3},"
                   " {\"match\": \"retrieve\", \"kind\": \"status\", \"status\": 429, \"retry_after_ms\": \"100\", \"count\": 3}]");
    enum { N = 20 };
    yc_task *tasks[N];
    REQUIRE(submit_numbered(client, "quota", tasks, N));
    collect_all_completed(client, N);
    CHECK_INT(emu_stat(emu, "faults_applied"), 6);
    /* Each 429 on a create is one more create request, and no job twice. */
    CHECK_INT(creates(emu), N + 3);
    CHECK_INT(emu_stat(emu, "responses"), N);
    for (int i = 0; i < N; i++) yc_task_free(tasks[i]);
    yc_client_free(client);
}

/* ============================================ creates and connections */

TEST(fifty_create_and_wait_cycles_reuse_connections) {
    emu_t *emu = emu_start("--queue-ms 0 --work-ms 10");
    REQUIRE(emu);
    yc_client *client = client_for(emu, "\"http_version\": \"1.1\"");
    REQUIRE(client);
    long a = connections(emu), b = connections(emu);
    long overhead = b - a;
    for (int i = 0; i < 50; i++) {
        char *req = th_strdup_printf("{\"model\": \"yandexgpt\", \"input\": \"cycle %d\"}", i);
        yc_task *t = CREATE(client, req);
        free(req);
        REQUIRE(t);
        CHECK_STATUS(yc_wait(t, 20000), YC_STATUS_COMPLETED);
        yc_task_free(t);
    }
    long used = connections(emu) - b - overhead;
    th_note("50 create-and-wait cycles used %ld TCP connection(s)", used);
    CHECK(used >= 1 && used <= 3, "50 cycles used %ld connections", used);
    CHECK_INT(creates(emu), 50);
    yc_client_free(client);
}

static void reset_after_accept(bool submitted) {
    emu_t *emu = emu_start("--queue-ms 0 --work-ms 10");
    REQUIRE(emu);
    yc_client *client = client_for(emu, "\"http_version\": \"1.1\", \"max_retries\": 3");
    REQUIRE(client);
    /* A warm connection: the next create goes out on it. */
    yc_task *warm = submitted ? submit(client, "warm", 1) : CREATE(client, "{\"model\": \"yandexgpt\", \"input\": \"warm\"}");
    REQUIRE(warm);
    CHECK_STATUS(yc_wait(warm, 20000), YC_STATUS_COMPLETED);
    if (submitted) {
        yc_event w;
        CHECK_INT(collect(client, &w, 1), 1);
    }
    long a = connections(emu), b = connections(emu);
    long overhead = b - a;
    emu_fault(emu, "{\"match\": \"create\", \"kind\": \"accept_then_reset\"}");
    json_t *e = NULL;
    yc_task *t = NULL;
    if (submitted) {
        t = submit(client, "reset", 4);
        REQUIRE(t);
        yc_event ev;
        REQUIRE(collect(client, &ev, 1) == 1);
        CHECK_STATUS(ev.status, YC_STATUS_ERROR);
        e = take_error(ev.error_json);
    } else {
        char *err = NULL;
        t = yc_create_background(client, "{\"model\": \"yandexgpt\", \"input\": \"reset\"}", &err);
        CHECK(t == NULL, "a task from a create whose connection was reset");
        e = take_error(err);
    }
    CHECK_ERROR_SHAPE(e);
    CHECK_STR(err_kind(e), "network");
    CHECK(jint(e, "retryable", 0) || json_is_true(json_object_get(e, "retryable")), "not retryable");
    /* The message of CURLE_SEND_FAIL_REWIND: libcurl wanted to resend the
     * create because the reused connection it went out on died, and could
     * not (its body cannot be rewound). */
    const char *m = jstr(e, "message");
    th_note("error: %s", m ? m : "");
    CHECK(m && strstr(m, "not resent"), "not the refused silent resend of a reused connection: %s", m ? m : "");
    json_decref(e);
    /* The only new connection is the one libcurl opened for that resend,
     * which carried no request. */
    long opened = connections(emu) - b - overhead;
    th_note("%ld new connection(s) during the failed create", opened);
    CHECK(opened <= 2, "%ld new connections", opened);
    /* Exactly one job for the one create (plus the warm one). */
    CHECK_INT(creates(emu), 2);
    CHECK_INT(emu_stat(emu, "responses"), 2);
    yc_task_free(t);
    yc_task_free(warm);
    yc_client_free(client);
}

TEST(reset_after_an_accepted_create_on_a_reused_connection_makes_one_job) { reset_after_accept(false); }
TEST(reset_after_an_accepted_submitted_create_makes_one_job) { reset_after_accept(true); }

/* ============================================================ quotas */

/* A quota the client was not told about: every task completes, no job is
 * made twice, and few requests meet a 429 once the client has adapted. */
TEST(an_unknown_quota_is_met_with_few_429s) {
    emu_t *emu = emu_start("--queue-ms 0 --work-ms 200 --quota-create-rps 50 --quota-poll-rps 100");
    REQUIRE(emu);
    yc_client *client = client_for(emu, NULL);
    REQUIRE(client);
    int n = engine_tasks() < 300 ? engine_tasks() : 300;
    yc_task **tasks = calloc((size_t)n, sizeof *tasks);
    yc_event *ev = calloc((size_t)n, sizeof *ev);
    REQUIRE(tasks && ev);
    REQUIRE(submit_numbered(client, "quota", tasks, n));
    int got = 0;
    double t0 = th_now_ms();
    while (got < n && th_now_ms() - t0 < 120000) {
        int k = yc_next_events(client, ev + got, n - got, 1000);
        REQUIRE(k >= 0);
        got += k;
    }
    CHECK_INT(got, n);
    int completed = 0;
    for (int i = 0; i < got; i++) completed += ev[i].status == YC_STATUS_COMPLETED;
    CHECK_INT(completed, n);
    release_events(ev, got);
    long limited = emu_stat(emu, "rate_limited.create") + emu_stat(emu, "rate_limited.retrieve");
    long requests = emu_stat(emu, "requests.create") + emu_stat(emu, "requests.retrieve");
    th_note("%d tasks against quotas of 50 creates and 100 polls per second: %ld of %ld requests got a 429 (%.1f %%) in %.1f s",
            n, limited, requests, 100.0 * (double)limited / (double)(requests ? requests : 1), (th_now_ms() - t0) / 1000);
    CHECK_INT(emu_stat(emu, "responses"), n);
    CHECK(limited * 5 <= requests, "%ld of %ld requests met a 429", limited, requests);
    for (int i = 0; i < n; i++) yc_task_free(tasks[i]);
    free(tasks);
    free(ev);
    yc_client_free(client);
}

int main(int argc, char **argv) { return th_main(argc, argv); }
