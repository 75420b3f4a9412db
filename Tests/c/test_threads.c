/* test_threads.c — one client shared by many threads, many threads on one
 * task, and client lifetime: yc_client_free while tasks are alive. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define EMU_ARGS "--queue-ms 50 --work-ms 100"

static bool is_terminal(yc_status s) {
    return s == YC_STATUS_COMPLETED || s == YC_STATUS_FAILED || s == YC_STATUS_CANCELLED || s == YC_STATUS_INCOMPLETE;
}

/* ------------------------------------------- 16 threads, one client */

typedef struct {
    yc_client *client;
    int index;
    int rounds;
    int ok;
    char problem[512];
} worker_t;

static void *worker(void *arg) {
    worker_t *w = arg;
    for (int round = 0; round < w->rounds; round++) {
        char input[64];
        snprintf(input, sizeof input, "thread %d round %d", w->index, round);
        char *req = th_strdup_printf("{\"model\": \"yandexgpt\", \"input\": \"%s\"}", input);
        char *err = NULL;
        yc_task *t = yc_create_background(w->client, req, &err);
        free(req);
        if (!t) {
            snprintf(w->problem, sizeof w->problem, "create: %s", err ? err : "(no error)");
            yc_free(err);
            return NULL;
        }
        yc_status s = yc_wait(t, 30000);
        char *text = yc_output_text(t);
        char *result = yc_result(t);
        json_t *doc = th_parse(result);
        char want[96];
        snprintf(want, sizeof want, "Echo: %s", input);
        if (s != YC_STATUS_COMPLETED)
            snprintf(w->problem, sizeof w->problem, "%s: wait returned %s: %.300s", input, yc_status_name(s),
                     result ? result : "");
        else if (!text || strcmp(text, want) != 0)
            snprintf(w->problem, sizeof w->problem, "%s: output \"%s\"", input, text ? text : "(null)");
        else if (!doc || !jstr(doc, "id") || strcmp(jstr(doc, "id"), yc_task_id(t)) != 0 ||
                 strcmp(jstr(doc, "output_text"), want) != 0)
            snprintf(w->problem, sizeof w->problem, "%s: result %.300s", input, result ? result : "(null)");
        else
            w->ok++;
        json_decref(doc);
        yc_free(result);
        yc_free(text);
        yc_task_free(t);
        if (w->problem[0]) return NULL;
    }
    return NULL;
}

static int thread_rounds(void) {
    const char *e = getenv("YCBG_THREAD_ROUNDS");
    return e && atoi(e) > 0 ? atoi(e) : 3;
}

TEST(sixteen_threads_share_one_client) {
    emu_t *emu = emu_start(EMU_ARGS);
    REQUIRE(emu);
    yc_client *client = client_for(emu, NULL);
    REQUIRE(client);
    enum { N = 16 };
    pthread_t threads[N];
    worker_t workers[N];
    int rounds = thread_rounds();
    double t0 = th_now_ms();
    for (int i = 0; i < N; i++) {
        workers[i] = (worker_t){.client = client, .index = i, .rounds = rounds};
        CHECK(pthread_create(&threads[i], NULL, worker, &workers[i]) == 0, "pthread_create");
    }
    int ok = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(threads[i], NULL);
        ok += workers[i].ok;
        CHECK(workers[i].problem[0] == '\0', "thread %d: %s", i, workers[i].problem);
    }
    th_note("%d threads x %d rounds: %d ok in %.0f ms", N, rounds, ok, th_now_ms() - t0);
    CHECK_INT(ok, N * rounds);
    CHECK_INT(emu_stat(emu, "requests.create"), N * rounds);
    CHECK_INT(emu_stat(emu, "responses"), N * rounds);
    /* The shared client reuses connections: far fewer than requests. */
    long conns = emu_stat(emu, "connections");
    long reqs = emu_stat(emu, "requests.create") + emu_stat(emu, "requests.retrieve");
    th_note("%ld requests over %ld connections", reqs, conns);
    CHECK(conns < reqs / 2, "%ld connections for %ld requests: no reuse across threads", conns, reqs);
    yc_client_free(client);
}

/* -------------------------------------------- many threads, one task */

typedef struct {
    yc_task *task;
    const char *id;
    int mode; /* 0: poll loop, 1: wait, 2: result/output_text/task_id readers */
    atomic_int *stop;
    int calls;
    char problem[512];
} same_task_t;

static int status_rank(const char *s) {
    if (!s) return -1;
    if (strcmp(s, "queued") == 0) return 0;
    if (strcmp(s, "in_progress") == 0) return 1;
    return 2;
}

static void *same_task_worker(void *arg) {
    same_task_t *w = arg;
    int last_rank = 0;
    for (int i = 0; i < 100000 && !atomic_load(w->stop); i++) {
        w->calls++;
        if (w->mode == 0) {
            yc_status s = yc_poll(w->task);
            if (s == YC_STATUS_ERROR) {
                char *r = yc_result(w->task);
                snprintf(w->problem, sizeof w->problem, "yc_poll error: %.300s", r ? r : "");
                yc_free(r);
                return NULL;
            }
            if (is_terminal(s)) break;
            th_sleep_ms(5);
        } else if (w->mode == 1) {
            yc_status s = yc_wait(w->task, 20000);
            if (s != YC_STATUS_COMPLETED) {
                snprintf(w->problem, sizeof w->problem, "yc_wait returned %s", yc_status_name(s));
            }
            break;
        } else {
            const char *id = yc_task_id(w->task);
            if (!id || strcmp(id, w->id) != 0) {
                snprintf(w->problem, sizeof w->problem, "yc_task_id changed: %s", id ? id : "(null)");
                return NULL;
            }
            char *r = yc_result(w->task);
            json_t *doc = th_parse(r);
            const char *st = jstr(doc, "status");
            int rank = status_rank(st);
            if (!doc || rank < last_rank) {
                snprintf(w->problem, sizeof w->problem, "status went back or result broken: %.300s", r ? r : "");
                json_decref(doc);
                yc_free(r);
                return NULL;
            }
            last_rank = rank;
            const char *text = jstr(doc, "output_text");
            if (!text || (rank == 2 && strcmp(text, "Echo: shared task") != 0) || (rank < 2 && *text)) {
                snprintf(w->problem, sizeof w->problem, "output_text %s at status %s", text ? text : "(null)",
                         st ? st : "?");
            }
            json_decref(doc);
            yc_free(r);
            char *o = yc_output_text(w->task);
            if (!o) snprintf(w->problem, sizeof w->problem, "yc_output_text NULL");
            yc_free(o);
            if (w->problem[0]) return NULL;
            if (rank == 2) break;
            th_sleep_ms(1);
        }
    }
    return NULL;
}

TEST(many_threads_on_one_task) {
    emu_t *emu = emu_start("--queue-ms 150 --work-ms 300");
    REQUIRE(emu);
    yc_client *client = client_for(emu, NULL);
    REQUIRE(client);
    yc_task *task = CREATE(client, "{\"model\": \"yandexgpt\", \"input\": \"shared task\"}");
    REQUIRE(task);
    enum { N = 12 };
    pthread_t threads[N];
    same_task_t w[N];
    atomic_int stop = 0;
    for (int i = 0; i < N; i++) {
        w[i] = (same_task_t){.task = task, .id = yc_task_id(task), .mode = i % 3, .stop = &stop};
        pthread_create(&threads[i], NULL, same_task_worker, &w[i]);
    }
    double deadline = th_now_ms() + 20000;
    for (int i = 0; i < N; i++) {
        pthread_join(threads[i], NULL);
        CHECK(w[i].problem[0] == '\0', "thread %d (mode %d): %s", i, w[i].mode, w[i].problem);
    }
    CHECK(th_now_ms() < deadline, "threads took too long");
    CHECK_STATUS(yc_poll(task), YC_STATUS_COMPLETED);
    char *text = yc_output_text(task);
    CHECK_STR(text, "Echo: shared task");
    yc_free(text);
    yc_task_free(task);
    yc_client_free(client);
}

/* ------------------------------------------------- lifetime */

TEST(client_free_while_tasks_alive) {
    emu_t *emu = emu_start("--queue-ms 100 --work-ms 200");
    REQUIRE(emu);
    yc_client *client = client_for(emu, NULL);
    REQUIRE(client);
    enum { N = 4 };
    yc_task *tasks[N];
    for (int i = 0; i < N; i++) {
        char *req = th_strdup_printf("{\"model\": \"yandexgpt\", \"input\": \"orphan %d\"}", i);
        tasks[i] = CREATE(client, req);
        free(req);
    }
    yc_client_free(client); /* the tasks keep it alive */
    for (int i = 0; i < N; i++) {
        if (!tasks[i]) continue;
        CHECK_STATUS(yc_wait(tasks[i], 20000), YC_STATUS_COMPLETED);
        char *want = th_strdup_printf("Echo: orphan %d", i);
        char *text = yc_output_text(tasks[i]);
        CHECK_STR(text, want);
        yc_free(text);
        free(want);
    }
    /* Connections are still reused after the client's handle is gone. */
    long c_before = emu_stat(emu, "connections");
    yc_task *t0 = tasks[0];
    (void)t0;
    /* Free all but one; the last keeps working (cancel on terminal is a no-op). */
    for (int i = 1; i < N; i++) yc_task_free(tasks[i]);
    CHECK_STATUS(yc_cancel(tasks[0]), YC_STATUS_COMPLETED);
    json_t *r = task_result(tasks[0]);
    CHECK_STR(jstr(r, "output_text"), "Echo: orphan 0");
    json_decref(r);
    long open_before = emu_stat(emu, "open_connections");
    yc_task_free(tasks[0]); /* the last task: the client's connections close */
    long open_after = open_before;
    for (int i = 0; i < 100; i++) {
        open_after = emu_stat(emu, "open_connections");
        if (open_after < open_before) break;
        th_sleep_ms(20);
    }
    th_note("connections: %ld accepted; open %ld before the last task was freed, %ld after", c_before, open_before,
            open_after);
    /* Each stats call itself holds one open connection. */
    CHECK(open_before >= 2, "the client's connection was not kept open while tasks lived (%ld open)", open_before);
    CHECK(open_after <= 1, "the client's connections stayed open after its last task was freed (%ld open)",
          open_after);
}

TEST(client_free_from_another_thread_while_waiting) {
    emu_t *emu = emu_start("--queue-ms 100 --work-ms 400");
    REQUIRE(emu);
    yc_client *client = client_for(emu, NULL);
    REQUIRE(client);
    yc_task *task = CREATE(client, "{\"model\": \"yandexgpt\", \"input\": \"late free\"}");
    REQUIRE(task);
    same_task_t w = {.task = task, .id = yc_task_id(task), .mode = 1};
    atomic_int stop = 0;
    w.stop = &stop;
    pthread_t th;
    pthread_create(&th, NULL, same_task_worker, &w);
    th_sleep_ms(100);
    yc_client_free(client); /* while the other thread waits on a task of it */
    pthread_join(th, NULL);
    CHECK(w.problem[0] == '\0', "%s", w.problem);
    yc_task_free(task);
}

/* ycbg.h: "Freeing a handle while another thread is inside a call on it is
 * safe: the object goes when that call returns."  Through the C ABI (the
 * bindings hold their own frees back): the handle is refused at once, the
 * call under way finishes normally, nothing crashes, and (under ASan and
 * valgrind) nothing leaks. */
typedef struct {
    yc_task *task;
    int mode; /* 0: yc_wait on a long job; 1: yc_poll against a hanging server */
    atomic_int done;
    yc_status status;
} inside_call_t;

static void *inside_call_worker(void *arg) {
    inside_call_t *c = arg;
    c->status = c->mode == 0 ? yc_wait(c->task, 30000) : yc_poll(c->task);
    atomic_store(&c->done, 1);
    return NULL;
}

/* Waits (bounded) until the emulator has seen `n` retrieves, the last of
 * them still unanswered when `hanging`. */
static bool retrieves_seen(emu_t *emu, long n, bool hanging) {
    for (int i = 0; i < 500; i++) {
        json_t *r = emu_retrieves(emu);
        size_t k = json_array_size(r);
        bool ok = (long)k >= n && (!hanging || json_is_null(json_object_get(json_array_get(r, k - 1), "status")));
        json_decref(r);
        if (ok) return true;
        th_sleep_ms(20);
    }
    return false;
}

TEST(task_free_while_another_thread_is_inside_a_call) {
    emu_t *emu = emu_start("--queue-ms 300 --work-ms 2000");
    REQUIRE(emu);
    yc_client *client = client_for(emu, "\"max_retries\": 0");
    REQUIRE(client);

    /* yc_wait on a job that takes over two seconds. */
    yc_task *task = CREATE(client, "{\"model\": \"yandexgpt\", \"input\": \"freed while waited on\"}");
    REQUIRE(task);
    inside_call_t w = {.task = task, .mode = 0};
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, inside_call_worker, &w) == 0);
    CHECK(retrieves_seen(emu, 1, false), "the waiting thread never polled");
    CHECK(!atomic_load(&w.done), "yc_wait returned before the free");
    yc_task_free(task);
    CHECK(yc_task_id(task) == NULL, "the freed handle still answers");
    CHECK_STATUS(yc_poll(task), YC_STATUS_ERROR);
    yc_task_free(task); /* a second free while the call is still running: ignored */
    pthread_join(th, NULL);
    CHECK_STATUS(w.status, YC_STATUS_COMPLETED);

    /* yc_poll held inside a request the server does not answer for 1 s. */
    task = CREATE(client, "{\"model\": \"yandexgpt\", \"input\": \"freed while polled\"}");
    REQUIRE(task);
    long before = emu_stat(emu, "requests.retrieve");
    emu_fault(emu, "{\"match\": \"retrieve\", \"kind\": \"hang\", \"delay_ms\": 1000}");
    inside_call_t p = {.task = task, .mode = 1};
    REQUIRE(pthread_create(&th, NULL, inside_call_worker, &p) == 0);
    CHECK(retrieves_seen(emu, before + 1, true), "the polling thread's request never arrived");
    CHECK(!atomic_load(&p.done), "yc_poll returned before the free");
    yc_task_free(task);
    yc_client_free(client); /* the last handle of the client too */
    CHECK(yc_task_id(task) == NULL, "the freed handle still answers");
    pthread_join(th, NULL);
    CHECK(p.status == YC_STATUS_QUEUED || p.status == YC_STATUS_IN_PROGRESS,
          "the held poll returned %s", yc_status_name(p.status));
    /* Freeing neither cancelled nor deleted anything on the server. */
    CHECK_INT(emu_stat(emu, "requests.cancel"), 0);
    CHECK_INT(emu_stat(emu, "requests.delete"), 0);
}

/* Clients and tasks made and freed concurrently, including frees of the
 * same handle from several threads (only one may take effect). */
typedef struct {
    emu_t *emu;
    int index;
    char problem[256];
} churn_t;

static void *churn_worker(void *arg) {
    churn_t *c = arg;
    for (int i = 0; i < 10; i++) {
        yc_client *client = client_for(c->emu, NULL);
        if (!client) {
            snprintf(c->problem, sizeof c->problem, "client");
            return NULL;
        }
        yc_task *t = yc_create_background(client, "{\"model\": \"yandexgpt\", \"input\": \"churn\"}", NULL);
        yc_client_free(client);
        if (!t) {
            snprintf(c->problem, sizeof c->problem, "create");
            return NULL;
        }
        yc_status s = yc_wait(t, 20000);
        if (s != YC_STATUS_COMPLETED) snprintf(c->problem, sizeof c->problem, "wait %s", yc_status_name(s));
        yc_task_free(t);
        yc_task_free(t); /* double free: ignored */
        if (c->problem[0]) return NULL;
    }
    return NULL;
}

TEST(concurrent_client_and_task_churn) {
    emu_t *emu = emu_start("--queue-ms 0 --work-ms 20");
    REQUIRE(emu);
    enum { N = 8 };
    pthread_t th[N];
    churn_t c[N];
    for (int i = 0; i < N; i++) {
        c[i] = (churn_t){.emu = emu, .index = i};
        pthread_create(&th[i], NULL, churn_worker, &c[i]);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        CHECK(c[i].problem[0] == '\0', "thread %d: %s", i, c[i].problem);
    }
    CHECK_INT(emu_stat(emu, "responses"), N * 10);
}

typedef struct {
    yc_task *task;
    pthread_barrier_t *barrier;
} racer_t;

static void *free_racer(void *arg) {
    racer_t *r = arg;
    pthread_barrier_wait(r->barrier);
    yc_task_free(r->task);
    return NULL;
}

TEST(racing_frees_of_one_task) {
    emu_t *emu = emu_start("--queue-ms 0 --work-ms 0");
    REQUIRE(emu);
    yc_client *client = client_for(emu, NULL);
    REQUIRE(client);
    for (int round = 0; round < 20; round++) {
        yc_task *task = CREATE(client, "{\"model\": \"yandexgpt\", \"input\": \"race\"}");
        if (!task) break;
        enum { N = 4 };
        pthread_barrier_t barrier;
        pthread_barrier_init(&barrier, NULL, N);
        pthread_t th[N];
        racer_t r[N];
        for (int i = 0; i < N; i++) {
            r[i] = (racer_t){task, &barrier};
            pthread_create(&th[i], NULL, free_racer, &r[i]);
        }
        for (int i = 0; i < N; i++) pthread_join(th[i], NULL);
        pthread_barrier_destroy(&barrier);
        CHECK(yc_task_id(task) == NULL, "task still alive after being freed");
    }
    yc_client_free(client);
}

int main(int argc, char **argv) { return th_main(argc, argv); }
